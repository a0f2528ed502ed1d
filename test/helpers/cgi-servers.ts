/**
 * Starts real web servers that run CGI scripts from one directory, each on a free port in a
 * temp dir, for interop tests: python3 -m http.server --cgi, lighttpd mod_cgi, nginx with
 * fcgiwrap, Apache mod_cgi, and tsgi's own CGI host. Every server runs in its own process
 * group and is killed whole (tsgi's host runs in the test process and is closed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgiHost } from '../../src/apps/cgi-host.js';
import { mount } from '../../src/apps/mount.js';
import { makeServer } from '../../src/frontends/http.js';

export interface CgiServer {
  name: string;
  /** http://127.0.0.1:port/cgi-bin — scripts live below it. */
  base: string;
  /** Whether the server honours a script's Status header (python's http.server sends 200 first). */
  honoursStatus: boolean;
  /** Whether every request header reaches the script as HTTP_* (python's http.server passes a chosen few). */
  passesAllHeaders: boolean;
  /** The server's own error log, to show when a test fails. */
  log(): string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitFor(check: () => Promise<boolean>, what: string, child: ChildProcess, logFile?: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}${logFile ? ': ' + readLog(logFile) : ''}`);
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} did not start within 10 s${logFile ? ': ' + readLog(logFile) : ''}`);
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** A temp dir anyone can read: servers running as root hand scripts to www-data or nobody. */
function makeTempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tsgi-${name}-`));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'root'));
  return dir;
}

/** A clean environment for servers: no NODE_EXTRA_CA_CERTS (it costs every node start ~100 ms). */
function serverEnv(): Record<string, string> {
  return { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' };
}

function startProcess(command: string, args: string[], cwd: string, output?: string): ChildProcess {
  const child = spawn(command, args, { cwd, env: serverEnv(), detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (chunk: Buffer) => {
    if (output) writeFileSync(output, chunk, { flag: 'a' });
  });
  return child;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      process.kill(-child.pid!, signal);
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}

function server(name: string, port: number, dir: string, children: ChildProcess[], logFile: string, honoursStatus = true): CgiServer {
  return {
    name,
    base: `http://127.0.0.1:${port}/cgi-bin`,
    honoursStatus,
    passesAllHeaders: honoursStatus,
    log: () => readLog(logFile),
    async stop() {
      for (const child of children) await killGroup(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** python3 -m http.server --cgi, with the scripts' directory linked in as cgi-bin. */
export async function startPythonCgi(scripts: string): Promise<CgiServer> {
  const dir = makeTempDir('python');
  symlinkSync(scripts, join(dir, 'cgi-bin'));
  const port = await freePort();
  const logFile = join(dir, 'python.log');
  const child = startProcess('/usr/bin/python3', ['-m', 'http.server', '--cgi', '--bind', '127.0.0.1', String(port)], dir, logFile);
  await waitFor(() => listening(port), 'python3 -m http.server', child, logFile);
  return server('python http.server --cgi', port, dir, [child], logFile, false);
}

export async function startLighttpd(scripts: string): Promise<CgiServer> {
  const dir = makeTempDir('lighttpd');
  const port = await freePort();
  const logFile = join(dir, 'error.log');
  writeFileSync(join(dir, 'lighttpd.conf'), `
server.document-root = "${dir}/root"
server.bind = "127.0.0.1"
server.port = ${port}
server.errorlog = "${logFile}"
server.modules = ( "mod_alias", "mod_cgi" )
alias.url = ( "/cgi-bin/" => "${scripts}/" )
$HTTP["url"] =~ "^/cgi-bin/" { cgi.assign = ( "" => "" ) }
`);
  const child = startProcess('/usr/sbin/lighttpd', ['-D', '-f', join(dir, 'lighttpd.conf')], dir, logFile);
  await waitFor(() => listening(port), 'lighttpd', child, logFile);
  return server('lighttpd mod_cgi', port, dir, [child], logFile);
}

export async function startNginxFcgiwrap(scripts: string): Promise<CgiServer> {
  const dir = makeTempDir('nginx');
  const port = await freePort();
  const socket = join(dir, 'fcgiwrap.sock');
  const logFile = join(dir, 'error.log');
  const fcgiwrap = startProcess('/usr/sbin/fcgiwrap', ['-s', `unix:${socket}`], dir, logFile);
  await waitFor(async () => existsSync(socket), 'fcgiwrap', fcgiwrap, logFile);
  chmodSync(socket, 0o777); // nginx workers run as nobody
  const params = [
    ['QUERY_STRING', '$query_string'], ['REQUEST_METHOD', '$request_method'], ['CONTENT_TYPE', '$content_type'],
    ['CONTENT_LENGTH', '$content_length'], ['SCRIPT_NAME', '/cgi-bin/$1'], ['PATH_INFO', '$2'], ['SCRIPT_FILENAME', `${scripts}/$1`],
    ['REQUEST_URI', '$request_uri'], ['DOCUMENT_ROOT', '$document_root'], ['SERVER_PROTOCOL', '$server_protocol'],
    ['REQUEST_SCHEME', '$scheme'], ['GATEWAY_INTERFACE', 'CGI/1.1'], ['SERVER_SOFTWARE', 'nginx/$nginx_version'],
    ['REMOTE_ADDR', '$remote_addr'], ['REMOTE_PORT', '$remote_port'], ['SERVER_ADDR', '$server_addr'],
    ['SERVER_PORT', '$server_port'], ['SERVER_NAME', '$server_name'],
  ].map(([name, value]) => `      fastcgi_param ${name} ${value};`).join('\n');
  writeFileSync(join(dir, 'nginx.conf'), `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${logFile} warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  fastcgi_temp_path ${dir}/fastcgi;
  proxy_temp_path ${dir}/proxy;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    server_name localhost;
    root ${dir}/root;
    location ~ ^/cgi-bin/([^/]+)(/.*)?$ {
${params}
      fastcgi_pass unix:${socket};
    }
  }
}
`);
  const nginx = startProcess('/usr/sbin/nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', logFile], dir, logFile);
  await waitFor(() => listening(port), 'nginx', nginx, logFile);
  return server('nginx + fcgiwrap', port, dir, [nginx, fcgiwrap], logFile);
}

export async function startApache(scripts: string): Promise<CgiServer> {
  const dir = makeTempDir('apache');
  const port = await freePort();
  const logFile = join(dir, 'error.log');
  const modules = '/usr/lib/apache2/modules';
  const asRoot = process.getuid?.() === 0;
  writeFileSync(join(dir, 'apache2.conf'), `
ServerRoot "${dir}"
ServerName localhost
Listen 127.0.0.1:${port}
LoadModule mpm_prefork_module ${modules}/mod_mpm_prefork.so
LoadModule authz_core_module ${modules}/mod_authz_core.so
LoadModule alias_module ${modules}/mod_alias.so
LoadModule cgi_module ${modules}/mod_cgi.so
${asRoot ? 'User www-data\nGroup www-data' : ''}
PidFile ${dir}/apache2.pid
Mutex file:${dir} default
ErrorLog ${logFile}
LogLevel warn
StartServers 1
MinSpareServers 1
MaxSpareServers 2
DocumentRoot ${dir}/root
ScriptAlias /cgi-bin/ ${scripts}/
<Directory "${scripts}">
  Options +ExecCGI
  Require all granted
</Directory>
`);
  const child = startProcess('/usr/sbin/apache2', ['-d', dir, '-f', join(dir, 'apache2.conf'), '-DFOREGROUND'], dir, logFile);
  await waitFor(() => listening(port), 'apache2', child, logFile);
  return server('Apache mod_cgi', port, dir, [child], logFile);
}

/** tsgi's own CGI host (`cgiHost` mounted at /cgi-bin) behind its HTTP front end. */
export async function startTsgiCgiHost(scripts: string): Promise<CgiServer> {
  let log = '';
  const app = mount({ '/cgi-bin': cgiHost({ root: scripts, timeout: 20_000 }) });
  const server = await makeServer('127.0.0.1', 0, app, { accessLog: false, errors: { write: (text: string) => void (log += text) } });
  return {
    name: 'tsgi cgiHost',
    base: `http://127.0.0.1:${server.port}/cgi-bin`,
    honoursStatus: true,
    passesAllHeaders: true,
    log: () => log,
    stop: () => server.close(),
  };
}
