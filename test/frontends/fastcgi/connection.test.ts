import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastCgiOptions } from '../../../src/frontends/fastcgi/connection.js';
import { listenFastCgi } from '../../../src/frontends/fastcgi/index.js';
import { decodeParams, encodeParams, encodeRecord, ProtocolStatus, RecordType, Role } from '../../../src/frontends/fastcgi/records.js';
import type { GatewayServer } from '../../../src/frontends/listen.js';
import { validator, type ValidatedApplication } from '../../../src/validate.js';
import type { Application, Environ } from '../../../src/types.js';
import { hashBody, sha256 } from '../../helpers/fastcgi-apps.js';
import { cgiParams, FcgiTestClient, parseCgiResponse } from '../../helpers/fastcgi-client.js';
import { waitFor } from '../../helpers/wait-for.js';

const servers: GatewayServer[] = [];
const validated: ValidatedApplication[] = [];
const clients: FcgiTestClient[] = [];
after(async () => {
  for (const client of clients) client.close();
  await Promise.all(servers.map((server) => server.close(100)));
  for (const app of validated) app.assertClean();
});

/**
 * Serves `app` through the validator, so every test also checks both sides of the TSGI
 * contract; apps that break it on purpose pass `checked: false`.
 */
async function serve(app: Application, options: FastCgiOptions = {}, checked = true): Promise<{ server: GatewayServer; logs: string[] }> {
  if (checked) {
    const wrapped = validator(app);
    validated.push(wrapped);
    app = wrapped;
  }
  const logs: string[] = [];
  const errors = { write: (text: string) => void logs.push(text) };
  const server = await listenFastCgi('127.0.0.1:0', app, { log: (line) => logs.push(line), errors, ...options });
  servers.push(server);
  return { server, logs };
}

async function connect(server: GatewayServer): Promise<FcgiTestClient> {
  const client = await FcgiTestClient.connect(server.port);
  clients.push(client);
  return client;
}

function stringEnviron(environ: Environ): Record<string, string> {
  const plain: Record<string, string> = {};
  for (const [key, value] of Object.entries(environ)) if (typeof value === 'string') plain[key] = value;
  return plain;
}

const echoEnviron: Application = (environ, start) => {
  start('200 OK', [['Content-Type', 'application/json']]);
  return [JSON.stringify(stringEnviron(environ))];
};


describe('FastCGI responder', () => {
  it('turns params into the environ, drops HTTP_PROXY and answers with a CGI response', async () => {
    const { server } = await serve(echoEnviron);
    const client = await connect(server);
    client.request(1, cgiParams('GET', '/caf\xc3\xa9', { QUERY_STRING: 'a=1', HTTP_PROXY: 'http://evil:1', HTTP_HOST: 'example.test', SCRIPT_NAME: '/' }));
    const response = await client.response(1);
    assert.equal(response.protocolStatus, ProtocolStatus.RequestComplete);
    const cgi = parseCgiResponse(response.stdout);
    assert.equal(cgi.headers.status, '200 OK');
    assert.equal(cgi.headers['content-type'], 'application/json');
    assert.equal(cgi.headers['content-length'], String(cgi.body.length));
    const environ = JSON.parse(cgi.body.toString()) as Record<string, string>;
    assert.equal(environ.HTTP_PROXY, undefined);
    assert.equal(environ.PATH_INFO, '/café');
    assert.equal(environ.SCRIPT_NAME, '');
    assert.equal(environ.QUERY_STRING, 'a=1');
    assert.equal(environ.FCGI_ROLE, 'RESPONDER');
  });

  it('sets tsgi.url_scheme from HTTPS and remounts with scriptName', async () => {
    const { server } = await serve((environ, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return [`${environ['tsgi.url_scheme']} [${environ.SCRIPT_NAME}] [${environ.PATH_INFO}]`];
    }, { scriptName: '/app' });
    const client = await connect(server);
    client.request(1, cgiParams('GET', '', { HTTPS: 'on', SCRIPT_NAME: '/app/x/y' }));
    assert.equal(parseCgiResponse((await client.response(1)).stdout).body.toString(), 'https [/app] [/x/y]');
  });

  it('streams a large POST body to the application in order', async () => {
    const { server } = await serve(hashBody);
    const client = await connect(server);
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const chunks = [body.subarray(0, 1000), body.subarray(1000, 2_000_000), body.subarray(2_000_000)];
    client.request(1, cgiParams('POST', '/echo', { CONTENT_LENGTH: String(body.length) }), { body: chunks });
    const cgi = parseCgiResponse((await client.response(1)).stdout);
    assert.equal(cgi.body.toString(), `POST /echo - ${body.length} ${sha256(body)}`);
  });

  it('fails the input of a body shorter than CONTENT_LENGTH with a 400', async () => {
    const { server } = await serve(hashBody);
    const client = await connect(server);
    client.request(1, cgiParams('POST', '/echo', { CONTENT_LENGTH: '10' }), { body: Buffer.from('short') });
    const cgi = parseCgiResponse((await client.response(1)).stdout);
    assert.equal(cgi.status, 400);
    assert.match(cgi.body.toString(), /ended after 5 of its 10 bytes/);
  });

  it('answers 400 without calling the app when CONTENT_LENGTH is not a number', async () => {
    let called = false;
    const { server } = await serve((environ, start) => {
      called = true;
      return hashBody(environ, start);
    });
    const client = await connect(server);
    client.request(1, cgiParams('POST', '/echo', { CONTENT_LENGTH: '27\u00b2' }), { body: Buffer.from('x'.repeat(27)) });
    const cgi = parseCgiResponse((await client.response(1)).stdout);
    assert.equal(cgi.status, 400);
    assert.match(cgi.body.toString(), /CONTENT_LENGTH "27²" is not a number/);
    assert.equal(called, false);
  });

  it('keeps the connection for the next request with KEEP_CONN and closes it without', async () => {
    const { server } = await serve(echoEnviron);
    const client = await connect(server);
    for (let round = 0; round < 3; round++) {
      client.request(1, cgiParams('GET', `/r${round}`));
      const environ = JSON.parse(parseCgiResponse((await client.response(1)).stdout).body.toString()) as Record<string, string>;
      assert.equal(environ.PATH_INFO, `/r${round}`);
      client.forget(1);
    }
    assert.equal(client.isClosed, false);
    client.request(1, cgiParams('GET', '/last'), { keepConn: false });
    await client.response(1);
    await client.closed;
  });

  it('serves multiplexed requests on one connection, each answered under its own id', async () => {
    const { server } = await serve(async (environ, start) => {
      const ms = Number(environ.QUERY_STRING);
      await sleep(ms);
      start('200 OK', [['Content-Type', 'text/plain']]);
      return [environ.PATH_INFO];
    });
    const client = await connect(server);
    // Interleave the records of three requests; the slowest starts first.
    client.begin(1);
    client.begin(2);
    client.begin(3);
    client.params(3, cgiParams('GET', '/three', { QUERY_STRING: '1' }));
    client.params(1, cgiParams('GET', '/one', { QUERY_STRING: '60' }));
    client.params(2, cgiParams('GET', '/two', { QUERY_STRING: '30' }));
    for (const id of [2, 1, 3]) client.stdin(id, Buffer.alloc(0));
    const bodies = await Promise.all([1, 2, 3].map(async (id) => parseCgiResponse((await client.response(id)).stdout).body.toString()));
    assert.deepEqual(bodies, ['/one', '/two', '/three']);
    const order = client.records.filter((r) => r.type === RecordType.EndRequest).map((r) => r.id);
    assert.deepEqual(order, [3, 2, 1]);
  });

  it('keeps the records of large chunks whole when multiplexed requests stream at once', async () => {
    // Large chunks go out uncopied, a record's header and its data as separate writes: no
    // other request's record may come between them.
    const { server } = await serve(async (environ, start) => {
      const fill = Number(environ.QUERY_STRING);
      start('200 OK', [['Content-Type', 'application/octet-stream']]);
      return (async function* () {
        for (let i = 0; i < 20; i++) {
          await sleep(0);
          yield Buffer.alloc(70_001 + fill, fill);
        }
      })();
    });
    const client = await connect(server);
    for (const id of [1, 2, 3]) {
      client.begin(id);
      client.params(id, cgiParams('GET', '/', { QUERY_STRING: String(id) }));
      client.stdin(id, Buffer.alloc(0));
    }
    for (const id of [1, 2, 3]) {
      const body = parseCgiResponse((await client.response(id)).stdout).body;
      assert.equal(body.length, 20 * (70_001 + id));
      assert.ok(body.every((byte) => byte === id), `request ${id} got another's bytes`);
    }
  });

  it('answers FCGI_GET_VALUES and UNKNOWN_TYPE on management records', async () => {
    const { server } = await serve(echoEnviron, { maxConnections: 7, maxRequestsPerConnection: 3 });
    const client = await connect(server);
    client.send(encodeRecord(RecordType.GetValues, 0, encodeParams([['FCGI_MAX_CONNS', ''], ['FCGI_MAX_REQS', ''], ['FCGI_MPXS_CONNS', ''], ['OTHER', '']])));
    client.send(encodeRecord(99, 0, Buffer.alloc(0)));
    const result = await client.until(() => client.records.find((r) => r.type === RecordType.GetValuesResult), 'GET_VALUES_RESULT');
    const pairs: string[] = [];
    decodeParams(result.content, (name, value) => pairs.push(`${name}=${value}`));
    assert.deepEqual(pairs, ['FCGI_MAX_CONNS=7', 'FCGI_MAX_REQS=21', 'FCGI_MPXS_CONNS=1']);
    const unknown = await client.until(() => client.records.find((r) => r.type === RecordType.UnknownType), 'UNKNOWN_TYPE');
    assert.equal(unknown.content[0], 99);
  });

  it('answers a GET_VALUES that asks the same name thousands of times with one answer each, and keeps serving', async () => {
    const { server, logs } = await serve(echoEnviron);
    const client = await connect(server);
    // 4,095 questions fit one record; one answer per question would not (a RangeError out of a data handler).
    const query = encodeParams(Array.from({ length: 4095 }, () => ['FCGI_MAX_REQS', ''] as const));
    client.send(encodeRecord(RecordType.GetValues, 0, query));
    const result = await client.until(() => client.records.find((r) => r.type === RecordType.GetValuesResult), 'GET_VALUES_RESULT');
    const pairs: string[] = [];
    decodeParams(result.content, (name, value) => pairs.push(`${name}=${value}`));
    assert.deepEqual(pairs, ['FCGI_MAX_REQS=65536']);
    client.request(1, cgiParams('GET', '/after'));
    assert.equal((await client.response(1)).protocolStatus, ProtocolStatus.RequestComplete);
    assert.deepEqual(logs, []);
  });

  it('answers FCGI_UNKNOWN_ROLE for FILTER and serves AUTHORIZER without a body', async () => {
    const { server } = await serve((environ, start) => {
      start(environ.HTTP_AUTHORIZATION === 'ok' ? '200 OK' : '403 Forbidden', [['Variable-USER', 'alice']]);
      return [];
    });
    const client = await connect(server);
    client.request(1, cgiParams('GET', '/'), { role: Role.Filter });
    assert.equal((await client.response(1)).protocolStatus, ProtocolStatus.UnknownRole);
    client.begin(2, { role: Role.Authorizer });
    client.params(2, cgiParams('GET', '/', { HTTP_AUTHORIZATION: 'ok' }));
    const allowed = parseCgiResponse((await client.response(2)).stdout);
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers['variable-user'], 'alice');
    client.begin(3, { role: Role.Authorizer });
    client.params(3, cgiParams('GET', '/'));
    assert.equal(parseCgiResponse((await client.response(3)).stdout).status, 403);
  });

  it('answers FCGI_OVERLOADED past the in-flight cap and CANT_MPX_CONN without multiplexing', async () => {
    const hold: Application = async (_environ, start) => {
      await sleep(200);
      start('200 OK', [['Content-Type', 'text/plain']]);
      return ['done'];
    };
    const { server, logs } = await serve(hold, { maxRequestsPerConnection: 2 });
    const client = await connect(server);
    for (const id of [1, 2, 3]) client.request(id, cgiParams('GET', '/'));
    assert.equal((await client.response(3)).protocolStatus, ProtocolStatus.Overloaded);
    assert.equal((await client.response(1)).protocolStatus, ProtocolStatus.RequestComplete);
    assert.equal((await client.response(2)).protocolStatus, ProtocolStatus.RequestComplete);
    assert.ok(logs.some((line) => /FCGI_OVERLOADED/.test(line)));

    const single = await serve(hold, { multiplex: false });
    const other = await connect(single.server);
    other.request(1, cgiParams('GET', '/'));
    other.request(2, cgiParams('GET', '/'));
    assert.equal((await other.response(2)).protocolStatus, ProtocolStatus.CantMpxConn);
    assert.equal((await other.response(1)).protocolStatus, ProtocolStatus.RequestComplete);
  });

  it('accepts TCP connections only from webServerAddresses (FCGI_WEB_SERVER_ADDRS)', async () => {
    const refused = await serve(echoEnviron, { webServerAddresses: ['10.9.8.7'] });
    const outsider = await connect(refused.server);
    outsider.request(1, cgiParams('GET', '/'));
    await outsider.closed;
    assert.equal(outsider.records.length, 0);
    assert.ok(refused.logs.some((line) => /refused a connection from 127\.0\.0\.1/.test(line)));
    const admitted = await serve(echoEnviron, { webServerAddresses: ['10.9.8.7', '127.0.0.1'] });
    const insider = await connect(admitted.server);
    insider.request(1, cgiParams('GET', '/'));
    assert.equal(parseCgiResponse((await insider.response(1)).stdout).status, 200);
  });

  it('sends tsgi.errors as FCGI_STDERR when asked', async () => {
    const { server } = await serve((environ, start) => {
      environ['tsgi.errors'].write('careful\n');
      start('200 OK', [['Content-Type', 'text/plain']]);
      return ['ok'];
    }, { stderrToPeer: true });
    const client = await connect(server);
    client.request(1, cgiParams('GET', '/'));
    assert.equal((await client.response(1)).stderr.toString(), 'careful\n');
  });
});

describe('FastCGI bad input', () => {
  const badInputs: [string, (client: FcgiTestClient) => void, RegExp][] = [
    ['a wrong version', (client) => {
      const record = encodeRecord(RecordType.BeginRequest, 1, Buffer.alloc(8));
      record[0] = 9;
      client.send(record);
    }, /version 9/],
    ['oversize params', (client) => {
      client.begin(1);
      for (let i = 0; i < 3; i++) client.send(encodeRecord(RecordType.Params, 1, Buffer.alloc(60000, 65)));
    }, /more than 100000 bytes of PARAMS/],
    ['malformed name-value pairs', (client) => {
      client.begin(1);
      client.send(encodeRecord(RecordType.Params, 1, Buffer.from([40, 1, 65])));
      client.send(encodeRecord(RecordType.Params, 1));
    }, /overruns/],
    ['a duplicate BEGIN_REQUEST', (client) => {
      client.begin(1);
      client.begin(1);
    }, /still in flight/],
    ['STDIN before the params ended', (client) => {
      client.begin(1);
      client.send(encodeRecord(RecordType.Stdin, 1, Buffer.from('x')));
    }, /before its params ended/],
    ['a record only applications send', (client) => {
      client.send(encodeRecord(RecordType.Stdout, 1, Buffer.from('x')));
    }, /only travels from application/],
  ];
  for (const [name, send, reason] of badInputs) {
    it(`closes the connection on ${name}, logs why, and other connections carry on`, async () => {
      const { server, logs } = await serve(echoEnviron, { maxParamsBytes: 100_000 });
      const good = await connect(server);
      good.begin(1);
      const bad = await connect(server);
      send(bad);
      await bad.closed;
      assert.ok(logs.some((line) => reason.test(line)), `log lines: ${logs.join(' | ')}`);
      good.params(1, cgiParams('GET', '/still'));
      good.stdin(1, Buffer.alloc(0));
      assert.equal(parseCgiResponse((await good.response(1)).stdout).status, 200);
    });
  }

  it('stops the work of a request whose connection ends mid-record', async () => {
    let closed = false;
    const { server, logs } = await serve(async (environ, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return {
        async *[Symbol.asyncIterator]() {
          for await (const chunk of environ['tsgi.input']) yield chunk;
        },
        close() {
          closed = true;
        },
      };
    });
    const client = await connect(server);
    client.request(1, cgiParams('POST', '/'), { body: Buffer.from('part'), endStdin: false });
    await client.until(() => client.records.find((r) => r.type === RecordType.Stdout), 'the first STDOUT');
    client.send(encodeRecord(RecordType.Stdin, 1, Buffer.from('abcdef')).subarray(0, 10));
    client.socket.end();
    await waitFor(() => closed, 'the body to be closed');
    assert.ok(logs.some((line) => /middle of a record/.test(line)));
  });

  it('gives up a request whose params never end, after the input timeout', async () => {
    const { server, logs } = await serve(echoEnviron, { inputTimeout: 100 });
    const client = await connect(server);
    client.begin(1);
    client.send(encodeRecord(RecordType.Params, 1, encodeParams([['A', 'b']])));
    const response = await client.response(1);
    assert.equal(response.stdout.length, 0);
    assert.ok(logs.some((line) => /params did not arrive within 100 ms/.test(line)));
  });

  it('fails the input of a request whose STDIN stalls with a 408', async () => {
    const { server } = await serve(hashBody, { inputTimeout: 100 });
    const client = await connect(server);
    client.request(1, cgiParams('POST', '/'), { body: Buffer.from('abc'), endStdin: false });
    assert.equal(parseCgiResponse((await client.response(1)).stdout).status, 408);
  });

  it('drains unread STDIN after the response so the peer is not reset', async () => {
    const { server } = await serve((_environ, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return ['ignored your body'];
    });
    const client = await connect(server);
    const body = Buffer.alloc(2 * 1024 * 1024, 1);
    client.request(1, cgiParams('POST', '/', { CONTENT_LENGTH: String(body.length) }), { body, keepConn: false });
    const response = await client.response(1);
    assert.equal(parseCgiResponse(response.stdout).body.toString(), 'ignored your body');
    let reset = false;
    client.socket.on('error', (error: NodeJS.ErrnoException) => (reset = error.code === 'ECONNRESET'));
    client.socket.end();
    await client.closed;
    assert.equal(reset, false);
  });
});

describe('FastCGI abort and flow control', () => {
  it('ABORT_REQUEST tells the application the client left and closes its body', async () => {
    let closed = false;
    let sawGoneInput: unknown;
    const { server } = await serve(async (environ, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return {
        async *[Symbol.asyncIterator]() {
          yield 'first';
          try {
            for await (const chunk of environ['tsgi.input']) void chunk;
          } catch (error) {
            sawGoneInput = error;
            // Still busy when the abort arrives: the engine must stop waiting for it.
            await sleep(10_000, undefined, { ref: false });
          }
        },
        close() {
          closed = true;
        },
      };
    });
    const client = await connect(server);
    client.request(1, cgiParams('POST', '/'), { body: Buffer.from('x'), endStdin: false });
    await client.until(() => client.records.find((r) => r.type === RecordType.Stdout), 'the first STDOUT');
    client.send(encodeRecord(RecordType.AbortRequest, 1));
    const response = await client.response(1);
    assert.equal(response.protocolStatus, ProtocolStatus.RequestComplete);
    await waitFor(() => closed, 'the body to be closed');
    assert.match(String(sawGoneInput), /aborted request 1/);
    // The connection (KEEP_CONN) still serves the next request with the same id.
    client.forget(1);
    client.request(1, cgiParams('GET', '/'));
    assert.equal(parseCgiResponse((await client.response(1)).stdout).body.toString(), 'first');
  });

  it('cuts the connection when the response fails after its headers went out', async () => {
    const { server, logs } = await serve((_environ, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return (async function* () {
        yield 'partial';
        throw new Error('broke midway');
      })();
    });
    const client = await connect(server);
    client.request(1, cgiParams('GET', '/'));
    await client.closed;
    assert.equal(client.records.some((r) => r.type === RecordType.EndRequest), false);
    assert.ok(logs.some((line) => /failed after its headers/.test(line)));
  });

  it('stops reading from the web server while the application does not read its body', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let received = 0;
    const { server } = await serve(async (environ, start) => {
      await gate;
      for await (const chunk of environ['tsgi.input']) received += chunk.length;
      start('200 OK', [['Content-Type', 'text/plain']]);
      return [String(received)];
    });
    const client = await connect(server);
    const body = Buffer.alloc(32 * 1024 * 1024, 2);
    client.request(1, cgiParams('POST', '/', { CONTENT_LENGTH: String(body.length) }), { body });
    await sleep(300);
    // The kernel buffers some of it; 32 MB cannot all be queued on the client side if the server stopped reading.
    assert.ok(client.socket.writableLength > 16 * 1024 * 1024, `client still has ${client.socket.writableLength} bytes to send`);
    release();
    assert.equal(parseCgiResponse((await client.response(1)).stdout).body.toString(), String(body.length));
  });

  it('waits for the web server to read before producing more (response backpressure)', async () => {
    let produced = 0;
    const { server } = await serve((_environ, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return (async function* () {
        for (let i = 0; i < 2000; i++) {
          produced++;
          yield Buffer.alloc(64 * 1024);
        }
      })();
    });
    const client = await connect(server);
    client.socket.pause();
    client.request(1, cgiParams('GET', '/'));
    await sleep(300);
    assert.ok(produced < 500, `produced ${produced} chunks of 64 KiB with nobody reading`);
    client.socket.resume();
    const response = await client.response(1);
    assert.equal(parseCgiResponse(response.stdout).body.length, 2000 * 64 * 1024);
  });

  it('leaks nothing over 10,000 aborted requests', async () => {
    const { server } = await serve(async (environ, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return (async function* () {
        yield 'x';
        for await (const chunk of environ['tsgi.input']) yield chunk;
      })();
    });
    const client = await connect(server);
    const handles = () => (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
    const round = async (from: number, count: number) => {
      for (let i = 0; i < count; i++) {
        const id = from + i;
        client.request(id, cgiParams('POST', '/'), { body: Buffer.from('data'), endStdin: false });
        client.send(encodeRecord(RecordType.AbortRequest, id));
      }
      await client.until(() => (client.records.filter((r) => r.type === RecordType.EndRequest).length >= count ? true : undefined), 'every END_REQUEST');
      client.records.length = 0;
    };
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    await round(1, 1000); // warm up
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const handlesBefore = handles();
    for (let batch = 0; batch < 10; batch++) await round(1001 + batch * 1000, 1000);
    await sleep(50);
    gc();
    const growth = process.memoryUsage().heapUsed - heapBefore;
    assert.equal(handles(), handlesBefore);
    assert.ok(growth < 4 * 1024 * 1024, `heap grew by ${growth} bytes`);
  });
});

describe('FastCGI responder: idle connections', () => {
  /** Resolves with how long after the call the connection closed, or rejects past `limitMs`. */
  async function closesWithin(client: FcgiTestClient, limitMs: number): Promise<number> {
    const started = Date.now();
    await Promise.race([client.closed, sleep(limitMs).then(() => Promise.reject(new Error(`still open after ${limitMs} ms`)))]);
    return Date.now() - started;
  }

  it('closes a connection that sends nothing, after idleTimeout', async () => {
    const { server, logs } = await serve(echoEnviron, { idleTimeout: 200 });
    const client = await connect(server);
    const took = await closesWithin(client, 3000);
    assert.ok(took >= 150, `closed after ${took} ms`);
    assert.ok(logs.some((line) => /no BEGIN_REQUEST for 200 ms/.test(line)), logs.join(' | '));
  });

  it('closes a connection that sends only management records, which are no request', async () => {
    const { server } = await serve(echoEnviron, { idleTimeout: 300 });
    const client = await connect(server);
    const ticker = setInterval(() => client.send(encodeRecord(RecordType.GetValues, 0, encodeParams([['FCGI_MAX_CONNS', '']]))), 50);
    try {
      await closesWithin(client, 3000);
    } finally {
      clearInterval(ticker);
    }
  });

  it('closes a KEEP_CONN connection idle after its last request, and never one with a request in flight', async () => {
    const { server } = await serve(async (environ, start) => {
      await sleep(Number(environ.QUERY_STRING));
      start('200 OK', [['Content-Type', 'text/plain']]);
      return ['done'];
    }, { idleTimeout: 200 });
    const client = await connect(server);
    // In flight for twice the idle timeout: the connection is not idle.
    client.request(1, cgiParams('GET', '/', { QUERY_STRING: '400' }));
    assert.equal(parseCgiResponse((await client.response(1)).stdout).body.toString(), 'done');
    client.forget(1);
    assert.equal(client.isClosed, false);
    const took = await closesWithin(client, 3000);
    assert.ok(took >= 150, `closed ${took} ms after the request`);
  });

  it('keeps an idle connection open with idleTimeout 0', async () => {
    const { server } = await serve(echoEnviron, { idleTimeout: 0 });
    const client = await connect(server);
    await sleep(300);
    assert.equal(client.isClosed, false);
    client.request(1, cgiParams('GET', '/late'));
    assert.equal(parseCgiResponse((await client.response(1)).stdout).status, 200);
  });
});
