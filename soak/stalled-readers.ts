/**
 * Scenario 2: 1,000 clients that stop reading mid-response (a 1 GB answer, the socket paused
 * after its first bytes). Every connection and every CGI script must be let go within the
 * send timeout (plus a bounded slack) of the server's writes stopping to make progress: the
 * server's open descriptors back to where they were, no script left, none a zombie, read from
 * /proc. A paused client still takes bytes until its socket's receive buffer and the server's
 * send buffer are full, which for 1,000 connections takes seconds: the scenario watches those
 * buffers in /proc/net/tcp (connectionsTo) and times each connection's release (the server
 * closing its end) from when its own stopped growing, and the release of everything
 * (descriptors, scripts) from when the last of them did.
 *
 * The send timeout is set with makeServer's `sendTimeout` option (soak/servers/send-timeout.ts
 * serves what `tsgi run` and `tsgi serve --cgi` serve): the CLI has no --send-timeout flag.
 * Behind nginx, nginx's send_timeout cuts the client, and the FastCGI workers must let go of
 * the request nginx abandons.
 */
import { rmSync } from 'node:fs';
import { StalledReaders } from './clients.js';
import { cgroupFdCount, connectionsTo, descendants, fdCountBesidesCgroups, fdSummary, zombiesBelow } from './procfs.js';
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
/**
 * How late past the timeout the last connection may be let go: the watch's check interval
 * (SEND_CHECK_MS), this scenario's sampling of /proc, and the server cutting 1,000
 * connections (and killing 1,000 scripts) at once on a 2-core machine.
 */
export const RELEASE_SLACK_MS = 1_000;
/** How often the buffers and descriptors are sampled. */
const SAMPLE_MS = 50;

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

/** `timeoutMs`: the send timeout of the target's front (nginx's counts in whole seconds). */
async function measure(report: Report, target: Target, path: string, warmPath: string, scale: StalledScale, timeoutMs: number): Promise<void> {
  report.section(`${target.name}: ${scale.clients} clients stop reading GET ${path}, send timeout ${timeoutMs} ms`);
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
  // Each connection's most bytes in transit, when they last grew and when the server closed
  // its end; and when any of them last grew: the writes' last progress.
  const tracked = new Map<number, { most: number; grew: number; closed?: number }>();
  // The warm-up request's connection (kept alive by fetch) is not one of the clients.
  const earlier = new Set(connectionsTo(target.port).keys());
  let lastProgress = Date.now();
  const sample = () => {
    const now = Date.now();
    const found = connectionsTo(target.port);
    for (const [client, { bytes, open }] of found) {
      if (earlier.has(client)) continue;
      let connection = tracked.get(client);
      if (!connection) {
        if (!open) continue;
        tracked.set(client, (connection = { most: 0, grew: now }));
      }
      if (connection.closed !== undefined) continue;
      if (!open) connection.closed = now;
      else if (bytes > connection.most) {
        connection.most = bytes;
        connection.grew = lastProgress = now;
      }
    }
    for (const [client, connection] of tracked) if (connection.closed === undefined && !found.has(client)) connection.closed = now;
    held = Math.max(held, openFds(target) - baseline);
    const scripts = runningScripts(target, before);
    atOnce = Math.max(atOnce, scripts.length);
    for (const pid of scripts) seen.add(pid);
  };
  const sampler = setInterval(sample, SAMPLE_MS);
  try {
    await clients.open(scale.clients, 60_000);
    const stalledAt = Date.now();
    // Waits while writes still make progress, and then the timeout and its slack, at most a minute.
    const limit = stalledAt + 60_000;
    let releasedAt: number | undefined;
    while (Date.now() < Math.min(limit, lastProgress + timeoutMs + RELEASE_SLACK_MS + 5_000)) {
      // Every client connection closed too: FD_SLACK would let the last few pass unseen.
      const stillOpen = [...tracked.values()].some((connection) => connection.closed === undefined);
      if (!stillOpen && openFds(target) <= baseline + FD_SLACK && runningScripts(target, before).length === 0) {
        releasedAt = Date.now();
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    }
    clearInterval(sampler);
    // What closed since the last sample.
    sample();
    const zombies = zombiesBelow(target.pids());
    report.figure('clients stalled mid-response', `${clients.stalled} of ${scale.clients}`);
    report.figure('descriptors held (most)', `${held} over a baseline of ${baseline}`);
    const cgi = path.includes('cgi-bin');
    if (cgi) report.figure('CGI scripts seen running', `${seen.size}, at most ${atOnce} at once`);
    const slowest = Math.max(0, ...[...tracked.values()].map((connection) => (connection.closed ?? Date.now()) - connection.grew));
    const open = [...tracked.values()].filter((connection) => connection.closed === undefined).length;
    report.figure('writes stopped making progress, after the last stalled', `${Math.max(0, lastProgress - stalledAt)} ms`);
    report.figure('connections closed, slowest after its writes stopped', `${slowest} ms (${tracked.size} seen, ${open} open)`);
    report.figure('all let go, after the writes stopped', releasedAt === undefined ? `not within ${Date.now() - lastProgress} ms` : `${releasedAt - lastProgress} ms`);
    report.check(clients.stalled >= scale.clients * 0.95, `the clients stalled mid-response (${clients.stalled})`);
    // Filling 1,000 connections' socket buffers can take longer than the timeout on a busy
    // machine: those that stalled within one timeout of the first can have been cut by then.
    const first = clients.stalledAt[0] ?? stalledAt;
    const together = clients.stalledAt.filter((at) => at < first + scale.sendTimeoutMs).length;
    report.figure('clients stalled within one send timeout of the first', together);
    report.check(held >= together * 0.9, `the server held their connections at once (${held} descriptors for ${together} clients)`);
    if (cgi) report.check(seen.size >= scale.clients * 0.9, `a script ran for each (${seen.size} seen)`);
    report.check(releasedAt !== undefined, `connections${cgi ? ' and scripts' : ''} let go (now ${openFds(target)} descriptors: ${target.pids().map(fdSummary).join(' | ')}; ${runningScripts(target, before).length} scripts)`);
    // nginx restarts a connection's send timer whenever its upstream side stirs (the worker's
    // data it can still take in), which the client's buffers do not show: the check is tsgi's.
    if (!target.nginx) report.check(open === 0 && slowest <= timeoutMs + RELEASE_SLACK_MS, `each connection closed within the send timeout + ${RELEASE_SLACK_MS} ms of its writes' last progress (slowest ${slowest} ms, ${open} open)`);
    if (releasedAt !== undefined) {
      report.check(releasedAt - lastProgress <= timeoutMs + RELEASE_SLACK_MS, `everything let go within the send timeout + ${RELEASE_SLACK_MS} ms of the writes' last progress (${releasedAt - lastProgress} ms)`);
    }
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
  const targets: [() => Promise<Target>, string, string, number][] = [
    [() => startLibraryServer(scope, 'app', dir, scale.sendTimeoutMs), `/big?bytes=${GIGABYTE}`, '/big?bytes=1000', scale.sendTimeoutMs],
    [() => startLibraryServer(scope, 'cgi', dir, scale.sendTimeoutMs), '/cgi-bin/big.sh', '/cgi-bin/small.sh', scale.sendTimeoutMs],
    [() => startFastcgiWorkers(scope, serverModule('big'), { location: `send_timeout ${seconds}s; fastcgi_buffering off;` }), `/big?bytes=${GIGABYTE}`, '/big?bytes=1000', seconds * 1000],
  ];
  try {
    for (const [start, path, warmPath, timeoutMs] of targets) {
      try {
        await measure(report, await start(), path, warmPath, scale, timeoutMs);
      } finally {
        await scope.close();
      }
    }
  } finally {
    await scope.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
