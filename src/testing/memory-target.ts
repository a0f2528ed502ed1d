/**
 * Where the response engine sends a response when there is no socket: the head, the bytes and
 * how it ended are kept in memory. Streaming, it hands each chunk to one reader and holds the
 * engine back until the reader took it, as a socket's backpressure would.
 */
import type { ClientState, ResponseTarget } from '../handler.js';
import type { HeaderList } from '../types.js';

export interface Head {
  status: number;
  reason: string;
  headers: HeaderList;
}

export class MemoryTarget implements ResponseTarget, ClientState {
  head: Head | undefined;
  /** The bytes not yet taken by a reader (all of them, when nobody streams). */
  private readonly queue: Buffer[] = [];
  ended = false;
  /** Set when the engine cut the response after its head: the error that did it. */
  aborted: { error: unknown } | undefined;
  gone = false;
  private readonly goneListeners: (() => void)[] = [];
  private readonly headWaiters: (() => void)[] = [];
  private wakeReader: (() => void) | undefined;
  private wakeWriter: (() => void) | undefined;

  /** `streaming`: each write waits until a reader took the chunks before it. */
  constructor(private readonly streaming: boolean) {}

  sendHead(status: number, reason: string, headers: HeaderList): void {
    // A copy: the app may reuse or change its header array once it has been sent.
    this.head = { status, reason, headers: headers.map(([name, value]) => [name, value]) };
    for (const waiter of this.headWaiters.splice(0)) waiter();
  }

  write(chunk: Uint8Array): void | Promise<void> {
    if (this.gone) return;
    this.queue.push(Buffer.from(chunk));
    this.wake();
    if (!this.streaming) return;
    return new Promise((resolve) => {
      this.wakeWriter = resolve;
    });
  }

  end(last?: Uint8Array): void {
    if (last && !this.gone) this.queue.push(Buffer.from(last));
    this.ended = true;
    this.wake();
  }

  abort(error: unknown): void {
    this.aborted = { error };
    this.ended = true;
    this.wake();
  }

  onGone(listener: () => void): void {
    this.goneListeners.push(listener);
  }

  /** The client hangs up: the engine stops pulling the body and closes it. */
  leave(): void {
    if (this.gone) return;
    this.gone = true;
    this.queue.length = 0;
    for (const listener of this.goneListeners) listener();
    this.releaseWriter();
  }

  /** Resolves once the head went out, or the run ended without one. */
  headSent(): Promise<void> {
    if (this.head || this.ended) return Promise.resolve();
    return new Promise((resolve) => this.headWaiters.push(resolve));
  }

  /** The engine finished without a head or an end (the client left first): wake whoever waits. */
  settle(): void {
    this.ended = true;
    for (const waiter of this.headWaiters.splice(0)) waiter();
    this.wake();
  }

  /** Everything received, for a buffered response. */
  takeAll(): Buffer {
    return Buffer.concat(this.queue.splice(0));
  }

  /** The next chunk, or undefined once the response has ended and every chunk was taken. */
  async next(): Promise<Buffer | undefined> {
    for (;;) {
      const chunk = this.queue.shift();
      if (chunk) {
        if (this.queue.length === 0) this.releaseWriter();
        return chunk;
      }
      this.releaseWriter();
      if (this.ended || this.gone) return undefined;
      await new Promise<void>((resolve) => {
        this.wakeReader = resolve;
      });
    }
  }

  private wake(): void {
    const reader = this.wakeReader;
    this.wakeReader = undefined;
    reader?.();
  }

  private releaseWriter(): void {
    const writer = this.wakeWriter;
    this.wakeWriter = undefined;
    writer?.();
  }
}
