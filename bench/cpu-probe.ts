/**
 * The CPU time a node child spent, as it reports it itself at exit (user + system, from
 * getrusage): on a busy machine CPU time stays steady where wall time measures the neighbours.
 * The probe costs every variant of a benchmark alike.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes the probe into `dir`; returns the node arguments that load it. */
export function cpuProbe(dir: string): string[] {
  const file = join(dir, 'cpu-probe.cjs');
  writeFileSync(file, `process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write('__cpu ' + (u.user + u.system) / 1000 + '\\n'); });\n`);
  return ['--require', file];
}

/** The child's CPU milliseconds from its stderr, or undefined when it did not report (it failed early). */
export function reportedCpu(stderr: string): number | undefined {
  const match = /__cpu ([\d.]+)/.exec(stderr);
  return match ? Number(match[1]) : undefined;
}
