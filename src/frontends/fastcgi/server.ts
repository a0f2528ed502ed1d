/** A FastCGI server: accepts web-server connections and serves one application on them. */
import { createServer, type Server } from 'node:net';
import type { Application } from '../../types.js';
import { GatewayServer, listenOn, parseAddress, type ListenAddress } from '../listen.js';
import { FastCgiConnection, resolveFastCgiOptions, type FastCgiOptions } from './connection.js';

/**
 * A node:net server speaking FastCGI for `app`, not yet listening. Use it to listen
 * somewhere `listenFastCgi` does not cover; `connections` tracks the live ones.
 */
export function createFastCgiServer(app: Application, options: FastCgiOptions = {}): { server: Server; connections: Set<FastCgiConnection> } {
  const resolved = resolveFastCgiOptions(options);
  const connections = new Set<FastCgiConnection>();
  const server = createServer({ noDelay: true }, (socket) => {
    const connection = new FastCgiConnection(socket, app, resolved);
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
  });
  server.maxConnections = resolved.maxConnections;
  return { server, connections };
}

/**
 * Serves `app` over FastCGI at `address`: `HOST:PORT`, a unix socket path, or `fd:0` for
 * the listening socket a web server passes to the programs it starts.
 */
export async function listenFastCgi(address: string | ListenAddress, app: Application, options: FastCgiOptions = {}): Promise<GatewayServer> {
  const { server, connections } = createFastCgiServer(app, options);
  const where = await listenOn(server, typeof address === 'string' ? parseAddress(address) : address);
  return new GatewayServer(server, where, connections);
}
