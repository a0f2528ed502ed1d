/**
 * Prepares a script's stdin (RFC 3875 §4.2): exactly CONTENT_LENGTH bytes then EOF. A body
 * without a length (chunked) is spooled first, in memory and then in an unlinked temp file,
 * so that a length can be announced; either way the body limit holds (413).
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpError } from '../../handler.js';
import type { Environ, InputStream } from '../../types.js';

const MEMORY_SPOOL = 256 * 1024;

export type PreparedBody =
  | { kind: 'none' }
  /** Stream `input` to stdin as it arrives; the front end stops it at `length`. */
  | { kind: 'stream'; length: number; input: AsyncIterator<Uint8Array>; first?: Uint8Array }
  | { kind: 'memory'; length: number; data: Buffer }
  /** A spooled body: `file` is open for reading at offset 0 and can become the child's stdin. */
  | { kind: 'file'; length: number; file: FileHandle };

function tooLarge(limit: number): HttpError {
  return new HttpError(413, `The request body is larger than the limit of ${limit} bytes.`);
}

/** What to feed the script; synchronous unless a body without a length has to be spooled. */
export function prepareBody(environ: Environ, limit: number): PreparedBody | Promise<PreparedBody> {
  const declared = environ.CONTENT_LENGTH;
  if (declared !== undefined && declared !== '') {
    if (!/^\d+$/.test(declared)) throw new HttpError(400, `Invalid Content-Length ${JSON.stringify(declared)}.`);
    const length = Number(declared);
    if (length > limit) throw tooLarge(limit);
    if (length === 0) return { kind: 'none' };
    return { kind: 'stream', length, input: environ['tsgi.input'][Symbol.asyncIterator]() };
  }
  // Without a length or a transfer coding an HTTP request has no body (RFC 9112 §6.3); other
  // methods are still read, in case a front end announced neither.
  const method = environ.REQUEST_METHOD;
  if ((method === 'GET' || method === 'HEAD') && !environ.HTTP_TRANSFER_ENCODING) return { kind: 'none' };
  return spool(environ['tsgi.input'], limit);
}

async function spool(input: InputStream, limit: number): Promise<PreparedBody> {
  const iterator = input[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let size = 0;
  let step = await iterator.next();
  while (!step.done && size + step.value.length <= MEMORY_SPOOL) {
    parts.push(Buffer.from(step.value.buffer, step.value.byteOffset, step.value.length));
    size += step.value.length;
    if (size > limit) {
      await iterator.return?.();
      throw tooLarge(limit);
    }
    step = await iterator.next();
  }
  if (step.done) return size === 0 ? { kind: 'none' } : { kind: 'memory', length: size, data: Buffer.concat(parts, size) };

  const dir = await mkdtemp(join(tmpdir(), 'tsgi-cgi-body-'));
  const name = join(dir, 'body');
  const writer = await open(name, 'wx', 0o600);
  let reader: FileHandle | undefined;
  try {
    // Opened for reading before the name goes away: the body lives on only as these descriptors.
    reader = await open(name, 'r');
    await rm(dir, { recursive: true, force: true });
    for (const part of parts) await writer.write(part);
    while (!step.done) {
      size += step.value.length;
      if (size > limit) throw tooLarge(limit);
      await writer.write(step.value);
      step = await iterator.next();
    }
    if (size > limit) throw tooLarge(limit);
    return { kind: 'file', length: size, file: reader };
  } catch (error) {
    await reader?.close();
    await iterator.return?.();
    throw error;
  } finally {
    await writer.close();
    await rm(dir, { recursive: true, force: true });
  }
}
