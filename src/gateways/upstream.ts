/**
 * Where a forwarding app sends a request: one fixed responder address (a php-fpm pool, a
 * `tsgi run --fastcgi` server), or a process manager that hands out one of the children it
 * started. The FastCGI client keeps its connections per address; an upstream only says which
 * address a request goes to and when that address is no longer to be used.
 */
import type { CancelSignal } from './cancel.js';

/** The right to send one request to `address`; `release` is called exactly once when it is done. */
export interface Lease {
  /** `HOST:PORT`, `[v6]:PORT` or a unix socket path, as `parseAddress` reads it. */
  readonly address: string;
  /** `reusable: false` when the request failed on the connection (the responder may be gone). */
  release(reusable: boolean): void;
}

export interface Upstream {
  /** An address to send the next request to; waits while every one is busy. Rejects when `signal` aborts or the upstream is closed. */
  acquire(signal?: CancelSignal): Promise<Lease>;
  /**
   * Called with an address whose process was retired or died, so pooled connections to it are
   * dropped; with `failure` when requests sent there and not yet answered never will be.
   */
  onRetire(listener: (address: string, failure?: string) => void): void;
  /** Stops handing out addresses; resolves once what it started has stopped. */
  close(): Promise<void>;
}
