import { FormError } from './errors.js';

/** How undecodable bytes are handled: U+FFFD (Python's 'replace', the default) or an error. */
export type DecodeErrors = 'replace' | 'strict';

const decoders = new Map<string, { decode(input: Uint8Array): string }>();

function isUtf8(encoding: string): boolean {
  const e = encoding.toLowerCase();
  return e === 'utf-8' || e === 'utf8';
}

export function isLatin1(encoding: string): boolean {
  // WHATWG maps "latin1" to windows-1252; Python's latin-1 is ISO-8859-1 byte for byte.
  const e = encoding.toLowerCase().replace(/_/g, '-');
  return e === 'latin1' || e === 'latin-1' || e === 'iso-8859-1' || e === 'iso8859-1' || e === 'l1';
}

/** Decodes bytes with a Python-style encoding name and error mode. */
export function decodeBytes(bytes: Uint8Array, encoding = 'utf-8', errors: DecodeErrors = 'replace'): string {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (errors === 'replace' && isUtf8(encoding)) return buf.toString('utf8');
  if (isLatin1(encoding)) return buf.toString('latin1');
  const key = `${encoding}\0${errors}`;
  let decoder = decoders.get(key);
  if (!decoder) {
    try {
      decoder = new TextDecoder(encoding, { fatal: errors === 'strict' });
    } catch {
      throw new RangeError(`unknown encoding: ${encoding}`);
    }
    decoders.set(key, decoder);
  }
  try {
    return decoder.decode(buf);
  } catch {
    throw new FormError('BAD_ENCODING', `bytes are not valid ${encoding}: ${JSON.stringify(buf.toString('latin1').slice(0, 40))}`);
  }
}

/** Decodes `buf[start..end)` without making a view first (the common case on hot paths). */
export function decodeRange(buf: Buffer, start: number, end: number, encoding = 'utf-8', errors: DecodeErrors = 'replace'): string {
  if (errors === 'replace' && isUtf8(encoding)) return buf.toString('utf8', start, end);
  return decodeBytes(buf.subarray(start, end), encoding, errors);
}

/** Checks an encoding name early, so a typo fails at the call and not on the first non-ASCII byte. */
export function checkEncoding(encoding: string): void {
  if (isUtf8(encoding) || isLatin1(encoding)) return;
  try {
    new TextDecoder(encoding);
  } catch {
    throw new RangeError(`unknown encoding: ${encoding}`);
  }
}

// Python's repr() of a str: error messages and FieldStorage.repr() quote values the way Python does.

export const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export function quoteFor(text: string): string {
  return text.includes("'") && !text.includes('"') ? '"' : "'";
}

/** `repr(str)`: printable characters as they are, the rest escaped. */
export function reprString(text: string): string {
  const quote = quoteFor(text);
  let out = quote;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (ESCAPES[ch]) out += ESCAPES[ch];
    else if (ch === quote) out += '\\' + ch;
    else if (c < 0x20 || (c >= 0x7f && c <= 0xa0) || c === 0xad) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + quote;
}
