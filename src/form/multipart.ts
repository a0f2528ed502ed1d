/**
 * A streaming multipart push parser: `write(chunk)` any split of the body, then `end()`.
 *
 * Delimiters follow Python's cgi module: a delimiter is a line `--boundary` (or `--boundary--`
 * for the last one) that may end in whitespace, preceded by CRLF or a bare LF that belongs to
 * the delimiter, not to the data. The search uses the native `Buffer.indexOf` on each chunk and
 * holds back at most one delimiter's length across a chunk split, so memory stays bounded
 * whatever the shape of the data (no newlines, CR/LF floods, tiny parts).
 */
import { decoderFor, type Decoder, type DecodeErrors } from './charset.js';
import { FormError } from './errors.js';
import { newRecord, parseHeader, type HeaderParams } from './header.js';

/** A part's header block, parsed. */
export interface PartInfo {
  /** Header values by lower-cased name; the first occurrence wins. */
  headers: Record<string, string>;
  /** Every header line in order, names as sent. */
  rawHeaders: [string, string][];
  /** `name` parameter of Content-Disposition, or null. */
  name: string | null;
  /** `filename` parameter of Content-Disposition (RFC 5987 `filename*` wins), or null. */
  filename: string | null;
  /** Content-Disposition value without parameters ('' when absent). */
  disposition: string;
  dispositionOptions: HeaderParams;
  /** Content-Type without parameters; 'text/plain' when absent or empty. */
  type: string;
  typeOptions: HeaderParams;
}

export interface MultipartHandlers {
  /** A part's headers are complete. */
  onPartBegin?(part: PartInfo): void;
  /**
   * Body bytes of the current part: a view that is only valid during the call. `last` is true
   * when the part's delimiter follows, so a part that arrives whole in one call can be decoded
   * without a copy.
   */
  onPartData?(data: Buffer, last: boolean): void;
  /**
   * The current part ended: complete is false when the body stopped inside it. During the call
   * `done` is already 1 when this part was the last one.
   */
  onPartEnd?(complete: boolean): void;
}

export interface MultipartLimits {
  /** Most parts allowed (nested parsers count their own). Default 1000. */
  maxParts?: number;
  /** Largest header block of one part, in bytes. Default 16 KiB. */
  maxHeaderSize?: number;
  /** Largest part without a file name, in bytes. Default 1 MiB. */
  maxFieldSize?: number;
  /** Largest part with a file name, in bytes. Default: no limit. */
  maxFileSize?: number;
  /** Largest body, in bytes (preamble and epilogue included). Default: no limit. */
  maxBodySize?: number;
}

export interface MultipartOptions extends MultipartLimits {
  /** Charset of part headers. Default 'utf-8', so UTF-8 file names round-trip. */
  encoding?: string;
  /** Bytes of a header that are not in the charset: 'replace' (default), 'strict', 'ignore', 'surrogateescape'. */
  errors?: DecodeErrors;
}

/** Python's rule for a usable boundary: 1 to 201 printable ASCII characters, not ending in a space. */
export function validBoundary(boundary: string | Uint8Array): boolean {
  const text = typeof boundary === 'string' ? boundary : Buffer.from(boundary).toString('latin1');
  return /^[ -~]{0,200}[!-~]$/.test(text);
}

const enum State { Preamble, Headers, Body, Epilogue, Failed }

const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;
/** Whitespace Python's `bytes.rstrip()` removes from a delimiter line (LF ends the line). */
const isPad = (c: number): boolean => c === 0x20 || c === 0x09 || c === CR || c === 0x0b || c === 0x0c;
/** Longest run of padding after a boundary that is still taken for a delimiter. */
const MAX_PAD = 1024;

type Tail = { kind: 'next' | 'last'; end: number } | 'no' | 'more';

export class MultipartParser {
  readonly #handlers: MultipartHandlers;
  readonly #needle: Buffer;        // "\n--boundary"
  readonly #dashBoundary: Buffer;  // "--boundary"
  readonly #decoder: Decoder;
  readonly #maxParts: number;
  readonly #maxHeaderSize: number;
  readonly #maxFieldSize: number;
  readonly #maxFileSize: number;
  readonly #maxBodySize: number;

  #state = State.Preamble;
  /** Bytes held back from earlier writes, as received: joined once, when they can be parsed. */
  #pending: Buffer[] = [];
  #pendingLength = 0;
  /** A delimiter may start at the next byte without a line ending before it. */
  #atLineStart = true;
  #headerBytes = 0;
  #headerLines: string[] = [];
  #partLimit = Infinity;
  #partSize = 0;
  #partLimitName = '';
  #inPart = false;
  #parts = 0;
  #bytes = 0;
  #done: 0 | 1 | -1 = 0;
  #error: unknown = null;

  constructor(boundary: string | Uint8Array, handlers: MultipartHandlers, options: MultipartOptions = {}) {
    if (!validBoundary(boundary)) {
      const shown = typeof boundary === 'string' ? boundary : Buffer.from(boundary).toString('latin1');
      throw new FormError('BAD_BOUNDARY', `Invalid boundary in multipart form: ${JSON.stringify(shown)}`);
    }
    const b = typeof boundary === 'string' ? Buffer.from(boundary, 'latin1') : Buffer.from(boundary);
    this.#dashBoundary = Buffer.concat([Buffer.from('--'), b]);
    this.#needle = Buffer.concat([Buffer.from('\n'), this.#dashBoundary]);
    this.#handlers = handlers;
    this.#decoder = decoderFor(options.encoding, options.errors);
    this.#maxParts = options.maxParts ?? 1000;
    this.#maxHeaderSize = options.maxHeaderSize ?? 16 * 1024;
    this.#maxFieldSize = options.maxFieldSize ?? 1024 * 1024;
    this.#maxFileSize = options.maxFileSize ?? Infinity;
    this.#maxBodySize = options.maxBodySize ?? Infinity;
  }

  /** 1 after the closing delimiter, -1 when the body ended early, 0 while parsing. */
  get done(): 0 | 1 | -1 {
    return this.#done;
  }

  /** Bytes written so far. */
  get bytesRead(): number {
    return this.#bytes;
  }

  /** Parts whose headers were complete. */
  get partCount(): number {
    return this.#parts;
  }

  write(chunk: Uint8Array): void {
    if (this.#state === State.Failed) throw this.#error;
    if (this.#done !== 0) {
      if (this.#done === -1) throw new Error('write after end');
      this.#bytes += chunk.length; // epilogue
      this.#checkBodySize();
      return;
    }
    if (chunk.length === 0) return;
    this.#bytes += chunk.length;
    try {
      this.#checkBodySize();
      let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (this.#pendingLength > 0 && this.#state === State.Headers && buf.indexOf(LF) < 0) {
        // A header line still without its end: joining it on every write would be quadratic.
        if (this.#headerBytes + this.#pendingLength + buf.length > this.#maxHeaderSize) this.#headerTooLarge();
        this.#pending.push(Buffer.from(buf));
        this.#pendingLength += buf.length;
        return;
      }
      if (this.#pendingLength > 0) buf = Buffer.concat([...this.#takePending(), buf]);
      this.#run(buf, false);
    } catch (error) {
      this.#fail(error);
    }
  }

  /** The body is complete: resolves what was held back, ends an unfinished part with done -1. */
  end(): void {
    if (this.#state === State.Failed) throw this.#error;
    if (this.#done !== 0) return;
    try {
      this.#run(Buffer.concat(this.#takePending()), true);
      this.#finishAtEof();
    } catch (error) {
      this.#fail(error);
    }
  }

  #fail(error: unknown): never {
    this.#state = State.Failed;
    this.#error = error;
    this.#takePending();
    throw error;
  }

  #takePending(): Buffer[] {
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingLength = 0;
    return pending;
  }

  #headerTooLarge(): never {
    throw new FormError('HEADER_TOO_LARGE', `part header block larger than ${this.#maxHeaderSize} bytes (maxHeaderSize)`);
  }

  #checkBodySize(): void {
    if (this.#bytes > this.#maxBodySize) {
      throw new FormError('BODY_TOO_LARGE', `multipart body larger than ${this.#maxBodySize} bytes (maxBodySize)`);
    }
  }

  #run(buf: Buffer, eof: boolean): void {
    let p = 0;
    while (p < buf.length) {
      if (this.#state === State.Headers) {
        p = this.#headers(buf, p, eof);
        if (p < 0) return;
      } else if (this.#state === State.Body || this.#state === State.Preamble) {
        p = this.#scan(buf, p, eof);
        if (p < 0) return;
      } else {
        return; // epilogue: ignored
      }
    }
  }

  /** Keeps `buf[from..]` for the next write (copied: the caller may reuse its chunk). */
  #hold(buf: Buffer, from: number): number {
    if (from < buf.length) {
      this.#pending = [Buffer.from(buf.subarray(from))];
      this.#pendingLength = buf.length - from;
    }
    return -1;
  }

  /**
   * Scans preamble or part body from `p`. Returns where to continue (after a delimiter line),
   * or -1 when the rest of `buf` is consumed or held back.
   */
  #scan(buf: Buffer, p: number, eof: boolean): number {
    const needle = this.#needle;
    if (this.#atLineStart) {
      const db = this.#dashBoundary;
      const n = Math.min(db.length, buf.length - p);
      if (buf.compare(db, 0, n, p, p + n) === 0) {
        if (n < db.length) {
          if (!eof) return this.#hold(buf, p);
        } else {
          const tail = this.#tail(buf, p + db.length, eof);
          if (tail === 'more') return this.#hold(buf, p);
          if (tail !== 'no') return this.#delimiter(buf, p, p, tail);
        }
      }
      this.#atLineStart = false;
    }
    let from = p;
    for (;;) {
      const i = buf.indexOf(needle, from);
      if (i < 0) break;
      const dataEnd = i > p && buf[i - 1] === CR ? i - 1 : i;
      const tail = this.#tail(buf, i + needle.length, eof);
      if (tail === 'more') {
        this.#emit(buf, p, dataEnd);
        return this.#hold(buf, dataEnd);
      }
      if (tail !== 'no') return this.#delimiter(buf, p, dataEnd, tail);
      from = i + 1;
    }
    // No delimiter: keep back what could be the start of one.
    let keep = buf.length;
    if (!eof) {
      const windowStart = Math.max(p, buf.length - needle.length + 1);
      const lf = buf.lastIndexOf(LF, buf.length - 1);
      if (lf >= windowStart && buf.compare(needle, 0, buf.length - lf, lf, buf.length) === 0) keep = lf;
      if (keep > p && buf[keep - 1] === CR) keep--;
    }
    this.#emit(buf, p, keep);
    return this.#hold(buf, keep);
  }

  /**
   * Looks at what follows `--boundary` from `at`: `--` for the last delimiter, padding, then
   * LF (or the end of the body). 'more' when the answer lies in bytes not received yet.
   */
  #tail(buf: Buffer, at: number, eof: boolean): Tail {
    let k = at;
    let kind: 'next' | 'last' = 'next';
    if (k < buf.length && buf[k] === DASH) {
      if (k + 1 >= buf.length) return eof ? 'no' : 'more';
      if (buf[k + 1] !== DASH) return 'no';
      kind = 'last';
      k += 2;
    }
    const padStart = k;
    while (k < buf.length && isPad(buf[k]!)) {
      if (k - padStart >= MAX_PAD) return 'no';
      k++;
    }
    if (k >= buf.length) return eof ? { kind, end: k } : 'more';
    return buf[k] === LF ? { kind, end: k + 1 } : 'no';
  }

  #delimiter(buf: Buffer, p: number, dataEnd: number, tail: { kind: 'next' | 'last'; end: number }): number {
    const inBody = this.#state === State.Body;
    if (inBody) this.#emit(buf, p, dataEnd, true);
    if (tail.kind === 'last') {
      this.#state = State.Epilogue;
      this.#done = 1;
    } else {
      this.#state = State.Headers;
    }
    if (inBody) {
      this.#inPart = false;
      this.#handlers.onPartEnd?.(true);
    }
    if (tail.kind === 'last') return buf.length;
    this.#headerBytes = 0;
    this.#headerLines = [];
    return tail.end;
  }

  #emit(buf: Buffer, start: number, end: number, last = false): void {
    if (end <= start || this.#state !== State.Body) return;
    this.#partSize += end - start;
    if (this.#partSize > this.#partLimit) {
      const code = this.#partLimitName === 'maxFileSize' ? 'FILE_TOO_LARGE' : 'FIELD_TOO_LARGE';
      throw new FormError(code, `part larger than ${this.#partLimit} bytes (${this.#partLimitName})`);
    }
    this.#handlers.onPartData?.(buf.subarray(start, end), last);
  }

  /** Reads header lines from `p`; returns where the body starts, or -1 when more bytes are needed. */
  #headers(buf: Buffer, p: number, eof: boolean): number {
    for (;;) {
      const lf = buf.indexOf(LF, p);
      const lineEnd = lf < 0 ? buf.length : lf + 1;
      if (this.#headerBytes + (lineEnd - p) > this.#maxHeaderSize) this.#headerTooLarge();
      if (lf < 0) {
        if (eof && p < buf.length && buf.indexOf(0x3a, p) >= 0) this.#headerLines.push(this.#decodeLine(buf, p, buf.length));
        return this.#hold(buf, p);
      }
      this.#headerBytes += lineEnd - p;
      let s = p;
      while (s < lf && isPad(buf[s]!)) s++;
      if (s === lf) {
        this.#beginPart();
        return lineEnd;
      }
      this.#headerLines.push(this.#decodeLine(buf, p, lf));
      p = lineEnd;
    }
  }

  #decodeLine(buf: Buffer, start: number, end: number): string {
    if (end > start && buf[end - 1] === CR) end--;
    return this.#decoder.decode(buf, start, end);
  }

  #beginPart(): void {
    if (++this.#parts > this.#maxParts) {
      throw new FormError('TOO_MANY_FIELDS', `more than ${this.#maxParts} parts (maxParts)`);
    }
    const info = parsePartHeaders(this.#headerLines);
    this.#headerLines = [];
    this.#state = State.Body;
    this.#atLineStart = true;
    this.#partSize = 0;
    if (info.type.toLowerCase().startsWith('multipart/')) {
      this.#partLimit = Infinity; // a nested parser applies the limits to its own parts
    } else if (info.filename !== null) {
      this.#partLimit = this.#maxFileSize;
      this.#partLimitName = 'maxFileSize';
    } else {
      this.#partLimit = this.#maxFieldSize;
      this.#partLimitName = 'maxFieldSize';
    }
    this.#inPart = true;
    this.#handlers.onPartBegin?.(info);
  }

  #finishAtEof(): void {
    if (this.#done === 1) return;
    if (this.#state === State.Preamble) {
      throw new FormError('BAD_BOUNDARY', this.#bytes === 0
        ? 'multipart body is empty'
        : `multipart body has no delimiter line ${JSON.stringify(this.#dashBoundary.toString('latin1'))}`);
    }
    if (this.#state === State.Headers && this.#headerLines.length > 0) {
      this.#beginPart(); // Python keeps a part whose headers were cut off, marked unfinished
    }
    if (this.#inPart) {
      this.#inPart = false;
      this.#handlers.onPartEnd?.(false);
    }
    this.#done = -1;
  }
}

/** Shared by parts without parameters; frozen so one part cannot change another's. */
const EMPTY: HeaderParams = Object.freeze(newRecord());

/** Turns header lines (without line endings) into a PartInfo. Folded lines continue the previous header. */
export function parsePartHeaders(lines: string[]): PartInfo {
  const rawHeaders: [string, string][] = [];
  for (const line of lines) {
    const first = line.charCodeAt(0);
    if ((first === 0x20 || first === 0x09) && rawHeaders.length > 0) {
      rawHeaders[rawHeaders.length - 1]![1] += line;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      throw new FormError('MALFORMED', `part header line without a name and colon: ${JSON.stringify(line.slice(0, 80))}`);
    }
    let start = colon + 1;
    while (start < line.length && (line.charCodeAt(start) === 0x20 || line.charCodeAt(start) === 0x09)) start++;
    rawHeaders.push([line.slice(0, colon).trim(), line.slice(start)]);
  }
  const headers = newRecord();
  for (const [name, value] of rawHeaders) {
    const key = name.toLowerCase();
    if (!(key in headers)) headers[key] = value;
  }
  let disposition = '';
  let dispositionOptions: HeaderParams = EMPTY;
  if (headers['content-disposition'] !== undefined) {
    [disposition, dispositionOptions] = parseHeader(headers['content-disposition']);
  }
  let type = 'text/plain';
  let typeOptions: HeaderParams = EMPTY;
  // An empty `Content-Type:` says nothing, so it means what no header means (Python gives '').
  const contentType = headers['content-type'];
  if (contentType !== undefined && contentType.trim() !== '') [type, typeOptions] = parseHeader(contentType);
  return {
    headers,
    rawHeaders,
    name: dispositionOptions['name'] ?? null,
    filename: dispositionOptions['filename'] ?? null,
    disposition,
    dispositionOptions,
    type,
    typeOptions,
  };
}
