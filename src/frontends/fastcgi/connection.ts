/**
 * One FastCGI connection from a web server: the record state machine (BEGIN_REQUEST,
 * PARAMS, STDIN, ABORT_REQUEST, management records), multiplexed requests, the caps
 * that keep a hostile or broken peer from exhausting the process, and flow control.
 */
import type { SocketAccess } from '../socket-access.js';
import type { Socket } from 'node:net';
import { HttpError, runApplication } from '../../handler.js';
import type { Application, ErrorStream } from '../../types.js';
import { stderrStream } from '../../util.js';
import { environFromParams, type GatewayEnvironOptions } from '../gateway-environ.js';
import { endAndLinger, FIRST_REQUEST_GRACE_MS } from '../listen.js';
import { StreamedInput } from '../streamed-input.js';
import {
  decodeParams, encodeGetValuesResult, encodeUnknownType, FCGI_KEEP_CONN, ProtocolError, ProtocolStatus, RecordReader,
  RecordType, Role, type ServerValues,
} from './records.js';
import { FastCgiRequest, type RequestHost } from './request.js';

export interface FastCgiOptions extends GatewayEnvironOptions, SocketAccess {
  /** Requests one connection may have in flight; past it BEGIN_REQUEST gets FCGI_OVERLOADED. Default 64. */
  maxRequestsPerConnection?: number;
  /** Connections the server accepts at once (also the FCGI_MAX_CONNS answer). Default 1024. */
  maxConnections?: number;
  /** Bytes of PARAMS one request may send; past it the connection is closed. Default 256 KiB. */
  maxParamsBytes?: number;
  /** Milliseconds a request may wait for its next PARAMS or STDIN record before it is given up. Default 60 s. */
  inputTimeout?: number;
  /**
   * Milliseconds a connection with no request in flight may go without a BEGIN_REQUEST (from
   * its start, or from its last request's end under KEEP_CONN) before it is closed; 0 for
   * never. Default 75 s: longer than nginx's upstream keepalive_timeout (60 s), so that the web
   * server, which knows when it will next use a kept connection, is the one that closes it.
   */
  idleTimeout?: number;
  /** Serve several requests at once on one connection (FCGI_MPXS_CONNS). Default true. */
  multiplex?: boolean;
  /** Send `tsgi.errors` to the web server as FCGI_STDERR instead of `errors`. Default false. */
  stderrToPeer?: boolean;
  /**
   * The only peer addresses a TCP connection is accepted from. Default: the comma-separated
   * FCGI_WEB_SERVER_ADDRS environment variable (the FastCGI spec's way), else anyone.
   */
  webServerAddresses?: string[];
  /** Where protocol problems are reported. Default: process.stderr. */
  log?: (line: string) => void;
}

export type ResolvedFastCgiOptions = Required<Omit<FastCgiOptions, keyof GatewayEnvironOptions | keyof SocketAccess>> & GatewayEnvironOptions;

export function resolveFastCgiOptions(options: FastCgiOptions = {}): ResolvedFastCgiOptions {
  return {
    maxRequestsPerConnection: 64,
    maxConnections: 1024,
    maxParamsBytes: 256 * 1024,
    inputTimeout: 60_000,
    idleTimeout: 75_000,
    multiplex: true,
    stderrToPeer: false,
    webServerAddresses: (process.env.FCGI_WEB_SERVER_ADDRS ?? '').split(',').map((a) => a.trim()).filter(Boolean),
    log: (line) => process.stderr.write(line + '\n'),
    ...Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)),
  };
}

const CONTENT_LENGTH = /^\d+$/;

export class FastCgiConnection implements RequestHost {
  // STDIN in pieces as it comes: an upload is handed on without being copied.
  private readonly reader = new RecordReader({ streamContent: true });
  private readonly requests = new Map<number, FastCgiRequest>();
  private readonly values: ServerValues;
  /** No new requests: close once the ones in flight are done. */
  private closing = false;
  private heardAnything = false;
  /** Our side has ended; whatever still arrives is read and thrown away. */
  private ending = false;
  private dead = false;
  private paused = false;
  private drainPromise: Promise<void> | undefined;
  private drainResolve: (() => void) | undefined;
  /** Runs while no request is in flight. */
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: Socket,
    private readonly app: Application,
    private readonly options: ResolvedFastCgiOptions,
  ) {
    this.values = {
      FCGI_MAX_CONNS: options.maxConnections,
      FCGI_MAX_REQS: options.maxConnections * (options.multiplex ? options.maxRequestsPerConnection : 1),
      FCGI_MPXS_CONNS: options.multiplex ? 1 : 0,
    };
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('end', () => this.onEnd());
    socket.on('close', () => this.onClose());
    socket.on('drain', () => this.resolveDrain());
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') this.log(`connection error: ${error.message}`);
    });
    this.armIdleTimer();
  }

  private armIdleTimer(): void {
    const ms = this.options.idleTimeout;
    if (!(ms > 0 && ms < Infinity) || this.ending || this.dead) return;
    if (this.idleTimer) this.idleTimer.refresh();
    else this.idleTimer = setTimeout(() => this.onIdleTimeout(), ms).unref();
  }

  private clearIdleTimer(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private onIdleTimeout(): void {
    this.idleTimer = undefined;
    if (this.requests.size > 0 || this.ending || this.dead) return;
    this.log(`closing the connection: no BEGIN_REQUEST for ${this.options.idleTimeout} ms`);
    this.endConnection();
  }

  private log(message: string): void {
    const peer = this.socket.remoteAddress ? ` from ${this.socket.remoteAddress}:${this.socket.remotePort}` : '';
    this.options.log(`tsgi fastcgi${peer}: ${message}`);
  }

  /**
   * Graceful shutdown: finishes the requests in flight, then closes. A connection that has
   * not sent its first request yet gets a moment for it: it was accepted, so the web
   * server is about to use it, and closing it now would drop that request.
   */
  shutdown(): void {
    this.closing = true;
    if (this.requests.size > 0) return;
    if (this.heardAnything) return this.endConnection();
    setTimeout(() => {
      if (this.requests.size === 0) this.endConnection();
    }, FIRST_REQUEST_GRACE_MS).unref();
  }

  send(data: Buffer): boolean {
    if (this.dead || this.socket.destroyed) return true;
    return this.socket.write(data);
  }

  sendAll(pieces: readonly Uint8Array[]): boolean {
    if (this.dead || this.socket.destroyed) return true;
    // Corked, the pieces leave in one writev once uncorked: no other request's record can come between them.
    this.socket.cork();
    let room = true;
    for (const piece of pieces) room = this.socket.write(piece);
    this.socket.uncork();
    return room;
  }

  drained(): Promise<void> {
    if (this.dead || !this.socket.writableNeedDrain) return Promise.resolve();
    this.drainPromise ??= new Promise((resolve) => (this.drainResolve = resolve));
    return this.drainPromise;
  }

  private resolveDrain(): void {
    const resolve = this.drainResolve;
    this.drainPromise = undefined;
    this.drainResolve = undefined;
    resolve?.();
  }

  release(request: FastCgiRequest): void {
    clearTimeout(request.timer);
    request.timer = undefined;
    if (this.requests.get(request.id) === request) this.requests.delete(request.id);
    // Whatever STDIN is still on its way belongs to no request now and is read and dropped.
    request.input?.discard();
    if (!request.keepConn) this.closing = true;
    if (this.requests.size > 0) return;
    if (this.closing) this.endConnection();
    else this.armIdleTimer();
  }

  destroy(reason: string): void {
    if (this.dead) return;
    this.log(`closing the connection: ${reason}`);
    this.socket.destroy();
  }

  /** Half-closes and keeps reading until the peer closes, so unread input does not turn into a reset. */
  private endConnection(): void {
    if (this.ending || this.dead) return;
    this.ending = true;
    this.clearIdleTimer();
    this.paused = false;
    endAndLinger(this.socket);
  }

  private onData(data: Buffer): void {
    if (this.ending) return;
    this.heardAnything = true;
    try {
      this.reader.push(data, this.onRecord);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.destroy(`protocol error: ${error.message}`);
      return;
    }
    this.armInputTimers();
  }

  /**
   * Watches the requests still waiting for PARAMS or STDIN. Done once per read rather than
   * per record, so a request that arrives whole in one read (the usual case) costs no timer.
   */
  private armInputTimers(): void {
    for (const request of this.requests.values()) {
      if (request.started && request.input!.done) {
        if (request.timer) {
          clearTimeout(request.timer);
          request.timer = undefined;
        }
      } else if (!request.timer) {
        request.timer = setTimeout(() => this.onInputTimeout(request), this.options.inputTimeout).unref();
      } else if (request.heard) {
        request.timer.refresh();
      }
      request.heard = false;
    }
  }

  private onEnd(): void {
    if (this.ending) return;
    if (this.reader.partial) this.log('closing the connection: it ended in the middle of a record');
    for (const request of this.requests.values()) {
      if (!request.input?.done) this.log(`request ${request.id}: the connection ended before its input did`);
    }
  }

  private onClose(): void {
    this.dead = true;
    this.clearIdleTimer();
    const gone = new Error('the web server closed the connection');
    for (const request of this.requests.values()) {
      clearTimeout(request.timer);
      request.markGone(gone);
      request.input?.discard();
    }
    this.requests.clear();
    this.resolveDrain();
  }

  private readonly onRecord = (type: number, id: number, content: Buffer): void => {
    if (this.ending || this.dead) return;
    if (id === 0) return this.onManagementRecord(type, content);
    switch (type) {
      case RecordType.BeginRequest: return this.onBeginRequest(id, content);
      case RecordType.Params: return this.onParams(id, content);
      case RecordType.Stdin: return this.onStdin(id, content);
      case RecordType.AbortRequest: return this.onAbortRequest(id);
      case RecordType.Data: return; // only the FILTER role reads DATA, and it is refused
      case RecordType.EndRequest:
      case RecordType.Stdout:
      case RecordType.Stderr:
      case RecordType.GetValuesResult:
      case RecordType.UnknownType:
        throw new ProtocolError(`record type ${type} only travels from application to web server`);
      default:
        return; // an application record of a type from the future: ignored
    }
  };

  private onManagementRecord(type: number, content: Buffer): void {
    if (type === RecordType.GetValues) this.send(encodeGetValuesResult(content, this.values));
    else this.send(encodeUnknownType(type));
  }

  private onBeginRequest(id: number, content: Buffer): void {
    if (content.length !== 8) throw new ProtocolError(`BEGIN_REQUEST body of ${content.length} bytes, expected 8`);
    const existing = this.requests.get(id);
    if (existing) throw new ProtocolError(`BEGIN_REQUEST for request ${id}, which is still in flight`);
    const role = content.readUInt16BE(0);
    const request = new FastCgiRequest(id, role, (content[2]! & FCGI_KEEP_CONN) !== 0, this);
    if (role !== Role.Responder && role !== Role.Authorizer) return request.refuse(ProtocolStatus.UnknownRole);
    if (this.requests.size > 0 && !this.options.multiplex) return request.refuse(ProtocolStatus.CantMpxConn);
    if (this.requests.size >= this.options.maxRequestsPerConnection) {
      this.log(`request ${id}: ${this.requests.size} requests already in flight on this connection, answering FCGI_OVERLOADED`);
      return request.refuse(ProtocolStatus.Overloaded);
    }
    this.requests.set(id, request);
    this.clearIdleTimer();
    request.heard = true;
  }

  private onParams(id: number, content: Buffer): void {
    const request = this.requests.get(id);
    if (!request) return;
    if (request.started) throw new ProtocolError(`PARAMS for request ${id} after its params ended`);
    request.heard = true;
    if (content.length === 0) return this.start(request);
    request.paramsBytes += content.length;
    if (request.paramsBytes > this.options.maxParamsBytes) {
      throw new ProtocolError(`request ${id} sent more than ${this.options.maxParamsBytes} bytes of PARAMS`);
    }
    request.paramsParts.push(content);
  }

  private onStdin(id: number, content: Buffer): void {
    const request = this.requests.get(id);
    if (!request) return; // a finished request's leftover body: drained
    if (!request.started) throw new ProtocolError(`STDIN for request ${id} before its params ended`);
    const input = request.input!;
    if (input.done) return;
    if (content.length === 0) return input.end();
    request.heard = true;
    if (!input.push(content)) this.pause();
  }

  private onAbortRequest(id: number): void {
    const request = this.requests.get(id);
    if (!request) return;
    request.markGone(new Error(`the web server aborted request ${id}`));
    request.refuse(ProtocolStatus.RequestComplete);
  }

  private onInputTimeout(request: FastCgiRequest): void {
    if (this.paused) {
      // The application is not reading: the wait is ours, not the peer's.
      request.timer?.refresh();
      return;
    }
    const ms = this.options.inputTimeout;
    if (!request.started) {
      this.log(`request ${request.id}: its params did not arrive within ${ms} ms; giving it up`);
      request.markGone(new Error('params timed out'));
      return request.refuse(ProtocolStatus.RequestComplete);
    }
    this.log(`request ${request.id}: no body bytes for ${ms} ms; failing its input`);
    request.input?.fail(new HttpError(408, `the request body stalled for ${ms} ms`));
  }

  private start(request: FastCgiRequest): void {
    request.started = true;
    const params: Record<string, unknown> = {};
    const parts = request.paramsParts;
    request.paramsParts = [];
    decodeParams(parts.length === 1 ? parts[0]! : Buffer.concat(parts), (name, value) => {
      // Filtered here rather than deleted later: a delete turns the environ into a slow dictionary.
      if (name === 'HTTP_PROXY' || (value === '' && (name === 'CONTENT_TYPE' || name === 'CONTENT_LENGTH'))) return;
      params[name] = value;
    });
    const length = params.CONTENT_LENGTH ?? params.HTTP_CONTENT_LENGTH;
    const expected = typeof length === 'string' && CONTENT_LENGTH.test(length) ? Number(length) : undefined;
    const input = new StreamedInput(expected, () => this.resumeIfDrained());
    request.input = input;
    // An authorizer gets no body; the web server sends none.
    if (request.role === Role.Authorizer) input.end();
    const errors: ErrorStream = this.options.stderrToPeer ? request.stderrStream() : (this.options.errors ?? stderrStream);
    const environ = environFromParams(params, input, errors, this.options);
    environ.FCGI_ROLE = request.role === Role.Authorizer ? 'AUTHORIZER' : 'RESPONDER';
    // A length that is not a number leaves the body unbounded: the app never sees such a request.
    const app = length !== undefined && expected === undefined ? refuseBadLength(length) : this.app;
    void runApplication(app, environ, request, { client: request }).then(() => {
      // The engine sends nothing for a request that is gone; make sure it is forgotten.
      if (!request.finished) this.release(request);
    });
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
  }

  private resumeIfDrained(): void {
    if (!this.paused) return;
    for (const request of this.requests.values()) if (request.input?.full) return;
    this.resume();
  }
}

function refuseBadLength(length: unknown): Application {
  return () => {
    throw new HttpError(400, `CONTENT_LENGTH ${JSON.stringify(length)} is not a number`);
  };
}
