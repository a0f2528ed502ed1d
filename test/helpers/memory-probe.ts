/**
 * Loaded into a server under test (`node --expose-gc --import` this file, see server-memory.ts):
 * on SIGUSR2 it writes to stderr how many bytes the process holds.
 *
 * RSS is no measure of that: it counts buffers that are garbage but not yet collected, and
 * memory the allocator took and keeps, and how much of either there is depends on when V8 runs
 * its collections and on how busy the machine is. After a forced collection the heap in use
 * plus external memory (Buffers' bytes) is what the program still refers to.
 *
 * It measures only when asked: collecting on a timer would slow the server down, and a slower
 * server hides the very thing to find (one that reads ahead of its client piles up less).
 */
import { REPORT_PREFIX } from './server-memory.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (typeof gc !== 'function') throw new Error('memory-probe needs node --expose-gc');

process.on('SIGUSR2', () => {
  // V8 frees the memory of dead Buffers on a background thread after a collection, and the
  // next collection waits for that first: after two, nothing the first found dead still counts.
  gc();
  gc();
  const usage = process.memoryUsage();
  process.stderr.write(`${REPORT_PREFIX} ${usage.heapUsed + usage.external}\n`);
});
