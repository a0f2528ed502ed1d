/**
 * Scenario 2: 1,000 clients that stop reading mid-response (a 1 GB answer, the socket paused
 * after its first bytes). Every connection and every CGI script must be let go within the
 * send timeout: the server's open descriptors back to where they were, no script left, none
 * a zombie, read from /proc.
 *
 * The send timeout is set with makeServer's `sendTimeout` option (soak/servers/send-timeout.ts
 * serves what `tsgi run` and `tsgi serve --cgi` serve): the CLI has no --send-timeout flag.
 * Behind nginx, nginx's send_timeout cuts the client, and the FastCGI workers must let go of
 * the request nginx abandons.
 */
import { rmSync } from 'node:fs';
import { StalledReaders } from './clients.js';
import { cgroupFdCount, descendants, fdCountBesidesCgroups, fdSummary, zombiesBelow } from './procfs.js';
import { Scope, startGroup } from './processes.js';
import type { Report } from './report.js';
import { openDir, serverModule, startFastcgiWorkers, writeCgiScripts, type Target } from './targets.js';

export interface StalledScale {
  clients: number;
  sendTimeoutMs: number;
}

export const FULL: StalledScale = { clients: 1000, sendTimeoutMs: 2000 };
export const SHORT: StalledScale = { clients: 100, sendTimeoutMs: 500 };

const GIGABYTE = 1024 * 1024 * 1024;
/** Descriptors a server may open or close on its own meanwhile (a keep-alive connection nginx keeps, say). */
const FD_SLACK = 4;

/** The library server (makeServer with sendTimeout) for `mode` app or cgi, on a free port. */
async function startLibraryServer(scope: Scope, mode: 'app' | 'cgi', dir: string, sendTimeoutMs: number): Promise<Target> {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const server = scope.add(startGroup(process.execPath, [serverModule('send-timeout'), mode, dir, String(sendTimeoutMs)], env));
  for (let waited = 0; !/^\d+\n/.test(server.output()); waited += 20) {
    if (server.child.exitCode !== null || waited > 10_000) throw new Error(`the send-timeout server did not start:\n${server.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const port = Number(/^(\d+)\n/.exec(server.output())![1]);
  const pid = server.child.pid!;
  const name = mode === 'app' ? 'makeServer + the app (tsgi run)' : 'makeServer + serveSite --cgi (tsgi serve --cgi)';
  return { name, url: `http://127.0.0.1:${port}`, port, pid, pids: () => [pid] };
}

/** The server's descriptors, but for the run cgroups the native launcher pools (checked on their own). */
function openFds(target: Target): number {
  return target.pids().reduce((sum, pid) => sum + fdCountBesidesCgroups(pid), 0);
}

/** Run cgroups held: the pool keeps at most 128, two descriptors each. */
function cgroupFds(target: Target): number {
  return target.pids().reduce((sum, pid) => sum + cgroupFdCount(pid), 0);
}

/**
 * Live processes below the server that are not tsgi's own (its workers) nor there before the
 * clients came (the run cgroups' watchdog, a shell the native launcher keeps): the CGI scripts.
 */
function runningScripts(target: Target, before: Set<number>): number[] {
  const own = target.pids();
  return descendants(target.pid).filter((entry) => entry.state !== 'Z' && !own.includes(entry.pid) && !before.has(entry.pid)).map((entry) => entry.pid);
}

async function measure(report: Report, target: Target, path: string, warmPath: string, scale: StalledScale): Promise<void> {
  report.section(`${target.name}: ${scale.clients} clients stop reading GET ${path}, send timeout ${scale.sendTimeoutMs} ms`);
  // One whole small answer first, so the baseline holds whatever a first request opens for good.
  await fetch(target.url + warmPath).then((res) => res.arrayBuffer());
  await new Promise((resolve) => setTimeout(resolve, 200));
  const baseline = openFds(target);
  const before = new Set(descendants(target.pid).map((entry) => entry.pid));
  const clients = new StalledReaders(target.port, path);
  // The first connections may be cut before the last has stalled: the peak is what was held.
  let held = 0;
  let atOnce = 0;
  const seen = new Set<number>();
  const sampler = setInterval(() => {
    held = Math.max(held, openFds(target) - baseline);
    const scripts = runningScripts(target, before);
    atOnce = Math.max(atOnce, scripts.length);
    for (const pid of scripts) seen.add(pid);
  }, 50);
  try {
    await clients.open(scale.clients, 60_000);
    const stalledAt = Date.now();
    const deadline = stalledAt + 2 * scale.sendTimeoutMs + 10_000;
    let releasedAt: number | undefined;
    while (Date.now() < deadline) {
      if (openFds(target) <= baseline + FD_SLACK && runningScripts(target, before).length === 0) {
        releasedAt = Date.now();
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    clearInterval(sampler);
    const zombies = zombiesBelow(target.pids());
    report.figure('clients stalled mid-response', `${clients.stalled} of ${scale.clients}`);
    report.figure('descriptors held (most)', `${held} over a baseline of ${baseline}`);
    const cgi = path.includes('cgi-bin');
    if (cgi) report.figure('CGI scripts seen running', `${seen.size}, at most ${atOnce} at once`);
    report.figure('all let go, after the last stalled', releasedAt === undefined ? `not within ${deadline - stalledAt} ms` : `${releasedAt - stalledAt} ms`);
    report.check(clients.stalled >= scale.clients * 0.95, `the clients stalled mid-response (${clients.stalled})`);
    // Filling 1,000 connections' socket buffers can take longer than the timeout on a busy
    // machine: those that stalled within one timeout of the first can have been cut by then.
    const first = clients.stalledAt[0] ?? stalledAt;
    const together = clients.stalledAt.filter((at) => at < first + scale.sendTimeoutMs).length;
    report.figure('clients stalled within one send timeout of the first', together);
    report.check(held >= together * 0.9, `the server held their connections at once (${held} descriptors for ${together} clients)`);
    if (cgi) report.check(seen.size >= scale.clients * 0.9, `a script ran for each (${seen.size} seen)`);
    report.check(releasedAt !== undefined, `connections${cgi ? ' and scripts' : ''} let go within 2 x the send timeout + 10 s (now ${openFds(target)} descriptors: ${target.pids().map(fdSummary).join(' | ')}; ${runningScripts(target, before).length} scripts)`);
    report.check(zombies.length === 0, `no zombie left (${zombies.map((entry) => `${entry.pid} ${entry.comm}`).join(', ') || 'none'})`);
    if (cgi) report.check(cgroupFds(target) <= 2 * 128, `run cgroups held no more than the launcher's pool of 128 (${cgroupFds(target) / 2})`);
  } finally {
    clearInterval(sampler);
    clients.close();
  }
}

export async function stalledReaders(report: Report, scale: StalledScale = FULL): Promise<void> {
  const dir = openDir('soak-stalled');
  writeCgiScripts(dir, {
    'big.sh': `printf 'Content-Type: application/octet-stream\\r\\n\\r\\n'\nexec head -c ${GIGABYTE} /dev/zero\n`,
    'small.sh': "printf 'Content-Type: text/plain\\r\\n\\r\\nsmall\\n'\n",
  });
  const scope = new Scope();
  const seconds = Math.max(1, Math.round(scale.sendTimeoutMs / 1000));
  const targets: [() => Promise<Target>, string, string][] = [
    [() => startLibraryServer(scope, 'app', dir, scale.sendTimeoutMs), `/big?bytes=${GIGABYTE}`, '/big?bytes=1000'],
    [() => startLibraryServer(scope, 'cgi', dir, scale.sendTimeoutMs), '/cgi-bin/big.sh', '/cgi-bin/small.sh'],
    [() => startFastcgiWorkers(scope, serverModule('big'), { location: `send_timeout ${seconds}s; fastcgi_buffering off;` }), `/big?bytes=${GIGABYTE}`, '/big?bytes=1000'],
  ];
  try {
    for (const [start, path, warmPath] of targets) {
      try {
        await measure(report, await start(), path, warmPath, scale);
      } finally {
        await scope.close();
      }
    }
  } finally {
    await scope.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
