/**
 * The body of a test request: bytes given whole, a stream, a form (urlencoded, or multipart
 * once there are files) or JSON, and the tsgi.input that streams it to the application.
 */
import type { InputStream } from '../types.js';
import { fieldEntries, multipartBody, type FileFields, type FormFields } from './multipart-body.js';

export type RequestBodyInit = string | Uint8Array | Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string>;

export interface BodyOptions {
  body?: RequestBodyInit;
  form?: FormFields;
  files?: FileFields;
  json?: unknown;
}

export interface PreparedBody {
  /** The whole body, when it is known up front; undefined for a stream. */
  bytes?: Uint8Array;
  stream?: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;
  contentType?: string;
}

// About what one read from a socket gives an application, so it sees a large body in pieces.
const PIECE = 64 * 1024;
const encoder = new TextEncoder();

/** Turns the body options into bytes or a stream, and the Content-Type they call for. Undefined when there is no body. */
export function prepareBody(options: BodyOptions): PreparedBody | undefined {
  const given = (['body', 'form', 'json'] as const).filter((key) => options[key] !== undefined);
  if (given.length > 1) throw new TypeError(`give one of body, form and json, not ${given.join(' and ')}`);
  if (options.files !== undefined && (options.body !== undefined || options.json !== undefined)) {
    throw new TypeError('files go with form (multipart/form-data), not with body or json');
  }
  if (options.files !== undefined) {
    const { body, contentType } = multipartBody(options.form, options.files);
    return { bytes: body, contentType };
  }
  if (options.form !== undefined) {
    return { bytes: encoder.encode(new URLSearchParams(fieldEntries(options.form)).toString()), contentType: 'application/x-www-form-urlencoded' };
  }
  if (options.json !== undefined) return { bytes: encoder.encode(JSON.stringify(options.json)), contentType: 'application/json' };
  const body = options.body;
  if (body === undefined) return undefined;
  if (typeof body === 'string') return { bytes: encoder.encode(body) };
  if (body instanceof Uint8Array) return { bytes: body };
  if (typeof body === 'object' && body !== null && (Symbol.asyncIterator in body || Symbol.iterator in body)) return { stream: body };
  throw new TypeError(`body must be a string, a Uint8Array or an (async) iterable of them, got ${typeof body}`);
}

function toBytes(chunk: unknown): Uint8Array {
  if (typeof chunk === 'string') return encoder.encode(chunk);
  if (chunk instanceof Uint8Array) return chunk;
  throw new TypeError(`a request body chunk must be a Uint8Array or a string, got ${chunk === null ? 'null' : typeof chunk}`);
}

/**
 * The body as tsgi.input. The stream is pulled only as the application reads, so a test sees
 * backpressure as an app behind a socket does; never more than `length` bytes come out, and a
 * body that ends short of `length` makes the iteration throw, like a client that went away.
 */
export function requestInput(body: PreparedBody | undefined, length: number | undefined): InputStream {
  return {
    async *[Symbol.asyncIterator]() {
      let left = length ?? Infinity;
      const pieces = body?.bytes !== undefined ? [body.bytes] : body?.stream ?? [];
      for await (const chunk of pieces) {
        let bytes = toBytes(chunk);
        if (bytes.length > left) bytes = bytes.subarray(0, left);
        for (let at = 0; at < bytes.length; at += PIECE) {
          const piece = bytes.subarray(at, at + PIECE);
          left -= piece.length;
          // A Buffer, as node:http hands the HTTP front end.
          yield Buffer.from(piece.buffer, piece.byteOffset, piece.length);
        }
        if (left === 0) return;
      }
      if (length !== undefined && left > 0) {
        throw new Error(`the request body ended after ${length - left} of its ${length} bytes (Content-Length)`);
      }
    },
  };
}
