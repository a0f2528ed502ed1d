/**
 * CGI scripts that leave a descendant running where a process-group kill cannot reach it,
 * each writing that descendant's pid to $PIDFILE and then hanging; and a run of one through a
 * CGI host until its time limit or its client's leaving kills it, reporting whether the
 * descendant went too. `node orphans.js LAUNCHER...` runs every case in a process of its own
 * (another user, TSGI_RUN_CGROUPS=0) and prints one JSON line per case.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cgiHost } from '../../src/apps/cgi-host.js';
import { call } from './cgihost-fixtures.js';
import { isRunning } from './process-group.js';

/** Once the descendant has written its pid: a head (a client may leave after it), then a hang. */
const REST = 'while [ ! -s "$PIDFILE" ]; do sleep 0.01; done\nprintf "Content-Type: text/plain\\n\\nstarted\\n"\nexec sleep 60\n';

export const ORPHAN_SCRIPTS = {
  /** A child in a session of its own: setsid, then sleep in its place. */
  'setsid': `#!/bin/sh\nsetsid sh -c 'echo $$ > "$PIDFILE"; exec sleep 60' &\n${REST}`,
  /** A double fork: the subshell exits at once, and its child is an orphan. */
  'double fork': `#!/bin/sh\n(sleep 60 & echo $! > "$PIDFILE") &\n${REST}`,
  /** Both, as a daemon does: an orphan in a session of its own. */
  'daemon': `#!/bin/sh\nsetsid sh -c 'sleep 60 & echo $! > "$PIDFILE"' &\n${REST}`,
} as const;

export type OrphanCase = keyof typeof ORPHAN_SCRIPTS;
export type Trigger = 'time limit' | 'client leaves';
export type Launcher = 'native' | 'python' | 'direct';

export interface Outcome {
  launcher: Launcher;
  script: OrphanCase;
  trigger: Trigger;
  status: number;
  pid: number;
  /** Whether the descendant still ran after the kill (polled, for up to 5 s). */
  survived: boolean;
}

/** A folder every user can use: scripts run as nobody when tests run as root. */
export function orphanSite(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-orphans-'));
  chmodSync(dir, 0o777);
  for (const [name, text] of Object.entries(ORPHAN_SCRIPTS)) {
    const file = join(dir, `${name.replace(' ', '-')}.sh`);
    writeFileSync(file, text);
    chmodSync(file, 0o755);
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

async function poll(check: () => boolean, limitMs: number): Promise<boolean> {
  const until = Date.now() + limitMs;
  while (!check() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
  return check();
}

/** Runs `script` through a CGI host started with `launcher` until `trigger` kills it. */
export async function runOrphan(dir: string, launcher: Launcher, script: OrphanCase, trigger: Trigger): Promise<Outcome> {
  const pidFile = join(dir, `${launcher}-${script.replace(' ', '-')}-${trigger.replace(' ', '-')}.pid`);
  rmSync(pidFile, { force: true });
  const host = cgiHost({ spawner: launcher, root: dir, env: { PIDFILE: pidFile }, timeout: trigger === 'time limit' ? 200 : 20_000, stderr: 'ignore' });
  const name = `/${script.replace(' ', '-')}.sh`;
  const result = await call(host, { SCRIPT_NAME: '/cgi-bin', PATH_INFO: name }, trigger === 'client leaves' ? { leaveAfter: 1 } : {});
  if (!(await poll(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'), 5000))) {
    throw new Error(`${script} under ${launcher}: the script wrote no pid to ${pidFile} (status ${result.status})`);
  }
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const gone = await poll(() => !isRunning(pid), 5000);
  if (!gone) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone after all
    }
  }
  return { launcher, script, trigger, status: result.status, pid, survived: !gone };
}

/** Why `launcher` may lose a daemon here (`cgroups`: whether run-cgroups.ts has cgroups), or undefined when it must not. */
export function daemonEscapes(launcher: Launcher, cgroups: boolean): string | undefined {
  if (launcher === 'native') return undefined;
  if (launcher === 'direct') return "Node's spawn cannot start a script inside its cgroup: a daemon forked in its first moments is ahead of the move";
  return cgroups ? undefined : 'without cgroups the Python helper cannot tell whose a daemon is';
}

/** Every script under every trigger, for each of `launchers`, but the daemons a launcher may lose (they would hold a run open for a minute). */
export async function runAll(dir: string, launchers: Launcher[], cgroups: boolean, each: (outcome: Outcome) => void): Promise<void> {
  for (const launcher of launchers) {
    for (const script of Object.keys(ORPHAN_SCRIPTS) as OrphanCase[]) {
      if (script === 'daemon' && daemonEscapes(launcher, cgroups)) continue;
      for (const trigger of ['time limit', 'client leaves'] as Trigger[]) each(await runOrphan(dir, launcher, script, trigger));
    }
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const site = orphanSite();
  try {
    // The containment each launcher has here, as the test's report needs it.
    const { nativeContainment } = await import('../../src/gateways/launch/native-launcher.js');
    const { runCgroups } = await import('../../src/gateways/launch/run-cgroups.js');
    const cgroups = runCgroups().folder !== undefined;
    process.stdout.write(JSON.stringify({ native: nativeContainment()?.kind, cgroups }) + '\n');
    await runAll(site.dir, process.argv.slice(2) as Launcher[], cgroups, (outcome) => process.stdout.write(JSON.stringify(outcome) + '\n'));
  } finally {
    site.remove();
  }
}
