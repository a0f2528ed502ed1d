/**
 * What `tsgi run` does with the value a module exports: a TSGI application runs as it is; the
 * other shapes JavaScript web apps come in go through the adapters of `tsgi/fetch`, so that a
 * Hono, Express or Koa app, or a `{ fetch }` object, runs with no wrapper file.
 */
import { Server } from 'node:http';
import { fromFetchHandler, fromNodeListener, type FetchStyleHandler, type NodeListener } from '../frontends/fetch.js';
import type { Application } from '../types.js';

export const ADAPTERS = ['auto', 'tsgi', 'fetch', 'node'] as const;
export type AdapterName = (typeof ADAPTERS)[number];

export interface Adapted {
  app: Application;
  /** What was found and which adapter serves it, for the start-up line. */
  how: string;
  /** False for a TSGI app served as it is. */
  adapted: boolean;
}

/** Why a value cannot be served: the message names the adapter or the shape to export. */
export class NotAnApplication extends Error {}

function hasFunction(value: unknown, name: string): boolean {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as Record<string, unknown>)[name] === 'function';
}

/** True for values `adapt` would serve without being told how (`auto`). */
export function isServable(value: unknown): boolean {
  return typeof value === 'function' || hasFunction(value, 'fetch') || value instanceof Server || isKoaLike(value);
}

function isKoaLike(value: unknown): boolean {
  return typeof value === 'object' && hasFunction(value, 'callback') && hasFunction(value, 'use');
}

/** Express and Connect apps are functions that also carry `handle` and `use`. */
function isExpressLike(value: unknown): boolean {
  return typeof value === 'function' && hasFunction(value, 'handle') && hasFunction(value, 'use');
}

function fetchApp(value: unknown, label: string): Adapted {
  if (hasFunction(value, 'fetch')) {
    const owner = value as { fetch: FetchStyleHandler };
    // Called as a method: Hono and Bun-style objects may rely on `this`.
    return { app: fromFetchHandler((request, environ) => owner.fetch(request, environ)), how: `${label}.fetch, a Fetch handler (fromFetchHandler)`, adapted: true };
  }
  if (typeof value === 'function') return { app: fromFetchHandler(value as FetchStyleHandler), how: `${label}, a Fetch handler (fromFetchHandler)`, adapted: true };
  throw new NotAnApplication(`${label} is ${describe(value)}: --adapter fetch needs a function (request) => Response or an object with a fetch method`);
}

function nodeApp(value: unknown, label: string): Adapted {
  if (value instanceof Server) {
    const listeners = value.listeners('request') as NodeListener[];
    if (listeners.length !== 1) throw new NotAnApplication(`${label} is an http.Server with ${listeners.length} 'request' listeners; export the listener function itself`);
    return { app: fromNodeListener(listeners[0]!), how: `${label}, an http.Server's request listener (fromNodeListener)`, adapted: true };
  }
  if (isKoaLike(value)) return { app: fromNodeListener((value as { callback(): NodeListener }).callback()), how: `${label}.callback(), a Node listener (fromNodeListener)`, adapted: true };
  if (typeof value === 'function') return { app: fromNodeListener(value as NodeListener), how: `${label}, a Node (req, res) listener (fromNodeListener)`, adapted: true };
  throw new NotAnApplication(`${label} is ${describe(value)}: --adapter node needs a (req, res) function, an Express/Connect/Koa app or an http.Server`);
}

function tsgiApp(value: unknown, label: string): Adapted {
  if (typeof value !== 'function') throw new NotAnApplication(`${label} is ${describe(value)}: --adapter tsgi needs an (environ, startResponse) function`);
  return { app: withShapeHints(value as Application, label), how: `${label}, a TSGI application`, adapted: false };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const keys = Object.keys(value as object);
    return `an object${keys.length ? ` with ${keys.slice(0, 8).join(', ')}` : ''} and no fetch method`;
  }
  return `a ${typeof value}`;
}

/** Picks the adapter for `value` (or uses the one asked for) and returns the application to serve. */
export function adapt(value: unknown, label: string, adapter: AdapterName = 'auto'): Adapted {
  if (adapter === 'tsgi') return tsgiApp(value, label);
  if (adapter === 'fetch') return fetchApp(value, label);
  if (adapter === 'node') return nodeApp(value, label);
  if (hasFunction(value, 'fetch')) return fetchApp(value, label);
  if (value instanceof Server || isKoaLike(value) || isExpressLike(value)) return nodeApp(value, label);
  if (typeof value === 'function') return tsgiApp(value, label);
  throw new NotAnApplication(`${label} is ${describe(value)}, not an application: export a TSGI (environ, startResponse) function, a Fetch handler or an object with a fetch method (Hono), or a Node listener (Express)`);
}

// What a Node listener's first use of `res` fails with when it is handed startResponse instead.
const NODE_RESPONSE_USE = /\b(setHeader|writeHead|getHeader|removeHeader|end|write|status|send|json|sendFile|redirect)\b is not a function/;

/**
 * A plain function cannot be told apart from a Node listener or a Fetch handler by its shape,
 * so a TSGI app is watched for the two mistakes that give it away, and the error says which
 * `--adapter` to use instead of a bare 500.
 */
function withShapeHints(app: Application, label: string): Application {
  const hint = (error: unknown): unknown => {
    if (error instanceof TypeError && NODE_RESPONSE_USE.test(error.message)) {
      return new NotAnApplication(`${label} looks like a Node (req, res) listener, not a TSGI app: run it with --adapter node (${error.message})`, { cause: error });
    }
    return error;
  };
  const check = (body: unknown) => {
    if (body instanceof Response) throw new NotAnApplication(`${label} returned a Response: it is a Fetch handler, not a TSGI app; run it with --adapter fetch`);
    return body as Awaited<ReturnType<Application>>;
  };
  return (environ, startResponse) => {
    let body: ReturnType<Application>;
    try {
      body = app(environ, startResponse);
    } catch (error) {
      throw hint(error);
    }
    if (body instanceof Promise) return body.then(check, (error: unknown) => { throw hint(error); });
    return check(body);
  };
}
