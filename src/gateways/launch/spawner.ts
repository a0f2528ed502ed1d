/**
 * Client side of the spawner (spawner-source.ts): one helper process per user scripts run as,
 * started on first use. A run costs the server two small socket writes instead of a fork of
 * its whole address space, and the event loop never waits for an exec.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { killDescendants } from './descendants.js';
import { fromStreams, signalName } from './process.js';
import type { Exit, Launcher, ScriptProcess, SpawnRequest } from './process.js';
import { SPAWNER_SOURCE } from './spawner-source.js';
import { delegatedFolder, killRunCgroup, moveInto, removeDelegatedFolder } from './run-cgroups.js';
import type { RunAs } from './user.js';

const PYTHONS = ['/usr/bin/python3', '/usr/local/bin/python3'];

interface Run {
  /** The relayed stderr: a plain Readable fed by frames (lighter than a PassThrough, one per run). */
  stderr: Readable;
  stderrClosed: boolean;
  /** Like a child's 'close': resolves once the script exited and its stderr has been read to the end. */
  resolve(exit: Exit): void;
  exit?: Exit;
  stderrEnded: boolean;
  pid?: number;
  /** The run's cgroup, when the spawner has a cgroup folder. */
  cgroup?: string;
  killed: boolean;
  exited: boolean;
  /** Exited, stderr ended and stdout closed: what is left in its cgroup is killed. */
  over: number;
}

let spawnerCount = 0;


function header(payload: object): Buffer {
  const json = Buffer.from(JSON.stringify(payload), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([length, json]);
}

function errnoError(code: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code} (reported by the spawner)`);
  error.code = code;
  return error;
}

function closeStderr(run: Run): void {
  if (run.stderrClosed) return;
  run.stderrClosed = true;
  run.stderr.push(null);
}

class Spawner implements Launcher {
  readonly takesFd = false;
  private readonly dir: string;
  private readonly socketPath: string;
  private readonly child: ChildProcess;
  /** A cgroup folder delegated to the spawner, which starts each run in a cgroup made in it. */
  private readonly cgroups: string | undefined;
  private readonly runs = new Map<number, Run>();
  private nextId = 1;
  private buffered: Buffer = Buffer.alloc(0);
  private ready: Promise<void>;
  private dead = false;
  /** Proves a connection to the socket comes from this server, not from a script running as the same user. */
  private readonly token = randomBytes(24).toString('hex');

  constructor(python: string, runAs: RunAs | undefined, private readonly key: string) {
    this.dir = mkdtempSync(join(tmpdir(), 'tsgi-spawner-'));
    chmodSync(this.dir, 0o700);
    if (runAs) chownSync(this.dir, runAs.uid, runAs.gid);
    this.socketPath = join(this.dir, 'socket');
    this.child = spawn(python, ['-I', '-S', '-c', SPAWNER_SOURCE, this.socketPath], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { PATH: '/usr/bin:/bin' },
      cwd: '/',
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    });
    // It waits for the token before anything else: in its folder by then, it starts every script inside.
    let cgroups = this.child.pid === undefined ? undefined : delegatedFolder(`s${spawnerCount++}`, runAs?.uid, runAs?.gid);
    if (cgroups !== undefined && !moveInto(cgroups, this.child.pid!)) {
      removeDelegatedFolder(cgroups);
      cgroups = undefined;
    }
    this.cgroups = cgroups;
    let markReady: () => void = () => {};
    let fail: (error: Error) => void = () => {};
    this.ready = new Promise((resolve, reject) => {
      markReady = resolve;
      fail = reject;
    });
    this.ready.catch(() => {});
    // A spawner that failed to start makes this write fail; its 'exit' or 'error' reports that.
    this.child.stdin!.on('error', () => {});
    this.child.stdin!.write(this.token + (this.cgroups === undefined ? '' : ' ' + this.cgroups) + '\n');
    this.child.stdout!.on('data', (chunk: Buffer) => this.onData(chunk, markReady));
    this.child.once('error', (error) => this.die(error, fail));
    this.child.once('exit', (code) => this.die(new Error(`the CGI spawner exited (code ${code})`), fail));
    // The helper keeps the process alive only while it has runs in flight.
    this.child.unref();
    (this.child.stdout as Socket).unref();
    (this.child.stdin as unknown as Socket).unref();
  }

  private die(error: Error, fail: (error: Error) => void): void {
    if (this.dead) return;
    this.dead = true;
    fail(error);
    for (const run of this.runs.values()) {
      closeStderr(run);
      run.stderrEnded = true;
      // A script already started runs on without anyone to report its exit: ESPAWNER_LOST tells the host so.
      const code = run.pid === undefined ? 'ESPAWNER' : 'ESPAWNER_LOST';
      run.resolve({ code: null, signal: null, error: Object.assign(new Error(error.message), { code }) });
    }
    this.runs.clear();
    rmSync(this.dir, { recursive: true, force: true });
    spawners.delete(this.key);
  }

  private onData(chunk: Buffer, markReady: () => void): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    for (;;) {
      const newline = this.buffered.indexOf(0x0a);
      if (newline < 0) return;
      const [kind, idText, lengthText] = this.buffered.subarray(0, newline).toString('latin1').split(' ');
      const length = Number(lengthText);
      if (this.buffered.length < newline + 1 + length) return;
      const payload = this.buffered.subarray(newline + 1, newline + 1 + length);
      this.buffered = this.buffered.subarray(newline + 1 + length);
      this.onFrame(kind!, Number(idText), payload, markReady);
    }
  }

  private onFrame(kind: string, id: number, payload: Buffer, markReady: () => void): void {
    if (kind === 'R') return markReady();
    const run = this.runs.get(id);
    if (!run) return;
    switch (kind) {
      case 'S': {
        // The server kills -pid as this: 0 or 1 there would mean its own group or every process.
        const [pidText, cgroup] = payload.toString('latin1').split(' ');
        const pid = Number(pidText);
        if (run.pid !== undefined || !Number.isInteger(pid) || pid <= 1) return;
        run.pid = pid;
        // Only a cgroup of the spawner's own folder, named as the spawner names them.
        if (cgroup !== undefined && this.cgroups !== undefined && /^r\d+$/.test(cgroup)) run.cgroup = join(this.cgroups, cgroup);
        if (run.killed) this.killGroup(run);
        return;
      }
      case 'E':
        if (!run.stderrClosed) run.stderr.push(Buffer.from(payload));
        return;
      case 'Z':
        closeStderr(run);
        return;
      case 'F':
        closeStderr(run);
        this.finish(id, run, { code: null, signal: null, error: errnoError(payload.toString('latin1')) });
        return;
      case 'X': {
        const [code, signal] = payload.toString('latin1').split(' ').map(Number);
        this.finish(id, run, { code: code! >= 0 ? code! : null, signal: signal ? signalName(signal) : null });
        return;
      }
    }
  }

  private finish(id: number, run: Run, exit: Exit): void {
    run.exited = true;
    run.exit = exit;
    if (run.stderrEnded) this.settle(id, run);
  }

  /** The run is over once it exited and its stderr ended, in whichever order the frames came. */
  private settle(id: number, run: Run): void {
    if (this.runs.delete(id) && this.runs.size === 0) (this.child.stdout as Socket).unref();
    this.endOfRun(run);
    run.resolve(run.exit!);
  }

  /**
   * Called at the exit (with stderr ended) and at the close of stdout: what is left then ends
   * too. The spawner removes an empty cgroup before it reports the exit, so mostly there is
   * none left to kill. No kill after this: the run's cgroup is not its business any more.
   */
  private endOfRun(run: Run): void {
    if (++run.over < 2 || run.cgroup === undefined) return;
    if (existsSync(run.cgroup)) killRunCgroup(run.cgroup);
    run.cgroup = undefined;
    run.exited = true;
  }

  private killGroup(run: Run): void {
    if (run.pid === undefined) return;
    // Also after the exit: what the script started may hold its output open.
    if (run.cgroup !== undefined) return killRunCgroup(run.cgroup);
    // The spawner reaps at once: after the exit, the pid may name another process.
    if (run.exited) return;
    killDescendants(run.pid);
  }

  async start(request: SpawnRequest): Promise<ScriptProcess> {
    const id = this.nextId++;
    const stderr = new Readable({ read() {} });
    let resolveExit: (exit: Exit) => void = () => {};
    const exited = new Promise<Exit>((resolve) => (resolveExit = resolve));
    const run: Run = { stderr, stderrClosed: false, resolve: resolveExit, killed: false, exited: false, stderrEnded: false, over: 0 };
    stderr.once('end', () => {
      run.stderrEnded = true;
      if (run.exit) this.settle(id, run);
    });
    this.runs.set(id, run);
    if (this.runs.size === 1) (this.child.stdout as Socket).ref();
    const sockets: Socket[] = [];
    const kill = () => {
      run.killed = true;
      this.killGroup(run);
      for (const socket of sockets) socket.destroy();
    };
    try {
      await this.ready;
      let stdin: Socket | null = null;
      if (request.hasBody) {
        stdin = connect(this.socketPath);
        sockets.push(stdin);
        stdin.write(header({ token: this.token, id, role: 'in' }));
        await new Promise<void>((resolve, reject) => stdin!.once('connect', resolve).once('error', reject));
      }
      const stdout = connect(this.socketPath);
      sockets.push(stdout);
      stdout.once('close', () => this.endOfRun(run));
      stdout.write(header({ token: this.token, id, role: 'out', file: request.file, args: request.args, env: request.env, cwd: request.cwd }));
      stdout.end();
      return { stdin, ...fromStreams(stdout, stderr), exited, kill };
    } catch (error) {
      for (const socket of sockets) socket.destroy();
      closeStderr(run);
      const code = (error as NodeJS.ErrnoException).code ?? 'ESPAWNER';
      this.finish(id, run, { code: null, signal: null, error: Object.assign(error as Error, { code }) });
      const stdout = new PassThrough();
      stdout.end();
      return { stdin: null, ...fromStreams(stdout, stderr), exited, kill };
    }
  }

}

const spawners = new Map<string, Spawner>();

function findPython(): string | undefined {
  for (const python of PYTHONS) {
    if (!existsSync(python)) continue;
    const probe = spawnSync(python, ['-I', '-S', '-c', 'import os, sys; sys.exit(0 if sys.version_info >= (3, 8) and hasattr(os, "posix_spawn") else 1)']);
    if (probe.status === 0) return python;
  }
  return undefined;
}

let python: string | null | undefined;

/** The Python the spawner runs on, or undefined when no 3.8+ with posix_spawn is installed. */
export function spawnerPython(): string | undefined {
  if (python === undefined) python = findPython() ?? null;
  return python ?? undefined;
}

/** The spawner for `runAs`, or undefined when no Python 3.8+ is installed to run it. */
export function spawnerFor(runAs: RunAs | undefined): Launcher | undefined {
  const python = spawnerPython();
  if (python === undefined) return undefined;
  const key = runAs ? `${runAs.uid}:${runAs.gid}` : 'self';
  let spawner = spawners.get(key);
  if (!spawner) {
    spawner = new Spawner(python, runAs, key);
    spawners.set(key, spawner);
  }
  return spawner;
}
