/**
 * The send timeout: a connection whose peer stopped taking the bytes waiting for it is cut.
 * It measures progress, not total time, so a long poll or an event stream that is idle, or a
 * slow client that keeps reading, is never cut.
 */
import type { Socket } from 'node:net';

const WATCH = Symbol('tsgi.sendWatch');

/**
 * Progress is a write the socket completed: node tells no finer than that, so a client must
 * take one whole chunk of the app's within the timeout.
 */
class SendWatch {
  private timer: NodeJS.Timeout | undefined;
  private flushed = 0;
  private lastProgress = 0;

  constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    // The timer holds the socket, and with it the response bytes it buffers: a client that
    // goes away must not leave them pinned until the next check, a quarter-timeout later.
    socket.once('close', () => this.disarm());
  }

  arm(): void {
    if (this.timer || this.socket.destroyed) return;
    this.flushed = sentBytes(this.socket);
    this.lastProgress = Date.now();
    // Checked a few times per period: the cut comes at most a quarter of the timeout late.
    this.timer = setInterval(this.check, Math.max(10, Math.floor(this.timeoutMs / 4)));
    this.timer.unref();
  }

  private readonly check = (): void => {
    const socket = this.socket;
    if (socket.destroyed || socket.writableLength === 0) return this.disarm();
    const flushed = sentBytes(socket);
    const now = Date.now();
    if (flushed !== this.flushed) {
      this.flushed = flushed;
      this.lastProgress = now;
    } else if (now - this.lastProgress >= this.timeoutMs) {
      this.disarm();
      socket.destroy();
    }
  };

  private disarm(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Bytes the socket has finished writing: those handed to it, less those still waiting. */
function sentBytes(socket: Socket): number {
  return socket.bytesWritten - socket.writableLength;
}

/**
 * Call when bytes were left waiting on `socket` (a write returned false, or a response ended
 * with data still buffered): destroys the socket once no write completes for `timeoutMs`.
 * A timeout of 0 or Infinity turns the watch off.
 */
export function watchSend(socket: Socket | null, timeoutMs: number): void {
  if (!socket || !(timeoutMs > 0 && timeoutMs < Infinity)) return;
  if (socket.writableLength === 0) return;
  const holder = socket as Socket & { [WATCH]?: SendWatch };
  (holder[WATCH] ??= new SendWatch(socket, timeoutMs)).arm();
}
