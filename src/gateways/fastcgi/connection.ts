/**
 * One socket to a FastCGI responder, kept open between requests (FCGI_KEEP_CONN). PHP-FPM and
 * php-cgi serve one request per connection at a time, so a pool of connections gives the
 * concurrency; a responder that says FCGI_MPXS_CONNS=1 gets several requests at once on one
 * connection (`multiplexed`), each with its own id.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { encodeRecord, ProtocolError, RecordReader, RecordType } from '../../frontends/fastcgi/records.js';
import type { ListenAddress } from '../../frontends/listen.js';
import { FastCgiGatewayError } from './errors.js';
import { Exchange } from './exchange.js';
import type { ReadFlow } from './exchange.js';

const MAX_REQUEST_ID = 0xffff;

export class ResponderConnection {
  /** Requests this connection has carried, the current ones included. */
  uses = 0;
  closed = false;
  /** When the latest request began. */
  requestStartedAt = 0;
  /** The latest request's id. */
  requestId = 0;
  /** Carries several requests at once: the responder said FCGI_MPXS_CONNS=1. */
  multiplexed = false;
  /** Requests the pool handed this connection that have not begun yet. */
  reserved = 0;
  // STDOUT and STDERR content is handed on as it arrives: a 64 KiB record split between two
  // socket reads (most of a large reply's) would otherwise be copied whole to join it, which
  // was 9 % of the server's CPU on a 1 MB PHP page.
  private readonly reader = new RecordReader({ streamContent: true });
  private readonly exchanges = new Map<number, Exchange>();
  /** Ids given up before their END_REQUEST: their records still arrive and are dropped, and the id is not reused until then. */
  private readonly draining = new Set<number>();
  private holds = 0;
  private readonly flow: ReadFlow = {
    hold: () => {
      if (this.holds++ === 0) this.socket.pause();
    },
    release: () => {
      if (--this.holds === 0) this.socket.resume();
    },
  };
  private closeListeners: (() => void)[] = [];

  private constructor(readonly socket: Socket, readonly address: string) {
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('error', () => {});
    socket.on('close', () => this.onClose());
  }

  /** Requests in flight on this connection, and those promised to it. */
  get inFlight(): number {
    return this.exchanges.size + this.reserved;
  }

  /** Connects; rejects with a 502 when refused and a 504 when the responder does not answer in `timeout` ms. */
  static async open(address: string, target: ListenAddress, timeout: number): Promise<ResponderConnection> {
    try {
      const socket = await connectSocket(target, timeout);
      if (target.kind === 'tcp') socket.setNoDelay(true);
      return new ResponderConnection(socket, address);
    } catch (error) {
      if (!(error instanceof ConnectFailure)) throw error;
      throw new FastCgiGatewayError(error.timedOut ? 504 : 502, error.timedOut ? `connecting to ${address} took longer than ${timeout} ms` : `cannot connect to ${address}: ${error.message}`);
    }
  }

  /** Starts the next request on this connection; its id is then `requestId`. */
  begin(readTimeout: number, bufferLimit: number, onStderrLine: (line: string) => void): Exchange {
    this.uses++;
    if (this.reserved > 0) this.reserved--;
    // Each request gets the next id, never one still in use or draining, so records a
    // misbehaving responder sends late can never be read as another request's reply.
    do this.requestId = (this.requestId % MAX_REQUEST_ID) + 1;
    while (this.exchanges.has(this.requestId) || this.draining.has(this.requestId));
    const id = this.requestId;
    this.requestStartedAt = Date.now();
    const exchange = new Exchange(this.flow, readTimeout, bufferLimit, onStderrLine);
    this.exchanges.set(id, exchange);
    void exchange.finished.then(() => {
      this.exchanges.delete(id);
      if (this.multiplexed && !exchange.endReceived && !this.closed) this.draining.add(id);
    });
    return exchange;
  }

  /**
   * Tells the responder a request is no longer wanted. One request per connection: the
   * connection goes with it. Multiplexed: the others go on, and the abandoned one's records
   * are dropped until its END_REQUEST.
   */
  abort(id: number): void {
    if (this.closed) return;
    this.socket.write(encodeRecord(RecordType.AbortRequest, id));
    if (!this.multiplexed) this.socket.end();
  }

  /** Called once when the socket closes, whether idle or busy. */
  onClosed(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Fails the requests of which nothing has come yet with a 502, and closes the connection if there were any. */
  failUnanswered(reason: string): void {
    let failed = false;
    for (const exchange of this.exchanges.values()) {
      if (exchange.done || exchange.receivedAny) continue;
      exchange.fail(502, reason);
      failed = true;
    }
    if (failed) this.socket.destroy();
  }

  private onData(data: Buffer): void {
    if (this.exchanges.size === 0 && this.draining.size === 0) {
      // Bytes nobody asked for: the responder is out of step with us.
      this.socket.destroy();
      return;
    }
    try {
      this.reader.push(data, (type, requestId, content) => {
        // Management records (GET_VALUES_RESULT, UNKNOWN_TYPE) carry id 0; nothing here asked for one.
        if (requestId === 0) return;
        const exchange = this.exchanges.get(requestId);
        if (!exchange || exchange.done) {
          if (this.draining.has(requestId) || (exchange && this.multiplexed)) {
            if (type === RecordType.EndRequest) this.draining.delete(requestId);
            return;
          }
          if (exchange) throw new ProtocolError(`record for request ${requestId} after its reply ended`);
          throw new ProtocolError(this.multiplexed ? `record for request ${requestId}, which is not in flight` : `record for request ${requestId}, not the one in flight (${this.requestId})`);
        }
        if (type === RecordType.Stdout) exchange.onStdout(content);
        else if (type === RecordType.Stderr) exchange.onStderr(content);
        else if (type === RecordType.EndRequest) exchange.onEndRequest(content);
        else throw new ProtocolError(`unexpected record type ${type} in a reply`);
      });
    } catch (error) {
      for (const exchange of this.exchanges.values()) exchange.fail(502, `malformed reply from ${this.address}: ${(error as Error).message}`);
      this.socket.destroy();
    }
  }

  private onClose(): void {
    this.closed = true;
    for (const exchange of this.exchanges.values()) {
      if (exchange.done) continue;
      exchange.fail(502, this.reader.partial
        ? `${this.address} closed the connection in the middle of a record`
        : `${this.address} closed the connection before the end of the reply`);
    }
    for (const listener of this.closeListeners.splice(0)) listener();
  }
}

/** Why a responder could not be reached, in words (the message), and whether it was only slow. */
export class ConnectFailure extends Error {
  constructor(message: string, readonly timedOut: boolean) {
    super(message);
    this.name = 'ConnectFailure';
  }
}

/** A connected socket to a responder, or a ConnectFailure after `timeout` ms or a refusal. */
export function connectSocket(target: ListenAddress, timeout: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (target.kind === 'fd') {
      reject(new ConnectFailure('fd:N names a socket to listen on, not a responder', false));
      return;
    }
    const socket = target.kind === 'tcp' ? connect({ host: target.host, port: target.port }) : connect({ path: target.path });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ConnectFailure(`no answer within ${timeout} ms`, true));
    }, timeout);
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new ConnectFailure(describeConnectError(error), false));
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
  });
}

function describeConnectError(error: NodeJS.ErrnoException): string {
  if (error.code === 'ECONNREFUSED') return 'connection refused (is the responder running?)';
  if (error.code === 'ENOENT') return 'no such socket (is the responder running?)';
  if (error.code === 'EACCES') return 'permission denied on the socket (check its owner and mode)';
  return error.code ?? error.message;
}
