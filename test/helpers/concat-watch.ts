/**
 * Watches Buffer.concat: the parsers and readers join held-back bytes with it, so a total
 * far above the input size means data is copied again on every write (quadratic work).
 */
export interface ConcatWatch {
  /** Bytes Buffer.concat produced so far. */
  readonly bytes: number;
  /** Buffers Buffer.concat walked so far. */
  readonly buffers: number;
  /** Puts the real Buffer.concat back. */
  stop(): void;
}

export function watchConcat(): ConcatWatch {
  const original = Buffer.concat;
  const watch = { bytes: 0, buffers: 0, stop: () => void (Buffer.concat = original) };
  Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
    const out = original(list, total);
    watch.bytes += out.length;
    watch.buffers += list.length;
    return out;
  }) as typeof Buffer.concat;
  return watch;
}

/** The bytes Buffer.concat produces while `run` runs. */
export function concatBytesDuring(run: () => void): number {
  const watch = watchConcat();
  try {
    run();
  } finally {
    watch.stop();
  }
  return watch.bytes;
}
