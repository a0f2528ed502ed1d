/**
 * The request target a test request stands for: what an HTTP client would put on the request
 * line for `path` and `query`, split and decoded the way the HTTP front end splits and
 * decodes what it receives.
 */
import { decodePath } from '../frontends/http.js';
import { fieldEntries, type FormFields } from './multipart-body.js';

/** Query parameters: an object (a list value repeats the name), URLSearchParams, or [name, value] pairs. */
export type QueryInit = FormFields | URLSearchParams | Iterable<readonly [string, string]>;

export interface Target {
  /** The target as sent: percent-encoded path and query (REQUEST_URI). */
  uri: string;
  /** The path part of `uri`, still encoded: what cookie paths are matched against. */
  rawPath: string;
  /** The raw query, without "?" (QUERY_STRING). */
  query: string;
  /** The path decoded as UTF-8, or undefined when it is not UTF-8 (the front end answers 400). */
  decoded: string | undefined;
}

// What clients percent-encode before sending (the WHATWG URL path and query sets, roughly):
// controls, space, quotes, angle brackets, backtick, braces, and every non-ASCII character as UTF-8.
// "%" stays, so a path the caller already encoded goes out as written.
const UNSAFE = /[\x00-\x20"<>`{}\x7f]|[^\x00-\x7f]+/g;

function encodeUnsafe(text: string): string {
  return text.replace(UNSAFE, (match) => {
    let out = '';
    for (const byte of Buffer.from(match, 'utf8')) out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
    return out;
  });
}

function queryText(query: QueryInit): string {
  if (query instanceof URLSearchParams) return query.toString();
  if (Symbol.iterator in query) return new URLSearchParams([...(query as Iterable<readonly [string, string]>)].map(([k, v]): [string, string] => [k, v])).toString();
  return new URLSearchParams(fieldEntries(query as FormFields)).toString();
}

/** `path` (which may carry a query) with `query` appended, as the request line would have it. */
export function requestTarget(path: string, query?: QueryInit): Target {
  if (path === '*') return { uri: '*', rawPath: '*', query: '', decoded: '' };
  if (!path.startsWith('/')) throw new TypeError(`the path must start with "/" (or be "*"), got ${JSON.stringify(path)}`);
  // A fragment never leaves the client.
  const hash = path.indexOf('#');
  const withoutFragment = hash < 0 ? path : path.slice(0, hash);
  const mark = withoutFragment.indexOf('?');
  const rawPath = encodeUnsafe(mark < 0 ? withoutFragment : withoutFragment.slice(0, mark));
  const given = mark < 0 ? '' : encodeUnsafe(withoutFragment.slice(mark + 1));
  const extra = query === undefined ? '' : queryText(query);
  const joined = given && extra ? `${given}&${extra}` : given || extra;
  return { uri: joined || mark >= 0 ? `${rawPath}?${joined}` : rawPath, rawPath, query: joined, decoded: decodePath(rawPath) };
}

/** SCRIPT_NAME and PATH_INFO for a decoded path under the mount point `scriptName` ("" for the root). */
export function splitMount(decoded: string, scriptName: string): [scriptName: string, pathInfo: string] {
  const mount = scriptName.replace(/\/+$/, '');
  if (mount === '') return ['', decoded];
  if (!mount.startsWith('/')) throw new TypeError(`scriptName must start with "/", got ${JSON.stringify(scriptName)}`);
  if (decoded !== mount && !decoded.startsWith(mount + '/')) {
    throw new Error(`the path ${JSON.stringify(decoded)} is not under the mount point ${JSON.stringify(mount)}`);
  }
  return [mount, decoded.slice(mount.length)];
}
