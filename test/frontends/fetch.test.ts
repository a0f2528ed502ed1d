import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { fromFetchHandler, toFetchHandler } from '../../src/frontends/fetch.js';
import { validator, type ValidatedApplication } from '../../src/validate.js';
import { readBody, setupTestingDefaults } from '../../src/util.js';
import type { Application, Body, Chunk, Environ } from '../../src/types.js';
import { collectingErrors } from '../helpers/recording-target.js';
import { settle, streamOf } from '../helpers/fetch-streams.js';

const validated: ValidatedApplication[] = [];
/** Runs `app` through the validator, so each test also checks both sides of the TSGI contract. */
function checked(app: Application): ValidatedApplication {
  const wrapped = validator(app);
  validated.push(wrapped);
  return wrapped;
}
after(() => {
  for (const app of validated) app.assertClean();
});

const plainEnviron = (environ: Environ): Record<string, string> =>
  Object.fromEntries(Object.entries(environ).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));

const echoEnviron: Application = (environ, start) => {
  start('200 OK', [['Content-Type', 'application/json']]);
  return [JSON.stringify(plainEnviron(environ))];
};

describe('toFetchHandler: the environ', () => {
  it('fills in the CGI variables from the Request', async () => {
    const handler = toFetchHandler(checked(echoEnviron), { errors: collectingErrors() });
    const response = await handler(
      new Request('https://example.test:8443/caf%C3%A9/a%20b?x=%41&y=1', {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'x-thing': 'yes', proxy: 'http://evil', cookie: 'a=1' },
        body: 'hello',
      }),
      { remoteAddress: '203.0.113.9', remotePort: 5555 },
    );
    assert.equal(response.status, 200);
    const env = (await response.json()) as Record<string, string>;
    assert.equal(env.REQUEST_METHOD, 'POST');
    assert.equal(env.SCRIPT_NAME, '');
    assert.equal(env.PATH_INFO, '/café/a b');
    assert.equal(env.QUERY_STRING, 'x=%41&y=1');
    assert.equal(env.REQUEST_URI, '/caf%C3%A9/a%20b?x=%41&y=1');
    assert.equal(env.SERVER_NAME, 'example.test');
    assert.equal(env.SERVER_PORT, '8443');
    assert.equal(env.HTTPS, 'on');
    assert.equal(env['tsgi.url_scheme'], 'https');
    assert.equal(env.HTTP_HOST, 'example.test:8443');
    assert.equal(env.HTTP_X_THING, 'yes');
    assert.equal(env.HTTP_COOKIE, 'a=1');
    assert.equal(env.HTTP_PROXY, undefined, 'httpoxy: Proxy must not become HTTP_PROXY');
    assert.equal(env.CONTENT_TYPE, 'text/plain');
    assert.equal(env.REMOTE_ADDR, '203.0.113.9');
    assert.equal(env.REMOTE_PORT, '5555');
  });

  it("takes the client address from Deno's handler info", async () => {
    const response = await toFetchHandler(checked(echoEnviron))(new Request('http://h/'), { remoteAddr: { hostname: '::1', port: 9 } });
    const env = (await response.json()) as Record<string, string>;
    assert.equal(env.REMOTE_ADDR, '::1');
    assert.equal(env.REMOTE_PORT, '9');
    assert.equal(env.SERVER_PORT, '80');
    assert.equal(env.HTTPS, undefined);
  });

  it('answers 400 for a path that is not UTF-8 once decoded', async () => {
    const response = await toFetchHandler(checked(echoEnviron))(new Request('http://h/%FF'));
    assert.equal(response.status, 400);
    assert.match(await response.text(), /not valid UTF-8/);
  });
});

describe('toFetchHandler: bodies', () => {
  it('streams the request body to the app as it arrives', async () => {
    const seen: string[] = [];
    let sendSecond!: () => void;
    const second = new Promise<void>((resolve) => (sendSecond = resolve));
    const app: Application = async (environ, start) => {
      for await (const chunk of environ['tsgi.input']) {
        seen.push(Buffer.from(chunk).toString());
        // The second chunk is only produced once the app has the first: proof that nothing is buffered whole.
        if (seen.length === 1) sendSecond();
      }
      start('200 OK', [['Content-Type', 'text/plain']]);
      return [seen.join('|')];
    };
    const body = streamOf(async function* () {
      yield 'first';
      await second;
      yield 'second';
    });
    const response = await toFetchHandler(checked(app))(new Request('http://h/', { method: 'PUT', body, duplex: 'half' } as RequestInit));
    assert.equal(await response.text(), 'first|second');
  });

  it('refuses a request body longer than its Content-Length', async () => {
    const app: Application = async (environ, start) => {
      const body = await readBody(environ);
      start('200 OK', [['Content-Type', 'text/plain']]);
      return [body];
    };
    const response = await toFetchHandler(checked(app), { errors: collectingErrors() })(
      new Request('http://h/', { method: 'POST', headers: { 'content-length': '2' }, body: 'abcdef' }),
    );
    assert.equal(response.status, 400);
    assert.match(await response.text(), /longer than its Content-Length of 2/);
  });

  it('streams the response body and holds the app back while the reader is slow', async () => {
    let produced = 0;
    const app: Application = (_environ, start) => {
      start('200 OK', [['Content-Type', 'application/octet-stream']]);
      return (async function* () {
        for (let i = 0; i < 100; i++) {
          produced++;
          yield new Uint8Array(1024).fill(i);
        }
      })();
    };
    const response = await toFetchHandler(checked(app), { highWaterMark: 4096 })(new Request('http://h/'));
    await settle();
    assert.ok(produced < 10, `the app ran ${produced} chunks ahead of a reader that read nothing`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    assert.equal(produced, 100);
    assert.equal(bytes.length, 100 * 1024);
    assert.equal(bytes[99 * 1024], 99);
  });

  it('closes the app body when the reader cancels the stream', async () => {
    let closed = 0;
    const app: Application = (_environ, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      const body: Body = {
        async *[Symbol.asyncIterator]() {
          for (;;) yield 'tick';
        },
        close: () => void closed++,
      };
      return body;
    };
    const response = await toFetchHandler(checked(app))(new Request('http://h/'));
    const reader = response.body!.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), 'tick');
    await reader.cancel();
    await settle(() => closed > 0);
    assert.equal(closed, 1);
  });

  it('stops the app when the request is aborted', async () => {
    let closed = 0;
    const aborter = new AbortController();
    const app: Application = (_environ, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return {
        async *[Symbol.asyncIterator]() {
          yield 'one';
          await new Promise(() => {});
        },
        close: () => void closed++,
      };
    };
    const response = await toFetchHandler(checked(app))(new Request('http://h/', { signal: aborter.signal }));
    const reader = response.body!.getReader();
    await reader.read();
    aborter.abort();
    await settle(() => closed > 0);
    assert.equal(closed, 1);
  });

  it('gives HEAD and 204 responses a null body but keeps their headers', async () => {
    const app: Application = (environ, start) => {
      if (environ.PATH_INFO === '/none') {
        start('204 No Content', [['X-Done', 'yes']]);
        return [];
      }
      start('200 OK', [['Content-Type', 'text/plain']]);
      return ['twelve bytes'];
    };
    const handler = toFetchHandler(checked(app));
    const head = await handler(new Request('http://h/', { method: 'HEAD' }));
    assert.equal(head.body, null);
    assert.equal(head.headers.get('content-length'), '12');
    const none = await handler(new Request('http://h/none'));
    assert.equal(none.status, 204);
    assert.equal(none.body, null);
    assert.equal(none.headers.get('x-done'), 'yes');
  });

  it('keeps the reason phrase and repeated headers', async () => {
    const app: Application = (_environ, start) => {
      start('201 Made It', [['Content-Type', 'text/plain'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['Location', '/x']]);
      return ['ok'];
    };
    const response = await toFetchHandler(checked(app))(new Request('http://h/'));
    assert.equal(response.status, 201);
    assert.equal(response.statusText, 'Made It');
    assert.deepEqual(response.headers.getSetCookie(), ['a=1', 'b=2']);
  });
});

describe('toFetchHandler: errors', () => {
  it('answers 500 when the app fails before its headers', async () => {
    const errors = collectingErrors();
    const app: Application = () => {
      throw new Error('boom');
    };
    const response = await toFetchHandler(checked(app), { errors })(new Request('http://h/'));
    assert.equal(response.status, 500);
    assert.match(errors.text(), /boom/);
  });

  it('errors the body stream when the app fails after its headers', async () => {
    const app: Application = (_environ, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return (async function* () {
        yield 'partial';
        throw new Error('late failure');
      })();
    };
    const response = await toFetchHandler(checked(app), { errors: collectingErrors() })(new Request('http://h/'));
    assert.equal(response.status, 200);
    await assert.rejects(response.text(), /late failure/);
  });

  it('answers 500 for an interim status, which no response can end with (an app breaking the contract, so unchecked)', async () => {
    const errors = collectingErrors();
    const app: Application = (_environ, start) => {
      start('103 Early Hints', []);
      return ['x'];
    };
    const response = await toFetchHandler(app, { errors })(new Request('http://h/'));
    assert.equal(response.status, 500);
    assert.match(errors.text(), /status 103 cannot end a response/);
  });
});

function environFor(partial: Partial<Environ>, body?: Chunk[]): Environ {
  const environ = setupTestingDefaults(partial);
  if (body) {
    environ['tsgi.input'] = (async function* () {
      for (const chunk of body) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    })();
  }
  return environ;
}

/** Runs an app the way a server would and collects what it sent. */
async function call(app: Application, environ: Environ): Promise<{ status: string; headers: [string, string][]; body: string; close?: () => void }> {
  let status = '';
  let headers: [string, string][] = [];
  const result = await app(environ, (s, h) => {
    status = s;
    headers = h;
    return () => {};
  });
  const parts: string[] = [];
  for await (const chunk of result as AsyncIterable<Chunk>) parts.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
  await result.close?.();
  return { status, headers, body: parts.join('') };
}

describe('fromFetchHandler', () => {
  it('builds the Request from the environ, relative to the mount point', async () => {
    let seen: Request | undefined;
    let seenEnviron: Environ | undefined;
    const app = fromFetchHandler(async (request, environ) => {
      seen = request;
      seenEnviron = environ;
      return new Response(`${request.method} ${await request.text()}`);
    });
    const environ = environFor(
      {
        REQUEST_METHOD: 'POST', SCRIPT_NAME: '/cgi-bin/app.js', PATH_INFO: '/a b/ü', QUERY_STRING: 'q=%20x',
        HTTP_HOST: 'site.test:8080', HTTP_X_ONE: '1', CONTENT_TYPE: 'text/plain', CONTENT_LENGTH: '9',
      },
      ['some ', 'body'],
    );
    const result = await call(app, environ);
    assert.equal(result.status, '200 OK');
    assert.equal(result.body, 'POST some body');
    assert.equal(seen!.url, 'http://site.test:8080/a%20b/%C3%BC?q=%20x');
    assert.equal(seen!.headers.get('x-one'), '1');
    assert.equal(seen!.headers.get('content-type'), 'text/plain');
    assert.equal(seenEnviron, environ, 'the environ comes second, as Hono expects its env');
  });

  it('keeps SCRIPT_NAME in the URL when asked', async () => {
    let url = '';
    const app = fromFetchHandler((request) => {
      url = request.url;
      return new Response('');
    }, { keepScriptName: true });
    await call(app, environFor({ SCRIPT_NAME: '/app', PATH_INFO: '/x', HTTP_HOST: 'h' }));
    assert.equal(url, 'http://h/app/x');
  });

  it('leaves Locations alone when the handler sees full paths or is told not to rewrite', async () => {
    const redirect = () => new Response(null, { status: 302, headers: { location: '/x' } });
    const environ = () => environFor({ SCRIPT_NAME: '/app', PATH_INFO: '/', HTTP_HOST: 'h' });
    const location = (result: { headers: [string, string][] }) => result.headers.find(([name]) => name === 'location')?.[1];
    assert.equal(location(await call(fromFetchHandler(redirect), environ())), '/app/x');
    assert.equal(location(await call(fromFetchHandler(redirect, { keepScriptName: true }), environ())), '/x');
    assert.equal(location(await call(fromFetchHandler(redirect, { rewriteLocation: false }), environ())), '/x');
  });

  it('passes status, reason, repeated Set-Cookie and drops framing headers', async () => {
    const app = fromFetchHandler(() => {
      const headers = new Headers([['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['transfer-encoding', 'chunked'], ['x-a', 'b']]);
      return new Response('made', { status: 201, statusText: 'Created Here', headers });
    });
    const result = await call(app, environFor({}));
    assert.equal(result.status, '201 Created Here');
    assert.deepEqual(result.headers.filter(([name]) => name === 'set-cookie'), [['set-cookie', 'a=1'], ['set-cookie', 'b=2']]);
    assert.ok(!result.headers.some(([name]) => name === 'transfer-encoding'));
    assert.deepEqual(result.headers.find(([name]) => name === 'x-a'), ['x-a', 'b']);
  });

  it('fills in a missing reason phrase', async () => {
    const result = await call(fromFetchHandler(() => new Response(null, { status: 404 })), environFor({}));
    assert.equal(result.status, '404 Not Found');
  });

  it('streams the response body and cancels it when the server closes early', async () => {
    let cancelled = false;
    const app = fromFetchHandler(() => {
      return new Response(new ReadableStream({
        pull(controller) {
          controller.enqueue(new TextEncoder().encode('more'));
        },
        cancel() {
          cancelled = true;
        },
      }));
    });
    let write: unknown;
    const body = await app(environFor({}), () => (write = () => {}));
    assert.ok(write);
    const iterator = (body as AsyncIterable<Chunk>)[Symbol.asyncIterator]();
    assert.equal(Buffer.from((await iterator.next()).value as Uint8Array).toString(), 'more');
    await body.close?.();
    assert.equal(cancelled, true);
  });

  it("delivers each chunk of the handler's stream as it comes", async () => {
    let clientGotFirst!: () => void;
    const gotFirst = new Promise<void>((resolve) => (clientGotFirst = resolve));
    const app = fromFetchHandler(() => new Response(streamOf(async function* () {
      yield 'first';
      await gotFirst;
      yield 'second';
    }), { headers: { 'content-type': 'text/plain' } }));
    const response = await toFetchHandler(checked(app))(new Request('http://h/'));
    const reader = response.body!.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), 'first');
    clientGotFirst();
    assert.equal(new TextDecoder().decode((await reader.read()).value), 'second');
    assert.equal((await reader.read()).done, true);
  });

  it('refuses a handler that returns something other than a Response', async () => {
    const app = fromFetchHandler((() => 'text') as unknown as () => Response);
    await assert.rejects(call(app, environFor({})), /must return a Response/);
  });

  it('answers 405 for methods the Fetch API forbids', async () => {
    const app = fromFetchHandler(() => new Response('never'));
    await assert.rejects(call(app, environFor({ REQUEST_METHOD: 'TRACE' })), (error: Error & { status?: number }) => error.status === 405);
  });
});
