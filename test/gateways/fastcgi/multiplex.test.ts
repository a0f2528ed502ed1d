/**
 * FastCgiClient multiplexing: against a responder that says FCGI_MPXS_CONNS=1 (tsgi's own
 * FastCGI server), requests share connections; one given up does not disturb the others.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FastCgiClient, type FastCgiResponse } from '../../../src/gateways/fastcgi/client.js';
import { listenFastCgi } from '../../../src/frontends/fastcgi/server.js';
import type { GatewayServer } from '../../../src/frontends/listen.js';
import type { Application } from '../../../src/types.js';

const PARAMS = { REQUEST_METHOD: 'GET', SCRIPT_NAME: '', QUERY_STRING: '', SERVER_NAME: 'x', SERVER_PORT: '80', SERVER_PROTOCOL: 'HTTP/1.1' };
const GROUP = 5;

async function text(response: FastCgiResponse): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of response.body) parts.push(chunk);
  return Buffer.concat(parts).toString('latin1');
}

describe('FastCgiClient multiplexing', { timeout: 20_000 }, () => {
  let server: GatewayServer;
  const sockets: Socket[] = [];
  // /together/N answers only once GROUP requests are inside the app at the same time: served one
  // after another (no multiplexing on a single connection), they would wait for ever.
  let inside = 0;
  let everyone: () => void = () => {};
  let gathered = new Promise<void>((resolve) => (everyone = resolve));
  const app: Application = async (environ, startResponse) => {
    const path = environ.PATH_INFO ?? '';
    if (path.startsWith('/together/')) {
      if (++inside === GROUP) everyone();
      await gathered;
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return [`${path} together\n`];
    }
    if (path === '/endless') {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return (async function* () {
        for (;;) {
          yield 'x'.repeat(64 * 1024);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
    }
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return [`${path}\n`];
  };

  before(async () => {
    server = await listenFastCgi('127.0.0.1:0', app);
    server.server.on('connection', (socket: Socket) => sockets.push(socket));
  });
  after(async () => {
    await server.close();
  });

  it('carries requests at once on one connection when the responder multiplexes', async () => {
    const client = new FastCgiClient({ maxConnections: 1, log: () => {} });
    try {
      const replies = await Promise.all(Array.from({ length: GROUP }, (_, i) =>
        client.request(server.address, { params: { ...PARAMS, PATH_INFO: `/together/${i}` } }).then(text)));
      assert.deepEqual(replies, Array.from({ length: GROUP }, (_, i) => `/together/${i} together\n`));
      // One connection for the FCGI_GET_VALUES probe, one for every request.
      assert.equal(sockets.length, 2);
    } finally {
      client.close();
    }
  });

  it('opens one connection for requests that arrive together, not one each', async () => {
    sockets.length = 0;
    inside = 0;
    gathered = new Promise<void>((resolve) => (everyone = resolve));
    const client = new FastCgiClient({ maxConnections: 8, log: () => {} });
    try {
      await Promise.all(Array.from({ length: GROUP }, (_, i) => client.request(server.address, { params: { ...PARAMS, PATH_INFO: `/together/${i}` } }).then(text)));
      assert.equal(sockets.length, 2);
    } finally {
      client.close();
    }
  });

  it('aborts one request and keeps the others on its connection going', async () => {
    sockets.length = 0;
    const client = new FastCgiClient({ maxConnections: 1, log: () => {} });
    try {
      const controller = new AbortController();
      const endless = await client.request(server.address, { params: { ...PARAMS, PATH_INFO: '/endless' }, signal: controller.signal });
      const iterator = endless.body[Symbol.asyncIterator]();
      assert.equal((await iterator.next()).done, false);
      controller.abort();
      // The abandoned reply's records still arrive until its END_REQUEST; they must be dropped, not break the connection.
      for (let round = 0; round < 20; round++) {
        const reply = await client.request(server.address, { params: { ...PARAMS, PATH_INFO: `/after/${round}` } });
        assert.equal(await text(reply), `/after/${round}\n`);
      }
      assert.equal(sockets.length, 2, 'every request after the abort used the same connection');
    } finally {
      client.close();
    }
  });
});
