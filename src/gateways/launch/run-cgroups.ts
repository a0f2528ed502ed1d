/**
 * Run cgroups for the launchers that cannot start a script inside one (Node's spawn, the
 * Python helper): what native/cgroup.c does for the native launcher, in a folder of its own,
 * tsgi-PID-js under this process's cgroup in the cgroup2 hierarchy. A script is moved into
 * its run's cgroup (cgroup.procs) instead, and cgroup.kill ends everything in it, setsid or
 * not. Empty cgroups are kept for later runs; one that a run leaves busy is killed and used
 * again once empty (moving a process into a killed cgroup is not subject to the clone3 bug
 * native/cgroup.c describes).
 *
 * At exit everything left in the folder is killed and the folder removed; a process killed
 * with SIGKILL leaves it to the next tsgi started in the same cgroup, which removes the
 * folders of tsgi processes that no longer run.
 */
import { accessSync, chownSync, closeSync, constants, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmdirSync, write, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type RunCgroups = { folder: string; unavailable?: undefined } | { folder?: undefined; unavailable: string };

/** A run cgroup of the pool, with its cgroup.procs and cgroup.events kept open: a run costs a write and a read. */
export interface RunCgroup {
  readonly path: string;
  readonly procs: number;
  readonly events: number;
}

const POOL_MAX = 128;
const DRAIN_CHECKS = 4;

let decided: RunCgroups | undefined;
const pool: RunCgroup[] = [];
const draining: RunCgroup[] = [];
const eventsText = Buffer.alloc(128);
let next = 0;

function unescapeMount(text: string): string {
  return text.replace(/\\([0-3][0-7][0-7])/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

function cgroupBase(): string {
  const mount = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((line) => line.includes(' - cgroup2 '));
  if (!mount) throw new Error('no cgroup2 file system is mounted');
  const [, , , rootText, pointText] = mount.split(' ');
  const root = unescapeMount(rootText!);
  const point = unescapeMount(pointText!);
  const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((line) => line.startsWith('0::'))?.slice(3);
  if (own === undefined) throw new Error('this process has no cgroup v2 in /proc/self/cgroup');
  let inside = own;
  if (root !== '/') {
    if (own !== root && !own.startsWith(root + '/')) throw new Error(`this process's cgroup ${own} is outside the cgroup2 mount at ${point}`);
    inside = own.slice(root.length);
  }
  return inside === '/' || inside === '' ? point : point + inside;
}

/** Whether something runs in the cgroup at `path`; undefined when that cannot be read. */
function populated(path: string): boolean | undefined {
  try {
    return /populated 1/.test(readFileSync(join(path, 'cgroup.events'), 'latin1'));
  } catch {
    return undefined;
  }
}

function writeKill(path: string): void {
  try {
    writeFileSync(join(path, 'cgroup.kill'), '1');
  } catch {
    // Gone already, and what ran in it with it.
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Kills what runs in `path` and below, waits briefly for it to go, removes the folders. */
function removeTree(path: string): void {
  writeKill(path);
  for (let i = 0; i < 50 && populated(path); i++) sleep(10);
  const remove = (folder: string): void => {
    try {
      for (const entry of readdirSync(folder, { withFileTypes: true })) if (entry.isDirectory()) remove(join(folder, entry.name));
      rmdirSync(folder);
    } catch {
      // Still busy, or gone: the next tsgi tries again.
    }
  };
  remove(path);
}

function removeStale(base: string): void {
  for (const name of readdirSync(base)) {
    const match = /^tsgi-(\d+)(-.*)?$/.exec(name);
    if (!match || Number(match[1]) === process.pid) continue;
    try {
      process.kill(Number(match[1]), 0);
      continue;
    } catch (error) {
      // EPERM: alive, as another user.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') continue;
    }
    removeTree(join(base, name));
  }
}

function decide(): RunCgroups {
  if (process.platform !== 'linux') return { unavailable: 'cgroups are a Linux feature' };
  if (process.env.TSGI_RUN_CGROUPS === '0') return { unavailable: 'TSGI_RUN_CGROUPS=0 turns them off' };
  let base: string;
  try {
    base = cgroupBase();
  } catch (error) {
    return { unavailable: (error as Error).message };
  }
  const folder = join(base, `tsgi-${process.pid}-js`);
  try {
    mkdirSync(folder, { mode: 0o755 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') return { unavailable: `cannot make a cgroup in ${base} (${code})` };
  }
  try {
    accessSync(join(folder, 'cgroup.kill'), constants.W_OK);
    // Moving a script out of this process's cgroup takes writing both ends' cgroup.procs.
    accessSync(join(base, 'cgroup.procs'), constants.W_OK);
  } catch {
    try {
      rmdirSync(folder);
    } catch {
      // Left for the next tsgi.
    }
    return { unavailable: `${base} has no cgroup.kill and cgroup.procs this process may write (cgroup.kill needs Linux 5.14)` };
  }
  try {
    removeStale(base);
  } catch {
    // Others' leftovers are not this process's problem.
  }
  process.on('exit', () => removeTree(folder));
  return { folder };
}

/** Where run cgroups are made, or why they cannot be; decided once per process. */
export function runCgroups(): RunCgroups {
  decided ??= decide();
  return decided;
}

function busy(cgroup: RunCgroup): boolean | undefined {
  try {
    const size = readSync(cgroup.events, eventsText, 0, eventsText.length, 0);
    return eventsText.toString('latin1', 0, size).includes('populated 1');
  } catch {
    return undefined;
  }
}

function destroy(cgroup: RunCgroup): void {
  closeSync(cgroup.procs);
  closeSync(cgroup.events);
  try {
    rmdirSync(cgroup.path);
  } catch {
    // Busy after all: removed with the folder at exit.
  }
}

function make(folder: string): RunCgroup | undefined {
  const path = join(folder, `r${next++}`);
  let procs = -1;
  try {
    mkdirSync(path);
    procs = openSync(join(path, 'cgroup.procs'), 'w');
    return { path, procs, events: openSync(join(path, 'cgroup.events'), 'r') };
  } catch {
    if (procs >= 0) closeSync(procs);
    return undefined;
  }
}

/** An empty run cgroup to move a script into, or undefined without run cgroups. */
export function takeRunCgroup(): RunCgroup | undefined {
  const { folder } = runCgroups();
  if (folder === undefined) return undefined;
  for (let i = 0; i < DRAIN_CHECKS && draining.length > 0; i++) {
    const cgroup = draining.shift()!;
    const state = busy(cgroup);
    if (state === false) pool.push(cgroup);
    else if (state === true) draining.push(cgroup);
    else destroy(cgroup);
  }
  return pool.pop() ?? make(folder);
}

/** Moves `pid` into the cgroup `path`; false when it cannot. */
export function moveInto(path: string, pid: number): boolean {
  try {
    writeFileSync(join(path, 'cgroup.procs'), String(pid));
    return true;
  } catch {
    return false;
  }
}

/**
 * Moves `pid` into the run cgroup, from libuv's thread pool: a move takes the kernel's lock on
 * forks for writing, which waits for an RCU grace period (a good part of a millisecond, not
 * spent computing), and the event loop must not wait with it. `done` gets whether it worked.
 */
export function moveIntoRunCgroup(cgroup: RunCgroup, pid: number, done: (moved: boolean) => void = () => {}): void {
  write(cgroup.procs, String(pid), (error) => done(!error));
}

/** SIGKILL to everything in the cgroup at `path` (a run cgroup, or one a Python helper made), whatever its session. */
export function killRunCgroup(path: string): void {
  writeKill(path);
}

/** The run is over: what still runs in its cgroup is killed, and the cgroup serves another run once empty. */
export function releaseRunCgroup(cgroup: RunCgroup): void {
  const state = busy(cgroup);
  if (state === undefined) return destroy(cgroup);
  if (state) {
    writeKill(cgroup.path);
    draining.push(cgroup);
  } else if (pool.length < POOL_MAX) {
    pool.push(cgroup);
  } else {
    destroy(cgroup);
  }
}

/**
 * A folder for a Python helper running as `uid`:`gid` to make its runs' cgroups in and move
 * itself between them (a delegated subtree: its folder, cgroup.procs, cgroup.threads and
 * cgroup.subtree_control are the helper's), or undefined without run cgroups.
 */
export function delegatedFolder(name: string, uid: number | undefined, gid: number | undefined): string | undefined {
  const { folder } = runCgroups();
  if (folder === undefined) return undefined;
  const path = join(folder, name);
  try {
    mkdirSync(path);
    if (uid !== undefined && gid !== undefined) {
      for (const file of ['', 'cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control']) chownSync(join(path, file), uid, gid);
    }
    return path;
  } catch {
    return undefined;
  }
}

/** Removes a folder from delegatedFolder(), killing what is left in it. */
export function removeDelegatedFolder(path: string): void {
  removeTree(path);
}
