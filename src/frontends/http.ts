/**
 * The HTTP front end on node:http (wsgiref.simple_server, done for production): turns each
 * request into an environ, runs the app through the response engine, writes the result.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { hostname } from 'node:os';
import { runApplication, HttpError, REASONS, type ClientState, type ResponseTarget } from '../handler.js';
import type { Application, Environ, ErrorStream, HeaderList, InputStream } from '../types.js';
import { FileWrapper, SERVER_SOFTWARE, stderrStream } from '../util.js';
import { openAccessLog, type AccessLog, type AccessLogOptions, type LoggedRequest } from './access-log.js';
import { overflowedInRequestLine } from './header-overflow.js';
import { watchSend } from './send-watch.js';

export interface HttpServerOptions {
  /**
   * One line per request: true (default) writes Common Log Format to stderr in batches,
   * `{ file, format }` picks the file (`-` is stderr) and the shape (common, combined, json),
   * a function receives each common line as it happens, false turns logging off.
   */
  accessLog?: boolean | ((line: string) => void) | AccessLogOptions;
  /** Where `tsgi.errors` and the server's own diagnostics go (default: stderr). */
  errors?: ErrorStream;
  /** Largest request body accepted, in bytes; larger ones get 413 (default: no limit). */
  maxBodySize?: number;
  /** Largest request header block, target included, in bytes; larger ones get 431, or 414 when the target alone overflows it (default 16 KiB). */
  maxHeaderSize?: number;
  /** Longest request target, in characters; longer ones get 414 (default 8 KiB). */
  maxUrlLength?: number;
  /** Time allowed for a client to send its headers, in ms (default 20 s). */
  headersTimeout?: number;
  /** Time allowed for a whole request, in ms (default 5 min; 0 for none). */
  requestTimeout?: number;
  /** How long an idle keep-alive connection stays open, in ms (default 5 s). */
  keepAliveTimeout?: number;
  /**
   * How long a client may go without taking any of the response bytes waiting for it, in ms,
   * before the connection is cut and the app's body closed (default 60 s; 0 for none). It
   * counts time without progress, not total time: long polls and event streams are not cut.
   */
  sendTimeout?: number;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** SERVER_NAME for every request (default: the bound host, or the machine's name for a wildcard bind). */
  serverName?: string;
  /** Stop on SIGINT/SIGTERM: refuse new connections, finish what is in flight, then exit. */
  handleSignals?: boolean;
  /** How long close() waits for in-flight requests before cutting them, in ms (default 10 s). */
  drainTimeout?: number;
  /** `tsgi.multiprocess`: true when several processes serve the same app (workers). */
  multiprocess?: boolean;
  /** A listening socket to serve on instead of binding host:port (a --workers worker gets its supervisor's). */
  fd?: number;
}

export interface HttpServer {
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  /** The base URL, e.g. http://127.0.0.1:8000 */
  readonly url: string;
  /** Stops accepting, lets in-flight requests finish (up to drainTimeout), then resolves. */
  close(): Promise<void>;
}

export { SERVER_SOFTWARE };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Percent-decodes a path as UTF-8; undefined when the result is not valid UTF-8. */
export function decodePath(raw: string): string | undefined {
  if (!/[%\x80-\xff]/.test(raw)) return raw;
  const bytes = Buffer.from(raw, 'latin1');
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === 0x25 && i + 2 < bytes.length && isHex(bytes[i + 1]) && isHex(bytes[i + 2])) {
      out[n++] = parseInt(String.fromCharCode(bytes[i + 1]!, bytes[i + 2]!), 16);
      i += 2;
    } else {
      out[n++] = byte;
    }
  }
  try {
    return utf8.decode(out.subarray(0, n));
  } catch {
    return undefined;
  }
}

function isHex(byte: number | undefined): boolean {
  return byte !== undefined && ((byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66));
}

/** An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d; CGI variables want a.b.c.d. */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/**
 * Splits a request target into path, raw query and, for an absolute-form target, its authority.
 * Undefined for a target that is neither origin-form, absolute-form nor "*" (llhttp lets "**" through).
 */
function splitTarget(url: string): [path: string, query: string, authority?: string] | undefined {
  let target = url;
  let authority: string | undefined;
  if (!target.startsWith('/')) {
    const match = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#@]*@)?([^/?#]*)/i.exec(target);
    authority = match?.[1];
    // RFC 9112 3.2.2: an absolute-form target with an empty path means "/", also when a query follows.
    const rest = match ? target.slice(match[0].length) : undefined;
    if (rest === undefined && target !== '*') return undefined;
    target = rest !== undefined ? (rest.startsWith('/') ? rest : '/' + rest) : '';
  }
  const mark = target.indexOf('?');
  return mark < 0 ? [target, '', authority] : [target.slice(0, mark), target.slice(mark + 1), authority];
}

class NodeResponse implements ResponseTarget, ClientState {
  gone = false;
  bytes = 0;
  status = 0;
  private goneListeners: (() => void)[] | undefined;
  private drained: Promise<void> | undefined;
  /** Set once an app took the socket over (`tsgi.raw_output`): the engine's response then goes nowhere. */
  private raw = false;

  /** `log` is told once the response is over, finished or cut: one listener serves both jobs. */
  constructor(
    private readonly res: ServerResponse,
    environ: Environ,
    log: AccessLog | undefined,
    private readonly sendTimeout: number,
  ) {
    res.on('close', () => {
      log?.log(environ, this.status || res.statusCode, this.bytes);
      if (res.writableFinished) return;
      this.gone = true;
      for (const listener of this.goneListeners ?? []) listener();
    });
  }

  onGone(listener: () => void): void {
    (this.goneListeners ??= []).push(listener);
  }

  /**
   * `tsgi.raw_output`: hands the connection to the app, which writes a whole HTTP response
   * itself (an NPH CGI script). The connection closes when the app ends it: no keep-alive.
   */
  takeOver = (): { write(chunk: Uint8Array): void | Promise<void>; end(): void } => {
    const socket = this.res.socket;
    if (!socket || this.res.headersSent) throw new Error('tsgi.raw_output: the response has already started');
    this.raw = true;
    this.status = 200;
    return {
      write: (chunk) => {
        this.bytes += chunk.length;
        const flowing = socket.write(chunk);
        watchSend(socket, this.sendTimeout);
        if (flowing) return;
        return new Promise((resolve) => {
          const done = () => {
            socket.off('drain', done);
            socket.off('close', done);
            resolve();
          };
          socket.on('drain', done);
          socket.on('close', done);
        });
      },
      end: () => {
        socket.end();
        watchSend(socket, this.sendTimeout);
      },
    };
  };

  sendHead(status: number, reason: string, headers: HeaderList): void {
    if (this.raw) return;
    this.status = status;
    const flat: string[] = [];
    for (const [name, value] of headers) flat.push(name, value);
    this.res.writeHead(status, reason, flat);
  }

  write(chunk: Uint8Array): void | Promise<void> {
    // After the client left, node's write() returns false and no drain ever follows: awaiting it would hang the app.
    if (this.gone || this.raw) return;
    this.bytes += chunk.length;
    const flowing = this.res.write(chunk);
    watchSend(this.res.socket, this.sendTimeout);
    if (flowing) return;
    // One wait shared by every write until the drain: an app need not await write(), and
    // a listener pair per call would pile up on the response.
    return (this.drained ??= new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        this.drained = undefined;
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    }));
  }

  end(last?: Uint8Array): void {
    if (this.raw) return;
    if (last) this.bytes += last.length;
    this.res.end(last);
    // The app is done, but the client may still not take the rest: it must not hold the connection.
    watchSend(this.res.socket, this.sendTimeout);
  }

  endWithText(text: string): void {
    this.bytes += Buffer.byteLength(text);
    this.res.end(text);
    watchSend(this.res.socket, this.sendTimeout);
  }

  abort(): void {
    this.res.destroy();
  }
}

/** Answers a request the front end will not hand to the app; returns the body's length, for the log. */
function refuse(res: ServerResponse, status: number, message: string): number {
  const body = message + '\n';
  res.shouldKeepAlive = false;
  res.writeHead(status, REASONS[status] ?? 'Error', {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    Connection: 'close',
  });
  res.end(body);
  return Buffer.byteLength(body);
}

/** The access log `options.accessLog` asks for, or undefined for none. */
function accessLogFor(options: HttpServerOptions): AccessLog | undefined {
  const setting = options.accessLog ?? true;
  if (setting === false) return undefined;
  if (setting === true) return openAccessLog();
  if (typeof setting === 'function') return openAccessLog({ write: setting });
  return openAccessLog(setting);
}

/**
 * Builds the request listener; use it to put a TSGI app on a node:http or node:https server of your own.
 * Its access log is flushed once a second and when the process exits.
 */
export function createRequestListener(app: Application, options: HttpServerOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  return requestListenerLogging(app, options, accessLogFor(options));
}

function requestListenerLogging(app: Application, options: HttpServerOptions, accessLog: AccessLog | undefined): (req: IncomingMessage, res: ServerResponse) => void {
  const errors = options.errors ?? stderrStream;
  const maxBodySize = options.maxBodySize ?? Infinity;
  const maxUrlLength = options.maxUrlLength ?? 8192;
  const sendTimeout = options.sendTimeout ?? 60_000;
  const scheme = options.tls ? 'https' : 'http';
  const multiprocess = options.multiprocess ?? false;
  const fileWrapper = (file: string | number, blockSize?: number) => new FileWrapper(file, blockSize);

  const refuseLogged = (req: IncomingMessage, res: ServerResponse, status: number, message: string): void => {
    const bytes = refuse(res, status, message);
    accessLog?.log({
      REQUEST_METHOD: req.method ?? '-', REQUEST_URI: req.url, PATH_INFO: '', SERVER_PROTOCOL: `HTTP/${req.httpVersion}`, REMOTE_ADDR: plainAddress(req.socket.remoteAddress ?? ''),
      HTTP_REFERER: req.headers.referer, HTTP_USER_AGENT: req.headers['user-agent'],
    }, status, bytes);
  };

  return (req, res) => {
    // llhttp lets "HTTP/2.0" (the h2 preface) and "HTTP/0.9" through; neither is what this server speaks.
    if (req.httpVersionMajor !== 1) return refuseLogged(req, res, 505, `HTTP/${req.httpVersion} is not supported; use HTTP/1.1.`);
    const rawUrl = req.url ?? '/';
    if (rawUrl.length > maxUrlLength) return refuseLogged(req, res, 414, `The request target is longer than ${maxUrlLength} characters.`);
    const split = splitTarget(rawUrl);
    if (split === undefined) return refuseLogged(req, res, 400, 'The request target must be a path, an absolute URL or "*".');
    const [rawPath, query, authority] = split;
    const pathInfo = decodePath(rawPath);
    if (pathInfo === undefined) return refuseLogged(req, res, 400, 'The request path is not valid UTF-8 once percent-decoded.');

    const socket = req.socket;
    const peers = connectionFacts(socket, options.serverName);
    const environ: Environ = {
      REQUEST_METHOD: req.method ?? 'GET',
      SCRIPT_NAME: '',
      PATH_INFO: pathInfo,
      QUERY_STRING: query,
      SERVER_NAME: peers.serverName,
      SERVER_PORT: peers.serverPort,
      SERVER_PROTOCOL: 'HTTP/' + req.httpVersion,
      SERVER_SOFTWARE,
      GATEWAY_INTERFACE: 'CGI/1.1',
      REMOTE_ADDR: peers.remoteAddr,
      REMOTE_PORT: peers.remotePort,
      REQUEST_URI: rawUrl,
      'tsgi.version': [1, 0],
      'tsgi.url_scheme': scheme,
      'tsgi.input': new RequestInput(req, res, maxBodySize),
      'tsgi.errors': errors,
      'tsgi.multithread': false,
      'tsgi.multiprocess': multiprocess,
      'tsgi.run_once': false,
      'tsgi.file_wrapper': fileWrapper,
    };
    if (scheme === 'https') environ.HTTPS = 'on';
    const headerProblem = addRequestHeaders(environ, req.rawHeaders, errors);
    if (headerProblem) return refuseLogged(req, res, 400, headerProblem);
    // llhttp hands such a request over and only fails at its first body byte, after the app has started.
    // (Read from the environ: req.headers is built lazily, and only on demand.)
    const coding = environ.HTTP_TRANSFER_ENCODING;
    if (coding !== undefined && !/(?:^|,)[ \t]*chunked[ \t]*$/i.test(coding)) {
      return refuseLogged(req, res, 400, 'The request body has no length: chunked must be its last transfer coding.');
    }
    // An HTTP/1.0 intermediary may have framed this body differently: serve it, then close (RFC 9112 6.1).
    if (coding !== undefined && req.httpVersionMinor === 0) res.shouldKeepAlive = false;
    // Duplicates were joined with ", ": a proxy and the app could each believe a different Host.
    if (environ.HTTP_HOST?.includes(',')) return refuseLogged(req, res, 400, 'The request has more than one Host header.');
    // RFC 9112 3.2.2: the authority of an absolute-form target wins over the Host header.
    if (authority) environ.HTTP_HOST = authority;
    if (environ.CONTENT_LENGTH !== undefined && Number(environ.CONTENT_LENGTH) > maxBodySize) {
      return refuseLogged(req, res, 413, `The request body is larger than the limit of ${maxBodySize} bytes.`);
    }

    const target = new NodeResponse(res, environ, accessLog, sendTimeout);
    environ['tsgi.raw_output'] = target.takeOver;
    void runApplication(app, environ, target, { client: target });
  };
}

const CONNECTION_FACTS = Symbol('tsgi.connectionFacts');

interface ConnectionFacts {
  serverName: string;
  serverPort: string;
  remoteAddr: string;
  remotePort: string;
}

/** The addresses of both ends, asked of the kernel once per connection rather than once per request. */
function connectionFacts(socket: Socket, serverName: string | undefined): ConnectionFacts {
  const holder = socket as Socket & { [CONNECTION_FACTS]?: ConnectionFacts };
  const cached = holder[CONNECTION_FACTS];
  if (cached) return cached;
  const local = socket.address() as AddressInfo;
  const facts: ConnectionFacts = {
    serverName: serverName ?? serverNameFor(local.address),
    serverPort: String(local.port),
    remoteAddr: plainAddress(socket.remoteAddress ?? ''),
    remotePort: String(socket.remotePort ?? ''),
  };
  holder[CONNECTION_FACTS] = facts;
  return facts;
}

function serverNameFor(address: string): string {
  if (address === '0.0.0.0' || address === '::' || address === '') return hostname();
  return plainAddress(address);
}

// Clients send the same few header names over and over: map each spelling to its variable once.
const headerNames = new Map<string, `HTTP_${string}`>();

function cgiHeaderName(name: string): `HTTP_${string}` {
  let key = headerNames.get(name);
  if (key === undefined) {
    key = `HTTP_${name.toUpperCase().replace(/-/g, '_')}`;
    if (headerNames.size < 512) headerNames.set(name, key);
  }
  return key;
}

/**
 * Copies request headers into HTTP_* variables. Names with "_" are dropped (X_Forwarded_For
 * must not pose as X-Forwarded-For) and Proxy never becomes HTTP_PROXY (httpoxy).
 */
export function addRequestHeaders(environ: Environ, rawHeaders: string[], errors: ErrorStream): string | undefined {
  let problem: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    const lower = name.toLowerCase();
    if (lower === 'content-type') {
      // node keeps the first, a proxy may have used the last: the app must not guess which body it got.
      if (environ.CONTENT_TYPE !== undefined) problem = 'The request has more than one Content-Type header.';
      environ.CONTENT_TYPE = value;
      continue;
    }
    if (lower === 'content-length') {
      environ.CONTENT_LENGTH = value;
      continue;
    }
    if (lower === 'proxy') continue;
    if (name.includes('_')) {
      errors.write(`tsgi: dropped request header ${name}: names with "_" could pose as names with "-"\n`);
      continue;
    }
    const key = cgiHeaderName(name);
    const existing = environ[key];
    environ[key] = existing === undefined ? value : existing + (lower === 'cookie' ? '; ' : ', ') + value;
  }
  return problem;
}

/** The request body as tsgi.input: sends 100 Continue on first read, enforces the size limit on chunked bodies. */
class RequestInput implements InputStream {
  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly limit: number,
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    // An HTTP/1.0 client does not know 100 Continue: its expectation must be ignored (RFC 9110 10.1.1).
    const expects = this.req.httpVersion !== '1.0' && /100-continue/i.test(this.req.headers.expect ?? '');
    if (expects && !this.res.headersSent) this.res.writeContinue();
    let size = 0;
    for await (const chunk of this.req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > this.limit) {
        // Keeping the connection would mean reading (and dropping) the rest of a body of any size.
        this.res.shouldKeepAlive = false;
        throw new HttpError(413, `The request body is larger than the limit of ${this.limit} bytes.`);
      }
      yield chunk;
    }
  }
}

/**
 * What the log knows of a request llhttp could not parse: its request line when the bytes
 * hold a whole one (a 431 for a header block too large has it), else nothing.
 */
function unparsedRequest(error: Error & { rawPacket?: Buffer }, socket: Socket): LoggedRequest {
  const known: LoggedRequest = { REQUEST_METHOD: '', PATH_INFO: '', SERVER_PROTOCOL: '', REMOTE_ADDR: plainAddress(socket.remoteAddress ?? '') };
  const packet = error.rawPacket;
  const end = packet ? packet.indexOf('\r\n') : -1;
  if (!packet || end < 0) return known;
  const match = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) (HTTP\/\d\.\d)$/.exec(packet.subarray(0, Math.min(end, 16 * 1024)).toString('latin1'));
  if (!match) return known;
  return { ...known, REQUEST_METHOD: match[1]!, REQUEST_URI: match[2]!, SERVER_PROTOCOL: match[3]! };
}

type ClientError = Error & { code?: string; rawPacket?: Buffer; bytesParsed?: number };

function statusForClientError(error: ClientError): number {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  if (error.code !== 'HPE_HEADER_OVERFLOW') return 400;
  // Node counts the request target into maxHeaderSize: a long URL overflows it too.
  const packet = error.rawPacket;
  return packet && overflowedInRequestLine(packet, error.bytesParsed ?? packet.length) ? 414 : 431;
}

/** Answers what llhttp refused itself (a garbled request, headers too large, too slow), and logs it. */
function clientErrorAnswerer(accessLog: AccessLog | undefined): (error: ClientError, socket: Socket) => void {
  return (error, socket) => {
    if (!socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const status = statusForClientError(error);
    const body = `${REASONS[status]}\n`;
    socket.end(`HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    accessLog?.log(unparsedRequest(error, socket), status, body.length);
  };
}

/** Starts an HTTP(S) server for `app` on host:port (0 picks a free port) and resolves once it listens. */
export async function makeServer(host: string, port: number, app: Application, options: HttpServerOptions = {}): Promise<HttpServer> {
  const accessLog = accessLogFor(options);
  const requestListener = requestListenerLogging(app, options, accessLog);
  let closing: Promise<void> | undefined;
  // The connections not closed yet: close() resolves once each is, and its responses logged.
  const sockets = new Set<Socket>();
  let socketClosed: (() => void) | undefined;
  // Once close() began, promising keep-alive would invite the client to send more and hold the drain open.
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    if (closing) res.shouldKeepAlive = false;
    requestListener(req, res);
  };
  const serverOptions = {
    maxHeaderSize: options.maxHeaderSize ?? 16 * 1024,
    requestTimeout: options.requestTimeout ?? 300_000,
    keepAliveTimeout: options.keepAliveTimeout ?? 5_000,
    headersTimeout: options.headersTimeout ?? 20_000,
    // Node checks the timeouts above only this often (30 s by default): a slow-loris client
    // would otherwise hold its connection far past headersTimeout.
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, (options.headersTimeout ?? 20_000) / 2)),
  };
  const server: Server = options.tls
    ? createHttpsServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key }, listener)
    : createHttpServer(serverOptions, listener);
  server.headersTimeout = serverOptions.headersTimeout;
  server.keepAliveTimeout = serverOptions.keepAliveTimeout;
  server.requestTimeout = serverOptions.requestTimeout;
  // Without this listener node answers Expect: 100-continue itself, before the app chose to read.
  server.on('checkContinue', listener);
  server.on('clientError', clientErrorAnswerer(accessLog));
  server.on(options.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      // After the socket's other 'close' listeners: node's, which close its response, and so log it.
      if (socketClosed) setImmediate(socketClosed);
    });
  });
  // Node takes a connection for idle once its response's end() was called, though the bytes may
  // still wait in the socket's buffer for a slow reader: closing it then (server.close() does, and
  // the sweep below) cuts the response short. Sweep only while no socket holds such bytes.
  const closeIdle = server.closeIdleConnections.bind(server);
  server.closeIdleConnections = () => {
    for (const socket of sockets) if (socket.writableLength > 0 && !socket.destroyed) return;
    closeIdle();
  };

  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error) => {
      accessLog?.close();
      reject(error);
    };
    server.once('error', failed);
    server.listen(options.fd !== undefined ? { fd: options.fd } : { port, host }, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const drainTimeout = options.drainTimeout ?? 10_000;
  const handle: HttpServer = {
    server,
    host: address.address,
    port: address.port,
    url: `${options.tls ? 'https' : 'http'}://${urlHost}:${address.port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        let listening = true;
        const settle = () => {
          if (listening || sockets.size > 0) return;
          clearInterval(sweep);
          clearTimeout(force);
          accessLog?.close();
          resolve();
        };
        // The server's 'close' comes as soon as its last connection is destroyed, before that
        // socket's 'close', where its response is closed and logged.
        socketClosed = settle;
        server.close(() => {
          listening = false;
          settle();
        });
        // Keep-alive connections that go idle after their last response close too.
        const sweep = setInterval(() => server.closeIdleConnections(), 100);
        const force = setTimeout(() => server.closeAllConnections(), drainTimeout);
      });
      return closing;
    },
  };
  if (options.handleSignals) {
    const stop = (signal: NodeJS.Signals) => {
      (options.errors ?? stderrStream).write(`tsgi: ${signal}: finishing requests in flight, then stopping\n`);
      void handle.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  return handle;
}
