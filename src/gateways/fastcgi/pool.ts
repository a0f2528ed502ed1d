/**
 * Open connections per responder address: idle ones are reused (newest first, so the rest can
 * time out), at most `maxConnections` are open at once and further requests wait their turn.
 */
import { parseAddress } from '../../frontends/listen.js';
import { askLimits } from './probe.js';
import type { ListenAddress } from '../../frontends/listen.js';
import { ResponderConnection } from './connection.js';
import { FastCgiGatewayError } from './errors.js';
import { WaitQueue } from '../wait-queue.js';
import type { CancelSignal } from '../cancel.js';

export interface PoolSettings {
  connectTimeout: number;
  idleTimeout: number;
  maxConnections: number;
}

const RAISE_AFTER_MS = 5_000;
// Requests per multiplexed connection when the responder names no number (FCGI_MAX_REQS).
const DEFAULT_REQUESTS_PER_CONNECTION = 16;
const STUCK_SLACK_MS = 5;

class AddressPool {
  readonly target: ListenAddress;
  private readonly idle: ResponderConnection[] = [];
  private readonly idleTimers = new Map<ResponderConnection, NodeJS.Timeout>();
  private readonly all = new Set<ResponderConnection>();
  private open = 0;
  private readonly waiting = new WaitQueue<ResponderConnection>();
  private limit: number;
  /** The most connections allowed: the option, or less when the responder says so. */
  private ceiling: number;
  private probe: Promise<void> | undefined;
  private probed = false;
  /** When each new connection's still unanswered request went out: the responder may be out of workers. */
  private readonly unanswered = new Set<{ since: number }>();
  private loweredAt = 0;
  private checkTimer: NodeJS.Timeout | undefined;
  /** Requests one connection may carry at once: 1, or more once the responder says it multiplexes. */
  private perConnection = 1;
  /** The multiplexed connection being opened, and how many requests wait to share it. */
  private opening: { connection: Promise<ResponderConnection>; claims: number } | undefined;

  constructor(readonly address: string, private readonly settings: PoolSettings) {
    this.target = parseAddress(address);
    this.limit = settings.maxConnections;
    this.ceiling = settings.maxConnections;
  }

  acquire(signal: CancelSignal | undefined): Promise<ResponderConnection> {
    if (!this.probed) return this.firstAcquire(signal);
    if (this.perConnection > 1) return this.acquireShared(signal);
    const reused = this.idle.pop();
    if (reused) {
      clearTimeout(this.idleTimers.get(reused));
      this.idleTimers.delete(reused);
      return Promise.resolve(reused);
    }
    if (this.open < this.limit) return this.connect();
    // The limit learnt from a full responder is probed upwards now and then (php-fpm's dynamic pools grow).
    if (this.limit < this.ceiling && Date.now() - this.loweredAt > RAISE_AFTER_MS) {
      this.limit++;
      this.loweredAt = Date.now();
      return this.connect();
    }
    return this.waiting.wait(signal, () => abortReason(signal));
  }

  /**
   * A request went out on a new connection. PHP-FPM's workers each stay with one kept-open
   * connection, so while it goes unanswered, idle connections may be what holds the workers it
   * waits for: they are closed, and no connection is kept idle until it is answered.
   */
  awaitingAnswer(): () => void {
    const entry = { since: Date.now() };
    this.unanswered.add(entry);
    this.drop();
    return () => {
      this.unanswered.delete(entry);
    };
  }

  /**
   * A connection went idle while a request on a new one has no answer yet. If that one still
   * has none a request's time later, the idle connections are what hold the workers it waits
   * for: they are closed and the limit drops to the connections that are answered. (Closing at
   * once instead would churn connections whenever new ones are merely slow to answer.)
   */
  private checkSoon(took: number): void {
    if (this.checkTimer) return;
    const delay = Math.max(STUCK_SLACK_MS, took);
    this.checkTimer = setTimeout(() => {
      this.checkTimer = undefined;
      const now = Date.now();
      let stuck = false;
      for (const entry of this.unanswered) if (now - entry.since >= delay) stuck = true;
      if (!stuck || this.idle.length === 0) return;
      this.limit = Math.max(1, this.open - this.unanswered.size);
      this.loweredAt = now;
      this.drop();
    }, delay);
    this.checkTimer.unref();
  }

  /**
   * A request finished on a connection while one sent on a new connection has waited far
   * longer for any answer: that one waits in the responder's listen backlog, behind workers that stay with
   * our kept connections. The responder's capacity is the connections it does answer.
   */
  private starved(connection: ResponderConnection): boolean {
    // Parallel requests finish in any order: only one that has waited well past a whole request counts as stuck.
    const now = Date.now();
    const took = now - connection.requestStartedAt;
    for (const entry of this.unanswered) if (now - entry.since > 2 * took + STUCK_SLACK_MS) return true;
    return false;
  }

  /**
   * A multiplexing responder: the least busy open connection with room takes the request, a
   * new one opens while under the limit, and only then does the request wait. No php-fpm
   * heuristics here: a responder that multiplexes does not tie a worker to a connection.
   */
  private acquireShared(signal: CancelSignal | undefined): Promise<ResponderConnection> {
    const roomy = this.roomiest();
    if (roomy) return Promise.resolve(this.claim(roomy));
    // Requests arriving together share the connection being opened rather than each opening one.
    if (this.opening && this.opening.claims < this.perConnection) {
      this.opening.claims++;
      return this.opening.connection.then((connection) => this.claim(connection));
    }
    if (this.open < this.limit) {
      const connection = this.connect().then((opened) => {
        opened.multiplexed = true;
        if (this.opening?.connection === connection) this.opening = undefined;
        return opened;
      }, (error: unknown) => {
        if (this.opening?.connection === connection) this.opening = undefined;
        throw error;
      });
      this.opening = { connection, claims: 1 };
      return connection.then((opened) => this.claim(opened));
    }
    return this.waiting.wait(signal, () => abortReason(signal)).then((connection) => this.claim(connection));
  }

  /** Promises one request's slot on `connection` until the request begins. */
  private claim(connection: ResponderConnection): ResponderConnection {
    this.keep(connection);
    connection.reserved++;
    return connection;
  }

  private roomiest(): ResponderConnection | undefined {
    let best: ResponderConnection | undefined;
    for (const connection of this.all) {
      if (connection.closed || !connection.multiplexed || connection.inFlight >= this.perConnection) continue;
      if (!best || connection.inFlight < best.inFlight) best = connection;
    }
    return best;
  }

  /** A connection that is busy again is no longer idle. */
  private keep(connection: ResponderConnection): void {
    clearTimeout(this.idleTimers.get(connection));
    this.idleTimers.delete(connection);
    const index = this.idle.indexOf(connection);
    if (index >= 0) this.idle.splice(index, 1);
  }

  private releaseShared(connection: ResponderConnection): void {
    if (connection.closed) return;
    const next = this.waiting.next();
    if (next) {
      next.resolve(connection);
      return;
    }
    if (connection.inFlight > 0 || this.idle.includes(connection)) return;
    this.idle.push(connection);
    const timer = setTimeout(() => connection.destroy(), this.settings.idleTimeout);
    timer.unref();
    this.idleTimers.set(connection, timer);
  }

  /** Takes a connection back: kept for the next request when `reusable`, else closed. */
  release(connection: ResponderConnection, reusable: boolean): void {
    // One request ending, well or not, is no reason to cut the others sharing its connection.
    if (connection.multiplexed) return this.releaseShared(connection);
    if (!reusable || connection.closed) {
      connection.destroy();
      return;
    }
    if (this.starved(connection)) {
      // Closing it frees the worker for the request stuck in the backlog.
      this.limit = Math.max(1, this.open - this.unanswered.size);
      this.loweredAt = Date.now();
      connection.destroy();
      return;
    }
    const next = this.waiting.next();
    if (next) {
      next.resolve(connection);
      return;
    }
    if (this.unanswered.size > 0) this.checkSoon(Date.now() - connection.requestStartedAt);
    this.idle.push(connection);
    const timer = setTimeout(() => connection.destroy(), this.settings.idleTimeout);
    timer.unref();
    this.idleTimers.set(connection, timer);
  }

  /** Closes every idle connection; busy ones close when their request ends. */
  drop(): void {
    for (const connection of this.idle.splice(0)) connection.destroy();
  }

  rejectWaiting(error: Error): void {
    this.waiting.rejectAll(error);
  }

  /**
   * The first request to an address asks the responder how many connections it serves at once
   * (FCGI_GET_VALUES). PHP-FPM answers pm.max_children, and it matters: each of its workers stays
   * with one kept-open connection, so a pool wider than that would leave requests waiting in
   * the listen backlog behind idle connections.
   */
  private async firstAcquire(signal: CancelSignal | undefined): Promise<ResponderConnection> {
    this.probe ??= askLimits(this.target, this.settings.connectTimeout).then((limits) => {
      if (limits.maxConns !== undefined && limits.maxConns > 0) this.limit = this.ceiling = Math.min(this.limit, limits.maxConns);
      if (limits.multiplexes) {
        const perConnection = limits.maxReqs !== undefined && limits.maxConns ? Math.floor(limits.maxReqs / limits.maxConns) : DEFAULT_REQUESTS_PER_CONNECTION;
        this.perConnection = Math.max(1, Math.min(perConnection, DEFAULT_REQUESTS_PER_CONNECTION * 4));
      }
      this.probed = true;
    });
    await this.probe;
    return this.acquire(signal);
  }

  private async connect(): Promise<ResponderConnection> {
    this.open++;
    let connection: ResponderConnection;
    try {
      connection = await ResponderConnection.open(this.address, this.target, this.settings.connectTimeout);
    } catch (error) {
      this.open--;
      this.serveWaiting();
      throw error;
    }
    this.all.add(connection);
    connection.onClosed(() => this.forget(connection));
    return connection;
  }

  /** Ends the requests whose responder has not said a word: it never will. */
  failUnanswered(reason: string): void {
    for (const connection of this.all) connection.failUnanswered(reason);
  }

  private forget(connection: ResponderConnection): void {
    this.all.delete(connection);
    this.open--;
    const index = this.idle.indexOf(connection);
    if (index >= 0) this.idle.splice(index, 1);
    clearTimeout(this.idleTimers.get(connection));
    this.idleTimers.delete(connection);
    this.serveWaiting();
  }

  /** A slot came free: the first request waiting opens a connection of its own. */
  private serveWaiting(): void {
    if (this.waiting.length === 0) return;
    if (this.perConnection > 1) {
      const roomy = this.roomiest();
      if (roomy) return this.waiting.next()!.resolve(roomy);
    }
    if (this.open >= this.limit) return;
    const next = this.waiting.next()!;
    this.connect().then((connection) => {
      connection.multiplexed = this.perConnection > 1;
      next.resolve(connection);
    }, next.reject);
  }
}

function abortReason(signal: CancelSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new FastCgiGatewayError(502, 'the request was aborted while waiting for a connection');
}

export class ConnectionPool {
  private readonly pools = new Map<string, AddressPool>();

  constructor(private readonly settings: PoolSettings) {}

  acquire(address: string, signal?: CancelSignal): Promise<ResponderConnection> {
    let pool = this.pools.get(address);
    if (!pool) {
      pool = new AddressPool(address, this.settings);
      this.pools.set(address, pool);
    }
    return pool.acquire(signal);
  }

  /** See AddressPool.awaitingAnswer; returns the function to call once the answer starts. */
  awaitingAnswer(address: string): () => void {
    return this.pools.get(address)?.awaitingAnswer() ?? (() => {});
  }

  release(connection: ResponderConnection, reusable: boolean): void {
    const pool = this.pools.get(connection.address);
    if (pool) pool.release(connection, reusable);
    else connection.destroy();
  }

  /** Drops the idle connections to `address` (its process was retired or died); `failure` also ends requests there not yet answered. */
  forget(address: string, failure?: string): void {
    const pool = this.pools.get(address);
    if (!pool) return;
    pool.drop();
    // The pool itself stays: a process manager's addresses are fixed, and a request may be on its way to it.
    if (failure !== undefined) pool.failUnanswered(failure);
  }

  close(): void {
    for (const pool of this.pools.values()) {
      pool.drop();
      pool.rejectWaiting(new FastCgiGatewayError(502, 'the FastCGI client is closed'));
    }
    this.pools.clear();
  }
}
