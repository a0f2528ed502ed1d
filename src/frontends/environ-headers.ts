/** Turns an environ's request header variables back into HTTP header fields, for adapters that need real headers. */
import type { Environ } from '../types.js';

// Connection-level fields describe the hop into this server, not the request the app should see.
const SKIPPED = new Set(['HTTP_CONNECTION', 'HTTP_KEEP_ALIVE', 'HTTP_TRANSFER_ENCODING', 'HTTP_TE', 'HTTP_UPGRADE', 'HTTP_PROXY_CONNECTION']);

/**
 * The request headers an environ describes: HTTP_X_FOO becomes `x-foo`, CONTENT_TYPE and
 * CONTENT_LENGTH become their headers, and Host falls back to SERVER_NAME[:SERVER_PORT].
 * Names come out lower-case (the environ has lost the client's spelling).
 */
export function requestHeaders(environ: Environ): [name: string, value: string][] {
  const headers: [string, string][] = [];
  let host = false;
  for (const key of Object.keys(environ)) {
    if (!key.startsWith('HTTP_') || SKIPPED.has(key)) continue;
    const value = environ[key];
    if (typeof value !== 'string') continue;
    if (key === 'HTTP_HOST') host = true;
    headers.push([key.slice(5).toLowerCase().replace(/_/g, '-'), value]);
  }
  if (!host) headers.unshift(['host', hostFromServer(environ)]);
  if (environ.CONTENT_TYPE) headers.push(['content-type', environ.CONTENT_TYPE]);
  if (environ.CONTENT_LENGTH) headers.push(['content-length', environ.CONTENT_LENGTH]);
  return headers;
}

/** The request's host: the Host header, else SERVER_NAME with SERVER_PORT unless it is the scheme's default. */
export function hostOf(environ: Environ): string {
  return environ.HTTP_HOST || hostFromServer(environ);
}

function hostFromServer(environ: Environ): string {
  const scheme = environ['tsgi.url_scheme'];
  const port = environ.SERVER_PORT;
  const name = environ.SERVER_NAME.includes(':') ? `[${environ.SERVER_NAME}]` : environ.SERVER_NAME;
  const defaultPort = (scheme === 'https' && port === '443') || (scheme === 'http' && port === '80') || !port;
  return defaultPort ? name : `${name}:${port}`;
}

/** PATH_INFO percent-encoded again, so that it can stand in a URL; "/" when empty. */
export function encodePathInfo(pathInfo: string): string {
  if (!pathInfo) return '/';
  return pathInfo.split('/').map((segment) => encodeURIComponent(segment).replace(/%40/g, '@').replace(/%3A/g, ':')).join('/');
}

/** True when the request carries a body the app should be able to read. */
export function hasRequestBody(environ: Environ): boolean {
  const method = environ.REQUEST_METHOD.toUpperCase();
  if (method === 'GET' || method === 'HEAD') return false;
  // Without a length the input simply runs to its end; only an explicit "0" says there is none.
  return environ.CONTENT_LENGTH !== '0';
}
