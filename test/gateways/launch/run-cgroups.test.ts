import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { killRunCgroup, moveIntoRunCgroup, releaseRunCgroup, runCgroups, takeRunCgroup } from '../../../src/gateways/launch/run-cgroups.js';
import { isRunning } from '../../helpers/process-group.js';
import { waitFor } from '../../helpers/wait-for.js';

const { folder, unavailable } = runCgroups();
const skip = folder === undefined ? `no run cgroups here: ${unavailable}` : false;
const moduleUrl = new URL('../../../src/gateways/launch/run-cgroups.js', import.meta.url).href;

function cgroupOf(pid: number): string {
  return readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((line) => line.startsWith('0::'))!.slice(3);
}

describe('run cgroups for the launchers that move scripts into them', { skip }, () => {
  it('holds a moved process and what it starts after, and kills them all, sessions or not', async () => {
    const cgroup = takeRunCgroup()!;
    const { path } = cgroup;
    const child = spawn('/bin/sh', ['-c', 'read _; setsid sleep 60 & echo $!; exec sleep 60'], { stdio: ['pipe', 'pipe', 'ignore'] });
    assert.equal(await new Promise<boolean>((resolve) => moveIntoRunCgroup(cgroup, child.pid!, resolve)), true);
    child.stdin.write('\n');
    const grandchild = Number(await new Promise<string>((resolve) => child.stdout.once('data', (data: Buffer) => resolve(data.toString()))));
    assert.ok(path.endsWith(cgroupOf(grandchild)), `${grandchild} is in ${cgroupOf(grandchild)}`);
    killRunCgroup(path);
    await waitFor(() => !isRunning(grandchild) && !isRunning(child.pid!), 'the moved process and its setsid child');
    releaseRunCgroup(cgroup);
  });

  it('serves a later run with a cgroup once it is empty', async () => {
    const first = takeRunCgroup()!;
    releaseRunCgroup(first);
    assert.equal(takeRunCgroup(), first);
  });

  it('is removed with what is left in it when its process exits', async () => {
    const program = `
      const { takeRunCgroup, moveIntoRunCgroup, runCgroups } = await import(${JSON.stringify(moduleUrl)});
      const { spawn } = await import('node:child_process');
      const cgroup = takeRunCgroup();
      const child = spawn('/bin/sleep', ['60'], { detached: true, stdio: 'ignore' });
      await new Promise((resolve) => moveIntoRunCgroup(cgroup, child.pid, resolve));
      child.unref();
      console.log(JSON.stringify({ folder: runCgroups().folder, pid: child.pid }));
    `;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', program], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    const { folder: theirs, pid } = JSON.parse(result.stdout) as { folder: string; pid: number };
    assert.equal(existsSync(theirs), false, `${theirs} is still there`);
    await waitFor(() => !isRunning(pid), `the sleep ${pid} left in it`);
  });

  it("removes what a tsgi process that no longer runs left in the same cgroup, once per process", async () => {
    // A pid no process has: above the kernel's limit.
    const maximum = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    const stale = join(dirname(folder!), `tsgi-${maximum + 1}-js`);
    mkdirSync(join(stale, 'r0'), { recursive: true });
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', `(await import(${JSON.stringify(moduleUrl)})).runCgroups()`], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(existsSync(stale), false);
  });
});
