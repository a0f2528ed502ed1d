import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import express from 'express';
import { fromNodeListener, toFetchHandler, type TsgiIncomingMessage } from '../../src/frontends/fetch.js';
import type { Chunk } from '../../src/types.js';
import { validator, type ValidatedApplication } from '../../src/validate.js';
import { collectingErrors } from '../helpers/recording-target.js';
import { settle, streamOf } from '../helpers/fetch-streams.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => unknown;

const validated: ValidatedApplication[] = [];
after(() => {
  for (const app of validated) app.assertClean();
});

/** Serves a listener through the TSGI adapter (checked by the validator) and answers one Request with it. */
function through(listener: Listener, request: Request, info = { remoteAddress: '198.51.100.7', remotePort: 4000 }): Promise<Response> {
  const app = validator(fromNodeListener(listener));
  validated.push(app);
  return toFetchHandler(app, { errors: collectingErrors() })(request, info);
}

describe('fromNodeListener: the request', () => {
  it('gives the listener a real IncomingMessage with method, url, headers, socket and environ', async () => {
    let seen: Record<string, unknown> = {};
    const response = await through((req, res) => {
      seen = {
        method: req.method, url: req.url, httpVersion: req.httpVersion, host: req.headers.host, custom: req.headers['x-custom'],
        remoteAddress: req.socket.remoteAddress, remotePort: req.socket.remotePort,
        pathInfo: (req as TsgiIncomingMessage).environ.PATH_INFO,
      };
      res.setHeader('Content-Type', 'text/plain');
      res.end('ok');
    }, new Request('http://site.test:8080/a%20b/c?x=1&y=%20', { headers: { 'x-custom': 'v' } }));
    assert.equal(await response.text(), 'ok');
    assert.deepEqual(seen, {
      method: 'GET', url: '/a%20b/c?x=1&y=%20', httpVersion: '1.1', host: 'site.test:8080', custom: 'v',
      remoteAddress: '198.51.100.7', remotePort: 4000, pathInfo: '/a b/c',
    });
  });

  it('streams the request body to the listener with backpressure', async () => {
    let sendMore!: () => void;
    const more = new Promise<void>((resolve) => (sendMore = resolve));
    const response = await through((req, res) => {
      const parts: string[] = [];
      req.on('data', (chunk: Buffer) => {
        parts.push(chunk.toString());
        sendMore();
      });
      req.on('end', () => res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`${req.headers['transfer-encoding']} ${parts.join('|')}`));
    }, new Request('http://h/up', { method: 'POST', body: streamOf(async function* () {
      yield 'one';
      await more;
      yield 'two';
    }), duplex: 'half' } as RequestInit));
    assert.equal(await response.text(), 'chunked one|two');
  });

  it('tells the listener when the request body fails', async () => {
    let failure = '';
    const response = await through((req, res) => {
      req.on('error', (error) => {
        failure = error.message;
        res.statusCode = 400;
        res.setHeader('Content-Type', 'text/plain');
        res.end('bad body');
      });
      req.resume();
    }, new Request('http://h/', { method: 'POST', headers: { 'content-length': '1' }, body: 'too long' }));
    assert.equal(response.status, 400);
    assert.match(failure, /longer than its Content-Length/);
  });
});

describe('fromNodeListener: the response', () => {
  it('passes status, reason and headers, with Content-Length from res.end(data)', async () => {
    const response = await through((_req, res) => {
      res.statusCode = 201;
      res.statusMessage = 'Made';
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.setHeader('Content-Type', 'text/plain');
      res.end('created');
    }, new Request('http://h/'));
    assert.equal(response.status, 201);
    assert.equal(response.statusText, 'Made');
    assert.equal(response.headers.get('content-length'), '7');
    assert.deepEqual(response.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.equal(response.headers.get('connection'), null);
    assert.equal(response.headers.get('date'), null, 'the front end dates the response, not the adapter');
    assert.equal(await response.text(), 'created');
  });

  it('removes the chunk framing of a streamed response, including one the listener asked for', async () => {
    const response = await through((_req, res) => {
      res.writeHead(200, { 'Transfer-Encoding': 'chunked', 'Content-Type': 'text/plain' });
      res.write('alpha ');
      setImmediate(() => {
        res.write(Buffer.from('beta '));
        res.end('gamma');
      });
    }, new Request('http://h/'));
    assert.equal(response.headers.get('transfer-encoding'), null);
    assert.equal(await response.text(), 'alpha beta gamma');
  });

  it('delivers each write as it happens (a first event reaches the client before the listener goes on)', async () => {
    let clientGotFirst!: () => void;
    const gotFirst = new Promise<void>((resolve) => (clientGotFirst = resolve));
    const response = await through((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write('data: first\n\n');
      void gotFirst.then(() => res.end('data: second\n\n'));
    }, new Request('http://h/events'));
    const reader = response.body!.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), 'data: first\n\n');
    clientGotFirst();
    assert.equal(new TextDecoder().decode((await reader.read()).value), 'data: second\n\n');
    assert.equal((await reader.read()).done, true);
  });

  it('skips interim 100 Continue and sends no body for HEAD', async () => {
    const response = await through((_req, res) => {
      res.writeContinue();
      res.setHeader('Content-Length', '5');
      res.end('hello');
    }, new Request('http://h/', { method: 'HEAD' }));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-length'), '5');
    assert.equal(response.body, null);
  });

  it('does not claim Content-Length: 0 for HEAD when the listener wrote a body it left unmeasured', async () => {
    // node:http writes no body for HEAD, so the stream the engine sees is empty; 0 would contradict GET's 5.
    const response = await through((_req, res) => {
      res.end('hello');
    }, new Request('http://h/', { method: 'HEAD' }));
    assert.equal(response.status, 200);
    assert.notEqual(response.headers.get('content-length'), '0');
    assert.equal(response.body, null);
  });

  it('holds the listener back when the client reads slowly (res.write returns false, then drain)', async () => {
    let writes = 0;
    let refused = 0;
    const response = await through((_req, res) => {
      const block = Buffer.alloc(16 * 1024, 7);
      res.setHeader('Content-Type', 'application/octet-stream');
      const pump = (): void => {
        while (writes < 64) {
          writes++;
          if (!res.write(block)) {
            refused++;
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    }, new Request('http://h/'));
    await settle();
    assert.ok(writes < 64, `the listener wrote all ${writes} blocks to a client that read nothing`);
    const bytes = await response.arrayBuffer();
    assert.equal(bytes.byteLength, 64 * 16 * 1024);
    assert.ok(refused > 0);
  });

  it('carries a piped stream whole, through every drain', async () => {
    const blocks = 40;
    const response = await through((_req, res) => {
      res.setHeader('Content-Type', 'application/octet-stream');
      let sent = 0;
      Readable.from((function* () {
        while (sent < blocks) yield Buffer.alloc(64 * 1024, sent++ % 251);
      })(), { objectMode: false }).pipe(res);
    }, new Request('http://h/'));
    const received = Buffer.from(await response.arrayBuffer());
    const expected = createHash('sha256');
    for (let i = 0; i < blocks; i++) expected.update(Buffer.alloc(64 * 1024, i % 251));
    assert.equal(received.length, blocks * 64 * 1024);
    assert.equal(createHash('sha256').update(received).digest('hex'), expected.digest('hex'));
  });

  it("tells the listener its client went away: res 'close' before 'finish', req aborted", async () => {
    const events: string[] = [];
    const response = await through((req, res) => {
      req.on('aborted', () => events.push('req aborted'));
      res.on('close', () => events.push(`res close, finished=${res.writableFinished}`));
      res.setHeader('Content-Type', 'text/plain');
      res.write('first');
    }, new Request('http://h/', { method: 'POST', body: streamOf(async function* () {
      yield 'x';
      await new Promise(() => {});
    }), duplex: 'half' } as RequestInit));
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    await settle(() => events.length === 2);
    assert.deepEqual(events.sort(), ['req aborted', 'res close, finished=false']);
  });
});

describe('fromNodeListener: failures', () => {
  it('answers 500 when the listener throws', async () => {
    const response = await through(() => {
      throw new Error('sync boom');
    }, new Request('http://h/'));
    assert.equal(response.status, 500);
  });

  it('answers 500 when an async listener rejects before answering', async () => {
    const response = await through(async () => {
      await Promise.resolve();
      throw new Error('async boom');
    }, new Request('http://h/'));
    assert.equal(response.status, 500);
  });

  it('answers 500 when the listener destroys the response without answering', async () => {
    const response = await through((_req, res) => {
      res.destroy();
    }, new Request('http://h/'));
    assert.equal(response.status, 500);
  });

  it('cuts the body short when the listener destroys the response half way', async () => {
    const response = await through((_req, res) => {
      res.setHeader('Content-Type', 'text/plain');
      res.write('partial');
      setImmediate(() => res.destroy(new Error('gave up')));
    }, new Request('http://h/'));
    assert.equal(response.status, 200);
    await assert.rejects(response.text());
  });
});

describe('fromNodeListener with Express', () => {
  const app = express();
  app.use(express.json());
  app.get('/hello/:name', (req, res) => {
    res.json({ name: req.params.name, ip: req.ip, protocol: req.protocol, query: req.query, originalUrl: req.originalUrl });
  });
  app.post('/echo', (req, res) => {
    res.json({ received: req.body as unknown });
  });
  app.get('/fail', () => {
    throw new Error('route failed');
  });
  app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).type('text/plain').send(`handled: ${error.message}`);
  });

  it('routes, parses params and query, and sees the client address', async () => {
    const response = await through(app, new Request('https://h/hello/ada?lang=en'));
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { name: 'ada', ip: '198.51.100.7', protocol: 'https', query: { lang: 'en' }, originalUrl: '/hello/ada?lang=en' });
  });

  it('parses a JSON body', async () => {
    const response = await through(app, new Request('http://h/echo', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: [1, 2, 3] }),
    }));
    assert.deepEqual(await response.json(), { received: { a: [1, 2, 3] } });
  });

  it("answers Express's own 404 and runs its error handlers", async () => {
    const missing = await through(app, new Request('http://h/nowhere'));
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /Cannot GET \/nowhere/);
    const failed = await through(app, new Request('http://h/fail'));
    assert.equal(failed.status, 500);
    assert.equal(await failed.text(), 'handled: route failed');
  });
});

describe('fromNodeListener as a plain app', () => {
  it('returns an async-iterable body with close()', async () => {
    const app = fromNodeListener((_req, res) => res.end('done'));
    const { setupTestingDefaults } = await import('../../src/util.js');
    let status = '';
    const body = await app(setupTestingDefaults(), (s) => {
      status = s;
      return () => {};
    });
    const parts: Chunk[] = [];
    for await (const chunk of body as AsyncIterable<Chunk>) parts.push(chunk);
    await body.close?.();
    assert.equal(status, '200 OK');
    assert.equal(Buffer.concat(parts.map((p) => Buffer.from(p))).toString(), 'done');
  });
});
