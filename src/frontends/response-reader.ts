/**
 * Reads back an HTTP/1.1 response as node:http's ServerResponse writes it: skips interim
 * (1xx) heads, parses the final head, then removes chunked framing from the body.
 * Push parser: `feed(bytes)` returns the body bytes that chunk completed.
 */
import type { HeaderList } from '../types.js';

export interface ResponseHead {
  status: number;
  reason: string;
  headers: HeaderList;
}

type State = 'head' | 'size' | 'data' | 'data-end' | 'trailers' | 'raw' | 'done';

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

export class ResponseReader {
  private state: State = 'head';
  private pending: Buffer = EMPTY;
  private remaining = 0;

  feed(chunk: Buffer, onHead: (head: ResponseHead) => void): Uint8Array[] {
    const out: Uint8Array[] = [];
    const buffer = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = EMPTY;
    let position = 0;
    while (position < buffer.length) {
      if (this.state === 'raw') {
        out.push(buffer.subarray(position));
        return out;
      }
      if (this.state === 'data') {
        const take = Math.min(this.remaining, buffer.length - position);
        out.push(buffer.subarray(position, position + take));
        position += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'data-end';
        continue;
      }
      if (this.state === 'done') throw new Error('the listener wrote bytes after the end of its response');
      const terminator = this.state === 'head' ? HEAD_END : CRLF;
      const end = buffer.indexOf(terminator, position);
      if (end < 0) {
        this.pending = Buffer.from(buffer.subarray(position));
        return out;
      }
      const text = buffer.toString('latin1', position, end);
      position = end + terminator.length;
      this.line(text, onHead);
    }
    return out;
  }

  private line(text: string, onHead: (head: ResponseHead) => void): void {
    switch (this.state) {
      case 'head': {
        const head = parseHead(text);
        if (head.status < 200) return;
        onHead(head);
        const chunked = head.headers.some(([name, value]) => name.toLowerCase() === 'transfer-encoding' && /chunked/i.test(value));
        this.state = chunked ? 'size' : 'raw';
        return;
      }
      case 'size': {
        const size = parseInt(text.split(';', 1)[0]!.trim(), 16);
        if (!Number.isFinite(size) || size < 0) throw new Error(`the response has a bad chunk size line ${JSON.stringify(text)}`);
        this.remaining = size;
        this.state = size === 0 ? 'trailers' : 'data';
        return;
      }
      case 'data-end':
        if (text !== '') throw new Error('a response chunk did not end with CRLF');
        this.state = 'size';
        return;
      case 'trailers':
        // Trailer fields have no place in a TSGI response; the blank line ends the message.
        if (text === '') this.state = 'done';
        return;
      default:
        throw new Error(`unexpected response line in state ${this.state}`);
    }
  }
}

function parseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const match = /^HTTP\/\d\.\d (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (!match) throw new Error(`the response does not start with a status line: ${JSON.stringify(lines[0])}`);
  const headers: HeaderList = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`the response has a malformed header line ${JSON.stringify(line)}`);
    headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  return { status: Number(match[1]), reason: match[2] || 'Unknown', headers };
}
