/**
 * The servers a scenario runs against, each on loopback on a free port: `tsgi serve --cgi`
 * (sh scripts), `tsgi run` (a TSGI app) and `tsgi run --fastcgi --workers 2` behind nginx.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startNginx, startTsgi, tempDir, type Peer } from '../test/helpers/fastcgi-peers.js';
import { descendants } from './procfs.js';
import type { Scope } from './processes.js';

export const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));

/** `soak/servers/NAME.js`, compiled. */
export function serverModule(name: string): string {
  return fileURLToPath(new URL(`./servers/${name}.js`, import.meta.url));
}

export interface Target {
  readonly name: string;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** The process tsgi started as (the primary, with workers). */
  readonly pid: number;
  /** The tsgi processes now: the server, or the primary and its current workers. */
  pids(): number[];
  /** nginx, when the target sits behind it. */
  readonly nginx?: Peer;
  /** Where tsgi listens for nginx, when it sits behind it. */
  readonly backendPort?: number;
  /** With --workers: the live workers that serve (they printed their start line). */
  serving?(): { pid: number; startTicks: number }[];
}

/** A folder a script run as nobody can enter (tsgi runs scripts as nobody when it runs as root). */
export function openDir(prefix: string): string {
  const dir = tempDir(prefix);
  chmodSync(dir, 0o755);
  return dir;
}

/** Writes executable sh scripts into DIR/cgi-bin: name → body after the #! line. */
export function writeCgiScripts(dir: string, scripts: Record<string, string>): void {
  const bin = join(dir, 'cgi-bin');
  mkdirSync(bin, { recursive: true, mode: 0o755 });
  for (const [name, body] of Object.entries(scripts)) writeFileSync(join(bin, name), `#!/bin/sh\n${body}`, { mode: 0o755 });
}

function httpTarget(name: string, pid: number, port: number): Target {
  return { name, url: `http://127.0.0.1:${port}`, port, pid, pids: () => [pid] };
}

/** `tsgi serve DIR --cgi` on a free port. */
export async function startServeCgi(scope: Scope, dir: string, env: Record<string, string> = {}): Promise<Target> {
  const port = await freePort();
  const tsgi = scope.add(await startTsgi(['serve', dir, '--cgi', '--port', String(port), '--no-access-log'], port, cli, [], env));
  return httpTarget('tsgi serve --cgi', tsgi.child.pid!, port);
}

/** `tsgi run MODULE` on a free port. */
export async function startRun(scope: Scope, module: string, env: Record<string, string> = {}): Promise<Target> {
  const port = await freePort();
  const tsgi = scope.add(await startTsgi(['run', module, '--port', String(port), '--no-access-log'], port, cli, [], env));
  return httpTarget('tsgi run', tsgi.child.pid!, port);
}

export interface FastcgiSetup {
  /** Directives added to the location that passes to tsgi (send_timeout, fastcgi_buffering off, ...). */
  location?: string;
  /** Keep-alive connections from nginx to the workers (default true; nginx's own default is off). */
  keepAlive?: boolean;
  workerConnections?: number;
  env?: Record<string, string>;
}

/** nginx in front of `tsgi run MODULE --fastcgi 127.0.0.1:PORT --workers 2`, keep-alive connections between them. */
export async function startFastcgiWorkers(scope: Scope, module: string, setup: FastcgiSetup = {}): Promise<Target> {
  const port = await freePort();
  const tsgi = scope.add(await startTsgi(['run', module, '--fastcgi', `127.0.0.1:${port}`, '--workers', '2'], port, cli, [], setup.env ?? {}));
  const pid = tsgi.child.pid!;
  const serving = () => servingWorkers(pid, tsgi.output());
  // Both workers serving: the port accepts as soon as the supervisor holds it.
  if (!(await listening(serving, 2, 30_000))) throw new Error(`two workers did not listen within 30 s:\n${tsgi.output()}`);
  const keepAlive = setup.keepAlive ?? true;
  const nginx = scope.add(await startNginx(`
    location / {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_NAME "";
      fastcgi_param PATH_INFO $uri;
      ${keepAlive ? 'fastcgi_keep_conn on;' : ''}
      fastcgi_pass backend;
      ${setup.location ?? ''}
    }`, `upstream backend { server 127.0.0.1:${port};${keepAlive ? ' keepalive 32;' : ''} }`, { workerConnections: setup.workerConnections ?? 4096 }));
  return {
    name: 'nginx + tsgi run --fastcgi --workers 2',
    url: `http://127.0.0.1:${nginx.port}`,
    port: nginx.port,
    backendPort: port,
    pid,
    pids: () => [pid, ...workersOf(pid).map((entry) => entry.pid)],
    nginx,
    serving,
  };
}

/** The live workers of a --workers primary. */
export function workersOf(primary: number): { pid: number; startTicks: number }[] {
  return descendants(primary).filter((entry) => entry.ppid === primary && entry.state !== 'Z');
}

/**
 * The live workers of `primary` that have said they serve, in `output`. (Each holds the
 * supervisor's listening socket from birth, so holding it says nothing.)
 */
export function servingWorkers(primary: number, output: string): { pid: number; startTicks: number }[] {
  const announced = new Set([...output.matchAll(/\(worker (\d+)\)/g)].map((match) => Number(match[1])));
  return workersOf(primary).filter((worker) => announced.has(worker.pid));
}

/** Waits until `count` workers serve; false if they do not within `limitMs`. */
export async function listening(serving: () => unknown[], count: number, limitMs: number): Promise<boolean> {
  for (const deadline = Date.now() + limitMs; Date.now() < deadline;) {
    if (serving().length >= count) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}
