/** php-cgi children that tsgi starts itself (`phpApp({ spawn })`, `tsgi serve --php spawn`). */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { FastCgiProcessManager } from '../../gateways/fastcgi/process-manager.js';

export interface PhpSpawnOptions {
  /** The php-cgi program; by default the first of php-cgi, php-cgi8.x on PATH. */
  program?: string;
  /** Children at most. Default: the number of cores. */
  children?: number;
  /** Requests a child serves before it is replaced (PHP leaks slowly). Default 500, php-cgi's own. */
  maxRequests?: number;
  /** `-d name=value` settings for php.ini. */
  ini?: Record<string, string>;
  /** Variables for the children's environment (seen by PHP as getenv()). */
  env?: Record<string, string>;
  /** The user the children run as when tsgi runs as root. Default nobody. */
  user?: string | number;
  idleTimeout?: number;
}

const CANDIDATES = ['php-cgi', 'php-cgi8.4', 'php-cgi8.3', 'php-cgi8.2', 'php-cgi8.1'];

/** The php-cgi to run: the given one, or the first found on PATH; a clear error when there is none. */
export function findPhpCgi(program?: string, path = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'): string {
  const names = program === undefined ? CANDIDATES : [program];
  for (const name of names) {
    const places = name.includes('/') ? [name] : path.split(delimiter).filter(Boolean).map((dir) => join(dir, name));
    for (const place of places) {
      try {
        accessSync(place, constants.X_OK);
        return place;
      } catch {
        // not here
      }
    }
  }
  throw new Error(program === undefined
    ? 'php-cgi was not found on PATH (Debian and Ubuntu: apt-get install php-cgi); or point to a running php-fpm with --php HOST:PORT or a socket path'
    : `php-cgi ${JSON.stringify(program)} was not found or is not executable`);
}

export function spawnPhpCgi(options: PhpSpawnOptions, log?: (line: string) => void): FastCgiProcessManager {
  const command = findPhpCgi(options.program);
  const maxRequests = options.maxRequests ?? 500;
  const args: string[] = [];
  for (const [name, value] of Object.entries(options.ini ?? {})) args.push('-d', `${name}=${value}`);
  return new FastCgiProcessManager({
    command,
    args,
    env: {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      ...options.env,
      // One process per socket: the manager does the forking and counting, not php-cgi.
      PHP_FCGI_CHILDREN: '0',
      PHP_FCGI_MAX_REQUESTS: '0',
    },
    children: options.children,
    maxRequests,
    idleTimeout: options.idleTimeout,
    user: options.user,
    name: 'php-cgi',
    log,
  });
}
