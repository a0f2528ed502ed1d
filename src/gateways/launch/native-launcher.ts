/**
 * Starts scripts through tsgi's native addon (native/: launcher.c, starter.c, child.c,
 * events.c): a clone that shares the server's page tables instead of copying them as fork()
 * does, made on one of the addon's own starter threads, with stdout, stderr and the exit
 * watched in C and handed over one event at a time. Built by `npm install` where a C
 * compiler is present; without it, the other launchers serve.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Socket } from 'node:net';
import { constants } from 'node:os';
import { signalName } from './process.js';
import type { Exit, Launcher, ScriptProcess, SpawnRequest } from './process.js';
import type { ChunkPuller, Step } from './stdout-reader.js';

type Dispatcher = (id: number, kind: number, value: Buffer | number) => void;

interface NativeBinding {
  setDispatcher(dispatch: Dispatcher): void;
  /** `env`: "NAME=value" entries, each ended by NUL, in one string. */
  spawn(file: string, argv: string[], env: string, cwd: string, stdin: number, uid: number, gid: number): [id: number, stdinFd: number];
  pause(id: number): void;
  resume(id: number): void;
  release(id: number, which: number): void;
  kill(id: number): void;
  containment(): [kind: 'cgroup' | 'subreaper', detail: string];
  listenUnix(path: string, backlog: number, mode: number): number;
  closeFd(fd: number): void;
  dupFd(fd: number): number;
}

const enum Event { Stdout, StdoutEnd, Stderr, StderrEnd, Exit, Failed }
const STDOUT = 1;
const STDERR = 2;
const NEW_PIPE = -2;
const DEV_NULL = -1;
/** Bytes of stdout read ahead of the response before reading pauses. */
const READ_AHEAD = 256 * 1024;

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, number]) => [number, name]));

function errnoError(errno: number, what: string): NodeJS.ErrnoException {
  const code = ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
  return Object.assign(new Error(`${what}: ${code}`), { code, errno: -errno });
}

/** Runs the addon is reporting on, by id. */
const runs = new Map<number, NativeScript>();

let binding: NativeBinding | undefined;
let loadError: string | undefined;

/** The addon, or undefined (with the reason in `nativeUnavailable()`) when it was not built here. */
function loadBinding(): NativeBinding | undefined {
  if (binding || loadError) return binding;
  if (process.platform !== 'linux') {
    loadError = 'the native launcher is for Linux only';
    return undefined;
  }
  try {
    // From dist/src/gateways/launch/ to the package root, where node-gyp puts build/.
    binding = createRequire(import.meta.url)('../../../../build/Release/tsgi_launcher.node') as NativeBinding;
    binding.setDispatcher((id, kind, value) => runs.get(id)?.onEvent(kind, value));
  } catch (error) {
    binding = undefined;
    loadError = (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND'
      ? whyNotBuilt()
      : `the native launcher could not be loaded (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
  }
  return binding;
}

/**
 * Why build/ holds no addon: the install script leaves build/native-build.log whatever
 * happens, so without that file npm never ran it (npm 11 runs a dependency's install script
 * only once the project approves it).
 */
function whyNotBuilt(): string {
  const log = fileURLToPath(new URL('../../../../build/native-build.log', import.meta.url));
  let first: string | undefined;
  try {
    first = readFileSync(log, 'utf8').split('\n')[0];
  } catch {
    return 'the native launcher was not built: npm did not run tsgi\'s install script (npm 11 asks first: '
      + '`npm install-scripts approve tsgi && npm rebuild tsgi`; it needs python3, make and a C compiler)';
  }
  return `the native launcher was not built (${first?.replace(/^\S+ tsgi: /, '')}; the build's output is in ${log}, and \`npm rebuild tsgi\` tries again)`;
}

/** Why the native launcher cannot be used, or undefined when it can. */
export function nativeUnavailable(): string | undefined {
  loadBinding();
  return loadError;
}

/**
 * How the native launcher keeps hold of what a script starts, decided once per process:
 * `cgroup`, each run in a cgroup of its own (`detail`: the folder they are made in), so a kill
 * reaches everything, setsid or not; or `subreaper`, without cgroups (`detail`: why), each
 * script a child subreaper whose tree and session a kill looks up in /proc. Undefined without
 * the addon.
 */
export function nativeContainment(): { kind: 'cgroup' | 'subreaper'; detail: string } | undefined {
  const native = loadBinding();
  if (!native) return undefined;
  const [kind, detail] = native.containment();
  return { kind, detail };
}

const hasNul = (text: string) => text.includes('\0');

class NativeScript implements ScriptProcess, ChunkPuller {
  stdin: Socket | null = null;
  readonly stdout: ChunkPuller = this;
  readonly exited: Promise<Exit>;
  private resolveExit: (exit: Exit) => void = () => {};
  private id = -1;
  private exit: Exit | undefined;
  private killed = false;
  // stdout, read ahead up to READ_AHEAD bytes
  private readonly chunks: Buffer[] = [];
  private queued = 0;
  private paused = false;
  private stdoutDone = false;
  private stdoutFailure: Error | undefined;
  private waiter: { resolve(step: Step): void; reject(error: Error): void } | undefined;
  // stderr, held until readStderr is called
  private stderrChunk: ((chunk: Buffer) => void) | undefined;
  private stderrEnd: (() => void) | undefined;
  private readonly earlyStderr: Buffer[] = [];
  private stderrDone = false;

  constructor(private readonly native: NativeBinding) {
    this.exited = new Promise<Exit>((resolve) => (this.resolveExit = resolve));
  }

  start(request: SpawnRequest): this {
    let env = '';
    let nul = false;
    for (const name in request.env) {
      const value = request.env[name]!;
      nul ||= hasNul(name) || hasNul(value);
      env += name + '=' + value + '\0';
    }
    const argv = [request.file, ...request.args];
    // C strings end at NUL: such a value would reach the script cut short.
    if (nul || hasNul(request.cwd) || argv.some(hasNul)) {
      this.fail(Object.assign(new Error('an argument or variable contains NUL'), { code: 'EINVAL' }));
      return this;
    }
    // The addon reads -1 as "keep the server's": a user named with it must not run as root.
    if (request.runAs && (request.runAs.uid < 0 || request.runAs.gid < 0)) {
      this.fail(Object.assign(new Error(`cannot run as ${request.runAs.name}: uid ${request.runAs.uid}, gid ${request.runAs.gid}`), { code: 'EINVAL' }));
      return this;
    }
    const stdinMode = request.stdinFd ?? (request.hasBody ? NEW_PIPE : DEV_NULL);
    try {
      const [id, stdinFd] = this.native.spawn(request.file, argv, env, request.cwd, stdinMode, request.runAs?.uid ?? -1, request.runAs?.gid ?? -1);
      this.id = id;
      runs.set(id, this);
      if (stdinFd >= 0) {
        this.stdin = new Socket({ fd: stdinFd, readable: false, writable: true });
        // A script that stops reading makes writes fail with EPIPE; the pump notices by itself.
        this.stdin.on('error', () => {});
      }
    } catch (error) {
      this.fail(error as NodeJS.ErrnoException);
    }
    return this;
  }

  onEvent(kind: number, value: Buffer | number): void {
    switch (kind) {
      case Event.Stdout:
        this.chunks.push(value as Buffer);
        this.queued += (value as Buffer).length;
        if (this.queued >= READ_AHEAD && !this.paused) {
          this.paused = true;
          this.native.pause(this.id);
        }
        return this.settle();
      case Event.StdoutEnd:
        if (value !== 0) this.stdoutFailure = errnoError(value as number, 'reading the script\'s stdout');
        this.stdoutDone = true;
        this.settle();
        return this.maybeExited();
      case Event.Stderr:
        if (this.stderrChunk) this.stderrChunk(value as Buffer);
        else this.earlyStderr.push(value as Buffer);
        return;
      case Event.StderrEnd:
        this.endStderr();
        return this.maybeExited();
      case Event.Exit: {
        const status = value as number;
        this.exit = { code: status >= 0 ? status : null, signal: status < 0 ? signalName(-status) : null };
        // Killed, but something it started (with setsid) may hold the pipes open: they are let go.
        if (this.killed) this.releaseAll();
        return this.maybeExited();
      }
      case Event.Failed:
        return this.fail(errnoError(value as number, 'could not start the script'));
    }
  }

  private fail(error: NodeJS.ErrnoException): void {
    this.exit = { code: null, signal: null, error };
    this.stdoutDone = true;
    this.settle();
    this.endStderr();
    this.stdin?.destroy();
    this.maybeExited();
  }

  /** Like a child's 'close': the exit, once both pipes have been read to their end (or let go). */
  private maybeExited(): void {
    if (!this.exit || !this.stdoutDone || !this.stderrDone) return;
    // The addon has forgotten the run: its id may name another one from now on.
    runs.delete(this.id);
    this.id = -1;
    this.resolveExit(this.exit);
  }

  private endStderr(): void {
    if (this.stderrDone) return;
    this.stderrDone = true;
    this.stderrEnd?.();
  }

  private settle(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    const chunk = this.take();
    if (chunk) {
      this.waiter = undefined;
      waiter.resolve({ done: false, value: chunk });
    } else if (this.stdoutFailure) {
      this.waiter = undefined;
      waiter.reject(this.stdoutFailure);
    } else if (this.stdoutDone) {
      this.waiter = undefined;
      waiter.resolve({ done: true, value: undefined });
    }
  }

  private take(): Buffer | undefined {
    const chunk = this.chunks.shift();
    if (!chunk) return undefined;
    this.queued -= chunk.length;
    if (this.paused && this.queued < READ_AHEAD / 2) {
      this.paused = false;
      this.native.resume(this.id);
    }
    return chunk;
  }

  poll(): Step | undefined {
    if (this.waiter) return undefined;
    const chunk = this.take();
    if (chunk) return { done: false, value: chunk };
    return this.stdoutDone && !this.stdoutFailure ? { done: true, value: undefined } : undefined;
  }

  next(): Promise<Step> {
    const chunk = this.take();
    if (chunk) return Promise.resolve({ done: false, value: chunk });
    if (this.stdoutFailure) return Promise.reject(this.stdoutFailure);
    if (this.stdoutDone) return Promise.resolve({ done: true, value: undefined });
    return new Promise<Step>((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** Stops reading stdout (the script gets EPIPE if it writes on); the exit is still awaited. */
  stop(): void {
    this.chunks.length = 0;
    this.queued = 0;
    if (this.stdoutDone) return;
    this.native.release(this.id, STDOUT);
    this.stdoutDone = true;
    this.stdoutFailure ??= Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    this.settle();
    this.maybeExited();
  }

  readStderr(onChunk: (chunk: Buffer) => void, onEnd: () => void): void {
    this.stderrChunk = onChunk;
    this.stderrEnd = onEnd;
    for (const chunk of this.earlyStderr.splice(0)) onChunk(chunk);
    if (this.stderrDone) onEnd();
  }

  kill(): void {
    this.killed = true;
    // After the exit too: what the script left running may be what holds its output open.
    this.native.kill(this.id);
    if (this.exit) this.releaseAll();
  }

  private releaseAll(): void {
    this.stop();
    if (this.stderrDone) return;
    this.native.release(this.id, STDERR);
    this.endStderr();
    this.maybeExited();
  }
}

/** The native launcher, or undefined when the addon is not built or not supported here. */
export function nativeLauncher(): Launcher | undefined {
  const native = loadBinding();
  if (!native) return undefined;
  return { takesFd: true, start: (request) => new NativeScript(native).start(request) };
}

/**
 * A listening unix socket that Node does not accept on, for a FastCGI child's fd 0; undefined
 * (see nativeUnavailable()) without the addon. Throws with the errno's code.
 */
export function listenUnixSocket(path: string, backlog: number, mode: number): { fd: number; close(): void } | undefined {
  const native = loadBinding();
  if (!native) return undefined;
  const fd = native.listenUnix(path, backlog, mode);
  let open = true;
  return {
    fd,
    close: () => {
      if (open) native.closeFd(fd);
      open = false;
    },
  };
}

/** Descriptor calls of the addon (see native/listen.c), or undefined (see nativeUnavailable()) without it. */
export function nativeDescriptors(): { dup(fd: number): number; close(fd: number): void } | undefined {
  const native = loadBinding();
  if (!native) return undefined;
  return { dup: (fd) => native.dupFd(fd), close: (fd) => native.closeFd(fd) };
}
