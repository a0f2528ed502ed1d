import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cancel } from '../../src/gateways/cancel.js';
import { WaitQueue } from '../../src/gateways/wait-queue.js';

describe('Cancel', () => {
  it('calls each listener still registered once, in order, and keeps the reason', () => {
    const cancel = new Cancel();
    const calls: string[] = [];
    const second = () => calls.push('second');
    cancel.addEventListener('abort', () => calls.push('first'));
    cancel.addEventListener('abort', second);
    cancel.addEventListener('abort', () => calls.push('third'));
    cancel.removeEventListener('abort', second);
    const reason = new Error('gone');
    cancel.abort(reason);
    cancel.abort(new Error('again'));
    assert.deepEqual(calls, ['first', 'third']);
    assert.equal(cancel.aborted, true);
    assert.equal(cancel.reason, reason);
  });

  it('takes a waiter out of a queue when it aborts, as an AbortSignal does', async () => {
    const queue = new WaitQueue<number>();
    const cancel = new Cancel();
    const controller = new AbortController();
    const byCancel = queue.wait(cancel, () => new Error('cancelled'));
    const bySignal = queue.wait(controller.signal, () => new Error('aborted'));
    const kept = queue.wait(undefined, () => new Error('never'));
    cancel.abort();
    controller.abort();
    await assert.rejects(byCancel, /cancelled/);
    await assert.rejects(bySignal, /aborted/);
    assert.equal(queue.length, 1);
    queue.next()!.resolve(7);
    assert.equal(await kept, 7);
  });

  it('refuses at once a wait whose signal has already aborted, rather than waiting forever', async () => {
    const queue = new WaitQueue<number>();
    const cancel = new Cancel();
    cancel.abort();
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(queue.wait(cancel, () => new Error('cancelled before')), /cancelled before/);
    await assert.rejects(queue.wait(controller.signal, () => new Error('aborted before')), /aborted before/);
    assert.equal(queue.length, 0);
  });
});
