/**
 * Catches an application's errors wherever they happen — in the call or while its body is
 * iterated — and lets a handler replace the rest of the response. Shared by runCgi and the
 * cgitb debug middleware, so both see errors the same way. Also the meeting point of the two:
 * runCgi must stay cheap to import, so it never loads cgitb; cgitb.enable() registers a crash
 * reporter here and runCgi asks whether there is one.
 */
import type { Application, Body, Chunk, Environ, StartResponse } from '../types.js';

/**
 * Called with an error the application threw. Return a body to send instead (after calling
 * `startResponse` with `excInfo` = the error, which rethrows when the headers already went
 * out), or undefined to let the error go on to the response engine.
 */
export type ErrorHandler = (error: unknown, environ: Environ, startResponse: StartResponse) => Body | undefined;

export function guard(app: Application, onError: ErrorHandler): Application {
  return async (environ, startResponse) => {
    let body: Body;
    try {
      body = await app(environ, startResponse);
    } catch (error) {
      return replacement(error, environ, startResponse, onError);
    }
    // Arrays stay arrays: the engine sends them with a Content-Length in one write, and nothing can throw inside them.
    if (Array.isArray(body) || body === null || typeof body !== 'object') return body;
    return guardBody(body, (error) => replacement(error, environ, startResponse, onError));
  };
}

function replacement(error: unknown, environ: Environ, startResponse: StartResponse, onError: ErrorHandler): Body {
  const body = onError(error, environ, startResponse);
  if (body === undefined) throw error;
  return body;
}

function guardBody(body: Body, recover: (error: unknown) => Body): Body {
  const close = typeof body.close === 'function' ? () => body.close!() : undefined;
  if (Symbol.asyncIterator in body) {
    const inner = body as AsyncIterable<Chunk>;
    return {
      async *[Symbol.asyncIterator]() {
        try {
          yield* inner;
        } catch (error) {
          yield* recover(error);
        }
      },
      close,
    };
  }
  const inner = body as Iterable<Chunk>;
  // A sync body stays sync, so the engine can still pull one chunk ahead and set Content-Length.
  return {
    *[Symbol.iterator]() {
      try {
        yield* inner;
      } catch (error) {
        const rest = recover(error);
        if (Symbol.iterator in rest) yield* rest as Iterable<Chunk>;
        else throw new TypeError('an error handler for a synchronous body must return a synchronous body');
      }
    },
    close,
  };
}


export interface CrashReporter {
  /** Answers an error raised before any header went out, through startResponse with excInfo. */
  respond(error: unknown, environ: Environ, startResponse: StartResponse): Body;
  /** Reports an error raised after output began, by writing straight to stdout. */
  reportAfterOutput(error: unknown): Promise<void>;
}

const KEY = Symbol.for('tsgi.cgitb.reporter');
type Holder = { [KEY]?: CrashReporter };

export function setCrashReporter(reporter: CrashReporter | undefined): void {
  (globalThis as Holder)[KEY] = reporter;
}

export function crashReporter(): CrashReporter | undefined {
  return (globalThis as Holder)[KEY];
}
