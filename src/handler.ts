/**
 * The one response engine (wsgiref's BaseHandler): runs an application against an environ
 * and drives a ResponseTarget. Front ends only say how status, headers and bytes leave;
 * every rule about when and what may be sent lives here.
 */
import type { Application, Body, Chunk, Environ, HeaderList, StartResponse, Write } from './types.js';
import { isHopByHop } from './util.js';

/** How a front end sends a response. The engine calls these in order: head, writes, end or abort. */
export interface ResponseTarget {
  /** Sends the status line and headers. */
  sendHead(status: number, reason: string, headers: HeaderList): void;
  /** Sends body bytes. A returned promise means: wait before sending more (backpressure). */
  write(chunk: Uint8Array): void | Promise<void>;
  /** Completes the response, with an optional last chunk sent together with the end. */
  end(last?: Uint8Array): void | Promise<void>;
  /**
   * Optional fast path: completes the response with a last chunk given as text (UTF-8).
   * node:http sends headers and a string body in one write; bytes would take two.
   */
  endWithText?(text: string): void | Promise<void>;
  /** Cuts the response short (error after the headers went out): the client must see it incomplete. */
  abort(error: unknown): void;
}

/** Tells the engine the client went away, so it stops the work and releases the body. */
export interface ClientState {
  readonly gone: boolean;
  onGone(listener: () => void): void;
}

export interface RunOptions {
  /** The client's connection state; without it the engine assumes the client stays. */
  client?: ClientState;
}

/** An error that carries the HTTP status the client should get (413 from a body limit, say). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

// The reason phrase goes out as latin-1: anything beyond it would make node refuse the head after we committed to it.
const STATUS_PATTERN = /^([1-9]\d\d) ([\x20-\x7e\x80-\xff]*)$/;
const TOKEN_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible latin-1 plus space and tab; anything else could split or smuggle.
const BAD_VALUE_PATTERN = /[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]/;
const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

export const REASONS: Record<number, string> = {
  200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 206: 'Partial Content', 301: 'Moved Permanently',
  302: 'Found', 303: 'See Other', 304: 'Not Modified', 307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  408: 'Request Timeout', 409: 'Conflict', 410: 'Gone', 411: 'Length Required', 413: 'Content Too Large',
  414: 'URI Too Long', 415: 'Unsupported Media Type', 416: 'Range Not Satisfiable', 422: 'Unprocessable Content',
  429: 'Too Many Requests', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error',
  501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

// Apps answer with a handful of distinct statuses and header names: checking each once pays on every request.
const checkedStatuses = new Map<string, [number, string]>();
const checkedNames = new Set<string>();
const CACHE_LIMIT = 256;

/** Checks a status line from an application; throws a TypeError naming the broken rule. */
export function parseStatus(status: unknown): [code: number, reason: string] {
  if (typeof status !== 'string') throw new TypeError(`status must be a string, got ${typeof status}`);
  const known = checkedStatuses.get(status);
  if (known) return known;
  const parsed = parseNewStatus(status);
  if (checkedStatuses.size < CACHE_LIMIT) checkedStatuses.set(status, parsed);
  return parsed;
}

function parseNewStatus(status: string): [code: number, reason: string] {
  const match = STATUS_PATTERN.exec(status);
  if (!match) {
    throw new TypeError(`status ${JSON.stringify(status)} must be three digits, a space and a reason, without control or non-latin-1 characters`);
  }
  const code = Number(match[1]);
  // A 1xx is interim: the client would wait for the real answer or read the next response as this one's.
  if (code < 200 || code > 599) throw new TypeError(`status ${code} cannot end a response: use a final status from 200 to 599`);
  return [code, match[2]!];
}

/** Checks response headers from an application; throws a TypeError naming the broken rule. */
export function checkHeaders(headers: unknown): asserts headers is HeaderList {
  if (!Array.isArray(headers)) throw new TypeError('headers must be an array of [name, value] pairs');
  let lengths = 0;
  for (const pair of headers) {
    if (!Array.isArray(pair) || pair.length !== 2) throw new TypeError(`header ${JSON.stringify(pair)} must be a [name, value] pair`);
    const [name, value] = pair as unknown[];
    if (typeof name !== 'string') throw new TypeError(`header name ${JSON.stringify(name)} is not a valid token`);
    if (!checkedNames.has(name)) checkName(name);
    if (typeof value !== 'string') throw new TypeError(`header ${name} must have a string value, got ${typeof value}`);
    if (BAD_VALUE_PATTERN.test(value)) throw new TypeError(`header ${name} has a control or non-latin-1 character in its value`);
    // Two lengths on the wire let the client and any proxy in between pick different ones (response smuggling).
    if (name.length === 14 && name.toLowerCase() === 'content-length' && ++lengths > 1) throw new TypeError('Content-Length was given twice: send it once');
  }
}

function checkName(name: string): void {
  if (!TOKEN_PATTERN.test(name)) throw new TypeError(`header name ${JSON.stringify(name)} is not a valid token`);
  if (isHopByHop(name)) throw new TypeError(`header ${name} is hop-by-hop: only the server may send it`);
  if (name.toLowerCase() === 'status') throw new TypeError('a Status header is not allowed: put the status in the status argument');
  if (checkedNames.size < CACHE_LIMIT) checkedNames.add(name);
}

function toBytes(chunk: Chunk): Uint8Array {
  if (typeof chunk === 'string') return chunk.length === 0 ? EMPTY : encoder.encode(chunk);
  if (chunk instanceof Uint8Array) return chunk;
  throw new TypeError(`body chunks must be Uint8Array or string, got ${chunk === null ? 'null' : typeof chunk}`);
}

function headerValue(headers: HeaderList, lowerName: string): string | undefined {
  for (const [name, value] of headers) if (name.length === lowerName.length && name.toLowerCase() === lowerName) return value;
  return undefined;
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return String(error);
}

function bodyless(code: number): boolean {
  return code < 200 || code === 204 || code === 304;
}

/**
 * Runs `app` for one request and sends its response through `target`.
 * Never rejects: failures become a 500 (before the headers) or an aborted response (after).
 */
export function runApplication(app: Application, environ: Environ, target: ResponseTarget, options: RunOptions = {}): Promise<void> {
  try {
    return new ResponseRun(environ, target, options.client).run(app);
  } catch (error) {
    return Promise.reject(error);
  }
}

const SETTLED: Promise<void> = Promise.resolve();

class ResponseRun {
  private status: [number, string] | undefined;
  private headers: HeaderList | undefined;
  private headersSent = false;
  private declaredLength = -1;
  private bytesSent = 0;
  private readonly isHead: boolean;
  private finished = false;
  private listening = false;
  private wakeOnGone: ((step: undefined) => void) | undefined;

  constructor(
    private readonly environ: Environ,
    private readonly target: ResponseTarget,
    private readonly client: ClientState | undefined,
  ) {
    this.isHead = environ.REQUEST_METHOD === 'HEAD';
  }

  private log(text: string): void {
    try {
      this.environ['tsgi.errors'].write(text.endsWith('\n') ? text : text + '\n');
    } catch {
      // A broken error stream must not take the response down with it.
    }
  }

  readonly startResponse: StartResponse = (status, headers, excInfo) => {
    if (excInfo !== undefined && excInfo !== null) {
      if (this.headersSent) throw excInfo;
    } else if (this.status) {
      throw new Error('startResponse was called twice: call it again only with excInfo, to replace headers not yet sent');
    }
    const parsed = parseStatus(status);
    checkHeaders(headers);
    this.status = parsed;
    this.headers = headers;
    const length = headerValue(headers, 'content-length');
    if (length !== undefined) {
      if (!/^\d+$/.test(length)) throw new TypeError(`Content-Length ${JSON.stringify(length)} is not a number`);
      this.declaredLength = Number(length);
    } else {
      this.declaredLength = -1;
    }
    return this.write;
  };

  private readonly write: Write = (chunk) => {
    if (!this.status) throw new Error('write() was called before startResponse');
    if (this.finished) throw new Error('write() was called after the response finished');
    const bytes = toBytes(chunk);
    if (bytes.length === 0) return;
    return this.sendChunk(bytes);
  };

  /** Sends the head; `knownLength` >= 0 lets the engine add a Content-Length the app left out. */
  private sendHeadOnce(knownLength: number): void {
    if (this.headersSent) return;
    if (!this.status || !this.headers) throw new Error('the body started before startResponse was called');
    const [code, reason] = this.status;
    let headers = this.headers;
    if (this.declaredLength < 0 && knownLength >= 0 && !bodyless(code)) {
      headers = [...headers, ['Content-Length', String(knownLength)]];
    }
    this.headersSent = true;
    this.target.sendHead(code, reason, headers);
  }

  /** Never send more than the app declared: the client would read the excess as the next response. */
  private checkRoom(length: number): void {
    if (this.declaredLength >= 0 && this.bytesSent + length > this.declaredLength) {
      throw new Error(`the body is longer than its Content-Length of ${this.declaredLength}`);
    }
  }

  /** A body shorter than its Content-Length would leave the client waiting for bytes that never come. */
  private checkComplete(still = 0): void {
    if (this.declaredLength >= 0 && this.bytesSent + still < this.declaredLength && !this.isHead && !bodyless(this.status![0])) {
      throw new Error(`the body ended after ${this.bytesSent + still} of its ${this.declaredLength} declared bytes`);
    }
  }

  /** Sends one non-empty chunk, with the head first if it has not gone out yet. */
  private sendChunk(bytes: Uint8Array): void | Promise<void> {
    if (!this.status) throw new Error('the body started before startResponse was called');
    this.checkRoom(bytes.length);
    this.sendHeadOnce(-1);
    if (this.isHead || bodyless(this.status[0])) return;
    this.bytesSent += bytes.length;
    return this.target.write(bytes);
  }

  /**
   * Most apps answer at once with a list of chunks: that takes no async function, no promise
   * and no turn of the microtask queue here (they cost a hello-world request ~4 % of its CPU).
   */
  run(app: Application): Promise<void> {
    let result: Body | Promise<Body>;
    try {
      result = app(this.environ, this.startResponse);
    } catch (error) {
      return this.settle(undefined, true, error);
    }
    if (!Array.isArray(result) || typeof (result as { close?: unknown }).close === 'function') return this.settle(result, false, undefined);
    try {
      const sending = this.sendArray(result as Chunk[]);
      return sending ? sending.catch((error: unknown) => this.fail(error)) : SETTLED;
    } catch (error) {
      return this.settle(undefined, true, error);
    }
  }

  /** The rest of a run whose app answered with a promise or an iterator, or threw. */
  private async settle(result: Body | Promise<Body> | undefined, threw: boolean, thrown: unknown): Promise<void> {
    let body: Body | undefined;
    try {
      if (threw) throw thrown;
      body = result != null && typeof (result as Promise<Body>).then === 'function' ? await result : (result as Body);
      if (typeof body === 'string' || body instanceof Uint8Array) {
        throw new TypeError('the application returned a string or bytes: return an array of chunks instead');
      }
      if (body === null || typeof body !== 'object' || !(Symbol.iterator in body || Symbol.asyncIterator in body)) {
        throw new TypeError(`the application must return an iterable body, got ${body === null ? 'null' : typeof body}`);
      }
      const sending = this.sendBody(body);
      if (sending) await sending;
    } catch (error) {
      this.fail(error);
    } finally {
      if (body && typeof body.close === 'function') await this.closeBody(body as Body & { close(): void | Promise<void> });
    }
  }

  /** Only for a body that has close(): the caller checks, so most responses skip this await. */
  private async closeBody(body: Body & { close(): void | Promise<void> }): Promise<void> {
    try {
      await body.close();
    } catch (error) {
      this.log(`tsgi: the body's close() failed: ${errorMessage(error)}`);
    }
  }

  private sendBody(body: Body): void | Promise<void> {
    if (Array.isArray(body)) return this.sendArray(body as Chunk[]);
    if (Symbol.iterator in body && !(Symbol.asyncIterator in body)) return this.sendIterator(body[Symbol.iterator]());
    return this.sendAsyncIterator((body as AsyncIterable<Chunk>)[Symbol.asyncIterator]());
  }

  /** An array is complete up front, so its length is known and it goes out in one write. */
  private sendArray(chunks: Chunk[]): void | Promise<void> {
    if (this.client?.gone) return;
    const only = chunks.length === 1 ? chunks[0] : undefined;
    if (typeof only === 'string' && this.target.endWithText && !this.headersSent && !this.isHead) {
      const length = Buffer.byteLength(only, 'utf8');
      this.checkRoom(length);
      this.checkComplete(length);
      this.sendHeadOnce(length);
      if (bodyless(this.status![0])) return this.finish();
      this.bytesSent += length;
      this.checkComplete();
      this.finished = true;
      return this.target.endWithText(only);
    }
    const parts = chunks.map(toBytes);
    let total = 0;
    for (const part of parts) total += part.length;
    this.checkRoom(total);
    // The whole body is known: a short one still gets an honest 500 rather than a cut connection.
    this.checkComplete(total);
    this.sendHeadOnce(this.headersSent ? -1 : total);
    const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
    return this.finish(data);
  }

  /** A sync iterator may be pulled ahead one step: a single-chunk body gets a Content-Length. */
  private async sendIterator(iterator: Iterator<Chunk>): Promise<void> {
    let completed = false;
    try {
      let step = iterator.next();
      while (!step.done) {
        if (this.client?.gone) return;
        const bytes = toBytes(step.value);
        step = iterator.next();
        if (step.done && !this.headersSent) {
          this.checkRoom(bytes.length);
          this.checkComplete(bytes.length);
          this.sendHeadOnce(bytes.length);
          completed = true;
          return await this.finish(bytes);
        }
        if (bytes.length === 0) continue;
        const pending = this.sendChunk(bytes);
        if (pending) await pending;
      }
      completed = true;
      await this.endStream();
    } finally {
      if (!completed) iterator.return?.();
    }
  }

  private async sendAsyncIterator(iterator: AsyncIterator<Chunk>): Promise<void> {
    let completed = false;
    try {
      for (;;) {
        const step = await this.nextUnlessGone(iterator);
        if (step === undefined) return;
        if (step.done) break;
        const bytes = toBytes(step.value);
        if (bytes.length === 0) continue;
        const pending = this.sendChunk(bytes);
        if (pending) await pending;
      }
      completed = true;
      await this.endStream();
    } finally {
      if (!completed) {
        // Not awaited: an iterator stuck on an await would hold the request forever.
        Promise.resolve(iterator.return?.()).catch((error: unknown) => this.log(`tsgi: the body's return() failed: ${errorMessage(error)}`));
      }
    }
  }

  /**
   * A streamed body ran out: an empty one still gets its head (with Content-Length 0), then the end.
   * Not for HEAD: an app (or a node:http listener) may stream nothing for HEAD, and 0 would contradict GET.
   */
  private endStream(): Promise<void> {
    this.checkComplete();
    this.sendHeadOnce(this.headersSent || this.isHead ? -1 : 0);
    return this.finish();
  }

  /** Resolves undefined when the client goes away while the app is still producing. */
  private nextUnlessGone(iterator: AsyncIterator<Chunk>): Promise<IteratorResult<Chunk> | undefined> {
    const client = this.client;
    if (!client) return iterator.next();
    if (client.gone) return Promise.resolve(undefined);
    // One listener per response, and nothing left behind per chunk: Promise.race against a
    // promise that stays pending would keep one reaction per chunk until the response ends.
    if (!this.listening) {
      this.listening = true;
      client.onGone(() => this.wakeOnGone?.(undefined));
    }
    return new Promise((resolve, reject) => {
      this.wakeOnGone = resolve;
      iterator.next().then(resolve, reject);
    });
  }

  private async finish(last?: Uint8Array): Promise<void> {
    if (last && last.length > 0) {
      if (this.isHead || bodyless(this.status![0])) last = undefined;
      else {
        this.checkRoom(last.length);
        this.bytesSent += last.length;
      }
    }
    this.checkComplete();
    this.finished = true;
    await this.target.end(last && last.length > 0 ? last : undefined);
  }

  private fail(error: unknown): void {
    if (this.client?.gone) return;
    this.log(`tsgi: error in application: ${errorMessage(error)}`);
    if (this.headersSent) {
      this.finished = true;
      this.target.abort(error);
      return;
    }
    const status = error instanceof HttpError && error.status >= 400 && error.status < 600 ? error.status : 500;
    const text = status === 500 ? 'A server error occurred. Please contact the administrator.\n' : `${error instanceof Error ? error.message : String(error)}\n`;
    const bytes = encoder.encode(text);
    this.headersSent = true;
    this.finished = true;
    this.target.sendHead(status, REASONS[status] ?? 'Error', [
      ['Content-Type', 'text/plain; charset=utf-8'],
      ['Content-Length', String(bytes.length)],
    ]);
    void Promise.resolve(this.target.end(this.isHead ? undefined : bytes)).catch(() => {});
  }
}
