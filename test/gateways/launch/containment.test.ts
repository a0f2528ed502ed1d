/**
 * Every descendant of a CGI script ends with it (issue 14): a child that called setsid, an
 * orphan of a double fork, and both at once (a daemon), killed by the host's time limit and by
 * a client that leaves, under each launcher, with cgroups and without, as root and not.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nativeContainment } from '../../../src/gateways/launch/native-launcher.js';
import { runCgroups } from '../../../src/gateways/launch/run-cgroups.js';
import { cgiHost } from '../../../src/apps/cgi-host.js';
import { call } from '../../helpers/cgihost-fixtures.js';
import { ORPHAN_SCRIPTS, daemonEscapes, orphanSite, runOrphan } from '../../helpers/orphans.js';
import type { Launcher, OrphanCase, Outcome, Trigger } from '../../helpers/orphans.js';
import { fromRoot } from '../../helpers/paths.js';
import { isRunning } from '../../helpers/process-group.js';
import { waitFor } from '../../helpers/wait-for.js';

const LAUNCHERS: Launcher[] = ['native', 'python', 'direct'];
const SCRIPTS = Object.keys(ORPHAN_SCRIPTS) as OrphanCase[];
const TRIGGERS: Trigger[] = ['time limit', 'client leaves'];
const ORPHANS = fromRoot('dist', 'test', 'helpers', 'orphans.js');
const isRoot = process.getuid?.() === 0;

/** The outcomes of every case, run by orphans.js in a process of its own. */
async function inOwnProcess(env: Record<string, string>, user?: number): Promise<{ native: string; cgroups: boolean; outcomes: Outcome[] }> {
  const child = spawn(process.execPath, [ORPHANS, ...LAUNCHERS], {
    cwd: '/tmp',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(user === undefined ? {} : { uid: user, gid: user }),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(code, 0, stderr);
  const [head, ...lines] = stdout.trim().split('\n').map((line) => JSON.parse(line));
  return { native: head.native, cgroups: head.cgroups, outcomes: lines as Outcome[] };
}

/**
 * Registers a test for every launcher, script and trigger, but not for the daemons a launcher
 * is known to lose without cgroups (docs/cgi-host.md lists them): a test would only skip.
 */
function checkAll(report: () => { native: string; cgroups: boolean; outcomes: Outcome[] }, cgroups: boolean): void {
  for (const launcher of LAUNCHERS) {
    for (const script of SCRIPTS) {
      if (script === 'daemon' && daemonEscapes(launcher, cgroups)) continue;
      for (const trigger of TRIGGERS) {
        it(`${launcher}: ${script}, killed by the ${trigger}`, () => {
          const outcome = report().outcomes.find((each) => each.launcher === launcher && each.script === script && each.trigger === trigger)!;
          assert.equal(outcome.survived, false, `pid ${outcome.pid} outlived its script`);
        });
      }
    }
  }
}

describe('what a script leaves running ends with it', () => {
  let site: ReturnType<typeof orphanSite>;
  before(() => (site = orphanSite()));
  after(() => site.remove());

  describe('in this process', () => {
    const cgroups = runCgroups().folder !== undefined;
    for (const launcher of LAUNCHERS) {
      for (const script of SCRIPTS) {
        if (script === 'daemon' && daemonEscapes(launcher, cgroups)) continue;
        for (const trigger of TRIGGERS) {
          it(`${launcher}: ${script}, killed by the ${trigger}`, async () => {
            const outcome = await runOrphan(site.dir, launcher, script, trigger);
            assert.equal(outcome.status, 200);
            assert.equal(outcome.survived, false, `pid ${outcome.pid} outlived its script`);
          });
        }
      }
    }
  });

  describe('without cgroups (TSGI_RUN_CGROUPS=0): the native launcher makes scripts subreapers, a kill reads /proc', () => {
    let report: Awaited<ReturnType<typeof inOwnProcess>>;
    before(async () => (report = await inOwnProcess({ TSGI_RUN_CGROUPS: '0' })));
    it('uses neither kind of cgroup', () => {
      assert.equal(report.native, 'subreaper');
      assert.equal(report.cgroups, false);
    });
    checkAll(() => report, false);
  });

  describe('as a user without root', { skip: isRoot ? false : 'the tests already run without root' }, () => {
    let report: Awaited<ReturnType<typeof inOwnProcess>>;
    before(async () => (report = await inOwnProcess({}, 65534)));
    // Not root, no cgroup of its own to make: the fallbacks.
    checkAll(() => report, false);
  });

  it('uses cgroups when this process may make one in its own cgroup', (t) => {
    let probe: string | undefined;
    try {
      const mount = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((line) => line.includes(' - cgroup2 '))?.split(' ')[4];
      const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((line) => line.startsWith('0::'))?.slice(3);
      if (mount !== undefined && own !== undefined) {
        probe = join(mount, own, `tsgi-test-probe-${process.pid}`);
        mkdirSync(probe);
        rmdirSync(probe);
      }
    } catch {
      probe = undefined;
    }
    if (probe === undefined) return t.skip('no cgroup can be made here (not root, or cgroup2 not mounted writable)');
    assert.equal(nativeContainment()?.kind, 'cgroup', nativeContainment()?.detail);
    assert.ok(runCgroups().folder, runCgroups().unavailable);
  });

  it('kills what a script leaves running once its run is over, when the run has a cgroup', async (t) => {
    if (nativeContainment()?.kind !== 'cgroup') return t.skip('without a cgroup only a kill (time limit, client gone) reaches what a script leaves');
    const pidFile = join(site.dir, 'left.pid');
    const host = cgiHost({ spawner: 'native', root: site.dir, env: { PIDFILE: pidFile } });
    const { writeFileSync, chmodSync, existsSync } = await import('node:fs');
    const script = join(site.dir, 'leaves.sh');
    writeFileSync(script, '#!/bin/sh\nsetsid sh -c \'echo $$ > "$PIDFILE"; exec sleep 60\' </dev/null >/dev/null 2>&1 &\nwhile [ ! -s "$PIDFILE" ]; do sleep 0.01; done\nprintf "Content-Type: text/plain\\n\\ndone\\n"\n');
    chmodSync(script, 0o755);
    const result = await call(host, { SCRIPT_NAME: '/cgi-bin', PATH_INFO: '/leaves.sh' });
    assert.equal(result.body.toString(), 'done\n');
    assert.ok(existsSync(pidFile));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await waitFor(() => !isRunning(pid), `the daemon ${pid} the script left`);
  });
});

describe('the warning that a descendant may outlive its script', () => {
  /** What a process creating two CGI hosts with `spawner` writes to stderr. */
  async function stderrOf(spawner: Launcher, env: Record<string, string>): Promise<string> {
    const module = new URL('../../../src/apps/cgi-host.js', import.meta.url).href;
    const child = spawn(process.execPath, ['--input-type=module', '-e', `
      const { cgiHost } = await import(${JSON.stringify(module)});
      cgiHost({ spawner: ${JSON.stringify(spawner)}, root: '/tmp' });
      cgiHost({ spawner: ${JSON.stringify(spawner)}, root: '/tmp' });
    `], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise((resolve) => child.once('close', resolve));
    return stderr;
  }

  it('is given once at start-up when neither a cgroup nor a subreaper keeps hold of descendants', async () => {
    const stderr = await stderrOf('direct', { TSGI_RUN_CGROUPS: '0' });
    const warnings = stderr.split('\n').filter((line) => line.startsWith('tsgi: warning:'));
    assert.equal(warnings.length, 1, stderr);
    assert.match(warnings[0]!, /Node's spawn and no cgroup can be made for them \(TSGI_RUN_CGROUPS=0 turns them off\): a descendant that leaves its script's session and is orphaned \(setsid and a double fork\) may outlive the script/);
  });

  it('is not given for the native launcher, which makes scripts subreapers without cgroups', async () => {
    assert.equal(await stderrOf('native', { TSGI_RUN_CGROUPS: '0' }), '');
  });
});
