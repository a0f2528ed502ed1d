import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { pullChunks } from '../../../src/gateways/launch/stdout-reader.js';

describe('pullChunks', () => {
  it('gives every byte, then done', async () => {
    const stream = new PassThrough();
    const puller = pullChunks(stream);
    stream.write('Content-Type: text/plain\n\n');
    const first = await puller.next();
    assert.equal(first.done, false);
    const later = puller.next();
    stream.end('hello\n');
    const second = await later;
    assert.equal(Buffer.concat([first.value!, second.value!]).toString(), 'Content-Type: text/plain\n\nhello\n');
    assert.deepEqual(await puller.next(), { done: true, value: undefined });
  });

  it('keeps unread output in the stream until it is asked for', async () => {
    const stream = new PassThrough();
    const puller = pullChunks(stream);
    stream.write('a');
    stream.write('b');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stream.readableLength, 2);
    assert.equal((await puller.next()).value?.toString(), 'ab');
  });

  it('rejects when the stream is torn down before its end', async () => {
    const stream = new PassThrough();
    const puller = pullChunks(stream);
    const step = puller.next();
    stream.destroy();
    await assert.rejects(step, { code: 'ERR_STREAM_PREMATURE_CLOSE' });
  });

  it('rejects with the stream\'s error', async () => {
    const stream = new PassThrough();
    const puller = pullChunks(stream);
    const step = puller.next();
    stream.destroy(Object.assign(new Error('broken'), { code: 'EPIPE' }));
    await assert.rejects(step, { code: 'EPIPE' });
  });

  it('destroys the stream on stop', () => {
    const stream = new PassThrough();
    pullChunks(stream).stop();
    assert.equal(stream.destroyed, true);
  });
});
