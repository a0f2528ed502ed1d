/**
 * One request's reply on a responder connection: STDOUT read as a CGI response (head, then a
 * body that the consumer pulls), STDERR cut into lines, END_REQUEST. Holds back the socket
 * while the consumer is behind, so a slow client costs a bounded amount of memory.
 */
import { HeadReader } from '../cgi-response.js';
import { LineSplitter } from '../line-splitter.js';
import { ProtocolStatus } from '../../frontends/fastcgi/records.js';
import { FastCgiGatewayError } from './errors.js';


export interface ReplyHead {
  /** The header block as latin-1 text, without the blank line. */
  head: string;
  /** Body bytes that came in the same records as the head. */
  rest: Buffer;
}

type Waiter<T> = { resolve(value: T): void; reject(error: Error): void };

/**
 * Holding back the socket an exchange reads from. On a multiplexed connection several
 * exchanges share it: it reads again only when none of them is holding it.
 */
export interface ReadFlow {
  hold(): void;
  release(): void;
}

export class Exchange {
  readonly head: Promise<ReplyHead>;
  /** Resolves when the reply is over: with true once END_REQUEST came and the request was fully sent. */
  readonly finished: Promise<boolean>;
  /** Any record at all arrived: a failure before that, on a reused connection, may be retried. */
  receivedAny = false;
  /** END_REQUEST arrived: nothing more of this reply is on its way, whatever became of the exchange. */
  endReceived = false;
  appStatus: number | undefined;
  private headWaiter!: Waiter<ReplyHead>;
  private finish!: (reusable: boolean) => void;
  private headReader: HeadReader | undefined = new HeadReader();
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private bodyWaiter: Waiter<IteratorResult<Buffer, undefined>> | undefined;
  private ended = false;
  private sent = false;
  private failure: FastCgiGatewayError | undefined;
  private paused = false;
  private lastActivity = Date.now();
  private readTimer: NodeJS.Timeout | undefined;
  private readonly stderrLines: LineSplitter;
  /** Called once, at the first record of the reply or at its end, whichever comes first. */
  onAnswered: (() => void) | undefined;

  /**
   * `bufferLimit`: past this much unread body the socket is held back; below a quarter of it
   * it reads again.
   */
  constructor(
    private readonly flow: ReadFlow,
    private readonly readTimeout: number,
    private readonly bufferLimit: number,
    onStderrLine: (line: string) => void,
  ) {
    this.head = new Promise<ReplyHead>((resolve, reject) => {
      this.headWaiter = { resolve, reject };
    });
    // The head's failure is also reported through next(); an unawaited head must not crash the process.
    this.head.catch(() => {});
    this.finished = new Promise<boolean>((resolve) => {
      this.finish = (reusable) => {
        this.answered();
        if (this.paused) {
          this.paused = false;
          this.flow.release();
        }
        resolve(reusable);
      };
    });
    this.stderrLines = new LineSplitter(onStderrLine);
    this.armReadTimer(readTimeout);
  }

  get done(): boolean {
    return this.ended || this.failure !== undefined;
  }

  onStdout(content: Buffer): void {
    this.activity();
    if (content.length === 0) return;
    if (this.headReader) {
      let complete: [string, Buffer, Buffer] | undefined;
      try {
        complete = this.headReader.push(content);
      } catch (error) {
        this.fail(502, `malformed response head: ${(error as Error).message}`);
        return;
      }
      if (!complete) return;
      this.headReader = undefined;
      this.headWaiter.resolve({ head: complete[0], rest: complete[1] });
      return;
    }
    // A view, not a copy: the record reader's buffers are the socket's own reads (or a fresh
    // concatenation of them), never reused, so holding one holds nothing else.
    this.enqueue(content);
  }

  onStderr(content: Buffer): void {
    this.activity();
    if (content.length > 0) this.stderrLines.push(content);
  }

  onEndRequest(content: Buffer): void {
    this.activity();
    this.endReceived = true;
    if (content.length < 8) {
      this.fail(502, 'END_REQUEST record shorter than 8 bytes');
      return;
    }
    this.appStatus = content.readUInt32BE(0);
    const protocolStatus = content[4];
    if (protocolStatus === ProtocolStatus.Overloaded) return this.fail(503, 'the responder is overloaded (FCGI_OVERLOADED)');
    if (protocolStatus === ProtocolStatus.CantMpxConn) return this.fail(502, 'the responder refused a second request on the connection (FCGI_CANT_MPX_CONN)');
    if (protocolStatus === ProtocolStatus.UnknownRole) return this.fail(502, 'the responder does not play the responder role (FCGI_UNKNOWN_ROLE)');
    if (protocolStatus !== ProtocolStatus.RequestComplete) return this.fail(502, `END_REQUEST with unknown protocol status ${protocolStatus}`);
    if (this.headReader) return this.fail(502, 'the reply ended before its header block was complete');
    this.ended = true;
    this.stderrLines.end();
    this.stopTimer();
    this.wake();
    if (this.sent) this.finish(true);
  }

  /** The request's last STDIN record is written: the connection can carry another request once the reply ends. */
  requestSent(): void {
    this.sent = true;
    if (this.ended) this.finish(true);
  }

  /** The exchange cannot go on: the head (if still awaited) and the body reject with this. */
  fail(status: 502 | 503 | 504, message: string): void {
    if (this.done) return;
    this.failure = new FastCgiGatewayError(status, message);
    this.stderrLines.end();
    this.stopTimer();
    this.headWaiter.reject(this.failure);
    this.wake();
    this.finish(false);
  }

  /** The consumer stopped before the end: nothing more is wanted, the connection is spent. */
  abandon(): void {
    this.fail(502, 'abandoned by the client');
  }

  next(): Promise<IteratorResult<Buffer, undefined>> {
    const chunk = this.queue.shift();
    if (chunk) {
      this.queued -= chunk.length;
      if (this.paused && this.queued < this.bufferLimit / 4) {
        this.paused = false;
        this.activity();
        this.flow.release();
      }
      return Promise.resolve({ done: false, value: chunk });
    }
    if (this.ended) return Promise.resolve({ done: true, value: undefined });
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.bodyWaiter = { resolve, reject };
    });
  }

  private enqueue(chunk: Buffer): void {
    const waiter = this.bodyWaiter;
    if (waiter) {
      this.bodyWaiter = undefined;
      waiter.resolve({ done: false, value: chunk });
      return;
    }
    this.queue.push(chunk);
    this.queued += chunk.length;
    if (!this.paused && this.queued >= this.bufferLimit) {
      this.paused = true;
      this.flow.hold();
    }
  }

  private answered(): void {
    const callback = this.onAnswered;
    this.onAnswered = undefined;
    callback?.();
  }

  private wake(): void {
    const waiter = this.bodyWaiter;
    if (!waiter || this.queue.length > 0) return;
    this.bodyWaiter = undefined;
    if (this.ended) waiter.resolve({ done: true, value: undefined });
    else if (this.failure) waiter.reject(this.failure);
  }

  private activity(): void {
    if (!this.receivedAny) this.answered();
    this.receivedAny = true;
    this.lastActivity = Date.now();
  }

  // One timer per request, moved on only when it fires: re-arming it on every record would cost more than the records.
  private armReadTimer(delay: number): void {
    this.readTimer = setTimeout(() => {
      if (this.done) return;
      if (this.paused) {
        this.lastActivity = Date.now();
        this.armReadTimer(this.readTimeout);
        return;
      }
      const idle = Date.now() - this.lastActivity;
      if (idle >= this.readTimeout) this.fail(504, `no reply from the responder for ${this.readTimeout} ms`);
      else this.armReadTimer(this.readTimeout - idle);
    }, delay);
    this.readTimer.unref();
  }

  private stopTimer(): void {
    if (this.readTimer) clearTimeout(this.readTimer);
    this.readTimer = undefined;
  }
}
