/**
 * Pulls a script's stdout chunk by chunk. A Readable's own async iterator builds an async
 * generator and an end-of-stream watcher per stream; one run per request makes that a
 * measurable share of the host's CPU, and this needs only the stream's own events.
 */
import type { Readable } from 'node:stream';

export type Step = IteratorResult<Buffer, undefined>;

export interface ChunkPuller {
  /** The next chunk, or done at the end; rejects when the stream fails or is torn down before its end. */
  next(): Promise<Step>;
  /** The next chunk or the end when already at hand, else undefined (then ask next()). */
  poll(): Step | undefined;
  /** Stops reading: the stream is destroyed (as an async iterator's return() does). */
  stop(): void;
}

export function pullChunks(stream: Readable): ChunkPuller {
  let waiter: { resolve(step: Step): void; reject(error: Error): void } | undefined;
  let ended = stream.readableEnded;
  let failure: Error | undefined;
  const settle = () => {
    if (!waiter) return;
    const chunk = stream.read() as Buffer | null;
    const current = waiter;
    if (chunk !== null) {
      waiter = undefined;
      current.resolve({ done: false, value: chunk });
    } else if (ended) {
      waiter = undefined;
      current.resolve({ done: true, value: undefined });
    } else if (failure) {
      waiter = undefined;
      current.reject(failure);
    }
  };
  stream.on('readable', settle);
  stream.on('end', () => {
    ended = true;
    settle();
  });
  stream.on('error', (error: Error) => {
    failure ??= error;
    settle();
  });
  stream.on('close', () => {
    if (!ended) failure ??= Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    settle();
  });
  if (stream.destroyed && !ended) failure = stream.errored ?? Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
  return {
    poll: () => {
      if (waiter) return undefined;
      const chunk = stream.read() as Buffer | null;
      if (chunk !== null) return { done: false, value: chunk };
      return ended ? { done: true, value: undefined } : undefined;
    },
    next: () => new Promise<Step>((resolve, reject) => {
      waiter = { resolve, reject };
      settle();
    }),
    stop: () => {
      stream.destroy();
    },
  };
}
