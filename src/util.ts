/** Small helpers around the environ, in the spirit of wsgiref.util. */
import type { Environ, ErrorStream, InputStream } from './types.js';

// node:fs is fetched when a FileWrapper first reads: an ESM import of it builds a facade over
// every export, ~1.4 ms that every CGI script (which loads this module through the engine) pays.
const loadBuiltin = (id: string): unknown => process.getBuiltinModule(id);
const createReadStream: typeof import('node:fs').createReadStream = (...args: Parameters<typeof import('node:fs').createReadStream>) =>
  (loadBuiltin('node:fs') as typeof import('node:fs')).createReadStream(...args);

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'trailers',
  'transfer-encoding', 'upgrade',
]);

/** True for headers that describe one connection and so are the server's business alone. */
export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name.toLowerCase());
}

/** "https" when the environ says the request came over TLS, else "http". */
export function guessScheme(environ: Record<string, unknown>): 'http' | 'https' {
  const https = environ.HTTPS;
  return typeof https === 'string' && ['on', 'yes', '1'].includes(https.toLowerCase()) ? 'https' : 'http';
}

// Keeps the characters a path may carry literally; everything else is percent-encoded as UTF-8.
function quotePath(path: string, safe = "/"): string {
  let out = '';
  for (const byte of Buffer.from(path, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.\-~]/.test(ch) || safe.includes(ch) ? ch : '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** The application's base URL: scheme, host (HTTP_HOST, else SERVER_NAME and a non-default port) and SCRIPT_NAME. */
export function applicationUri(environ: Environ): string {
  const scheme = environ['tsgi.url_scheme'];
  let url = scheme + '://';
  if (environ.HTTP_HOST) {
    url += environ.HTTP_HOST;
  } else {
    url += environ.SERVER_NAME;
    const port = environ.SERVER_PORT;
    if ((scheme === 'https' && port !== '443') || (scheme === 'http' && port !== '80')) url += ':' + port;
  }
  return url + (quotePath(environ.SCRIPT_NAME || '') || '/');
}

/** The full request URL rebuilt from the environ (RFC 3875 §3.3), with the query unless told not to. */
export function requestUri(environ: Environ, includeQuery = true): string {
  const base = applicationUri(environ).replace(/\/$/, '');
  const pathInfo = environ.PATH_INFO || '';
  let url = base + quotePath(pathInfo, '/;=,');
  // Only a bare authority needs a "/": "/app" and "/app/" are different resources (S17).
  if (!url.slice(url.indexOf('//') + 2).includes('/')) url += '/';
  if (includeQuery && environ.QUERY_STRING) url += '?' + environ.QUERY_STRING;
  return url;
}

/**
 * Moves the first segment of PATH_INFO onto SCRIPT_NAME and returns it. Empty and "."
 * segments are skipped; a trailing slash stays in PATH_INFO. Returns undefined when
 * PATH_INFO has no segment left.
 */
export function shiftPathInfo(environ: Environ): string | undefined {
  const pathInfo = environ.PATH_INFO;
  if (!pathInfo) return undefined;
  const parts = pathInfo.split('/');
  // Inner empty and "." segments carry no meaning; the last one keeps the trailing-slash distinction.
  const segments = parts.length > 1 ? [...parts.slice(1, -1).filter((p) => p !== '' && p !== '.'), parts[parts.length - 1]!] : [];
  const name = segments.shift() ?? '';
  environ.PATH_INFO = segments.length > 0 ? '/' + segments.join('/') : '';
  if (name === '.') return undefined;
  const base = (environ.SCRIPT_NAME || '').replace(/\/+$/, '');
  environ.SCRIPT_NAME = base + '/' + name;
  return name;
}

const emptyInput: InputStream = {
  async *[Symbol.asyncIterator]() {},
};

/** An error stream that writes to process.stderr. */
/** SERVER_SOFTWARE of every front end. */
export const SERVER_SOFTWARE = 'tsgi/0.1';

/**
 * The environ key a front end sets to a function that takes the connection over (`tsgi.raw_output`).
 * After the call the front end ignores the response the engine sends and closes the connection
 * once `end()` is called (no keep-alive: the server cannot know where an NPH response ends).
 */
export const RAW_OUTPUT_KEY = 'tsgi.raw_output';

export const stderrStream: ErrorStream = {
  write(text: string) {
    process.stderr.write(text);
  },
};

/** Fills in every key a TSGI environ needs with plausible values, for tests and experiments. */
export function setupTestingDefaults(partial: Partial<Environ> = {}): Environ {
  const environ: Record<string, unknown> = { ...partial };
  const set = (key: string, value: unknown) => {
    if (environ[key] === undefined) environ[key] = value;
  };
  set('SERVER_NAME', '127.0.0.1');
  set('SERVER_PROTOCOL', 'HTTP/1.0');
  set('HTTP_HOST', environ.SERVER_NAME);
  set('REQUEST_METHOD', 'GET');
  if (environ.SCRIPT_NAME === undefined && environ.PATH_INFO === undefined) {
    environ.SCRIPT_NAME = '';
    environ.PATH_INFO = '/';
  }
  set('SCRIPT_NAME', '');
  set('PATH_INFO', '');
  set('QUERY_STRING', '');
  set('GATEWAY_INTERFACE', 'CGI/1.1');
  set('tsgi.version', [1, 0] as const);
  set('tsgi.run_once', false);
  set('tsgi.multithread', false);
  set('tsgi.multiprocess', false);
  set('tsgi.input', emptyInput);
  set('tsgi.errors', stderrStream);
  set('tsgi.url_scheme', guessScheme(environ));
  set('SERVER_PORT', environ['tsgi.url_scheme'] === 'https' ? '443' : '80');
  return environ as Environ;
}

/** Reads the whole request body, refusing more than `limit` bytes. */
export async function readBody(environ: Environ, limit = Infinity): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of environ['tsgi.input']) {
    size += chunk.length;
    if (size > limit) throw new RangeError(`the request body is larger than ${limit} bytes`);
    parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
  }
  return Buffer.concat(parts, size);
}

/**
 * A body that streams a file in blocks (wsgiref's FileWrapper). Servers that can send a
 * file more cheaply may look at `path` / `fd`; everyone else just iterates it.
 */
export class FileWrapper implements AsyncIterable<Uint8Array> {
  private stream: ReturnType<typeof createReadStream> | undefined;

  constructor(
    readonly file: string | number,
    readonly blockSize = 64 * 1024,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const stream = typeof this.file === 'number'
      ? createReadStream('', { fd: this.file, highWaterMark: this.blockSize, autoClose: false })
      : createReadStream(this.file, { highWaterMark: this.blockSize });
    this.stream = stream;
    return stream[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  }

  close(): void {
    this.stream?.destroy();
  }
}
