import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { request, ResponseAbortedError, ResponseHeaders, StreamingResponse, TestResponse } from '../../src/testing/index.js';
import type { Application } from '../../src/types.js';
import { ValidationError } from '../../src/validate.js';

/** An event stream that never ends by itself; `state` tells what the app went through. */
function eventStream(state: { produced: number; finallyRan: boolean; closed: number }): Application {
  return (_, start) => {
    start('200 OK', [['Content-Type', 'text/event-stream'], ['Cache-Control', 'no-cache']]);
    const events = (async function* () {
      try {
        for (;;) {
          state.produced++;
          yield `data: ${state.produced}\n\n`;
          await tick();
        }
      } finally {
        state.finallyRan = true;
      }
    })();
    return Object.assign(events, { close: () => void state.closed++ });
  };
}

describe('streamed responses (stream: true)', () => {
  it('resolves at the head and hands the body over chunk by chunk, the app waiting for the reader', async () => {
    const state = { produced: 0, finallyRan: false, closed: 0 };
    const res = await request(eventStream(state), { path: '/events', stream: true });
    assert.ok(res instanceof StreamingResponse);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    assert.equal(res.headers.get('content-length'), null);
    const seen: string[] = [];
    for await (const chunk of res.stream()) {
      seen.push(chunk.toString());
      for (let i = 0; i < 10; i++) await tick();
      // The app may be one chunk ahead (the one the engine is waiting to hand over), never more.
      assert.ok(state.produced <= seen.length + 1, `the app ran ${state.produced - seen.length} chunks ahead of the reader`);
      if (seen.length === 3) break;
    }
    assert.deepEqual(seen, ['data: 1\n\n', 'data: 2\n\n', 'data: 3\n\n']);
    assert.equal(state.finallyRan, true, 'leaving the loop hangs up: the generator was returned');
    assert.equal(state.closed, 1, "and the body's close() was called once");
  });

  it('hangs up on close() without reading', async () => {
    const state = { produced: 0, finallyRan: false, closed: 0 };
    const res = await request(eventStream(state), { stream: true });
    await res.close();
    assert.equal(state.closed, 1);
    assert.equal(state.finallyRan, true);
  });

  it('reads the rest with text(), and is an async iterable itself', async () => {
    const app: Application = (_, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return (async function* () {
        yield 'a';
        yield new Uint8Array([0x62]);
        yield '';
        yield 'c';
      })();
    };
    assert.equal(await (await request(app, { stream: true })).text(), 'abc');
    const parts: string[] = [];
    for await (const chunk of await request(app, { stream: true })) parts.push(chunk.toString());
    assert.deepEqual(parts, ['a', 'b', 'c']);
    const res = await request(app, { stream: true });
    await res.bytes();
    assert.throws(() => res.stream(), /can be read once/);
  });

  it('streams what an app sends with the legacy write()', async () => {
    const res = await request(async (_, start) => {
      const write = start('200 OK', [['Content-Type', 'text/plain']]);
      await write('one ');
      await write('two');
      return [];
    }, { stream: true });
    assert.equal(await res.text(), 'one two');
  });

  it('reports a rule the app breaks mid-stream from the loop', async () => {
    const res = await request((_, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return (async function* () {
        yield 'fine\n';
        yield { not: 'a chunk' } as unknown as string;
      })();
    }, { stream: true });
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const chunk of res.stream()) seen.push(chunk.toString());
    }, (error: unknown) => error instanceof ValidationError && error.rule === 'body.chunk');
    assert.deepEqual(seen, ['fine\n']);
  });

  it('rejects at once when the app breaks a rule before its head', async () => {
    await assert.rejects(request((_, start) => {
      start('200 OK', [['Content-Type', 'text/plain'], ['Transfer-Encoding', 'chunked']]);
      return ['x'];
    }, { stream: true }), (error: unknown) => error instanceof ValidationError && error.rule === 'start.hop-by-hop');
  });

  it('gives the 500 of an app that fails before its head, like a buffered request', async () => {
    const res = await request(() => {
      throw new Error('no');
    }, { stream: true });
    assert.equal(res.status, 500);
    assert.match(await res.text(), /A server error occurred/);
    assert.match(res.errors, /Error: no/);
  });
});

describe('responses cut short after the head', () => {
  const failsMidway: Application = (_, start) => {
    start('200 OK', [['Content-Type', 'text/plain']]);
    return (async function* () {
      yield 'first part';
      throw new Error('the disk went away');
    })();
  };

  it('reject a buffered request with ResponseAbortedError, carrying what arrived', async () => {
    await assert.rejects(request(failsMidway), (error: unknown) => {
      assert.ok(error instanceof ResponseAbortedError);
      assert.equal(error.status, 200);
      assert.equal(error.received.toString(), 'first part');
      assert.match(error.message, /cut short after its head: the disk went away/);
      assert.equal((error.cause as Error).message, 'the disk went away');
      return true;
    });
  });

  it('throw from the stream once the chunks before the cut were read', async () => {
    const res = await request(failsMidway, { stream: true });
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const chunk of res) seen.push(chunk.toString());
    }, ResponseAbortedError);
    assert.deepEqual(seen, ['first part']);
    assert.match(res.errors, /the disk went away/);
  });
});

describe('buffered responses', () => {
  it('are TestResponses with the body whole', async () => {
    const res = await request((_, start) => {
      start('200 OK', [['Content-Type', 'application/json']]);
      return (function* () {
        yield '{"a":';
        yield '1}';
      })();
    });
    assert.ok(res instanceof TestResponse);
    assert.deepEqual(res.json(), { a: 1 });
    assert.equal(res.text(), '{"a":1}');
  });
});

describe('ResponseHeaders', () => {
  const headers = new ResponseHeaders([['Content-Type', 'text/plain'], ['Set-Cookie', 'a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT'], ['Vary', 'Accept'], ['set-cookie', 'b=2'], ['vary', 'Cookie']]);

  it('joins repeats in get() and keeps them apart everywhere else', () => {
    assert.equal(headers.get('VARY'), 'Accept, Cookie');
    assert.deepEqual(headers.getSetCookie(), ['a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT', 'b=2']);
    assert.equal(headers.has('content-type'), true);
    assert.equal(headers.has('location'), false);
    assert.deepEqual([...headers].length, 5);
    assert.deepEqual([...headers.keys()], ['Content-Type', 'Set-Cookie', 'Vary', 'set-cookie', 'vary']);
    assert.deepEqual([...headers.values()][0], 'text/plain');
    assert.deepEqual(headers.toJSON(), { 'content-type': 'text/plain', 'set-cookie': 'a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT, b=2', vary: 'Accept, Cookie' });
  });

  it('cannot be changed through what it returns', () => {
    const list = headers.list();
    list[0]![1] = 'changed';
    list.pop();
    assert.equal(headers.get('content-type'), 'text/plain');
    assert.equal(headers.list().length, 5);
  });
});

describe('requests the front end refuses', () => {
  it('answer 400 buffered or streamed, as asked', async () => {
    const app: Application = () => {
      throw new Error('never called');
    };
    const buffered = await request(app, '/%C3');
    assert.equal(buffered.status, 400);
    assert.equal(buffered.reason, 'Bad Request');
    const streamed = await request(app, { path: '/%C3', stream: true });
    assert.ok(streamed instanceof StreamingResponse);
    assert.equal(streamed.status, 400);
    assert.match(await streamed.text(), /not valid UTF-8/);
  });
});
