/** `tsgi serve [DIR] [--cgi]`: static files and CGI scripts, like `python -m http.server --cgi`. */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { cgiHost } from '../apps/cgi-host.js';
import type { CgiOptions } from '../apps/cgi-host.js';
import { mount } from '../apps/mount.js';
import { staticFiles } from '../apps/static.js';
import type { Application } from '../types.js';
import { parseCommandLine, parsePort, UsageError } from './args.js';
import { checkCgiFlags, serveFolder } from './serve-checks.js';
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
  --cgi-spawner WAY   how scripts start: native (the addon npm install builds), python
                      (a small posix_spawn helper), direct (Node's spawn), or auto
                      (default: the first of these that is available)
  --bind ADDR         address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --port N            port to listen on (default: PORT from the environment, else 8000;
                      0 picks a free one)
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
}

const SPAWNERS = ['auto', 'native', 'python', 'direct'] as const;

/** The application `tsgi serve` runs: CGI hosts mounted on their folders, static files everywhere else. */
export function serveSite(options: SiteOptions): Application {
  const dir = resolve(options.dir);
  const cgiDirs = options.cgiDirs ?? [];
  const files = staticFiles({ root: dir, hide: cgiDirs });
  const routes: [string, Application][] = [];
  // Local redirects from scripts go back through the whole site, not just their own folder.
  const site: Application = (environ, startResponse) => dispatcher(environ, startResponse);
  for (const cgiDir of cgiDirs) {
    const folder = resolve(dir, '.' + cgiDir);
    if (!existsSync(folder) || !statSync(folder).isDirectory()) continue;
    routes.push([cgiDir, cgiHost({
      root: folder,
      documentRoot: dir,
      dispatch: site,
      ...(options.cgiTimeout !== undefined ? { timeout: options.cgiTimeout * 1000 } : {}),
      ...(options.cgiUser !== undefined ? { user: options.cgiUser } : {}),
      ...(options.cgiSpawner !== undefined ? { spawner: options.cgiSpawner } : {}),
    })]);
  }
  routes.push(['', files]);
  const dispatcher = mount(routes);
  return site;
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
    bind: { type: 'string' },
    port: { type: 'string' },
    'no-access-log': { type: 'boolean' },
    ...gatewayOptionSpec,
  }, 'tsgi serve --help');
  if (values.help) {
    process.stdout.write(serveHelp);
    return;
  }
  if (positionals.length > 1) throw new UsageError('tsgi serve takes at most one DIR');
  const dir = serveFolder(positionals[0]);
  const cgiDirs = values.cgi ? parseCgiDirs(values['cgi-dir']) : undefined;
  for (const warning of checkCgiFlags(values, dir, cgiDirs)) process.stderr.write(`tsgi: warning: ${warning}\n`);
  const timeoutText = values['cgi-timeout'];
  if (timeoutText !== undefined && !/^\d+(\.\d+)?$/.test(timeoutText)) throw new UsageError(`--cgi-timeout must be a number of seconds, got ${JSON.stringify(timeoutText)}`);
  const spawner = values['cgi-spawner'];
  if (spawner !== undefined && !(SPAWNERS as readonly string[]).includes(spawner)) {
    throw new UsageError(`--cgi-spawner must be one of ${SPAWNERS.join(', ')}, got ${JSON.stringify(spawner)}`);
  }
  let app: Application;
  try {
    app = serveSite({
      dir,
      ...(cgiDirs ? { cgiDirs } : {}),
      ...(timeoutText !== undefined ? { cgiTimeout: Number(timeoutText) } : {}),
      ...(values['cgi-user'] !== undefined ? { cgiUser: values['cgi-user'] } : {}),
      ...(spawner !== undefined ? { cgiSpawner: spawner as CgiOptions['spawner'] } : {}),
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  await startServing(app, {
    bind: values.bind ?? '127.0.0.1',
    port: parsePort(values.port, 8000),
    accessLog: !values['no-access-log'],
    ...gatewayOptions(values),
  });
}
