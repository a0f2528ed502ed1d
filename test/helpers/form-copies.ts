/**
 * Counts the bytes Buffer.concat produces while `run` runs: the parsers join held-back bytes
 * with it, so a total far above the input size means data is copied again on every write.
 */
export function concatBytesDuring(run: () => void): number {
  const concat = Buffer.concat;
  let copied = 0;
  Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
    const out = concat(list, total);
    copied += out.length;
    return out;
  }) as typeof Buffer.concat;
  try {
    run();
  } finally {
    Buffer.concat = concat;
  }
  return copied;
}
