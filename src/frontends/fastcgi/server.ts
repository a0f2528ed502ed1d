/** A FastCGI server: accepts web-server connections and serves one application on them. */
import type { Server, Socket } from 'node:net';
import type { Application } from '../../types.js';
import { createGatewayServer, listenGateway, type GatewayServer, type ListenAddress } from '../listen.js';
import { FastCgiConnection, resolveFastCgiOptions, type FastCgiOptions } from './connection.js';

/**
 * A node:net server speaking FastCGI for `app`, not yet listening. Use it to listen
 * somewhere `listenFastCgi` does not cover; `connections` tracks the live ones.
 */
export function createFastCgiServer(app: Application, options: FastCgiOptions = {}): { server: Server; connections: Set<FastCgiConnection> } {
  const resolved = resolveFastCgiOptions(options);
  const allowed = resolved.webServerAddresses;
  const admit = (socket: Socket) => {
    // Unix sockets have no remote address; the file's permissions guard them.
    const peer = socket.remoteAddress?.replace(/^::ffff:/, '');
    if (allowed.length === 0 || peer === undefined || allowed.includes(peer)) return true;
    resolved.log(`tsgi fastcgi: refused a connection from ${peer}: not in FCGI_WEB_SERVER_ADDRS`);
    return false;
  };
  return createGatewayServer((socket) => new FastCgiConnection(socket, app, resolved), resolved.maxConnections, false, admit);
}

/**
 * Serves `app` over FastCGI at `address`: `HOST:PORT`, a unix socket path, or `fd:0` for
 * the listening socket a web server passes to the programs it starts.
 */
export function listenFastCgi(address: string | ListenAddress, app: Application, options: FastCgiOptions = {}): Promise<GatewayServer> {
  return listenGateway(address, createFastCgiServer(app, options), options);
}
