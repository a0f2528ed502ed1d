/**
 * Serves a Node `(req, res)` listener (Express, Connect, a bare `http.createServer` callback)
 * as a TSGI application, so it runs over CGI, FastCGI or SCGI with no monkey-patching.
 *
 * The listener gets real `http.IncomingMessage` and `http.ServerResponse` objects attached to
 * an in-memory socket. ServerResponse keeps all of its own behaviour (headers, implicit
 * Content-Length, chunking, HEAD, 'finish' and 'close' events); the socket reads back what it
 * would have put on the wire and hands status, headers and body bytes to the TSGI server.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { Application, Body, Environ, HeaderList, InputStream } from '../types.js';
import { isHopByHop } from '../util.js';
import { encodePathInfo, hasRequestBody, requestHeaders } from './environ-headers.js';
import { mountPrefix, rewriteLocations, withPrefixHeader } from './mount-prefix.js';
import { ResponseReader } from './response-reader.js';
import type { ResponseHead } from './response-reader.js';

/** A Node HTTP request listener, as passed to `http.createServer`. */
export type NodeListener = (req: IncomingMessage, res: ServerResponse) => unknown;

/** The request a listener receives: a real IncomingMessage that also carries the TSGI environ. */
export interface TsgiIncomingMessage extends IncomingMessage {
  environ: Environ;
  /** The path the client asked for, SCRIPT_NAME included, with the query (Express's name for it). */
  originalUrl: string;
}

export interface NodeListenerOptions {
  /**
   * Put SCRIPT_NAME in front of a root-relative `Location` the listener answers with
   * (Express's `res.redirect('/x')`), so redirects stay inside the mount (docs/fetch.md). Default true.
   */
  rewriteLocation?: boolean;
}

/** Serves a Node `(req, res)` listener as a TSGI application. */
export function fromNodeListener(listener: NodeListener, options: NodeListenerOptions = {}): Application {
  const rewrite = options.rewriteLocation ?? true;
  return async (environ, startResponse) => {
    const socket = new MemorySocket(environ);
    const prefix = mountPrefix(environ);
    const req = incomingMessage(environ, socket, prefix);
    const res = new ServerResponse(req);
    // Let ServerResponse add Content-Length where it can; the chunk framing it adds otherwise is read back off.
    res.useChunkedEncodingByDefault = true;
    res.shouldKeepAlive = true;
    res.sendDate = false;
    res.assignSocket(socket as unknown as Socket);
    res.once('finish', () => socket.finish());
    socket.on('drain', () => relayDrain(res));
    socket.once('close', () => {
      if (req.complete) return;
      req.aborted = true;
      req.emit('aborted');
      req.destroy();
    });
    const outcome = listener(req, res);
    if (outcome instanceof Promise) outcome.catch((error: unknown) => socket.destroy(error instanceof Error ? error : new Error(String(error))));
    const head = await socket.head;
    if (rewrite) rewriteLocations(head.headers, prefix);
    startResponse(`${head.status} ${head.reason}`, head.headers);
    return socket.body();
  };
}

/**
 * node:http's server relays the socket's 'drain' to the response and clears the response's
 * need-drain flag, which only exists as a private symbol; without it `writableNeedDrain`
 * (which pipe() consults) would stay true.
 */
function relayDrain(res: ServerResponse): void {
  if (!res.writableNeedDrain) return;
  const flag = Object.getOwnPropertySymbols(res).find((symbol) => symbol.description === 'kNeedDrain');
  if (flag) (res as unknown as Record<symbol, boolean>)[flag] = false;
  res.emit('drain');
}

function incomingMessage(environ: Environ, socket: MemorySocket, prefix: string): TsgiIncomingMessage {
  const req = new IncomingMessage(socket as unknown as Socket) as TsgiIncomingMessage;
  const version = /^HTTP\/(\d)\.(\d)$/.exec(environ.SERVER_PROTOCOL) ?? ['HTTP/1.1', '1', '1'];
  req.httpVersionMajor = Number(version[1]);
  req.httpVersionMinor = Number(version[2]);
  req.httpVersion = `${version[1]}.${version[2]}`;
  req.method = environ.REQUEST_METHOD;
  // The listener sees URLs relative to its mount point, as Express does for a mounted sub-app.
  const query = environ.QUERY_STRING ? '?' + environ.QUERY_STRING : '';
  req.url = encodePathInfo(environ.PATH_INFO) + query;
  // Express keeps an originalUrl it finds (it sets `req.originalUrl ||= req.url`): the full path the client asked for.
  req.originalUrl = prefix + (environ.PATH_INFO ? encodePathInfo(environ.PATH_INFO) : prefix ? '' : '/') + query;
  const headers = withPrefixHeader(requestHeaders(environ), prefix);
  const body = hasRequestBody(environ);
  // A body of unknown length arrives as a stream; body parsers look for this header to know one follows.
  if (body && !environ.CONTENT_LENGTH) headers.push(['transfer-encoding', 'chunked']);
  req.rawHeaders = headers.flat();
  req.headers = Object.fromEntries(headers);
  req.environ = environ;
  // A failing request body is the listener's to answer (a 413, say), so it must not take the connection down.
  req._destroy = (error, callback) => callback(error && req.listenerCount('error') > 0 ? error : null);
  if (body) feedBody(req, environ['tsgi.input']);
  else {
    req.complete = true;
    req.push(null);
  }
  return req;
}

/** Pulls `tsgi.input` only as fast as the listener reads the request. */
function feedBody(req: IncomingMessage, input: InputStream): void {
  let iterator: AsyncIterator<Uint8Array> | undefined;
  let pulling = false;
  const pull = (): void => {
    if (pulling) return;
    pulling = true;
    iterator ??= input[Symbol.asyncIterator]();
    iterator.next().then(
      (step) => {
        pulling = false;
        if (step.done) {
          req.complete = true;
          req.push(null);
        } else if (req.push(step.value)) {
          // Room left below the high-water mark: keep reading without waiting for another _read().
          pull();
        }
      },
      (error: unknown) => req.destroy(error instanceof Error ? error : new Error(String(error))),
    );
  };
  req._read = pull;
  req.once('close', () => {
    if (!req.complete) void iterator?.return?.();
  });
}

/**
 * The in-memory connection: what ServerResponse writes is parsed back into a head and body
 * bytes. A write's callback fires only once the TSGI server has taken its bytes, so the
 * listener's `res.write()` returns false and 'drain' waits exactly as on a slow client.
 */
class MemorySocket extends Duplex {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly localAddress: string;
  readonly localPort: number;
  readonly encrypted: boolean;
  readonly head: Promise<ResponseHead>;
  private resolveHead!: (head: ResponseHead) => void;
  private rejectHead!: (error: Error) => void;
  private readonly reader = new ResponseReader();
  private readonly queue: Uint8Array[] = [];
  private pendingCallback: (() => void) | undefined;
  private wake: (() => void) | undefined;
  private finished = false;
  private failure: Error | undefined;

  constructor(environ: Environ) {
    super({ allowHalfOpen: true });
    this.remoteAddress = environ.REMOTE_ADDR;
    this.remotePort = environ.REMOTE_PORT ? Number(environ.REMOTE_PORT) : undefined;
    this.localAddress = environ.SERVER_NAME;
    this.localPort = Number(environ.SERVER_PORT);
    this.encrypted = environ['tsgi.url_scheme'] === 'https';
    this.head = new Promise((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    // Nothing awaits the head once the response has started; an early failure must not go unhandled.
    this.head.catch(() => {});
  }

  // Socket methods a listener or framework may call; none of them mean anything in memory.
  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  address(): { address: string; port: number; family: string } {
    return { address: this.localAddress, port: this.localPort, family: this.localAddress.includes(':') ? 'IPv6' : 'IPv4' };
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    let pieces: Uint8Array[];
    try {
      pieces = this.reader.feed(chunk, (head) => this.resolveHead(cleanHead(head)));
    } catch (error) {
      callback(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (pieces.length === 0) {
      callback();
      return;
    }
    this.queue.push(...pieces);
    this.pendingCallback = callback;
    this.notify();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.finished) {
      this.failure = error ?? new Error('the listener closed the connection before the response was complete');
      this.rejectHead(new Error(`the listener closed the connection without answering: ${this.failure.message}`));
    }
    this.pendingCallback = undefined;
    this.notify();
    callback(null);
  }

  /** ServerResponse emitted 'finish': every byte is in the queue. */
  finish(): void {
    this.finished = true;
    this.notify();
  }

  body(): Body {
    const next = async (): Promise<IteratorResult<Uint8Array>> => {
      for (;;) {
        const chunk = this.queue.shift();
        if (chunk) return { done: false, value: chunk };
        if (this.failure) throw this.failure;
        if (this.finished) return { done: true, value: undefined };
        const callback = this.pendingCallback;
        this.pendingCallback = undefined;
        const woken = new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        callback?.();
        await woken;
      }
    };
    return {
      [Symbol.asyncIterator]: () => ({ next }),
      close: () => {
        // Finished or not, the connection is over; an unfinished one tells the listener its client left.
        if (!this.destroyed) this.destroy();
      },
    };
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** The head as the TSGI server should see it: its own framing and connection fields removed. */
function cleanHead(head: ResponseHead): ResponseHead {
  const headers: HeaderList = head.headers.filter(([name]) => !isHopByHop(name));
  return { ...head, headers };
}
