/**
 * Which PHP script answers a URL, as Caddy's `php_fastcgi` and nginx's usual PHP block decide:
 * split the path after the first `.php` segment (the rest is PATH_INFO), `index.php` for a
 * folder, and a front controller for a path that names no file (WordPress, Laravel, Symfony).
 * PHP source and dot-files are never handed to the static file server.
 */
import { realpathSync, statSync } from 'node:fs';
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

function statOf(file: string): Stats | undefined {
  try {
    return statSync(file, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

function inside(root: string, file: string): boolean {
  return file === root || file.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** The real path of `file` when it exists inside the root; a Refusal when a symlink leads out. */
function realInside(root: string, file: string): string | Refusal | undefined {
  let real: string;
  try {
    real = realpathSync.native(file);
  } catch {
    return undefined;
  }
  return inside(root, real) ? real : new Refusal(403, 'this path leads outside the document root');
}

function script(settings: PhpRouteSettings, base: string, urlPath: string, pathInfo: string): PhpRoute | Refusal | undefined {
  const file = settings.root + urlPath.split('/').join(sep);
  const real = realInside(settings.root, file);
  if (real === undefined || real instanceof Refusal) return real;
  if (!statOf(real)?.isFile()) return undefined;
  return { kind: 'script', location: { scriptName: base + urlPath, pathInfo, filename: real } };
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
  const real = realInside(settings.root, file);
  if (real instanceof Refusal) return real;
  const info = real === undefined ? undefined : statOf(real);
  if (info?.isDirectory()) {
    for (const name of settings.index) {
      const found = script(settings, base, `${urlPath}/${name}`, '');
      if (found instanceof Refusal) return found;
      if (found) return trailingSlash || urlPath === '' ? found : { kind: 'redirect', location: `${base}${urlPath}/` };
    }
    return { kind: 'static' };
  }
  if (info?.isFile()) {
    // The real name too: a symlink called notes.txt may point at config.php.
    if (PHP_SOURCE.test(real!) || PHP_SOURCE.test(file)) {
      return new Refusal(403, 'PHP source is never served');
    }
    return { kind: 'static' };
  }
  return frontController(settings, base);
}

function frontController(settings: PhpRouteSettings, base: string): PhpRoute | Refusal {
  if (settings.frontController === false) return new Refusal(404, 'no such file');
  const found = script(settings, base, settings.frontController, '');
  return found ?? new Refusal(404, 'no such file');
}
