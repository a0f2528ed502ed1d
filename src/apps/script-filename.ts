/**
 * fcgiwrap's model: the web server decides which program answers, and names it in the
 * SCRIPT_FILENAME it sends (`fastcgi_param SCRIPT_FILENAME /usr/lib/cgit/cgit.cgi;`). A
 * FastCGI peer may send any path, so only programs on an allow-list run, as fcgiwrap's `-p`
 * does: a file allows itself, a folder every executable below it. SCRIPT_NAME and PATH_INFO
 * reach the program as the web server sent them, and so do its other params (GIT_PROJECT_ROOT,
 * CGIT_CONFIG), except those that change how a program starts (LD_*, PATH, NODE_OPTIONS, ...).
 */
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, resolve, sep } from 'node:path';
import type { Application, Environ } from '../types.js';
import { cgiScript } from './cgi-host.js';
import type { CgiHostApplication } from './cgi-host.js';
import type { CgiOptions } from './cgi/options.js';
import { logLine } from './cgi/settings.js';
import { textResponse } from './text-response.js';

// The CGI host sets these itself, from the request the web server described (addCgiVariables).
const SET_BY_HOST = new Set([
  'GATEWAY_INTERFACE', 'SERVER_SOFTWARE', 'SERVER_NAME', 'SERVER_PORT', 'SERVER_PROTOCOL', 'REQUEST_METHOD', 'QUERY_STRING',
  'SCRIPT_NAME', 'PATH_INFO', 'SCRIPT_FILENAME', 'PATH_TRANSLATED', 'REMOTE_ADDR', 'REMOTE_HOST', 'REMOTE_PORT', 'REQUEST_URI',
  'REDIRECT_STATUS', 'HTTPS', 'CONTENT_TYPE', 'CONTENT_LENGTH', 'AUTH_TYPE', 'REMOTE_USER',
]);
/**
 * Names that change how a program or its interpreter starts. Anyone who can reach the FastCGI
 * socket can send params, so these are never taken from a request (fcgiwrap takes all).
 */
const STARTUP_VARIABLES = /^(?:LD_.*|PATH|IFS|ENV|BASH_ENV|BASHOPTS|SHELLOPTS|PS4|NODE_OPTIONS|NODE_PATH|PERL5OPT|PERL5LIB|PERLLIB|PYTHON[A-Z_]*|RUBYOPT|RUBYLIB|GCONV_PATH|LOCPATH|HOSTALIASES|TMPDIR|MALLOC_.*|GLIBC_TUNABLES)$/;

/** The web server's own params (`fastcgi_param GIT_PROJECT_ROOT /srv/git;`): upper-case names that are neither CGI variables nor request headers. */
export function webServerParams(environ: Environ): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(environ)) {
    if (typeof value !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(name)) continue;
    if (name.startsWith('HTTP_') || SET_BY_HOST.has(name) || STARTUP_VARIABLES.test(name)) continue;
    params[name] = value;
  }
  return params;
}

export interface ScriptFilenameOptions extends CgiOptions {
  /** Programs that may be named, and folders whose executables may be. */
  allow: string[];
  /** Answers requests that carry no SCRIPT_FILENAME (default: a 400 saying so). */
  fallback?: Application;
}

/** The real path of each allowed entry, and whether it is a folder; throws naming the entry that does not exist. */
function allowList(entries: string[]): { path: string; folder: boolean }[] {
  if (entries.length === 0) throw new Error('scriptFilenameHost: `allow` names no program');
  return entries.map((entry) => {
    let path: string;
    try {
      path = realpathSync(resolve(entry));
    } catch {
      throw new Error(`scriptFilenameHost: the allowed program ${entry} does not exist`);
    }
    return { path, folder: statSync(path).isDirectory() };
  });
}

/** An Application running the program the web server names in SCRIPT_FILENAME, when the allow-list has it. */
export function scriptFilenameHost(options: ScriptFilenameOptions): CgiHostApplication {
  const allowed = allowList(options.allow);
  const { allow: _allow, fallback, ...cgiOptions } = options;
  const logTo = { log: options.log };
  // One CGI host per program, made on its first request: each keeps its own settings and persistent children.
  const hosts = new Map<string, CgiHostApplication>();

  const permitted = (real: string): boolean => allowed.some(({ path, folder }) =>
    folder ? real.startsWith(path.endsWith(sep) ? path : path + sep) : real === path);

  const app = ((environ: Environ, startResponse) => {
    const named = environ.SCRIPT_FILENAME;
    if (typeof named !== 'string' || named === '') {
      if (fallback) return fallback(environ, startResponse);
      return textResponse(startResponse, 400, 'The web server sent no SCRIPT_FILENAME naming the program to run.');
    }
    let real: string | undefined;
    try {
      real = isAbsolute(named) ? realpathSync(named) : undefined;
    } catch {
      real = undefined;
    }
    if (real === undefined || !permitted(real)) {
      logLine(logTo, environ, `cgi: SCRIPT_FILENAME ${JSON.stringify(named)} refused (403): ${real === undefined ? 'no such absolute path' : 'not on the allow-list (--allow-program)'}`);
      return textResponse(startResponse, 403, 'The program this request names is not one this server runs.');
    }
    let host = hosts.get(real);
    if (!host) hosts.set(real, (host = cgiScript(real, { requestEnv: webServerParams, ...cgiOptions })));
    return host(environ, startResponse);
  }) as CgiHostApplication;
  app.close = async () => {
    await Promise.all([...hosts.values()].map((host) => host.close()));
  };
  return app;
}
