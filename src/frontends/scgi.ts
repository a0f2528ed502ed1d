/**
 * tsgi/scgi: serve a TSGI application to web servers over SCGI (nginx `scgi_pass`, Apache
 * mod_proxy_scgi, lighttpd mod_scgi). A request is a netstring of NUL-separated headers,
 * CONTENT_LENGTH first and SCGI=1 among them, then the body; the response is a CGI
 * response, and the connection closes after it.
 */
import type { SocketAccess } from './socket-access.js';
import type { Server, Socket } from 'node:net';
import { HttpError, runApplication, type ClientState, type ResponseTarget } from '../handler.js';
import type { Application, HeaderList } from '../types.js';
import { stderrStream } from '../util.js';
import { cgiHead } from './cgi-head.js';
import { environFromParams, type GatewayEnvironOptions } from './gateway-environ.js';
import { createGatewayServer, endAndLinger, FIRST_REQUEST_GRACE_MS, listenGateway, type Drainable, type GatewayServer, type ListenAddress } from './listen.js';
import { StreamedInput } from './streamed-input.js';

export interface ScgiOptions extends GatewayEnvironOptions, SocketAccess {
  /** Size limit of the netstring header block. Default 256 KiB. */
  maxHeaderBytes?: number;
  /** Milliseconds the peer may stay silent while sending the request (headers or body). Default 60 s. */
  inputTimeout?: number;
  /**
   * Milliseconds a connection may take, from its start, to send its whole header block; past
   * it the connection is closed, however steadily the bytes trickle in. 0 for no limit.
   * Default 20 s (web servers send the block at once; this is what HTTP's headersTimeout is).
   */
  idleTimeout?: number;
  /** Connections accepted at once. Default 1024. */
  maxConnections?: number;
  /** Where protocol problems are reported. Default: process.stderr. */
  log?: (line: string) => void;
}

type Resolved = Required<Omit<ScgiOptions, keyof GatewayEnvironOptions | keyof SocketAccess>> & GatewayEnvironOptions;

const DIGITS = /^\d+$/;

class BadRequest extends Error {}

/** Parses the header block (without the netstring's length and comma). */
export function parseScgiHeaders(block: Buffer): Record<string, string> {
  if (block.length === 0 || block[block.length - 1] !== 0) throw new BadRequest('the header block does not end with a NUL byte');
  const fields = block.toString('latin1', 0, block.length - 1).split('\0');
  if (fields.length % 2 !== 0) throw new BadRequest('the header block has a name without a value');
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (name === '') throw new BadRequest('the header block has an empty name');
    if (name in headers) throw new BadRequest(`header ${name} appears twice`);
    headers[name] = fields[i + 1]!;
  }
  if (fields[0] !== 'CONTENT_LENGTH') throw new BadRequest('the first header is not CONTENT_LENGTH');
  if (!DIGITS.test(headers.CONTENT_LENGTH!)) throw new BadRequest(`CONTENT_LENGTH ${JSON.stringify(headers.CONTENT_LENGTH)} is not a number`);
  if (headers.SCGI !== '1') throw new BadRequest('the SCGI header is missing or not 1');
  return headers;
}

class ScgiConnection implements ResponseTarget, ClientState, Drainable {
  gone = false;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  /** Bytes up to the end of the header netstring, once its length is known: till then no read copies the buffer again. */
  private headerEnd = 0;
  private input: StreamedInput | undefined;
  private remaining = 0;
  private started = false;
  private finished = false;
  private head: Buffer | undefined;
  private goneListeners: (() => void)[] = [];
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: Socket,
    private readonly app: Application,
    private readonly options: Resolved,
  ) {
    socket.setTimeout(options.inputTimeout);
    socket.on('timeout', () => this.onTimeout());
    const idle = options.idleTimeout;
    if (idle > 0 && idle < Infinity) this.idleTimer = setTimeout(() => this.onIdleTimeout(), idle).unref();
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('end', () => this.onEnd());
    socket.on('close', () => {
      clearTimeout(this.idleTimer);
      this.markGone();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') this.log(`connection error: ${error.message}`);
    });
  }

  private log(message: string): void {
    this.options.log(`tsgi scgi from ${this.socket.remoteAddress ?? 'a local socket'}: ${message}`);
  }

  /** A connection whose request has not begun gets a moment for it (it was accepted: the web server is about to use it). */
  shutdown(): void {
    if (this.started) return;
    setTimeout(() => {
      if (!this.started) this.socket.destroy();
    }, FIRST_REQUEST_GRACE_MS).unref();
  }

  onGone(listener: () => void): void {
    if (this.gone) listener();
    else this.goneListeners.push(listener);
  }

  private markGone(): void {
    if (this.finished || this.gone) return;
    this.gone = true;
    this.input?.fail(new Error('the web server closed the connection'));
    for (const listener of this.goneListeners.splice(0)) listener();
  }

  private onTimeout(): void {
    if (!this.started) {
      this.log(`closing the connection: no complete request within ${this.options.inputTimeout} ms`);
      this.socket.destroy();
    } else if (this.input && !this.input.done && !this.socket.isPaused()) {
      this.log(`no body bytes for ${this.options.inputTimeout} ms; failing the input`);
      this.input.fail(new HttpError(408, `the request body stalled for ${this.options.inputTimeout} ms`));
      this.socket.setTimeout(0);
    }
  }

  private onIdleTimeout(): void {
    if (this.started) return;
    this.log(`closing the connection: no complete header block within ${this.options.idleTimeout} ms`);
    this.socket.destroy();
  }

  private onData(data: Buffer): void {
    if (this.started) return this.onBody(data);
    this.buffered.push(data);
    this.bufferedBytes += data.length;
    if (this.bufferedBytes < this.headerEnd) return;
    const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered, this.bufferedBytes);
    this.buffered = [all];
    try {
      const colon = all.indexOf(0x3a);
      const digits = all.toString('latin1', 0, colon < 0 ? Math.min(all.length, 12) : colon);
      const wellFormed = colon < 0 ? /^\d{0,11}$/.test(digits) : /^(0|[1-9]\d{0,10})$/.test(digits);
      if (!wellFormed) throw new BadRequest('the request does not start with a netstring length');
      if (Number(digits) > this.options.maxHeaderBytes) {
        throw new BadRequest(`the header block is larger than ${this.options.maxHeaderBytes} bytes`);
      }
      if (colon < 0) return;
      const length = Number(digits);
      this.headerEnd = colon + 2 + length;
      if (all.length < this.headerEnd) return;
      if (all[colon + 1 + length] !== 0x2c) throw new BadRequest('the header netstring does not end with a comma');
      const headers = parseScgiHeaders(all.subarray(colon + 1, colon + 1 + length));
      this.buffered = [];
      this.start(headers, all.subarray(colon + 2 + length));
    } catch (error) {
      if (!(error instanceof BadRequest)) throw error;
      this.reject(error.message);
    }
  }

  private reject(reason: string): void {
    this.log(`bad request: ${reason}`);
    this.started = true;
    clearTimeout(this.idleTimer);
    this.finished = true;
    endAndLinger(this.socket, `Status: 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBad SCGI request: ${reason}\n`);
  }

  private start(headers: Record<string, string>, rest: Buffer): void {
    this.started = true;
    clearTimeout(this.idleTimer);
    this.remaining = Number(headers.CONTENT_LENGTH);
    const input = new StreamedInput(this.remaining, () => this.socket.resume());
    this.input = input;
    const params: Record<string, unknown> = { ...headers };
    delete params.SCGI;
    const environ = environFromParams(params, input, this.options.errors ?? stderrStream, this.options);
    if (this.remaining === 0) this.endInput();
    if (rest.length > 0) this.onBody(rest);
    void runApplication(this.app, environ, this, { client: this });
  }

  private endInput(): void {
    this.input!.end();
    this.socket.setTimeout(0);
  }

  private onBody(data: Buffer): void {
    const input = this.input;
    if (!input || input.done || this.remaining === 0) return; // after the body: read and dropped
    const chunk = data.length > this.remaining ? data.subarray(0, this.remaining) : data;
    this.remaining -= chunk.length;
    const more = input.push(chunk);
    if (this.remaining === 0) this.endInput();
    else if (!more) this.socket.pause();
  }

  private onEnd(): void {
    if (!this.started) {
      if (this.bufferedBytes > 0) this.log('the connection ended inside the header block');
      this.socket.destroy();
      return;
    }
    if (this.input && !this.input.done) this.input.end(); // fails as truncated
    if (this.finished) this.socket.destroy();
  }

  sendHead(status: number, reason: string, headers: HeaderList): void {
    this.head = cgiHead(status, reason, headers);
  }

  private withHead(chunk: Uint8Array | undefined): Uint8Array | undefined {
    const head = this.head;
    if (!head) return chunk;
    this.head = undefined;
    return chunk ? Buffer.concat([head, chunk]) : head;
  }

  write(chunk: Uint8Array): void | Promise<void> {
    if (this.gone || this.finished) return;
    if (this.socket.write(this.withHead(chunk)!)) return;
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  end(last?: Uint8Array): void {
    if (this.gone || this.finished) return;
    this.finished = true;
    this.input?.discard();
    endAndLinger(this.socket, this.withHead(last));
  }

  abort(): void {
    if (this.gone || this.finished) return;
    this.finished = true;
    this.log('closing the connection: the response failed after its headers were sent');
    this.socket.destroy();
  }
}

/** A node:net server speaking SCGI for `app`, not yet listening. */
export function createScgiServer(app: Application, options: ScgiOptions = {}): { server: Server; connections: Set<Drainable> } {
  const resolved: Resolved = {
    maxHeaderBytes: 256 * 1024,
    inputTimeout: 60_000,
    idleTimeout: 20_000,
    maxConnections: 1024,
    log: (line) => process.stderr.write(line + '\n'),
    ...Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)),
  };
  // Half-open allowed: a peer that shuts its sending side after the request still gets its response.
  return createGatewayServer((socket) => new ScgiConnection(socket, app, resolved), resolved.maxConnections, true);
}

/** Serves `app` over SCGI at `address`: `HOST:PORT`, a unix socket path, or `fd:0`. */
export function listenScgi(address: string | ListenAddress, app: Application, options: ScgiOptions = {}): Promise<GatewayServer> {
  return listenGateway(address, createScgiServer(app, options), options);
}

export { GatewayServer, parseAddress, type ListenAddress } from './listen.js';
