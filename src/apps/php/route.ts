/**
 * Which PHP script answers a URL, as Caddy's `php_fastcgi` and nginx's usual PHP block decide:
 * split the path after the first `.php` segment (the rest is PATH_INFO), `index.php` for a
 * folder, and a front controller for a path that names no file (WordPress, Laravel, Symfony).
 * PHP source and dot-files are never handed to the static file server.
 */
import { lstatSync, realpathSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { sep } from 'node:path';
import type { ScriptLocation } from '../../gateways/cgi-variables.js';
import { pathSegments, Refusal } from '../safe-path.js';

export interface PhpRouteSettings {
  /** The document root, a real path. */
  root: string;
  /** Scripts tried, in order, for a folder. */
  index: readonly string[];
  /** The script (a URL path under the mount) for paths that name no file, or false for a plain 404. */
  frontController: string | false;
}

export type PhpRoute =
  | { kind: 'script'; location: ScriptLocation }
  | { kind: 'static' }
  /** A folder asked for without its trailing slash: relative links in its index need one. */
  | { kind: 'redirect'; location: string };

const SCRIPT = /\.php$/i;
// Files PHP would run or that hold PHP source: served as text they would leak code and secrets.
const PHP_SOURCE = /\.(php\d*|phtml|pht|phps|phar|inc)$/i;

function inside(root: string, file: string): boolean {
  return file === root || file.startsWith(root.endsWith(sep) ? root : root + sep);
}

interface Found {
  real: string;
  info: Stats;
}

function lstatOf(file: string): Stats | undefined {
  try {
    return lstatSync(file, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/**
 * The real path and stats of `file` below the root (itself a real path); undefined when it does
 * not exist, a Refusal when a symlink leads out. Without symlinks one lstat per segment below
 * the root settles it (realpath would read every segment of the root too, on every request).
 */
function lookup(root: string, file: string): Found | Refusal | undefined {
  // The root is a real path already: one stat, not a realpath of every segment.
  if (file === root) {
    const info = statSync(root, { throwIfNoEntry: false });
    return info && { real: root, info };
  }
  const prefix = root.endsWith(sep) ? root : root + sep;
  if (!file.startsWith(prefix)) return followed(root, file);
  let path = root;
  let info: Stats | undefined;
  for (const part of file.slice(prefix.length).split(sep)) {
    if (info && !info.isDirectory()) return undefined;
    path = path.endsWith(sep) ? path + part : path + sep + part;
    info = lstatOf(path);
    if (!info) return undefined;
    if (info.isSymbolicLink()) return followed(root, file);
  }
  return info ? { real: path, info } : followed(root, file);
}

function followed(root: string, file: string): Found | Refusal | undefined {
  try {
    const real = realpathSync.native(file);
    if (!inside(root, real)) return new Refusal(403, 'this path leads outside the document root');
    return { real, info: statSync(real) };
  } catch {
    return undefined;
  }
}

function script(settings: PhpRouteSettings, base: string, urlPath: string, pathInfo: string): PhpRoute | Refusal | undefined {
  const found = lookup(settings.root, settings.root + urlPath.split('/').join(sep));
  if (found === undefined || found instanceof Refusal) return found;
  if (!found.info.isFile()) return undefined;
  return { kind: 'script', location: { scriptName: base + urlPath, pathInfo, filename: found.real } };
}

export function routePhp(settings: PhpRouteSettings, base: string, requestPath: string): PhpRoute | Refusal {
  const parsed = pathSegments(requestPath);
  if (parsed instanceof Refusal) return parsed;
  const { segments, trailingSlash } = parsed;
  if (segments.some((segment) => segment.startsWith('.') && segment !== '.well-known')) {
    return new Refusal(403, 'files and folders whose names start with "." are not served');
  }

  const split = segments.findIndex((segment) => SCRIPT.test(segment));
  if (split >= 0) {
    const urlPath = '/' + segments.slice(0, split + 1).join('/');
    const rest = segments.slice(split + 1);
    const pathInfo = rest.length > 0 ? '/' + rest.join('/') + (trailingSlash ? '/' : '') : trailingSlash ? '/' : '';
    const found = script(settings, base, urlPath, pathInfo);
    if (found) return found;
    return frontController(settings, base);
  }

  const urlPath = segments.length > 0 ? '/' + segments.join('/') : '';
  const file = settings.root + urlPath.split('/').join(sep);
  const found = lookup(settings.root, file);
  if (found instanceof Refusal) return found;
  if (found?.info.isDirectory()) {
    for (const name of settings.index) {
      const index = script(settings, base, `${urlPath}/${name}`, '');
      if (index instanceof Refusal) return index;
      if (index) return trailingSlash || urlPath === '' ? index : { kind: 'redirect', location: `${base}${urlPath}/` };
    }
    return { kind: 'static' };
  }
  if (found?.info.isFile()) {
    // The real name too: a symlink called notes.txt may point at config.php.
    if (PHP_SOURCE.test(found.real) || PHP_SOURCE.test(file)) return new Refusal(403, 'PHP source is never served');
    return { kind: 'static' };
  }
  return frontController(settings, base);
}

function frontController(settings: PhpRouteSettings, base: string): PhpRoute | Refusal {
  if (settings.frontController === false) return new Refusal(404, 'no such file');
  const found = script(settings, base, settings.frontController, '');
  return found ?? new Refusal(404, 'no such file');
}
