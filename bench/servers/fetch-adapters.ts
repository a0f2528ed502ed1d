/**
 * One server per process for the adapter benchmark: `node fetch-adapters.js KIND` listens on a
 * free port and prints it. Every kind answers GET /hello/:name with a short text.
 *   hono-native     Hono on @hono/node-server
 *   hono-tsgi       the same Hono app through fromFetchHandler, on tsgi's HTTP front end
 *   express-native  Express on node:http
 *   express-tsgi    the same Express app through fromNodeListener, on tsgi's HTTP front end
 *   tsgi-native     a TSGI app on tsgi's HTTP front end
 *   tsgi-fetch      the same TSGI app through toFetchHandler, on @hono/node-server
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import express from 'express';
import { Hono } from 'hono';
import { fromFetchHandler, fromNodeListener, toFetchHandler } from '../../src/frontends/fetch.js';
import { makeServer } from '../../src/frontends/http.js';
import type { Application } from '../../src/types.js';

const kind = process.argv[2];

function honoApp(): Hono {
  const app = new Hono();
  app.get('/hello/:name', (c) => c.text(`Hello, ${c.req.param('name')}!\n`));
  return app;
}

function expressApp(): express.Express {
  const app = express();
  app.get('/hello/:name', (req, res) => {
    res.type('text/plain').send(`Hello, ${req.params.name}!\n`);
  });
  return app;
}

const tsgiApp: Application = (environ, start) => {
  start('200 OK', [['Content-Type', 'text/plain; charset=utf-8']]);
  return [`Hello, ${environ.PATH_INFO.slice('/hello/'.length)}!\n`];
};

function serveFetch(fetch: (request: Request) => Response | Promise<Response>): Promise<number> {
  return new Promise((resolve) => {
    serve({ fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(info.port));
  });
}

async function listen(): Promise<number> {
  switch (kind) {
    case 'hono-native':
      return serveFetch(honoApp().fetch);
    case 'hono-tsgi':
      return (await makeServer('127.0.0.1', 0, fromFetchHandler(honoApp().fetch), { accessLog: false })).port;
    case 'express-native': {
      const server = createServer(expressApp());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as AddressInfo).port;
    }
    case 'express-tsgi':
      return (await makeServer('127.0.0.1', 0, fromNodeListener(expressApp()), { accessLog: false })).port;
    case 'tsgi-native':
      return (await makeServer('127.0.0.1', 0, tsgiApp, { accessLog: false })).port;
    case 'tsgi-fetch': {
      const handler = toFetchHandler(tsgiApp);
      return serveFetch((request) => handler(request));
    }
    default:
      throw new Error(`unknown server kind ${kind}`);
  }
}

process.on('SIGINT', () => process.exit(0));
process.stdout.write(`${await listen()}\n`);
