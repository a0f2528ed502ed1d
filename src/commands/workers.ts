/**
 * `--workers N`: the primary process forks N copies of the same command (node:cluster),
 * which share the listening socket. It replaces a worker that dies, drains them all on
 * SIGTERM/SIGINT, and on SIGHUP replaces them one at a time, each old worker finishing
 * its requests in flight only after its replacement is listening.
 */
import cluster, { type Worker } from 'node:cluster';

export interface WorkerPool {
  /** Drains every worker and resolves once all have exited. */
  close(): Promise<void>;
  /** Replaces the workers one by one (what SIGHUP does). */
  reload(): Promise<void>;
}

// A worker that dies within this long of starting counts towards crash-loop back-off.
const EARLY_DEATH_MS = 1_000;
const MAX_BACKOFF_MS = 10_000;

function log(text: string): void {
  process.stderr.write(`tsgi[${process.pid}]: ${text}\n`);
}

function waitListening(worker: Worker): Promise<boolean> {
  return new Promise((resolve) => {
    const onListening = () => {
      worker.off('exit', onExit);
      resolve(true);
    };
    const onExit = () => {
      worker.off('listening', onListening);
      resolve(false);
    };
    worker.once('listening', onListening);
    worker.once('exit', onExit);
  });
}

function waitExit(worker: Worker): Promise<void> {
  if (worker.isDead()) return Promise.resolve();
  return new Promise((resolve) => worker.once('exit', () => resolve()));
}

/** Starts `count` workers from the primary; `handleSignals` wires SIGTERM/SIGINT/SIGHUP. */
export function superviseWorkers(count: number, handleSignals = true): WorkerPool {
  const workers = new Set<Worker>();
  /** Workers being replaced or stopped on purpose: their exit is not a crash. */
  const retiring = new Set<Worker>();
  let stopping = false;
  let backoff = 0;
  let closing: Promise<void> | undefined;
  const respawns = new Set<NodeJS.Timeout>();

  const fork = (): Worker => {
    const worker = cluster.fork();
    const born = Date.now();
    let listened = false;
    worker.once('listening', () => (listened = true));
    workers.add(worker);
    worker.once('exit', (code, signal) => {
      workers.delete(worker);
      if (retiring.delete(worker) || stopping) return;
      // One that never listened failed to start, however long it took to fail: no tight loop of start-ups.
      const early = !listened || Date.now() - born < EARLY_DEATH_MS;
      backoff = early ? Math.min(MAX_BACKOFF_MS, Math.max(100, backoff * 2)) : 0;
      log(`worker ${worker.process.pid} died (${signal ?? `exit code ${code}`}); starting a replacement in ${backoff} ms`);
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
    worker.process.kill('SIGTERM');
    return waitExit(worker);
  };

  // Each worker accepts on the shared socket itself: no hand-off through this process,
  // which both costs an IPC round trip per connection and was seen to stall a connection.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  for (let i = 0; i < count; i++) fork();

  let reloading: Promise<void> | undefined;
  const pool: WorkerPool = {
    close() {
      closing ??= (async () => {
        stopping = true;
        for (const timer of respawns) clearTimeout(timer);
        respawns.clear();
        await Promise.all([...workers].map(retire));
      })();
      return closing;
    },
    reload() {
      reloading ??= (async () => {
        for (const old of [...workers]) {
          if (stopping) break;
          const fresh = fork();
          if (!(await waitListening(fresh))) {
            log('a replacement worker failed to start; keeping the old ones');
            break;
          }
          await retire(old);
        }
        reloading = undefined;
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
