/** The environ for a local redirect (RFC 3875 §6.2.2): a fresh GET for the new path, no body, no request headers. */
import type { Environ, InputStream } from '../../types.js';
import { BadGateway } from '../../gateways/cgi-response.js';

const emptyInput: InputStream = { async *[Symbol.asyncIterator]() {} };

// The request's own description goes; the server's and the connection's (SERVER_*, REMOTE_*, HTTPS, tsgi.*) stay.
const DROPPED = new Set(['CONTENT_TYPE', 'CONTENT_LENGTH', 'AUTH_TYPE', 'REMOTE_USER', 'PATH_TRANSLATED', 'SCRIPT_FILENAME']);

export function redirectEnviron(environ: Environ, location: string, count: number): Environ {
  const question = location.indexOf('?');
  const rawPath = question < 0 ? location : location.slice(0, question);
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw new BadGateway(`local redirect to an undecodable path ${JSON.stringify(location)}`);
  }
  const next: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(environ)) {
    // Host stays for the site's routing, Authorization so an auth layer checks the new path too.
    if (DROPPED.has(key) || (key.startsWith('HTTP_') && key !== 'HTTP_HOST' && key !== 'HTTP_AUTHORIZATION')) continue;
    next[key] = value;
  }
  Object.assign(next, {
    REQUEST_METHOD: 'GET',
    SCRIPT_NAME: '',
    PATH_INFO: path,
    QUERY_STRING: question < 0 ? '' : location.slice(question + 1),
    REQUEST_URI: location,
    'tsgi.input': emptyInput,
    'tsgi.cgi.redirects': count,
  });
  return next as Environ;
}
