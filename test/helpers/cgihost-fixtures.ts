/**
 * Test helpers for the CGI host: fixture scripts copied into a temp folder every user can
 * read (scripts run as `nobody` when the tests run as root), and a call that drives an
 * application through the real response engine and collects what a client would see.
 */
import { chmodSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runApplication } from '../../src/handler.js';
import type { ClientState, ResponseTarget } from '../../src/handler.js';
import type { Application, Environ, HeaderList } from '../../src/types.js';
import { setupTestingDefaults } from '../../src/util.js';

export const fixtureDir = fileURLToPath(new URL('../../../test/fixtures/cgi-host/', import.meta.url));

export interface FixtureSite {
  /** The temp folder holding `cgi-bin/` and friends. */
  dir: string;
  cgiBin: string;
  /** A world-writable folder for scripts to leave pid files in. */
  scratch: string;
  remove(): void;
}

export function copyFixtures(): FixtureSite {
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-cgi-test-'));
  chmodSync(dir, 0o755);
  cpSync(fixtureDir, dir, { recursive: true });
  const scratchDir = mkdtempSync(join(dir, 'scratch-'));
  chmodSync(scratchDir, 0o777);
  return {
    dir,
    cgiBin: join(dir, 'cgi-bin'),
    scratch: scratchDir,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface Collected {
  status: number;
  reason: string;
  headers: HeaderList;
  body: Buffer;
  aborted: unknown;
  log: string[];
}

export interface CallOptions {
  /** Request body chunks for tsgi.input. */
  body?: Uint8Array[];
  /** Make the client go away once this many body bytes arrived (0: after the head). */
  leaveAfter?: number;
}

export function header(result: Collected, name: string): string | undefined {
  return result.headers.find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
}

/** Runs `app` for one request built from `partial` and returns the response and the log lines. */
export async function call(app: Application, partial: Partial<Environ>, options: CallOptions = {}): Promise<Collected> {
  const log: string[] = [];
  const chunks = options.body ?? [];
  const environ = setupTestingDefaults({
    REMOTE_ADDR: '127.0.0.1',
    'tsgi.errors': { write: (text: string) => void log.push(...text.split('\n').filter(Boolean)) },
    'tsgi.input': { async *[Symbol.asyncIterator]() { yield* chunks; } },
    ...partial,
  });
  const listeners: (() => void)[] = [];
  const client: ClientState & { leave(): void } = {
    gone: false,
    onGone: (listener) => void listeners.push(listener),
    leave() {
      (this as { gone: boolean }).gone = true;
      for (const listener of listeners) listener();
    },
  };
  const result: Collected = { status: 0, reason: '', headers: [], body: Buffer.alloc(0), aborted: undefined, log };
  const parts: Buffer[] = [];
  let received = 0;
  const receive = (chunk: Uint8Array) => {
    parts.push(Buffer.from(chunk));
    received += chunk.length;
    if (options.leaveAfter !== undefined && received >= options.leaveAfter && !client.gone) client.leave();
  };
  const target: ResponseTarget = {
    sendHead(status, reason, headers) {
      result.status = status;
      result.reason = reason;
      result.headers = headers;
      if (options.leaveAfter === 0) setImmediate(() => client.leave());
    },
    write: receive,
    end(last) {
      if (last) receive(last);
    },
    abort(error) {
      result.aborted = error;
    },
  };
  await runApplication(app, environ, target, { client });
  result.body = Buffer.concat(parts);
  return result;
}

/** Parses `env | sort` output into a record. */
export function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

/** Waits until `check()` holds: script stderr and exit reports may be logged after the response ended. */
export async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!check()) throw new Error(`never happened: ${what}`);
}
