import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FieldStorage } from '../../src/form/index.js';
import { HttpError } from '../../src/handler.js';
import { request } from '../../src/testing/index.js';
import type { Application, Environ } from '../../src/types.js';
import { readBody } from '../../src/util.js';
import { ValidationError } from '../../src/validate.js';

/** Answers with the environ's CGI variables (and the URL scheme) as JSON. */
const echoEnviron: Application = (environ, start) => {
  const plain: Record<string, string> = {};
  for (const [key, value] of Object.entries(environ)) if (typeof value === 'string') plain[key] = value;
  plain['tsgi.url_scheme'] = environ['tsgi.url_scheme'];
  start('200 OK', [['Content-Type', 'application/json']]);
  return [JSON.stringify(plain)];
};

async function environOf(options: Parameters<typeof request>[1]): Promise<Record<string, string>> {
  const res = await request(echoEnviron, options as string);
  assert.equal(res.status, 200, res.text());
  return res.json<Record<string, string>>();
}

describe('request(): the environ', () => {
  it('has every CGI variable the HTTP front end sets, for a plain GET', async () => {
    const environ = await environOf('/');
    assert.deepEqual(environ, {
      REQUEST_METHOD: 'GET', SCRIPT_NAME: '', PATH_INFO: '/', QUERY_STRING: '', SERVER_NAME: 'localhost', SERVER_PORT: '80',
      SERVER_PROTOCOL: 'HTTP/1.1', SERVER_SOFTWARE: 'tsgi/0.1', GATEWAY_INTERFACE: 'CGI/1.1', REMOTE_ADDR: '127.0.0.1',
      REMOTE_PORT: '50000', REQUEST_URI: '/', HTTP_HOST: 'localhost', 'tsgi.url_scheme': 'http',
    });
  });

  it('gives the app the tsgi keys, a file wrapper included', async () => {
    let seen: Environ | undefined;
    const res = await request((environ, start) => {
      seen = environ;
      start('204 No Content', []);
      return [];
    });
    assert.equal(res.status, 204);
    assert.deepEqual(seen!['tsgi.version'], [1, 0]);
    assert.equal(seen!['tsgi.multithread'], false);
    assert.equal(seen!['tsgi.multiprocess'], false);
    assert.equal(seen!['tsgi.run_once'], false);
    assert.equal(typeof seen!['tsgi.file_wrapper'], 'function');
    assert.equal(res.environ, seen, 'the response carries the environ the app saw');
  });

  it('decodes PATH_INFO as UTF-8 and keeps the target as sent in REQUEST_URI', async () => {
    const environ = await environOf('/caf%C3%A9/a%2Fb');
    assert.equal(environ.PATH_INFO, '/café/a/b');
    assert.equal(environ.REQUEST_URI, '/caf%C3%A9/a%2Fb');
  });

  it('percent-encodes what a client would not send raw: spaces, non-ASCII, quotes', async () => {
    const environ = await environOf('/two words/é"?q=a b&r=ü');
    assert.equal(environ.REQUEST_URI, '/two%20words/%C3%A9%22?q=a%20b&r=%C3%BC');
    assert.equal(environ.PATH_INFO, '/two words/é"');
    assert.equal(environ.QUERY_STRING, 'q=a%20b&r=%C3%BC');
  });

  it('drops the fragment, as a client does', async () => {
    const environ = await environOf('/page?x=1#section');
    assert.equal(environ.REQUEST_URI, '/page?x=1');
  });

  it('answers 400 without calling the app when the path is not UTF-8', async () => {
    let called = false;
    const res = await request(() => {
      called = true;
      return [];
    }, '/%FF');
    assert.equal(res.status, 400);
    assert.match(res.text(), /not valid UTF-8/);
    assert.equal(called, false);
    assert.equal(res.environ, undefined);
  });

  it('splits the mount point into SCRIPT_NAME', async () => {
    const environ = await environOf({ path: '/books/book/x', scriptName: '/books' });
    assert.equal(environ.SCRIPT_NAME, '/books');
    assert.equal(environ.PATH_INFO, '/book/x');
    const top = await environOf({ path: '/books', scriptName: '/books/' });
    assert.equal(top.SCRIPT_NAME, '/books');
    assert.equal(top.PATH_INFO, '');
    await assert.rejects(request(echoEnviron, { path: '/other', scriptName: '/books' }), /not under the mount point "\/books"/);
  });

  it('takes scheme, host and port from baseUrl', async () => {
    const environ = await environOf({ baseUrl: 'https://example.test:8443' });
    assert.equal(environ.HTTPS, 'on');
    assert.equal(environ['tsgi.url_scheme'], 'https');
    assert.equal(environ.SERVER_NAME, 'example.test');
    assert.equal(environ.SERVER_PORT, '8443');
    assert.equal(environ.HTTP_HOST, 'example.test:8443');
    const v6 = await environOf({ baseUrl: 'http://[::1]' });
    assert.equal(v6.SERVER_NAME, '::1');
    assert.equal(v6.SERVER_PORT, '80');
    assert.equal(v6.HTTP_HOST, '[::1]');
  });

  it('sets protocol, client address and extra environ keys; undefined removes one', async () => {
    const environ = await environOf({ protocol: 'HTTP/1.0', remoteAddr: '::1', remotePort: 4242, environ: { REMOTE_USER: 'ada', REMOTE_PORT: undefined } });
    assert.equal(environ.SERVER_PROTOCOL, 'HTTP/1.0');
    assert.equal(environ.REMOTE_ADDR, '::1');
    assert.equal(environ.REMOTE_USER, 'ada');
    assert.equal('REMOTE_PORT' in environ, false);
  });
});

describe('request(): query merging', () => {
  it('appends query parameters to the query the path carries', async () => {
    const environ = await environOf({ path: '/search?q=first', query: { page: 2, tag: ['a b', 'ü'], exact: true } });
    assert.equal(environ.QUERY_STRING, 'q=first&page=2&tag=a+b&tag=%C3%BC&exact=true');
    assert.equal(environ.REQUEST_URI, '/search?q=first&page=2&tag=a+b&tag=%C3%BC&exact=true');
  });

  it('takes URLSearchParams and pairs, and keeps the path alone when there is no query', async () => {
    assert.equal((await environOf({ path: '/s', query: new URLSearchParams('a=1&a=2') })).QUERY_STRING, 'a=1&a=2');
    assert.equal((await environOf({ path: '/s', query: [['x', '&='], ['y', '']] })).QUERY_STRING, 'x=%26%3D&y=');
    assert.equal((await environOf({ path: '/s', query: {} })).REQUEST_URI, '/s');
    assert.equal((await environOf({ path: '/s?', query: {} })).REQUEST_URI, '/s?');
  });

  it('gives the merged query to FieldStorage as the app would read it', async () => {
    const res = await request(async (environ, start) => {
      const form = await FieldStorage.from(environ);
      start('200 OK', [['Content-Type', 'application/json']]);
      return [JSON.stringify(form.getList('n'))];
    }, { path: '/?n=1', query: { n: ['2', '3'] } });
    assert.deepEqual(res.json(), ['1', '2', '3']);
  });
});

describe('request(): headers', () => {
  it('joins repeated headers with ", " and cookies with "; ", as the HTTP front end does', async () => {
    const environ = await environOf({ headers: [['Accept', 'text/html'], ['accept', 'application/json'], ['Cookie', 'a=1'], ['Cookie', 'b=2']] });
    assert.equal(environ.HTTP_ACCEPT, 'text/html, application/json');
    assert.equal(environ.HTTP_COOKIE, 'a=1; b=2');
  });

  it('sends a list value once per value', async () => {
    const environ = await environOf({ headers: { 'X-Tag': ['one', 'two'], 'Accept-Language': 'fr' } });
    assert.equal(environ.HTTP_X_TAG, 'one, two');
    assert.equal(environ.HTTP_ACCEPT_LANGUAGE, 'fr');
  });

  it('takes a fetch Headers object', async () => {
    const environ = await environOf({ headers: new Headers({ 'X-Request-Id': 'abc' }) });
    assert.equal(environ.HTTP_X_REQUEST_ID, 'abc');
  });

  it('drops names with "_" (and logs it) and the Proxy header', async () => {
    const res = await request(echoEnviron, { headers: { X_Forwarded_For: '6.6.6.6', Proxy: 'http://evil', 'X-Forwarded-For': '1.2.3.4' } });
    const environ = res.json<Record<string, string>>();
    assert.equal(environ.HTTP_X_FORWARDED_FOR, '1.2.3.4');
    assert.equal('HTTP_PROXY' in environ, false);
    assert.match(res.errors, /dropped request header X_Forwarded_For/);
  });

  it('lets the caller replace Host, and refuses two of them as the front end does', async () => {
    assert.equal((await environOf({ headers: { host: 'other.test' } })).HTTP_HOST, 'other.test');
    const twice = await request(echoEnviron, { headers: [['Host', 'a'], ['Host', 'b']] });
    assert.equal(twice.status, 400);
    assert.match(twice.text(), /more than one Host/);
  });

  it('refuses two Content-Types, and a body framed both ways', async () => {
    const types = await request(echoEnviron, { body: 'x', headers: [['Content-Type', 'text/plain'], ['Content-Type', 'text/html']] });
    assert.equal(types.status, 400);
    const both = await request(echoEnviron, { body: 'x', headers: { 'Transfer-Encoding': 'chunked', 'Content-Length': '1' } });
    assert.equal(both.status, 400);
  });

  it('throws on a header a client could not send', async () => {
    await assert.rejects(request(echoEnviron, { headers: { 'X-A': 'line\r\nbreak' } }), TypeError);
    await assert.rejects(request(echoEnviron, { headers: { 'Bad Name': 'x' } }), TypeError);
    await assert.rejects(request(echoEnviron, { headers: { 'X-A': '€' } }), TypeError);
  });
});

describe('request(): bodies', () => {
  const echoBody: Application = async (environ, start) => {
    const body = await readBody(environ);
    start('200 OK', [['Content-Type', 'application/json']]);
    return [JSON.stringify({ type: environ.CONTENT_TYPE ?? null, length: environ.CONTENT_LENGTH ?? null, coding: environ.HTTP_TRANSFER_ENCODING ?? null, method: environ.REQUEST_METHOD, body: body.toString('utf8') })];
  };

  it('sends a string or bytes with its Content-Length, and POST by default', async () => {
    assert.deepEqual((await request(echoBody, { path: '/', body: 'héllo' })).json(), { type: null, length: '6', coding: null, method: 'POST', body: 'héllo' });
    assert.deepEqual((await request(echoBody, { method: 'PUT', body: Buffer.from('raw'), headers: { 'Content-Type': 'text/plain' } })).json(),
      { type: 'text/plain', length: '3', coding: null, method: 'PUT', body: 'raw' });
  });

  it('sends a form urlencoded and JSON as JSON', async () => {
    assert.deepEqual((await request(echoBody, { form: { name: 'Ada Lovelace', lang: ['en', 'fr'] } })).json(),
      { type: 'application/x-www-form-urlencoded', length: '33', coding: null, method: 'POST', body: 'name=Ada+Lovelace&lang=en&lang=fr' });
    assert.deepEqual((await request(echoBody, { json: { a: [1, 'é'] } })).json(),
      { type: 'application/json', length: '14', coding: null, method: 'POST', body: '{"a":[1,"é"]}' });
  });

  it('keeps a Content-Type the caller gave', async () => {
    const res = await request(echoBody, { form: { a: '1' }, headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } });
    assert.equal(res.json<{ type: string }>().type, 'application/x-www-form-urlencoded; charset=utf-8');
  });

  it('streams an async iterable to tsgi.input, chunked, pulled only as the app reads', async () => {
    const pulled: number[] = [];
    async function* source() {
      for (let i = 0; i < 3; i++) {
        pulled.push(i);
        yield `part${i};`;
      }
    }
    const seen: number[] = [];
    const res = await request(async (environ, start) => {
      assert.deepEqual(pulled, [], 'nothing is pulled before the app reads');
      for await (const chunk of environ['tsgi.input']) {
        assert.ok(chunk instanceof Uint8Array);
        seen.push(pulled.length);
      }
      start('200 OK', [['Content-Type', 'text/plain']]);
      return [environ.HTTP_TRANSFER_ENCODING ?? '-', ' ', environ.CONTENT_LENGTH ?? '-'];
    }, { path: '/upload', body: source() });
    assert.equal(res.text(), 'chunked -');
    assert.deepEqual(seen, [1, 2, 3], 'one chunk pulled per chunk read');
  });

  it('holds a streamed body to a Content-Length the caller gave, and throws when it ends short', async () => {
    const long = await request(echoBody, { body: ['abc', 'def'], headers: { 'Content-Length': '4' } });
    assert.equal(long.json<{ body: string }>().body, 'abcd');
    const short = await request(async (environ, start) => {
      try {
        await readBody(environ);
        start('200 OK', [['Content-Type', 'text/plain']]);
        return ['read it all'];
      } catch (error) {
        start('400 Bad Request', [['Content-Type', 'text/plain']]);
        return [(error as Error).message];
      }
    }, { body: ['ab'], headers: { 'Content-Length': '5' } });
    assert.equal(short.status, 400);
    assert.match(short.text(), /ended after 2 of its 5 bytes/);
  });

  it('hands a large body over in pieces, as reads from a socket do', async () => {
    const res = await request(async (environ, start) => {
      const sizes: number[] = [];
      for await (const chunk of environ['tsgi.input']) sizes.push(chunk.length);
      start('200 OK', [['Content-Type', 'application/json']]);
      return [JSON.stringify(sizes)];
    }, { body: new Uint8Array(150 * 1024) });
    assert.deepEqual(res.json(), [65536, 65536, 22528]);
  });

  it('refuses to mix body, form and json', async () => {
    await assert.rejects(request(echoBody, { body: 'x', form: { a: '1' } }), /one of body, form and json/);
    await assert.rejects(request(echoBody, { json: 1, files: { f: { filename: 'a', content: 'b' } } }), /files go with form/);
  });
});

describe('request(): the response', () => {
  it('keeps status, reason and repeated headers as the engine sent them', async () => {
    const res = await request((_, start) => {
      start('201 Made It', [['Content-Type', 'text/plain'], ['X-Step', 'one'], ['Set-Cookie', 'a=1'], ['x-step', 'two'], ['Set-Cookie', 'b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT']]);
      return ['done'];
    });
    assert.equal(res.status, 201);
    assert.equal(res.reason, 'Made It');
    assert.equal(res.statusText, 'Made It');
    assert.equal(res.ok, true);
    assert.equal(res.headers.get('x-step'), 'one, two');
    assert.deepEqual(res.headers.getAll('X-STEP'), ['one', 'two']);
    assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT']);
    assert.deepEqual([...res.headers.entries()].map(([name]) => name), ['Content-Type', 'X-Step', 'Set-Cookie', 'x-step', 'Set-Cookie', 'Content-Length']);
    assert.equal(res.headers.get('content-length'), '4', 'the engine added the length of an array body');
    assert.equal(res.headers.get('missing'), null);
    assert.ok(Buffer.isBuffer(res.body));
    assert.deepEqual(res.bytes(), Buffer.from('done'));
  });

  it('answers HEAD as the engine does: no body, the length of the GET body', async () => {
    let method = '';
    const app: Application = (environ, start) => {
      method = environ.REQUEST_METHOD;
      start('200 OK', [['Content-Type', 'text/plain']]);
      return ['twelve bytes'];
    };
    const head = await request(app, { method: 'HEAD', path: '/' });
    assert.equal(method, 'HEAD');
    assert.equal(head.body.length, 0);
    assert.equal(head.headers.get('content-length'), '12');
    const streamed = await request((_, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return (async function* () {
        yield 'a';
        yield 'b';
      })();
    }, { method: 'HEAD' });
    assert.equal(streamed.body.length, 0);
    assert.equal(streamed.headers.get('content-length'), null, 'a streamed body has no length to give');
  });

  it('turns an app error into the engine\'s 500, and logs its stack to errors', async () => {
    const res = await request(() => {
      throw new Error('the database is on fire');
    });
    assert.equal(res.status, 500);
    assert.match(res.text(), /A server error occurred/);
    assert.match(res.errors, /the database is on fire/);
    const limited = await request(() => {
      throw new HttpError(413, 'too big');
    });
    assert.equal(limited.status, 413);
    assert.equal(limited.text(), 'too big\n');
  });

  it('forwards errors to a stream of the caller\'s too', async () => {
    const lines: string[] = [];
    const res = await request((environ, start) => {
      environ['tsgi.errors'].write('note\n');
      start('200 OK', [['Content-Type', 'text/plain']]);
      return ['ok'];
    }, { errors: { write: (text) => void lines.push(text) } });
    assert.equal(res.errors, 'note\n');
    assert.deepEqual(lines, ['note\n']);
  });
});

describe('request(): the validator', () => {
  it('rejects with the ValidationError of an app that breaks the contract', async () => {
    await assert.rejects(request((_, start) => {
      start('200 OK', []);
      return ['no content type'];
    }), (error: unknown) => error instanceof ValidationError && error.rule === 'body.content-type');
    await assert.rejects(request((_, start) => {
      start('200 OK', [['Content-Type', 'text/plain'], ['Connection', 'close']]);
      return [];
    }), (error: unknown) => error instanceof ValidationError && error.rule === 'start.hop-by-hop');
    await assert.rejects(request(() => 'a string' as never), (error: unknown) => error instanceof ValidationError && error.rule === 'body.not-text');
  });

  it('catches a broken rule after the head too, where the engine can only cut the response', async () => {
    await assert.rejects(request((_, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return (async function* () {
        yield 'fine';
        yield 42 as unknown as string;
      })();
    }), (error: unknown) => error instanceof ValidationError && error.rule === 'body.chunk');
  });

  it('catches a Content-Length the body does not keep', async () => {
    await assert.rejects(request((_, start) => {
      start('200 OK', [['Content-Type', 'text/plain'], ['Content-Length', '10']]);
      return ['short'];
    }), (error: unknown) => error instanceof ValidationError && error.rule === 'body.content-length');
  });

  it('catches an app that reads tsgi.input twice', async () => {
    await assert.rejects(request(async (environ, start) => {
      await readBody(environ);
      await readBody(environ);
      start('200 OK', [['Content-Type', 'text/plain']]);
      return ['x'];
    }, { body: 'data' }), (error: unknown) => error instanceof ValidationError && error.rule === 'input.once');
  });

  it('can be turned off, leaving what the engine does with the broken app', async () => {
    const res = await request((_, start) => {
      start('200 OK', []);
      return ['no content type'];
    }, { validate: false });
    assert.equal(res.status, 200);
    assert.equal(res.text(), 'no content type');
  });
});
