/**
 * FieldStorage and MiniFieldStorage: Python's `cgi` form API over the streaming parsers.
 * `new FieldStorage()` reads process.env and fd 0 synchronously (a CGI script written the
 * Python way); `await FieldStorage.from(environ)` reads `tsgi.input` (any front end).
 */
import type { DecodeErrors } from './charset.js';
import { decodeBytes } from './charset.js';
import { reprBytes, reprString } from './repr.js';
import { feedAsync, feedSync, FormReader, type FormEnviron, type FormOptions } from './form-reader.js';
import { newRecord, type HeaderParams } from './header.js';
import type { PartInfo } from './multipart.js';
import type { UploadFile } from './upload-file.js';

export type { FormOptions, FormEnviron } from './form-reader.js';

/** An item of a form: a part (FieldStorage) or a plain name/value pair (MiniFieldStorage). */
export type FormItem = FieldStorage | MiniFieldStorage;

/** What `value` holds: text for fields, bytes for files, items for nested multipart. */
export type FieldValue = string | Buffer | FormItem[] | null;

export interface FieldStorageOptions extends FormOptions {
  /** The CGI variables. Default `process.env`. */
  environ?: FormEnviron;
  /** Where the body comes from: a file descriptor (default 0, stdin) or the bytes themselves. */
  input?: number | Uint8Array | string;
}

const PART = Symbol('part');
/** The empty, frozen parameters and headers of items that have none. */
const NO_PARAMS: Record<string, string> = Object.freeze(newRecord());

/** A field from a query string or urlencoded body: just a name and a text value. */
export class MiniFieldStorage {
  readonly filename = null;
  readonly list = null;
  readonly file = null;
  readonly type = null;
  readonly typeOptions: HeaderParams = NO_PARAMS;
  readonly disposition = null;
  readonly dispositionOptions: HeaderParams = NO_PARAMS;
  readonly headers: Record<string, string> = NO_PARAMS;

  constructor(readonly name: string, readonly value: string) {}

  /** Python's repr: `MiniFieldStorage('name', 'value')`. */
  repr(): string {
    return `MiniFieldStorage(${reprString(this.name)}, ${reprString(this.value)})`;
  }

  toString(): string {
    return this.repr();
  }
}

/**
 * A form, or one part of a multipart form. At the top level it works like a read-only map from
 * field names to items; a part has a name, maybe a filename, a type, headers and its content.
 */
export class FieldStorage implements Iterable<string> {
  /** Field name from Content-Disposition, or null (always null at the top level). */
  name: string | null = null;
  /** Client-side file name (RFC 5987 `filename*` wins), or null when the part is not a file. */
  filename: string | null = null;
  /** Content type without parameters. */
  type = 'text/plain';
  typeOptions: HeaderParams = NO_PARAMS;
  /** Content-Disposition without parameters ('' when absent). */
  disposition = '';
  dispositionOptions: HeaderParams = NO_PARAMS;
  /** Headers by lower-cased name. */
  headers: Record<string, string> = NO_PARAMS;
  /** The items of a form or nested multipart part; null for a leaf part or a non-form body. */
  list: FormItem[] | null = null;
  /** The content of a leaf part or a non-form body; null otherwise. */
  file: UploadFile | null = null;
  /** 1: the closing delimiter followed; 0: another part followed; -1: the body ended early. */
  done: 0 | 1 | -1 = 0;
  /** CONTENT_LENGTH of the form, -1 when unknown (Python's `length`). */
  contentLength = -1;
  /** Bytes of the body read for this item. */
  bytesRead = 0;
  /** Charset used for text values. */
  encoding = 'utf-8';
  errors: DecodeErrors = 'replace';

  /**
   * Reads the form of the current CGI request: `options.environ` (default process.env) and the
   * body from `options.input` (default fd 0), synchronously.
   */
  constructor(options: FieldStorageOptions | typeof PART = {}) {
    if (options === PART) return;
    const environ = options.environ ?? (process.env as FormEnviron);
    const reader = new FormReader(this, environ, options);
    try {
      feedSync(reader, options.input ?? 0);
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** Reads the form of a TSGI request from `environ['tsgi.input']`. */
  static async from(environ: FormEnviron, options: FormOptions = {}): Promise<FieldStorage> {
    const form = new FieldStorage(PART);
    try {
      const reader = new FormReader(form, environ, options);
      await feedAsync(reader, environ['tsgi.input']);
    } catch (error) {
      form.close();
      throw error;
    }
    return form;
  }

  /** @internal A part built by the multipart reader. */
  static part(info: PartInfo, encoding: string, errors: DecodeErrors): FieldStorage {
    const part = new FieldStorage(PART);
    part.name = info.name;
    part.filename = info.filename;
    part.type = info.type;
    part.typeOptions = info.typeOptions;
    part.disposition = info.disposition;
    part.dispositionOptions = info.dispositionOptions;
    part.headers = info.headers;
    part.encoding = encoding;
    part.errors = errors;
    return part;
  }

  /**
   * The content: the items for a form, bytes for a file part, text for any other part (decoded
   * with `encoding`). Read from the file on every access, as in Python.
   */
  get value(): FieldValue {
    if (this.file) {
      const bytes = this.file.bytes();
      return this.filename !== null ? bytes : decodeBytes(bytes, this.encoding, this.errors);
    }
    return this.list;
  }

  #items(): FormItem[] {
    if (this.list === null) throw new TypeError('not indexable');
    return this.list;
  }

  /** The item named `key`, a list of them when the name repeats, or undefined. */
  get(key: string): FormItem | FormItem[] | undefined {
    const found = this.#items().filter((item) => item.name === key);
    if (found.length === 0) return undefined;
    return found.length === 1 ? found[0] : found;
  }

  /** The value of `key` (a list when the name repeats), or `defaultValue`. */
  getValue(key: string): FieldValue | FieldValue[] | undefined;
  getValue<D>(key: string, defaultValue: D): FieldValue | FieldValue[] | D;
  getValue<D>(key: string, defaultValue?: D): FieldValue | FieldValue[] | D | undefined {
    const item = this.get(key);
    if (item === undefined) return defaultValue;
    return Array.isArray(item) ? item.map((x) => x.value) : item.value;
  }

  /** The first value of `key`, or `defaultValue`. */
  getFirst(key: string): FieldValue | undefined;
  getFirst<D>(key: string, defaultValue: D): FieldValue | D;
  getFirst<D>(key: string, defaultValue?: D): FieldValue | D | undefined {
    const item = this.get(key);
    if (item === undefined) return defaultValue;
    return Array.isArray(item) ? item[0]!.value : item.value;
  }

  /** Every value of `key`, in order; empty when absent. */
  getList(key: string): FieldValue[] {
    return this.#items().filter((item) => item.name === key).map((item) => item.value);
  }

  /** Field names, each once, in the order they first appear (unnamed parts are left out). */
  keys(): string[] {
    const names = new Set<string>();
    for (const item of this.#items()) if (item.name !== null) names.add(item.name);
    return [...names];
  }

  has(key: string): boolean {
    return this.#items().some((item) => item.name === key);
  }

  /** Number of distinct field names (Python's `len(form)`). */
  get length(): number {
    return this.keys().length;
  }

  [Symbol.iterator](): Iterator<string> {
    return this.keys()[Symbol.iterator]();
  }

  /** Python's repr: `FieldStorage('name', 'file.txt', b'...')`. */
  repr(): string {
    const name = this.name === null ? 'None' : reprString(this.name);
    const filename = this.filename === null ? 'None' : reprString(this.filename);
    return `FieldStorage(${name}, ${filename}, ${reprValue(this.value)})`;
  }

  toString(): string {
    return this.repr();
  }

  /** Closes every file of this form and its parts; temporary files are removed. */
  close(): void {
    this.file?.close();
    if (this.list) for (const item of this.list) if (item instanceof FieldStorage) item.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

// Python's repr() of a part's value.

/** `repr()` of a form value: None, str, bytes, or a list of items with their own repr(). */
function reprValue(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'string') return reprString(value);
  if (value instanceof Uint8Array) return reprBytes(value);
  if (Array.isArray(value)) return `[${value.map(reprValue).join(', ')}]`;
  if (typeof value === 'object' && 'repr' in value && typeof value.repr === 'function') return String(value.repr());
  return String(value);
}

// Python's module-level cgi.parse() and cgi.parse_multipart().

/** Values by name: text for fields, bytes for files. */
export type ParsedForm = Record<string, (string | Buffer)[]>;

function collect(form: FieldStorage): ParsedForm {
  const out = newRecord<(string | Buffer)[]>();
  if (form.list === null) return out;
  for (const item of form.list) {
    if (item.name === null) continue;
    const value = item.value;
    if (typeof value === 'string' || Buffer.isBuffer(value)) (out[item.name] ??= []).push(value);
  }
  return out;
}

/**
 * Parses the current request's form (query string and body) into name → values, synchronously,
 * like Python's `cgi.parse()`. Unlike Python it never writes QUERY_STRING back into the environ.
 */
export function parse(options: FieldStorageOptions = {}): ParsedForm {
  const form = new FieldStorage(options);
  try {
    if (form.list === null) {
      // A body that is not a form: the query string alone, as Python does.
      const environ = options.environ ?? process.env;
      return collect(new FieldStorage({ ...options, environ: { REQUEST_METHOD: 'GET', QUERY_STRING: environ['QUERY_STRING'] } }));
    }
    return collect(form);
  } finally {
    form.close();
  }
}

/** Python's `pdict`: the boundary (text or bytes) and optionally the body length. */
export interface MultipartParams {
  boundary: string | Uint8Array;
  'CONTENT-LENGTH'?: string | number;
}

/**
 * Parses a multipart/form-data body into name → values, like Python's `cgi.parse_multipart()`.
 * The boundary may be text (Python 3 required bytes, bpo-40034).
 */
export function parseMultipart(input: Uint8Array | number, pdict: MultipartParams, options: FormOptions = {}): ParsedForm {
  const boundary = typeof pdict.boundary === 'string' ? pdict.boundary : Buffer.from(pdict.boundary).toString('latin1');
  const environ: Record<string, string> = {
    REQUEST_METHOD: 'POST',
    CONTENT_TYPE: `multipart/form-data; boundary="${boundary.replace(/["\\]/g, '\\$&')}"`,
  };
  if (pdict['CONTENT-LENGTH'] !== undefined) environ['CONTENT_LENGTH'] = String(pdict['CONTENT-LENGTH']);
  else if (typeof input !== 'number') environ['CONTENT_LENGTH'] = String(input.length);
  const form = new FieldStorage({ ...options, environ, input });
  try {
    return collect(form);
  } finally {
    form.close();
  }
}
