import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runApplication, HttpError } from '../src/handler.js';
import type { Application, Body, Environ } from '../src/types.js';
import { setupTestingDefaults } from '../src/util.js';
import { collectingErrors, RecordingTarget } from './helpers/recording-target.js';

async function run(app: Application, extra: Partial<Environ> = {}, target = new RecordingTarget()) {
  const errors = collectingErrors();
  const environ = setupTestingDefaults({ 'tsgi.errors': errors, ...extra });
  await runApplication(app, environ, target, { client: target });
  return { target, log: errors.text() };
}

const ok = (start: Parameters<Application>[1], headers: [string, string][] = [['Content-Type', 'text/plain']]) =>
  start('200 OK', headers);

describe('response engine', () => {
  it('gives an array body a Content-Length and sends it in one piece', async () => {
    const { target } = await run((_, start) => {
      ok(start);
      return ['Hello, ', 'wörld'];
    });
    assert.equal(target.head?.status, 200);
    assert.equal(target.header('Content-Length'), String(Buffer.byteLength('Hello, wörld')));
    assert.equal(target.body, 'Hello, wörld');
    assert.deepEqual(target.events, ['head', 'end']);
  });

  it('gives a single-chunk sync iterator a Content-Length', async () => {
    const { target } = await run((_, start) => {
      ok(start);
      return (function* () {
        yield 'only';
      })();
    });
    assert.equal(target.header('Content-Length'), '4');
    assert.equal(target.body, 'only');
  });

  it('streams an async body without a Content-Length', async () => {
    const { target } = await run((_, start) => {
      ok(start);
      return (async function* () {
        yield 'a';
        yield '';
        yield new Uint8Array([98]);
      })();
    });
    assert.equal(target.header('Content-Length'), undefined);
    assert.equal(target.body, 'ab');
    assert.deepEqual(target.events, ['head', 'write', 'write', 'end']);
  });

  it('sends Content-Length 0 for an empty body', async () => {
    const { target } = await run((_, start) => {
      ok(start);
      return [];
    });
    assert.equal(target.header('Content-Length'), '0');
  });

  it('waits for the first non-empty chunk before sending headers', async () => {
    const seen: string[] = [];
    const target = new RecordingTarget();
    await run((_, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return (async function* () {
        seen.push(target.head ? 'sent' : 'not-sent');
        yield '';
        seen.push(target.head ? 'sent' : 'not-sent');
        yield 'x';
      })();
    }, {}, target);
    assert.deepEqual(seen, ['not-sent', 'not-sent']);
  });

  it('sends headers but no body for HEAD', async () => {
    const { target } = await run((_, start) => {
      ok(start);
      return ['twelve bytes'];
    }, { REQUEST_METHOD: 'HEAD' });
    assert.equal(target.header('Content-Length'), '12');
    assert.equal(target.body, '');
  });

  it('refuses CR/LF in a header value with a 500 and no split', async () => {
    const { target, log } = await run((_, start) => {
      start('200 OK', [['X-Evil', 'a\r\nSet-Cookie: x=1']]);
      return ['never'];
    });
    assert.equal(target.head?.status, 500);
    assert.ok(!target.head?.headers.some(([name]) => name === 'Set-Cookie' || name === 'X-Evil'));
    assert.match(log, /control or non-latin-1 character/);
  });

  for (const [label, status, headers, pattern] of [
    ['a status without a reason', '200', [], /three digits/],
    ['a status with a newline', '200 OK\r\nX: y', [], /three digits/],
    ['a hop-by-hop header', '200 OK', [['Connection', 'close']], /hop-by-hop/],
    ['a Status header', '200 OK', [['Status', '404 Not Found']], /Status header/],
    ['an invalid header name', '200 OK', [['Bad Name', 'x']], /not a valid token/],
    ['a status reason outside latin-1', '200 Fine \u2713', [], /latin-1/],
    ['an interim 1xx status as the final one', '100 Continue', [], /200 to 599/],
    ['a 101 status (TSGI has no upgrades)', '101 Switching Protocols', [], /200 to 599/],
    ['a status beyond 599', '600 Beyond', [], /200 to 599/],
    ['two Content-Length headers', '200 OK', [['Content-Length', '2'], ['content-length', '20']], /Content-Length.*twice/],
  ] as const) {
    it(`answers 500 for ${label}`, async () => {
      const { target, log } = await run((_, start) => {
        start(status, headers as unknown as [string, string][]);
        return [];
      });
      assert.equal(target.head?.status, 500);
      assert.match(log, pattern);
    });
  }

  it('refuses a second startResponse without excInfo', async () => {
    const { target, log } = await run((_, start) => {
      ok(start);
      ok(start);
      return [];
    });
    assert.equal(target.head?.status, 500);
    assert.match(log, /called twice/);
  });

  it('lets excInfo replace headers not yet sent', async () => {
    const { target } = await run((_, start) => {
      ok(start);
      start('503 Service Unavailable', [['Content-Type', 'text/plain']], new Error('db down'));
      return ['later'];
    });
    assert.equal(target.head?.status, 503);
  });

  it('rethrows excInfo once headers were sent, aborting the response', async () => {
    const { target } = await run((_, start) => {
      const write = ok(start);
      void write('started');
      start('500 Oops', [['Content-Type', 'text/plain']], new Error('late'));
      return [];
    });
    assert.equal(target.head?.status, 200);
    assert.equal((target.aborted as Error).message, 'late');
  });

  it('turns an error before headers into a 500 page and logs it', async () => {
    const { target, log } = await run(() => {
      throw new Error('boom');
    });
    assert.equal(target.head?.status, 500);
    assert.match(target.body, /server error occurred/);
    assert.doesNotMatch(target.body, /boom/);
    assert.match(log, /Error: boom/);
  });

  it('uses the status of an HttpError', async () => {
    const { target } = await run(() => {
      throw new HttpError(413, 'The request body is too large.');
    });
    assert.equal(target.head?.status, 413);
    assert.match(target.body, /too large/);
  });

  it('aborts the response on an error after headers', async () => {
    const { target, log } = await run((_, start) => {
      ok(start);
      return (async function* () {
        yield 'part';
        throw new Error('mid-stream');
      })();
    });
    assert.equal(target.head?.status, 200);
    assert.equal((target.aborted as Error).message, 'mid-stream');
    assert.match(log, /mid-stream/);
  });

  it('aborts a body shorter than its Content-Length', async () => {
    const { target, log } = await run((_, start) => {
      start('200 OK', [['Content-Type', 'text/plain'], ['Content-Length', '10']]);
      return (async function* () {
        yield 'short';
      })();
    });
    assert.ok(target.aborted);
    assert.match(log, /5 of its 10 declared bytes/);
  });

  it('answers 500, not a cut connection, when a body known in full is shorter than its Content-Length', async () => {
    const bodies: [string, () => Body][] = [
      ['an array', () => ['sh', 'ort']],
      ['a one-chunk iterator', () => ['short'][Symbol.iterator]() as unknown as Body],
      ['an empty array', () => []],
      ['an empty async iterator', () => (async function* () {})()],
    ];
    for (const [label, body] of bodies) {
      const { target, log } = await run((_, start) => {
        start('200 OK', [['Content-Type', 'text/plain'], ['Content-Length', '10']]);
        return body();
      });
      assert.equal(target.head?.status, 500, label);
      assert.equal(target.aborted, undefined, label);
      assert.match(log, /of its 10 declared bytes/, label);
    }
  });

  it('never sends more than the declared Content-Length', async () => {
    const { target, log } = await run((_, start) => {
      start('200 OK', [['Content-Type', 'text/plain'], ['Content-Length', '3']]);
      return (async function* () {
        yield 'abcdef';
      })();
    });
    assert.equal(target.head?.status, 500);
    assert.equal(target.body.includes('abcdef'), false);
    assert.match(log, /longer than its Content-Length/);
  });

  it('sends legacy write() output before the body', async () => {
    const { target } = await run(async (_, start) => {
      const write = ok(start);
      await write('first ');
      return ['second'];
    });
    assert.equal(target.body, 'first second');
  });

  it('calls close() exactly once on success and on error', async () => {
    for (const fail of [false, true]) {
      let closes = 0;
      const body: Body = Object.assign(
        (async function* () {
          yield 'x';
          if (fail) throw new Error('fail');
        })(),
        { close: () => void closes++ },
      );
      await run((_, start) => {
        ok(start);
        return body;
      });
      assert.equal(closes, 1, `fail=${fail}`);
    }
  });

  it('calls close() of a list body too, and answers 500 for a list longer than its Content-Length', async () => {
    let closes = 0;
    const listed = await run((_, start) => {
      ok(start);
      return Object.assign(['a', 'b'], { close: () => void closes++ });
    });
    assert.equal(listed.target.body, 'ab');
    assert.equal(closes, 1);
    const long = await run((_, start) => {
      start('200 OK', [['Content-Type', 'text/plain'], ['Content-Length', '1']]);
      return ['too long'];
    });
    assert.equal(long.target.head?.status, 500);
  });

  it('stops a stream and closes it once when the client goes away', async () => {
    let closes = 0;
    let produced = 0;
    const target = new RecordingTarget();
    let release!: () => void;
    const body: Body = Object.assign(
      (async function* () {
        for (;;) {
          produced++;
          yield 'tick';
          if (produced === 2) {
            target.leave();
            await new Promise<void>((r) => (release = r));
          }
        }
      })(),
      { close: () => void closes++ },
    );
    await run((_, start) => {
      ok(start);
      return body;
    }, {}, target);
    assert.equal(closes, 1);
    assert.equal(produced, 2);
    assert.equal(target.ended, false);
    release();
  });

  it('refuses a string returned as the body', async () => {
    const { target, log } = await run(((_: Environ, start: Parameters<Application>[1]) => {
      ok(start);
      return 'oops';
    }) as unknown as Application);
    assert.equal(target.head?.status, 500);
    assert.match(log, /string or bytes/);
  });

  it('names the rule when the app returns null', async () => {
    const { target, log } = await run((() => null) as unknown as Application);
    assert.equal(target.head?.status, 500);
    assert.match(log, /must return an iterable body, got null/);
  });

  it('refuses a body that starts before startResponse', async () => {
    const { target, log } = await run(() => ['x']);
    assert.equal(target.head?.status, 500);
    assert.match(log, /before startResponse/);
  });

  it('sends no body for 204 and 304', async () => {
    for (const status of ['204 No Content', '304 Not Modified']) {
      const { target } = await run((_, start) => {
        start(status, []);
        return [];
      });
      assert.equal(target.header('Content-Length'), undefined);
      assert.equal(target.body, '');
    }
  });
});
