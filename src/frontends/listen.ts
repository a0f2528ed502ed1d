/**
 * Where a gateway server (FastCGI, SCGI) listens: `HOST:PORT`, a unix socket path, or
 * `fd:N` for a listening socket the process inherited (spawn-fcgi, lighttpd `bin-path`,
 * Apache mod_fcgid all hand it over on fd 0). Also the graceful close both protocols share.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { applySocketAccess, checkSocketAccess, type SocketAccess } from './socket-access.js';
import { existsSync, fstatSync, lstatSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export type ListenAddress =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unix'; path: string }
  /** `name`: what `address` says (default `fd:N`), for a socket whose real address is known, as a --workers worker's is. */
  | { kind: 'fd'; fd: number; name?: string };

/** Parses `HOST:PORT`, `[v6]:PORT`, `:PORT`, a path containing `/`, or `fd:N`. */
export function parseAddress(text: string): ListenAddress {
  const fd = /^fd:(\d+)$/.exec(text);
  if (fd) return { kind: 'fd', fd: Number(fd[1]) };
  if (text.includes('/')) return { kind: 'unix', path: text };
  const tcp = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  if (tcp) {
    const port = Number(tcp[3]);
    if (port > 65535) throw new RangeError(`port ${port} in ${JSON.stringify(text)} is out of range`);
    return { kind: 'tcp', host: tcp[1] ?? (tcp[2] || '127.0.0.1'), port };
  }
  throw new TypeError(`cannot listen on ${JSON.stringify(text)}: expected HOST:PORT, a unix socket path (with a /) or fd:N`);
}

/** The address a listening server actually got, as `parseAddress` reads it back. */
export function formatAddress(server: Server, requested: ListenAddress): string {
  if (requested.kind !== 'tcp') return requested.kind === 'unix' ? requested.path : requested.name ?? `fd:${requested.fd}`;
  const bound = server.address();
  if (bound && typeof bound === 'object') return bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
  return `${requested.host}:${requested.port}`;
}

function listenOnce(server: Server, address: ListenAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    const done = () => {
      server.off('error', onError);
      resolve();
    };
    if (address.kind === 'tcp') server.listen({ host: address.host, port: address.port }, done);
    else if (address.kind === 'unix') server.listen({ path: address.path }, done);
    else server.listen({ fd: address.fd }, done);
  });
}

function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe: Socket = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * Runs `listen`; when it fails with EADDRINUSE on a unix socket file a dead server left
 * behind, removes the file and runs it again (a live one is left alone). Errors are explained.
 */
export async function listenReplacingStale<T>(address: ListenAddress, listen: () => T | Promise<T>): Promise<T> {
  try {
    try {
      return await listen();
    } catch (error) {
      const stale = address.kind === 'unix' && (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
        && lstatSync(address.path, { throwIfNoEntry: false })?.isSocket() && !(await isLive(address.path));
      if (!stale) throw error;
      unlinkSync(address.path);
      return await listen();
    }
  } catch (error) {
    throw explainListenError(error as NodeJS.ErrnoException, address);
  }
}

/** Listens; a unix socket file left behind by a dead server is replaced, a live one is not. */
export async function listenOn(server: Server, address: ListenAddress): Promise<string> {
  await listenReplacingStale(address, () => listenOnce(server, address));
  return formatAddress(server, address);
}

/** What an inherited descriptor is: not open, a socket, or something else. */
function descriptorKind(fd: number): 'closed' | 'socket' | 'other' {
  try {
    return fstatSync(fd).isSocket() ? 'socket' : 'other';
  } catch {
    return 'closed';
  }
}

/**
 * libuv's answers name the symptom, not the address: a socket in a missing folder comes back
 * as EACCES, and `fd:5` as ENOTSOCK or EINVAL without the number. The error keeps its code and
 * syscall, so callers still tell a refusal by the system from a bug.
 */
export function explainListenError(error: NodeJS.ErrnoException, address: ListenAddress): NodeJS.ErrnoException {
  let reason: string | undefined;
  if (address.kind === 'unix') {
    const folder = dirname(resolve(address.path));
    if (!existsSync(folder)) reason = `the folder ${folder} does not exist`;
    else if (error.code === 'EACCES') reason = `permission denied: this process may not create files in ${folder}`;
  } else if (address.kind === 'fd') {
    const kind = descriptorKind(address.fd);
    if (kind === 'closed') reason = `file descriptor ${address.fd} is not open (a web server that starts tsgi passes its listening socket on fd 0)`;
    else if (kind === 'other') reason = `file descriptor ${address.fd} is not a socket`;
    else if (error.code === 'EINVAL') reason = `file descriptor ${address.fd} is a socket, but not a listening stream socket`;
  }
  if (reason === undefined) return error;
  const where = address.kind === 'unix' ? address.path : address.kind === 'fd' ? `fd:${address.fd}` : `${address.host}:${address.port}`;
  return Object.assign(new Error(`cannot listen on ${where}: ${reason} (${error.code ?? error.message})`, { cause: error }), { code: error.code, syscall: error.syscall ?? 'listen' });
}

/** On shutdown, how long an accepted connection that has sent nothing yet may still bring its first request. */
export const FIRST_REQUEST_GRACE_MS = 1_000;

// How long a closing connection keeps reading (and discarding) before it is cut.
const LINGER_MS = 5_000;

/**
 * Ends our side and keeps reading what the peer still sends until it closes, so unread
 * request bytes do not turn into a TCP reset that could destroy the response in flight.
 */
export function endAndLinger(socket: Socket, last?: Uint8Array | string): void {
  if (last === undefined) socket.end();
  else socket.end(last);
  socket.resume();
  if (socket.readableEnded) {
    socket.destroySoon();
    return;
  }
  const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  socket.once('close', () => clearTimeout(timer));
}

/** A connection that can finish its requests in flight and then close. */
export interface Drainable {
  shutdown(): void;
  readonly socket: Socket;
}

/** A listening gateway server. */
export class GatewayServer {
  constructor(
    /** The node:net server underneath. */
    readonly server: Server,
    /** Where it listens: `host:port`, a socket path, or `fd:N`. */
    readonly address: string,
    private readonly connections: Set<Drainable>,
  ) {}

  /** The TCP port, or 0 for a unix or inherited socket. */
  get port(): number {
    const bound = this.server.address();
    return bound && typeof bound === 'object' ? bound.port : 0;
  }

  /**
   * Stops accepting, lets requests in flight finish, and resolves once every connection
   * has closed; connections still busy after `drainTimeout` ms are cut.
   */
  close(drainTimeout = 10_000): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      const force = setTimeout(() => {
        for (const connection of this.connections) connection.socket.destroy();
      }, drainTimeout).unref();
      this.server.close(() => {
        clearTimeout(force);
        resolve();
      });
      for (const connection of this.connections) connection.shutdown();
    });
    return this.closing;
  }

  private closing: Promise<void> | undefined;
}

/** A node:net server whose every connection is handed to `accept`; `connections` tracks the live ones. */
export function createGatewayServer<C extends Drainable>(
  accept: (socket: Socket) => C,
  maxConnections: number,
  allowHalfOpen = false,
  admit: (socket: Socket) => boolean = () => true,
): { server: Server; connections: Set<C> } {
  const connections = new Set<C>();
  const server = createServer({ allowHalfOpen, noDelay: true }, (socket) => {
    if (!admit(socket)) {
      socket.destroy();
      return;
    }
    const connection = accept(socket);
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
  });
  server.maxConnections = maxConnections;
  return { server, connections };
}

/** Listens at `address` (text as `parseAddress` reads it) and wraps the result. */
export async function listenGateway(address: string | ListenAddress, created: { server: Server; connections: Set<Drainable> }, access: SocketAccess = {}): Promise<GatewayServer> {
  const target = typeof address === 'string' ? parseAddress(address) : address;
  checkSocketAccess(access);
  const where = await listenOn(created.server, target);
  if (target.kind === 'unix') {
    try {
      applySocketAccess(target.path, access);
    } catch (error) {
      created.server.close();
      throw error;
    }
  }
  return new GatewayServer(created.server, where, created.connections);
}
