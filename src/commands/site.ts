/**
 * The application `tsgi serve` runs, composed from its settings: CGI folders, programs mounted
 * at prefixes, scripts by extension, PHP, static files, and Basic authentication in front of
 * all of them, so no route (nor a script's local redirect) goes around the password check.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { basicAuth } from '../apps/auth/basic-auth.js';
import { HtpasswdFile } from '../apps/auth/htpasswd.js';
import { cgiExtensions, cgiHost, cgiScript } from '../apps/cgi-host.js';
import type { CgiHostApplication, CgiOptions } from '../apps/cgi-host.js';
import { mount } from '../apps/mount.js';
import { phpApp } from '../apps/php/app.js';
import { scriptFilenameHost } from '../apps/script-filename.js';
import { staticFiles } from '../apps/static.js';
import type { Application } from '../types.js';

export interface AuthSetting {
  realm: string;
  /** An htpasswd file as Apache's htpasswd writes it. */
  file: string;
  /** The URL prefix protected; "" for the whole site. */
  prefix: string;
}

export interface SiteOptions {
  /** The folder served. */
  dir: string;
  /** CGI folders as URL paths below DIR, or undefined for no CGI. */
  cgiDirs?: string[];
  /** Programs answering everything under a URL prefix (ScriptAlias). */
  cgiScripts?: { prefix: string; program: string }[];
  /** Extensions run as CGI anywhere under DIR, with their interpreter (null: the file runs itself). */
  cgiExtensions?: Record<string, string | null>;
  /** Seconds per script run. */
  cgiTimeout?: number;
  cgiUser?: string;
  cgiSpawner?: CgiOptions['spawner'];
  /** Extensions of CGI scripts kept running as FastCGI children. */
  persistent?: string[];
  /** Variables set for every script (and every PHP request). */
  env?: Record<string, string>;
  /** Names of tsgi's own environment variables scripts may see. */
  passEnv?: string[];
  /** PHP for the files under DIR: a php-fpm address, or php-cgi children tsgi starts. */
  php?: { address: string } | { spawn: number | undefined };
  /** Areas behind Basic authentication. */
  auth?: AuthSetting[];
  /**
   * Behind a web server (FastCGI, SCGI): programs, or folders of them, the web server may name
   * in SCRIPT_FILENAME to have them run (fcgiwrap's -p); requests naming none go to the site.
   */
  allowPrograms?: string[];
}

export interface Site {
  app: Application;
  /** Stops what the site started (php-cgi children, pooled connections). */
  close(): Promise<void>;
}

/** The application `tsgi serve` runs: CGI hosts mounted on their folders, static files (or PHP) everywhere else. */
export function serveSite(options: SiteOptions): Application {
  return openSite(options).app;
}

export function openSite(options: SiteOptions): Site {
  const dir = resolve(options.dir);
  const cgiDirs = options.cgiDirs ?? [];
  // Local redirects from scripts go back through the whole site, password check included.
  const site: Application = (environ, startResponse) => guarded(environ, startResponse);
  const shared: CgiOptions = {
    documentRoot: dir,
    dispatch: site,
    ...(options.cgiTimeout !== undefined ? { timeout: options.cgiTimeout * 1000 } : {}),
    ...(options.cgiUser !== undefined ? { user: options.cgiUser } : {}),
    ...(options.cgiSpawner !== undefined ? { spawner: options.cgiSpawner } : {}),
    ...(options.env !== undefined ? { env: options.env } : {}),
    ...(options.passEnv !== undefined ? { passEnv: options.passEnv } : {}),
  };
  const php = options.php === undefined ? undefined : phpApp({
    root: dir,
    ...(options.env !== undefined ? { env: options.env } : {}),
    ...('address' in options.php ? { address: options.php.address } : { spawn: { children: options.php.spawn } }),
  });
  const hosts: CgiHostApplication[] = [];
  const statics = staticFiles({ root: dir, hide: cgiDirs });
  let files: Application = php ?? statics;
  if (options.cgiExtensions !== undefined) {
    const byExtension = cgiExtensions({ ...shared, root: dir, extensions: options.cgiExtensions, fallback: files });
    hosts.push(byExtension);
    files = byExtension;
  }
  const routes: [string, Application][] = [];
  for (const cgiDir of cgiDirs) {
    const folder = resolve(dir, '.' + cgiDir);
    if (!existsSync(folder) || !statSync(folder).isDirectory()) continue;
    const host = cgiHost({ ...shared, root: folder, ...(options.persistent !== undefined ? { persistent: options.persistent } : {}) });
    hosts.push(host);
    routes.push([cgiDir, host]);
  }
  for (const { prefix, program } of options.cgiScripts ?? []) {
    const host = cgiScript(program, shared);
    hosts.push(host);
    routes.push([prefix, host]);
  }
  routes.push(['', files]);
  const dispatcher = mount(routes);
  const named = options.allowPrograms === undefined ? undefined : scriptFilenameHost({ ...shared, allow: options.allowPrograms, fallback: dispatcher });
  if (named) hosts.push(named);
  const inner = named ?? dispatcher;
  const areas = (options.auth ?? []).map(({ realm, file, prefix }) => ({ realm, prefix, users: new HtpasswdFile(file) }));
  // In front of everything, programs the web server names included.
  const guarded = areas.length > 0 ? basicAuth(inner, areas) : inner;
  return {
    app: site,
    close: async () => {
      await Promise.all([php?.close(), ...hosts.map((host) => host.close())]);
    },
  };
}
