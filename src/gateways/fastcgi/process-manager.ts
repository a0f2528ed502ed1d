/**
 * Starts FastCGI children itself (Apache mod_fcgid, lighttpd's `bin-path`): each child gets a
 * listening unix socket as its fd 0 (FCGI_LISTENSOCK_FILENO), the way php-cgi, fcgi_stdio
 * programs and `runCgi` scripts expect. One request per child at a time; a child is started on
 * demand, restarted when it dies (with back-off, giving up on one that cannot start), retired
 * after `maxRequests`, stopped when idle, replaced by `renew()` (a new build of the program),
 * and the whole set drained on close().
 *
 * The socket belongs to the slot, not the process: a restarted child listens on the same
 * socket, so connections waiting in its backlog are served by the new process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeExit } from '../launch/process.js';
import type { Launcher, ScriptProcess } from '../launch/process.js';
import { listenUnixSocket, nativeLauncher, nativeUnavailable } from '../launch/native-launcher.js';
import { resolveRunAs } from '../launch/user.js';
import type { RunAs } from '../launch/user.js';
import { LineSplitter } from '../line-splitter.js';
import type { Lease, Upstream } from '../upstream.js';
import { FastCgiGatewayError } from './errors.js';
import { WaitQueue } from '../wait-queue.js';
import type { CancelSignal } from '../cancel.js';

export interface ProcessManagerOptions {
  /** The program (an absolute path). */
  command: string;
  args?: string[];
  /** The children's whole environment: nothing of the server's own is passed unless named here. */
  env?: Record<string, string>;
  cwd?: string;
  /** Run the children as this user (a name or uid); null for the server's own. Default: nobody when the server runs as root. */
  user?: string | number | null;
  /** Children at most, started as requests need them. Default: the number of cores. */
  children?: number;
  /** Requests a child serves before it is replaced; 0 for no limit. Default 0. */
  maxRequests?: number;
  /** A child idle this long is stopped (one is always kept). Default 300,000 ms. */
  idleTimeout?: number;
  /** How long close() waits for requests in flight. Default 10,000 ms. */
  drainTimeout?: number;
  /** A child that exits sooner than this after starting counts as failing to start. Default 1,000 ms. */
  startGrace?: number;
  /** Failed starts in a row after which requests get 502 until a later start works. Default 5. */
  maxFailedStarts?: number;
  /** Names the children in the log. Default: the command's file name. */
  name?: string;
  log?: (line: string) => void;
}

/** What the children run; renew() can change it. */
export interface ChildProgram {
  command: string;
  args?: string[];
}

class Slot {
  process: ScriptProcess | undefined;
  busy = false;
  served = 0;
  /** The renewal its process was started in: an older one is replaced between requests. */
  generation = 0;
  startedAt = 0;
  stopping = false;
  idleTimer: NodeJS.Timeout | undefined;
  constructor(readonly index: number, readonly address: string, readonly socket: { fd: number; close(): void }) {}
}

export class FastCgiProcessManager implements Upstream {
  private readonly slots: Slot[] = [];
  private readonly waiting = new WaitQueue<Lease>();
  private readonly retireListeners: ((address: string, failure?: string) => void)[] = [];
  private readonly launcher: Launcher;
  private readonly runAs: RunAs | undefined;
  private readonly dir: string;
  private readonly name: string;
  private readonly log: (line: string) => void;
  private readonly settings: Required<Pick<ProcessManagerOptions, 'children' | 'maxRequests' | 'idleTimeout' | 'drainTimeout' | 'startGrace' | 'maxFailedStarts'>>;
  private failedStarts = 0;
  private retryAt = 0;
  private lastFailure = '';
  private closed = false;
  private drained: (() => void) | undefined;
  private program: ChildProgram;
  private generation = 0;

  constructor(private readonly options: ProcessManagerOptions) {
    this.program = { command: options.command, args: options.args ?? [] };
    const native = nativeLauncher();
    if (!native) throw new Error(`starting FastCGI children needs tsgi's native launcher: ${nativeUnavailable()}`);
    this.launcher = native;
    this.runAs = resolveRunAs(options.user);
    this.settings = {
      children: options.children ?? availableParallelism(),
      maxRequests: options.maxRequests ?? 0,
      idleTimeout: options.idleTimeout ?? 300_000,
      drainTimeout: options.drainTimeout ?? 10_000,
      startGrace: options.startGrace ?? 1_000,
      maxFailedStarts: options.maxFailedStarts ?? 5,
    };
    if (!Number.isInteger(this.settings.children) || this.settings.children < 1) throw new RangeError(`children must be a whole number of at least 1, not ${this.settings.children}`);
    this.name = options.name ?? options.command.split('/').pop()!;
    this.log = options.log ?? ((line) => process.stderr.write(line + '\n'));
    this.dir = mkdtempSync(join(tmpdir(), 'tsgi-fcgi-'));
    try {
      for (let index = 0; index < this.settings.children; index++) {
        const address = join(this.dir, `${index}.sock`);
        // The children may run as another user: the folder is private to the server, the socket only reachable through it.
        const socket = listenUnixSocket(address, 128, 0o600)!;
        this.slots.push(new Slot(index, address, socket));
      }
    } catch (error) {
      this.removeSockets();
      throw error;
    }
  }

  /** How many children are running now (for tests and the start line). */
  get running(): number {
    return this.slots.filter((slot) => slot.process !== undefined).length;
  }

  acquire(signal?: CancelSignal): Promise<Lease> {
    if (this.closed) return Promise.reject(new FastCgiGatewayError(503, `${this.name}: shutting down`));
    if (this.failedStarts >= this.settings.maxFailedStarts && Date.now() < this.retryAt) {
      return Promise.reject(new FastCgiGatewayError(502, `${this.name} keeps failing to start (${this.lastFailure}); next try in ${Math.ceil((this.retryAt - Date.now()) / 1000)} s`));
    }
    const slot = this.slots.find((each) => !each.busy && each.process !== undefined && !each.stopping)
      ?? this.slots.find((each) => !each.busy && each.process === undefined);
    if (slot) return Promise.resolve(this.lease(slot));
    return this.waiting.wait(signal, () => new FastCgiGatewayError(502, 'the request was aborted while waiting for a child'));
  }

  /**
   * Children started from now on run `program` (the same one again by default): the idle ones
   * stop now, the busy ones once their request is done, so the next request that gets a child
   * gets a new one and no request is cut short. A program that kept failing gets a fresh try.
   */
  renew(program: ChildProgram = this.program): void {
    if (this.closed) return;
    this.program = { command: program.command, args: program.args ?? [] };
    this.generation++;
    this.failedStarts = 0;
    this.retryAt = 0;
    for (const slot of this.slots) if (!slot.busy && slot.process !== undefined && !slot.stopping) void this.stop(slot);
  }

  onRetire(listener: (address: string, failure?: string) => void): void {
    this.retireListeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiting.rejectAll(new FastCgiGatewayError(503, `${this.name}: shutting down`));
    if (this.slots.some((slot) => slot.busy)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.settings.drainTimeout);
        timer.unref();
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await Promise.all(this.slots.map((slot) => this.stop(slot)));
    this.removeSockets();
  }

  private lease(slot: Slot): Lease {
    slot.busy = true;
    clearTimeout(slot.idleTimer);
    if (slot.process === undefined) this.start(slot);
    let released = false;
    return {
      address: slot.address,
      release: (reusable) => {
        if (released) return;
        released = true;
        this.release(slot, reusable);
      },
    };
  }

  private release(slot: Slot, reusable: boolean): void {
    slot.busy = false;
    slot.served++;
    if (this.closed) {
      if (!this.slots.some((each) => each.busy)) this.drained?.();
      return;
    }
    const spent = this.settings.maxRequests > 0 && slot.served >= this.settings.maxRequests;
    const outdated = slot.generation !== this.generation;
    if ((spent || outdated || !reusable) && slot.process) {
      // Replaced between requests, so no request is cut short; the socket and its backlog stay.
      void this.stop(slot);
    }
    if (slot.stopping) return; // handed on once it has exited
    if (!this.handToWaiting(slot) && slot.process) this.scheduleIdleStop(slot);
  }

  /** Gives a free slot to the first request waiting; false when none waits. */
  private handToWaiting(slot: Slot): boolean {
    const next = this.waiting.next();
    if (!next) return false;
    next.resolve(this.lease(slot));
    return true;
  }

  private scheduleIdleStop(slot: Slot): void {
    slot.idleTimer = setTimeout(() => {
      const staying = this.slots.filter((each) => each.process !== undefined && !each.stopping).length;
      if (slot.busy || staying <= 1) return;
      this.log(`${this.name} #${slot.index}: idle for ${this.settings.idleTimeout} ms, stopped`);
      void this.stop(slot);
    }, this.settings.idleTimeout);
    slot.idleTimer.unref();
  }

  private start(slot: Slot): void {
    slot.served = 0;
    slot.stopping = false;
    slot.startedAt = Date.now();
    slot.generation = this.generation;
    const started = this.launcher.start({
      file: this.program.command,
      args: this.program.args ?? [],
      cwd: this.options.cwd ?? '/',
      env: { ...this.options.env },
      runAs: this.runAs,
      hasBody: false,
      stdinFd: slot.socket.fd,
    });
    if (started instanceof Promise) throw new Error('the native launcher starts synchronously');
    const proc = started;
    slot.process = proc;
    // Logged, and the last line kept: it is the reason given when the program fails to start.
    let lastLine = '';
    const lines = new LineSplitter((line) => {
      lastLine = line;
      this.log(`${this.name} #${slot.index}: ${line}`);
    });
    proc.readStderr((chunk) => lines.push(chunk), () => lines.end());
    // A FastCGI child writes its replies to the socket; anything on stdout is only drained.
    void (async () => {
      for (;;) {
        const step = await proc.stdout.next().catch(() => ({ done: true as const, value: undefined }));
        if (step.done) return;
      }
    })();
    void proc.exited.then((exit) => {
      if (slot.process !== proc) return;
      slot.process = undefined;
      for (const listener of this.retireListeners) listener(slot.address);
      if (this.closed) return;
      const intended = slot.stopping;
      slot.stopping = false;
      if (!intended) {
        const how = describeExit(exit) ?? 'exit status 0';
        if (slot.served === 0 && Date.now() - slot.startedAt < this.settings.startGrace) {
          this.failedStarts++;
          this.lastFailure = lastLine ? `${how}: ${lastLine}` : how;
          this.retryAt = Date.now() + Math.min(30_000, 250 * 2 ** this.failedStarts);
          this.log(`${this.name} #${slot.index}: ${how} right after starting${lastLine ? ` (${lastLine})` : ''}`);
          // The request waiting in the socket's backlog would wait for a start that may never work.
          if (slot.busy) for (const listener of this.retireListeners) listener(slot.address, `${this.name} exited right after starting (${this.lastFailure})`);
        } else {
          this.failedStarts = 0;
          this.log(`${this.name} #${slot.index}: ${how} after ${slot.served} requests; started again when needed`);
        }
      }
      // A request handed this slot waits in the socket's backlog for a process: give it one.
      if (slot.busy) this.restartLater(slot, intended ? 0 : Math.max(0, this.retryAt - Date.now()));
      else this.handToWaiting(slot);
    });
  }

  private restartLater(slot: Slot, delay: number): void {
    const timer = setTimeout(() => {
      if (!this.closed && slot.process === undefined && slot.busy) this.start(slot);
    }, delay);
    timer.unref();
  }

  private async stop(slot: Slot): Promise<void> {
    clearTimeout(slot.idleTimer);
    const proc = slot.process;
    if (!proc) return;
    slot.stopping = true;
    proc.kill();
    await proc.exited;
  }

  private removeSockets(): void {
    for (const slot of this.slots) slot.socket.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
