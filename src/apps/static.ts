/**
 * Static files as Python's http.server serves them: index.html, an HTML-escaped folder
 * listing, content types by extension, Last-Modified / If-Modified-Since, ETag /
 * If-None-Match, single byte ranges (206 / 416), HEAD, and 403 / 404 / 405 answers. Paths
 * are checked like the CGI host's: no `..`, no encoded slashes, no symlinks out of the root, and folders listed in `hide` (CGI folders) are never served as files.
 */
import { realpathSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { Application, Body, Environ, HeaderList, StartResponse } from '../types.js';
import { FileWrapper } from '../util.js';
import { entityTag, FileRange, ifRangeHolds, noneMatchHits, parseRange } from './byte-range.js';
import { listingPage } from './directory-listing.js';
import { contentTypeFor } from './mime-types.js';
import { pathSegments, rawPathProblem, Refusal } from './safe-path.js';
import { textResponse } from './text-response.js';

export interface StaticOptions {
  /** The folder to serve. */
  root: string;
  /** File names tried, in order, for a folder. Default index.html, index.htm. */
  index?: string[];
  /** List a folder without an index file. Default true. */
  listing?: boolean;
  /** URL paths (relative to the mount) never served as files, e.g. the CGI folders. */
  hide?: string[];
  /**
   * A page of the root sent, with status 404, for a path that names no file: the convention of
   * http-server, GitHub Pages and Netlify. Default `404.html` when the root has one; `false`
   * for the plain-text answer always.
   */
  notFoundPage?: string | false;
}

function encodeUrlPath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function notModified(environ: Environ, info: Stats, tag: string): boolean {
  // If-None-Match, when sent, decides alone (RFC 9110 §13.2.2).
  const noneMatch = environ.HTTP_IF_NONE_MATCH;
  if (noneMatch) return noneMatchHits(String(noneMatch), tag);
  const since = environ.HTTP_IF_MODIFIED_SINCE;
  if (!since) return false;
  const when = Date.parse(since);
  return !Number.isNaN(when) && Math.floor(info.mtimeMs / 1000) * 1000 <= when;
}

export function staticFiles(options: StaticOptions): Application {
  const root = realpathSync(resolve(options.root));
  const indexNames = options.index ?? ['index.html', 'index.htm'];
  const listing = options.listing ?? true;
  const hidden = (options.hide ?? []).map((path) => path.split('/').filter((part) => part !== '' && part !== '.'));

  const isHidden = (segments: string[]) => hidden.some((prefix) => prefix.length > 0 && prefix.every((part, i) => segments[i] === part));
  // The root "/" already ends in a separator.
  const rootPrefix = root.endsWith(sep) ? root : root + sep;
  // A symlink elsewhere in the tree can lead into a hidden folder: its real path is checked too.
  const hiddenReal = hidden.filter((prefix) => prefix.length > 0).map((prefix) => {
    const folder = rootPrefix + prefix.join(sep);
    try {
      return realpathSync(folder);
    } catch {
      return folder;
    }
  });
  const isHiddenFile = (file: string) => hiddenReal.some((folder) => file === folder || file.startsWith(folder + sep));
  const outside = (file: string) => file !== root && !file.startsWith(rootPrefix);
  const notFoundPage = options.notFoundPage ?? '404.html';

  /** The root's 404 page when it has one (read on each miss, so editing it needs no restart), else plain text. */
  const notFound = async (environ: Environ, startResponse: StartResponse): Promise<Body> => {
    if (notFoundPage !== false) {
      const file = await realpath(resolve(root, notFoundPage)).catch(() => undefined);
      const page = file !== undefined && !outside(file) && !isHiddenFile(file) ? await readFile(file).catch(() => undefined) : undefined;
      if (page !== undefined) {
        startResponse('404 Not Found', [['Content-Type', contentTypeFor(file!)], ['Content-Length', String(page.length)], ['X-Content-Type-Options', 'nosniff']]);
        return environ.REQUEST_METHOD === 'HEAD' ? [] : [page];
      }
    }
    return textResponse(startResponse, 404, 'File not found.');
  };

  return async (environ, startResponse) => {
    const method = environ.REQUEST_METHOD;
    if (method !== 'GET' && method !== 'HEAD') return textResponse(startResponse, 405, `Method ${method} is not allowed here.`, [['Allow', 'GET, HEAD']]);
    const parsed = rawPathProblem(environ) ?? pathSegments(environ.PATH_INFO || '/');
    if (parsed instanceof Refusal) return textResponse(startResponse, parsed.status, parsed.reason);
    const { segments, trailingSlash } = parsed;
    if (isHidden(segments)) return textResponse(startResponse, 403, 'This folder holds CGI scripts; they are run, never served as files.');

    let real: string;
    let info: Stats;
    try {
      real = await realpath(root + sep + segments.join(sep));
      info = await stat(real);
    } catch {
      return notFound(environ, startResponse);
    }
    if (outside(real)) return textResponse(startResponse, 403, 'This path leads outside the served folder.');
    if (isHiddenFile(real)) return textResponse(startResponse, 403, 'This folder holds CGI scripts; they are run, never served as files.');

    const urlPath = (environ.SCRIPT_NAME || '') + '/' + segments.join('/');
    if (info.isDirectory()) {
      if (!trailingSlash && (segments.length > 0 || (!environ.PATH_INFO && environ.SCRIPT_NAME))) {
        const query = environ.QUERY_STRING ? '?' + environ.QUERY_STRING : '';
        const location = encodeUrlPath(urlPath) + '/' + query;
        startResponse('301 Moved Permanently', [['Location', location], ['Content-Length', '0']]);
        return [];
      }
      for (const name of indexNames) {
        // An index file may be a symlink too: it gets the same check as the folder did.
        const candidate = await realpath(real + sep + name).catch(() => undefined);
        if (candidate === undefined) continue;
        if (outside(candidate)) return textResponse(startResponse, 403, 'This path leads outside the served folder.');
        if (isHiddenFile(candidate)) return textResponse(startResponse, 403, 'This folder holds CGI scripts; they are run, never served as files.');
        const indexInfo = await stat(candidate).catch(() => undefined);
        if (indexInfo?.isFile()) return sendFile(environ, startResponse, candidate, indexInfo);
      }
      if (!listing) return textResponse(startResponse, 403, 'Folder listing is turned off.');
      let entries;
      try {
        entries = await readdir(real, { withFileTypes: true });
      } catch {
        return textResponse(startResponse, 403, 'No permission to list this folder.');
      }
      const page = listingPage(segments.length > 0 ? urlPath + '/' : urlPath, entries);
      startResponse('200 OK', [['Content-Type', 'text/html; charset=utf-8'], ['Content-Length', String(page.length)]]);
      return method === 'HEAD' ? [] : [page];
    }
    if (!info.isFile()) return textResponse(startResponse, 403, 'Not a regular file.');
    return sendFile(environ, startResponse, real, info);
  };
}

function sendFile(environ: Environ, startResponse: StartResponse, file: string, info: Stats): Body {
  const lastModified = new Date(Math.floor(info.mtimeMs / 1000) * 1000).toUTCString();
  const tag = entityTag(info);
  if (notModified(environ, info, tag)) {
    startResponse('304 Not Modified', [['ETag', tag], ['Last-Modified', lastModified]]);
    return [];
  }
  const common: HeaderList = [
    ['Content-Type', contentTypeFor(file)],
    ['Last-Modified', lastModified],
    ['ETag', tag],
    ['Accept-Ranges', 'bytes'],
    // The type comes from the extension: a browser must not find HTML (and script) in a .txt upload.
    ['X-Content-Type-Options', 'nosniff'],
  ];
  const rangeHeader = environ.HTTP_RANGE;
  const range = rangeHeader && ifRangeHolds(environ.HTTP_IF_RANGE, tag, lastModified) ? parseRange(String(rangeHeader), info.size) : undefined;
  if (range === 'unsatisfiable') {
    startResponse('416 Range Not Satisfiable', [['Content-Range', `bytes */${info.size}`], ['Content-Length', '0'], ['ETag', tag]]);
    return [];
  }
  if (range !== undefined) {
    startResponse('206 Partial Content', [...common, ['Content-Range', `bytes ${range.start}-${range.end}/${info.size}`], ['Content-Length', String(range.end - range.start + 1)]]);
    return environ.REQUEST_METHOD === 'HEAD' ? [] : new FileRange(file, range);
  }
  startResponse('200 OK', [...common, ['Content-Length', String(info.size)]]);
  if (environ.REQUEST_METHOD === 'HEAD') return [];
  const wrapper = environ['tsgi.file_wrapper'];
  return wrapper ? wrapper(file) : new FileWrapper(file);
}
