/**
 * The demo site, as `npm start` serves it on http://localhost:8000/: the static files and
 * CGI scripts of examples/site (what `tsgi serve examples/site --cgi` would serve), with the
 * bookshelf mounted at /bookshelf and the calculator at /calculator.
 *
 *   npm start                                   (builds, then runs this file)
 *   node dist/examples/demo.js --port 8080 --bind 0.0.0.0
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { mount } from '../src/apps/mount.js';
import { serveSite } from '../src/commands/serve.js';
import { startServing } from '../src/commands/serving.js';
import type { Application } from '../src/types.js';
import { bookshelf } from './bookshelf/app.js';
import { calculator } from './calculator/app.js';

// From dist/examples/demo.js back to the sources: the site's files are served from the repository itself.
export const SITE_DIR = fileURLToPath(new URL('../../examples/site/', import.meta.url));

/** The whole demo site as one application. */
export function demoSite(): Application {
  return mount([
    ['/bookshelf', bookshelf()],
    ['/calculator', calculator],
    ['', serveSite({ dir: SITE_DIR, cgiDirs: ['/cgi-bin'] })],
  ]);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8000' }, bind: { type: 'string', default: '127.0.0.1' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port must be a number from 0 to 65535, got ${values.port}\n`);
    process.exit(2);
  }
  await startServing(demoSite(), { bind: values.bind!, port });
}
