/** What a test request answers: the head, then the body buffered or streamed. */
import type { Environ, HeaderList } from '../types.js';
import type { ErrorLog } from './error-log.js';
import type { MemoryTarget } from './memory-target.js';
import { ResponseHeaders } from './response-headers.js';

/** The head of a response, and the request it answers. */
export class ResponseHead {
  readonly headers: ResponseHeaders;

  constructor(
    readonly status: number,
    /** The reason phrase, as the app sent it. */
    readonly reason: string,
    headers: HeaderList,
    /** The environ the app was called with, as the app left it; undefined when the front end refused the request. */
    readonly environ: Environ | undefined,
    protected readonly log: ErrorLog,
  ) {
    this.headers = new ResponseHeaders(headers);
  }

  /** The reason phrase, under fetch's name. */
  get statusText(): string {
    return this.reason;
  }

  /** A 2xx status. */
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** What the app and the engine wrote to tsgi.errors (so far, for a stream). */
  get errors(): string {
    return this.log.text;
  }
}

/** A buffered response: the whole body is here. */
export class TestResponse extends ResponseHead {
  constructor(status: number, reason: string, headers: HeaderList, readonly body: Buffer, environ: Environ | undefined, log: ErrorLog) {
    super(status, reason, headers, environ, log);
  }

  text(): string {
    return this.body.toString('utf8');
  }

  bytes(): Uint8Array {
    return this.body;
  }

  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }
}

/** The engine cut a response short after its head went out: over HTTP the client would see a broken connection. */
export class ResponseAbortedError extends Error {
  constructor(
    readonly status: number,
    /** The body bytes that arrived before the cut (empty for a stream: the reader had them). */
    readonly received: Buffer,
    cause: unknown,
  ) {
    super(`the response (${status}) was cut short after its head: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'ResponseAbortedError';
  }
}

/**
 * A streamed response: the head is here, the body arrives as the app produces it. Read it
 * to the end, or close() it; either reports what went wrong (a ValidationError, a
 * ResponseAbortedError) once the app is done.
 */
export class StreamingResponse extends ResponseHead {
  #taken = false;

  constructor(
    status: number,
    reason: string,
    headers: HeaderList,
    environ: Environ | undefined,
    log: ErrorLog,
    private readonly target: MemoryTarget,
    /** Resolves once the engine is done with the request, rejects with what went wrong. */
    private readonly finish: () => Promise<void>,
  ) {
    super(status, reason, headers, environ, log);
  }

  /**
   * The body, chunk by chunk, as the app sends it: the app waits while a chunk is not taken.
   * Leaving the loop early (break, an exception) hangs up, as a browser closing the tab does.
   */
  stream(): AsyncIterableIterator<Buffer> {
    if (this.#taken) throw new Error('the body of a streamed response can be read once');
    this.#taken = true;
    return this.chunks();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Buffer> {
    return this.stream();
  }

  private async *chunks(): AsyncGenerator<Buffer, void, undefined> {
    let complete = false;
    try {
      for (;;) {
        const chunk = await this.target.next();
        if (chunk === undefined) break;
        yield chunk;
      }
      complete = true;
    } finally {
      if (!complete) this.target.leave();
      await this.finish();
    }
  }

  /** Reads the rest of the body. */
  async bytes(): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const chunk of this.stream()) parts.push(chunk);
    return Buffer.concat(parts);
  }

  async text(): Promise<string> {
    return (await this.bytes()).toString('utf8');
  }

  async json<T = unknown>(): Promise<T> {
    return JSON.parse(await this.text()) as T;
  }

  /** Hangs up: the engine stops pulling the body and closes it. Resolves once the app is done. */
  async close(): Promise<void> {
    this.target.leave();
    await this.finish();
  }
}
