import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamedInput } from '../../src/frontends/streamed-input.js';

describe('StreamedInput', () => {
  it('fails, rather than ends early, when the request is aborted with body still queued (FastCGI ABORT_REQUEST after STDIN)', async () => {
    const input = new StreamedInput(9, () => {});
    input.push(Buffer.from('abc'));
    input.push(Buffer.from('defgh'));
    input.push(Buffer.from('i'));
    input.end();
    const reader = input[Symbol.asyncIterator]();
    assert.deepEqual((await reader.next()).value, Buffer.from('abc'));
    // What the FastCGI connection does on ABORT_REQUEST: mark the request gone, then forget it.
    input.fail(new Error('aborted'));
    input.discard();
    await assert.rejects(reader.next(), /aborted/);
  });

  it('still ends cleanly for an application that read the whole body before the abort', async () => {
    const input = new StreamedInput(3, () => {});
    input.push(Buffer.from('abc'));
    input.end();
    const reader = input[Symbol.asyncIterator]();
    assert.deepEqual((await reader.next()).value, Buffer.from('abc'));
    input.fail(new Error('aborted'));
    input.discard();
    assert.equal((await reader.next()).done, true);
  });
});
