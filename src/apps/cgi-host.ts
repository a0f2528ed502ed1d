/**
 * Runs CGI programs (RFC 3875) as a TSGI application: `cgiHost({ root })` for a folder of
 * scripts mounted at a URL prefix, `cgiScript(path)` for one program serving everything under
 * its mount (git-http-backend, say). Being an Application, it can be served over HTTP, FastCGI
 * or SCGI alike. docs/cgi-host.md describes the behaviour in full.
 */
import { realpathSync, statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { Application, Body, Environ, StartResponse } from '../types.js';
import { checkProgram, rawPathProblem, resolveInFolder, Refusal } from './cgi/resolve.js';
import type { ProgramLocation } from './cgi/environment.js';
import { resolveByExtension } from './cgi/by-extension.js';
import type { CgiOptions } from './cgi/options.js';
import { runScript } from './cgi/run.js';
import { textResponse } from './text-response.js';
import { persistentScripts } from './cgi/persistent.js';
import type { RedirectTarget } from './cgi/run.js';
import { logLine, resolveSettings } from './cgi/settings.js';
import type { HostSettings } from './cgi/settings.js';

export type { CgiOptions, StderrSink } from './cgi/options.js';
export { RAW_OUTPUT_KEY } from './cgi/nph.js';
export type { RawOutput, TakeOver } from './cgi/nph.js';

/** A CGI host; close() stops the persistent scripts it started. */
export interface CgiHostApplication extends Application {
  close(): Promise<void>;
}

export interface CgiHostOptions extends CgiOptions {
  /** The folder whose executables are served; URL segments below the mount walk down it. */
  root: string;
}

function refuse(settings: HostSettings, environ: Environ, startResponse: StartResponse, refusal: Refusal): Body {
  logLine(settings, environ, `cgi: ${environ.REQUEST_METHOD} ${(environ.SCRIPT_NAME || '') + (environ.PATH_INFO || '')} refused (${refusal.status}): ${refusal.reason}`);
  return textResponse(startResponse, refusal.status, refusal.reason);
}

/** Splits a redirect path against a mount point: the host serves it only when it lies below `base`. */
function below(base: string, path: string): string | undefined {
  if (base === '') return path.startsWith('/') ? path : undefined;
  if (path === base) return '';
  return path.startsWith(base + '/') ? path.slice(base.length) : undefined;
}

/**
 * The Application around a way of finding the program for a request; `locate` answers
 * undefined for a request that is no script's, and `fallback` serves it.
 */
function hostApplication(
  settings: HostSettings, options: CgiOptions,
  locate: (pathInfo: string, base: string) => ProgramLocation | Refusal | undefined, fallback?: Application,
): CgiHostApplication {
  const persistent = persistentScripts(settings, options);
  const app = ((environ, startResponse) => {
    const base = environ.SCRIPT_NAME || '';
    const found = rawPathProblem(environ) ?? locate(environ.PATH_INFO || '', base);
    if (found instanceof Refusal) return refuse(settings, environ, startResponse, found);
    if (found === undefined) return fallback ? fallback(environ, startResponse) : refuse(settings, environ, startResponse, new Refusal(404, 'No such CGI script'));
    if (persistent?.handles(found.filename)) return persistent.forward(environ, startResponse, found);
    const redirectTarget: RedirectTarget = (path) => {
      const pathInfo = below(base, path);
      return pathInfo === undefined ? undefined : { app, scriptName: base, pathInfo };
    };
    return runScript({ environ, startResponse, location: found, settings, redirectTarget });
  }) as CgiHostApplication;
  app.close = async () => persistent?.close();
  return app;
}

/** An Application running the executables under `options.root`. */
export function cgiHost(options: CgiHostOptions): CgiHostApplication {
  const root = realpathSync(resolvePath(options.root));
  if (!statSync(root).isDirectory()) throw new Error(`CGI root ${root} is not a folder`);
  const settings = resolveSettings(options, root);
  return hostApplication(settings, options, (pathInfo, base) => resolveInFolder(root, base, pathInfo));
}

/** An Application running one program for every request under its mount (Go's cgi.Handler). */
export function cgiScript(program: string, options: CgiOptions = {}): CgiHostApplication {
  const file = resolvePath(program);
  const settings = resolveSettings(options, undefined);
  return hostApplication(settings, options, (pathInfo, base) => checkProgram(undefined, file, base, pathInfo));
}

export interface CgiExtensionOptions extends CgiOptions {
  /** The folder searched for scripts. */
  root: string;
  /**
   * Extension to interpreter: `{ '.cgi': null }` runs executables ending in .cgi themselves,
   * `{ '.py': '/usr/bin/python3' }` runs `python3 FILE` for any .py file, executable or not,
   * `{ '.ts': null }` runs node on the module tsgi compiles from each .ts file.
   */
  extensions: Record<string, string | null>;
  /** Names a folder answers with, in order. Default index.html, index.htm, then index plus each extension. */
  index?: string[];
  /** What serves requests that name no script (static files, usually); default 404. */
  fallback?: Application;
}

/** An Application running files by extension anywhere under `options.root` (Apache's AddHandler, lighttpd's cgi.assign). */
export function cgiExtensions(options: CgiExtensionOptions): CgiHostApplication {
  const root = realpathSync(resolvePath(options.root));
  if (!statSync(root).isDirectory()) throw new Error(`CGI root ${root} is not a folder`);
  const handlers = new Map<string, string | null>();
  for (const [ext, interpreter] of Object.entries(options.extensions)) {
    if (!/^\.[A-Za-z0-9_+-]+$/.test(ext)) throw new Error(`a CGI extension looks like ".cgi", got ${JSON.stringify(ext)}`);
    if (interpreter !== null && !interpreter.startsWith('/')) throw new Error(`the interpreter for ${ext} must be an absolute path, got ${JSON.stringify(interpreter)}`);
    handlers.set(ext.toLowerCase(), interpreter);
  }
  if (handlers.size === 0) throw new Error('cgiExtensions needs at least one extension');
  const index = options.index ?? ['index.html', 'index.htm', ...[...handlers.keys()].map((ext) => 'index' + ext)];
  const settings = resolveSettings(options, root);
  const rules = { root, handlers, index };
  return hostApplication(settings, options, (pathInfo, base) => resolveByExtension(rules, base, pathInfo), options.fallback);
}

export { scriptFilenameHost } from './script-filename.js';
export type { ScriptFilenameOptions } from './script-filename.js';
