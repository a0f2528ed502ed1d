/**
 * Starts a script with no shell, in a session of its own, and turns its stderr into log lines.
 * `startScript` spawns directly from the server; native-launcher.ts and spawner.ts do the
 * same without forking the server.
 *
 * A time limit or a client that left kills everything the script started. Node's spawn has no
 * hook between fork and exec, so the script cannot start inside a cgroup: it is moved into its
 * run's cgroup (run-cgroups.ts) once spawn returns, from the thread pool, which is after its
 * exec and often before it has got far, but not always: a fork in its first lines can come
 * first. So a kill also looks up the script's tree and session in /proc (descendants.ts),
 * which is all it does without cgroups.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { killDescendants } from './descendants.js';
import { killRunCgroup, moveIntoRunCgroup, releaseRunCgroup, takeRunCgroup } from './run-cgroups.js';
import { pullChunks } from './stdout-reader.js';
import type { ChunkPuller } from './stdout-reader.js';
import type { RunAs } from './user.js';

export interface SpawnRequest {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  runAs: RunAs | undefined;
  /** Whether the script gets a body on stdin; without one, stdin is empty. */
  hasBody: boolean;
  /** A descriptor to become stdin (a spooled body), for launchers that can take one. */
  stdinFd?: number;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the program could not be started at all. */
  error?: NodeJS.ErrnoException;
}

export interface ScriptProcess {
  /** Where the body goes, or null when stdin was given as a descriptor or there is no body. */
  stdin: Writable | null;
  stdout: ChunkPuller;
  /** Hands each piece of stderr to `onChunk`, then calls `onEnd`; called once, at once after the start. */
  readStderr(onChunk: (chunk: Buffer) => void, onEnd: () => void): void;
  /** Resolves once the process has exited and its stdio closed, or failed to start. */
  exited: Promise<Exit>;
  /** SIGKILL to everything the script started (its cgroup, or its process group, tree and session); harmless after exit. */
  kill(): void;
}

/** Starts scripts; `takesFd` says whether a spooled body may be handed over as a descriptor. */
export interface Launcher {
  readonly takesFd: boolean;
  start(request: SpawnRequest): ScriptProcess | Promise<ScriptProcess>;
}

export const directLauncher: Launcher = { takesFd: true, start: startScript };

/** Spawns from the server process itself (libuv fork + exec). */
export function startScript(request: SpawnRequest): ScriptProcess {
  // Taken (and made) before the spawn: after it, every moment counts.
  let cgroup = takeRunCgroup();
  let child: ChildProcessWithoutNullStreams;
  try {
    child = spawn(request.file, request.args, {
      cwd: request.cwd,
      env: request.env,
      stdio: [request.stdinFd ?? (request.hasBody ? 'pipe' : 'ignore'), 'pipe', 'pipe'],
      detached: true,
      shell: false,
      windowsHide: true,
      ...(request.runAs ? { uid: request.runAs.uid, gid: request.runAs.gid } : {}),
    }) as ChildProcessWithoutNullStreams;
  } finally {
    if (cgroup !== undefined && child! === undefined) releaseRunCgroup(cgroup);
  }
  if (cgroup !== undefined && child.pid === undefined) {
    releaseRunCgroup(cgroup);
    cgroup = undefined;
  }
  if (cgroup !== undefined) moveIntoRunCgroup(cgroup, child.pid!);
  let done = false;
  let exited = false;
  const finished = new Promise<Exit>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      done = true;
      resolve({ code: null, signal: null, error });
    });
    child.once('exit', () => (exited = true));
    child.once('close', (code, signal) => {
      done = true;
      // What the script left running ends with its run.
      if (cgroup !== undefined) releaseRunCgroup(cgroup);
      cgroup = undefined;
      resolve({ code, signal });
    });
  });
  // A script that stops reading makes writes fail with EPIPE; the pump notices by itself.
  child.stdin?.on('error', () => {});
  const kill = () => {
    if (done || child.pid === undefined) return;
    // The tree first: killed first, the script would leave its children to init, out of reach.
    // Once reaped, its pid may name another process: only its group is signalled then, as before.
    if (!exited) {
      killDescendants(child.pid);
    } else {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    if (cgroup !== undefined) killRunCgroup(cgroup.path);
  };
  return { stdin: child.stdin as Writable | null, ...fromStreams(child.stdout, child.stderr), exited: finished, kill };
}

/** The stdout and stderr of a ScriptProcess, from streams. */
export function fromStreams(stdout: Readable, stderr: Readable): Pick<ScriptProcess, 'stdout' | 'readStderr'> {
  return {
    stdout: pullChunks(stdout),
    readStderr(onChunk, onEnd) {
      stderr.on('data', onChunk);
      stderr.on('end', onEnd);
      stderr.on('error', () => {});
    },
  };
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(Object.entries(constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]));

/** The name of a signal that ended a script, reported by number (Node has none for the realtime ones: SIGKILL stands in). */
export function signalName(number: number): NodeJS.Signals {
  return SIGNAL_NAMES.get(number) ?? 'SIGKILL';
}

/** How the log describes an exit, or undefined for a clean one. */
export function describeExit(exit: Exit): string | undefined {
  if (exit.error) return `could not be started: ${exit.error.code ?? exit.error.message}`;
  if (exit.signal) return `killed by ${exit.signal}`;
  if (exit.code) return `exit status ${'0x' + exit.code.toString(16)}`;
  return undefined;
}
