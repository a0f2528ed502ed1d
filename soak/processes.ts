/**
 * Everything a scenario starts (nginx, tsgi and its workers, wrk, helper servers) is kept
 * here and stopped in the scenario's `finally`. If the run dies anyway (an exception, Ctrl-C,
 * a failed assertion in a test), the exit hook kills what is left, synchronously.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { descendants } from './procfs.js';

export interface Started {
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

const live = new Set<Started>();
/** Plain children (wrk, client helpers): bounded by themselves, killed if the run ends first. */
const helpers = new Set<ChildProcess>();

/** Kills `child` when the run exits before it does. */
export function killOnExit(child: ChildProcess): ChildProcess {
  helpers.add(child);
  child.once('exit', () => helpers.delete(child));
  return child;
}

/** SIGKILL to everything below `pid` (CGI scripts may sit in groups of their own), then its group. */
export function killTree(pid: number): void {
  for (const entry of descendants(pid).reverse()) {
    try {
      process.kill(entry.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

process.on('exit', () => {
  for (const child of helpers) child.kill('SIGKILL');
  for (const started of live) if (started.child.pid !== undefined) killTree(started.child.pid);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`soak: ${signal}: stopping what was started\n`);
    process.exit(130);
  });
}

/** What one scenario started; `close()` stops it all, newest first. */
export class Scope {
  readonly #started: Started[] = [];

  add<T extends Started>(started: T): T {
    this.#started.push(started);
    live.add(started);
    return started;
  }

  async close(): Promise<void> {
    for (const started of this.#started.splice(0).reverse()) {
      const pid = started.child.pid;
      // Scripts a server started are not in its process group: they go first.
      if (pid !== undefined) for (const entry of descendants(pid).reverse()) {
        try {
          process.kill(entry.pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      await started.stop().catch(() => {});
      live.delete(started);
    }
  }
}

/** Starts a program in a process group of its own (so a stop takes its children too). */
export function startGroup(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Started & { output(): string; exited: Promise<void> } {
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
  const chunks: string[] = [];
  child.stdout!.on('data', (data: Buffer) => chunks.push(data.toString()));
  child.stderr!.on('data', (data: Buffer) => chunks.push(data.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    exited,
    output: () => chunks.join(''),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) killTree(child.pid!);
      await exited;
    },
  };
}
