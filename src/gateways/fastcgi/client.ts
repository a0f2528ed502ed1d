/**
 * A FastCGI 1.0 client (the web server's side): sends one request, as PARAMS and a STDIN
 * stream, to a responder such as PHP-FPM, php-cgi or `tsgi run --fastcgi`, and hands back the
 * CGI response it writes to STDOUT, the body streamed with backpressure both ways.
 */
import type { HeaderList } from '../../types.js';
import { BadGateway, parseHead } from '../cgi-response.js';
import {
  encodeBeginRequest, encodeParams, encodeRecord, encodeStream, FCGI_KEEP_CONN, MAX_CONTENT_LENGTH, RecordType, Role,
} from '../../frontends/fastcgi/records.js';
import type { ResponderConnection } from './connection.js';
import { FastCgiGatewayError } from './errors.js';
import type { Exchange } from './exchange.js';
import { ConnectionPool } from './pool.js';
import type { CancelSignal } from '../cancel.js';

export interface FastCgiClientOptions {
  /** Milliseconds to wait for a connection; then 504. Default 5,000. */
  connectTimeout?: number;
  /** Milliseconds without a byte from the responder (not counting time the consumer holds it back); then 504. Default 60,000. */
  readTimeout?: number;
  /** Milliseconds the responder may leave the request body unread; then 504. Default 60,000. */
  writeTimeout?: number;
  /** Connections open at once per address; more requests wait for one. Default 32. */
  maxConnections?: number;
  /** Milliseconds an unused connection stays open. Default 30,000. */
  idleTimeout?: number;
  /**
   * Bytes of a reply held for a consumer that has not taken them before the responder is held
   * back, per request. Default 1 MiB: most pages fit, so the responder's worker (one of
   * php-fpm's `pm.max_children`) is free for the next request while the client still reads.
   */
  responseBuffer?: number;
  /** Where failures and the responders' STDERR lines go. Default: stderr. */
  log?: (line: string) => void;
}

export interface FastCgiRequest {
  /** The CGI variables, sent as PARAMS (latin-1: one character per byte). */
  params: Record<string, string>;
  /** The request body, sent as STDIN; its length should be CONTENT_LENGTH. */
  body?: AsyncIterable<Uint8Array> | Uint8Array;
  /** Aborting it abandons the request: ABORT_REQUEST is sent and the connection closed. */
  signal?: CancelSignal;
  /** Receives the responder's STDERR, line by line. Default: the client's log, tagged with `label`. */
  stderr?: (line: string) => void;
  /** Names the request in the log (the script, usually). */
  label?: string;
}

export interface FastCgiResponse {
  /** `200 OK` and the like; a CGI redirect without a Status becomes `302 Found`. */
  status: string;
  headers: HeaderList;
  /** The body; iterate it once. Stopping early (break, return()) abandons the request. */
  body: AsyncIterable<Buffer>;
  /** Abandons the reply if it has not ended (idempotent). */
  close(): void;
}

const DEFAULTS = { connectTimeout: 5_000, readTimeout: 60_000, writeTimeout: 60_000, maxConnections: 32, idleTimeout: 30_000, responseBuffer: 1024 * 1024 };

export class FastCgiClient {
  private readonly settings: typeof DEFAULTS;
  private readonly pool: ConnectionPool;
  private readonly log: (line: string) => void;

  constructor(options: FastCgiClientOptions = {}) {
    this.settings = {
      connectTimeout: options.connectTimeout ?? DEFAULTS.connectTimeout,
      readTimeout: options.readTimeout ?? DEFAULTS.readTimeout,
      writeTimeout: options.writeTimeout ?? DEFAULTS.writeTimeout,
      maxConnections: options.maxConnections ?? DEFAULTS.maxConnections,
      idleTimeout: options.idleTimeout ?? DEFAULTS.idleTimeout,
      responseBuffer: options.responseBuffer ?? DEFAULTS.responseBuffer,
    };
    for (const [name, value] of Object.entries(this.settings)) {
      if (!Number.isFinite(value) || value <= 0) throw new RangeError(`FastCgiClient: ${name} must be a positive number, not ${value}`);
    }
    this.pool = new ConnectionPool(this.settings);
    this.log = options.log ?? ((line) => process.stderr.write(line + '\n'));
  }

  /**
   * Sends a request to the responder at `address` (`HOST:PORT`, `[v6]:PORT` or a unix socket
   * path). Resolves once the response head is in; rejects with FastCgiGatewayError (502, 503, 504).
   */
  async request(address: string, request: FastCgiRequest): Promise<FastCgiResponse> {
    const body = request.body;
    let bodyTouched = false;
    const touch = () => {
      bodyTouched = true;
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const connection = await this.pool.acquire(address, request.signal);
        const reused = connection.uses > 0;
        try {
          return await this.exchange(connection, request, touch);
        } catch (error) {
          // A kept-open connection the responder closed just as we sent is no failure of the
          // request: once, and only while no body byte was taken, it goes again on a fresh one.
          const retry = error instanceof RetryableClose && attempt === 0 && reused && (body === undefined || !bodyTouched);
          if (!retry) throw error instanceof RetryableClose ? error.cause : error;
        }
      } catch (error) {
        if (error instanceof FastCgiGatewayError && !request.signal?.aborted) this.log(`fastcgi ${request.label ?? address}: ${error.message}`);
        throw error;
      }
    }
  }

  /** Drops pooled connections to `address` (its process is gone); with `failure`, requests there still unanswered get 502 with it. */
  forget(address: string, failure?: string): void {
    this.pool.forget(address, failure);
  }

  /** Closes idle connections and refuses new requests' waits; requests in flight finish. */
  close(): void {
    this.pool.close();
  }

  private async exchange(connection: ResponderConnection, request: FastCgiRequest, touchBody: () => void): Promise<FastCgiResponse> {
    const label = request.label ?? connection.address;
    const onStderr = request.stderr ?? ((line: string) => this.log(`fastcgi ${label}: ${line}`));
    const exchange = connection.begin(this.settings.readTimeout, this.settings.responseBuffer, onStderr);
    const id = connection.requestId;
    if (connection.uses === 1 && !connection.multiplexed) exchange.onAnswered = this.pool.awaitingAnswer(connection.address);
    let released = false;
    void exchange.finished.then((reusable) => {
      released = true;
      this.pool.release(connection, reusable);
    });
    const abandon = () => {
      if (exchange.done) return;
      exchange.abandon();
      connection.abort(id);
    };
    const signal = request.signal;
    if (signal?.aborted) abandon();
    else signal?.addEventListener('abort', abandon, { once: true });

    const opening = [
      encodeBeginRequest(id, Role.Responder, FCGI_KEEP_CONN),
      encodeStream(RecordType.Params, id, [encodeParams(request.params)], { close: true }),
    ];
    if (request.body === undefined) opening.push(encodeRecord(RecordType.Stdin, id));
    connection.socket.write(Buffer.concat(opening));
    if (request.body === undefined) exchange.requestSent();
    else void this.sendBody(connection, exchange, id, request.body, touchBody);

    let reply;
    try {
      reply = await exchange.head;
    } catch (error) {
      signal?.removeEventListener('abort', abandon);
      if (!exchange.receivedAny && error instanceof FastCgiGatewayError && connection.closed) throw new RetryableClose(error);
      throw error;
    }
    let head;
    try {
      head = parseHead(reply.head, (message) => this.log(`fastcgi ${label}: ${message}`));
    } catch (error) {
      abandon();
      if (!released) connection.destroy();
      throw new FastCgiGatewayError(502, `bad response head: ${error instanceof BadGateway ? error.message : String(error)}`);
    }
    const status = head.kind === 'local-redirect' ? '302 Found' : head.status;
    const headers: HeaderList = head.kind === 'local-redirect' ? [['Location', head.location]] : head.headers;
    const finish = () => {
      signal?.removeEventListener('abort', abandon);
      abandon();
    };
    return { status, headers, body: replyBody(reply.rest, exchange, finish), close: finish };
  }

  /** Streams the body as STDIN records, waiting whenever the socket's buffer is full. */
  private async sendBody(connection: ResponderConnection, exchange: Exchange, id: number, body: AsyncIterable<Uint8Array> | Uint8Array, touch: () => void): Promise<void> {
    const socket = connection.socket;
    try {
      const chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = body instanceof Uint8Array ? [body] : body;
      for await (const chunk of chunks) {
        touch();
        if (exchange.done) return;
        for (let offset = 0; offset < chunk.length; offset += MAX_CONTENT_LENGTH * 4) {
          const part = chunk.subarray(offset, offset + MAX_CONTENT_LENGTH * 4);
          if (!socket.write(encodeStream(RecordType.Stdin, id, [part]))) await this.drained(connection, exchange);
          if (exchange.done) return;
        }
      }
      if (exchange.done) return;
      socket.write(encodeRecord(RecordType.Stdin, id));
      exchange.requestSent();
    } catch (error) {
      if (error instanceof FastCgiGatewayError) exchange.fail(error.status, error.message);
      else exchange.fail(502, `reading the request body failed: ${(error as Error).message}`);
      connection.destroy();
    }
  }

  private drained(connection: ResponderConnection, exchange: Exchange): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connection.socket;
      const done = () => {
        clearTimeout(timer);
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      const timer = setTimeout(() => {
        socket.off('drain', done);
        socket.off('close', done);
        reject(new FastCgiGatewayError(504, `the responder left the request body unread for ${this.settings.writeTimeout} ms`));
      }, this.settings.writeTimeout);
      if (exchange.done) return done();
      socket.on('drain', done);
      socket.on('close', done);
    });
  }
}

/** The head's failure on a reused connection that closed before answering anything. */
class RetryableClose extends Error {
  constructor(override readonly cause: FastCgiGatewayError) {
    super(cause.message);
  }
}

function replyBody(first: Buffer, exchange: Exchange, finish: () => void): AsyncIterable<Buffer> {
  return {
    [Symbol.asyncIterator]() {
      let pending: Buffer | undefined = first.length > 0 ? first : undefined;
      return {
        async next(): Promise<IteratorResult<Buffer, undefined>> {
          if (pending) {
            const value = pending;
            pending = undefined;
            return { done: false, value };
          }
          try {
            const step = await exchange.next();
            if (step.done) finish();
            return step;
          } catch (error) {
            finish();
            throw error;
          }
        },
        async return(): Promise<IteratorResult<Buffer, undefined>> {
          finish();
          return { done: true, value: undefined };
        },
      };
    },
  };
}
