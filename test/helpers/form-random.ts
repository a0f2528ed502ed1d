/** A small seeded PRNG (mulberry32) so fuzz runs are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Splits bytes at random points into 1..maxChunks pieces (some tiny, some empty). */
export function randomSplit(bytes: Uint8Array, random: () => number, maxChunks = 12): Uint8Array[] {
  const cuts = new Set<number>();
  const n = 1 + Math.floor(random() * maxChunks);
  for (let i = 0; i < n; i++) cuts.add(Math.floor(random() * (bytes.length + 1)));
  const sorted = [...cuts].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const cut of sorted) {
    chunks.push(bytes.subarray(at, cut));
    at = cut;
  }
  chunks.push(bytes.subarray(at));
  return chunks;
}
