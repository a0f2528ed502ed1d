import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { makeServer } from '../src/frontends/http.js';
import { runApplication } from '../src/handler.js';
import type { Application, Body, Chunk, Environ, HeaderList, StartResponse, Write } from '../src/types.js';
import { setupTestingDefaults } from '../src/util.js';
import { validator, ValidationError } from '../src/validate.js';
import { fetchRaw, rawExchange } from './helpers/http-client.js';
import { collectingErrors, RecordingTarget } from './helpers/recording-target.js';

const root = new URL('../../', import.meta.url);
const TEXT: HeaderList = [['Content-Type', 'text/plain']];
const covered = new Set<string>();

function environFor(extra: Record<string, unknown> = {}): Environ {
  return setupTestingDefaults({ 'tsgi.errors': collectingErrors(), ...extra } as Partial<Environ>);
}

/** Asserts `error` is the ValidationError of `rule`, with the rule named in its message. */
function assertRule(error: unknown, rule: string): true {
  assert.ok(error instanceof ValidationError, `expected a ValidationError, got ${String(error)}`);
  assert.equal(error.rule, rule, error.message);
  assert.ok(error.message.startsWith(`[${rule}] `), error.message);
  covered.add(rule);
  return true;
}

/** Runs `app` through the validator and the real response engine. */
async function serve(app: Application, extra: Record<string, unknown> = {}) {
  const checked = validator(app);
  const target = new RecordingTarget();
  const environ = environFor(extra);
  await runApplication(checked, environ, target, { client: target });
  return { checked, target };
}

/** Runs a broken app through the engine and asserts the first violation found is `rule`. */
async function assertAppBreaks(rule: string, app: Application, extra: Record<string, unknown> = {}): Promise<void> {
  const { checked, target } = await serve(app, extra);
  assert.equal(checked.violations.length, 1, `expected ${rule} alone, got ${checked.violations.map((v) => v.message).join('; ')}`);
  assertRule(checked.violations[0], rule);
  assert.ok(target.head?.status === 500 || target.aborted !== undefined, 'the engine must not send a broken response as if it were fine');
  assert.throws(() => checked.assertClean(), (error) => assertRule(error, rule));
}

/** Calls the validated app the way a broken server would and asserts the call fails with `rule`. */
async function assertEnvironBreaks(rule: string, change: (environ: Record<string, unknown>) => void): Promise<void> {
  const checked = validator((_, start) => {
    start('200 OK', TEXT);
    return ['ok'];
  });
  const environ = environFor() as Record<string, unknown>;
  change(environ);
  await assert.rejects(Promise.resolve().then(() => checked(environ as Environ, () => () => {})), (error) => assertRule(error, rule));
}

const okStart: StartResponse = () => () => {};

/** A minimal app returning `body` after a plain 200 start. */
function returning(body: () => Body): Application {
  return (_, start) => {
    start('200 OK', TEXT);
    return body();
  };
}

describe('validator: correct applications pass cleanly', () => {
  const shapes: [string, Application, string][] = [
    ['an array body', returning(() => ['Hello, ', 'world']), 'Hello, world'],
    ['a sync generator', returning(function* () { yield 'a'; yield new Uint8Array([98]); }), 'ab'],
    ['an async generator with empty chunks', returning(async function* () { yield ''; yield 'x'; yield ''; }), 'x'],
    ['write() then a body', (_, start) => {
      const write = start('200 OK', [...TEXT, ['Content-Length', '5']]);
      void write('hel');
      return ['lo'];
    }, 'hello'],
    ['a generator that starts the response lazily', (_, start) => (async function* () {
      start('200 OK', TEXT);
      yield 'lazy';
    })(), 'lazy'],
    ['a 204 without a body', (_, start) => {
      start('204 No Content', []);
      return [];
    }, ''],
    ['an error replaced by excInfo before the headers', (_, start) => {
      start('200 OK', TEXT);
      try {
        throw new Error('late');
      } catch (error) {
        start('500 Internal Server Error', TEXT, error);
      }
      return ['sorry'];
    }, 'sorry'],
  ];
  for (const [label, app, expected] of shapes) {
    it(`passes ${label}`, async () => {
      const { checked, target } = await serve(app);
      assert.deepEqual(checked.violations, []);
      checked.assertClean();
      assert.equal(target.body, expected);
      assert.equal(target.aborted, undefined);
    });
  }

  it('keeps an array body an array, so the server still gives it a Content-Length', async () => {
    const { target } = await serve(returning(() => ['abc', 'de']));
    assert.equal(target.header('Content-Length'), '5');
  });

  it('passes an app that reads exactly CONTENT_LENGTH bytes of input', async () => {
    let seen = '';
    const input = { async *[Symbol.asyncIterator]() { yield Buffer.from('he'); yield Buffer.from('llo'); } };
    const { checked, target } = await serve(async (environ, start) => {
      for await (const chunk of environ['tsgi.input']) seen += Buffer.from(chunk).toString();
      start('200 OK', TEXT);
      return [seen];
    }, { CONTENT_LENGTH: '5', REQUEST_METHOD: 'POST', 'tsgi.input': input });
    checked.assertClean();
    assert.equal(target.body, 'hello');
  });

  it('passes HEAD with a body the server drops', async () => {
    const { checked, target } = await serve((_, start) => {
      start('200 OK', [...TEXT, ['Content-Length', '5']]);
      return ['hello'];
    }, { REQUEST_METHOD: 'HEAD' });
    checked.assertClean();
    assert.equal(target.body, '');
  });

  it('passes a stream the client leaves, closing it once', async () => {
    const target = new RecordingTarget();
    let closes = 0;
    const body = {
      async *[Symbol.asyncIterator]() {
        yield 'first';
        target.leave();
        await new Promise(() => {});
      },
      close: () => void closes++,
    };
    const checked = validator(returning(() => body));
    await runApplication(checked, environFor(), target, { client: target });
    checked.assertClean();
    assert.equal(closes, 1);
  });

  it('passes tsgi.errors writes through', async () => {
    const errors = collectingErrors();
    await serve((environ, start) => {
      environ['tsgi.errors'].write('note\n');
      environ['tsgi.errors'].flush?.();
      start('200 OK', TEXT);
      return [];
    }, { 'tsgi.errors': errors });
    assert.equal(errors.text(), 'note\n');
  });
});

describe('validator: the server side', () => {
  it('environ.call: the app gets exactly (environ, startResponse)', async () => {
    const checked = validator(returning(() => []));
    const call = checked as unknown as (...args: unknown[]) => Promise<Body>;
    await assert.rejects(call(environFor()), (error) => assertRule(error, 'environ.call'));
    await assert.rejects(call(environFor(), 'start'), (error) => assertRule(error, 'environ.call'));
  });

  const environCases: [string, string, (environ: Record<string, unknown>) => void][] = [
    ['environ.object', 'a Map is not an environ', () => {}],
    ['environ.object', 'a frozen environ', (e) => Object.freeze(e)],
    ['environ.required', 'no QUERY_STRING', (e) => delete e.QUERY_STRING],
    ['environ.required', 'no tsgi.input', (e) => delete e['tsgi.input']],
    ['environ.content-headers', 'HTTP_CONTENT_TYPE', (e) => (e.HTTP_CONTENT_TYPE = 'text/plain')],
    ['environ.content-headers', 'HTTP_CONTENT_LENGTH', (e) => (e.HTTP_CONTENT_LENGTH = '3')],
    ['environ.httpoxy', 'HTTP_PROXY', (e) => (e.HTTP_PROXY = 'http://evil:8080')],
    ['environ.strings', 'a number in SERVER_PORT', (e) => (e.SERVER_PORT = 80)],
    ['environ.header-keys', 'a lower-case header key', (e) => (e['HTTP_x-thing'] = 'a')],
    ['environ.latin1', 'a header decoded as UTF-8', (e) => (e.HTTP_X_NAME = 'J\u0151zsef')],
    ['environ.path-text', 'a lone surrogate in PATH_INFO', (e) => (e.PATH_INFO = '/\ud800')],
    ['environ.method', 'a method with a space', (e) => (e.REQUEST_METHOD = 'G ET')],
    ['environ.method', 'an empty method', (e) => (e.REQUEST_METHOD = '')],
    ['environ.script-name', 'SCRIPT_NAME without a slash', (e) => (e.SCRIPT_NAME = 'app')],
    ['environ.script-name', 'SCRIPT_NAME "/"', (e) => (e.SCRIPT_NAME = '/')],
    ['environ.path-info', 'PATH_INFO without a slash', (e) => (e.PATH_INFO = 'bar')],
    ['environ.path-info', 'both paths empty', (e) => (e.PATH_INFO = '')],
    ['environ.request-uri', 'a REQUEST_URI with a space', (e) => (e.REQUEST_URI = '/a b')],
    ['environ.request-uri', 'an empty REQUEST_URI', (e) => (e.REQUEST_URI = '')],
    ['environ.https', 'HTTPS on with an http scheme', (e) => (e.HTTPS = 'on')],
    ['environ.content-length', 'a signed CONTENT_LENGTH', (e) => (e.CONTENT_LENGTH = '-1')],
    ['environ.server', 'an empty SERVER_NAME', (e) => (e.SERVER_NAME = '')],
    ['environ.server', 'a named SERVER_PORT', (e) => (e.SERVER_PORT = 'http')],
    ['environ.server', 'a bare SERVER_PROTOCOL', (e) => (e.SERVER_PROTOCOL = 'HTTP')],
    ['environ.version', 'a string tsgi.version', (e) => (e['tsgi.version'] = '1.0')],
    ['environ.url-scheme', 'an ftp scheme', (e) => (e['tsgi.url_scheme'] = 'ftp')],
    ['environ.input', 'a Buffer as tsgi.input', (e) => (e['tsgi.input'] = Buffer.from('x'))],
    ['environ.errors', 'console.log as tsgi.errors', (e) => (e['tsgi.errors'] = console.log)],
    ['environ.errors', 'a flush that is not a method', (e) => (e['tsgi.errors'] = { write() {}, flush: true })],
    ['environ.flags', 'a string run_once', (e) => (e['tsgi.run_once'] = 'false')],
    ['environ.file-wrapper', 'a file_wrapper object', (e) => (e['tsgi.file_wrapper'] = {})],
  ];
  for (const [rule, label, change] of environCases) {
    it(`${rule}: refuses ${label}`, async () => {
      if (label.startsWith('a Map')) {
        const checked = validator(returning(() => []));
        await assert.rejects(checked(new Map() as unknown as Environ, okStart), (error) => assertRule(error, rule));
        return;
      }
      await assertEnvironBreaks(rule, change);
    });
  }

  it('accepts OPTIONS * with both paths empty, and a mount point with PATH_INFO ""', async () => {
    for (const extra of [{ REQUEST_METHOD: 'OPTIONS', PATH_INFO: '' }, { SCRIPT_NAME: '/app', PATH_INFO: '' }]) {
      const { checked } = await serve(returning(() => []), extra);
      checked.assertClean();
    }
  });

  const readAll = async (environ: Environ) => {
    for await (const chunk of environ['tsgi.input']) void chunk;
  };
  const inputOf = (...chunks: unknown[]) => ({ async *[Symbol.asyncIterator]() { yield* chunks; } });

  it('input.chunk: tsgi.input yields Uint8Arrays', async () => {
    await assertAppBreaks('input.chunk', async (environ) => {
      await readAll(environ);
      return [];
    }, { 'tsgi.input': inputOf('text') });
  });

  it('input.length: tsgi.input stops at CONTENT_LENGTH', async () => {
    await assertAppBreaks('input.length', async (environ) => {
      await readAll(environ);
      return [];
    }, { CONTENT_LENGTH: '2', 'tsgi.input': inputOf(Buffer.from('abc')) });
  });

  it('input.complete: tsgi.input does not end short of CONTENT_LENGTH', async () => {
    await assertAppBreaks('input.complete', async (environ) => {
      await readAll(environ);
      return [];
    }, { CONTENT_LENGTH: '5', 'tsgi.input': inputOf(Buffer.from('ab')) });
  });

  it('server.write: startResponse returns write', async () => {
    const checked = validator((_, start) => {
      start('200 OK', TEXT);
      return [];
    });
    await assert.rejects(checked(environFor(), (() => undefined) as unknown as StartResponse), (error) => assertRule(error, 'server.write'));
  });

  it('server.rethrow: startResponse with excInfo after the headers went out throws it', async () => {
    const lenient: StartResponse = () => () => {};
    const checked = validator((_, start) => {
      const write = start('200 OK', TEXT);
      void write('partial');
      start('500 Internal Server Error', TEXT, new Error('late'));
      return [];
    });
    await assert.rejects(checked(environFor(), lenient), (error) => assertRule(error, 'server.rethrow'));
    const wrongError: StartResponse = (_s, _h, excInfo) => {
      if (excInfo) throw new Error('something else');
      return () => {};
    };
    await assert.rejects(validator((_, start) => {
      void start('200 OK', TEXT)('partial');
      start('500 Internal Server Error', TEXT, new Error('late'));
      return [];
    })(environFor(), wrongError), (error) => assertRule(error, 'server.rethrow'));
  });

  /** Gets the body the validator hands a server, for servers driven by hand. */
  async function bodyFrom(body: () => Body): Promise<Body> {
    const checked = validator(returning(body));
    return checked(environFor(), okStart);
  }

  it('server.iterate-once: the server iterates the body once', async () => {
    const body = (await bodyFrom(() => new Set(['a']))) as Iterable<Chunk>;
    body[Symbol.iterator]();
    assert.throws(() => body[Symbol.iterator](), (error) => assertRule(error, 'server.iterate-once'));
  });

  it('server.sequential: the server waits for each async chunk', async () => {
    const body = (await bodyFrom(() => (async function* () { yield 'a'; yield 'b'; })())) as AsyncIterable<Chunk>;
    const iterator = body[Symbol.asyncIterator]();
    const first = iterator.next();
    await assert.rejects(iterator.next(), (error) => assertRule(error, 'server.sequential'));
    await first;
  });

  it('server.after-close: no pulling after close()', async () => {
    const body = (await bodyFrom(() => (function* () { yield 'a'; yield 'b'; })())) as Iterable<Chunk> & { close(): void };
    const iterator = body[Symbol.iterator]();
    iterator.next();
    iterator.return?.();
    body.close();
    assert.throws(() => iterator.next(), (error) => assertRule(error, 'server.after-close'));
  });

  it('server.return: stopping early calls return() before close()', async () => {
    let cleaned = false;
    const body = (await bodyFrom(() => (function* () {
      try {
        yield 'a';
        yield 'b';
      } finally {
        cleaned = true;
      }
    })())) as Iterable<Chunk> & { close(): void };
    body[Symbol.iterator]().next();
    assert.throws(() => body.close(), (error) => assertRule(error, 'server.return'));
    assert.equal(cleaned, false);
  });

  it('server.return is not owed when the body threw, as with for … of', async () => {
    const body = (await bodyFrom(() => (function* () {
      yield 'a';
      throw new Error('broken body');
    })())) as Iterable<Chunk> & { close(): void };
    assert.throws(() => {
      for (const chunk of body) void chunk;
    }, /broken body/);
    body.close();
  });

  it('server.close: close() is called once, and assertClean reports a body never closed', async () => {
    let closes = 0;
    const checked = validator(returning(() => Object.assign(['a'], { close: () => void closes++ })));
    const body = (await checked(environFor(), okStart)) as Body & { close(): void };
    assert.throws(() => checked.assertClean(), (error) => assertRule(error, 'server.close'));
    body.close();
    checked.assertClean();
    assert.throws(() => body.close(), (error) => assertRule(error, 'server.close'));
    assert.equal(closes, 1);
  });
});

describe('validator: the application side', () => {
  it('input.once: tsgi.input is iterated once', async () => {
    await assertAppBreaks('input.once', async (environ) => {
      for await (const chunk of environ['tsgi.input']) void chunk;
      for await (const chunk of environ['tsgi.input']) void chunk;
      return [];
    });
  });

  it('errors.text: tsgi.errors.write takes a string', async () => {
    await assertAppBreaks('errors.text', (environ) => {
      environ['tsgi.errors'].write(42 as unknown as string);
      return [];
    });
  });

  const startCases: [string, string, (start: StartResponse) => void][] = [
    ['start.args', 'one argument', (start) => (start as unknown as (s: string) => void)('200 OK')],
    ['start.once', 'two calls without excInfo', (start) => {
      start('200 OK', TEXT);
      start('404 Not Found', TEXT);
    }],
    ['start.status', 'a bare code', (start) => start('200', TEXT)],
    ['start.status', 'a number', (start) => start(200 as unknown as string, TEXT)],
    ['start.status', 'an interim 1xx code', (start) => start('100 Continue', TEXT)],
    ['start.status', 'a code above 599', (start) => start('600 Odd', TEXT)],
    ['start.status', 'a newline in the reason', (start) => start('200 OK\r\nX: y', TEXT)],
    ['start.headers', 'an object of headers', (start) => start('200 OK', { 'Content-Type': 'text/plain' } as unknown as HeaderList)],
    ['start.headers', 'a triple', (start) => start('200 OK', [['A', 'b', 'c']] as unknown as HeaderList)],
    ['start.headers', 'a number value', (start) => start('200 OK', [['X-N', 1]] as unknown as HeaderList)],
    ['start.header-name', 'a name with a space', (start) => start('200 OK', [['Bad Name', 'x']])],
    ['start.header-value', 'CR/LF in a value', (start) => start('200 OK', [['X-A', 'a\r\nSet-Cookie: b']])],
    ['start.header-value', 'a character above latin-1', (start) => start('200 OK', [['X-A', '\u20ac']])],
    ['start.hop-by-hop', 'Connection', (start) => start('200 OK', [['Connection', 'close']])],
    ['start.hop-by-hop', 'Transfer-Encoding', (start) => start('200 OK', [['Transfer-Encoding', 'chunked']])],
    ['start.status-header', 'a Status header', (start) => start('200 OK', [['Status', '404']])],
    ['start.single', 'two Content-Lengths', (start) => start('200 OK', [['Content-Length', '1'], ['content-length', '2']])],
    ['start.single', 'two Content-Types', (start) => start('200 OK', [...TEXT, ['Content-Type', 'text/html']])],
    ['start.content-length', 'a negative Content-Length', (start) => start('200 OK', [['Content-Length', '-1']])],
    ['start.bodyless', 'a 204 with a Content-Type', (start) => start('204 No Content', TEXT)],
    ['start.bodyless', 'a 304 with a Content-Type', (start) => start('304 Not Modified', TEXT)],
    ['start.bodyless', 'a 204 with a Content-Length', (start) => start('204 No Content', [['Content-Length', '0']])],
  ];
  for (const [rule, label, call] of startCases) {
    it(`${rule}: refuses ${label}`, async () => {
      await assertAppBreaks(rule, (_, start) => {
        call(start);
        return [];
      });
    });
  }

  it('start.rethrow: the app lets a rethrown excInfo propagate', async () => {
    await assertAppBreaks('start.rethrow', async (_, start) => {
      const write = start('200 OK', TEXT);
      await write('partial');
      try {
        start('500 Internal Server Error', TEXT, new Error('late'));
      } catch {
        // Swallowing the rethrown error is the bug under test.
      }
      return ['more'];
    });
    await assertAppBreaks('start.rethrow', (_, start) => (async function* () {
      const write = start('200 OK', TEXT);
      await write('partial');
      try {
        start('500 Internal Server Error', TEXT, new Error('late'));
      } catch {
        // Going on producing chunks is the bug under test.
      }
      yield 'more';
    })());
  });

  it('write.chunk: write() takes a Uint8Array or a string', async () => {
    await assertAppBreaks('write.chunk', (_, start) => {
      const write = start('200 OK', TEXT);
      void write(42 as unknown as Chunk);
      return [];
    });
  });

  it('write.open: write() is not called after the body ended', async () => {
    let saved: Write | undefined;
    const { checked } = await serve((_, start) => {
      saved = start('200 OK', TEXT);
      return ['done'];
    });
    checked.assertClean();
    assert.throws(() => saved!('late'), (error) => assertRule(error, 'write.open'));
  });

  const bodyCases: [string, string, Application][] = [
    ['body.not-text', 'a string body', returning(() => 'hello' as unknown as Body)],
    ['body.not-text', 'a bytes body', returning(() => new Uint8Array([1]) as unknown as Body)],
    ['body.iterable', 'a number body', returning(() => 42 as unknown as Body)],
    ['body.iterable', 'no body at all', returning(() => undefined as unknown as Body)],
    ['body.start-first', 'an array before startResponse', () => ['early']],
    ['body.start-first', 'a chunk before startResponse', () => (async function* () { yield 'early'; })()],
    ['body.chunk', 'a number chunk', returning(() => [1 as unknown as Chunk])],
    ['body.chunk', 'a null chunk from a generator', returning(() => (function* () { yield null as unknown as Chunk; })())],
    ['body.bodyless', 'a 304 with a body', (_, start) => {
      start('304 Not Modified', []);
      return ['x'];
    }],
    ['body.content-type', 'a body without Content-Type', (_, start) => {
      start('200 OK', []);
      return ['x'];
    }],
    ['body.content-length', 'a body longer than its Content-Length', (_, start) => {
      start('200 OK', [...TEXT, ['Content-Length', '2']]);
      return (async function* () { yield 'abc'; })();
    }],
    ['body.content-length', 'a body shorter than its Content-Length', (_, start) => {
      start('200 OK', [...TEXT, ['Content-Length', '10']]);
      return (async function* () { yield 'abc'; })();
    }],
  ];
  for (const [rule, label, app] of bodyCases) {
    it(`${rule}: refuses ${label}`, async () => {
      await assertAppBreaks(rule, app);
    });
  }
});

describe('validator: middleware between two validators', () => {
  /** Adds a header and re-yields the inner body; `forwardClose` false is the bug under test. */
  const tagging = (app: Application, forwardClose: boolean): Application => async (environ, start) => {
    const body = await app(environ, (status, headers, excInfo) => start(status, [...headers, ['X-Tag', 'on']], excInfo));
    return {
      async *[Symbol.asyncIterator]() {
        for await (const chunk of body) yield chunk;
      },
      close: () => (forwardClose ? body.close?.() : undefined),
    };
  };
  const inner = returning(() => ['a', 'b']);

  it('passes a middleware that forwards close()', async () => {
    const innerChecked = validator(inner);
    const { checked, target } = await serve(tagging(innerChecked, true));
    checked.assertClean();
    innerChecked.assertClean();
    assert.equal(target.header('X-Tag'), 'on');
    assert.equal(target.body, 'ab');
  });

  it('catches a middleware that drops close(), on its inner side', async () => {
    const innerChecked = validator(inner);
    const { checked } = await serve(tagging(innerChecked, false));
    checked.assertClean();
    assert.throws(() => innerChecked.assertClean(), (error) => assertRule(error, 'server.close'));
  });
});

describe('validator: behind the HTTP front end', () => {
  it('finds nothing wrong with real requests, and every body gets closed', async () => {
    const seen: Record<string, unknown>[] = [];
    const checked = validator(async (environ, start) => {
      let size = 0;
      for await (const chunk of environ['tsgi.input']) size += chunk.length;
      seen.push({ path: environ.PATH_INFO, uri: environ.REQUEST_URI, size });
      start('200 OK', TEXT);
      return (async function* () {
        yield `${environ.REQUEST_METHOD} ${environ.PATH_INFO} ${size}`;
      })();
    });
    const errors = collectingErrors();
    const server = await makeServer('127.0.0.1', 0, checked, { accessLog: false, errors });
    try {
      assert.equal((await fetchRaw(`${server.url}/caf%C3%A9?q=%41`)).text, 'GET /café 0');
      assert.equal((await fetchRaw(`${server.url}/up`, { method: 'POST', body: 'hello' })).text, 'POST /up 5');
      const chunked = (async function* () { yield Buffer.from('abc'); yield Buffer.from('de'); })();
      assert.equal((await fetchRaw(`${server.url}/chunked`, { method: 'PUT', body: chunked })).text, 'PUT /chunked 5');
      assert.equal((await fetchRaw(`${server.url}/head`, { method: 'HEAD' })).text, '');
      assert.match(await rawExchange(server.port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 200 /);
      await fetchRaw(`${server.url}/x`, { headers: { X_Forwarded_For: '1.2.3.4', Proxy: 'http://evil' } });
    } finally {
      await server.close();
    }
    assert.deepEqual(checked.violations.map((v) => v.message), []);
    checked.assertClean();
    assert.deepEqual(seen[0], { path: '/café', uri: '/caf%C3%A9?q=%41', size: 0 });
  });
});

describe('docs/SPEC.md', () => {
  interface Generator {
    extractRules(source: string): { markdown: string; ids: string[]; problems: string[] };
    renderSpec(spec: string, source: string): string;
  }
  const load = async () => (await import(new URL('scripts/gen-spec.mjs', root).href)) as Generator;
  const source = readFileSync(new URL('src/validate.ts', root), 'utf8');
  const spec = readFileSync(new URL('docs/SPEC.md', root), 'utf8');

  it('is up to date with the rules in src/validate.ts (run npm run spec)', async () => {
    const generator = await load();
    assert.equal(generator.renderSpec(spec, source), spec);
  });

  it('notices a rule edited in validate.ts but not regenerated', async () => {
    const generator = await load();
    const edited = source.replace('is an HTTP token (`GET`', 'is any HTTP token (`GET`');
    assert.notEqual(edited, source);
    assert.notEqual(generator.renderSpec(spec, edited), spec);
  });

  it('refuses a check without a documented rule, and a rule without a check', async () => {
    const generator = await load();
    const undocumented = source + "\nfail('body.invented', 'x');\n";
    assert.throws(() => generator.renderSpec(spec, undocumented), /body\.invented/);
    const unchecked = source.replace(/fail\('environ\.httpoxy'/g, "fail('environ.other'");
    assert.throws(() => generator.renderSpec(spec, unchecked), /environ\.httpoxy/);
  });

  it('every documented rule has a test here that breaks it', async () => {
    const { ids } = (await load()).extractRules(source);
    // The tests of a file run in order, so every rule test above has filled `covered` by now.
    const missing = ids.filter((id) => !covered.has(id));
    assert.deepEqual(missing, [], `rules without a breaking test: ${missing.join(', ')}`);
  });
});
