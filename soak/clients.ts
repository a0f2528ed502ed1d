/** Small HTTP clients the scenarios share: a warm-up burst, and connections that stop reading. */
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';

/** Keep-alive GETs of `url` from `connections` loops for `ms`: JIT and first connections, before a measurement. */
export async function warmUp(url: string, ms: number, connections = 8): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const deadline = Date.now() + ms;
  const loop = async () => {
    while (Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        request(url, { agent }, (res) => {
          res.resume();
          res.once('end', resolve);
          res.once('error', () => resolve());
        }).once('error', () => resolve()).end();
      });
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  agent.destroy();
}

/**
 * Connections that send GET `path`, take the first bytes of the answer and then stop reading
 * (the socket paused, so the kernel's buffers fill and the server's writes back up).
 */
export class StalledReaders {
  readonly sockets: Socket[] = [];
  /** Connections that got their first bytes and then paused. */
  stalled = 0;
  /** When each stalled (ms since the epoch), in order. */
  readonly stalledAt: number[] = [];
  /** Connections closed by the other end (seen only once they read again; counted at the end). */
  errors = 0;

  constructor(private readonly port: number, private readonly path: string) {}

  /** Opens `count` connections, `batch` at a time; resolves once all have stalled or `limitMs` passed. */
  async open(count: number, limitMs: number, batch = 100): Promise<void> {
    const deadline = Date.now() + limitMs;
    for (let i = 0; i < count; i += batch) {
      for (let j = i; j < Math.min(count, i + batch); j++) this.#add();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    while (this.stalled < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  #add(): void {
    const socket = connect(this.port, '127.0.0.1');
    this.sockets.push(socket);
    socket.on('error', () => this.errors++);
    socket.once('connect', () => socket.write(`GET ${this.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
    socket.once('data', () => {
      socket.pause();
      this.stalled++;
      this.stalledAt.push(Date.now());
    });
  }

  close(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.length = 0;
  }
}

/** One request on a connection of its own that closes after it (so no keep-alive socket stays in a baseline). */
export function requestOnce(url: string, method = 'GET', body?: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, headers: { Connection: 'close', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end(body);
  });
}
