/**
 * Maps a request path under a CGI folder to a program and PATH_INFO, refusing everything
 * that could reach outside the folder (RFC 3875 §9.8): safe-path.ts checks the path itself,
 * this module the file system (symlinks that leave the folder, file type, execute bits).
 * A TypeScript file needs no execute bit: the host runs it through node (apps/cgi/typescript.ts).
 */
import { constants, lstatSync, realpathSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { sep } from 'node:path';
import { pathSegments, Refusal } from '../safe-path.js';
import { isTypeScript } from '../../typescript/files.js';
import type { ProgramLocation } from './environment.js';

export { Refusal, rawPathProblem } from '../safe-path.js';

export function inside(root: string, file: string): boolean {
  return file.startsWith(root.endsWith(sep) ? root : root + sep);
}

// Synchronous on purpose: a stat of a local file takes microseconds, a thread-pool round trip
// costs more than that, and this runs once or twice per request.
export function statOrUndefined(file: string, follow = true): Stats | undefined {
  try {
    return (follow ? statSync : lstatSync)(file, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/**
 * Walks PATH_INFO down `root` (already a real path) to the first segment that is not a
 * folder: that is the script, the rest is its PATH_INFO (Python's run_cgi split).
 * Without symlinks on the way one lstat per segment settles everything; a symlink costs a realpath.
 */
export function resolveInFolder(root: string, scriptBase: string, pathInfo: string): ProgramLocation | Refusal {
  const parsed = pathSegments(pathInfo);
  if (parsed instanceof Refusal) return parsed;
  const { segments, trailingSlash } = parsed;
  let dir = root;
  let linked = false;
  for (let i = 0; i < segments.length; i++) {
    const candidate = dir + sep + segments[i];
    let info = statOrUndefined(candidate, false);
    if (info?.isSymbolicLink()) {
      linked = true;
      info = statOrUndefined(candidate);
    }
    if (!info) return new Refusal(404, `No such CGI script (${JSON.stringify(scriptBase + '/' + segments.slice(0, i + 1).join('/'))})`);
    if (info.isDirectory()) {
      dir = candidate;
      continue;
    }
    const scriptName = scriptBase + '/' + segments.slice(0, i + 1).join('/');
    const rest = segments.slice(i + 1);
    const restPath = rest.length > 0 ? '/' + rest.join('/') + (trailingSlash ? '/' : '') : trailingSlash ? '/' : '';
    if (!linked) return checkStats(info, { scriptName, pathInfo: restPath, filename: candidate });
    return checkProgram(root, candidate, scriptName, restPath);
  }
  return new Refusal(403, 'CGI script is not a plain file (the path names a folder)');
}

function checkStats(info: Stats, location: ProgramLocation): ProgramLocation | Refusal {
  if (!info.isFile()) return new Refusal(403, 'CGI script is not a plain file');
  // Run through node on its compiled module, as Python's http.server runs a .py through python.
  if (isTypeScript(location.filename)) return { ...location, typescript: true };
  if ((info.mode & (constants.S_IXUSR | constants.S_IXGRP | constants.S_IXOTH)) === 0) return new Refusal(403, 'CGI script is not executable');
  return location;
}

/** The last checks before running a file: inside the root once symlinks are resolved, regular, executable (or TypeScript). */
export function checkProgram(root: string | undefined, file: string, scriptName: string, pathInfo: string): ProgramLocation | Refusal {
  let real: string;
  try {
    real = realpathSync.native(file);
  } catch {
    return new Refusal(404, `No such CGI script (${JSON.stringify(scriptName)})`);
  }
  if (root !== undefined && !inside(root, real)) return new Refusal(403, 'CGI script leaves the CGI folder through a symbolic link');
  const info = statOrUndefined(real);
  if (!info) return new Refusal(404, `No such CGI script (${JSON.stringify(scriptName)})`);
  return checkStats(info, { scriptName, pathInfo, filename: real });
}
