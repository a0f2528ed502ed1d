/**
 * Slowloris: connections that send their request headers one byte a second and never finish
 * them. One that the server cuts (a headers timeout) is opened again at once, as an attacker
 * would, so the count stays up for as long as the attack runs.
 */
import { connect, type Socket } from 'node:net';

const REQUEST_LINE = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n';
const FILLER = 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n';
/** The ticks of a second: each connection writes on one of them, so the bytes come spread out. */
const SLOTS = 10;

interface Slow {
  socket: Socket;
  sent: number;
  connected: boolean;
}

export class SlowClients {
  readonly #port: number;
  readonly #slots: Set<Slow>[] = Array.from({ length: SLOTS }, () => new Set());
  #timer: NodeJS.Timeout | undefined;
  #tick = 0;
  #running = true;
  /** Connections the server closed (and that were opened again). */
  reopened = 0;
  /** Connections that failed to connect. */
  failed = 0;

  constructor(port: number) {
    this.#port = port;
  }

  /** Opens `count` connections, `batch` at a time, and resolves once they are all connected. */
  async open(count: number, batch = 100): Promise<void> {
    this.#timer ??= setInterval(() => this.#write(), 1000 / SLOTS);
    for (let i = 0; i < count; i += batch) {
      for (let j = i; j < Math.min(count, i + batch); j++) this.#add(j % SLOTS);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (let waited = 0; this.connected < count && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  /** Connections open now. */
  get connected(): number {
    let n = 0;
    for (const slot of this.#slots) for (const slow of slot) if (slow.connected) n++;
    return n;
  }

  close(): void {
    this.#running = false;
    clearInterval(this.#timer);
    for (const slot of this.#slots) {
      for (const slow of slot) slow.socket.destroy();
      slot.clear();
    }
  }

  #add(slotIndex: number): void {
    const slot = this.#slots[slotIndex]!;
    const socket = connect(this.#port, '127.0.0.1');
    const slow: Slow = { socket, sent: 0, connected: false };
    slot.add(slow);
    socket.setNoDelay(true);
    socket.on('connect', () => (slow.connected = true));
    socket.on('data', () => {}); // a 408, say: read and dropped
    socket.on('error', () => {
      if (!slow.connected) this.failed++;
    });
    socket.on('close', () => {
      slot.delete(slow);
      if (!this.#running) return;
      if (!slow.connected) {
        // Refused (a full backlog, say): try again later rather than in a tight loop.
        setTimeout(() => this.#running && this.#add(slotIndex), 1000);
        return;
      }
      this.reopened++;
      this.#add(slotIndex);
    });
  }

  #write(): void {
    const slot = this.#slots[this.#tick++ % SLOTS]!;
    for (const slow of slot) {
      if (!slow.connected || slow.socket.destroyed) continue;
      const text = slow.sent < REQUEST_LINE.length ? REQUEST_LINE : FILLER;
      const at = slow.sent < REQUEST_LINE.length ? slow.sent : (slow.sent - REQUEST_LINE.length) % FILLER.length;
      slow.socket.write(text[at]!);
      slow.sent++;
    }
  }
}
