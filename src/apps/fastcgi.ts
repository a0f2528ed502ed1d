/**
 * `fastcgiApp`: an Application that forwards every request to a FastCGI responder (PHP-FPM,
 * php-cgi children, flup, `tsgi run --fastcgi`), with the same RFC 3875 variables the CGI host
 * gives a child process. Being an Application it mounts and serves over every front end.
 */
import type { Application, Body, Chunk, Environ, StartResponse } from '../types.js';
import { HttpError } from '../handler.js';
import { addCgiVariables } from '../gateways/cgi-variables.js';
import type { ScriptLocation } from '../gateways/cgi-variables.js';
import { FastCgiClient } from '../gateways/fastcgi/client.js';
import type { FastCgiClientOptions } from '../gateways/fastcgi/client.js';
import { FastCgiGatewayError } from '../gateways/fastcgi/errors.js';
import { fixedUpstream } from '../gateways/fixed-upstream.js';
import type { Lease, Upstream } from '../gateways/upstream.js';
import { prepareBody } from './cgi/request-body.js';
import type { PreparedBody } from './cgi/request-body.js';
import { DEFAULT_BODY_LIMIT } from './cgi/options.js';
import { Refusal } from './safe-path.js';
import { textResponse } from './text-response.js';
import { Cancel, type CancelSignal } from '../gateways/cancel.js';

export interface FastCgiAppOptions {
  /** The responder: `HOST:PORT`, `[v6]:PORT`, a unix socket path, or an Upstream such as a process manager. */
  address: string | Upstream;
  /** A client to share between apps; by default the app makes its own from `clientOptions`. */
  client?: FastCgiClient;
  clientOptions?: FastCgiClientOptions;
  /** SCRIPT_FILENAME for every request (the program a responder like fcgiwrap should run). */
  scriptFilename?: string;
  /** DOCUMENT_ROOT, and the base of PATH_TRANSLATED. */
  documentRoot?: string;
  /** Extra variables for every request; they win over the request's own. */
  env?: Record<string, string>;
  /** Pass HTTP_AUTHORIZATION on (PHP's own Basic auth needs it). Default false. */
  passAuthorization?: boolean;
  /** A body larger than this is refused with 413 before it is sent. Default 1 GiB. */
  bodyLimit?: number;
  serverSoftware?: string;
  /** Finds the script for a request; a Refusal is answered as it says. Default: SCRIPT_NAME, PATH_INFO and `scriptFilename` as they are. */
  locate?: (environ: Environ) => ScriptLocation | Refusal;
  /** Where the app and its client log. Default: the request's `tsgi.errors`, or stderr for the client. */
  log?: (line: string) => void;
}

export interface ForwardingApplication extends Application {
  /** Stops the app's own client (and the upstream it was given); requests in flight finish. */
  close(): Promise<void>;
}

/** Sends requests whose script is already found to the responder; shared by fastcgiApp and phpApp. */
export interface Forwarder {
  forward(environ: Environ, startResponse: StartResponse, where: ScriptLocation): Body;
  close(): Promise<void>;
}

export function makeForwarder(options: Omit<FastCgiAppOptions, 'locate' | 'scriptFilename'>): Forwarder {
  const ownClient = options.client === undefined;
  const client = options.client ?? new FastCgiClient({ log: options.log, ...options.clientOptions });
  const upstream = typeof options.address === 'string' ? fixedUpstream(options.address) : options.address;
  upstream.onRetire((address, failure) => client.forget(address, failure));
  const settings = {
    env: { ...options.env },
    documentRoot: options.documentRoot,
    serverSoftware: options.serverSoftware ?? 'tsgi',
    refuseFunctionValues: false,
    passAuthorization: options.passAuthorization ?? false,
  };
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const log = (environ: Environ, line: string) => {
    if (options.log) options.log(line);
    else environ['tsgi.errors'].write(line + '\n');
  };

  async function* exchange(environ: Environ, startResponse: StartResponse, where: ScriptLocation, signal: CancelSignal, state: { complete: boolean }): AsyncGenerator<Chunk, void, undefined> {
    let body: PreparedBody | undefined;
    let lease: Lease | undefined;
    let reusable = false;
    let started = false;
    try {
      const prepared = prepareBody(environ, bodyLimit);
      body = prepared instanceof Promise ? await prepared : prepared;
      const params: Record<string, string> = {};
      addCgiVariables(params, environ, where, settings, body.kind === 'none' ? undefined : body.length);
      try {
        lease = await upstream.acquire(signal);
      } catch (error) {
        if (error instanceof FastCgiGatewayError && !signal.aborted) log(environ, `fastcgi ${where.scriptName || where.filename}: ${error.message}`);
        throw error;
      }
      const response = await client.request(lease.address, { params, body: bodyStream(body), signal, label: where.scriptName || where.filename || undefined });
      startResponse(response.status, response.headers);
      started = true;
      try {
        yield* response.body;
        reusable = true;
        state.complete = true;
      } finally {
        response.close();
      }
    } catch (error) {
      // Expected failures are answered here; the client has logged their reason already.
      if (signal.aborted) return;
      if ((error instanceof FastCgiGatewayError || error instanceof HttpError) && !started) {
        yield* textResponse(startResponse, error.status, gatewayMessage(error)) as Chunk[];
        state.complete = true;
        return;
      }
      throw error;
    } finally {
      lease?.release(reusable);
      if (body?.kind === 'file') await body.file.close().catch(() => {});
    }
  }

  return {
    forward(environ, startResponse, where) {
      const aborted = new Cancel();
      const state = { complete: false };
      return {
        [Symbol.asyncIterator]: () => exchange(environ, startResponse, where, aborted, state),
        // The engine closes every body; aborting (which builds an exception) is only for one cut short.
        close: () => {
          if (!state.complete) aborted.abort();
        },
      };
    },
    async close() {
      await upstream.close();
      if (ownClient) client.close();
    },
  };
}

export function fastcgiApp(options: FastCgiAppOptions): ForwardingApplication {
  const forwarder = makeForwarder(options);
  const locate = options.locate ?? ((environ: Environ): ScriptLocation => ({
    scriptName: environ.SCRIPT_NAME || '',
    pathInfo: environ.PATH_INFO || '',
    filename: options.scriptFilename ?? '',
  }));
  const app = ((environ: Environ, startResponse: StartResponse): Body => {
    const found = locate(environ);
    if (!(found instanceof Refusal)) return forwarder.forward(environ, startResponse, found);
    const log = options.log ?? ((line: string) => environ['tsgi.errors'].write(line + '\n'));
    log(`fastcgi: ${environ.REQUEST_METHOD} ${(environ.SCRIPT_NAME || '') + (environ.PATH_INFO || '')} refused (${found.status}): ${found.reason}`);
    return textResponse(startResponse, found.status, found.reason);
  }) as ForwardingApplication;
  app.close = () => forwarder.close();
  return app;
}

function gatewayMessage(error: Error): string {
  if (error instanceof FastCgiGatewayError && error.status === 504) return 'The application server did not answer in time.';
  if (error instanceof FastCgiGatewayError) return 'The application server could not answer this request.';
  return error.message;
}

function bodyStream(body: PreparedBody): AsyncIterable<Uint8Array> | Uint8Array | undefined {
  if (body.kind === 'none') return undefined;
  if (body.kind === 'memory') return body.data;
  if (body.kind === 'file') return body.file.createReadStream({ start: 0, autoClose: false });
  const { input, first } = body;
  return {
    [Symbol.asyncIterator]: () => (first ? prepend(first, input) : input),
  };
}

async function* prepend(first: Uint8Array, rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  yield first;
  for (let step = await rest.next(); !step.done; step = await rest.next()) yield step.value;
}
