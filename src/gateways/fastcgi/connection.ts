/**
 * One socket to a FastCGI responder. It carries one request at a time and stays open between
 * requests (FCGI_KEEP_CONN): PHP-FPM and php-cgi serve one request
 * per connection at a time, so a pool of connections gives the concurrency multiplexing would.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { ProtocolError, RecordReader, RecordType } from '../../frontends/fastcgi/records.js';
import type { ListenAddress } from '../../frontends/listen.js';
import { FastCgiGatewayError } from './errors.js';
import { Exchange } from './exchange.js';


export class ResponderConnection {
  /** Requests this connection has carried, the current one included. */
  uses = 0;
  closed = false;
  /** When the current (or last) request began. */
  requestStartedAt = 0;
  /**
   * The current request's id: each request on the connection gets the next one, so records a
   * misbehaving responder sends after an END_REQUEST can never be read as the next reply.
   */
  requestId = 0;
  private readonly reader = new RecordReader();
  private current: Exchange | undefined;
  private closeListeners: (() => void)[] = [];

  private constructor(readonly socket: Socket, readonly address: string) {
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('error', () => {});
    socket.on('close', () => this.onClose());
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

  /** Starts the next request on this connection. */
  begin(readTimeout: number, onStderrLine: (line: string) => void): Exchange {
    this.uses++;
    this.requestId = (this.requestId % 0xffff) + 1;
    this.requestStartedAt = Date.now();
    const exchange = new Exchange(this.socket, readTimeout, onStderrLine);
    this.current = exchange;
    void exchange.finished.then(() => {
      if (this.current === exchange) this.current = undefined;
    });
    return exchange;
  }

  /** Called once when the socket closes, whether idle or busy. */
  onClosed(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Fails the current request with a 502 if nothing of its reply has come, and closes the connection. */
  failUnanswered(reason: string): void {
    const exchange = this.current;
    if (!exchange || exchange.done || exchange.receivedAny) return;
    exchange.fail(502, reason);
    this.socket.destroy();
  }

  private onData(data: Buffer): void {
    const exchange = this.current;
    if (!exchange || exchange.done) {
      // Bytes nobody asked for: the responder is out of step with us.
      this.socket.destroy();
      return;
    }
    try {
      this.reader.push(data, (type, requestId, content) => {
        if (requestId !== this.requestId) {
          // Management records (GET_VALUES_RESULT, UNKNOWN_TYPE) carry id 0; nothing here asked for one.
          if (requestId === 0) return;
          throw new ProtocolError(`record for request ${requestId}, not the one in flight (${this.requestId})`);
        }
        if (type === RecordType.Stdout) exchange.onStdout(content);
        else if (type === RecordType.Stderr) exchange.onStderr(content);
        else if (type === RecordType.EndRequest) exchange.onEndRequest(content);
        else throw new ProtocolError(`unexpected record type ${type} in a reply`);
      });
    } catch (error) {
      exchange.fail(502, `malformed reply from ${this.address}: ${(error as Error).message}`);
      this.socket.destroy();
    }
  }

  private onClose(): void {
    this.closed = true;
    const exchange = this.current;
    if (exchange && !exchange.done) {
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
