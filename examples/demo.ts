/**
 * The demo site, as `npm start` serves it on http://localhost:8000/: the static files and
 * CGI scripts of examples/site (what `tsgi serve examples/site --cgi` would serve), with the
 * bookshelf mounted at /bookshelf and the calculator at /calculator.
 *
 *   npm start                                   (builds, then runs this file)
 *   node dist/examples/demo.js --port 8080 --bind 0.0.0.0
 */
import { fileURLToPath } from 'node:url';
import { mount } from '../src/apps/mount.js';
import { parseCommandLine, parsePort, UsageError } from '../src/commands/args.js';
import { reportFailure } from '../src/commands/failure.js';
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

const help = `Usage: npm start [-- options]     (or: node dist/examples/demo.js [options])

Serve the demo site: the examples' static files and CGI scripts, the bookshelf and the calculator.

Options:
  --port N      port to listen on (default: PORT from the environment, else 8000;
                0 picks a free one)
  --bind ADDR   address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  -h, --help    show this help
`;

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(argv, { port: { type: 'string' }, bind: { type: 'string' } }, 'npm start -- --help');
  if (values.help) {
    process.stdout.write(help);
    return;
  }
  if (positionals.length > 0) throw new UsageError(`the demo takes no arguments, got ${JSON.stringify(positionals[0])} (see --help)`);
  await startServing(demoSite(), { bind: values.bind ?? '127.0.0.1', port: parsePort(values.port, 8000) });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((error: unknown) => reportFailure('demo', error));
}
