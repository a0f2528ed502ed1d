/**
 * Bytes to text with a Python encoding name and a Python error mode, the way Python's codecs do
 * it, so a form decodes to the same strings as under Python's cgi module.
 *
 * utf-8, ascii and latin-1 are decoded here, exactly as Python does. Other charsets go to
 * TextDecoder, so their labels and tables are WHATWG's (what browsers send); for the
 * single-byte ones every error mode works, for the multi-byte ones only 'strict' and
 * 'replace' (TextDecoder does not say which bytes were bad).
 *
 * Nothing is built at import: a CGI script pays for the module on every request.
 */
import { requireBuiltin } from './builtin.js';
import { FormError } from './errors.js';

const { isAscii, isUtf8 } = requireBuiltin('node:buffer') as typeof import('node:buffer');

/**
 * What happens to bytes that are not in the charset, as Python's error handlers:
 * - 'replace' (the default): U+FFFD for each bad sequence (for utf-8: one per maximal
 *   invalid subpart, so a truncated 3-byte sequence is one U+FFFD, two stray bytes are two);
 * - 'strict': a FormError BAD_ENCODING;
 * - 'ignore': the bad bytes are dropped;
 * - 'surrogateescape': each bad byte b becomes the lone surrogate U+DC00+b (U+DC80..U+DCFF),
 *   so the original bytes can be recovered.
 */
export type DecodeErrors = 'strict' | 'replace' | 'ignore' | 'surrogateescape';

const ERROR_MODES: readonly string[] = ['strict', 'replace', 'ignore', 'surrogateescape'];

/** A charset with one error mode, ready to decode ranges of a Buffer. */
export interface Decoder {
  /** The charset's name as tsgi knows it ('utf-8', 'ascii', 'latin-1' or TextDecoder's name). */
  readonly encoding: string;
  readonly errors: DecodeErrors;
  /**
   * The bytes of `separator` in this charset when splitting the bytes there gives the same
   * pieces as splitting the decoded text (no character's bytes can contain them), else null.
   */
  separatorBytes(separator: string): Buffer | null;
  decode(buf: Buffer, start?: number, end?: number): string;
}

// Python's aliases (encodings.aliases) for the three charsets decoded here, normalised as
// `normalizeName` does. Any other name goes to TextDecoder.
const UTF8 = new Set(['utf_8', 'utf8', 'u8', 'utf', 'cp65001', 'utf8_ucs2', 'utf8_ucs4']);
const ASCII = new Set(['ascii', 'us_ascii', '646', 'ansi_x3.4_1968', 'ansi_x3_4_1968', 'ansi_x3.4_1986', 'cp367',
  'csascii', 'ibm367', 'iso646_us', 'iso_646.irv_1991', 'iso_ir_6', 'us']);
const LATIN1 = new Set(['latin_1', 'latin1', 'latin', 'l1', 'iso_8859_1', 'iso8859_1', '8859', 'cp819', 'ibm819',
  'iso_ir_100', 'csisolatin1', 'iso_8859_1_1987']);

/** TextDecoder's single-byte charsets: one byte, one character, so every error mode works. */
const SINGLE_BYTE = new Set(['ibm866', 'iso-8859-2', 'iso-8859-3', 'iso-8859-4', 'iso-8859-5', 'iso-8859-6',
  'iso-8859-7', 'iso-8859-8', 'iso-8859-8-i', 'iso-8859-10', 'iso-8859-13', 'iso-8859-14', 'iso-8859-15',
  'iso-8859-16', 'koi8-r', 'koi8-u', 'macintosh', 'windows-874', 'windows-1250', 'windows-1251', 'windows-1252',
  'windows-1253', 'windows-1254', 'windows-1255', 'windows-1256', 'windows-1257', 'windows-1258', 'x-mac-cyrillic']);
/** Multi-byte charsets whose trail bytes can be ASCII from 0x30 (digits, letters and more) up. */
const ASCII_TRAILS = new Set(['shift_jis', 'big5', 'gbk', 'gb18030']);
/** Charsets in which an ASCII byte need not be an ASCII character at all. */
const NOT_ASCII_BASED = new Set(['utf-16le', 'utf-16be', 'iso-2022-jp']);

const asciiSeparator = (separator: string): Buffer | null =>
  /^[\x00-\x7f]+$/.test(separator) ? Buffer.from(separator, 'latin1') : null;

/** Python's `encodings.normalize_encoding` plus lower case: 'ISO-8859-1' → 'iso_8859_1'. */
function normalizeName(encoding: string): string {
  return encoding.trim().toLowerCase().replace(/[^a-z0-9.]+/g, '_').replace(/^_|_$/g, '');
}

const decoders = new Map<string, Decoder>();

/**
 * The decoder for an encoding name and error mode. Throws RangeError for a charset neither
 * tsgi nor TextDecoder knows, an unknown error mode, or a mode the charset cannot honour.
 */
export function decoderFor(encoding = 'utf-8', errors: DecodeErrors = 'replace'): Decoder {
  const key = `${encoding}\0${errors}`;
  let decoder = decoders.get(key);
  if (decoder === undefined) {
    decoder = makeDecoder(encoding, errors);
    decoders.set(key, decoder);
  }
  return decoder;
}

function makeDecoder(encoding: string, errors: DecodeErrors): Decoder {
  if (typeof errors !== 'string' || !ERROR_MODES.includes(errors)) {
    throw new RangeError(`unknown error handler name ${JSON.stringify(errors)} (use ${ERROR_MODES.map((m) => `'${m}'`).join(', ')})`);
  }
  if (typeof encoding !== 'string') throw new RangeError(`unknown encoding: ${String(encoding)}`);
  const name = normalizeName(encoding);
  if (UTF8.has(name)) {
    return {
      encoding: 'utf-8', errors,
      decode: (buf, s = 0, e = buf.length) => decodeUtf8(buf, s, e, errors),
      separatorBytes: (separator) => {
        const bytes = Buffer.from(separator, 'utf8');
        return bytes.toString('utf8') === separator ? bytes : null; // a lone surrogate has no utf-8 bytes
      },
    };
  }
  if (ASCII.has(name)) {
    return { encoding: 'ascii', errors, decode: (buf, s = 0, e = buf.length) => decodeAscii(buf, s, e, errors), separatorBytes: asciiSeparator };
  }
  if (LATIN1.has(name)) {
    return {
      encoding: 'latin-1', errors,
      decode: (buf, s = 0, e = buf.length) => buf.toString('latin1', s, e),
      separatorBytes: (separator) => (/^[\x00-\xff]+$/.test(separator) ? Buffer.from(separator, 'latin1') : null),
    };
  }
  return textDecoderFor(encoding, errors);
}

/** Throws RangeError now for a bad charset or error mode, so a typo fails at the call, not on the first non-ASCII byte. */
export function checkEncoding(encoding = 'utf-8', errors: DecodeErrors = 'replace'): void {
  decoderFor(encoding, errors);
}

/** Decodes bytes with a Python-style encoding name and error mode. */
export function decodeBytes(bytes: Uint8Array, encoding = 'utf-8', errors: DecodeErrors = 'replace'): string {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return decoderFor(encoding, errors).decode(buf, 0, buf.length);
}

/** The FormError of errors: 'strict', naming the first bad byte and showing the bytes around it. */
function strictError(encoding: string, buf: Buffer, start: number, end: number, at: number): FormError {
  const where = at >= 0 ? ` byte 0x${buf[at]!.toString(16).padStart(2, '0')} at offset ${at - start}` : '';
  const from = at >= 0 ? Math.max(start, at - 20) : start;
  const shown = buf.toString('latin1', from, Math.min(end, from + 40));
  return new FormError('BAD_ENCODING', `cannot decode${where} as ${encoding} (errors 'strict'): ${JSON.stringify(shown)}`);
}

// ---- utf-8 -------------------------------------------------------------------------------

/**
 * Length of the invalid sequence at `i` (Unicode's "maximal subpart", which Python's decoder
 * reports too), or 0 when a valid character starts there.
 */
function invalidUtf8Length(buf: Buffer, i: number, end: number): number {
  const b0 = buf[i]!;
  if (b0 < 0x80) return 0;
  let need: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) need = 1;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    need = 2;
    if (b0 === 0xe0) lo = 0xa0; // no overlong forms
    else if (b0 === 0xed) hi = 0x9f; // no surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    need = 3;
    if (b0 === 0xf0) lo = 0x90;
    else if (b0 === 0xf4) hi = 0x8f; // nothing above U+10FFFF
  } else return 1;
  for (let k = 1; k <= need; k++) {
    if (i + k >= end) return k; // truncated: the bytes so far are one bad sequence
    const b = buf[i + k]!;
    if (b < lo || b > hi) return k;
    lo = 0x80;
    hi = 0xbf;
  }
  return 0;
}

function decodeUtf8(buf: Buffer, start: number, end: number, errors: DecodeErrors): string {
  // Buffer's decoder replaces exactly the sequences Python's does, one U+FFFD each.
  if (errors === 'replace') return buf.toString('utf8', start, end);
  if (isUtf8(buf.subarray(start, end))) return buf.toString('utf8', start, end);
  let out = '';
  let run = start;
  let i = start;
  while (i < end) {
    if (buf[i]! < 0x80) {
      i++;
      continue;
    }
    const bad = invalidUtf8Length(buf, i, end);
    if (bad === 0) {
      const b0 = buf[i]!;
      i += b0 < 0xe0 ? 2 : b0 < 0xf0 ? 3 : 4;
      continue;
    }
    if (errors === 'strict') throw strictError('utf-8', buf, start, end, i);
    out += buf.toString('utf8', run, i);
    if (errors === 'surrogateescape') for (let k = i; k < i + bad; k++) out += String.fromCharCode(0xdc00 + buf[k]!);
    i += bad;
    run = i;
  }
  return out + buf.toString('utf8', run, end);
}

// ---- ascii -------------------------------------------------------------------------------

function decodeAscii(buf: Buffer, start: number, end: number, errors: DecodeErrors): string {
  // Not buf.toString('ascii'): that one clears the high bit instead of reporting the byte.
  const text = buf.toString('latin1', start, end);
  if (isAscii(buf.subarray(start, end))) return text;
  if (errors === 'strict') {
    const at = buf.subarray(start, end).findIndex((b) => b >= 0x80);
    throw strictError('ascii', buf, start, end, start + at);
  }
  return text.replace(/[\x80-\xff]/g, substitute(errors));
}

function substitute(errors: 'replace' | 'ignore' | 'surrogateescape'): (ch: string) => string {
  if (errors === 'replace') return () => '\ufffd';
  if (errors === 'ignore') return () => '';
  return (ch) => String.fromCharCode(0xdc00 + ch.charCodeAt(0));
}

// ---- TextDecoder's charsets ----------------------------------------------------------------

function newTextDecoder(encoding: string, fatal: boolean): InstanceType<typeof TextDecoder> {
  // ignoreBOM: a BOM is a character like any other, as for Python's codecs (but utf-8-sig).
  try {
    return new TextDecoder(encoding, { fatal, ignoreBOM: true });
  } catch {
    // Python spells charsets with underscores ('euc_jp'), WHATWG with hyphens.
    try {
      return new TextDecoder(encoding.replace(/_/g, '-'), { fatal, ignoreBOM: true });
    } catch {
      throw new RangeError(`unknown encoding: ${encoding}`);
    }
  }
}

/**
 * cp1252 for 0x80..0x9f, as Python's codec has it ('\ufffd': not in the charset). Node 20's
 * TextDecoder('windows-1252') decodes ISO-8859-1 instead, so this one is done here.
 */
const CP1252_C1 = '\u20ac\ufffd\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\ufffd\u017d\ufffd' +
  '\ufffd\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\ufffd\u017e\u0178';

function textDecoderFor(encoding: string, errors: DecodeErrors): Decoder {
  const probe = newTextDecoder(encoding, errors === 'strict');
  const name = probe.encoding;
  const separatorBytes = (separator: string): Buffer | null => {
    if (NOT_ASCII_BASED.has(name)) return null;
    if (ASCII_TRAILS.has(name) && !/^[\x00-\x2f\x3a-\x3f]+$/.test(separator)) return null;
    return asciiSeparator(separator);
  };
  if (SINGLE_BYTE.has(name)) return { encoding: name, errors, decode: singleByteDecoder(name, errors), separatorBytes };
  if (errors === 'ignore' || errors === 'surrogateescape') {
    throw new RangeError(`errors '${errors}' works with utf-8, ascii, latin-1 and single-byte charsets, not with ${name}`);
  }
  const decode = (buf: Buffer, start = 0, end = buf.length): string => {
    try {
      return probe.decode(buf.subarray(start, end));
    } catch {
      throw strictError(name, buf, start, end, -1);
    }
  };
  return { encoding: name, errors, decode, separatorBytes };
}

/**
 * One byte, one character: a character that stands for "not in the charset" marks its byte.
 * That is U+FFFD, and in the windows-* tables also a byte mapped to its own C1 control, which
 * WHATWG puts where Python's cp125x (and Microsoft's tables) have nothing.
 */
function singleByteDecoder(name: string, errors: DecodeErrors): (buf: Buffer, start?: number, end?: number) => string {
  const cp1252 = name === 'windows-1252';
  const text = cp1252 ? null : newTextDecoder(name, false);
  const c1Unmapped = !cp1252 && name.startsWith('windows-');
  const unmapped = cp1252 ? /[\x80-\x9f]/ : c1Unmapped ? /[\x80-\x9f\ufffd]/ : /\ufffd/;
  return (buf, start = 0, end = buf.length) => {
    const out = text === null ? buf.toString('latin1', start, end) : text.decode(buf.subarray(start, end));
    if (!unmapped.test(out)) return out;
    let fixed = '';
    for (let i = 0; i < out.length; i++) {
      let c = out.charCodeAt(i);
      if (cp1252 && c >= 0x80 && c <= 0x9f) c = CP1252_C1.charCodeAt(c - 0x80);
      const undefinedByte = c === 0xfffd || (c1Unmapped && c >= 0x80 && c <= 0x9f);
      if (!undefinedByte) fixed += String.fromCharCode(c);
      else if (errors === 'strict') throw strictError(name, buf, start, end, start + i);
      else if (errors === 'replace') fixed += '\ufffd';
      else if (errors === 'surrogateescape') fixed += String.fromCharCode(0xdc00 + buf[start + i]!);
    }
    return fixed;
  };
}
