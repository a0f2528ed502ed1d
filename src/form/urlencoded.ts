/**
 * application/x-www-form-urlencoded and query strings: Python's `urllib.parse.parse_qsl` /
 * `parse_qs` semantics, plus a push parser for bodies that arrive in chunks.
 */
import { checkEncoding, decodeBytes, reprString, type DecodeErrors } from './charset.js';
import { FormError } from './errors.js';

export interface UrlencodedOptions {
  /** Keep `a=` and `a` (as `''`) instead of dropping them. Default false. */
  keepBlankValues?: boolean;
  /** Throw on a field without `=` (or an empty one); the error names the field. Default false. */
  strictParsing?: boolean;
  /** Charset of the percent-encoded bytes (and of the body). Default 'utf-8'. */
  encoding?: string;
  /** 'replace' (default) puts U+FFFD for bad bytes; 'strict' throws. */
  errors?: DecodeErrors;
  /** More fields than this (counting empty ones, as Python does) throws. Default: no limit. */
  maxNumFields?: number;
  /** What separates fields. Default '&' alone: ';' does not split (CVE-2021-23336). */
  separator?: string;
}

function checkSeparator(separator: string): void {
  if (typeof separator !== 'string' || separator.length === 0) {
    throw new TypeError('separator must be a non-empty string');
  }
}

/** Decodes `%XX` sequences; malformed ones stay as they are (Python's `unquote`). */
export function unquote(text: string, encoding = 'utf-8', errors: DecodeErrors = 'replace'): string {
  if (!text.includes('%')) return text;
  if (errors === 'replace' && (encoding === 'utf-8' || encoding === 'utf8')) {
    try {
      return decodeURIComponent(text);
    } catch {
      // malformed escapes or invalid UTF-8: take the careful path
    }
  }
  let out = '';
  let bytes: number[] = [];
  const flush = (): void => {
    if (bytes.length) out += decodeBytes(Uint8Array.from(bytes), encoding, errors);
    bytes = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && i + 2 < text.length && isHexDigit(text.charCodeAt(i + 1)) && isHexDigit(text.charCodeAt(i + 2))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      flush();
      out += text[i];
    }
  }
  flush();
  return out;
}

/** `unquote` after turning `+` into a space. */
export function unquotePlus(text: string, encoding = 'utf-8', errors: DecodeErrors = 'replace'): string {
  return unquote(text.includes('+') ? text.replaceAll('+', ' ') : text, encoding, errors);
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/**
 * Turns one `name=value` piece into a pair, or null when it is dropped (blank, or no `=` and
 * blank values are not kept). Shared by the string and the streaming parsers.
 */
function parsePiece(piece: string, options: UrlencodedOptions): [string, string] | null {
  if (piece.length === 0 && !options.strictParsing) return null;
  const eq = piece.indexOf('=');
  let rawName: string;
  let rawValue: string;
  if (eq < 0) {
    if (options.strictParsing) throw new FormError('BAD_FIELD', `bad query field: ${reprString(piece)}`);
    if (!options.keepBlankValues) return null;
    rawName = piece;
    rawValue = '';
  } else {
    rawName = piece.slice(0, eq);
    rawValue = piece.slice(eq + 1);
  }
  if (rawValue.length === 0 && !options.keepBlankValues) return null;
  const encoding = options.encoding ?? 'utf-8';
  const errors = options.errors ?? 'replace';
  return [unquotePlus(rawName, encoding, errors), unquotePlus(rawValue, encoding, errors)];
}

/** Parses a query string into ordered `[name, value]` pairs (Python's `parse_qsl`). */
export function parseQsl(qs: string, options: UrlencodedOptions = {}): [string, string][] {
  const separator = options.separator ?? '&';
  checkSeparator(separator);
  if (options.encoding) checkEncoding(options.encoding);
  const pairs: [string, string][] = [];
  if (qs.length === 0) return pairs;
  const max = options.maxNumFields;
  if (max !== undefined && max !== null) {
    let count = 1;
    for (let at = qs.indexOf(separator); at >= 0; at = qs.indexOf(separator, at + separator.length)) count++;
    if (count > max) throw new FormError('TOO_MANY_FIELDS', 'Max number of fields exceeded');
  }
  let start = 0;
  for (;;) {
    const end = qs.indexOf(separator, start);
    const pair = parsePiece(end < 0 ? qs.slice(start) : qs.slice(start, end), options);
    if (pair) pairs.push(pair);
    if (end < 0) break;
    start = end + separator.length;
  }
  return pairs;
}

/** Parses a query string into a name → values record (Python's `parse_qs`). */
export function parseQs(qs: string, options: UrlencodedOptions = {}): Record<string, string[]> {
  return groupPairs(parseQsl(qs, options));
}

/** Groups pairs by name, keeping the order of values. The record has no prototype. */
export function groupPairs<V>(pairs: Iterable<[string, V]>): Record<string, V[]> {
  const record: Record<string, V[]> = Object.create(null);
  for (const [name, value] of pairs) (record[name] ??= []).push(value);
  return record;
}

export interface UrlencodedParserOptions extends UrlencodedOptions {
  /** Largest single `name=value` piece in bytes, encoded. Default 1 MiB. */
  maxFieldSize?: number;
  /** Largest body in bytes. Default 16 MiB. */
  maxBodySize?: number;
}

/**
 * A push parser for urlencoded bodies: feed bytes with `write()`, then `end()`. Each field is
 * handed to `onField` as soon as its separator arrives, so memory holds one field at a time.
 * Gives the same pairs as decoding the body and calling `parseQsl` on it.
 */
export class UrlencodedParser {
  readonly #onField: (name: string, value: string) => void;
  readonly #options: UrlencodedOptions;
  readonly #separator: Buffer;
  readonly #maxNumFields: number;
  readonly #maxFieldSize: number;
  readonly #maxBodySize: number;
  #pending: Buffer | null = null;
  #pieces = 0;
  #bytes = 0;
  #ended = false;

  constructor(onField: (name: string, value: string) => void, options: UrlencodedParserOptions = {}) {
    const separator = options.separator ?? '&';
    checkSeparator(separator);
    if (options.encoding) checkEncoding(options.encoding);
    this.#onField = onField;
    this.#options = options;
    this.#separator = Buffer.from(separator, 'utf8');
    this.#maxNumFields = options.maxNumFields ?? Infinity;
    this.#maxFieldSize = options.maxFieldSize ?? 1024 * 1024;
    this.#maxBodySize = options.maxBodySize ?? 16 * 1024 * 1024;
  }

  /** Bytes received so far. */
  get bytesRead(): number {
    return this.#bytes;
  }

  write(chunk: Uint8Array): void {
    if (this.#ended) throw new Error('write after end');
    if (chunk.length === 0) return;
    this.#bytes += chunk.length;
    if (this.#bytes > this.#maxBodySize) {
      throw new FormError('BODY_TOO_LARGE', `urlencoded body larger than ${this.#maxBodySize} bytes (maxBodySize)`);
    }
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let searchFrom = 0;
    if (this.#pending) {
      searchFrom = Math.max(0, this.#pending.length - this.#separator.length + 1);
      buf = Buffer.concat([this.#pending, buf]);
      this.#pending = null;
    }
    let start = 0;
    for (let end = buf.indexOf(this.#separator, searchFrom); end >= 0; end = buf.indexOf(this.#separator, start)) {
      this.#piece(buf, start, end);
      start = end + this.#separator.length;
    }
    if (start < buf.length) {
      if (buf.length - start > this.#maxFieldSize) this.#tooLarge();
      this.#pending = Buffer.from(buf.subarray(start));
    } else {
      this.#pending = Buffer.alloc(0); // a separator ended the chunk: an (empty) piece follows
    }
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const rest = this.#pending;
    this.#pending = null;
    if (rest) this.#piece(rest, 0, rest.length);
  }

  #tooLarge(): never {
    throw new FormError('FIELD_TOO_LARGE', `urlencoded field larger than ${this.#maxFieldSize} bytes (maxFieldSize)`);
  }

  #piece(buf: Buffer, start: number, end: number): void {
    if (++this.#pieces > this.#maxNumFields) throw new FormError('TOO_MANY_FIELDS', 'Max number of fields exceeded');
    if (end - start > this.#maxFieldSize) this.#tooLarge();
    const text = decodeBytes(buf.subarray(start, end), this.#options.encoding, this.#options.errors);
    const pair = parsePiece(text, this.#options);
    if (pair) this.#onField(pair[0], pair[1]);
  }
}
