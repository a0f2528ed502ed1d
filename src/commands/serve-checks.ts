/**
 * The `tsgi serve` command-line mistakes that would otherwise pass in silence: a port given
 * where DIR goes, CGI options without --cgi, CGI folders that do not exist, a --cgi-user
 * scripts cannot run as. Each is an error, or a warning when serving still makes sense.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { resolveRunAs, RunAsError } from '../gateways/launch/user.js';
import { UsageError } from './args.js';

export interface ServeFlags {
  cgi?: boolean;
  'cgi-dir'?: string;
  'cgi-timeout'?: string;
  'cgi-user'?: string;
  'cgi-spawner'?: string;
}

const CGI_ONLY = ['cgi-dir', 'cgi-timeout', 'cgi-user', 'cgi-spawner'] as const;

function isFolder(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

/** The folder to serve, from the DIR argument; a bare number there is taken for a port. */
export function serveFolder(argument: string | undefined): string {
  const dir = resolve(argument ?? '.');
  if (isFolder(dir)) return dir;
  if (argument !== undefined && /^\d{1,5}$/.test(argument)) throw new UsageError(`${dir} is not a folder: did you mean --port ${argument}? (tsgi serve takes the folder, not the port, as its argument)`);
  throw new UsageError(`${dir} is not a folder`);
}

/** Refuses CGI options that would be ignored; returns warnings for what serves but may not be meant. */
export function checkCgiFlags(values: ServeFlags, dir: string, cgiDirs: string[] | undefined, runsScripts = values.cgi === true): string[] {
  if (!runsScripts) {
    const given = CGI_ONLY.filter((name) => values[name] !== undefined);
    if (given.length > 0) throw new UsageError(`${given.map((name) => `--${name}`).join(', ')} ${given.length > 1 ? 'need' : 'needs'} --cgi, --cgi-script or --cgi-ext`);
    return [];
  }
  if (values['cgi-dir'] !== undefined && !values.cgi) throw new UsageError('--cgi-dir needs --cgi');
  const user = values['cgi-user'];
  if (user !== undefined) {
    try {
      resolveRunAs(user);
    } catch (error) {
      if (error instanceof RunAsError) throw new UsageError(`--cgi-user ${user}: ${error.reason}`);
      throw error;
    }
  }
  if (!values.cgi) return [];
  const folders = (cgiDirs ?? []).map((cgiDir) => ({ cgiDir, path: resolve(dir, '.' + cgiDir) }));
  const missing = folders.filter(({ path }) => !isFolder(path));
  if (values['cgi-dir'] !== undefined && missing.length > 0) {
    throw new UsageError(`--cgi-dir: ${missing.map(({ cgiDir, path }) => `${cgiDir} (${path})`).join(', ')} ${missing.length > 1 ? 'are not folders' : 'is not a folder'}`);
  }
  if (missing.length === folders.length) {
    return [`--cgi: no CGI folder to run scripts from (${folders.map(({ path }) => path).join(' and ')} do not exist); serving files only`];
  }
  return [];
}
