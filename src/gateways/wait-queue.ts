import type { CancelSignal } from './cancel.js';

/** Requests waiting their turn for something scarce (a connection, a child), first come first served; an abort takes one out. */
export interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

interface Entry<T> extends Waiter<T> {
  signal: CancelSignal | undefined;
  onAbort: () => void;
}

export class WaitQueue<T> {
  private readonly entries: Entry<T>[] = [];

  get length(): number {
    return this.entries.length;
  }

  /** Waits until served; rejects with `aborted()` when `signal` aborts first. */
  wait(signal: CancelSignal | undefined, aborted: () => Error): Promise<T> {
    // An abort listener added after the abort is never called: such a wait would never end.
    if (signal?.aborted) return Promise.reject(aborted());
    return new Promise((resolve, reject) => {
      const entry: Entry<T> = {
        resolve, reject, signal,
        onAbort: () => {
          const index = this.entries.indexOf(entry);
          if (index >= 0) this.entries.splice(index, 1);
          reject(aborted());
        },
      };
      signal?.addEventListener('abort', entry.onAbort, { once: true });
      this.entries.push(entry);
    });
  }

  /** The first waiter, taken out of the queue, or undefined. */
  next(): Waiter<T> | undefined {
    const entry = this.entries.shift();
    entry?.signal?.removeEventListener('abort', entry.onAbort);
    return entry;
  }

  rejectAll(error: Error): void {
    for (let entry = this.next(); entry; entry = this.next()) entry.reject(error);
  }
}
