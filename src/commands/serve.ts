/** `tsgi serve [DIR] [--cgi]`: static files and CGI scripts, like `python -m http.server --cgi`. */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { cgiHost } from '../apps/cgi-host.js';
import type { CgiHostApplication, CgiOptions } from '../apps/cgi-host.js';
import { mount } from '../apps/mount.js';
import { staticFiles } from '../apps/static.js';
import { phpApp } from '../apps/php/app.js';
import { parseAddress } from '../frontends/listen.js';
import { checkPhp } from './php-check.js';
import type { Application } from '../types.js';
import { parseCommandLine, parsePort, UsageError } from './args.js';
import { gatewayHelp, gatewayOptions, gatewayOptionSpec, startServing } from './serving.js';

export const serveHelp = `Usage: tsgi serve [DIR] [options]

Serve the files in DIR (default: the current folder). With --cgi, executables in the
CGI folders (default /cgi-bin and /htbin below DIR) run as CGI scripts (RFC 3875)
instead of being served as files. When tsgi runs as root, scripts run as "nobody".

Options:
  --cgi               run CGI scripts in the CGI folders
  --cgi-dir LIST      comma-separated CGI folders (default /cgi-bin,/htbin)
  --cgi-timeout SECS  time limit per script run (default 120)
  --cgi-user USER     user scripts run as when tsgi runs as root (default nobody)
  --persistent EXTS   comma-separated extensions (.js,.py) of CGI scripts kept running as
                      FastCGI children instead of started per request (a script that
                      calls runCgi(app) serves both ways; see docs/cgi-scripts.md)
  --cgi-spawner WAY   how scripts start: native (the addon npm install builds), python
                      (a small posix_spawn helper), direct (Node's spawn), or auto
                      (default: the first of these that is available)
  --php ADDR          run .php files through a running php-fpm at HOST:PORT or a unix
                      socket path (index.php for folders, /index.php for paths that name
                      no file, PHP source never served)
  --php spawn[:N]     the same through N php-cgi children tsgi starts and keeps warm
                      (default N: the number of cores); php-cgi must be on PATH
  --bind ADDR         address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --port N            port to listen on (default 8000; 0 picks a free one)
  --no-access-log     do not log requests on stderr
${gatewayHelp(22)}  -h, --help          show this help
`;

export interface SiteOptions {
  /** The folder served. */
  dir: string;
  /** CGI folders as URL paths below DIR, or undefined for no CGI. */
  cgiDirs?: string[];
  /** Seconds per script run. */
  cgiTimeout?: number;
  cgiUser?: string;
  cgiSpawner?: CgiOptions['spawner'];
  /** Extensions of CGI scripts kept running as FastCGI children. */
  persistent?: string[];
  /** PHP for the files under DIR: a php-fpm address, or php-cgi children tsgi starts. */
  php?: { address: string } | { spawn: number | undefined };
}

export interface Site {
  app: Application;
  /** Stops what the site started (php-cgi children, pooled connections). */
  close(): Promise<void>;
}

const SPAWNERS = ['auto', 'native', 'python', 'direct'] as const;

/** The application `tsgi serve` runs: CGI hosts mounted on their folders, static files (or PHP) everywhere else. */
export function serveSite(options: SiteOptions): Application {
  return openSite(options).app;
}

export function openSite(options: SiteOptions): Site {
  const dir = resolve(options.dir);
  const cgiDirs = options.cgiDirs ?? [];
  const php = options.php === undefined ? undefined : phpApp({
    root: dir,
    ...('address' in options.php ? { address: options.php.address } : { spawn: { children: options.php.spawn } }),
  });
  const files = php ?? staticFiles({ root: dir, hide: cgiDirs });
  const routes: [string, Application][] = [];
  // Local redirects from scripts go back through the whole site, not just their own folder.
  const site: Application = (environ, startResponse) => dispatcher(environ, startResponse);
  const hosts: CgiHostApplication[] = [];
  for (const cgiDir of cgiDirs) {
    const folder = resolve(dir, '.' + cgiDir);
    if (!existsSync(folder) || !statSync(folder).isDirectory()) continue;
    const host = cgiHost({
      root: folder,
      documentRoot: dir,
      dispatch: site,
      ...(options.cgiTimeout !== undefined ? { timeout: options.cgiTimeout * 1000 } : {}),
      ...(options.cgiUser !== undefined ? { user: options.cgiUser } : {}),
      ...(options.cgiSpawner !== undefined ? { spawner: options.cgiSpawner } : {}),
      ...(options.persistent !== undefined ? { persistent: options.persistent } : {}),
    });
    hosts.push(host);
    routes.push([cgiDir, host]);
  }
  routes.push(['', files]);
  const dispatcher = mount(routes);
  return {
    app: site,
    close: async () => {
      await Promise.all([php?.close(), ...hosts.map((host) => host.close())]);
    },
  };
}

/** Reads `--persistent .js,.py`. */
function parsePersistent(text: string): string[] {
  const extensions = text.split(',').map((part) => part.trim()).filter(Boolean);
  for (const ext of extensions) {
    if (!/^\.?[A-Za-z0-9_-]+$/.test(ext)) throw new UsageError(`--persistent takes extensions like .js or .py, got ${JSON.stringify(ext)}`);
  }
  if (extensions.length === 0) throw new UsageError('--persistent needs at least one extension, like .js');
  return extensions;
}

/** Reads `--php`: `spawn`, `spawn:N`, or a responder address. */
function parsePhp(text: string): NonNullable<SiteOptions['php']> {
  const spawn = /^spawn(?::(.*))?$/.exec(text);
  if (spawn) {
    if (spawn[1] === undefined) return { spawn: undefined };
    if (!/^[1-9]\d*$/.test(spawn[1])) throw new UsageError(`--php spawn:N needs a whole number of children, got ${JSON.stringify(spawn[1])}`);
    return { spawn: Number(spawn[1]) };
  }
  try {
    const address = parseAddress(text);
    if (address.kind === 'fd') throw new TypeError('fd:N is for listening');
  } catch {
    throw new UsageError(`--php takes a php-fpm address (HOST:PORT or a unix socket path) or spawn[:N], got ${JSON.stringify(text)}`);
  }
  return { address: text };
}

function parseCgiDirs(text: string | undefined): string[] {
  const dirs = (text ?? '/cgi-bin,/htbin').split(',').map((part) => part.trim()).filter(Boolean);
  for (const dir of dirs) {
    if (!dir.startsWith('/') || dir.split('/').includes('..')) throw new UsageError(`--cgi-dir entries must be URL paths like /cgi-bin, got ${JSON.stringify(dir)}`);
  }
  return dirs;
}

export async function serveCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(argv, {
    cgi: { type: 'boolean' },
    'cgi-dir': { type: 'string' },
    'cgi-timeout': { type: 'string' },
    'cgi-user': { type: 'string' },
    'cgi-spawner': { type: 'string' },
    persistent: { type: 'string' },
    php: { type: 'string' },
    bind: { type: 'string' },
    port: { type: 'string' },
    'no-access-log': { type: 'boolean' },
    ...gatewayOptionSpec,
  });
  if (values.help) {
    process.stdout.write(serveHelp);
    return;
  }
  if (positionals.length > 1) throw new UsageError('tsgi serve takes at most one DIR');
  const dir = resolve(positionals[0] ?? '.');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${dir} is not a folder`);
  if (values['cgi-dir'] !== undefined && !values.cgi) throw new UsageError('--cgi-dir needs --cgi');
  if (values.persistent !== undefined && !values.cgi) throw new UsageError('--persistent needs --cgi');
  const timeoutText = values['cgi-timeout'];
  if (timeoutText !== undefined && !/^\d+(\.\d+)?$/.test(timeoutText)) throw new UsageError(`--cgi-timeout must be a number of seconds, got ${JSON.stringify(timeoutText)}`);
  const spawner = values['cgi-spawner'];
  if (spawner !== undefined && !(SPAWNERS as readonly string[]).includes(spawner)) {
    throw new UsageError(`--cgi-spawner must be one of ${SPAWNERS.join(', ')}, got ${JSON.stringify(spawner)}`);
  }
  let site: Site;
  try {
    site = openSite({
      dir,
      ...(values.cgi ? { cgiDirs: parseCgiDirs(values['cgi-dir']) } : {}),
      ...(timeoutText !== undefined ? { cgiTimeout: Number(timeoutText) } : {}),
      ...(values['cgi-user'] !== undefined ? { cgiUser: values['cgi-user'] } : {}),
      ...(spawner !== undefined ? { cgiSpawner: spawner as CgiOptions['spawner'] } : {}),
      ...(values.php !== undefined ? { php: parsePhp(values.php) } : {}),
      ...(values.persistent !== undefined ? { persistent: parsePersistent(values.persistent) } : {}),
    });
  } catch (error) {
    throw error instanceof UsageError ? error : new UsageError((error as Error).message);
  }
  if (values.php !== undefined) await checkPhp(values.php);
  await startServing(site.app, {
    onClose: () => site.close(),
    bind: values.bind ?? '127.0.0.1',
    port: parsePort(values.port, 8000),
    accessLog: !values['no-access-log'],
    ...gatewayOptions(values),
  });
}
