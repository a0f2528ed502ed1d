/** tsgi.errors for a test request: kept, so a test can read what the app and the engine logged. */
import type { ErrorStream } from '../types.js';

export class ErrorLog implements ErrorStream {
  #text = '';

  /** `forward`, when given, gets every write too (process.stderr, say, while debugging a test). */
  constructor(private readonly forward?: ErrorStream) {}

  write(text: string): void {
    this.#text += text;
    this.forward?.write(text);
  }

  flush(): void {
    this.forward?.flush?.();
  }

  get text(): string {
    return this.#text;
  }
}
