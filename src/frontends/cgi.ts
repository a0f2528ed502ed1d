/**
 * The CGI front end (wsgiref's CGIHandler): runs one application for the one request a CGI
 * script serves. The environ comes from the process environment and the body from fd 0; the
 * response goes to stdout as a `Status:` line, headers, a blank line and the body (RFC 3875 §6).
 * A CGI script pays its imports on every request, so this module loads almost nothing.
 */
import { runApplication, HttpError, type ClientState, type ResponseTarget } from '../handler.js';
import type { Application, Environ, HeaderList, InputStream } from '../types.js';
import { guessScheme, stderrStream } from '../util.js';
import { crashReporter, guard } from '../debug/guard.js';

export interface RunCgiOptions {
  /** The CGI variables; process.env unless given. */
  env?: Record<string, string | undefined>;
  /**
   * Exit the process once the response is flushed (the default). A CGI script must end when
   * its response does: a leftover timer or socket would keep the server waiting for stdout to close.
   */
  exit?: boolean;
  /**
   * Serve FastCGI instead when started with a listening socket on fd 0 and no CGI request in
   * the environment (a process manager's child: `tsgi serve --cgi --persistent`, mod_fcgid).
   * Default true; the promise then resolves once serving has begun.
   */
  persistent?: boolean;
}

/** Builds a TSGI environ from CGI variables: every variable is copied, missing required ones get defaults. */
export function cgiEnviron(env: Record<string, string | undefined> = process.env, input: InputStream = stdinInput(env.CONTENT_LENGTH || undefined)): Environ {
  const environ: Record<string, unknown> = {};
  for (const key of Object.keys(env)) {
    const value = env[key];
    if (value !== undefined) environ[key] = value;
  }
  const fill = (key: string, value: string) => {
    if (typeof environ[key] !== 'string') environ[key] = value;
  };
  // Servers differ in what they pass: nginx sends CONTENT_LENGTH and CONTENT_TYPE empty for a
  // request without a body, lighttpd repeats them as HTTP_CONTENT_*. TSGI has them once, or not at all.
  for (const key of ['CONTENT_LENGTH', 'CONTENT_TYPE']) if (environ[key] === '') delete environ[key];
  delete environ.HTTP_CONTENT_LENGTH;
  delete environ.HTTP_CONTENT_TYPE;
  // httpoxy (CVE-2016-5386): a `Proxy:` request header is not a proxy setting.
  delete environ.HTTP_PROXY;
  fill('REQUEST_METHOD', 'GET');
  fill('SCRIPT_NAME', '');
  fill('PATH_INFO', '');
  fill('QUERY_STRING', '');
  fill('SERVER_NAME', 'localhost');
  fill('SERVER_PORT', '80');
  fill('SERVER_PROTOCOL', 'HTTP/1.0');
  // TSGI (like WSGI) reserves "/" alone for nobody: an application mounted at the root has SCRIPT_NAME "".
  if (environ.SCRIPT_NAME === '/') environ.SCRIPT_NAME = '';
  // ...and a request for the root itself then has PATH_INFO "/", so the app can still tell it apart.
  if (environ.SCRIPT_NAME === '' && environ.PATH_INFO === '') environ.PATH_INFO = '/';
  environ['tsgi.version'] = [1, 0] as const;
  environ['tsgi.url_scheme'] = typeof env.REQUEST_SCHEME === 'string' && env.REQUEST_SCHEME.toLowerCase() === 'https' ? 'https' : guessScheme(environ);
  environ['tsgi.input'] = input;
  environ['tsgi.errors'] = stderrStream;
  environ['tsgi.multithread'] = false;
  environ['tsgi.multiprocess'] = true;
  environ['tsgi.run_once'] = true;
  return environ as Environ;
}

/**
 * The request body from fd 0: exactly CONTENT_LENGTH bytes (RFC 3875 §4.2: the server may
 * send more, or keep the connection open, so reading to EOF could hang or over-read).
 */
export function stdinInput(contentLength: string | undefined): InputStream {
  return {
    async *[Symbol.asyncIterator]() {
      if (contentLength === undefined || contentLength === '') return;
      if (!/^\d+$/.test(contentLength)) throw new HttpError(400, `CONTENT_LENGTH ${JSON.stringify(contentLength)} is not a number`);
      let remaining = Number(contentLength);
      if (remaining === 0) return;
      const expected = remaining;
      const stdin = process.stdin;
      try {
        for await (const chunk of stdin as AsyncIterable<Buffer>) {
          if (chunk.length >= remaining) {
            yield chunk.subarray(0, remaining);
            remaining = 0;
            return;
          }
          remaining -= chunk.length;
          yield chunk;
        }
      } finally {
        stdin.destroy();
      }
      throw new HttpError(400, `the request body ended after ${expected - remaining} of its ${expected} bytes`);
    },
  };
}

/** Writes the response to stdout in CGI form, merging the head into the first body write. */
class StdoutTarget implements ResponseTarget, ClientState {
  gone = false;
  failed = false;
  private head: Buffer | undefined;
  private readonly goneListeners: (() => void)[] = [];
  private pending: Promise<void>[] = [];

  constructor() {
    process.stdout.on('error', () => {
      // EPIPE and friends: the server stopped listening, so the client is gone.
      if (this.gone) return;
      this.gone = true;
      for (const listener of this.goneListeners.splice(0)) listener();
    });
  }

  onGone(listener: () => void): void {
    if (this.gone) listener();
    else this.goneListeners.push(listener);
  }

  sendHead(status: number, reason: string, headers: HeaderList): void {
    let text = `Status: ${status} ${reason}\r\n`;
    for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
    this.head = Buffer.from(text + '\r\n', 'latin1');
  }

  write(chunk: Uint8Array): void | Promise<void> {
    return this.out(this.withHead(chunk));
  }

  end(last?: Uint8Array): Promise<void> {
    const data = this.withHead(last);
    if (data.length > 0 && !this.gone) process.stdout.write(data);
    return this.flushed();
  }

  abort(error: unknown): void {
    this.failed = true;
    const reporter = crashReporter();
    if (this.head) this.out(this.withHead(undefined));
    if (reporter) this.pending.push(reporter.reportAfterOutput(error));
  }

  /** Resolves once everything written so far has left the process. */
  async flushed(): Promise<void> {
    await Promise.all(this.pending);
    if (this.gone) return;
    await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  }

  private withHead(chunk: Uint8Array | undefined): Uint8Array {
    const head = this.head;
    if (!head) return chunk ?? new Uint8Array(0);
    this.head = undefined;
    if (!chunk || chunk.length === 0) return head;
    // Small bodies ride along with the head in one write; big ones are not worth copying.
    if (chunk.length > 16384) {
      process.stdout.write(head);
      return chunk;
    }
    return Buffer.concat([head, chunk]);
  }

  private out(data: Uint8Array): void | Promise<void> {
    if (this.gone || data.length === 0) return;
    if (process.stdout.write(data)) return;
    return new Promise((resolve) => {
      const done = () => {
        process.stdout.off('drain', done);
        this.offGone(done);
        resolve();
      };
      process.stdout.on('drain', done);
      this.onGone(done);
    });
  }

  private offGone(listener: () => void): void {
    const index = this.goneListeners.indexOf(listener);
    if (index >= 0) this.goneListeners.splice(index, 1);
  }
}

/**
 * Serves the current CGI request with `app` and, unless `exit: false`, ends the process with
 * status 0, or 1 when the application failed. Started as a FastCGI child (see `persistent`),
 * it serves request after request instead. Errors before the headers become a 500 — or
 * a cgitb report when `cgitb.enable()` was called; errors after them cut the response short.
 */
export async function runCgi(app: Application, options: RunCgiOptions = {}): Promise<void> {
  // httpoxy: under CGI, HTTP_PROXY in the environment is the client's `Proxy:` header, and HTTP
  // libraries that read their proxy from process.env would send the script's requests through it.
  if (!options.env && process.env.GATEWAY_INTERFACE !== undefined) delete process.env.HTTP_PROXY;
  if (!options.env && options.persistent !== false && process.env.REQUEST_METHOD === undefined) {
    // Loaded only here: a CGI request, the common case, pays nothing for the FastCGI server.
    const child = await import('./fastcgi/child.js');
    if (child.startedAsFastCgiChild()) {
      await child.serveFastCgiChild(guard(app, (error, environ, startResponse) => crashReporter()?.respond(error, environ, startResponse)));
      return;
    }
  }
  const target = new StdoutTarget();
  const guarded = guard(app, (error, environ, startResponse) => {
    target.failed = true;
    return crashReporter()?.respond(error, environ, startResponse);
  });
  const environ = cgiEnviron(options.env ?? process.env);
  await runApplication(guarded, environ, target, { client: target });
  await target.flushed();
  if (target.failed && !process.exitCode) process.exitCode = 1;
  if (options.exit !== false) process.exit();
}
