/** Real web servers (nginx, lighttpd, apache2) run as child processes on free loopback ports with temp configs. */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopProcessGroup } from './process-group.js';
import { waitFor } from './wait-for.js';

export const isRoot = process.getuid?.() === 0;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number | string, child: ChildProcess, what: string, limitMs = 10_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} before listening`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = typeof port === 'number' ? connect(port, '127.0.0.1') : connect(port);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() - started > limitMs) throw new Error(`${what} did not listen on ${port} within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `tsgi-${prefix}-`));
}

export interface Peer {
  readonly port: number;
  readonly dir: string;
  readonly child: ChildProcess;
  /** The peer's error log so far (for assertion messages). */
  errorLog(): string;
  stop(): Promise<void>;
}

function startPeer(what: string, command: string, args: string[], dir: string, port: number, errorLogPath: string): Promise<Peer> {
  const output: string[] = [];
  // Its own process group, so stop() takes down the workers it forks too.
  const child = spawn(command, args, { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (data: Buffer) => output.push(data.toString()));
  child.stderr!.on('data', (data: Buffer) => output.push(data.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const peer: Peer = {
    port,
    dir,
    child,
    errorLog: () => {
      let text = output.join('');
      try {
        text += readFileSync(errorLogPath, 'utf8');
      } catch {
        // no log yet
      }
      return text;
    },
    async stop() {
      await stopProcessGroup(child, exited, 3000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return waitForPort(port, child, what).then(
    () => peer,
    async (error: Error) => {
      const log = peer.errorLog();
      await peer.stop();
      throw new Error(`${error.message}\n${log}`);
    },
  );
}

export interface NginxOptions {
  /** worker_connections (default 1024): client and upstream connections together. */
  workerConnections?: number;
}

/** nginx with `httpServer` as the body of one `server { listen PORT; ... }` block, plus `httpExtra` at http level. */
export async function startNginx(httpServer: string, httpExtra = '', options: NginxOptions = {}): Promise<Peer> {
  const dir = tempDir('nginx');
  const port = await freePort();
  const conf = `
${isRoot ? 'user root root;' : ''}
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections ${options.workerConnections ?? 1024}; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  scgi_temp_path ${dir}/scgi;
  uwsgi_temp_path ${dir}/uwsgi;
  client_max_body_size 0;
  ${httpExtra}
  server {
    listen 127.0.0.1:${port};
    ${httpServer}
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  // Beside the config, so `include fastcgi_params;` works as the docs write it (relative to the config's folder).
  for (const params of ['fastcgi_params', 'scgi_params']) copyFileSync(join('/etc/nginx', params), join(dir, params));
  return startPeer('nginx', '/usr/sbin/nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')], dir, port, join(dir, 'error.log'));
}

/** lighttpd with `body` appended to a minimal config listening on a free port. */
export async function startLighttpd(body: (dir: string) => string): Promise<Peer> {
  const dir = tempDir('lighttpd');
  const port = await freePort();
  const conf = `
server.document-root = "${dir}"
server.bind = "127.0.0.1"
server.port = ${port}
server.pid-file = "${dir}/lighttpd.pid"
server.errorlog = "${dir}/error.log"
server.max-request-size = 0
server.stream-request-body = 1
server.stream-response-body = 1
${body(dir)}
`;
  writeFileSync(join(dir, 'lighttpd.conf'), conf);
  return startPeer('lighttpd', '/usr/sbin/lighttpd', ['-D', '-f', join(dir, 'lighttpd.conf')], dir, port, join(dir, 'error.log'));
}

/** apache2 in the foreground with a self-contained config (no /etc/apache2, no APACHE_* environment). */
export async function startApache(body: string): Promise<Peer> {
  const dir = tempDir('apache');
  const port = await freePort();
  const modules = ['mpm_event', 'authz_core', 'proxy', 'proxy_fcgi', 'proxy_scgi'];
  const conf = `
ServerRoot "${dir}"
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile "${dir}/apache.pid"
ErrorLog "${dir}/error.log"
LogLevel warn
Mutex file:${dir} default
DefaultRuntimeDir "${dir}"

${modules.map((name) => `LoadModule ${name}_module /usr/lib/apache2/modules/mod_${name}.so`).join('\n')}
StartServers 1
ServerLimit 1
ThreadsPerChild 25
MaxRequestWorkers 25
${body}
`;
  writeFileSync(join(dir, 'apache.conf'), conf);
  return startPeer('apache2', '/usr/sbin/apache2', ['-f', join(dir, 'apache.conf'), '-DFOREGROUND'], dir, port, join(dir, 'error.log'));
}

export interface TsgiProcess {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  stop(): Promise<void>;
}

/**
 * Runs `tsgi ARGS...` from dist/ in its own process group and waits until `port` (or a unix socket path) accepts connections.
 * `nodeArgs` go to node before the script (a probe to load, say); `extraEnv` adds to the environment (TMPDIR, say).
 */
export async function startTsgi(args: string[], port: number | string, cliPath: string, nodeArgs: string[] = [], extraEnv: Record<string, string> = {}): Promise<TsgiProcess> {
  const env = { ...process.env, ...extraEnv };
  delete env.NODE_EXTRA_CA_CERTS;
  const child = spawn(process.execPath, [...nodeArgs, cliPath, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
  const output: string[] = [];
  child.stdout!.on('data', (data: Buffer) => output.push(data.toString()));
  child.stderr!.on('data', (data: Buffer) => output.push(data.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const tsgi: TsgiProcess = {
    child,
    output: () => output.join(''),
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    },
  };
  try {
    await waitForPort(port, child, 'tsgi');
    // A socket answers as soon as it is bound, before tsgi has set its mode: ready means the start line.
    await waitFor(() => /Serving (HTTPS?|FastCGI|SCGI) on/.test(output.join('')), 'the start line', 10_000, () => output.join(''));
  } catch (error) {
    await tsgi.stop();
    throw new Error(`${(error as Error).message}\n${tsgi.output()}`);
  }
  return tsgi;
}
