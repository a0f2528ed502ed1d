/**
 * The listening socket of `--workers N`, made by the supervisor and held for its whole life.
 *
 * node:cluster shared it through the primary, which closed it whenever no worker held it (the
 * only worker dead, or every one at once): connections were refused until a replacement
 * listened, and a web server in front answered 502 for requests never in flight. Here the
 * supervisor makes the socket but never accepts on it, so the kernel's backlog keeps each
 * connection until a worker accepts it. Each worker gets the socket as fd 4 (its address in
 * the environment) and accepts on it itself, as node:cluster's SCHED_NONE workers did on
 * their copies. The workers are plain child processes, not node:cluster's: a cluster worker's
 * listen() on a descriptor asks the primary to open that descriptor number.
 *
 * Node cannot bind without accepting, so the supervisor listens with a Node server, keeps a
 * copy of its descriptor (the addon's dup) and closes the server before its event loop has
 * polled once: 'listening' comes on nextTick, and libuv accepts only when it polls. A unix
 * socket is made by the addon instead, since closing a Node server removes its socket file.
 */
import { createServer, type Server } from 'node:net';
import { getSystemErrorMap } from 'node:util';
import { constants } from 'node:os';
import { lstatSync, unlinkSync } from 'node:fs';
import { explainListenError, formatAddress, listenReplacingStale, parseAddress, type ListenAddress } from '../frontends/listen.js';
import { applySocketAccess, type SocketAccess } from '../frontends/socket-access.js';
import { listenUnixSocket, nativeDescriptors, nativeUnavailable } from '../gateways/launch/native-launcher.js';
import { ADDRESS_VARIABLE, FD_VARIABLE } from './worker-process.js';

/** Where a worker finds the socket: after stdin, stdout, stderr and its channel to the supervisor. */
export const WORKER_FD = 4;
// Node's own default, which a worker's listen() on the descriptor sets again.
const BACKLOG = 511;

export interface SharedListener {
  /** The supervisor's descriptor, handed to each worker as its fd 4. */
  readonly fd: number;
  /** What a gateway's start line names: `127.0.0.1:9000` (the real port for port 0), a socket path, `fd:0`. */
  readonly address: string;
  /** What each worker's environment says of it. */
  readonly env: Record<string, string>;
  /** Closes the supervisor's descriptor (the workers' copies keep theirs open till they stop) and removes a unix socket file it made. */
  close(): void;
}

/** Where the supervisor listens: HTTP on bind:port, or a FastCGI/SCGI address. */
export interface ListenerPlace {
  bind: string;
  port: number;
  /** A FastCGI or SCGI address (`HOST:PORT`, a socket path, `fd:N`); HTTP without. */
  gateway?: string;
  socket?: SocketAccess;
}

/** Why workers must share a socket node:cluster's way (the addon is not built), or undefined when the supervisor can hold it. */
export function sharedListenerUnavailable(): string | undefined {
  return nativeDescriptors() ? undefined : nativeUnavailable();
}

function listenNode(host: string, port: number): Promise<{ server: Server; fd: number }> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, backlog: BACKLOG }, () => {
      server.off('error', reject);
      // On nextTick after listen(2): the loop has not polled, so libuv has accepted nothing.
      const fd = nativeDescriptors()!.dup((server as unknown as { _handle: { fd: number } })._handle.fd);
      resolve({ server, fd });
    });
  });
}

/** An error from the addon as Node words one: `listen EADDRINUSE: address already in use PATH`. */
function nodeStyleError(error: NodeJS.ErrnoException, path: string): NodeJS.ErrnoException {
  const errno = error.code ? (constants.errno as Record<string, number>)[error.code] : undefined;
  const text = errno !== undefined ? getSystemErrorMap().get(-errno)?.[1] : undefined;
  if (!text) return error;
  return Object.assign(new Error(`listen ${error.code}: ${text} ${path}`), { code: error.code, errno: -errno!, syscall: 'listen', address: path });
}

async function listenUnix(path: string, access: SocketAccess): Promise<SharedListener> {
  const target: ListenAddress = { kind: 'unix', path };
  const socket = await listenReplacingStale(target, () => {
    try {
      // Not reachable before applySocketAccess widens it: only its owner may connect until then.
      return listenUnixSocket(path, BACKLOG, 0o600)!;
    } catch (error) {
      throw nodeStyleError(error as NodeJS.ErrnoException, path);
    }
  });
  try {
    applySocketAccess(path, access);
  } catch (error) {
    socket.close();
    unlinkSync(path);
    throw explainListenError(error as NodeJS.ErrnoException, target);
  }
  const made = lstatSync(path);
  return {
    fd: socket.fd,
    address: path,
    env: { [FD_VARIABLE]: String(WORKER_FD), [ADDRESS_VARIABLE]: path },
    close() {
      socket.close();
      // Only the file this supervisor made: another server may have replaced it since.
      const now = lstatSync(path, { throwIfNoEntry: false });
      if (now && now.ino === made.ino && now.dev === made.dev) unlinkSync(path);
    },
  };
}

async function listenTcp(host: string, port: number, target: ListenAddress): Promise<SharedListener> {
  const { server, fd } = await listenReplacingStale(target, () => listenNode(host, port));
  const address = formatAddress(server, target);
  server.close();
  const native = nativeDescriptors()!;
  let open = true;
  return {
    fd,
    address,
    env: { [FD_VARIABLE]: String(WORKER_FD), [ADDRESS_VARIABLE]: address },
    close() {
      if (open) native.close(fd);
      open = false;
    },
  };
}

/**
 * Opens the socket the workers will share. Throws what a worker's listen would have (the
 * caller words EADDRINUSE and the like for HTTP); needs the addon (sharedListenerUnavailable).
 */
export async function openSharedListener(place: ListenerPlace): Promise<SharedListener> {
  if (place.gateway === undefined) return listenTcp(place.bind, place.port, { kind: 'tcp', host: place.bind, port: place.port });
  const target = parseAddress(place.gateway);
  if (target.kind === 'unix') return listenUnix(target.path, place.socket ?? {});
  if (target.kind === 'tcp') return listenTcp(target.host, target.port, target);
  // A socket inherited from the web server: already the supervisor's for its whole life.
  return { fd: target.fd, address: `fd:${target.fd}`, env: { [FD_VARIABLE]: String(WORKER_FD), [ADDRESS_VARIABLE]: `fd:${target.fd}` }, close() {} };
}
