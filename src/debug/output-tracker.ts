/**
 * Watches what a CGI script writes to stdout, so a crash report can pick up where the
 * output stopped: before anything, inside the header block, or in the body.
 */

export type OutputPhase = 'nothing' | 'headers' | 'body';

const HEAD_LIMIT = 64 * 1024;

export class OutputTracker {
  phase: OutputPhase = 'nothing';
  /** Lower-cased names of the headers written so far. */
  readonly headerNames = new Set<string>();
  /** The Content-Type the script sent, if any. */
  contentType: string | undefined;
  private head = '';

  /** Feeds bytes or text that went to stdout. */
  observe(chunk: unknown, encoding?: BufferEncoding): void {
    if (this.phase === 'body') return;
    let text: string;
    if (typeof chunk === 'string') text = encoding && encoding !== 'utf8' && encoding !== 'utf-8' ? Buffer.from(chunk, encoding).toString('latin1') : chunk;
    else if (chunk instanceof Uint8Array) text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).toString('latin1');
    else return;
    if (text.length === 0) return;
    this.phase = 'headers';
    this.head += text;
    const end = /(?:^|\n)\r?\n/.exec(this.head);
    if (end) {
      this.readHeaders(this.head.slice(0, end.index));
      this.head = '';
      this.phase = 'body';
    } else if (this.head.length > HEAD_LIMIT) {
      // No header block is this long: treat it as body rather than buffer without bound.
      this.readHeaders(this.head);
      this.head = '';
      this.phase = 'body';
    }
  }

  private readHeaders(block: string): void {
    for (const line of block.split(/\r?\n/)) this.noteHeaderLine(line);
  }

  private noteHeaderLine(line: string): void {
    const colon = line.indexOf(':');
    if (colon <= 0) return;
    const name = line.slice(0, colon).trim().toLowerCase();
    this.headerNames.add(name);
    if (name === 'content-type') this.contentType = line.slice(colon + 1).trim();
  }

  /**
   * What to write so that the header block, as far as it got, ends cleanly with the
   * headers a report needs. Only valid in the 'nothing' and 'headers' phases.
   */
  closingHeaders(contentType: string): string {
    let out = '';
    if (this.phase === 'headers') {
      const lastNewline = this.head.lastIndexOf('\n');
      const partial = this.head.slice(lastNewline + 1);
      // Complete lines were already noted by nobody: note them now.
      this.readHeaders(this.head.slice(0, lastNewline + 1));
      // A line whose CR already went out only needs its LF.
      if (partial.endsWith('\r')) out += '\n';
      else if (partial.length > 0) {
        // A line cut off mid-way. Servers (Apache, nginx) reject a header line without a colon,
        // which would hide the report behind a bare 500, so the line gets one.
        out += partial.includes(':') ? '\r\n' : ': (line cut short by an error)\r\n';
        this.noteHeaderLine(partial.includes(':') ? partial : partial + ':');
      }
    }
    if (!this.headerNames.has('status') && !this.headerNames.has('location')) out += 'Status: 500 Internal Server Error\r\n';
    if (!this.headerNames.has('content-type')) {
      out += `Content-Type: ${contentType}\r\n`;
      this.contentType = contentType;
    }
    this.phase = 'body';
    this.head = '';
    return out + '\r\n';
  }
}
