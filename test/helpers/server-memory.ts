/** The test's side of memory-probe.ts: the node options that load it, and asking a probed process what it holds. */
import { pathToFileURL } from 'node:url';
import { fromRoot } from './paths.js';
import { waitFor } from './wait-for.js';

/** Starts the probe's lines on stderr. */
export const REPORT_PREFIX = 'memory-probe:';
const REPORT = new RegExp(`^${REPORT_PREFIX} (\\d+)\n`, 'gm');

/** Node options for the process to watch (before the script). */
export const MEMORY_PROBE_ARGS = ['--expose-gc', '--import', pathToFileURL(fromRoot('dist', 'test', 'helpers', 'memory-probe.js')).href];

/**
 * The bytes the probe in `pid` finds live (heap in use plus external, after forced collections);
 * `output` is the process's stderr so far.
 */
export async function heldBytes(pid: number, output: () => string): Promise<number> {
  // Whole lines only: a report counts once its newline is in.
  const reports = () => [...output().matchAll(REPORT)].map((match) => Number(match[1]));
  const before = reports().length;
  process.kill(pid, 'SIGUSR2');
  await waitFor(() => reports().length > before, 'the memory probe to report', 5000, output);
  return reports()[before]!;
}
