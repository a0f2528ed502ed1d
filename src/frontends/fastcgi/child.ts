/**
 * `runCgi(app)` started as a FastCGI child: fd 0 is a listening socket (FCGI_LISTENSOCK_FILENO)
 * handed over by a process manager (tsgi's own, mod_fcgid, lighttpd's bin-path, spawn-fcgi),
 * and the script serves request after request on it instead of one CGI request.
 */
import { fstatSync } from 'node:fs';
import type { Application } from '../../types.js';
import { listenFastCgi } from './server.js';

/**
 * A CGI request always carries REQUEST_METHOD and GATEWAY_INTERFACE in the environment; a
 * FastCGI child gets them per request instead, and a socket on fd 0 (fcgi_stdio's FCGX_IsCGI
 * and Perl's CGI::Fast look at fd 0 the same way).
 */
export function startedAsFastCgiChild(env: Record<string, string | undefined> = process.env): boolean {
  if (env.REQUEST_METHOD !== undefined || env.GATEWAY_INTERFACE !== undefined) return false;
  try {
    return fstatSync(0).isSocket();
  } catch {
    return false;
  }
}

/** Serves `app` on fd 0 until SIGTERM, SIGINT or SIGUSR1 (the FastCGI convention), then drains and exits. */
export async function serveFastCgiChild(app: Application): Promise<void> {
  const server = await listenFastCgi('fd:0', app, { multiprocess: true });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGUSR1', stop);
}
