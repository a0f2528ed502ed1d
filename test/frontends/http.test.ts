import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeServer, type HttpServer, type HttpServerOptions } from '../../src/frontends/http.js';
import type { Application, Body, Environ } from '../../src/types.js';
import { validator, type ValidatedApplication } from '../../src/validate.js';
import { fetchRaw, rawExchange } from '../helpers/http-client.js';
import { fromRoot } from '../helpers/paths.js';
import { collectingErrors } from '../helpers/recording-target.js';

const servers: HttpServer[] = [];
const validated: ValidatedApplication[] = [];

/**
 * Serves `app` through the validator, so every test also checks both sides of the TSGI
 * contract; apps that break the contract on purpose pass `checked: false`.
 */
async function serve(app: Application, options: HttpServerOptions = {}, checked = true): Promise<HttpServer> {
  let served = app;
  if (checked) {
    const wrapped = validator(app);
    validated.push(wrapped);
    served = wrapped;
  }
  const server = await makeServer('127.0.0.1', 0, served, { accessLog: false, errors: collectingErrors(), ...options });
  servers.push(server);
  return server;
}
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const app of validated) app.assertClean();
});

/** An app that answers with the CGI variables of the environ as JSON. */
const echoEnviron: Application = (environ, start) => {
  const plain: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(environ)) if (typeof value === 'string') plain[key] = value;
  plain['tsgi.url_scheme'] = environ['tsgi.url_scheme'];
  start('200 OK', [['Content-Type', 'application/json']]);
  return [JSON.stringify(plain)];
};

function waitFor(check: () => boolean, what: string, limitMs = 5000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() - started > limitMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

describe('HTTP front end: the environ', () => {
  let server: HttpServer;
  before(async () => {
    server = await serve(echoEnviron);
  });

  it('sets the CGI variables from the request', async () => {
    const res = await fetchRaw(`${server.url}/caf%C3%A9/a%2Fb?x=%41&y=1`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain', 'X-Thing': 'yes', Host: 'example.test:99' },
      body: 'hello',
    });
    const env = JSON.parse(res.text) as Record<string, string>;
    assert.equal(env.REQUEST_METHOD, 'POST');
    assert.equal(env.SCRIPT_NAME, '');
    assert.equal(env.PATH_INFO, '/café/a/b');
    assert.equal(env.REQUEST_URI, '/caf%C3%A9/a%2Fb?x=%41&y=1');
    assert.equal(env.QUERY_STRING, 'x=%41&y=1');
    assert.equal(env.CONTENT_TYPE, 'text/plain');
    assert.equal(env.CONTENT_LENGTH, '5');
    assert.equal(env.HTTP_CONTENT_TYPE, undefined);
    assert.equal(env.HTTP_X_THING, 'yes');
    assert.equal(env.HTTP_HOST, 'example.test:99');
    assert.equal(env.SERVER_PORT, String(server.port));
    assert.equal(env.SERVER_PROTOCOL, 'HTTP/1.1');
    assert.equal(env.REMOTE_ADDR, '127.0.0.1');
    assert.match(env.REMOTE_PORT!, /^\d+$/);
    assert.equal(env['tsgi.url_scheme'], 'http');
    assert.equal(env.HTTPS, undefined);
  });

  it('drops Proxy (httpoxy) and header names with "_", and joins duplicates', async () => {
    const reply = await rawExchange(server.port, [
      'GET / HTTP/1.1', 'Host: x', 'Proxy: http://evil.test', 'X_Forwarded_For: 6.6.6.6', 'X-Forwarded-For: 1.2.3.4',
      'Cookie: a=1', 'Cookie: b=2', 'Accept: text/html', 'Accept: text/plain', 'Connection: close', '', '',
    ].join('\r\n'));
    const env = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as Record<string, string>;
    assert.equal(env.HTTP_PROXY, undefined);
    assert.equal(env.HTTP_X_FORWARDED_FOR, '1.2.3.4');
    assert.equal(env.HTTP_COOKIE, 'a=1; b=2');
    assert.equal(env.HTTP_ACCEPT, 'text/html, text/plain');
  });

  it('answers 400 to a request with two Content-Type headers', async () => {
    const reply = await rawExchange(server.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}');
    assert.match(reply, /^HTTP\/1\.1 400 /);
    assert.match(reply, /more than one Content-Type/);
  });

  it('answers 400 when the decoded path is not UTF-8', async () => {
    const res = await fetchRaw(`${server.url}/bad%FFbyte`);
    assert.equal(res.status, 400);
    assert.match(res.text, /not valid UTF-8/);
  });

  it('answers 414 for an over-long request target', async () => {
    const res = await fetchRaw(`${server.url}/${'a'.repeat(9000)}`);
    assert.equal(res.status, 414);
  });

  it('answers 431 for an over-large header block', async () => {
    const res = await fetchRaw(`${server.url}/`, { headers: { 'X-Big': 'b'.repeat(20_000) } });
    assert.equal(res.status, 431);
  });

  it('answers 414, not 431, for a target longer than maxHeaderSize', async () => {
    const res = await fetchRaw(`${server.url}/${'a'.repeat(20_000)}`);
    assert.equal(res.status, 414);
  });

  it('tells a long target from a long header also when either arrives in pieces', async () => {
    const inPieces = async (pieces: string[]): Promise<string> => {
      const socket = connect(server.port, '127.0.0.1');
      let reply = '';
      socket.on('data', (chunk: Buffer) => (reply += chunk.toString('latin1')));
      socket.on('error', () => {});
      const closed = new Promise((resolve) => socket.once('close', resolve));
      for (const piece of pieces) {
        socket.write(piece);
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      await closed;
      return reply;
    };
    assert.match(await inPieces(['GET /' + 'a'.repeat(10_000), 'a'.repeat(10_000)]), /^HTTP\/1\.1 414 /);
    assert.match(await inPieces(['GET /' + 'a'.repeat(10_000), 'a'.repeat(10_000) + ' HTTP/1.1\r\n\r\n']), /^HTTP\/1\.1 414 /);
    assert.match(await inPieces(['GET / HTTP/1.1\r\nX-Big: ' + 'b'.repeat(10_000), 'b'.repeat(10_000) + '\r\n\r\n']), /^HTTP\/1\.1 431 /);
    assert.match(await inPieces(['GET / HTTP/1.1\r\nCookie: ' + 'a=b; '.repeat(2_000), 'c=d; '.repeat(2_000)]), /^HTTP\/1\.1 431 /);
  });

  it('answers 400 to both Content-Length and Transfer-Encoding (request smuggling)', async () => {
    const reply = await rawExchange(server.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 400 /);
    assert.doesNotMatch(reply, /200 OK/);
  });
});

describe('HTTP front end: connections', () => {
  it('serves pipelined requests on one keep-alive connection, in order', async () => {
    const server = await serve((environ, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return [`path=${environ.PATH_INFO}`];
    });
    const reply = await rawExchange(server.port, 'GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\nGET /three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const bodies = [...reply.matchAll(/path=\/(one|two|three)/g)].map((m) => m[1]);
    assert.deepEqual(bodies, ['one', 'two', 'three']);
    assert.equal(reply.match(/HTTP\/1\.1 200 OK/g)?.length, 3);
  });

  it('sends 100 Continue only once the app reads the body', async () => {
    const server = await serve(async (environ, start) => {
      let size = 0;
      for await (const chunk of environ['tsgi.input']) size += chunk.length;
      start('200 OK', [['Content-Type', 'text/plain']]);
      return [`got ${size}`];
    });
    const socket = connect(server.port, '127.0.0.1');
    let seen = '';
    socket.on('data', (chunk: Buffer) => (seen += chunk.toString('latin1')));
    socket.write('PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n');
    await waitFor(() => seen.includes('100 Continue'), '100 Continue');
    assert.doesNotMatch(seen, /200 OK/);
    socket.write('data');
    await waitFor(() => seen.includes('got 4'), 'the final response');
    socket.destroy();
  });

  it('answers without 100 Continue when the app does not read the body', async () => {
    const server = await serve((_, start) => {
      start('403 Forbidden', [['Content-Type', 'text/plain']]);
      return ['no'];
    });
    const reply = await rawExchange(server.port, 'PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 403 Forbidden/);
    assert.doesNotMatch(reply, /100 Continue/);
  });

  it('sends headers and no body for HEAD', async () => {
    const server = await serve((_, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return ['0123456789'];
    });
    const reply = await rawExchange(server.port, 'HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const [head, next] = reply.split('\r\n\r\n');
    assert.match(head!, /Content-Length: 10/);
    assert.ok(next!.startsWith('HTTP/1.1 200 OK'), 'the HEAD response carried no body bytes');
  });

  it('refuses a body over maxBodySize with 413, by Content-Length and while streaming chunked', async () => {
    const server = await serve(async (environ, start) => {
      for await (const chunk of environ['tsgi.input']) void chunk;
      start('200 OK', [['Content-Type', 'text/plain']]);
      return ['read it all'];
    }, { maxBodySize: 1000 });
    const declared = await fetchRaw(`${server.url}/`, { method: 'POST', body: 'x'.repeat(1001) });
    assert.equal(declared.status, 413);
    const chunked = await fetchRaw(`${server.url}/`, {
      method: 'POST',
      body: (async function* () {
        for (let i = 0; i < 5; i++) yield Buffer.alloc(400, 1);
      })(),
    });
    assert.equal(chunked.status, 413);
    assert.match(chunked.text, /larger than the limit of 1000 bytes/);
    const fits = await fetchRaw(`${server.url}/`, { method: 'POST', body: 'x'.repeat(1000) });
    assert.equal(fits.status, 200);
  });

  it('answers 500 without splitting the response when an app puts CR/LF in a header', async () => {
    const server = await serve((_, start) => {
      start('200 OK', [['Location', '/x\r\nSet-Cookie: stolen=1']]);
      return ['body'];
    }, {}, false);
    const reply = await rawExchange(server.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 500 /);
    assert.doesNotMatch(reply, /Set-Cookie/i);
  });

  it('answers 500 when the app throws before its headers', async () => {
    const server = await serve(() => {
      throw new Error('kaput');
    }, {}, false);
    const res = await fetchRaw(`${server.url}/`);
    assert.equal(res.status, 500);
    assert.doesNotMatch(res.text, /kaput/);
  });

  it('cuts the connection when the app throws after its headers', async () => {
    const server = await serve((_, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return (async function* () {
        yield 'partial';
        throw new Error('mid-body');
      })();
    }, {}, false);
    await assert.rejects(fetchRaw(`${server.url}/`), /aborted|socket hang up|ECONNRESET|terminated/);
  });

  it('calls close() once and stops producing when the client goes away', async () => {
    let closes = 0;
    let produced = 0;
    const server = await serve((_, start) => {
      start('200 OK', [['Content-Type', 'application/octet-stream']]);
      const body: Body = Object.assign(
        (async function* () {
          for (;;) {
            produced++;
            yield Buffer.alloc(16 * 1024);
            await new Promise((r) => setImmediate(r));
          }
        })(),
        { close: () => void closes++ },
      );
      return body;
    });
    const socket = connect(server.port, '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => socket.once('data', resolve));
    socket.destroy();
    await waitFor(() => closes > 0, 'close()');
    const producedAtClose = produced;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(closes, 1);
    assert.ok(produced <= producedAtClose + 1, 'the body stopped being iterated');
  });

  it('holds back a fast body while the client does not read (backpressure)', async () => {
    let produced = 0;
    const server = await serve((_, start) => {
      start('200 OK', [['Content-Type', 'application/octet-stream']]);
      return (async function* () {
        for (let i = 0; i < 10_000; i++) {
          produced++;
          yield Buffer.alloc(64 * 1024);
        }
      })();
    });
    const socket = connect(server.port, '127.0.0.1');
    socket.pause();
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 300));
    const stalled = produced;
    socket.destroy();
    // 10,000 chunks are 640 MB; with backpressure only socket buffers' worth is produced.
    assert.ok(stalled < 500, `produced ${stalled} chunks of 64 KiB while the client read nothing`);
  });

  it('answers 408 and closes when a client is too slow to send its headers', async () => {
    const server = await serve(echoEnviron, { headersTimeout: 300 });
    const reply = await rawExchange(server.port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ', 3000);
    assert.match(reply, /^HTTP\/1\.1 408 Request Timeout/);
  });

  it('logs each request in Common Log Format', async () => {
    const lines: string[] = [];
    const server = await serve(echoEnviron, { accessLog: (line) => lines.push(line) });
    await fetchRaw(`${server.url}/log%20me?q=1`);
    await waitFor(() => lines.length === 1, 'the log line');
    assert.match(lines[0]!, /^127\.0\.0\.1 - - \[\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "GET \/log%20me\?q=1 HTTP\/1\.1" 200 \d+$/);
  });
});

describe('HTTP front end: large bodies', () => {
  let child: ChildProcess | undefined;
  after(() => child?.kill());

  it('streams a 200 MB chunked upload through a hashing app with small server memory', async () => {
    child = spawn(process.execPath, [fromRoot('test/fixtures/http/hash-server.mjs'), fromRoot('dist/src/frontends/http.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve) => child!.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
    const block = randomBytes(1024 * 1024);
    const expected = createHash('sha256');
    for (let i = 0; i < 200; i++) expected.update(block);
    const res = await fetchRaw(`http://127.0.0.1:${port}/`, {
      method: 'PUT',
      body: (async function* () {
        for (let i = 0; i < 200; i++) yield block;
      })(),
    });
    const result = JSON.parse(res.text) as { sha256: string; size: number; peakKiB: number };
    assert.equal(result.size, 200 * 1024 * 1024);
    assert.equal(result.sha256, expected.digest('hex'));
    assert.ok(result.peakKiB < 150 * 1024, `server peak RSS ${Math.round(result.peakKiB / 1024)} MB`);
  });
});

describe('HTTP front end: HTTPS and shutdown', () => {
  it('serves HTTPS with HTTPS=on and url_scheme https', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
      const server = await serve(echoEnviron, { tls: { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) } });
      assert.match(server.url, /^https:/);
      const text = await new Promise<string>((resolve, reject) => {
        httpsRequest(`${server.url}/secure`, { rejectUnauthorized: false }, (res) => {
          let data = '';
          res.on('data', (c: Buffer) => (data += c));
          res.on('end', () => resolve(data));
        }).on('error', reject).end();
      });
      const env = JSON.parse(text) as Record<string, string>;
      assert.equal(env.HTTPS, 'on');
      assert.equal(env['tsgi.url_scheme'], 'https');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finishes the request in flight on SIGTERM, then exits 0', async () => {
    const cli = spawn(process.execPath, [fromRoot('dist/src/cli.js'), 'run', fromRoot('test/fixtures/http/slow-app.mjs'), '--port', '0', '--no-access-log'], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      let stderr = '';
      cli.stderr!.on('data', (d: Buffer) => (stderr += d));
      await waitFor(() => /port (\d+)/.test(stderr), 'the server to start');
      const port = Number(/port (\d+)/.exec(stderr)![1]);
      const pending = fetchRaw(`http://127.0.0.1:${port}/`);
      await new Promise((r) => setTimeout(r, 100));
      cli.kill('SIGTERM');
      const res = await pending;
      assert.equal(res.status, 200);
      assert.equal(res.text, 'finished\n');
      const code = await new Promise((resolve) => cli.once('exit', resolve));
      assert.equal(code, 0);
      await assert.rejects(fetchRaw(`http://127.0.0.1:${port}/`), /ECONNREFUSED/);
    } finally {
      cli.kill('SIGKILL');
    }
  });
});

describe('HTTP front end: protocol edge cases', () => {
  const readAll: Application = async (environ, start) => {
    let size = 0;
    for await (const chunk of environ['tsgi.input']) size += chunk.length;
    start('200 OK', [['Content-Type', 'text/plain']]);
    return [`read ${size} of ${environ.PATH_INFO}`];
  };
  /** A server whose app must never run: the front end refuses the request itself. */
  async function refusingServer(): Promise<{ server: HttpServer; calls: () => number }> {
    let calls = 0;
    const server = await serve((environ, start) => {
      calls++;
      return readAll(environ, start);
    });
    return { server, calls: () => calls };
  }
  async function environFor(request: string): Promise<Record<string, string>> {
    const server = await serve(echoEnviron);
    const reply = await rawExchange(server.port, request);
    return JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as Record<string, string>;
  }

  it('ignores Expect: 100-continue from an HTTP/1.0 client (RFC 9110 10.1.1)', async () => {
    const server = await serve(readAll);
    const reply = await rawExchange(server.port, 'POST /old HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc');
    assert.doesNotMatch(reply, /100 Continue/);
    assert.match(reply, /^HTTP\/1\.1 200 OK[^]*read 3 of \/old$/);
  });

  it('answers 505 to request lines that claim a version other than HTTP/1.x, without calling the app', async () => {
    const { server, calls } = await refusingServer();
    for (const version of ['HTTP/2.0', 'HTTP/0.9']) {
      const reply = await rawExchange(server.port, `GET / ${version}\r\nHost: x\r\n\r\n`);
      assert.match(reply, /^HTTP\/1\.1 505 HTTP Version Not Supported\r\n/, version);
    }
    assert.equal(calls(), 0);
  });

  it('answers 400 and closes when chunked is not the final transfer coding (RFC 9112 6.3), without calling the app', async () => {
    const { server, calls } = await refusingServer();
    for (const coding of ['identity', 'gzip', 'chunked, gzip']) {
      const reply = await rawExchange(server.port, `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${coding}\r\n\r\nhello`);
      assert.match(reply, /^HTTP\/1\.1 400 Bad Request\r\n[^]*Connection: close\r\n/i, coding);
    }
    assert.equal(calls(), 0);
  });

  it('answers 400 to a request with two Host headers (RFC 9112 3.2), without calling the app', async () => {
    const { server, calls } = await refusingServer();
    const reply = await rawExchange(server.port, 'GET / HTTP/1.1\r\nHost: good.test\r\nHost: evil.test\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.equal(calls(), 0);
  });

  it('lets an app call write() many times without awaiting it, without piling up listeners', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const server = await serve((_, start) => {
        const write = start('200 OK', [['Content-Type', 'application/octet-stream']]);
        for (let i = 0; i < 40; i++) void write(Buffer.alloc(64 * 1024, 97));
        return [];
      });
      const res = await fetchRaw(`${server.url}/`);
      assert.equal(res.body.length, 40 * 64 * 1024);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(warnings, []);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('closes the connection after refusing a chunked body over the limit, instead of reading the rest', async () => {
    const server = await serve(readAll, { maxBodySize: 100 });
    const chunk = `80\r\n${'a'.repeat(128)}\r\n`;
    // The body never ends: only closing the connection ends this exchange before the 3 s quiet time.
    const reply = await rawExchange(server.port, `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}${chunk}`, 3000);
    assert.match(reply, /^HTTP\/1\.1 413 /);
    assert.match(reply, /\r\nConnection: close\r\n/i);
  });

  it('gives an absolute-form target with an empty path the path "/"', async () => {
    const env = await environFor('GET http://host.test?q=1 HTTP/1.1\r\nHost: host.test\r\nConnection: close\r\n\r\n');
    assert.equal(env.PATH_INFO, '/');
    assert.equal(env.QUERY_STRING, 'q=1');
  });

  it('takes HTTP_HOST from an absolute-form target, not from the Host header (RFC 9112 3.2.2)', async () => {
    const env = await environFor('GET http://real.test:8080/x HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n');
    assert.equal(env.HTTP_HOST, 'real.test:8080');
    assert.equal(env.PATH_INFO, '/x');
  });

  it('does not leave an app stuck in await write() once the client has gone', async () => {
    let finished = false;
    const server = await serve(async (_, start) => {
      const write = start('200 OK', [['Content-Type', 'application/octet-stream']]);
      for (let i = 0; i < 2000; i++) await write(Buffer.alloc(64 * 1024));
      finished = true;
      return [];
    });
    const socket = connect(server.port, '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => socket.once('data', resolve));
    socket.destroy();
    await waitFor(() => finished, 'the app to get past its writes');
  });

  it('answers 400 to a target that is neither a path, "*" nor absolute-form, so PATH_INFO always starts with "/"', async () => {
    const { server, calls } = await refusingServer();
    for (const target of ['**', '*/etc/passwd']) {
      const reply = await rawExchange(server.port, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.match(reply, /^HTTP\/1\.1 400 Bad Request\r\n/, target);
    }
    assert.equal(calls(), 0);
  });

  it('answers requests that arrive while closing with Connection: close, so a keep-alive client cannot hold the drain open', async () => {
    const server = await makeServer('127.0.0.1', 0, async (environ, start) => {
      await new Promise((r) => setTimeout(r, 100));
      start('200 OK', [['Content-Type', 'text/plain']]);
      return [`done ${environ.PATH_INFO}`];
    }, { accessLog: false, errors: collectingErrors() });
    const socket = connect(server.port, '127.0.0.1');
    let seen = '';
    socket.on('data', (chunk: Buffer) => (seen += chunk.toString('latin1')));
    socket.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 20));
    const closed = server.close();
    // Sent while /first is in flight, so the connection is busy and no idle sweep can race it.
    socket.write('GET /second HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => seen.includes('done /second'), 'the second response');
    const second = seen.slice(seen.indexOf('done /first'));
    assert.match(second, /\r\nConnection: close\r\n/i);
    await closed;
    socket.destroy();
  });

  it('lets close() finish a response still waiting in the socket buffer for a slow reader, and log it', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 120);
    const lines: string[] = [];
    const server = await makeServer('127.0.0.1', 0, (environ, start) => {
      start('200 OK', [['Content-Type', 'application/octet-stream']]);
      return [big];
    }, { accessLog: (line) => lines.push(line) });
    let response: ServerResponse | undefined;
    server.server.on('request', (_req, res: ServerResponse) => (response = res));
    const socket = connect(server.port, '127.0.0.1');
    socket.pause();
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    // end() was called, while most of the 8 MB still waits for the client to read.
    await waitFor(() => response?.writableEnded === true, 'the response to end');
    assert.equal(response!.writableFinished, false);
    let closeResolved = false;
    const closed = server.close().then(() => (closeResolved = true));
    let received = 0;
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    const gone = new Promise((resolve) => socket.once('close', resolve));
    socket.resume();
    await gone;
    await closed;
    assert.ok(closeResolved);
    assert.ok(received > big.length, `${received} bytes received`);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, / 200 8388608$/);
  });

  it('writes an access-log line for requests the front end refuses itself', async () => {
    const lines: string[] = [];
    const server = await serve(readAll, { accessLog: (line) => lines.push(line), maxUrlLength: 100 });
    await rawExchange(server.port, 'GET / HTTP/2.0\r\nHost: x\r\n\r\n');
    await rawExchange(server.port, `GET /${'x'.repeat(200)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await waitFor(() => lines.length === 2, 'two log lines');
    assert.match(lines[0]!, /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/ HTTP\/2\.0" 505 \d+$/);
    assert.match(lines[1]!, /"GET \/x+ HTTP\/1\.1" 414 \d+$/);
  });

  it('logs the 400, 431 and 408 answers llhttp gives itself, with the request line when llhttp hands it over', async () => {
    const lines: string[] = [];
    const server = await serve(readAll, { accessLog: (line) => lines.push(line), maxHeaderSize: 1024, headersTimeout: 300 });
    assert.match(await rawExchange(server.port, 'NOT A REQUEST\r\n\r\n'), /^HTTP\/1\.1 400 /);
    assert.match(await rawExchange(server.port, `GET /big HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(2048)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
    assert.match(await rawExchange(server.port, 'GET /slow HTTP/1.1\r\nHost: x\r\nX-Slow: ', 3000), /^HTTP\/1\.1 408 /);
    await waitFor(() => lines.length === 3, 'three log lines');
    assert.match(lines[0]!, /^127\.0\.0\.1 - - \[[^\]]+\] "-" 400 12$/);
    assert.match(lines[1]!, /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/big HTTP\/1\.1" 431 32$/);
    // A timeout comes without the bytes read so far: the request is "-", as for a garbled one.
    assert.match(lines[2]!, /^127\.0\.0\.1 - - \[[^\]]+\] "-" 408 16$/);
  });

  it('appends the access log to a file in the chosen format, all of it written once close() resolves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-http-log-'));
    try {
      const file = join(dir, 'access.log');
      const server = await makeServer('127.0.0.1', 0, readAll, { accessLog: { file, format: 'combined' }, errors: collectingErrors() });
      for (let i = 0; i < 5; i++) await fetchRaw(`${server.url}/n${i}`, { headers: { 'User-Agent': 'test-agent', Referer: 'http://r/' } });
      await server.close();
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      assert.equal(lines.length, 5);
      assert.match(lines[4]!, /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/n4 HTTP\/1\.1" 200 \d+ "http:\/\/r\/" "test-agent"$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers 500 when a one-string body is shorter than its Content-Length', async () => {
    const server = await serve((_, start) => {
      start('200 OK', [['Content-Type', 'text/plain'], ['Content-Length', '10']]);
      return ['short'];
    }, {}, false);
    const res = await fetchRaw(`${server.url}/`);
    assert.equal(res.status, 500);
  });

  it('closes the connection after an HTTP/1.0 request with Transfer-Encoding (RFC 9112 6.1: faulty framing)', async () => {
    const server = await serve(readAll);
    const reply = await rawExchange(server.port, 'POST /old HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', 3000);
    assert.match(reply, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(reply, /\r\nConnection: close\r\n/i);
  });
});

export type { Environ };
