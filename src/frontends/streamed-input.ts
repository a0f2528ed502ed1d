/**
 * `tsgi.input` for front ends that receive the request body as pushed chunks (FastCGI
 * STDIN records, an SCGI socket). The producer pushes; the application pulls; when too
 * much is queued the producer is told to stop reading until the application catches up.
 */
import { HttpError } from '../handler.js';
import type { InputStream } from '../types.js';

const DEFAULT_HIGH_WATER = 256 * 1024;

export class StreamedInput implements InputStream {
  private queue: Buffer[] = [];
  private queued = 0;
  private received = 0;
  private ended = false;
  private failure: unknown;
  private waiter: ((step: IteratorResult<Uint8Array>) => void) | undefined;
  private rejecter: ((error: unknown) => void) | undefined;
  private iterated = false;
  /** The application stopped reading: further chunks are thrown away as they arrive. */
  abandoned = false;

  /**
   * @param expected CONTENT_LENGTH when known: fewer or more bytes make the stream fail.
   * @param onDrained called when the queue falls back under the high-water mark.
   */
  constructor(
    private readonly expected: number | undefined,
    private readonly onDrained: () => void,
    private readonly highWater = DEFAULT_HIGH_WATER,
  ) {}

  /** True when the queue is over the high-water mark: stop reading until onDrained. */
  get full(): boolean {
    return this.queued > this.highWater;
  }

  get done(): boolean {
    return this.ended || this.failure !== undefined;
  }

  /** Adds a chunk of body. Returns false when the producer should pause. */
  push(chunk: Buffer): boolean {
    if (this.done) return true;
    this.received += chunk.length;
    if (this.expected !== undefined && this.received > this.expected) {
      this.fail(new HttpError(400, `the request body is longer than its CONTENT_LENGTH of ${this.expected} bytes`));
      return true;
    }
    if (this.abandoned || chunk.length === 0) return true;
    if (this.waiter) {
      const waiter = this.waiter;
      this.clearWaiter();
      waiter({ done: false, value: chunk });
      return true;
    }
    this.queue.push(chunk);
    this.queued += chunk.length;
    return !this.full;
  }

  /** Marks the end of the body; short of CONTENT_LENGTH, the stream fails as truncated. */
  end(): void {
    if (this.done) return;
    if (this.expected !== undefined && this.received < this.expected) {
      this.fail(new HttpError(400, `the request body ended after ${this.received} of its ${this.expected} bytes`));
      return;
    }
    this.ended = true;
    if (this.waiter && this.queue.length === 0) {
      const waiter = this.waiter;
      this.clearWaiter();
      waiter({ done: true, value: undefined });
    }
  }

  /**
   * Ends the stream with an error the application sees on its next read. An ended body the
   * application has not read to the end fails too: dropping its queue must not look like an end.
   */
  fail(error: unknown): void {
    if (this.failure !== undefined || (this.ended && this.queue.length === 0)) return;
    this.failure = error;
    if (this.rejecter) {
      const reject = this.rejecter;
      this.clearWaiter();
      reject(error);
    }
  }

  /** Drops queued chunks and ignores future ones (the response is over). */
  discard(): void {
    this.abandoned = true;
    const wasFull = this.full;
    this.queue = [];
    this.queued = 0;
    if (this.waiter) {
      const waiter = this.waiter;
      this.clearWaiter();
      waiter({ done: true, value: undefined });
    }
    if (wasFull) this.onDrained();
  }

  private clearWaiter(): void {
    this.waiter = undefined;
    this.rejecter = undefined;
  }

  private next(): Promise<IteratorResult<Uint8Array>> {
    if (this.queue.length > 0) {
      const chunk = this.queue.shift()!;
      const wasFull = this.full;
      this.queued -= chunk.length;
      if (wasFull && !this.full) this.onDrained();
      return Promise.resolve({ done: false, value: chunk });
    }
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.ended || this.abandoned) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.rejecter = reject;
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.iterated) throw new Error('tsgi.input can be iterated only once');
    this.iterated = true;
    return {
      next: () => this.next(),
      return: () => {
        this.discard();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }
}
