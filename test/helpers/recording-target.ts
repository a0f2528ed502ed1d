/** A ResponseTarget that records what the engine asked of it, for engine-level tests. */
import type { ClientState, ResponseTarget } from '../../src/handler.js';
import type { HeaderList } from '../../src/types.js';

export class RecordingTarget implements ResponseTarget, ClientState {
  head: { status: number; reason: string; headers: HeaderList } | undefined;
  chunks: Buffer[] = [];
  ended = false;
  aborted: unknown = undefined;
  events: string[] = [];
  gone = false;
  private listeners: (() => void)[] = [];

  sendHead(status: number, reason: string, headers: HeaderList): void {
    if (this.head) throw new Error('sendHead called twice');
    this.head = { status, reason, headers };
    this.events.push('head');
  }
  write(chunk: Uint8Array): void {
    this.chunks.push(Buffer.from(chunk));
    this.events.push('write');
  }
  end(last?: Uint8Array): void {
    if (last) this.chunks.push(Buffer.from(last));
    this.ended = true;
    this.events.push('end');
  }
  abort(error: unknown): void {
    this.aborted = error;
    this.events.push('abort');
  }
  onGone(listener: () => void): void {
    this.listeners.push(listener);
  }
  leave(): void {
    this.gone = true;
    for (const listener of this.listeners) listener();
  }
  header(name: string): string | undefined {
    return this.head?.headers.find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
  }
  get body(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** An error stream that keeps what was written. */
export function collectingErrors(): { write(text: string): void; text: () => string } {
  const lines: string[] = [];
  return { write: (text: string) => void lines.push(text), text: () => lines.join('') };
}
