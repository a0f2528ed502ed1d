/** Cuts a program's stderr into log lines: the CGI host and the FastCGI client both tag them with the script. */
import { StringDecoder } from 'node:string_decoder';

const MAX_LINE = 8 * 1024;

/** Cuts text into lines for `emit` (long lines into pieces, nothing is lost); `end()` emits what is left. */
export class LineSplitter {
  private pending = '';
  /** Made on first use: most scripts write nothing to stderr. */
  private decoder: StringDecoder | undefined;

  constructor(private readonly emit: (line: string) => void) {}

  push(chunk: Buffer): void {
    this.decoder ??= new StringDecoder('utf8');
    this.pending += this.decoder.write(chunk);
    let newline: number;
    while ((newline = this.pending.indexOf('\n')) >= 0) {
      this.emit(this.pending.slice(0, newline).replace(/\r$/, ''));
      this.pending = this.pending.slice(newline + 1);
    }
    while (this.pending.length > MAX_LINE) {
      this.emit(this.pending.slice(0, MAX_LINE));
      this.pending = this.pending.slice(MAX_LINE);
    }
  }

  end(): void {
    const rest = this.pending + (this.decoder?.end() ?? '');
    this.pending = '';
    if (rest) this.emit(rest);
  }
}
