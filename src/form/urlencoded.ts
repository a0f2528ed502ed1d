/**
 * application/x-www-form-urlencoded and query strings: Python's `urllib.parse.parse_qsl` /
 * `parse_qs` semantics, plus a push parser for bodies that arrive in chunks.
 */
import { checkEncoding, decoderFor, type Decoder, type DecodeErrors } from './charset.js';
import { reprString } from './repr.js';
import { FormError } from './errors.js';
import { newRecord } from './header.js';

export interface UrlencodedOptions {
  /** Keep `a=` and `a` (as `''`) instead of dropping them. Default false. */
  keepBlankValues?: boolean;
  /** Throw on a field without `=` (or an empty one); the error names the field. Default false. */
  strictParsing?: boolean;
  /** Charset of the percent-encoded bytes (and of the body). Default 'utf-8'. */
  encoding?: string;
  /** 'replace' (default), 'strict' (throws BAD_ENCODING), 'ignore' or 'surrogateescape', as in Python. */
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

/**
 * Decodes `%XX` sequences; malformed ones stay as they are (Python's `unquote`). As in Python,
 * each run of ASCII characters is turned into bytes and decoded as a whole; other characters
 * pass through.
 */
export function unquote(text: string, encoding = 'utf-8', errors: DecodeErrors = 'replace'): string {
  if (!text.includes('%')) return text;
  if (errors === 'replace' && (encoding === 'utf-8' || encoding === 'utf8')) {
    try {
      return decodeURIComponent(text);
    } catch {
      // malformed escapes or invalid UTF-8: take the careful path
    }
  }
  const decoder = decoderFor(encoding, errors);
  let out = '';
  let run = ''; // the current ASCII run, escapes resolved, one character per byte
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && i + 2 < text.length && isHexDigit(text.charCodeAt(i + 1)) && isHexDigit(text.charCodeAt(i + 2))) {
      run += String.fromCharCode(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) {
      run += text[i];
    } else {
      if (run) out += decoder.decode(Buffer.from(run, 'latin1'));
      run = '';
      out += text[i];
    }
  }
  if (run) out += decoder.decode(Buffer.from(run, 'latin1'));
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
  checkEncoding(options.encoding, options.errors);
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
  const record = newRecord<V[]>();
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
 * Gives the same pairs as decoding the body and calling `parseQsl` on it, as Python does.
 */
export class UrlencodedParser {
  readonly #onField: (name: string, value: string) => void;
  readonly #options: UrlencodedOptions;
  readonly #decoder: Decoder;
  /**
   * The separator's bytes, or null when the charset does not allow splitting bytes at it
   * (utf-16, iso-2022-jp, or a separator that is not ASCII): then the body is decoded whole.
   */
  readonly #separator: Buffer | null;
  readonly #separatorText: string;
  readonly #maxNumFields: number;
  readonly #maxFieldSize: number;
  readonly #maxBodySize: number;
  /** Bytes after the last separator, kept as received: joined once, when a separator comes. */
  #pending: Buffer[] = [];
  #pendingLength = 0;
  #pieces = 0;
  #sawSeparator = false;
  #bytes = 0;
  #ended = false;

  constructor(onField: (name: string, value: string) => void, options: UrlencodedParserOptions = {}) {
    const separator = options.separator ?? '&';
    checkSeparator(separator);
    this.#decoder = decoderFor(options.encoding, options.errors);
    this.#onField = onField;
    this.#options = options;
    this.#separator = this.#decoder.separatorBytes(separator);
    this.#separatorText = separator;
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
    const separator = this.#separator;
    if (separator === null) {
      this.#pending.push(Buffer.from(buf)); // split after decoding, at end()
      this.#pendingLength += buf.length;
      return;
    }
    if (this.#pendingLength > 0 && !this.#completesField(buf, separator)) {
      // Joining the held bytes on every write would make a long field in small chunks quadratic.
      this.#hold(buf);
      return;
    }
    if (this.#pendingLength > 0) {
      buf = Buffer.concat([...this.#pending, buf]);
      this.#pending = [];
      this.#pendingLength = 0;
    }
    // Decode everything up to the last separator at once: no character's bytes contain the
    // separator (separatorBytes says so), and one decode is much cheaper than one per field.
    const last = buf.lastIndexOf(separator);
    if (last < 0) {
      this.#hold(buf);
      return;
    }
    if (last > this.#maxFieldSize) this.#checkFieldSizes(buf, last, separator);
    this.#split(this.#decoder.decode(buf, 0, last));
    this.#hold(buf.subarray(last + separator.length));
    this.#sawSeparator = true; // a field follows the separator, possibly an empty one
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#pendingLength === 0 && !this.#sawSeparator) return;
    const rest = Buffer.concat(this.#pending);
    this.#pending = [];
    this.#pendingLength = 0;
    const text = this.#decoder.decode(rest, 0, rest.length);
    if (this.#separator === null) this.#split(text, true);
    else this.#piece(text);
  }

  /** Hands on the fields of `text`, which holds whole fields only. */
  #split(text: string, countUnits = false): void {
    const separator = this.#separatorText;
    let start = 0;
    for (;;) {
      const end = text.indexOf(separator, start);
      const piece = end < 0 ? text.slice(start) : text.slice(start, end);
      // Decoded whole, a field's bytes are not known: its UTF-16 units (never more than its
      // bytes in the charsets that come here) stand in for them.
      if (countUnits && piece.length > this.#maxFieldSize) this.#tooLarge();
      this.#piece(piece);
      if (end < 0) break;
      start = end + separator.length;
    }
  }

  /** Throws when a field in `buf[0..last)` is larger than maxFieldSize bytes. */
  #checkFieldSizes(buf: Buffer, last: number, separator: Buffer): void {
    let start = 0;
    for (;;) {
      const at = buf.indexOf(separator, start);
      const end = at < 0 || at > last ? last : at;
      if (end - start > this.#maxFieldSize) this.#tooLarge();
      if (end >= last) return;
      start = end + separator.length;
    }
  }

  /** Keeps a copy of `buf` (the caller may reuse its chunk) after the held bytes. */
  #hold(buf: Buffer): void {
    if (this.#pendingLength + buf.length > this.#maxFieldSize) this.#tooLarge();
    if (buf.length === 0) return;
    this.#pending.push(Buffer.from(buf));
    this.#pendingLength += buf.length;
  }

  /** Whether a separator ends in `buf`, counting one that starts in the held bytes. */
  #completesField(buf: Buffer, separator: Buffer): boolean {
    if (buf.indexOf(separator) >= 0) return true;
    if (separator.length === 1) return false;
    const overlap = separator.length - 1;
    const tail: Buffer[] = [];
    let have = 0;
    for (let i = this.#pending.length - 1; i >= 0 && have < overlap; i--) {
      tail.unshift(this.#pending[i]!);
      have += this.#pending[i]!.length;
    }
    const joined = Buffer.concat(tail);
    const probe = Buffer.concat([joined.subarray(Math.max(0, joined.length - overlap)), buf.subarray(0, overlap)]);
    return probe.indexOf(separator) >= 0;
  }

  #tooLarge(): never {
    throw new FormError('FIELD_TOO_LARGE', `urlencoded field larger than ${this.#maxFieldSize} bytes (maxFieldSize)`);
  }

  #piece(piece: string): void {
    if (++this.#pieces > this.#maxNumFields) throw new FormError('TOO_MANY_FIELDS', 'Max number of fields exceeded');
    const pair = parsePiece(piece, this.#options);
    if (pair) this.#onField(pair[0], pair[1]);
  }
}
