/**
 * Finds the script for a URL when scripts are recognised by extension anywhere under a folder
 * (Apache's `AddHandler cgi-script .cgi`, lighttpd's `cgi.assign`): the first path segment
 * that is a file with a mapped extension is the script and the rest its PATH_INFO; a folder
 * answers with its index script; anything else is not a script and goes to the fallback.
 */
import { constants, realpathSync } from 'node:fs';
import { extname, sep } from 'node:path';
import { isTypeScript } from '../../typescript/files.js';
import { pathSegments, Refusal } from '../safe-path.js';
import type { ProgramLocation } from './environment.js';
import { inside, statOrUndefined as statOf } from './resolve.js';

export interface ExtensionRules {
  /** The folder searched, a real path. */
  root: string;
  /** Lower-case extension (".cgi") to the interpreter that runs it, or null for a program that runs itself (TypeScript: node on its compiled module). */
  handlers: ReadonlyMap<string, string | null>;
  /** Names tried for a folder, in order; a static one (index.html) found first leaves the folder to the fallback. */
  index: readonly string[];
}

function handlerFor(rules: ExtensionRules, name: string): string | null | undefined {
  return rules.handlers.get(extname(name).toLowerCase());
}

/** The checks before a file runs: inside the root after symlinks, a plain file, executable unless an interpreter (or node, for TypeScript) reads it. */
function scriptAt(rules: ExtensionRules, file: string, interpreter: string | null, scriptName: string, pathInfo: string, linked: boolean): ProgramLocation | Refusal {
  let real = file;
  if (linked) {
    try {
      real = realpathSync.native(file);
    } catch {
      return new Refusal(404, `No such CGI script (${JSON.stringify(scriptName)})`);
    }
    if (!inside(rules.root, real)) return new Refusal(403, 'CGI script leaves the served folder through a symbolic link');
  }
  const info = statOf(real, true);
  if (!info?.isFile()) return new Refusal(403, 'CGI script is not a plain file');
  if (interpreter !== null) return { scriptName, pathInfo, filename: real, interpreter };
  // `.ts` without an interpreter: node runs the module tsgi compiles from it.
  if (isTypeScript(real)) return { scriptName, pathInfo, filename: real, typescript: true };
  if ((info.mode & (constants.S_IXUSR | constants.S_IXGRP | constants.S_IXOTH)) === 0) return new Refusal(403, 'CGI script is not executable');
  return { scriptName, pathInfo, filename: real };
}

/** The script for `pathInfo` below the mount `base`, a Refusal, or undefined when the request is not for a script. */
export function resolveByExtension(rules: ExtensionRules, base: string, pathInfo: string): ProgramLocation | Refusal | undefined {
  const parsed = pathSegments(pathInfo);
  if (parsed instanceof Refusal) return parsed;
  const { segments, trailingSlash } = parsed;
  let dir = rules.root;
  let linked = false;
  for (let i = 0; i < segments.length; i++) {
    const candidate = dir + sep + segments[i];
    let info = statOf(candidate, false);
    if (info?.isSymbolicLink()) {
      linked = true;
      info = statOf(candidate, true);
    }
    if (!info) return undefined;
    if (info.isDirectory()) {
      dir = candidate;
      continue;
    }
    const interpreter = handlerFor(rules, segments[i]!);
    if (interpreter === undefined) return undefined;
    const rest = segments.slice(i + 1);
    const restPath = rest.length > 0 ? '/' + rest.join('/') + (trailingSlash ? '/' : '') : trailingSlash ? '/' : '';
    return scriptAt(rules, candidate, interpreter, base + '/' + segments.slice(0, i + 1).join('/'), restPath, linked);
  }
  // A folder named without its slash is the fallback's to redirect: relative links need the slash.
  if (segments.length > 0 && !trailingSlash) return undefined;
  for (const name of rules.index) {
    const file = dir + sep + name;
    const info = statOf(file, true);
    if (!info?.isFile()) continue;
    const interpreter = handlerFor(rules, name);
    if (interpreter === undefined) return undefined;
    const folder = segments.length > 0 ? '/' + segments.join('/') : '';
    return scriptAt(rules, file, interpreter, `${base}${folder}/${name}`, '', linked || statOf(file, false)?.isSymbolicLink() === true);
  }
  return undefined;
}
