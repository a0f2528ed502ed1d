/**
 * The FastCGI 1.0 wire: record headers, padding, name-value pairs and stream encoding.
 * Nothing here knows about requests or sockets; connection.ts drives it.
 */

import { MAX_CONTENT_LENGTH, RecordType } from './protocol.js';

export { MAX_CONTENT_LENGTH, FCGI_KEEP_CONN, RecordType, Role, ProtocolStatus } from './protocol.js';
export const FCGI_VERSION_1 = 1;
export const HEADER_LENGTH = 8;

/** The peer broke the protocol; the connection it came on cannot be trusted any further. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export type RecordHandler = (type: number, requestId: number, content: Buffer) => void;

/** The stream record types: their content is a byte stream, record boundaries mean nothing but the empty record that ends it. */
const STREAM_TYPES: ReadonlySet<number> = new Set([RecordType.Params, RecordType.Stdin, RecordType.Stdout, RecordType.Stderr, RecordType.Data]);

export interface RecordReaderOptions {
  /**
   * Hand on the content of a stream record (PARAMS, STDIN, ...) in pieces as they arrive,
   * rather than joining the pieces first: a record split between two socket reads (with
   * nginx's uploads, nearly every one) would otherwise be copied whole. Each piece comes as
   * a call of its own, never empty; an empty record still comes as one empty call.
   */
  streamContent?: boolean;
}

/**
 * Splits a byte stream into records. Memory is bounded by one record (at most 65,798 bytes)
 * whatever the peer sends, because a record's header announces its full size.
 */
export class RecordReader {
  private parts: Buffer[] = [];
  private buffered = 0;
  /** The partial record's full size once its header is in (0 before): worked out once, not on every read. */
  private need = 0;
  private readonly streamContent: boolean;
  /** The stream record being handed on in pieces: what is still to come of its content and padding. */
  private stream: { type: number; id: number; content: number; padding: number } | undefined;

  constructor(options: RecordReaderOptions = {}) {
    this.streamContent = options.streamContent ?? false;
  }

  /** Feeds bytes; calls `onRecord` for every complete record. Throws ProtocolError on a bad header. */
  push(data: Buffer, onRecord: RecordHandler): void {
    let buffer = data;
    if (this.stream) {
      buffer = this.continueStream(buffer, onRecord);
      if (buffer.length === 0) return;
    }
    if (this.buffered > 0 && this.streamContent && this.buffered < HEADER_LENGTH) {
      // Only a header must be whole to stream what follows: take its missing bytes, not the chunk.
      const missing = HEADER_LENGTH - this.buffered;
      if (buffer.length < missing) {
        this.parts.push(buffer);
        this.buffered += buffer.length;
        return;
      }
      const header = Buffer.concat([...this.parts, buffer.subarray(0, missing)], HEADER_LENGTH);
      this.parts = [];
      this.buffered = 0;
      this.need = 0;
      buffer = buffer.subarray(missing);
      checkVersion(header, 0);
      const contentLength = header.readUInt16BE(4);
      if (STREAM_TYPES.has(header[1]!) && contentLength > 0) {
        this.stream = { type: header[1]!, id: header.readUInt16BE(2), content: contentLength, padding: header[6]! };
        buffer = this.continueStream(buffer, onRecord);
        if (buffer.length === 0) return;
      } else {
        this.parts = [header];
        this.buffered = HEADER_LENGTH;
      }
    }
    if (this.buffered > 0) {
      this.parts.push(buffer);
      this.buffered += buffer.length;
      if (this.buffered < this.needed()) return;
      buffer = Buffer.concat(this.parts, this.buffered);
      this.parts = [];
      this.buffered = 0;
      this.need = 0;
    }
    let offset = 0;
    while (buffer.length - offset >= HEADER_LENGTH) {
      checkVersion(buffer, offset);
      const type = buffer[offset + 1]!;
      const contentLength = buffer.readUInt16BE(offset + 4);
      const end = offset + HEADER_LENGTH + contentLength + buffer[offset + 6]!;
      if (end > buffer.length) {
        if (this.streamContent && STREAM_TYPES.has(type) && contentLength > 0) {
          this.stream = { type, id: buffer.readUInt16BE(offset + 2), content: contentLength, padding: buffer[offset + 6]! };
          this.continueStream(buffer.subarray(offset + HEADER_LENGTH), onRecord);
          return;
        }
        break;
      }
      const start = offset + HEADER_LENGTH;
      onRecord(type, buffer.readUInt16BE(offset + 2), buffer.subarray(start, start + contentLength));
      offset = end;
    }
    if (offset < buffer.length) {
      this.parts.push(offset === 0 ? buffer : buffer.subarray(offset));
      this.buffered = buffer.length - offset;
    }
  }

  /** True while part of a record is waiting for the rest: an end of stream now truncates it. */
  get partial(): boolean {
    return this.buffered > 0 || this.stream !== undefined;
  }

  /** Hands on what `data` holds of the streamed record's content, skips its padding, and returns what follows the record. */
  private continueStream(data: Buffer, onRecord: RecordHandler): Buffer {
    const stream = this.stream!;
    const take = Math.min(stream.content, data.length);
    stream.content -= take;
    const skip = Math.min(stream.padding, data.length - take);
    stream.padding -= skip;
    if (stream.content === 0 && stream.padding === 0) this.stream = undefined;
    if (take > 0) onRecord(stream.type, stream.id, data.subarray(0, take));
    return data.subarray(take + skip);
  }

  private needed(): number {
    if (this.need === 0) {
      if (this.buffered < HEADER_LENGTH) return HEADER_LENGTH;
      const first = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, HEADER_LENGTH);
      this.need = HEADER_LENGTH + first.readUInt16BE(4) + first[6]!;
    }
    return this.need;
  }
}

function checkVersion(buffer: Buffer, offset: number): void {
  const version = buffer[offset]!;
  if (version !== FCGI_VERSION_1) throw new ProtocolError(`record version ${version}, expected ${FCGI_VERSION_1}`);
}

function paddingFor(length: number): number {
  return (8 - (length & 7)) & 7;
}

function writeHeader(out: Buffer, offset: number, type: number, requestId: number, contentLength: number, padding: number): void {
  out[offset] = FCGI_VERSION_1;
  out[offset + 1] = type;
  out.writeUInt16BE(requestId, offset + 2);
  out.writeUInt16BE(contentLength, offset + 4);
  out[offset + 6] = padding;
  out[offset + 7] = 0;
}

/** One record, padded to a multiple of 8 bytes. `content` must fit in one record. */
export function encodeRecord(type: number, requestId: number, content: Uint8Array = EMPTY): Buffer {
  if (content.length > MAX_CONTENT_LENGTH) throw new RangeError(`record content of ${content.length} bytes exceeds ${MAX_CONTENT_LENGTH}`);
  const padding = paddingFor(content.length);
  const out = Buffer.alloc(HEADER_LENGTH + content.length + padding);
  writeHeader(out, 0, type, requestId, content.length, padding);
  out.set(content, HEADER_LENGTH);
  return out;
}

const EMPTY = new Uint8Array(0);

/** The size `encodeStream` needs for `length` bytes of stream data (not counting an end record). */
function streamSize(length: number): number {
  let size = 0;
  for (let left = length; left > 0; left -= MAX_CONTENT_LENGTH) {
    const part = Math.min(left, MAX_CONTENT_LENGTH);
    size += HEADER_LENGTH + part + paddingFor(part);
  }
  return size;
}

export interface StreamOptions {
  /** Also write the zero-length record that ends the stream. */
  close?: boolean;
  /** Also write END_REQUEST with this application status (implies `close`). */
  endRequest?: { appStatus: number; protocolStatus: number };
}

/**
 * Encodes `pieces` as one stream's records (split at 65,535 bytes, padded) into a single
 * buffer, so that a small response leaves in one socket write.
 */
export function encodeStream(type: number, requestId: number, pieces: readonly Uint8Array[], options: StreamOptions = {}): Buffer {
  let length = 0;
  for (const piece of pieces) length += piece.length;
  const close = options.close || options.endRequest !== undefined;
  const out = Buffer.allocUnsafe(streamSize(length) + (close ? HEADER_LENGTH : 0) + (options.endRequest ? HEADER_LENGTH * 2 : 0));
  let offset = 0;
  let pieceIndex = 0;
  let pieceOffset = 0;
  for (let left = length; left > 0;) {
    const part = Math.min(left, MAX_CONTENT_LENGTH);
    const padding = paddingFor(part);
    writeHeader(out, offset, type, requestId, part, padding);
    offset += HEADER_LENGTH;
    for (let need = part; need > 0;) {
      const piece = pieces[pieceIndex]!;
      const take = Math.min(need, piece.length - pieceOffset);
      out.set(take === piece.length ? piece : piece.subarray(pieceOffset, pieceOffset + take), offset);
      offset += take;
      need -= take;
      pieceOffset += take;
      if (pieceOffset === piece.length) {
        pieceIndex++;
        pieceOffset = 0;
      }
    }
    out.fill(0, offset, offset + padding);
    offset += padding;
    left -= part;
  }
  if (close) {
    writeHeader(out, offset, type, requestId, 0, 0);
    offset += HEADER_LENGTH;
  }
  if (options.endRequest) writeEndRequest(out, offset, requestId, options.endRequest);
  return out;
}

/** An END_REQUEST record (header and 8-byte body) at `at`, as the stream encoders end with it. */
function writeEndRequest(out: Buffer, at: number, requestId: number, end: NonNullable<StreamOptions['endRequest']>): void {
  writeHeader(out, at, RecordType.EndRequest, requestId, 8, 0);
  out.writeUInt32BE(end.appStatus >>> 0, at + 8);
  out[at + 12] = end.protocolStatus;
  out.fill(0, at + 13, at + 16);
}

/** Pieces at least this large are written as they are by `streamRecords` rather than copied. */
export const COPY_LIMIT = 16 * 1024;

const ZEROS = new Uint8Array(8);

/**
 * The records `encodeStream` makes, as a list to write together (writev) rather than one
 * buffer: one small buffer for the headers, padding and end records, and the pieces' bytes
 * as slices of themselves. For large chunks: copying each into a fresh buffer costs a memcpy,
 * and leaves as much garbage as the response is long, which V8 collects only once tens of
 * megabytes of it have piled up (a 1 GB response took a worker's RSS from 50 to 92 MB).
 */
export function streamRecords(type: number, requestId: number, pieces: readonly Uint8Array[], options: StreamOptions = {}): Uint8Array[] {
  let length = 0;
  for (const piece of pieces) length += piece.length;
  const close = options.close || options.endRequest !== undefined;
  const records = Math.ceil(length / MAX_CONTENT_LENGTH);
  const frame = Buffer.allocUnsafe(records * HEADER_LENGTH + (close ? HEADER_LENGTH : 0) + (options.endRequest ? HEADER_LENGTH * 2 : 0));
  const out: Uint8Array[] = [];
  let at = 0;
  let pieceIndex = 0;
  let pieceOffset = 0;
  for (let left = length; left > 0;) {
    const part = Math.min(left, MAX_CONTENT_LENGTH);
    const padding = paddingFor(part);
    writeHeader(frame, at, type, requestId, part, padding);
    out.push(frame.subarray(at, at + HEADER_LENGTH));
    at += HEADER_LENGTH;
    for (let need = part; need > 0;) {
      const piece = pieces[pieceIndex]!;
      const take = Math.min(need, piece.length - pieceOffset);
      out.push(take === piece.length ? piece : piece.subarray(pieceOffset, pieceOffset + take));
      need -= take;
      pieceOffset += take;
      if (pieceOffset === piece.length) {
        pieceIndex++;
        pieceOffset = 0;
      }
    }
    if (padding > 0) out.push(ZEROS.subarray(0, padding));
    left -= part;
  }
  const tail = at;
  if (close) {
    writeHeader(frame, at, type, requestId, 0, 0);
    at += HEADER_LENGTH;
  }
  if (options.endRequest) {
    writeEndRequest(frame, at, requestId, options.endRequest);
    at += HEADER_LENGTH * 2;
  }
  if (at > tail) out.push(frame.subarray(tail, at));
  return out;
}

/** An END_REQUEST record. */
export function encodeEndRequest(requestId: number, appStatus: number, protocolStatus: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(appStatus >>> 0, 0);
  body[4] = protocolStatus;
  return encodeRecord(RecordType.EndRequest, requestId, body);
}

/** A BEGIN_REQUEST record (for clients and tests). */
export function encodeBeginRequest(requestId: number, role: number, flags: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt16BE(role, 0);
  body[2] = flags;
  return encodeRecord(RecordType.BeginRequest, requestId, body);
}

/** Encodes name-value pairs: each length in 1 byte below 128, else 4 bytes with the high bit set. */
export function encodeParams(pairs: Iterable<readonly [string, string]> | Readonly<Record<string, string>>): Buffer {
  // Latin-1 is one byte per character, lengths included: the whole block is built as one string
  // and encoded once, rather than a Buffer per name and value (~60 a request, 6 % of a PHP
  // hello's CPU with their copying).
  let block = '';
  const add = (name: string, value: string) => {
    // A number or undefined from JavaScript would get a length that is not its bytes' (Buffer.from threw on it).
    if (typeof name !== 'string' || typeof value !== 'string') throw new TypeError(`FastCGI param ${String(name)}: a name and a value must be strings, got ${typeof name} and ${typeof value}`);
    block += sizeChars(name.length) + sizeChars(value.length) + name + value;
  };
  if (Symbol.iterator in pairs) for (const [name, value] of pairs as Iterable<readonly [string, string]>) add(name, value);
  // Own names only, as Object.entries gave them: for-in would add inherited ones.
  else for (const name of Object.keys(pairs)) add(name, (pairs as Record<string, string>)[name]!);
  return Buffer.from(block, 'latin1');
}

const SHORT_SIZES = Array.from({ length: 128 }, (_, size) => String.fromCharCode(size));

/** A name-value length as latin-1 characters: 1 byte below 128, else 4 bytes with the high bit set. */
function sizeChars(size: number): string {
  if (size < 128) return SHORT_SIZES[size]!;
  return String.fromCharCode(((size >>> 24) & 0x7f) | 0x80, (size >>> 16) & 0xff, (size >>> 8) & 0xff, size & 0xff);
}

// Buffer's own latin1Slice skips the argument checks of toString(), a measurable share of a small request.
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice?: (start: number, end: number) => string }).latin1Slice;
const latin1 = latin1Slice
  ? (data: Buffer, start: number, end: number) => latin1Slice.call(data, start, end)
  : (data: Buffer, start: number, end: number) => data.toString('latin1', start, end);

function readSize(data: Buffer, offset: number): [size: number, next: number] {
  const first = data[offset];
  if (first === undefined) throw new ProtocolError('name-value pair truncated in its length');
  if (first < 128) return [first, offset + 1];
  if (offset + 4 > data.length) throw new ProtocolError('name-value pair truncated in its 4-byte length');
  return [data.readUInt32BE(offset) & 0x7fffffff, offset + 4];
}

/**
 * Decodes a complete name-value stream (every PARAMS record concatenated: a pair may
 * straddle records). Names and values come out as latin-1 strings, one character per byte.
 */
export function decodeParams(data: Buffer, onPair: (name: string, value: string) => void): void {
  let offset = 0;
  while (offset < data.length) {
    let nameLength: number;
    let valueLength: number;
    [nameLength, offset] = readSize(data, offset);
    [valueLength, offset] = readSize(data, offset);
    const end = offset + nameLength + valueLength;
    if (end > data.length) throw new ProtocolError(`name-value pair of ${nameLength}+${valueLength} bytes overruns the params`);
    onPair(latin1(data, offset, offset + nameLength), latin1(data, offset + nameLength, end));
    offset = end;
  }
}

/** The names FCGI_GET_VALUES may ask about, with the values a server answers. */
export interface ServerValues {
  FCGI_MAX_CONNS: number;
  FCGI_MAX_REQS: number;
  FCGI_MPXS_CONNS: 0 | 1;
}

/**
 * Answers FCGI_GET_VALUES: only the names asked for and known, unknown names left out, each
 * once however often it is asked (answering every repeat could outgrow one record).
 */
export function encodeGetValuesResult(query: Buffer, values: ServerValues): Buffer {
  const answer = new Map<string, string>();
  decodeParams(query, (name) => {
    if (Object.hasOwn(values, name)) answer.set(name, String(values[name as keyof ServerValues]));
  });
  return encodeRecord(RecordType.GetValuesResult, 0, encodeParams(answer));
}

/** FCGI_UNKNOWN_TYPE, echoing the type the server did not understand. */
export function encodeUnknownType(type: number): Buffer {
  const body = Buffer.alloc(8);
  body[0] = type;
  return encodeRecord(RecordType.UnknownType, 0, body);
}
