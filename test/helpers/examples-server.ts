/** Starts `tsgi` commands as child processes for the example tests, and stops them with their process group. */
import { spawn, type ChildProcess } from 'node:child_process';
import { isAbsolute } from 'node:path';
import { fromRoot } from './paths.js';
import { stopProcessGroup } from './process-group.js';

export interface RunningTsgi {
  /** The port tsgi reported it listens on. */
  port: number;
  child: ChildProcess;
  /** Everything the child wrote to stderr so far. */
  stderr(): string;
  /** Resolves with all of stderr once the child exited and its stderr closed. */
  finished: Promise<string>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Where the command runs (default: the repository root). */
  cwd?: string;
  /** The node binary that runs it (default: the one running the tests). */
  node?: string;
}

/** Runs `node dist/src/cli.js ...args` and resolves once a line on stderr matches `ready` (its first group is the port). */
export function startTsgi(args: string[], ready: RegExp = /port (\d+)/, env: Record<string, string> = {}, options: StartOptions = {}): Promise<RunningTsgi> {
  return startNode('dist/src/cli.js', args, ready, env, options);
}

/** Runs `node SCRIPT ...args` (SCRIPT from the repository root unless absolute), as startTsgi does. */
export function startNode(script: string, args: string[], ready: RegExp = /port (\d+)/, env: Record<string, string> = {}, options: StartOptions = {}): Promise<RunningTsgi> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.NODE_EXTRA_CA_CERTS;
  const child = spawn(options.node ?? process.execPath, [isAbsolute(script) ? script : fromRoot(script), ...args], {
    cwd: options.cwd ?? fromRoot(), env: childEnv, stdio: ['ignore', 'ignore', 'pipe'], detached: true,
  });
  let stderr = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const finished = new Promise<string>((resolve) => child.once('close', () => resolve(stderr)));
  const stop = (): Promise<void> => stopProcessGroup(child, exited, 5000);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`tsgi ${args.join(' ')} did not start within 15 s; stderr:\n${stderr}`));
    }, 15_000);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      stderr += text;
      const match = ready.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve({ port: Number(match[1]), child, stderr: () => stderr, finished, stop });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tsgi ${args.join(' ')} exited with ${code}; stderr:\n${stderr}`));
    });
  });
}
