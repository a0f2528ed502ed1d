/**
 * The TSGI conformance checker (wsgiref.validate, Rack::Lint): `validator(app)` wraps an
 * application and checks both sides of the contract while requests run through it.
 *
 * This file is also the normative rule list of docs/SPEC.md: every `///` comment below is
 * copied there by `npm run spec`, in order, and each rule sits beside the check that enforces
 * it, so the document and the checker cannot drift apart. Rule ids in `fail('…')` calls and in
 * the `///` rule items must match one to one; the generator refuses anything else.
 */
import type { Application, Body, Chunk, Environ, ErrorStream, HeaderList, InputStream, StartResponse, Write } from './types.js';
import { isHopByHop } from './util.js';

/** A broken TSGI rule. `rule` is the rule's id in docs/SPEC.md; the message starts with it. */
export class ValidationError extends Error {
  constructor(
    readonly rule: string,
    detail: string,
  ) {
    super(`[${rule}] ${detail}`);
    this.name = 'ValidationError';
  }
}

/** An application wrapped by `validator`, with what it found so far. */
export interface ValidatedApplication extends Application {
  (environ: Environ, startResponse: StartResponse): Promise<Body>;
  /** Every rule broken so far, oldest first (each was also thrown where it was found). Keeps the first 100. */
  readonly violations: readonly ValidationError[];
  /**
   * Throws the first violation seen, or a `server.close` violation when a body this validator
   * handed to the server has not been closed. Call it once the server has finished its requests.
   */
  assertClean(): void;
}

type Fail = (rule: string, detail: string) => never;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HTTP_KEY = /^HTTP_[!#$%&'*+.^_`|~0-9A-Z]+$/;
const STATUS = /^(\d{3}) ([^\x00-\x1f\x7f\u0100-\uffff]*)$/;
const BAD_HEADER_VALUE = /[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]/;
const NOT_LATIN1 = /[^\x00-\xff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const REQUIRED_KEYS = [
  'REQUEST_METHOD', 'SCRIPT_NAME', 'PATH_INFO', 'QUERY_STRING', 'SERVER_NAME', 'SERVER_PORT', 'SERVER_PROTOCOL',
  'tsgi.version', 'tsgi.url_scheme', 'tsgi.input', 'tsgi.errors', 'tsgi.multithread', 'tsgi.multiprocess', 'tsgi.run_once',
];
const MAX_KEPT = 100;
const encoder = new TextEncoder();

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'a Uint8Array';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? value.slice(0, 60) + '…' : value);
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
  return `${typeof value} ${String(value)}`;
}

function byteLength(chunk: Chunk): number {
  return typeof chunk === 'string' ? (chunk.length === 0 ? 0 : encoder.encode(chunk).length) : chunk.length;
}

function isChunk(value: unknown): value is Chunk {
  return typeof value === 'string' || value instanceof Uint8Array;
}

function findHeader(headers: HeaderList, lowerName: string): string[] {
  return headers.filter(([name]) => name.toLowerCase() === lowerName).map(([, value]) => value);
}

/// ### Calling the application
///
/// Rules marked *(server)* bind whoever calls the application: a server, or middleware calling
/// the application it wraps. Rules marked *(application)* bind the application, and
/// middleware towards the server that calls it.
///
function checkCall(args: unknown[], fail: Fail): asserts args is [Environ, StartResponse] {
  /// - `environ.call` *(server)* The application is called with exactly two arguments: the
  ///   environ and the `startResponse` function.
  if (args.length !== 2) fail('environ.call', `the application takes (environ, startResponse), got ${args.length} argument(s)`);
  if (typeof args[1] !== 'function') fail('environ.call', `startResponse must be a function, got ${describe(args[1])}`);
}

/// ### The environ
///
function checkEnviron(environ: unknown, fail: Fail): asserts environ is Environ {
  /// - `environ.object` *(server)* The environ is a plain object (its prototype is
  ///   `Object.prototype` or `null`), neither frozen nor sealed: the application may change it.
  const proto = typeof environ === 'object' && environ !== null ? Object.getPrototypeOf(environ) : undefined;
  if (proto === undefined || (proto !== Object.prototype && proto !== null)) {
    fail('environ.object', `the environ must be a plain object, got ${describe(environ)}`);
  }
  // Frozen and sealed objects are not extensible either.
  if (!Object.isExtensible(environ)) fail('environ.object', 'the environ must not be frozen, sealed or non-extensible');
  const env = environ as Record<string, unknown>;

  /// - `environ.required` *(server)* These keys are present: `REQUEST_METHOD`, `SCRIPT_NAME`,
  ///   `PATH_INFO`, `QUERY_STRING`, `SERVER_NAME`, `SERVER_PORT`, `SERVER_PROTOCOL`,
  ///   `tsgi.version`, `tsgi.url_scheme`, `tsgi.input`, `tsgi.errors`, `tsgi.multithread`,
  ///   `tsgi.multiprocess` and `tsgi.run_once`. A key whose value is `undefined` counts as absent.
  for (const key of REQUIRED_KEYS) {
    if (env[key] === undefined) fail('environ.required', `the environ has no ${key}`);
  }

  /// - `environ.content-headers` *(server)* There is no `HTTP_CONTENT_TYPE` or
  ///   `HTTP_CONTENT_LENGTH`: those request headers go to `CONTENT_TYPE` and `CONTENT_LENGTH`.
  for (const key of ['HTTP_CONTENT_TYPE', 'HTTP_CONTENT_LENGTH']) {
    if (env[key] !== undefined) fail('environ.content-headers', `the environ has ${key}: use ${key.slice(5)}`);
  }

  /// - `environ.httpoxy` *(server)* There is no `HTTP_PROXY`: a `Proxy` request header is
  ///   dropped, because programs read `HTTP_PROXY` as their outgoing proxy (httpoxy).
  if (env.HTTP_PROXY !== undefined) fail('environ.httpoxy', 'the environ has HTTP_PROXY: a Proxy request header must be dropped');

  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || key.includes('.')) continue;
    /// - `environ.strings` *(server)* Keys without a dot are CGI meta-variables and hold strings.
    ///   Keys with a dot are extensions; `tsgi.` is reserved for the keys of this specification,
    ///   and servers and middleware name their own with a prefix of their own (`myserver.peer_cert`).
    if (typeof value !== 'string') fail('environ.strings', `${key} must be a string, got ${describe(value)}`);
    /// - `environ.header-keys` *(server)* Request headers appear as `HTTP_` followed by the header
    ///   name upper-cased with `-` turned into `_`; the rest of the name is a token.
    if (key.startsWith('HTTP_') && !HTTP_KEY.test(key)) {
      fail('environ.header-keys', `${JSON.stringify(key)} is not a valid HTTP_ variable name`);
    }
    /// - `environ.latin1` *(server)* Every CGI variable except `SCRIPT_NAME` and `PATH_INFO` holds
    ///   the bytes received, one character per byte (latin-1): no character above U+00FF.
    if (key !== 'SCRIPT_NAME' && key !== 'PATH_INFO' && NOT_LATIN1.test(value)) {
      fail('environ.latin1', `${key} has a character above U+00FF: CGI variables carry bytes as latin-1`);
    }
  }

  /// - `environ.path-text` *(server)* `SCRIPT_NAME` and `PATH_INFO` are percent-decoded and then
  ///   decoded as UTF-8, so they are well-formed Unicode text (no lone surrogates).
  for (const key of ['SCRIPT_NAME', 'PATH_INFO'] as const) {
    if (LONE_SURROGATE.test(env[key] as string)) fail('environ.path-text', `${key} is not well-formed Unicode`);
  }

  /// - `environ.method` *(server)* `REQUEST_METHOD` is an HTTP token (`GET`, `POST`, …), never empty.
  if (!TOKEN.test(env.REQUEST_METHOD as string)) {
    fail('environ.method', `REQUEST_METHOD ${describe(env.REQUEST_METHOD)} is not an HTTP token`);
  }

  /// - `environ.script-name` *(server)* `SCRIPT_NAME` is `""` or starts with `/`, and is never
  ///   `"/"` alone: an application mounted at the root has `SCRIPT_NAME` `""` and `PATH_INFO` `"/"`.
  const scriptName = env.SCRIPT_NAME as string;
  if (scriptName !== '' && !scriptName.startsWith('/')) fail('environ.script-name', `SCRIPT_NAME ${describe(scriptName)} must be "" or start with "/"`);
  if (scriptName === '/') fail('environ.script-name', 'SCRIPT_NAME must not be "/": make it "" and put the "/" in PATH_INFO');

  /// - `environ.path-info` *(server)* `PATH_INFO` is `""` or starts with `/`. It is `""` only when
  ///   the target names the mount point itself (`/app` for an application mounted at `/app`) or
  ///   is `*` (`OPTIONS *`), so `SCRIPT_NAME` and `PATH_INFO` are never both empty otherwise.
  const pathInfo = env.PATH_INFO as string;
  if (pathInfo !== '' && !pathInfo.startsWith('/')) fail('environ.path-info', `PATH_INFO ${describe(pathInfo)} must be "" or start with "/"`);
  if (pathInfo === '' && scriptName === '' && env.REQUEST_METHOD !== 'OPTIONS') {
    fail('environ.path-info', 'SCRIPT_NAME and PATH_INFO are both empty: PATH_INFO must be "/" for the root');
  }

  /// - `environ.request-uri` *(server)* `REQUEST_URI`, when present, is the request target as
  ///   received: not empty, without spaces or control characters.
  if (env.REQUEST_URI !== undefined && !/^[^\x00-\x20\x7f]+$/.test(env.REQUEST_URI as string)) {
    fail('environ.request-uri', `REQUEST_URI ${describe(env.REQUEST_URI)} is not a request target`);
  }

  /// - `environ.content-length` *(server)* `CONTENT_LENGTH`, when present, is decimal digits only.
  if (env.CONTENT_LENGTH !== undefined && !/^\d+$/.test(env.CONTENT_LENGTH as string)) {
    fail('environ.content-length', `CONTENT_LENGTH ${describe(env.CONTENT_LENGTH)} must be digits only`);
  }

  /// - `environ.server` *(server)* `SERVER_NAME` is not empty, `SERVER_PORT` is decimal digits and
  ///   `SERVER_PROTOCOL` names a protocol and version (`HTTP/1.1`) or is `INCLUDED`.
  if (env.SERVER_NAME === '') fail('environ.server', 'SERVER_NAME must not be empty');
  if (!/^\d+$/.test(env.SERVER_PORT as string)) fail('environ.server', `SERVER_PORT ${describe(env.SERVER_PORT)} must be digits only`);
  if (!/^([A-Za-z][A-Za-z0-9+.-]*\/\d+(\.\d+)?|INCLUDED)$/.test(env.SERVER_PROTOCOL as string)) {
    fail('environ.server', `SERVER_PROTOCOL ${describe(env.SERVER_PROTOCOL)} must look like HTTP/1.1`);
  }

  /// - `environ.version` *(server)* `tsgi.version` is the array `[1, 0]`.
  const version = env['tsgi.version'];
  if (!Array.isArray(version) || version.length !== 2 || version[0] !== 1 || version[1] !== 0) {
    fail('environ.version', `tsgi.version must be [1, 0], got ${describe(version)}`);
  }

  /// - `environ.url-scheme` *(server)* `tsgi.url_scheme` is `"http"` or `"https"`.
  if (env['tsgi.url_scheme'] !== 'http' && env['tsgi.url_scheme'] !== 'https') {
    fail('environ.url-scheme', `tsgi.url_scheme must be "http" or "https", got ${describe(env['tsgi.url_scheme'])}`);
  }

  /// - `environ.https` *(server)* When `HTTPS` is `"on"`, `tsgi.url_scheme` is `"https"`.
  if (typeof env.HTTPS === 'string' && env.HTTPS.toLowerCase() === 'on' && env['tsgi.url_scheme'] !== 'https') {
    fail('environ.https', 'HTTPS is "on" but tsgi.url_scheme is not "https"');
  }

  /// - `environ.input` *(server)* `tsgi.input` is an async iterable (it has `Symbol.asyncIterator`).
  const input = env['tsgi.input'] as { [Symbol.asyncIterator]?: unknown } | null;
  if (typeof input !== 'object' || input === null || typeof input[Symbol.asyncIterator] !== 'function') {
    fail('environ.input', `tsgi.input must be an AsyncIterable<Uint8Array>, got ${describe(input)}`);
  }

  /// - `environ.errors` *(server)* `tsgi.errors` has a `write(text)` method, and a `flush()`
  ///   method or none.
  const errors = env['tsgi.errors'] as { write?: unknown; flush?: unknown } | null;
  if (typeof errors !== 'object' || errors === null || typeof errors.write !== 'function') {
    fail('environ.errors', `tsgi.errors must have a write() method, got ${describe(errors)}`);
  }
  if (errors.flush !== undefined && typeof errors.flush !== 'function') fail('environ.errors', 'tsgi.errors.flush must be a method when present');

  /// - `environ.flags` *(server)* `tsgi.multithread`, `tsgi.multiprocess` and `tsgi.run_once` are booleans.
  for (const key of ['tsgi.multithread', 'tsgi.multiprocess', 'tsgi.run_once']) {
    if (typeof env[key] !== 'boolean') fail('environ.flags', `${key} must be a boolean, got ${describe(env[key])}`);
  }

  /// - `environ.file-wrapper` *(server)* `tsgi.file_wrapper`, when present, is a function.
  if (env['tsgi.file_wrapper'] !== undefined && typeof env['tsgi.file_wrapper'] !== 'function') {
    fail('environ.file-wrapper', `tsgi.file_wrapper must be a function, got ${describe(env['tsgi.file_wrapper'])}`);
  }
}

/// ### The input stream
///
/// `tsgi.input` is the request body: an `AsyncIterable<Uint8Array>`. Applications read it with
/// `for await`, or not at all.
///
class CheckedInput implements InputStream {
  private used = false;
  private received = 0;
  private readonly expected: number;

  constructor(
    private readonly inner: InputStream,
    contentLength: string | undefined,
    private readonly fail: Fail,
  ) {
    this.expected = contentLength === undefined ? -1 : Number(contentLength);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    /// - `input.once` *(application)* The application iterates `tsgi.input` at most once: it is a
    ///   stream, not a buffer.
    if (this.used) this.fail('input.once', 'tsgi.input was iterated a second time: it can be read only once');
    this.used = true;
    const iterator = this.inner[Symbol.asyncIterator]();
    return {
      next: async () => this.step(await iterator.next()),
      return: async (value?: unknown) => (iterator.return ? iterator.return(value) : { done: true, value: undefined }),
    };
  }

  private step(step: IteratorResult<Uint8Array>): IteratorResult<Uint8Array> {
    if (step.done) {
      /// - `input.complete` *(server)* When `CONTENT_LENGTH` is set, `tsgi.input` ends only after
      ///   that many bytes; a body cut short makes the iteration throw rather than end early.
      if (this.expected >= 0 && this.received < this.expected) {
        this.fail('input.complete', `tsgi.input ended after ${this.received} of the ${this.expected} bytes of CONTENT_LENGTH`);
      }
      return step;
    }
    /// - `input.chunk` *(server)* `tsgi.input` yields `Uint8Array`s (a `Buffer` is one).
    if (!(step.value instanceof Uint8Array)) this.fail('input.chunk', `tsgi.input yielded ${describe(step.value)}, not a Uint8Array`);
    this.received += step.value.length;
    /// - `input.length` *(server)* `tsgi.input` never yields more than `CONTENT_LENGTH` bytes in all.
    if (this.expected >= 0 && this.received > this.expected) {
      this.fail('input.length', `tsgi.input yielded ${this.received} bytes, more than its CONTENT_LENGTH of ${this.expected}`);
    }
    return step;
  }
}

/// ### The error stream
///
function checkedErrors(inner: ErrorStream, fail: Fail): ErrorStream {
  return {
    write(text: string) {
      /// - `errors.text` *(application)* `tsgi.errors.write()` is given a string.
      if (typeof text !== 'string') fail('errors.text', `tsgi.errors.write() takes a string, got ${describe(text)}`);
      inner.write(text);
    },
    flush() {
      inner.flush?.();
    },
  };
}

/** One request through the validator: what has happened so far, and the checks that depend on it. */
class Exchange {
  readonly input: CheckedInput;
  readonly errors: ErrorStream;
  private started = false;
  private code = 0;
  private declaredLength = -1;
  private hasContentType = false;
  private bytes = 0;
  /** A non-empty chunk certainly reached the server, so its headers went out. */
  private headersOut = false;
  /** The server rethrew excInfo from startResponse: the application must not carry on. */
  private rethrown = false;
  private bodyDone = false;
  private serverWrite: Write | undefined;
  private readonly isHead: boolean;
  private pulls = 0;
  private firstBytesAt = -1;

  constructor(
    private readonly environ: Environ,
    private readonly serverStart: StartResponse,
    readonly fail: Fail,
  ) {
    this.isHead = environ.REQUEST_METHOD === 'HEAD';
    this.input = new CheckedInput(environ['tsgi.input'], environ.CONTENT_LENGTH, fail);
    this.errors = checkedErrors(environ['tsgi.errors'], fail);
  }

  get ended(): boolean {
    return this.bodyDone;
  }

  get path(): string {
    return `${this.environ.REQUEST_METHOD} ${this.environ.SCRIPT_NAME}${this.environ.PATH_INFO}`;
  }

  markClosed(): void {
    this.bodyDone = true;
  }

  readonly startResponse: StartResponse = (...args: unknown[]) => {
    const [status, headers, excInfo] = args;
    const hasExcInfo = excInfo !== undefined && excInfo !== null;
    this.checkStartCall(args.length, hasExcInfo);
    const code = this.checkStatus(status);
    this.checkHeaderList(headers, code);
    const write = this.callServer(status as string, headers, excInfo, hasExcInfo);
    this.started = true;
    this.code = code;
    const length = findHeader(headers, 'content-length')[0];
    this.declaredLength = length === undefined ? -1 : Number(length);
    this.hasContentType = findHeader(headers, 'content-type').length > 0;
    return write;
  };

  /// ### startResponse
  ///
  private checkStartCall(count: number, hasExcInfo: boolean): void {
    /// - `start.args` *(application)* `startResponse` is called with two or three arguments:
    ///   status, headers and, optionally, `excInfo`.
    if (count < 2 || count > 3) this.fail('start.args', `startResponse takes (status, headers, excInfo?), got ${count} argument(s)`);
    /// - `start.once` *(application)* `startResponse` is called once. It may be called again only
    ///   with `excInfo`, the error the application caught, to replace headers not yet sent.
    if (this.started && !hasExcInfo) this.fail('start.once', 'startResponse was called a second time without excInfo');
  }

  private checkStatus(status: unknown): number {
    /// - `start.status` *(application)* The status is a string: three digits for a final status
    ///   from 200 to 599, a space, and a reason phrase of latin-1 characters without controls
    ///   (`"200 OK"`, `"404 Not Found"`; the reason may be empty).
    const match = typeof status === 'string' ? STATUS.exec(status) : null;
    const code = match ? Number(match[1]) : 0;
    if (code < 200 || code > 599) this.fail('start.status', `status ${describe(status)} must be like "200 OK": a final status code, a space, a reason`);
    return code;
  }

  private checkHeaderList(headers: unknown, code: number): asserts headers is HeaderList {
    /// - `start.headers` *(application)* The headers are an array of `[name, value]` arrays of two strings.
    if (!Array.isArray(headers)) this.fail('start.headers', `the headers must be an array of [name, value] pairs, got ${describe(headers)}`);
    for (const pair of headers as unknown[]) {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
        this.fail('start.headers', `each header must be a [name, value] pair of strings, got ${describe(pair)}`);
      }
      const [name, value] = pair as [string, string];
      /// - `start.header-name` *(application)* A header name is an HTTP token: no spaces, colons or controls.
      if (!TOKEN.test(name)) this.fail('start.header-name', `header name ${describe(name)} is not an HTTP token`);
      /// - `start.header-value` *(application)* A header value is latin-1 text without control
      ///   characters (tab is allowed): no CR or LF that could split the response.
      if (BAD_HEADER_VALUE.test(value)) this.fail('start.header-value', `header ${name} has a control or non-latin-1 character in its value`);
      /// - `start.hop-by-hop` *(application)* No hop-by-hop header (`Connection`, `Keep-Alive`,
      ///   `Proxy-Authenticate`, `Proxy-Authorization`, `TE`, `Trailer`, `Transfer-Encoding`,
      ///   `Upgrade`): the connection is the server's business.
      if (isHopByHop(name)) this.fail('start.hop-by-hop', `header ${name} is hop-by-hop: only the server may send it`);
      /// - `start.status-header` *(application)* No `Status` header: the status goes in the status argument.
      if (name.toLowerCase() === 'status') this.fail('start.status-header', 'a Status header is not allowed: pass the status as the first argument');
    }
    const list = headers as HeaderList;
    /// - `start.single` *(application)* `Content-Length`, `Content-Type` and `Location` appear at most once.
    for (const name of ['content-length', 'content-type', 'location']) {
      if (findHeader(list, name).length > 1) this.fail('start.single', `the ${name} header appears more than once`);
    }
    /// - `start.content-length` *(application)* A `Content-Length` header is decimal digits only.
    const length = findHeader(list, 'content-length')[0];
    if (length !== undefined && !/^\d+$/.test(length)) this.fail('start.content-length', `Content-Length ${describe(length)} must be digits only`);
    /// - `start.bodyless` *(application)* A 204 or 304 response has no `Content-Type`, and a 204
    ///   no `Content-Length`: they carry no body.
    if ((code === 204 || code === 304) && findHeader(list, 'content-type').length > 0) {
      this.fail('start.bodyless', `a ${code} response must not have a Content-Type`);
    }
    if (code === 204 && length !== undefined) this.fail('start.bodyless', 'a 204 response must not have a Content-Length');
  }

  private callServer(status: string, headers: HeaderList, excInfo: unknown, hasExcInfo: boolean): Write {
    let write: unknown;
    try {
      write = this.serverStart(status, headers, excInfo);
    } catch (error) {
      if (hasExcInfo && this.headersOut) {
        /// - `server.rethrow` *(server)* Called with `excInfo` after the headers were sent,
        ///   `startResponse` throws `excInfo` itself: the response can no longer be replaced.
        if (error !== excInfo) this.fail('server.rethrow', 'startResponse threw something other than excInfo after the headers were sent');
        /// - `start.rethrow` *(application)* When `startResponse` throws `excInfo` back, the
        ///   application lets it propagate: it neither returns a body nor goes on producing chunks.
        this.rethrown = true;
      }
      throw error;
    }
    if (hasExcInfo && this.headersOut) this.fail('server.rethrow', 'startResponse returned although the headers were already sent: it must throw excInfo');
    /// - `server.write` *(server)* `startResponse` returns the `write` function.
    if (typeof write !== 'function') this.fail('server.write', `startResponse must return a write function, got ${describe(write)}`);
    this.serverWrite = write as Write;
    return this.write;
  }

  /// ### write()
  ///
  private readonly write: Write = (...args: unknown[]) => {
    const chunk = args[0];
    /// - `write.chunk` *(application)* `write()` is given one chunk: a `Uint8Array` or a string.
    if (args.length !== 1 || !isChunk(chunk)) this.fail('write.chunk', `write() takes one Uint8Array or string, got ${describe(chunk)}`);
    /// - `write.open` *(application)* `write()` is not called once the body has ended or been closed.
    if (this.bodyDone) this.fail('write.open', 'write() was called after the body ended');
    const length = byteLength(chunk);
    this.count(length);
    const result = this.serverWrite!(chunk);
    if (length > 0) this.headersOut = true;
    return result;
  };

  /// ### The body
  ///
  /** The application returned (or resolved to) `body`: check it and hand the server a watched copy. */
  wrapBody(body: unknown, openBodies: Set<Exchange>): Body {
    if (this.rethrown) this.fail('start.rethrow', 'startResponse rethrew excInfo but the application returned normally');
    /// - `body.not-text` *(application)* The body is not a string or a `Uint8Array`: an
    ///   application returns `[text]`, not `text`.
    if (isChunk(body)) this.fail('body.not-text', 'the application returned a string or bytes: return an array of chunks');
    /// - `body.iterable` *(application)* The application returns, or resolves to, an iterable or
    ///   async iterable of chunks.
    const object = body as { [Symbol.iterator]?: unknown; [Symbol.asyncIterator]?: unknown } | null;
    if (typeof object !== 'object' || object === null || (typeof object[Symbol.iterator] !== 'function' && typeof object[Symbol.asyncIterator] !== 'function')) {
      this.fail('body.iterable', `the application must return an iterable body, got ${describe(body)}`);
    }
    const source = body as Body;
    const close = new BodyClose(source, this, openBodies);
    if (Array.isArray(source)) {
      try {
        this.checkArray(source);
      } catch (error) {
        void Promise.resolve(close.closeSource()).catch(() => {});
        throw error;
      }
      // Still an array, so the server keeps its whole-body path and its Content-Length.
      const copy: Chunk[] = [...source];
      Object.defineProperty(copy, 'close', { value: () => close.close(), enumerable: false });
      openBodies.add(this);
      return copy;
    }
    openBodies.add(this);
    if (typeof object[Symbol.asyncIterator] === 'function') {
      return { [Symbol.asyncIterator]: () => this.asyncIterator(source as AsyncIterable<Chunk>, close), close: () => close.close() };
    }
    return { [Symbol.iterator]: () => this.syncIterator(source as Iterable<Chunk>, close), close: () => close.close() };
  }

  private checkStarted(): void {
    /// - `body.start-first` *(application)* `startResponse` has been called by the time the body
    ///   yields its first chunk or ends; an array body is returned after it.
    if (!this.started) this.fail('body.start-first', 'the body started before startResponse was called');
  }

  private checkChunk(chunk: unknown): void {
    /// - `body.chunk` *(application)* Each chunk is a `Uint8Array` or a string (sent as UTF-8).
    if (!isChunk(chunk)) this.fail('body.chunk', `a body chunk must be a Uint8Array or a string, got ${describe(chunk)}`);
    this.count(byteLength(chunk));
  }

  /** Accounts for body bytes the application produced, by write() or by the body. */
  private count(length: number): void {
    if (length === 0) return;
    this.bytes += length;
    /// - `body.bodyless` *(application)* A 204 or 304 response produces no body bytes.
    if (this.code === 204 || this.code === 304) this.fail('body.bodyless', `a ${this.code} response must have an empty body`);
    /// - `body.content-type` *(application)* A response with a non-empty body has a `Content-Type`.
    if (!this.hasContentType) this.fail('body.content-type', 'the response has a body but no Content-Type header');
    /// - `body.content-length` *(application)* When the application sets `Content-Length`, the
    ///   bytes it produces (by `write()` and the body together) are exactly that many, except in
    ///   a response to `HEAD`.
    if (this.declaredLength >= 0 && !this.isHead && this.bytes > this.declaredLength) {
      this.fail('body.content-length', `the body is longer than its Content-Length of ${this.declaredLength}`);
    }
  }

  private checkEnded(): void {
    this.bodyDone = true;
    if (this.declaredLength >= 0 && !this.isHead && this.bytes < this.declaredLength && this.code !== 204 && this.code !== 304) {
      this.fail('body.content-length', `the body ended after ${this.bytes} of its ${this.declaredLength} declared bytes`);
    }
  }

  private checkArray(chunks: unknown[]): void {
    this.checkStarted();
    for (const chunk of chunks) this.checkChunk(chunk);
    this.headersOut = true;
    this.checkEnded();
  }

  private afterStep(step: IteratorResult<unknown>): void {
    if (this.rethrown) this.fail('start.rethrow', 'startResponse rethrew excInfo but the body went on');
    this.checkStarted();
    if (step.done) {
      this.checkEnded();
      return;
    }
    const before = this.bytes;
    this.checkChunk(step.value);
    if (this.bytes > before && this.firstBytesAt < 0) this.firstBytesAt = this.pulls;
  }

  /// ### How the server iterates and closes the body
  ///
  /** Runs before each pull. A server may look one chunk ahead before sending what it holds. */
  private beforeNext(close: BodyClose): void {
    /// - `server.after-close` *(server)* The server does not pull chunks after calling `close()`.
    if (close.closed) this.fail('server.after-close', 'the server pulled a chunk after closing the body');
    this.pulls++;
    if (this.firstBytesAt >= 0 && this.pulls - this.firstBytesAt >= 2) this.headersOut = true;
  }

  private syncIterator(source: Iterable<Chunk>, close: BodyClose): Iterator<Chunk> {
    const inner = close.iterate(() => source[Symbol.iterator]());
    return {
      next: () => {
        this.beforeNext(close);
        try {
          const step = inner.next();
          this.afterStep(step);
          return step;
        } catch (error) {
          close.stopped = true;
          throw error;
        }
      },
      return: (value?: unknown) => {
        close.returned = true;
        return inner.return ? inner.return(value) : { done: true, value: undefined };
      },
    };
  }

  private asyncIterator(source: AsyncIterable<Chunk>, close: BodyClose): AsyncIterator<Chunk> {
    const inner = close.iterate(() => source[Symbol.asyncIterator]());
    let pending = false;
    return {
      next: async () => {
        this.beforeNext(close);
        /// - `server.sequential` *(server)* The server waits for each chunk of an async body before
        ///   asking for the next.
        if (pending) this.fail('server.sequential', 'the server asked for a chunk while the previous one was still pending');
        pending = true;
        try {
          const step = await inner.next();
          this.afterStep(step);
          return step;
        } catch (error) {
          close.stopped = true;
          throw error;
        } finally {
          pending = false;
        }
      },
      return: async (value?: unknown) => {
        close.returned = true;
        return inner.return ? inner.return(value) : { done: true, value: undefined };
      },
    };
  }
}

/** Watches how the server iterates and closes one body. */
class BodyClose {
  closed = false;
  returned = false;
  /** next() threw: like `for … of`, a server owes no return() then. */
  stopped = false;
  private iterated = false;

  constructor(
    private readonly source: Body,
    private readonly exchange: Exchange,
    private readonly openBodies: Set<Exchange>,
  ) {}

  iterate<T>(open: () => T): T {
    /// - `server.iterate-once` *(server)* The server iterates the body at most once.
    if (this.iterated) this.exchange.fail('server.iterate-once', 'the server iterated the body a second time');
    this.iterated = true;
    return open();
  }

  closeSource(): void | Promise<void> {
    return typeof this.source.close === 'function' ? this.source.close() : undefined;
  }

  close(): void | Promise<void> {
    /// - `server.close` *(server)* The server calls the body's `close()`, when it has one, exactly
    ///   once: after the last chunk, after an error, or when the client went away. (The validator
    ///   always hands the server a body with `close()`; `assertClean()` reports bodies never closed.)
    if (this.closed) this.exchange.fail('server.close', `close() was called twice on the body of ${this.exchange.path}`);
    this.closed = true;
    this.openBodies.delete(this.exchange);
    const wasEnded = this.exchange.ended;
    this.exchange.markClosed();
    const result = this.closeSource();
    /// - `server.return` *(server)* A server that stops iterating before the end calls the
    ///   iterator's `return()` (as `break` in a `for … of` does), so that `finally` blocks in a
    ///   generator body run, before it calls `close()`. It owes none when `next()` threw.
    if (this.iterated && !wasEnded && !this.returned && !this.stopped) {
      this.exchange.fail('server.return', 'the server stopped iterating the body early without calling return() on its iterator');
    }
    return result;
  }
}

/**
 * Wraps `app` so that every request through it is checked against the TSGI rules, on the
 * server's side and on the application's. A broken rule throws a ValidationError, where it was
 * found, and is kept in `violations`. Put it between a server and an app, or around middleware.
 */
export function validator(app: Application): ValidatedApplication {
  const violations: ValidationError[] = [];
  const openBodies = new Set<Exchange>();
  const fail: Fail = (rule, detail) => {
    const error = new ValidationError(rule, detail);
    if (violations.length < MAX_KEPT) violations.push(error);
    throw error;
  };

  const checked = async (...args: unknown[]): Promise<Body> => {
    checkCall(args, fail);
    const [environ, startResponse] = args;
    checkEnviron(environ, fail);
    const exchange = new Exchange(environ, startResponse, fail);
    environ['tsgi.input'] = exchange.input;
    environ['tsgi.errors'] = exchange.errors;
    const body: unknown = await app(environ, exchange.startResponse);
    return exchange.wrapBody(body, openBodies);
  };

  return Object.assign(checked, {
    violations: violations as readonly ValidationError[],
    assertClean(): void {
      if (violations.length > 0) throw violations[0];
      if (openBodies.size > 0) {
        const paths = [...openBodies].map((exchange) => exchange.path).join(', ');
        throw new ValidationError('server.close', `${openBodies.size} body/bodies never closed: ${paths}`);
      }
    },
  });
}
