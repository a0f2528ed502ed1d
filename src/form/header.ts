/**
 * Content-Type / Content-Disposition parsing, Python's `cgi.parse_header` with RFC 2231 /
 * RFC 5987 extended parameters (`filename*=UTF-8''...`) decoded on top.
 */
import { decodeBytes } from './charset.js';

/** Parameters of a header value: lower-cased names, unquoted values. */
export type HeaderParams = Record<string, string>;

// Objects made by `new Dict()` have a prototype without Object.prototype in its chain, so a
// name like `__proto__` or `constructor` is just a key; unlike Object.create(null) they stay
// in V8's fast mode, which matters with thousands of parts.
const Dict = function Dict() {} as unknown as new () => Record<string, string>;
// console.log would print `Dict <[Object: null prototype] {}> { ... }`: show the keys as a plain
// object instead. A symbol key never meets a form's string keys; node:util's `inspect` arrives
// as the third argument, so this file imports nothing (CGI scripts pay for every import).
type Inspect = (value: unknown, options: unknown) => string;
Dict.prototype = Object.freeze(Object.assign(Object.create(null) as object, {
  [Symbol.for('nodejs.util.inspect.custom')](this: Record<string, unknown>, _depth: number, options: unknown, inspect: Inspect) {
    return inspect({ ...this }, options);
  },
}));

/** A new, empty record with no inherited keys. */
export function newRecord<V = string>(): Record<string, V> {
  return new Dict() as Record<string, V>;
}

export interface ParseHeaderOptions {
  /**
   * Decode RFC 2231 / 5987 extended parameters (`name*=charset'lang'%XX`, `name*0=`, ...)
   * into the plain name, where they win over a plain parameter of the same name. Default true.
   */
  extendedParams?: boolean;
}

/**
 * Splits `value; a=1; b="x;y"` into the main value and its parameters, the way Python's
 * `parse_header` does: `;` inside quotes does not split, names are lower-cased, the main value
 * keeps its case, quotes are removed and `\\` / `\"` unescaped (other backslashes stay, so a
 * Windows path in a quoted file name survives).
 */
export function parseHeader(line: string, options: ParseHeaderOptions = {}): [string, HeaderParams] {
  const pieces = splitParams(line);
  const key = (pieces[0] ?? '').trim();
  const params: HeaderParams = newRecord();
  let extended = false;
  for (let i = 1; i < pieces.length; i++) {
    const piece = pieces[i]!;
    const eq = piece.indexOf('=');
    if (eq < 0) continue;
    const name = piece.slice(0, eq).trim().toLowerCase();
    let value = piece.slice(eq + 1).trim();
    if (value.length >= 2 && value[0] === '"' && value[value.length - 1] === '"') {
      value = unescapeQuoted(value.slice(1, -1));
    }
    params[name] = value;
    if (name.includes('*')) extended = true;
  }
  if (extended && options.extendedParams !== false) applyExtendedParams(params);
  return [key, params];
}

/** Splits at `;` outside double quotes (a backslash escapes the next character inside quotes). */
function splitParams(line: string): string[] {
  const pieces: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) quoted = false;
    } else if (c === 0x22) {
      quoted = true;
    } else if (c === 0x3b /* ; */) {
      pieces.push(line.slice(start, i).trim());
      start = i + 1;
    }
  }
  pieces.push(line.slice(start).trim());
  return pieces;
}

function unescapeQuoted(value: string): string {
  if (!value.includes('\\')) return value;
  return value.replace(/\\([\\"])/g, '$1');
}

/**
 * RFC 2231: `name*=charset'lang'pct-encoded` and continuations `name*0=`, `name*1*=` ...
 * The decoded value is stored under the plain name; the raw pieces stay under their own keys.
 */
function applyExtendedParams(params: HeaderParams): void {
  const groups = new Map<string, { index: number; value: string; encoded: boolean }[]>();
  for (const key of Object.keys(params)) {
    const match = /^([^*]+)\*(?:(\d+)(\*)?)?$/.exec(key);
    if (!match) continue;
    const base = match[1]!;
    const index = match[2] === undefined ? -1 : Number(match[2]);
    const encoded = match[2] === undefined || match[3] === '*';
    let list = groups.get(base);
    if (!list) groups.set(base, (list = []));
    list.push({ index, value: params[key]!, encoded });
  }
  for (const [base, list] of groups) {
    const single = list.find((p) => p.index === -1);
    const decoded = single ? decodeExtended(single.value) : decodeContinuations(list);
    if (decoded !== null) params[base] = decoded;
  }
}

function decodeContinuations(list: { index: number; value: string; encoded: boolean }[]): string | null {
  const sorted = list.filter((p) => p.index >= 0).sort((a, b) => a.index - b.index);
  if (sorted.length === 0 || sorted[0]!.index !== 0) return null;
  let charset = 'us-ascii';
  const bytes: number[] = [];
  for (let n = 0; n < sorted.length; n++) {
    const part = sorted[n]!;
    if (part.index !== n) break; // a gap ends the value (RFC 2231 section 3)
    let text = part.value;
    if (part.encoded && n === 0) {
      const head = splitCharset(text);
      if (!head) return null;
      charset = head.charset;
      text = head.rest;
    }
    if (part.encoded) pushPercentDecoded(text, bytes);
    else for (const b of Buffer.from(text, 'utf8')) bytes.push(b);
  }
  return decodeCharset(charset, Uint8Array.from(bytes));
}

function decodeExtended(value: string): string | null {
  const head = splitCharset(value);
  if (!head) return null;
  const bytes: number[] = [];
  pushPercentDecoded(head.rest, bytes);
  return decodeCharset(head.charset, Uint8Array.from(bytes));
}

function splitCharset(value: string): { charset: string; rest: string } | null {
  const first = value.indexOf("'");
  const second = first < 0 ? -1 : value.indexOf("'", first + 1);
  if (second < 0) return null;
  return { charset: value.slice(0, first).toLowerCase() || 'us-ascii', rest: value.slice(second + 1) };
}

function pushPercentDecoded(text: string, out: number[]): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && i + 2 < text.length && isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) {
      out.push(c);
    } else {
      for (const b of Buffer.from(text[i]!, 'utf8')) out.push(b);
    }
  }
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function decodeCharset(charset: string, bytes: Uint8Array): string | null {
  const label = charset === 'us-ascii' ? 'utf-8' : charset;
  try {
    // The form's decoder: ISO-8859-1 is the real one, not WHATWG's windows-1252.
    return decodeBytes(bytes, label, 'replace');
  } catch {
    return null; // unknown charset: keep the plain parameter, if any
  }
}
