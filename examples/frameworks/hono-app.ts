/**
 * A Hono app, unchanged, as a CGI script: examples/site/cgi-bin/hono.js wraps it with
 * `runCgi(fromFetchHandler(app.fetch))`. The TSGI environ arrives as Hono's `c.env`.
 */
import { Hono } from 'hono';
import type { Environ } from '../../src/types.js';
import { greeterPage } from './greeter.js';

export const app = new Hono<{ Bindings: Environ }>();

app.get('/', (c) => c.html(greeterPage('Hono', c.env.SCRIPT_NAME, undefined)));
app.get('/greet', (c) => c.html(greeterPage('Hono', c.env.SCRIPT_NAME, c.req.query('name'))));
app.get('/api/info', (c) => c.json({ framework: 'hono', gateway: c.env.GATEWAY_INTERFACE, scriptName: c.env.SCRIPT_NAME, client: c.env.REMOTE_ADDR }));
