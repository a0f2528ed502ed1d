/**
 * `node send-timeout.js app|cgi DIR MS`: what `tsgi run big.js` and `tsgi serve DIR --cgi`
 * serve, with the send timeout set to MS through makeServer's `sendTimeout` option (the CLI
 * has no flag for it, and its default of 60 s would make the scenario a minute long). Prints
 * the port on stdout.
 */
import { serveSite } from '../../src/commands/serve.js';
import { makeServer } from '../../src/frontends/http.js';
import big from './big.js';

const [mode, dir, ms] = process.argv.slice(2);
const app = mode === 'cgi' ? serveSite({ dir: dir!, cgiDirs: ['/cgi-bin'] }) : big;
const server = await makeServer('127.0.0.1', 0, app, { sendTimeout: Number(ms), accessLog: false });
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
process.stdout.write(`${server.port}\n`);
