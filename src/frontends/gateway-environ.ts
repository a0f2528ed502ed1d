/**
 * Turns the CGI variables a web server sends over FastCGI or SCGI into a TSGI environ.
 * Both protocols carry the variables ready-made; this only fills gaps, fixes encodings
 * and refuses what must never reach an application.
 */
import type { Environ, ErrorStream, InputStream } from '../types.js';
import { guessScheme } from '../util.js';

export interface GatewayEnvironOptions {
  /**
   * Where the application is mounted. When set, SCRIPT_NAME becomes this value and
   * PATH_INFO the rest of SCRIPT_NAME + PATH_INFO: web servers that pass the whole path
   * as SCRIPT_NAME (nginx's stock fastcgi_params, lighttpd) then route correctly.
   */
  scriptName?: string;
  /** `tsgi.errors` of every request. Default: process.stderr. */
  errors?: ErrorStream;
  /** True when several processes serve the same application (`--workers`). */
  multiprocess?: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
// Byte values arrive as latin-1 (one character per byte); paths are UTF-8 on the wire.
const PATH_KEYS = ['SCRIPT_NAME', 'PATH_INFO', 'PATH_TRANSLATED'] as const;
const NON_ASCII = /[\x80-\xff]/;
const CONTENT_HEADERS = [['HTTP_CONTENT_LENGTH', 'CONTENT_LENGTH'], ['HTTP_CONTENT_TYPE', 'CONTENT_TYPE']] as const;

function decodePath(value: string): string {
  if (!NON_ASCII.test(value)) return value;
  try {
    return utf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}

/** The host part of a Host header: `example.org:8080` → `example.org`, `[::1]:80` → `[::1]`. */
function hostName(host: unknown): string {
  if (typeof host !== 'string') return '';
  return /^(\[[^\]]*\]|[^:]*)/.exec(host)![1]!;
}

/** Moves the mount point `scriptName` out of the full path into SCRIPT_NAME. */
function remount(environ: Record<string, unknown>, scriptName: string): void {
  const mount = scriptName.replace(/\/+$/, '');
  const full = String(environ.SCRIPT_NAME ?? '') + String(environ.PATH_INFO ?? '');
  const inside = full === mount || full.startsWith(mount + '/');
  // A path outside the mount point keeps its whole self in PATH_INFO: SCRIPT_NAME + PATH_INFO stays the real path.
  environ.SCRIPT_NAME = inside ? mount : '';
  environ.PATH_INFO = inside ? full.slice(mount.length) : full;
}

/**
 * Builds an environ from `params` (which it takes over and mutates). HTTP_PROXY is
 * dropped whatever its origin: a `Proxy:` request header must never configure an
 * outbound proxy (httpoxy).
 */
export function environFromParams(
  params: Record<string, unknown>,
  input: InputStream,
  errors: ErrorStream,
  options: GatewayEnvironOptions = {},
): Environ {
  const environ = params;
  if (environ.HTTP_PROXY !== undefined) delete environ.HTTP_PROXY;
  // nginx's stock scgi_params send no SCRIPT_NAME or PATH_INFO: its decoded $document_uri is the path.
  if (environ.SCRIPT_NAME === undefined && environ.PATH_INFO === undefined && typeof environ.DOCUMENT_URI === 'string' && environ.DOCUMENT_URI.startsWith('/')) {
    environ.PATH_INFO = environ.DOCUMENT_URI;
  }
  for (const key of PATH_KEYS) {
    const value = environ[key];
    if (typeof value === 'string') environ[key] = decodePath(value);
  }
  if (environ.REQUEST_METHOD === undefined) environ.REQUEST_METHOD = 'GET';
  if (environ.PATH_INFO === undefined) environ.PATH_INFO = '';
  if (environ.SCRIPT_NAME === undefined) environ.SCRIPT_NAME = '';
  else if (environ.SCRIPT_NAME === '/') {
    // SCRIPT_NAME is never "/" alone: the root's slash belongs to PATH_INFO, or "/" would reach the app as "".
    environ.SCRIPT_NAME = '';
    if (!String(environ.PATH_INFO).startsWith('/')) environ.PATH_INFO = '/' + String(environ.PATH_INFO);
  }
  if (options.scriptName !== undefined) remount(environ, options.scriptName);
  if (environ.QUERY_STRING === undefined) environ.QUERY_STRING = '';
  // nginx sends an empty $server_name when its server block names none.
  if (!environ.SERVER_NAME) environ.SERVER_NAME = hostName(environ.HTTP_HOST) || 'localhost';
  if (!environ.SERVER_PROTOCOL) environ.SERVER_PROTOCOL = 'HTTP/1.0';
  if (environ.CONTENT_TYPE === '') delete environ.CONTENT_TYPE;
  if (environ.CONTENT_LENGTH === '') delete environ.CONTENT_LENGTH;
  // nginx also passes the Content-Length and Content-Type headers as HTTP_* variables: they
  // belong in CONTENT_LENGTH and CONTENT_TYPE only (CGI), whichever way they arrived.
  for (const [header, key] of CONTENT_HEADERS) {
    if (environ[header] === undefined) continue;
    if (environ[key] === undefined && environ[header] !== '') environ[key] = environ[header];
    delete environ[header];
  }
  environ['tsgi.version'] = [1, 0] as const;
  environ['tsgi.url_scheme'] = guessScheme(environ);
  if (!environ.SERVER_PORT) environ.SERVER_PORT = environ['tsgi.url_scheme'] === 'https' ? '443' : '80';
  environ['tsgi.input'] = input;
  environ['tsgi.errors'] = errors;
  environ['tsgi.multithread'] = false;
  environ['tsgi.multiprocess'] = options.multiprocess ?? false;
  environ['tsgi.run_once'] = false;
  return environ as Environ;
}
