/**
 * `--workers N`: the primary process forks N copies of the same command, which serve on the
 * listening socket the primary holds (shared-listener.ts), handed to each as its fd 4, so
 * that a connection waits in the backlog while no worker runs; without the addon, they are
 * node:cluster workers and share theirs through it. It replaces a worker that dies, drains them all on
 * SIGTERM/SIGINT, and on SIGHUP replaces them one at a time, each old worker finishing
 * its requests in flight only after its replacement is listening. An application that cannot
 * start is retried with a growing delay, then given up: the supervisor exits 1 with the reason.
 */
import { fork as forkProcess, type ChildProcess } from 'node:child_process';
import cluster from 'node:cluster';
import { WORKER_FD, type SharedListener } from './shared-listener.js';
import { WORKER_VARIABLE } from './worker-process.js';

type Worker = ChildProcess;

export interface WorkerPool {
  /** Drains every worker and resolves once all have exited. */
  close(): Promise<void>;
  /**
   * Replaces the workers one by one (what SIGHUP does); resolves true when all were replaced,
   * false when a replacement could not start and the old workers kept serving. With no worker
   * left (the application never started), starts afresh.
   */
  reload(): Promise<boolean>;
}

export interface SupervisorOptions {
  /** Wire SIGTERM/SIGINT (drain, exit 0) and SIGHUP (reload). Default true. */
  handleSignals?: boolean;
  /** Workers in a row that may exit before they listen before the supervisor gives up. Default 8 (delays of 0.1 to 6.4 s: about 13 s of retries for one worker). */
  maxFailedStarts?: number;
  /** Called once the supervisor gave up and its other workers have drained. Default: exit 1. */
  onGiveUp?: (reason: string) => void;
  /** Keep running after giving up, until reload() tries again (--reload: the next change may fix it). Default false. */
  waitAfterGivingUp?: boolean;
  /** The socket every worker serves on, held here till close(); without it, workers share theirs through node:cluster. */
  listener?: SharedListener;
}

/** What a worker that could not start tells its supervisor before it exits (sent by cli.ts). */
export interface StartFailure {
  tsgi: 'start-failed';
  reason: string;
}

/** What a worker tells its supervisor once it serves (sent by serving.ts). */
export interface Listening {
  tsgi: 'listening';
}

function isStartFailure(message: unknown): message is StartFailure {
  return typeof message === 'object' && message !== null && (message as StartFailure).tsgi === 'start-failed' && typeof (message as StartFailure).reason === 'string';
}

function isListening(message: unknown): message is Listening {
  return typeof message === 'object' && message !== null && (message as Listening).tsgi === 'listening';
}

/** Calls `then` once `worker` says it serves. */
function onListening(worker: Worker, then: () => void): () => void {
  const onMessage = (message: unknown) => {
    if (!isListening(message)) return;
    worker.off('message', onMessage);
    then();
  };
  worker.on('message', onMessage);
  return () => worker.off('message', onMessage);
}

// A worker that dies within this long of starting counts towards crash-loop back-off.
const EARLY_DEATH_MS = 1_000;
const MAX_BACKOFF_MS = 10_000;

function log(text: string): void {
  process.stderr.write(`tsgi[${process.pid}]: ${text}\n`);
}

function waitListening(worker: Worker): Promise<boolean> {
  return new Promise((resolve) => {
    const onExit = () => {
      stopWaiting();
      resolve(false);
    };
    const stopWaiting = onListening(worker, () => {
      worker.off('exit', onExit);
      resolve(true);
    });
    worker.once('exit', onExit);
  });
}

function waitExit(worker: Worker): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => worker.once('exit', () => resolve()));
}

/** Starts `count` workers from the primary. */
export function superviseWorkers(count: number, options: SupervisorOptions = {}): WorkerPool {
  const handleSignals = options.handleSignals ?? true;
  const maxFailedStarts = options.maxFailedStarts ?? 8;
  const onGiveUp = options.onGiveUp ?? (() => process.exit(1));
  const workers = new Set<Worker>();
  /** Workers being replaced or stopped on purpose: their exit is not a crash. */
  const retiring = new Set<Worker>();
  let stopping = false;
  let backoff = 0;
  /** Workers in a row that exited before they listened; any worker listening resets it. */
  let failedStarts = 0;
  let closing: Promise<void> | undefined;
  let gaveUp = false;
  const respawns = new Set<NodeJS.Timeout>();
  let forked = 0;
  const listener = options.listener;
  // stdin, stdout, stderr as node:cluster's workers have them, the channel, then the socket.
  const stdio: (number | 'ipc')[] = [0, 1, 2, 'ipc'];
  if (listener) stdio[WORKER_FD] = listener.fd;
  const start = (): Worker => {
    const env = { ...listener?.env, [WORKER_VARIABLE]: String(++forked) };
    if (!listener) return cluster.fork(env).process;
    return forkProcess(process.argv[1]!, process.argv.slice(2), { env: { ...process.env, ...env }, execArgv: process.execArgv, stdio });
  };

  /** `trial`: a replacement on probation, whose failing to start leaves the old workers serving rather than being retried. */
  const fork = (trial = false): Worker => {
    const worker = start();
    const born = Date.now();
    let listened = false;
    let startFailure: string | undefined;
    onListening(worker, () => {
      listened = true;
      failedStarts = 0;
    });
    worker.on('message', (message: unknown) => {
      if (isStartFailure(message)) startFailure = message.reason;
    });
    workers.add(worker);
    worker.once('exit', (code, signal) => {
      workers.delete(worker);
      if (retiring.delete(worker) || stopping) return;
      if (trial && !listened) return;
      const death = signal ?? `exit code ${code}`;
      if (!listened && ++failedStarts >= maxFailedStarts) {
        const reason = `${failedStarts} workers in a row exited before they listened; the last (${death}) said: ${startFailure ?? 'nothing'}`;
        log(`giving up: ${reason}`);
        gaveUp = true;
        if (options.waitAfterGivingUp) {
          options.onGiveUp?.(reason);
          return;
        }
        void pool.close().then(() => onGiveUp(reason));
        return;
      }
      // One that never listened failed to start, however long it took to fail: no tight loop of start-ups.
      const early = !listened || Date.now() - born < EARLY_DEATH_MS;
      backoff = early ? Math.min(MAX_BACKOFF_MS, Math.max(100, backoff * 2)) : 0;
      log(`worker ${worker.pid} died (${death}); starting a replacement in ${backoff} ms`);
      // Not unref'd: with every worker dead, this timer is all that keeps the supervisor from exiting 0.
      const timer = setTimeout(() => {
        respawns.delete(timer);
        if (!stopping) fork();
      }, backoff);
      respawns.add(timer);
    });
    return worker;
  };

  const retire = (worker: Worker): Promise<void> => {
    retiring.add(worker);
    worker.kill('SIGTERM');
    return waitExit(worker);
  };

  // Without a socket of ours: each node:cluster worker accepts on the shared socket itself, no
  // hand-off through this process, which both costs an IPC round trip per connection and was
  // seen to stall a connection.
  if (!listener) cluster.schedulingPolicy = cluster.SCHED_NONE;
  for (let i = 0; i < count; i++) fork();

  let reloading: Promise<boolean> | undefined;
  const pool: WorkerPool = {
    close() {
      closing ??= (async () => {
        stopping = true;
        for (const timer of respawns) clearTimeout(timer);
        respawns.clear();
        // New connections are refused from now: the workers close their copies as they begin to drain.
        listener?.close();
        await Promise.all([...workers].map(retire));
      })();
      return closing;
    },
    reload() {
      reloading ??= (async () => {
        let replaced = true;
        if (workers.size === 0 && gaveUp && !stopping) {
          // Nothing serves: the application never started. Try it again as the first worker.
          gaveUp = false;
          failedStarts = 0;
          replaced = await waitListening(fork(true));
        }
        for (const old of [...workers]) {
          if (stopping || !replaced) break;
          const fresh = fork(true);
          if (!(await waitListening(fresh))) {
            log('a replacement worker failed to start; keeping the old ones');
            replaced = false;
            break;
          }
          await retire(old);
        }
        reloading = undefined;
        return replaced;
      })();
      return reloading;
    },
  };

  if (handleSignals) {
    const stop = (signal: NodeJS.Signals) => {
      if (!closing) log(`${signal}: workers finish their requests in flight, then stop`);
      void pool.close().then(() => process.exit(0));
    };
    // `on`, not `once`: a second signal must not kill the supervisor while its workers drain.
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGHUP', () => {
      log('SIGHUP: replacing workers one by one');
      void pool.reload();
    });
  }
  return pool;
}
