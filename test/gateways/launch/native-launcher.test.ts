import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { nativeContainment, nativeLauncher, nativeUnavailable } from '../../../src/gateways/launch/native-launcher.js';
import type { Exit, Launcher, ScriptProcess, SpawnRequest } from '../../../src/gateways/launch/process.js';
import { isRunning } from '../../helpers/process-group.js';
import { waitFor } from '../../helpers/wait-for.js';

// What the native launcher promises a script, checked from inside the script.
describe('the native launcher', () => {
  let dir: string;
  let launcher: Launcher;

  before(() => {
    const reason = nativeUnavailable();
    assert.equal(reason, undefined, `the addon must be built for these tests (npm install builds it): ${reason}`);
    launcher = nativeLauncher()!;
    dir = mkdtempSync(join(tmpdir(), 'tsgi-native-'));
    chmodSync(dir, 0o755);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function script(name: string, text: string, mode = 0o755): string {
    const file = join(dir, name);
    writeFileSync(file, text);
    chmodSync(file, mode);
    return file;
  }

  function start(file: string, extra: Partial<SpawnRequest> = {}): ScriptProcess {
    const request: SpawnRequest = { file, args: [], cwd: dir, env: { PATH: '/usr/bin:/bin' }, runAs: undefined, hasBody: false, ...extra };
    return launcher.start(request) as ScriptProcess;
  }

  const launcherModule = new URL('../../../src/gateways/launch/native-launcher.js', import.meta.url).href;

  /** Runs a CommonJS program in a new Node process: its exit and what it printed. */
  async function inOwnProcess(program: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
    const child = spawn(process.execPath, ['-e', program], { stdio: ['ignore', 'pipe', 'inherit'], timeout: 20_000 });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('close', (...result) => resolve(result)));
    return { code, signal, stdout: stdout.trim() };
  }

  async function run(proc: ScriptProcess): Promise<{ stdout: Buffer; stderr: Buffer; exit: Exit }> {
    const err: Buffer[] = [];
    proc.readStderr((chunk) => err.push(chunk), () => {});
    const out: Buffer[] = [];
    for (let step = await proc.stdout.next(); !step.done; step = await proc.stdout.next()) out.push(step.value);
    return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), exit: await proc.exited };
  }

  it('gives the script only fds 0, 1 and 2, no ignored or blocked signal, and a session of its own', async () => {
    const file = script('inspect.sh', [
      '#!/bin/sh',
      'ls /proc/self/fd | sort -n | tr "\\n" " "; echo',
      'grep -E "^Sig(Ign|Blk):" /proc/self/status',
      'cut -d" " -f1,5,6 /proc/$$/stat',
      'pwd',
    ].join('\n') + '\n');
    const { stdout, exit } = await run(start(file, { cwd: '/tmp' }));
    assert.deepEqual(exit, { code: 0, signal: null });
    const [fds, blocked, ignored, ids, cwd] = stdout.toString().trim().split('\n');
    // ls itself has its directory open as fd 3.
    assert.equal(fds!.trim(), '0 1 2 3');
    assert.match(blocked!, /^SigBlk:\s+0+$/);
    assert.match(ignored!, /^SigIgn:\s+0+$/);
    const [pid, group, session] = ids!.split(' ');
    assert.equal(group, pid, 'the script leads its own process group');
    assert.equal(session, pid, 'and its own session');
    assert.equal(cwd, '/tmp');
  });

  it('runs a file without #! through /bin/sh and passes arguments and the environment exactly', async () => {
    const file = script('bare', 'printf "%s|" "$0" "$@"; printf "%s" "$ODD"\n');
    const { stdout } = await run(start(file, { args: ['one', 'two words', '-x'], env: { PATH: '/usr/bin:/bin', ODD: 'a=b c\u00e9' } }));
    assert.equal(stdout.toString(), `${file}|one|two words|-x|a=b c\u00e9`);
  });

  it('reports a program that cannot start as an exit with the errno, and never starts it', async () => {
    const missing = await run(start(join(dir, 'no-such-script')));
    assert.equal(missing.exit.error?.code, 'ENOENT');
    const plain = script('not-executable.sh', '#!/bin/sh\necho ran\n', 0o644);
    const denied = await run(start(plain));
    assert.equal(denied.exit.error?.code, 'EACCES');
    assert.equal(denied.stdout.length, 0);
    const withNul = await run(start(plain, { args: ['a\0b'] }));
    assert.equal(withNul.exit.error?.code, 'EINVAL');
  });

  it('keeps stdout and stderr apart and reports the exit status and a killing signal', async () => {
    const file = script('both.sh', '#!/bin/sh\necho out\necho err >&2\nexit 3\n');
    const result = await run(start(file));
    assert.equal(result.stdout.toString(), 'out\n');
    assert.equal(result.stderr.toString(), 'err\n');
    assert.deepEqual(result.exit, { code: 3, signal: null });
    const selfKill = script('self-kill.sh', '#!/bin/sh\nkill -TERM $$\n');
    assert.deepEqual((await run(start(selfKill))).exit, { code: null, signal: 'SIGTERM' });
  });

  it('feeds stdin from a pipe or from a descriptor', async () => {
    const cat = script('cat.sh', '#!/bin/sh\nexec cat\n');
    const piped = start(cat, { hasBody: true });
    assert.ok(piped.stdin);
    piped.stdin.end('through the pipe');
    assert.equal((await run(piped)).stdout.toString(), 'through the pipe');
    const bodyFile = join(dir, 'body.txt');
    writeFileSync(bodyFile, 'from a file');
    const fd = openSync(bodyFile, 'r');
    try {
      const fromFd = start(cat, { stdinFd: fd });
      assert.equal(fromFd.stdin, null);
      assert.equal((await run(fromFd)).stdout.toString(), 'from a file');
    } finally {
      closeSync(fd);
    }
  });

  it('reads stdin from the descriptor it was given even when the caller closes it at once', async () => {
    // Starters kept busy by scripts that run on: the start asked for last waits its turn.
    const sleeper = script('busy.sh', '#!/bin/sh\nexec sleep 30\n');
    const busy = Array.from({ length: 16 }, () => start(sleeper));
    try {
      const bodyFile = join(dir, 'own-body.txt');
      const otherFile = join(dir, 'other.txt');
      writeFileSync(bodyFile, 'the request body');
      writeFileSync(otherFile, 'somebody else\'s file');
      const fd = openSync(bodyFile, 'r');
      const proc = start(script('cat-stdin.sh', '#!/bin/sh\nexec cat\n'), { stdinFd: fd });
      closeSync(fd);
      // Most likely the same number, now naming another file.
      const other = openSync(otherFile, 'r');
      try {
        const { stdout, exit } = await run(proc);
        assert.deepEqual(exit, { code: 0, signal: null });
        assert.equal(stdout.toString(), 'the request body');
      } finally {
        closeSync(other);
      }
    } finally {
      for (const proc of busy) {
        proc.readStderr(() => {}, () => {});
        proc.kill();
      }
      await Promise.all(busy.map((proc) => proc.exited));
    }
  });

  it('hands over a large output whole to a slow reader (reading pauses and resumes)', async () => {
    const file = script('big.sh', '#!/bin/sh\nhead -c 8388608 /dev/urandom | tee "$OUT_COPY"\n');
    const copy = join(dir, 'big-copy');
    const proc = start(file, { env: { PATH: '/usr/bin:/bin', OUT_COPY: copy } });
    proc.readStderr(() => {}, () => {});
    const hash = createHash('sha256');
    let size = 0;
    for (let step = await proc.stdout.next(); !step.done; step = await proc.stdout.next()) {
      hash.update(step.value);
      size += step.value.length;
      // A reader slower than the script: the read-ahead fills up and reading stops until it drains.
      if (size % (1024 * 1024) < step.value.length) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(await proc.exited, { code: 0, signal: null });
    assert.equal(size, 8 * 1024 * 1024);
    assert.equal(hash.digest('hex'), createHash('sha256').update(readFileSync(copy)).digest('hex'));
  });

  it('kills the whole process group, also when asked before the start completed', async () => {
    const file = script('sleeper.sh', '#!/bin/sh\nsleep 30 &\necho $! > "$PIDS"\nsleep 30\n');
    const pids = join(dir, 'sleeper-pids');
    const early = start(file, { env: { PATH: '/usr/bin:/bin', PIDS: pids + '-early' } });
    early.kill();
    early.readStderr(() => {}, () => {});
    const exit = await early.exited;
    assert.equal(exit.signal, 'SIGKILL');
    const late = start(file, { env: { PATH: '/usr/bin:/bin', PIDS: pids } });
    late.readStderr(() => {}, () => {});
    for (let i = 0; i < 200 && !existsSync(pids); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const child = Number(readFileSync(pids, 'utf8'));
    late.kill();
    assert.equal((await late.exited).signal, 'SIGKILL');
    for (let i = 0; i < 100 && isRunning(child); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(isRunning(child), false, 'the background child went down with the group');
  });

  it('kills the process group also once the script has exited, while something it started holds its output', async () => {
    // The background sleep keeps stdout open: the run (and a time limit on it) outlasts the script.
    const file = script('leaves-child.sh', '#!/bin/sh\nsleep 30 &\necho $! > "$PIDS"\necho $$\n');
    const pids = join(dir, 'left-behind-pid');
    const proc = start(file, { env: { PATH: '/usr/bin:/bin', PIDS: pids } });
    proc.readStderr(() => {}, () => {});
    const first = await proc.stdout.next();
    assert.equal(first.done, false);
    const scriptPid = Number(first.value!.toString());
    const child = Number(readFileSync(pids, 'utf8'));
    try {
      for (let i = 0; i < 200 && isRunning(scriptPid); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      // Time for the launcher to hear of the exit, so that the kill comes after it.
      await new Promise((resolve) => setTimeout(resolve, 100));
      proc.kill();
      assert.deepEqual(await proc.exited, { code: 0, signal: null });
      for (let i = 0; i < 100 && isRunning(child); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(isRunning(child), false, 'the background child went down with the group');
    } finally {
      if (isRunning(child)) process.kill(child, 'SIGKILL');
    }
  });

  it('lets go of stdout on stop(): the script gets EPIPE, and its exit still arrives', async () => {
    const file = script('endless.sh', '#!/bin/sh\nwhile :; do echo line || exit 7; done\n');
    const proc = start(file);
    proc.readStderr(() => {}, () => {});
    const first = await proc.stdout.next();
    assert.equal(first.done, false);
    proc.stdout.stop();
    await assert.rejects(proc.stdout.next(), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    const exit = await proc.exited;
    // dash's echo reports the broken pipe (exit 7) unless SIGPIPE got it first.
    assert.ok(exit.code === 7 || exit.signal === 'SIGPIPE', JSON.stringify(exit));
  });

  it('leaves no zombie behind after many runs', async () => {
    const file = script('quick.sh', '#!/bin/sh\necho $$\n');
    const pids = await Promise.all(Array.from({ length: 40 }, async () => Number((await run(start(file))).stdout.toString())));
    assert.equal(new Set(pids).size, 40);
    for (const pid of pids) assert.equal(existsSync(`/proc/${pid}`), false, `process ${pid} was reaped`);
  });

  it('lets a worker thread that used it end, by itself or terminated with scripts still running, and keeps none of its descriptors', async () => {
    // In a process of its own: what this guards against is the whole process going down.
    const inWorker = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(${JSON.stringify(launcherModule)}).then(async ({ nativeLauncher }) => {
        const launcher = nativeLauncher();
        const start = (hasBody) => launcher.start({ file: '/bin/cat', args: [], cwd: '/', env: {}, runAs: undefined, hasBody });
        const quick = start(false);
        quick.readStderr(() => {}, () => {});
        while (!(await quick.stdout.next()).done) {}
        await quick.exited;
        // cat on a pipe the worker holds: it ends when the worker's handles close.
        if (workerData.leaveRunning) for (let i = 0; i < 3; i++) start(true).readStderr(() => {}, () => {});
        parentPort.postMessage('ready');
      });`;
    const program = `
      const { Worker } = require('node:worker_threads');
      const { readdirSync } = require('node:fs');
      (async () => {
        // Node opens a descriptor or two of its own for the first worker.
        await new Promise((resolve) => new Worker('', { eval: true }).once('exit', resolve));
        const before = readdirSync('/proc/self/fd').length;
        // A worker loads the addon afresh when no other thread holds it.
        for (const leaveRunning of [false, false, true]) {
          const worker = new Worker(${JSON.stringify(inWorker)}, { eval: true, workerData: { leaveRunning } });
          const ended = new Promise((resolve) => worker.once('exit', resolve));
          await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
          if (leaveRunning) await worker.terminate();
          await ended;
        }
        console.log('survived with ' + (readdirSync('/proc/self/fd').length - before) + ' more descriptors');
      })();`;
    assert.deepEqual(await inOwnProcess(program), { code: 0, signal: null, stdout: 'survived with 0 more descriptors' });
  });

  it('kills and reaps the scripts of a worker thread that is terminated while they run', async () => {
    const inWorker = `
      const { parentPort } = require('node:worker_threads');
      import(${JSON.stringify(launcherModule)}).then(async ({ nativeLauncher }) => {
        const launcher = nativeLauncher();
        const pids = [];
        for (let i = 0; i < 3; i++) {
          const proc = launcher.start({ file: '/bin/sh', args: ['-c', 'echo $$; exec sleep 30'], cwd: '/', env: {}, runAs: undefined, hasBody: false });
          proc.readStderr(() => {}, () => {});
          pids.push(Number(String((await proc.stdout.next()).value)));
        }
        parentPort.postMessage(pids);
      });`;
    const program = `
      const { Worker } = require('node:worker_threads');
      const { existsSync } = require('node:fs');
      (async () => {
        const worker = new Worker(${JSON.stringify(inWorker)}, { eval: true });
        const pids = await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
        const running = pids.filter((pid) => existsSync('/proc/' + pid)).length;
        await worker.terminate();
        console.log(running + ' running, then ' + pids.filter((pid) => existsSync('/proc/' + pid)).length + ' left');
      })();`;
    // Gone from /proc altogether: killed, and reaped rather than left as zombies.
    assert.deepEqual(await inOwnProcess(program), { code: 0, signal: null, stdout: '3 running, then 0 left' });
  });

  it('starts a burst of scripts on as many starter threads, not all on the one that was idle', async () => {
    // In a process of its own, for a pool of starters that has not grown yet.
    const program = `
      const { readdirSync, readFileSync } = require('node:fs');
      const starters = () => readdirSync('/proc/self/task').filter((task) => readFileSync('/proc/self/task/' + task + '/comm', 'utf8') === 'tsgi-starter\\n').length;
      import(${JSON.stringify(launcherModule)}).then(async ({ nativeLauncher }) => {
        const launcher = nativeLauncher();
        const start = (args) => launcher.start({ file: '/bin/sleep', args, cwd: '/', env: {}, runAs: undefined, hasBody: false });
        const first = start(['0']);
        first.readStderr(() => {}, () => {});
        while (!(await first.stdout.next()).done) {}
        await first.exited;
        // Time for its starter to go back to waiting.
        await new Promise((resolve) => setTimeout(resolve, 100));
        const idle = starters();
        // Each holds its starter for a moment (the wait for a quick exit): one thread would start them one by one.
        const burst = Array.from({ length: 4 }, () => start(['30']));
        const during = starters();
        for (const proc of burst) {
          proc.readStderr(() => {}, () => {});
          proc.kill();
        }
        await Promise.all(burst.map((proc) => proc.exited));
        console.log(idle + ' then ' + during);
      });`;
    assert.deepEqual(await inOwnProcess(program), { code: 0, signal: null, stdout: '1 then 4' });
  });

  it('switches to any uid and gid up to 2^32 - 2, and refuses one it cannot pass on rather than keep the server\'s', async () => {
    const file = script('uid.sh', '#!/bin/sh\nid -u; id -g\n');
    const asRoot = process.getuid?.() === 0;
    for (const id of [2 ** 31, 2 ** 32 - 2]) {
      const { stdout, exit } = await run(start(file, { runAs: { name: 'high', uid: id, gid: id } }));
      // Only root may switch; anyone else is refused by the kernel.
      if (asRoot) assert.equal(stdout.toString(), `${id}\n${id}\n`, `uid ${id}`);
      else assert.equal(exit.error?.code, 'EPERM', `uid ${id}`);
    }
    // -1 and 2^32 - 1 mean "unchanged" to setresuid.
    for (const id of [-1, -5, 2 ** 32 - 1, 2 ** 32, 1.5, Number.NaN]) {
      for (const runAs of [{ name: 'bad', uid: id, gid: 65534 }, { name: 'bad', uid: 65534, gid: id }]) {
        const { stdout, exit } = await run(start(file, { runAs }));
        assert.equal(exit.error?.code, 'EINVAL', JSON.stringify({ id, stdout: stdout.toString() }));
      }
    }
  });

  it('switches user and drops supplementary groups when the server is root', { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
    const file = script('ids.sh', '#!/bin/sh\nid -u; id -g; id -G\n');
    const { stdout } = await run(start(file, { runAs: { name: 'nobody', uid: 65534, gid: 65534 } }));
    assert.equal(stdout.toString(), '65534\n65534\n65534\n');
  });

  it('starts scripts normally after killing some (a killed cgroup is not used again where the kernel would kill its children)', async () => {
    const hang = script('hang.sh', '#!/bin/sh\necho up\nexec sleep 30\n');
    const quick = script('hello.sh', '#!/bin/sh\necho hello\n');
    for (let round = 0; round < 4; round++) {
      const killed = start(hang);
      killed.readStderr(() => {}, () => {});
      await killed.stdout.next();
      killed.kill();
      assert.equal((await killed.exited).signal, 'SIGKILL');
      for (let i = 0; i < 3; i++) {
        const { stdout, exit } = await run(start(quick));
        assert.deepEqual(exit, { code: 0, signal: null }, `round ${round}, run ${i}`);
        assert.equal(stdout.toString(), 'hello\n');
      }
    }
  });

  /** A process of its own that starts `sleep 60` through the launcher (as nobody under root) and prints its pid and folder, then waits. */
  function server(env: Record<string, string> = {}): Promise<{ child: ReturnType<typeof spawn>; pid: number; grandchild: number; folder: string }> {
    const runAs = process.getuid?.() === 0 ? '{ name: "nobody", uid: 65534, gid: 65534 }' : 'undefined';
    const program = `
      const { nativeLauncher, nativeContainment } = require(${JSON.stringify(fileURLToPath(launcherModule))});
      const proc = nativeLauncher().start({ file: '/bin/sh', args: ['-c', 'setsid sleep 60 & echo $$ $!; exec sleep 60'], cwd: '/', env: { PATH: '/usr/bin:/bin' }, runAs: ${runAs}, hasBody: false });
      proc.readStderr(() => {}, () => {});
      proc.stdout.next().then((step) => console.log(step.value.toString().trim() + ' ' + nativeContainment().detail));
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['-e', program], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    return new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
      child.stdout!.once('data', (data: Buffer) => {
        const [pid, grandchild, folder] = data.toString().trim().split(' ');
        resolve({ child, pid: Number(pid), grandchild: Number(grandchild), folder: folder! });
      });
    });
  }

  it('has its scripts killed when the server is (PR_SET_PDEATHSIG, set after the switch to nobody under root)', async () => {
    for (const env of [{}, { TSGI_RUN_CGROUPS: '0' }] as Record<string, string>[]) {
      const { child, pid, grandchild } = await server(env);
      try {
        child.kill('SIGKILL');
        await waitFor(() => !isRunning(pid), `the script ${pid} of a server killed with SIGKILL (${JSON.stringify(env)})`);
      } finally {
        if (isRunning(grandchild)) process.kill(grandchild, 'SIGKILL');
      }
    }
  });

  describe('with run cgroups', { skip: nativeContainment()?.kind === 'cgroup' ? false : `no run cgroups here (${nativeContainment()?.detail})` }, () => {
    it('lets go of the cgroups of killed runs by itself, not only when later runs start', async () => {
      // Each run cgroup holds two descriptors (its folder, its cgroup.events); a killed one
      // waited for a later start to be found empty, so 1,000 clients that went away at once
      // left 2,000 descriptors open until traffic came back.
      const runCgroups = () => readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return /\/r\d+$/.test(readlinkSync(`/proc/self/fd/${fd}`));
        } catch {
          return false;
        }
      }).length;
      const hang = script('hang-many.sh', '#!/bin/sh\necho up\nexec sleep 30\n');
      const runs = Array.from({ length: 150 }, () => start(hang));
      for (const proc of runs) {
        proc.readStderr(() => {}, () => {});
        await proc.stdout.next();
      }
      for (const proc of runs) {
        proc.kill();
        proc.stdout.stop();
      }
      await Promise.all(runs.map((proc) => proc.exited));
      // Empty ones go back to a pool of at most 128 (killed ones are removed where the kernel would kill what starts in them).
      await waitFor(() => runCgroups() <= 128, `the killed runs' cgroups to be let go (${runCgroups()} held)`, 5000);
    });

    it('removes its folder at exit, and a watchdog removes it with everything in it when the server is killed', async () => {
      const { child, grandchild, folder } = await server();
      assert.ok(existsSync(folder));
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      await waitFor(() => !existsSync(folder) && !isRunning(grandchild), `${folder} and the setsid child ${grandchild} of a server ended with SIGTERM`);
      const killed = await server();
      killed.child.kill('SIGKILL');
      await waitFor(() => !existsSync(killed.folder) && !isRunning(killed.grandchild), `${killed.folder} and the setsid child ${killed.grandchild} of a server killed with SIGKILL`);
    });

    it('removes the folders of tsgi processes that no longer run, nested ones too, when it starts', async () => {
      const base = dirname(nativeContainment()!.detail);
      // Pids no process has: above the kernel's limit.
      const gone = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')) + 1;
      const stale = [join(base, `tsgi-${gone}`), join(base, `tsgi-${gone + 1}-js`)];
      mkdirSync(join(stale[0]!, 'r0'), { recursive: true });
      mkdirSync(join(stale[1]!, 's0', 'r1'), { recursive: true });
      const { child } = await server();
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      for (const folder of stale) assert.equal(existsSync(folder), false, `${folder} is still there`);
    });
  });
});
