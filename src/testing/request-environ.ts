/**
 * The environ of a test request, built as the HTTP front end builds one from what arrives on
 * a socket: the same path decoding, the same HTTP_* rules (through the front end's own
 * addRequestHeaders) and the same requests refused before the application is called.
 */
import { addRequestHeaders } from '../frontends/http.js';
import type { Environ } from '../types.js';
import { FileWrapper, SERVER_SOFTWARE } from '../util.js';
import type { ErrorLog } from './error-log.js';
import type { RequestOptions } from './options.js';
import { prepareBody, requestInput } from './request-body.js';
import { hasHeader, headerLines } from './request-headers.js';
import { requestTarget, splitMount, type Target } from './request-target.js';

export type BuiltRequest =
  | { environ: Environ; target: Target; refused?: undefined }
  /** The HTTP front end would answer this itself, without calling the application. */
  | { refused: { status: number; message: string }; target: Target; environ?: undefined };

const fileWrapper = (file: string | number, blockSize?: number) => new FileWrapper(file, blockSize);

/** Scheme, SERVER_NAME, SERVER_PORT and the Host header from a base URL. */
function server(baseUrl: string): { https: boolean; name: string; port: string; host: string } {
  const url = new URL(baseUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`baseUrl must be an http: or https: URL, got ${baseUrl}`);
  const https = url.protocol === 'https:';
  return { https, name: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port || (https ? '443' : '80'), host: url.host };
}

/** Builds the environ for `options`; `extraHeaders` (a client's cookies) go after the caller's headers. */
export function buildRequest(options: RequestOptions, log: ErrorLog, extraHeaders: [string, string][] = []): BuiltRequest {
  const target = requestTarget(options.path ?? '/', options.query);
  const body = prepareBody(options);
  const method = options.method ?? (body ? 'POST' : 'GET');
  const { https, name, port, host } = server(options.baseUrl ?? 'http://localhost');

  const given = [...headerLines(options.headers), ...extraHeaders];
  const lines: [string, string][] = [];
  if (!hasHeader(given, 'host')) lines.push(['Host', host]);
  lines.push(...given);
  if (body?.contentType !== undefined && !hasHeader(given, 'content-type')) lines.push(['Content-Type', body.contentType]);
  if (body && !hasHeader(given, 'content-length') && !hasHeader(given, 'transfer-encoding')) {
    // What node's own HTTP client does: a length when the body is known, chunked when it streams.
    lines.push(body.bytes ? ['Content-Length', String(body.bytes.length)] : ['Transfer-Encoding', 'chunked']);
  }

  if (target.decoded === undefined) return { refused: { status: 400, message: 'The request path is not valid UTF-8 once percent-decoded.' }, target };
  const [scriptName, pathInfo] = splitMount(target.decoded, options.scriptName ?? '');
  const environ: Environ = {
    REQUEST_METHOD: method,
    SCRIPT_NAME: scriptName,
    PATH_INFO: pathInfo,
    QUERY_STRING: target.query,
    SERVER_NAME: name,
    SERVER_PORT: port,
    SERVER_PROTOCOL: options.protocol ?? 'HTTP/1.1',
    SERVER_SOFTWARE,
    GATEWAY_INTERFACE: 'CGI/1.1',
    REMOTE_ADDR: options.remoteAddr ?? '127.0.0.1',
    REMOTE_PORT: String(options.remotePort ?? 50000),
    REQUEST_URI: target.uri,
    'tsgi.version': [1, 0],
    'tsgi.url_scheme': https ? 'https' : 'http',
    'tsgi.input': requestInput(undefined, undefined),
    'tsgi.errors': log,
    'tsgi.multithread': false,
    'tsgi.multiprocess': false,
    'tsgi.run_once': false,
    'tsgi.file_wrapper': fileWrapper,
  };
  if (https) environ.HTTPS = 'on';

  // The front end's own refusals, in its order.
  const problem = addRequestHeaders(environ, lines.flat(), log);
  if (problem) return { refused: { status: 400, message: problem }, target };
  const coding = environ.HTTP_TRANSFER_ENCODING;
  if (coding !== undefined && !/(?:^|,)[ \t]*chunked[ \t]*$/i.test(coding)) {
    return { refused: { status: 400, message: 'The request body has no length: chunked must be its last transfer coding.' }, target };
  }
  if (coding !== undefined && environ.CONTENT_LENGTH !== undefined) {
    return { refused: { status: 400, message: 'The request has both Content-Length and Transfer-Encoding.' }, target };
  }
  if (environ.HTTP_HOST?.includes(',')) return { refused: { status: 400, message: 'The request has more than one Host header.' }, target };
  const length = environ.CONTENT_LENGTH;
  if (length !== undefined && !/^\d+$/.test(length)) return { refused: { status: 400, message: `Content-Length ${JSON.stringify(length)} is not a number.` }, target };

  environ['tsgi.input'] = requestInput(body, length === undefined ? undefined : Number(length));
  for (const [key, value] of Object.entries(options.environ ?? {})) {
    if (value === undefined) delete environ[key];
    else environ[key] = value;
  }
  return { environ, target };
}
