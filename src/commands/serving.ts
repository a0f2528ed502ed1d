/** What every serving command shares: where to listen and how to stop. */
import { makeServer, type HttpServer } from '../frontends/http.js';
import type { Application } from '../types.js';

export interface ServeOptions {
  bind: string;
  port: number;
  /** Access log on stderr (default true). */
  accessLog?: boolean;
}

/** Serves `app` over HTTP until SIGINT/SIGTERM, then drains in-flight requests and exits. */
export async function startServing(app: Application, options: ServeOptions): Promise<HttpServer> {
  const server = await makeServer(options.bind, options.port, app, { handleSignals: true, accessLog: options.accessLog ?? true });
  process.stderr.write(`Serving HTTP on ${server.host} port ${server.port} (${server.url}/) ...\n`);
  return server;
}
