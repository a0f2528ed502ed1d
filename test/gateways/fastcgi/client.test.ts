import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FastCgiClient, type FastCgiResponse } from '../../../src/gateways/fastcgi/client.js';
import { FastCgiGatewayError } from '../../../src/gateways/fastcgi/errors.js';
import { encodeEndRequest, encodeRecord, RecordType } from '../../../src/frontends/fastcgi/records.js';
import { listenFastCgi } from '../../../src/frontends/fastcgi/server.js';
import type { GatewayServer } from '../../../src/frontends/listen.js';
import { hashBody } from '../../helpers/fastcgi-apps.js';
import { startResponder, type Responder } from '../../helpers/fastcgi-responder.js';
import { freePort } from '../../helpers/fastcgi-peers.js';

const PARAMS = { REQUEST_METHOD: 'GET', SCRIPT_NAME: '/s', PATH_INFO: '/p', QUERY_STRING: '', SERVER_NAME: 'x', SERVER_PORT: '80', SERVER_PROTOCOL: 'HTTP/1.1' };

async function text(response: FastCgiResponse): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of response.body) parts.push(chunk);
  return Buffer.concat(parts).toString('latin1');
}

function quietClient(options: ConstructorParameters<typeof FastCgiClient>[0] = {}): { client: FastCgiClient; lines: string[] } {
  const lines: string[] = [];
  return { client: new FastCgiClient({ log: (line) => lines.push(line), ...options }), lines };
}

async function rejectsWith(promise: Promise<unknown>, status: number, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof FastCgiGatewayError, `expected a FastCgiGatewayError, got ${String(error)}`);
    assert.equal(error.status, status);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('FastCgiClient against tsgi\'s own FastCGI server', () => {
  let server: GatewayServer;
  const client = new FastCgiClient();
  before(async () => {
    server = await listenFastCgi('127.0.0.1:0', hashBody);
  });
  after(async () => {
    client.close();
    await server.close();
  });

  it('streams a 3 MB body in and reads the answer, reusing the connection', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    async function* chunks() {
      for (let offset = 0; offset < body.length; offset += 100_000) yield body.subarray(offset, offset + 100_000);
    }
    for (let round = 0; round < 3; round++) {
      const response = await client.request(server.address, { params: { ...PARAMS, REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(body.length) }, body: chunks() });
      assert.equal(response.status, '200 OK');
      assert.deepEqual(response.headers.map(([name]) => name), ['Content-Type', 'Content-Length']);
      assert.equal(await text(response), `POST /p - ${body.length} ${createHash('sha256').update(body).digest('hex')}`);
    }
  });
});

describe('FastCgiClient with a scripted responder', () => {
  const responders: Responder[] = [];
  async function responder(options: Parameters<typeof startResponder>[0]): Promise<Responder> {
    const started = await startResponder(options);
    responders.push(started);
    return started;
  }
  after(async () => {
    for (const started of responders) await started.close();
  });

  it('keeps one connection for consecutive requests (FCGI_KEEP_CONN) and passes the params as they are', async () => {
    const seen: Record<string, string>[] = [];
    const peer = await responder({ onRequest: (request) => {
      seen.push(request.params);
      request.reply('Status: 201 Made\r\nContent-Type: text/plain\r\nX-A: 1\r\n\r\nhello');
    } });
    const { client } = quietClient();
    for (let i = 0; i < 3; i++) {
      const response = await client.request(peer.address, { params: { ...PARAMS, HTTP_X_BYTES: 'caf\xe9' } });
      assert.equal(response.status, '201 Made');
      assert.deepEqual(response.headers, [['Content-Type', 'text/plain'], ['X-A', '1']]);
      assert.equal(await text(response), 'hello');
    }
    assert.equal(peer.connections.length, 1);
    assert.equal(seen[2]!.HTTP_X_BYTES, 'caf\xe9');
    client.close();
  });

  it('gives each request on a kept connection its own id, so records sent after an END_REQUEST are never read as the next reply', async () => {
    let requests = 0;
    const peer = await responder({ onRequest: (request) => {
      const count = ++requests;
      // The second reply comes late, so the first one's stray output lands while it is awaited.
      setTimeout(() => request.reply(`Content-Type: text/plain\r\n\r\nanswer ${count} to id ${request.id}`), count === 1 ? 0 : 80);
      // A misbehaving responder: more output for the request it has just ended.
      if (count === 1) setTimeout(() => request.socket.write(encodeRecord(RecordType.Stdout, request.id, Buffer.from('stale'))), 40);
    } });
    const { client } = quietClient();
    assert.equal(await text(await client.request(peer.address, { params: PARAMS })), 'answer 1 to id 1');
    await sleep(10);
    const second = client.request(peer.address, { params: PARAMS });
    const answer = await second.then(text, (error: Error) => error.message);
    assert.match(answer, /record for request 1, not the one in flight \(2\)/);
    assert.doesNotMatch(answer, /stale/);
    client.close();
  });

  it('turns a CGI local redirect into 302 Found', async () => {
    const peer = await responder({ onRequest: (request) => request.reply('Location: /elsewhere\r\n\r\n') });
    const { client } = quietClient();
    const response = await client.request(peer.address, { params: PARAMS });
    assert.equal(response.status, '302 Found');
    assert.deepEqual(response.headers, [['Location', '/elsewhere']]);
    client.close();
  });

  it('answers 502 when the responder refuses the connection, and says so', async () => {
    const port = await freePort();
    const { client, lines } = quietClient();
    await rejectsWith(client.request(`127.0.0.1:${port}`, { params: PARAMS, label: '/index.php' }), 502, /connection refused/);
    assert.match(lines.join('\n'), /fastcgi \/index\.php: cannot connect/);
    await rejectsWith(client.request('/nonexistent/php.sock', { params: PARAMS }), 502, /no such socket/);
    client.close();
  });

  it('answers 504 when the responder does not answer within readTimeout', async () => {
    const peer = await responder({});
    const { client } = quietClient({ readTimeout: 150 });
    const started = Date.now();
    await rejectsWith(client.request(peer.address, { params: PARAMS }), 504, /no reply from the responder for 150 ms/);
    assert.ok(Date.now() - started < 2000);
    client.close();
  });

  it('answers 502 for a reply cut in the middle of a record, or ended before its head', async () => {
    const cut = await responder({ onRequest: (request) => {
      request.socket.write(encodeRecord(RecordType.Stdout, 1, Buffer.from('Content-Type: text/plain\r\n\r\nhello')).subarray(0, 12));
      setTimeout(() => request.socket.destroy(), 20);
    } });
    const { client } = quietClient();
    await rejectsWith(client.request(cut.address, { params: PARAMS }), 502, /middle of a record/);
    const early = await responder({ onRequest: (request) => request.reply('Content-Type: text/plain\r\n') });
    await rejectsWith(client.request(early.address, { params: PARAMS }), 502, /ended before its header block was complete/);
    client.close();
  });

  it('answers 502 for a malformed head or record, and 503 for FCGI_OVERLOADED', async () => {
    const badHead = await responder({ onRequest: (request) => request.reply('Status: abc\r\n\r\n') });
    const { client } = quietClient();
    await rejectsWith(client.request(badHead.address, { params: PARAMS }), 502, /bad response head: malformed Status/);
    const badVersion = await responder({ onRequest: (request) => request.socket.write(Buffer.from([2, 6, 0, 1, 0, 0, 0, 0])) });
    await rejectsWith(client.request(badVersion.address, { params: PARAMS }), 502, /malformed reply .* record version 2/);
    const overloaded = await responder({ onRequest: (request) => request.socket.write(encodeEndRequest(1, 0, 2)) });
    await rejectsWith(client.request(overloaded.address, { params: PARAMS }), 503, /overloaded/);
    client.close();
  });

  // Before, the first next() waited for the rest of the record, which comes only after it: the timeout turns that into a failure.
  it('hands on the part of a STDOUT record that has arrived, without waiting for (and copying) the whole record', { timeout: 10_000 }, async () => {
    const content = Buffer.concat([Buffer.from('Content-Type: text/plain\r\n\r\n'), Buffer.alloc(60_000, 0x61)]);
    const record = encodeRecord(RecordType.Stdout, 1, content);
    let sendRest: (() => void) | undefined;
    const peer = await responder({ onRequest: (request) => {
      request.socket.write(record.subarray(0, 30_000));
      sendRest = () => {
        request.socket.write(record.subarray(30_000));
        request.socket.write(encodeRecord(RecordType.Stdout, 1));
        request.socket.write(encodeEndRequest(1, 0, 0));
      };
    } });
    const { client } = quietClient();
    const response = await client.request(peer.address, { params: PARAMS });
    const iterator = response.body[Symbol.asyncIterator]();
    const first = await iterator.next();
    assert.equal(first.done, false);
    // Only the first 30,000 bytes of the record were sent: what came must be passed on already.
    assert.ok(first.value.length > 0 && first.value.length <= 30_000 - 8 - 28, `got ${first.value.length} bytes`);
    let received = first.value.length;
    sendRest!();
    for (let step = await iterator.next(); !step.done; step = await iterator.next()) received += step.value.length;
    assert.equal(received, 60_000);
    client.close();
  });

  it('reads a head and STDERR lines that arrive split inside their records', async () => {
    const head = encodeRecord(RecordType.Stdout, 1, Buffer.from('Status: 201 Created\r\nContent-Type: text/plain\r\n\r\nbody'));
    const errors = encodeRecord(RecordType.Stderr, 1, Buffer.from('first line\nsecond \u00e9 line\n'));
    const peer = await responder({ onRequest: (request) => {
      // Split inside "Content-Type", inside the blank line, and inside the é's two bytes.
      const pieces = [head.subarray(0, 20), head.subarray(20, 8 + 48), head.subarray(8 + 48), errors.subarray(0, 8 + 19), errors.subarray(8 + 19)];
      const send = () => {
        const piece = pieces.shift();
        if (piece) {
          request.socket.write(piece);
          setTimeout(send, 20);
          return;
        }
        request.socket.write(encodeRecord(RecordType.Stdout, 1));
        request.socket.write(encodeEndRequest(1, 0, 0));
      };
      send();
    } });
    const lines: string[] = [];
    const { client } = quietClient();
    const response = await client.request(peer.address, { params: PARAMS, stderr: (line) => lines.push(line) });
    assert.equal(response.status, '201 Created');
    assert.deepEqual(response.headers, [['Content-Type', 'text/plain']]);
    assert.equal(await text(response), 'body');
    assert.deepEqual(lines, ['first line', 'second \u00e9 line']);
    client.close();
  });

  it('hands STDERR to the request\'s sink line by line', async () => {
    const peer = await responder({ onRequest: (request) => {
      request.socket.write(encodeRecord(RecordType.Stderr, 1, Buffer.from('PHP Warning: one\nPHP Notice: tw')));
      request.socket.write(encodeRecord(RecordType.Stderr, 1, Buffer.from('o\n')));
      request.reply('Content-Type: text/plain\r\n\r\nok');
    } });
    const { client } = quietClient();
    const lines: string[] = [];
    const response = await client.request(peer.address, { params: PARAMS, stderr: (line) => lines.push(line) });
    assert.equal(await text(response), 'ok');
    assert.deepEqual(lines, ['PHP Warning: one', 'PHP Notice: two']);
    client.close();
  });

  it('sends ABORT_REQUEST and drops the connection when the consumer stops early', async () => {
    const peer = await responder({ onRequest: (request) => request.reply('Content-Type: text/plain\r\n\r\nfirst part', false) });
    const { client } = quietClient();
    const controller = new AbortController();
    const response = await client.request(peer.address, { params: PARAMS, signal: controller.signal });
    const iterator = response.body[Symbol.asyncIterator]();
    assert.equal((await iterator.next()).value?.toString(), 'first part');
    controller.abort();
    await waitUntil(() => peer.lateRecords.includes(RecordType.AbortRequest), 'ABORT_REQUEST reaches the responder');
    await waitUntil(() => peer.connections[0]!.destroyed || peer.connections[0]!.readableEnded, 'the connection is closed');
    client.close();
  });

  /** Starts a responder that writes 64 MB as fast as it may; returns how much it wrote while nobody read, for a client holding `responseBuffer`. */
  async function writtenUnread(responseBuffer: number | undefined): Promise<number> {
    let written = 0;
    let stopped = false;
    const peer = await responder({ onRequest: (request) => {
      request.socket.write(encodeRecord(RecordType.Stdout, 1, Buffer.from('Content-Type: application/octet-stream\r\n\r\n')));
      const block = encodeRecord(RecordType.Stdout, 1, Buffer.alloc(65_000, 0x61));
      const pump = () => {
        while (!stopped && written < 64 * 1024 * 1024) {
          written += 65_000;
          if (!request.socket.write(block)) {
            request.socket.once('drain', pump);
            return;
          }
        }
      };
      pump();
    } });
    const { client } = quietClient(responseBuffer === undefined ? {} : { responseBuffer });
    const response = await client.request(peer.address, { params: PARAMS });
    await sleep(400);
    stopped = true;
    response.close();
    client.close();
    return written;
  }

  it('holds the responder back while the consumer does not read (bounded memory), after responseBuffer bytes', async () => {
    const byDefault = await writtenUnread(undefined);
    assert.ok(byDefault < 16 * 1024 * 1024, `the responder wrote ${byDefault} bytes though nobody read them`);
    // The kernel's socket buffers take a few MB either way; the client's own share is what differs.
    const small = await writtenUnread(64 * 1024);
    const large = await writtenUnread(8 * 1024 * 1024);
    assert.ok(large - small >= 6 * 1024 * 1024, `64 KiB: ${small} bytes taken, 8 MiB: ${large}`);
  });

  it('answers 504 when the responder leaves the body unread past writeTimeout', async () => {
    const peer = await responder({ neverRead: true });
    const { client } = quietClient({ writeTimeout: 200, readTimeout: 10_000 });
    const big = Buffer.alloc(32 * 1024 * 1024);
    await rejectsWith(client.request(peer.address, { params: { ...PARAMS, REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(big.length) }, body: big }), 504, /left the request body unread for 200 ms/);
    client.close();
  });

  it('queues requests beyond maxConnections and loses none', async () => {
    let busy = 0;
    let most = 0;
    const peer = await responder({ maxConns: 8, onRequest: (request) => {
      busy++;
      most = Math.max(most, busy);
      setTimeout(() => {
        busy--;
        request.reply(`Content-Type: text/plain\r\n\r\n${request.params.QUERY_STRING}`);
      }, 10);
    } });
    const { client } = quietClient({ maxConnections: 2 });
    const answers = await Promise.all(Array.from({ length: 12 }, async (_, i) => text(await client.request(peer.address, { params: { ...PARAMS, QUERY_STRING: String(i) } }))));
    assert.deepEqual(answers, Array.from({ length: 12 }, (_, i) => String(i)));
    assert.equal(most, 2);
    assert.equal(peer.connections.length, 2);
    client.close();
  });

  it('opens no more connections than the responder says it serves (FCGI_GET_VALUES), asking once', async () => {
    let busy = 0;
    let most = 0;
    const peer = await responder({ maxConns: 3, onRequest: (request) => {
      busy++;
      most = Math.max(most, busy);
      setTimeout(() => {
        busy--;
        request.reply('Content-Type: text/plain\r\n\r\nok');
      }, 10);
    } });
    const { client } = quietClient();
    await Promise.all(Array.from({ length: 10 }, async () => text(await client.request(peer.address, { params: PARAMS }))));
    assert.equal(most, 3);
    assert.equal(peer.connections.length, 3);
    assert.equal(peer.probes, 1);
    client.close();
  });

  it('learns how many connections a php-fpm-like responder serves (workers stay with kept connections) and loses no request', async () => {
    const peer = await responder({ stickyWorkers: 2, onRequest: (request) => {
      setTimeout(() => request.reply(`Content-Type: text/plain\r\n\r\n${request.params.QUERY_STRING}`), 5);
    } });
    const { client } = quietClient({ readTimeout: 3000 });
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(Array.from({ length: 12 }, async (_, i) => text(await client.request(peer.address, { params: { ...PARAMS, QUERY_STRING: String(i) } }))));
      assert.deepEqual(answers, Array.from({ length: 12 }, (_, i) => String(i)));
    }
    client.close();
  });

  it('retries once on a fresh connection when a kept-open one was closed by the responder', async () => {
    let requests = 0;
    const peer = await responder({ onParams: (request) => {
      requests++;
      // The second request arrives on the kept connection; the responder hangs up instead (max_requests reached, say).
      if (requests === 2) request.socket.destroy();
    }, onRequest: (request) => request.reply('Content-Type: text/plain\r\n\r\nok') });
    const { client } = quietClient();
    assert.equal(await text(await client.request(peer.address, { params: PARAMS })), 'ok');
    assert.equal(await text(await client.request(peer.address, { params: PARAMS })), 'ok');
    assert.equal(peer.connections.length, 2);
    client.close();
  });

  it('drops idle connections after idleTimeout', async () => {
    const peer = await responder({ onRequest: (request) => request.reply('Content-Type: text/plain\r\n\r\nok') });
    const { client } = quietClient({ idleTimeout: 100 });
    await text(await client.request(peer.address, { params: PARAMS }));
    await waitUntil(() => peer.connections[0]!.readableEnded || peer.connections[0]!.destroyed, 'the idle connection is closed');
    client.close();
  });

  it('refuses options that are not positive numbers', () => {
    assert.throws(() => new FastCgiClient({ readTimeout: 0 }), /readTimeout must be a positive number/);
  });
});

async function waitUntil(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await sleep(10);
  }
  assert.fail(`timed out waiting until ${what}`);
}
