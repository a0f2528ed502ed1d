/**
 * An Express app, unchanged, as a CGI script: examples/site/cgi-bin/express.js wraps it with
 * `runCgi(fromNodeListener(app))`. Express sees paths relative to the script, as it would
 * for a mounted sub-app, and `req.environ` holds the TSGI environ.
 */
import express from 'express';
import type { Environ } from '../../src/types.js';
import { greeterPage } from './greeter.js';

export const app = express();

const base = (req: express.Request): string => (req as unknown as { environ: Environ }).environ.SCRIPT_NAME;

app.get('/', (req, res) => {
  res.type('html').send(greeterPage('Express', base(req), undefined));
});
app.get('/greet', (req, res) => {
  res.type('html').send(greeterPage('Express', base(req), typeof req.query.name === 'string' ? req.query.name : undefined));
});
app.get('/api/info', (req, res) => {
  const environ = (req as unknown as { environ: Environ }).environ;
  res.json({ framework: 'express', gateway: environ.GATEWAY_INTERFACE, scriptName: environ.SCRIPT_NAME, client: req.ip });
});
