import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import type { GatewayServer } from '../../src/frontends/listen.js';
import { listenScgi, parseScgiHeaders, type ScgiOptions } from '../../src/frontends/scgi.js';
import { validator, type ValidatedApplication } from '../../src/validate.js';
import type { Application } from '../../src/types.js';
import { hashBody, sha256 } from '../helpers/fastcgi-apps.js';
import { parseCgiResponse } from '../helpers/fastcgi-client.js';
import { watchConcat } from '../helpers/concat-watch.js';

const servers: GatewayServer[] = [];
const validated: ValidatedApplication[] = [];
after(async () => {
  await Promise.all(servers.map((server) => server.close(100)));
  for (const app of validated) app.assertClean();
});

/**
 * Serves `app` through the validator, so every test also checks both sides of the TSGI
 * contract; apps that break it on purpose pass `checked: false`.
 */
async function serve(app: Application, options: ScgiOptions = {}, checked = true): Promise<{ server: GatewayServer; logs: string[] }> {
  if (checked) {
    const wrapped = validator(app);
    validated.push(wrapped);
    app = wrapped;
  }
  const logs: string[] = [];
  const server = await listenScgi('127.0.0.1:0', app, { log: (line) => logs.push(line), errors: { write: (t) => void logs.push(t) }, ...options });
  servers.push(server);
  return { server, logs };
}

function netstring(headers: [string, string][]): Buffer {
  const block = Buffer.from(headers.map(([name, value]) => `${name}\0${value}\0`).join(''), 'latin1');
  return Buffer.concat([Buffer.from(`${block.length}:`), block, Buffer.from(',')]);
}

function scgiRequest(method: string, path: string, body = Buffer.alloc(0), extra: [string, string][] = []): Buffer {
  return Buffer.concat([netstring([
    ['CONTENT_LENGTH', String(body.length)], ['SCGI', '1'], ['REQUEST_METHOD', method], ['SCRIPT_NAME', ''], ['PATH_INFO', path],
    ['QUERY_STRING', ''], ['SERVER_NAME', 'example.test'], ['SERVER_PORT', '80'], ['SERVER_PROTOCOL', 'HTTP/1.1'], ...extra,
  ]), body]);
}

/** Sends `pieces` (pausing between them) and returns everything the server wrote before closing. */
function exchange(port: number, pieces: Buffer[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (data: Buffer) => received.push(data));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(received)));
    let index = 0;
    const next = () => {
      if (index < pieces.length) socket.write(pieces[index++]!, () => setTimeout(next, 5));
    };
    next();
  });
}


describe('SCGI', () => {
  it('parses the header block: CONTENT_LENGTH first, SCGI=1, no duplicates', () => {
    assert.deepEqual({ ...parseScgiHeaders(Buffer.from('CONTENT_LENGTH\x000\x00SCGI\x001\x00EMPTY\x00\x00')) }, { CONTENT_LENGTH: '0', SCGI: '1', EMPTY: '' });
    assert.throws(() => parseScgiHeaders(Buffer.from('SCGI\x001\x00CONTENT_LENGTH\x000\x00')), /first header is not CONTENT_LENGTH/);
    assert.throws(() => parseScgiHeaders(Buffer.from('CONTENT_LENGTH\x000\x00')), /SCGI header/);
    assert.throws(() => parseScgiHeaders(Buffer.from('CONTENT_LENGTH\x000\x00SCGI\x001\x00SCGI\x001\x00')), /appears twice/);
    assert.throws(() => parseScgiHeaders(Buffer.from('CONTENT_LENGTH\x00x\x00SCGI\x001\x00')), /not a number/);
  });

  it('reads a header block trickled in tiny pieces with work linear in its size (every read used to copy all of it again)', async () => {
    const { server } = await serve(hashBody);
    const request = scgiRequest('GET', '/trickled', Buffer.alloc(0), [['HTTP_X_LONG', 'x'.repeat(8_000)]]);
    const socket = connect({ port: server.port, host: '127.0.0.1', noDelay: true });
    const received: Buffer[] = [];
    socket.on('data', (data: Buffer) => received.push(data));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    await new Promise((resolve) => socket.once('connect', resolve));
    const watch = watchConcat();
    try {
      for (let offset = 0; offset < request.length; offset += 4) {
        socket.write(request.subarray(offset, offset + 4));
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await closed;
    } finally {
      watch.stop();
    }
    assert.match(Buffer.concat(received).toString(), /GET \/trickled - 0 /);
    assert.ok(watch.bytes < 10 * request.length, `Buffer.concat copied ${watch.bytes} bytes for a ${request.length}-byte request`);
  });

  it('serves a request whose bytes arrive in pieces, body included, and drops HTTP_PROXY', async () => {
    const { server } = await serve(hashBody);
    const body = randomBytes(2 * 1024 * 1024 + 3);
    const request = scgiRequest('POST', '/up', body, [['HTTP_PROXY', 'http://evil']]);
    const pieces = [request.subarray(0, 2), request.subarray(2, 40), request.subarray(40, 100_000), request.subarray(100_000)];
    const cgi = parseCgiResponse(await exchange(server.port, pieces));
    assert.equal(cgi.headers.status, '200 OK');
    assert.equal(cgi.body.toString(), `POST /up - ${body.length} ${sha256(body)}`);
  });

  const bad: [string, Buffer, RegExp][] = [
    ['a missing netstring length', Buffer.from('x:abc,'), /netstring length/],
    ['a leading zero in the length', Buffer.from('01:\0,'), /netstring length/],
    ['a missing comma', Buffer.concat([netstring([['CONTENT_LENGTH', '0'], ['SCGI', '1']]).subarray(0, -1), Buffer.from(';')]), /comma/],
    ['an oversize header block', Buffer.from('999999:'), /larger than/],
    ['a missing SCGI header', netstring([['CONTENT_LENGTH', '0']]), /SCGI header/],
  ];
  for (const [name, request, reason] of bad) {
    it(`answers 400 and closes on ${name}`, async () => {
      const { server, logs } = await serve(hashBody, { maxHeaderBytes: 4096 });
      const cgi = parseCgiResponse(await exchange(server.port, [request]));
      assert.equal(cgi.status, 400);
      assert.match(cgi.body.toString(), reason);
      assert.ok(logs.some((line) => reason.test(line)));
    });
  }

  it('fails the input of a body cut short with a 400', async () => {
    const { server } = await serve(hashBody);
    const request = scgiRequest('POST', '/', Buffer.alloc(100, 1)).subarray(0, -40);
    const response = await new Promise<Buffer>((resolve) => {
      const socket = connect(server.port, '127.0.0.1');
      const received: Buffer[] = [];
      socket.on('data', (data: Buffer) => received.push(data));
      socket.on('close', () => resolve(Buffer.concat(received)));
      socket.end(request);
    });
    const cgi = parseCgiResponse(response);
    assert.equal(cgi.status, 400);
    assert.match(cgi.body.toString(), /ended after 60 of its 100 bytes/);
  });

  it('tells the application when the web server goes away', async () => {
    let closed = false;
    const { server } = await serve((_environ, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return {
        async *[Symbol.asyncIterator]() {
          for (;;) {
            yield 'tick';
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        },
        close() {
          closed = true;
        },
      };
    });
    const socket = connect(server.port, '127.0.0.1');
    socket.write(scgiRequest('GET', '/'));
    await new Promise((resolve) => socket.once('data', resolve));
    socket.destroy();
    const started = Date.now();
    while (!closed && Date.now() - started < 5000) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(closed, true);
  });

  it('closes a connection that trickles its header block past idleTimeout, though it is never silent for inputTimeout', async () => {
    const { server, logs } = await serve(hashBody, { idleTimeout: 300, inputTimeout: 200 });
    const request = scgiRequest('GET', '/slow');
    const socket = connect(server.port, '127.0.0.1');
    socket.on('error', () => {});
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const started = Date.now();
    let offset = 0;
    const ticker = setInterval(() => {
      if (offset < request.length) socket.write(request.subarray(offset, ++offset));
    }, 50);
    try {
      await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the connection stayed open')), 3000))]);
    } finally {
      clearInterval(ticker);
    }
    const took = Date.now() - started;
    assert.ok(took >= 250, `closed after ${took} ms`);
    assert.ok(offset < request.length, 'the whole request got through');
    assert.ok(logs.some((line) => /no complete header block within 300 ms/.test(line)), logs.join(' | '));
  });

  it('leaves a request that started in time alone once idleTimeout has passed', async () => {
    const { server } = await serve(async (_environ, start) => {
      await new Promise((resolve) => setTimeout(resolve, 400));
      start('200 OK', [['Content-Type', 'text/plain']]);
      return ['late'];
    }, { idleTimeout: 100 });
    const cgi = parseCgiResponse(await exchange(server.port, [scgiRequest('GET', '/')]));
    assert.equal(cgi.body.toString(), 'late');
  });
});
