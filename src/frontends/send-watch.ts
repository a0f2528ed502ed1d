/**
 * The send timeout: a connection whose peer stopped taking the bytes waiting for it is cut.
 * It measures progress, not total time, so a long poll or an event stream that is idle, or a
 * slow client that keeps reading, is never cut.
 */
import type { Socket } from 'node:net';

const WATCH = Symbol('tsgi.sendWatch');

/**
 * How often a watched socket is looked at. Progress is seen only when looked for, so the cut
 * can come this much after the timeout past the last progress: a fixed bound, whatever the
 * timeout (a quarter of it, as before, let a 60 s timeout cut 15 s late, and a check came
 * only every quarter, so up to 30 s late).
 */
export const SEND_CHECK_MS = 250;

/**
 * Progress is a write the socket completed: node tells no finer than that, so a client must
 * take one whole chunk of the app's within the timeout. The socket is looked at every
 * SEND_CHECK_MS (more often for a timeout under a second), and at the very moment the
 * timeout since the last progress seen runs out.
 */
class SendWatch {
  private timer: NodeJS.Timeout | undefined;
  private flushed = 0;
  private lastProgress = 0;
  private readonly interval: number;

  constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    this.interval = Math.max(10, Math.min(SEND_CHECK_MS, Math.floor(timeoutMs / 4)));
    // The timer holds the socket, and with it the response bytes it buffers: a client that
    // goes away must not leave them pinned until the next check.
    socket.once('close', () => this.disarm());
  }

  arm(): void {
    if (this.timer || this.socket.destroyed) return;
    this.flushed = sentBytes(this.socket);
    this.lastProgress = Date.now();
    this.schedule(this.lastProgress);
  }

  private schedule(now: number): void {
    this.timer = setTimeout(this.check, Math.max(0, Math.min(this.interval, this.lastProgress + this.timeoutMs - now)));
    this.timer.unref();
  }

  private readonly check = (): void => {
    this.timer = undefined;
    const socket = this.socket;
    if (socket.destroyed || socket.writableLength === 0) return;
    const flushed = sentBytes(socket);
    const now = Date.now();
    if (flushed !== this.flushed) {
      this.flushed = flushed;
      this.lastProgress = now;
    } else if (now - this.lastProgress >= this.timeoutMs) {
      socket.destroy();
      return;
    }
    this.schedule(now);
  };

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Bytes the socket has finished writing: those handed to it, less those still waiting. */
function sentBytes(socket: Socket): number {
  return socket.bytesWritten - socket.writableLength;
}

/**
 * Call after every write to `socket` (and after its end): once bytes are left waiting, the
 * socket is destroyed when no write completes for `timeoutMs`. Not only when a write returned
 * false: a slow stream's small write can wait behind full socket buffers for minutes before
 * the next one fills node's buffer. Does nothing while nothing waits, or while watched already.
 * A timeout of 0 or Infinity turns the watch off.
 */
export function watchSend(socket: Socket | null, timeoutMs: number): void {
  if (!socket || !(timeoutMs > 0 && timeoutMs < Infinity)) return;
  if (socket.writableLength === 0) return;
  const holder = socket as Socket & { [WATCH]?: SendWatch };
  (holder[WATCH] ??= new SendWatch(socket, timeoutMs)).arm();
}
