import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { runApplication, type ClientState, type ResponseTarget } from '../src/handler.js';
import type { Application } from '../src/types.js';
import { setupTestingDefaults } from '../src/util.js';
import { collectingErrors } from './helpers/recording-target.js';

/** A target that forgets what it is sent, so only the engine's own memory shows. */
class CountingTarget implements ResponseTarget, ClientState {
  readonly gone = false;
  listeners = 0;
  bytes = 0;
  ended = false;
  sendHead(): void {}
  write(chunk: Uint8Array): void {
    this.bytes += chunk.length;
  }
  end(): void {
    this.ended = true;
  }
  abort(error: unknown): void {
    throw error;
  }
  onGone(): void {
    this.listeners++;
  }
}

function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('response engine on long streams', () => {
  it('keeps its memory flat over 100k chunks while the client stays', async () => {
    const gc = exposeGc();
    const chunks = 100_000;
    let base = 0;
    let growth = 0;
    const app: Application = (_, start) => {
      start('200 OK', [['Content-Type', 'application/octet-stream']]);
      return (async function* () {
        const chunk = new Uint8Array(1);
        for (let i = 0; i < chunks; i++) {
          if (i === 1000) {
            gc();
            base = process.memoryUsage().heapUsed;
          }
          yield chunk;
        }
        gc();
        growth = process.memoryUsage().heapUsed - base;
      })();
    };
    const target = new CountingTarget();
    await runApplication(app, setupTestingDefaults({ 'tsgi.errors': collectingErrors() }), target, { client: target });
    assert.equal(target.bytes, chunks);
    assert.ok(target.ended);
    assert.equal(target.listeners, 1, 'one onGone listener per response');
    // Anything kept per chunk (a listener, a promise reaction) costs well over 100 bytes each.
    assert.ok(growth < 5_000_000, `the heap grew by ${growth} bytes while streaming`);
  });
});
