/**
 * Scenario 1: 1,000 slowloris connections (request headers one byte a second) while wrk
 * measures honest traffic. The honest rate must keep 80 % of its unloaded rate, measured
 * first in the same run. Windows alternate unloaded and loaded (U L L U, or more pairs
 * when a short run misses the mark) and the best of each kind counts: other work on the
 * machine only ever lowers a window's rate.
 */
import { rmSync } from 'node:fs';
import { warmUp } from './clients.js';
import { SlowClients } from './slow-clients.js';
import type { Report } from './report.js';
import { Scope } from './processes.js';
import { openDir, serverModule, startFastcgiWorkers, startRun, startServeCgi, writeCgiScripts, type Target } from './targets.js';
import { wrk } from './wrk.js';

export interface SlowlorisScale {
  connections: number;
  /** Seconds per wrk window. */
  seconds: number;
  /** Windows in the first pass, in the order U L L U ... */
  windows: number;
  /** Windows in all, when the ratio is short after the first pass (a busy machine). */
  maxWindows: number;
  /** Honest requests before the first window (JIT, connections, the first scripts). */
  warmUpMs: number;
  /**
   * How long the attack runs before its first loaded window. 12 s puts the server's headers
   * timeout (20 s), when all the slow connections are cut and come back at once, in the second.
   */
  settleSeconds: number;
}

export const FULL: SlowlorisScale = { connections: 1000, seconds: 6, windows: 4, maxWindows: 8, warmUpMs: 2000, settleSeconds: 12 };
export const SHORT: SlowlorisScale = { connections: 1000, seconds: 1, windows: 2, maxWindows: 6, warmUpMs: 300, settleSeconds: 0 };

const MIN_RATIO = 0.8;

/** U L L U U L L U ...: every unloaded window has a loaded neighbour. */
function loadedAt(index: number): boolean {
  return index % 4 === 1 || index % 4 === 2;
}

async function measure(report: Report, target: Target, path: string, wrkConnections: number, scale: SlowlorisScale): Promise<void> {
  report.section(`${target.name}: wrk -c${wrkConnections} ${path}, ${scale.connections} slowloris connections`);
  const url = target.url + path;
  await warmUp(url, scale.warmUpMs);
  const rates = { unloaded: [] as number[], loaded: [] as number[] };
  const slow = new SlowClients(target.port);
  let held = 0;
  let problems = '';
  try {
    for (let i = 0; i < scale.maxWindows; i++) {
      const loaded = loadedAt(i);
      if (loaded && slow.connected === 0) {
        await slow.open(scale.connections);
        await new Promise((resolve) => setTimeout(resolve, scale.settleSeconds * 1000));
      }
      if (!loaded && slow.connected > 0) slow.close();
      const result = await wrk(url, scale.seconds, wrkConnections);
      if (loaded) held = Math.max(held, slow.connected);
      if (result.problems) problems += `${loaded ? 'loaded' : 'unloaded'}: ${result.problems}; `;
      (loaded ? rates.loaded : rates.unloaded).push(result.requestsPerSecond);
      const done = i + 1 >= scale.windows && rates.loaded.length > 0 && rates.unloaded.length > 0;
      if (done && Math.max(...rates.loaded) / Math.max(...rates.unloaded) >= MIN_RATIO) break;
    }
  } finally {
    slow.close();
  }
  const best = { unloaded: Math.max(...rates.unloaded), loaded: Math.max(...rates.loaded) };
  const ratio = best.loaded / best.unloaded;
  report.figure('unloaded req/s (each window)', rates.unloaded.map((rate) => rate.toFixed(0)).join(', '));
  report.figure('under slowloris req/s (each window)', rates.loaded.map((rate) => rate.toFixed(0)).join(', '));
  report.figure('best under slowloris / best unloaded', `${best.loaded.toFixed(0)} / ${best.unloaded.toFixed(0)} = ${ratio.toFixed(2)}`);
  report.figure('slowloris connections held open (most)', held);
  report.figure('slowloris connections the server cut (reopened)', slow.reopened);
  if (problems) report.note(`wrk: ${problems}`);
  report.check(held >= scale.connections * 0.95, `the attack was on: ${held} of ${scale.connections} slow connections open at once`);
  report.check(ratio >= MIN_RATIO, `honest traffic keeps >= ${MIN_RATIO * 100} % of its unloaded rate (${(ratio * 100).toFixed(0)} %)`);
  report.check(problems === '', 'wrk saw no error and no non-2xx answer');
}

export async function slowloris(report: Report, scale: SlowlorisScale = FULL): Promise<void> {
  const dir = openDir('soak-slowloris');
  writeCgiScripts(dir, { 'hello.sh': "printf 'Content-Type: text/plain\\r\\n\\r\\nhello\\n'\n" });
  const scope = new Scope();
  const targets: [() => Promise<Target>, string, number][] = [
    [() => startRun(scope, serverModule('hello')), '/', 16],
    [() => startServeCgi(scope, dir), '/cgi-bin/hello.sh', 8],
    [() => startFastcgiWorkers(scope, serverModule('hello')), '/', 16],
  ];
  try {
    for (const [start, path, connections] of targets) {
      try {
        await measure(report, await start(), path, connections, scale);
      } finally {
        await scope.close();
      }
    }
  } finally {
    await scope.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
