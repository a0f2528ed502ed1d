/**
 * Conditional and partial GETs for static files (RFC 9110 §13, §14): the ETag a file gets,
 * If-None-Match, If-Range, and a single `Range: bytes=...`. Several ranges in one request are
 * answered with the whole file (which RFC 9110 allows), not multipart/byteranges.
 */
import type { Stats } from 'node:fs';
import { createReadStream } from 'node:fs';

/** A strong validator from size and modification time, as nginx builds it. */
export function entityTag(info: Stats): string {
  return `"${Math.floor(info.mtimeMs).toString(16)}-${info.size.toString(16)}"`;
}

/** If-None-Match against `tag`, with the weak comparison §13.1.2 asks for; `*` matches any file. */
export function noneMatchHits(header: string, tag: string): boolean {
  const opaque = (value: string) => value.trim().replace(/^W\//, '');
  return header.split(',').some((candidate) => candidate.trim() === '*' || opaque(candidate) === opaque(tag));
}

export interface ByteRange {
  start: number;
  /** Inclusive, as Content-Range writes it. */
  end: number;
}

/**
 * The one range `header` asks for in a file of `size` bytes: a range, 'unsatisfiable' (416),
 * or undefined when the header is to be ignored (not bytes, malformed, or several ranges).
 */
export function parseRange(header: string, size: number): ByteRange | 'unsatisfiable' | undefined {
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** If-Range: a range is served only while the file is still the one the client saw. */
export function ifRangeHolds(header: string | undefined, tag: string, lastModified: string): boolean {
  if (header === undefined) return true;
  const value = header.trim();
  // Only a strong tag or an exact date counts (§13.1.5).
  if (value.startsWith('"')) return value === tag;
  return value === lastModified;
}

/** The bytes of one range of a file, read as the body is iterated; close() stops the read. */
export class FileRange implements AsyncIterable<Uint8Array> {
  private stream: ReturnType<typeof createReadStream> | undefined;

  constructor(readonly file: string, readonly range: ByteRange) {}

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    this.stream = createReadStream(this.file, { start: this.range.start, end: this.range.end, highWaterMark: 64 * 1024 });
    return this.stream[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  }

  close(): void {
    this.stream?.destroy();
  }
}
