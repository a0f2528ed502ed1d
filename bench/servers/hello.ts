/**
 * One hello-world server per process, for side-by-side HTTP benchmarks:
 * `node hello.js tsgi|node|hono` listens on a free port and prints it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeServer } from '../../src/frontends/http.js';
import type { Application } from '../../src/types.js';

const kind = process.argv[2];
const greeting = 'Hello, world!\n';

async function listen(): Promise<number> {
  if (kind === 'tsgi') {
    const app: Application = (_environ, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return [greeting];
    };
    return (await makeServer('127.0.0.1', 0, app, { accessLog: false })).port;
  }
  if (kind === 'node') {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(greeting) });
      res.end(greeting);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }
  if (kind === 'hono') {
    const { Hono } = await import('hono');
    const { serve } = await import('@hono/node-server');
    const app = new Hono();
    app.get('/', (c) => c.text(greeting));
    return new Promise((resolve) => {
      serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(info.port));
    });
  }
  throw new Error(`unknown server kind ${kind}`);
}

process.on("SIGINT", () => process.exit(0)); // lets --cpu-prof write its profile
process.stdout.write(`${await listen()}\n`);
