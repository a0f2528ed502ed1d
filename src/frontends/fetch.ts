/**
 * The Fetch API front end, both ways: `toFetchHandler(app)` answers a `Request` with a TSGI
 * app (Deno, Bun, service workers, Hono's `mount`), and `fromFetchHandler(handler)` turns a
 * Fetch-style handler (Hono, itty, a plain function) into a TSGI app that can be served over
 * HTTP, CGI, FastCGI or SCGI. Bodies stream in both directions with backpressure.
 */
import { STATUS_CODES } from 'node:http';
import { runApplication, HttpError, REASONS } from '../handler.js';
import type { ClientState, ResponseTarget } from '../handler.js';
import type { Application, Body, Environ, ErrorStream, HeaderList, InputStream } from '../types.js';
import { isHopByHop, stderrStream } from '../util.js';
import { encodePathInfo, hasRequestBody, hostOf, requestHeaders } from './environ-headers.js';
import { mountPrefix, rewriteLocations, withPrefixHeader } from './mount-prefix.js';
import { addRequestHeaders, decodePath, SERVER_SOFTWARE } from './http.js';

export { fromNodeListener } from './node-listener.js';
export type { NodeListener, NodeListenerOptions, TsgiIncomingMessage } from './node-listener.js';

/** Who sent the request, when the host runtime knows (the Fetch API itself does not say). */
export interface FetchClientInfo {
  remoteAddress?: string;
  remotePort?: number;
  /** Deno's `serve` handler info. */
  remoteAddr?: { hostname: string; port: number };
}

export interface ToFetchOptions {
  /** Where the app's `tsgi.errors` goes; process.stderr by default. */
  errors?: ErrorStream;
  /** How many body bytes may wait in the Response stream before the app is held back; 64 KiB by default. */
  highWaterMark?: number;
}

/** A Fetch API request handler. */
export type FetchHandler = (request: Request, info?: FetchClientInfo) => Promise<Response>;

/** What `fromFetchHandler` accepts: the environ comes second, where Hono's `fetch` expects its `env`. */
export type FetchStyleHandler = (request: Request, environ: Environ) => Response | Promise<Response>;

export interface FromFetchOptions {
  /**
   * Put SCRIPT_NAME into the Request URL. Off by default: the handler sees URLs relative to
   * where it is mounted, so its routes work unchanged under `/cgi-bin/app.js` or a mount prefix.
   */
  keepScriptName?: boolean;
  /**
   * Put SCRIPT_NAME in front of a root-relative `Location` the handler answers with, so its
   * redirects stay inside the mount (docs/fetch.md). On unless `keepScriptName` is set: a
   * handler that sees full paths builds full Locations itself.
   */
  rewriteLocation?: boolean;
}

const NULL_BODY_STATUSES = new Set([204, 205, 304]);

/** Answers Fetch API requests with a TSGI application. */
export function toFetchHandler(app: Application, options: ToFetchOptions = {}): FetchHandler {
  return async (request, info) => {
    let environ: Environ;
    try {
      environ = environFromRequest(request, info, options.errors ?? stderrStream);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      return new Response(error.message + '\n', { status: error.status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    }
    const target = new StreamTarget(request.method === 'HEAD', options.highWaterMark ?? 64 * 1024);
    const client = target.client;
    if (request.signal.aborted) client.leave();
    else request.signal.addEventListener('abort', () => client.leave(), { once: true });
    void runApplication(app, environ, target, { client }).then(() => target.settleIfUnanswered());
    return target.response;
  };
}

function environFromRequest(request: Request, info: FetchClientInfo | undefined, errors: ErrorStream): Environ {
  const url = new URL(request.url);
  const pathInfo = decodePath(url.pathname);
  if (pathInfo === undefined) throw new HttpError(400, 'The request path is not valid UTF-8 once percent-decoded.');
  const https = url.protocol === 'https:';
  const environ: Record<string, unknown> = {
    REQUEST_METHOD: request.method,
    SCRIPT_NAME: '',
    PATH_INFO: pathInfo,
    QUERY_STRING: url.search.slice(1),
    SERVER_NAME: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    SERVER_PORT: url.port || (https ? '443' : '80'),
    SERVER_PROTOCOL: 'HTTP/1.1',
    SERVER_SOFTWARE,
    GATEWAY_INTERFACE: 'CGI/1.1',
    REQUEST_URI: url.pathname + url.search,
  };
  if (https) environ.HTTPS = 'on';
  const address = info?.remoteAddress ?? info?.remoteAddr?.hostname;
  const port = info?.remotePort ?? info?.remoteAddr?.port;
  if (address) environ.REMOTE_ADDR = address;
  if (port !== undefined) environ.REMOTE_PORT = String(port);
  const rawHeaders: string[] = [];
  for (const [name, value] of request.headers) {
    // Fetch joins repeated fields with ", "; cookies belong joined with "; " (RFC 6265 §5.4).
    if (!isHopByHop(name)) rawHeaders.push(name, name === 'cookie' ? value.replace(/, /g, '; ') : value);
  }
  addRequestHeaders(environ as Environ, rawHeaders, errors);
  if (environ.HTTP_HOST === undefined) environ.HTTP_HOST = url.host;
  const limit = environ.CONTENT_LENGTH === undefined ? undefined : Number(environ.CONTENT_LENGTH);
  if (limit !== undefined && !Number.isSafeInteger(limit)) throw new HttpError(400, `Content-Length ${String(environ.CONTENT_LENGTH)} is not a number`);
  Object.assign(environ, {
    'tsgi.version': [1, 0] as const,
    'tsgi.url_scheme': https ? 'https' : 'http',
    'tsgi.input': inputFromStream(request.body, limit),
    'tsgi.errors': errors,
    'tsgi.multithread': false,
    'tsgi.multiprocess': false,
    'tsgi.run_once': false,
  });
  return environ as Environ;
}

/** The request body as `tsgi.input`: never more than the declared length, and an error rather than a silent cut. */
function inputFromStream(body: ReadableStream<Uint8Array> | null, limit: number | undefined): InputStream {
  return {
    async *[Symbol.asyncIterator]() {
      if (!body) return;
      const reader = body.getReader();
      let received = 0;
      let done = false;
      try {
        for (;;) {
          const step = await reader.read();
          if (step.done) {
            done = true;
            return;
          }
          received += step.value.length;
          if (limit !== undefined && received > limit) throw new HttpError(400, `the request body is longer than its Content-Length of ${limit}`);
          yield step.value;
        }
      } finally {
        if (!done) await reader.cancel().catch(() => {});
        reader.releaseLock();
      }
    },
  };
}

/** The client side of a Fetch exchange: gone once the Response stream is cancelled or the Request aborted. */
class FetchClient implements ClientState {
  gone = false;
  private readonly listeners: (() => void)[] = [];

  onGone(listener: () => void): void {
    if (this.gone) listener();
    else this.listeners.push(listener);
  }

  leave(): void {
    if (this.gone) return;
    this.gone = true;
    for (const listener of this.listeners.splice(0)) listener();
  }
}

/**
 * Turns the engine's head and writes into a Response. A body that is complete when the head
 * goes out (the usual array body) becomes a plain bytes Response; anything else streams
 * through a ReadableStream with backpressure. The engine always follows the head at once
 * with a write, the end or an abort, so the Response is never held back.
 */
class StreamTarget implements ResponseTarget {
  readonly client = new FetchClient();
  readonly response: Promise<Response>;
  private resolve!: (response: Response) => void;
  private reject!: (error: unknown) => void;
  private head: { status: number; statusText: string; headers: Headers } | undefined;
  private answered = false;
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private wakeWriter: (() => void) | undefined;

  constructor(
    private readonly isHead: boolean,
    private readonly highWaterMark: number,
  ) {
    this.response = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.client.onGone(() => this.releaseWriter());
  }

  sendHead(status: number, reason: string, headerList: HeaderList): void {
    const headers = new Headers();
    for (const [name, value] of headerList) headers.append(name, value);
    this.head = { status, statusText: reason, headers };
    if (this.isHead || NULL_BODY_STATUSES.has(status)) this.answer(null);
  }

  write(chunk: Uint8Array): void | Promise<void> {
    if (!this.answered) this.answer(this.openStream());
    const controller = this.controller;
    if (!controller || this.client.gone) return;
    controller.enqueue(chunk);
    if ((controller.desiredSize ?? 1) > 0) return;
    return new Promise((resolve) => {
      this.wakeWriter = resolve;
    });
  }

  end(last?: Uint8Array): void {
    if (!this.answered) {
      this.answer(last ?? null);
      return;
    }
    const controller = this.controller;
    if (!controller || this.client.gone) return;
    if (last) controller.enqueue(last);
    controller.close();
  }

  abort(error: unknown): void {
    if (!this.answered) this.answer(this.openStream());
    if (this.controller && !this.client.gone) this.controller.error(error);
  }

  /** The engine gave up without a head: only when the client went away first. */
  settleIfUnanswered(): void {
    if (!this.answered) this.reject(new DOMException('the request was aborted before the application answered', 'AbortError'));
  }

  private answer(body: ReadableStream<Uint8Array> | Uint8Array | null): void {
    this.answered = true;
    this.resolve(new Response(body, this.head));
  }

  private openStream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => this.releaseWriter(),
        cancel: () => this.client.leave(),
      },
      { highWaterMark: this.highWaterMark, size: (chunk) => chunk.byteLength },
    );
  }

  private releaseWriter(): void {
    const wake = this.wakeWriter;
    this.wakeWriter = undefined;
    wake?.();
  }
}

/** Serves a Fetch-style handler (Hono's `app.fetch`, itty, a plain function) as a TSGI application. */
export function fromFetchHandler(handler: FetchStyleHandler, options: FromFetchOptions = {}): Application {
  return async (environ, startResponse) => {
    const request = requestFromEnviron(environ, options);
    const response = await handler(request, environ);
    if (!isResponse(response)) throw new TypeError(`the Fetch handler must return a Response, got ${response === null ? 'null' : typeof response}`);
    const headers = responseHeaders(response);
    if (options.rewriteLocation ?? !options.keepScriptName) rewriteLocations(headers, mountPrefix(environ));
    startResponse(`${response.status} ${response.statusText || STATUS_CODES[response.status] || REASONS[response.status] || 'Unknown'}`, headers);
    return bodyFromResponse(response);
  };
}

function requestFromEnviron(environ: Environ, options: FromFetchOptions): Request {
  const path = options.keepScriptName ? encodePathInfo((environ.SCRIPT_NAME || '') + environ.PATH_INFO) : encodePathInfo(environ.PATH_INFO);
  const query = environ.QUERY_STRING ? '?' + environ.QUERY_STRING : '';
  const url = `${environ['tsgi.url_scheme']}://${hostOf(environ)}${path}${query}`;
  const method = environ.REQUEST_METHOD;
  const init: RequestInit & { duplex?: 'half' } = { method, headers: withPrefixHeader(requestHeaders(environ), mountPrefix(environ)) };
  if (hasRequestBody(environ)) {
    init.body = streamFromInput(environ['tsgi.input']);
    init.duplex = 'half';
  }
  try {
    return new Request(url, init);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/method/i.test(message)) throw new HttpError(405, `the method ${method} cannot be passed to a Fetch handler`);
    if (/url/i.test(message)) throw new HttpError(400, `the request's host ${JSON.stringify(hostOf(environ))} does not make a valid URL`);
    throw new HttpError(400, `the request cannot be represented as a Fetch Request: ${message}`);
  }
}

function streamFromInput(input: InputStream): ReadableStream<Uint8Array> {
  let iterator: AsyncIterator<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      iterator ??= input[Symbol.asyncIterator]();
      const step = await iterator.next();
      if (step.done) controller.close();
      else controller.enqueue(step.value);
    },
    async cancel() {
      await iterator?.return?.();
    },
  });
}

function isResponse(value: unknown): value is Response {
  return value instanceof Response || (typeof value === 'object' && value !== null && typeof (value as Response).status === 'number' && typeof (value as Response).headers?.get === 'function');
}

function responseHeaders(response: Response): HeaderList {
  const headers: HeaderList = [];
  for (const [name, value] of response.headers) {
    // The server frames the body itself; the app's framing and connection fields do not apply.
    if (name === 'set-cookie' || isHopByHop(name)) continue;
    headers.push([name, value]);
  }
  for (const cookie of response.headers.getSetCookie()) headers.push(['set-cookie', cookie]);
  return headers;
}

function bodyFromResponse(response: Response): Body {
  const stream = response.body;
  if (!stream) return [];
  const reader = stream.getReader();
  let finished = false;
  return {
    [Symbol.asyncIterator]() {
      return {
        async next(): Promise<IteratorResult<Uint8Array>> {
          const step = await reader.read();
          if (step.done) finished = true;
          return step.done ? { done: true, value: undefined } : { done: false, value: step.value };
        },
      };
    },
    async close() {
      if (finished) return;
      // The client left or the server gave up: cancelling tells the handler's stream to stop.
      await reader.cancel().catch(() => {});
    },
  };
}
