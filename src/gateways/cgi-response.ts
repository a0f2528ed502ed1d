/**
 * The CGI response format (RFC 3875 §6), shared by the CGI host and the FastCGI client (a
 * responder's STDOUT is a CGI response): a header block of lines ended by LF or CRLF, up to
 * the first empty line. Collects bytes until the block is complete, then classifies it.
 */
import type { HeaderList } from '../types.js';
import { isHopByHop } from '../util.js';
import { REASONS } from '../handler.js';

export const MAX_HEAD_BYTES = 64 * 1024;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
const STATUS = /^([1-9]\d\d)(?:[ \t]+(.*))?$/;

export class BadGateway extends Error {}

/** Accumulates stdout until the header block ends; returns the body bytes that followed it. */
export class HeadReader {
  private parts: Buffer[] = [];
  private size = 0;

  /** Feeds bytes; once the blank line is seen, returns the head as text, the bytes after it, and the head's raw bytes. */
  push(chunk: Buffer): [head: string, rest: Buffer, raw: Buffer] | undefined {
    this.parts.push(chunk);
    this.size += chunk.length;
    const all = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    this.parts = [all];
    const end = findHeadEnd(all);
    if (end) return [all.subarray(0, end[0]).toString('latin1'), all.subarray(end[1]), all.subarray(0, end[1])];
    if (this.size > MAX_HEAD_BYTES) throw new BadGateway(`header block longer than ${MAX_HEAD_BYTES} bytes`);
    return undefined;
  }
}

/** [end of the last header line, start of the body], or undefined while the blank line is missing. */
function findHeadEnd(bytes: Buffer): [number, number] | undefined {
  if (bytes[0] === 0x0a) return [0, 1];
  if (bytes[0] === 0x0d && bytes[1] === 0x0a) return [0, 2];
  let from = 0;
  for (;;) {
    const lf = bytes.indexOf(0x0a, from);
    if (lf < 0) return undefined;
    if (bytes[lf + 1] === 0x0a) return [lf, lf + 2];
    if (bytes[lf + 1] === 0x0d && bytes[lf + 2] === 0x0a) return [lf, lf + 3];
    if (bytes[lf + 1] === 0x0d && lf + 2 >= bytes.length) return undefined;
    from = lf + 1;
  }
}

export type CgiHead =
  | { kind: 'document'; status: string; headers: HeaderList; needsEmptyBody: boolean }
  | { kind: 'local-redirect'; location: string }
  | { kind: 'client-redirect'; status: string; headers: HeaderList };

export interface HeaderFields {
  /** Headers to forward, Location and Content-Type included, Status not. */
  headers: HeaderList;
  status?: string;
  location?: string;
  contentType?: string;
}

/**
 * Reads header lines. Lines the server cannot forward are skipped and reported through
 * `warn`, by name; a duplicated CGI field or a malformed Status throws BadGateway.
 */
export function parseHeaderLines(block: string, warn: (message: string) => void): HeaderFields {
  const fields: HeaderFields = { headers: [] };
  for (const raw of block.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      warn(`bogus header line ${JSON.stringify(line.slice(0, 80))} skipped (no "name:")`);
      continue;
    }
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (!TOKEN.test(name)) {
      warn(`header ${JSON.stringify(name.slice(0, 80))} skipped: not a valid field name`);
      continue;
    }
    if (BAD_VALUE.test(value)) {
      warn(`header ${name} skipped: control character in its value`);
      continue;
    }
    const lower = name.toLowerCase();
    const key = lower === 'status' ? 'status' : lower === 'location' ? 'location' : lower === 'content-type' ? 'contentType' : undefined;
    if (key && fields[key] !== undefined) throw new BadGateway(`${name} header given twice`);
    if (key === 'status') {
      const match = STATUS.exec(value);
      if (!match) throw new BadGateway(`malformed Status header ${JSON.stringify(value.slice(0, 80))}`);
      const code = Number(match[1]);
      // A 1xx cannot end a response, and HTTP has no codes past 599.
      if (code < 200 || code > 599) throw new BadGateway(`Status ${code} cannot end a response`);
      fields.status = `${match[1]} ${match[2]?.trim() || reasonFor(code)}`;
      continue;
    }
    if (isHopByHop(name)) {
      warn(`header ${name} skipped: hop-by-hop headers are the server's business`);
      continue;
    }
    if (lower === 'content-length') {
      // Two lengths, or one that is not a number, would let the client and a proxy frame the response differently.
      if (!/^\d+$/.test(value)) throw new BadGateway(`malformed Content-Length ${JSON.stringify(value.slice(0, 80))}`);
      if (fields.headers.some(([other]) => other.toLowerCase() === 'content-length')) throw new BadGateway('Content-Length header given twice');
    }
    if (key) fields[key] = value;
    fields.headers.push([name, value]);
  }
  return fields;
}

/** Classifies a header block (RFC 3875 §6.2); a block that cannot form a response throws BadGateway. */
export function parseHead(head: string, warn: (message: string) => void): CgiHead {
  if (head.trim() === '') throw new BadGateway('empty header block (the output starts with a blank line)');
  const { headers, status, location, contentType } = parseHeaderLines(head, warn);
  if (location !== undefined && status === undefined) {
    if (location.startsWith('/') && !location.startsWith('//')) return { kind: 'local-redirect', location };
    return { kind: 'client-redirect', status: '302 Found', headers };
  }
  if (status === undefined && headers.length === 0) throw new BadGateway('no valid header lines');
  if (contentType === undefined) {
    if (status === undefined) throw new BadGateway('no Content-Type header (a document needs one; the server will not guess)');
    // A status-only response may omit the type, but then it must not have a body.
    return { kind: 'document', status, headers, needsEmptyBody: true };
  }
  return { kind: 'document', status: status ?? '200 OK', headers, needsEmptyBody: false };
}


function reasonFor(code: number): string {
  return REASONS[code] ?? 'Unknown';
}
