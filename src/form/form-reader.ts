/**
 * Turns an environ plus body bytes into a FieldStorage, following Python's cgi rules for which
 * parser runs and where the query string goes. One reader serves both the synchronous (fd 0)
 * and the asynchronous (`tsgi.input`) ways in.
 */
import { checkEncoding, type DecodeErrors } from './charset.js';
import { FormError } from './errors.js';
import { FieldStorage, MiniFieldStorage, type FormItem } from './field-storage.js';
import { newRecord, parseHeader } from './header.js';
import { MultipartParser, type MultipartHandlers } from './multipart.js';
import { readFdSync, TempStore, UploadFile, type UploadFileOptions } from './upload-file.js';
import { parseQsl, UrlencodedParser, type UrlencodedOptions } from './urlencoded.js';

/** CGI variables (process.env or a TSGI environ). */
export type FormEnviron = Readonly<Record<string, unknown>>;

export interface FormOptions extends UploadFileOptions {
  /** Keep blank values of urlencoded fields as ''. Default false. */
  keepBlankValues?: boolean;
  /** Throw on malformed urlencoded fields. Default false. */
  strictParsing?: boolean;
  /** Charset of text fields and part headers. Default 'utf-8'. */
  encoding?: string;
  /** Bytes that are not in the charset: 'replace' (default), 'strict', 'ignore' or 'surrogateescape', as in Python. */
  errors?: DecodeErrors;
  /** Urlencoded field separator. Default '&' (CVE-2021-23336). */
  separator?: string;
  /** Most fields: query string, body fields and parts at every depth together. Default 1000. */
  maxNumFields?: number;
  /** Largest text field (a part without file name, or a urlencoded pair), in bytes. Default 1 MiB. */
  maxFieldSize?: number;
  /** All text fields together (the whole urlencoded body), in bytes. Default 16 MiB. */
  maxFieldsSize?: number;
  /** Largest file part, in bytes. Default: only maxBodySize. */
  maxFileSize?: number;
  /** Largest header block of one part, in bytes. Default 16 KiB. */
  maxHeaderSize?: number;
  /** Largest body, in bytes, checked against CONTENT_LENGTH first. Default 1 GiB. Python's `maxlen`. */
  maxBodySize?: number;
}

const MAX_DEPTH = 8;
const DEFAULTS = {
  maxNumFields: 1000,
  maxFieldSize: 1024 * 1024,
  maxFieldsSize: 16 * 1024 * 1024,
  maxFileSize: Infinity,
  maxHeaderSize: 16 * 1024,
  maxBodySize: 1024 * 1024 * 1024,
};

function envString(environ: FormEnviron, key: string): string | undefined {
  const value = environ[key];
  return typeof value === 'string' ? value : undefined;
}

/** Python's int() on CONTENT_LENGTH; anything else means "unknown" (-1). */
function parseContentLength(text: string | undefined): number {
  if (text === undefined || !/^\s*\+?\d+\s*$/.test(text)) return -1;
  return Number(text.trim());
}

interface Sink {
  write(chunk: Uint8Array): void;
  end(): void;
}

export class FormReader {
  /** Bytes still to read: CONTENT_LENGTH, or Infinity when unknown, 0 when there is no body to read. */
  remaining: number;
  readonly #form: FieldStorage;
  readonly #options: Required<Pick<FormOptions, keyof typeof DEFAULTS>> & FormOptions;
  readonly #sink: Sink | null;
  #fields = 0;
  #textBytes = 0;
  #read = 0;
  /** One unlinked temporary file for every part of this form that spills. */
  readonly #store: TempStore;

  constructor(form: FieldStorage, environ: FormEnviron, options: FormOptions) {
    this.#form = form;
    this.#options = { ...DEFAULTS, ...definedOnly(options) };
    this.#store = new TempStore(this.#options.tempDir);
    checkEncoding(options.encoding, options.errors);
    form.encoding = options.encoding ?? 'utf-8';
    form.errors = options.errors ?? 'replace';
    const method = (envString(environ, 'REQUEST_METHOD') ?? 'GET').toUpperCase();
    const query = envString(environ, 'QUERY_STRING');
    const headers = newRecord();
    form.headers = headers;

    if (method === 'GET' || method === 'HEAD') {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      form.type = 'application/x-www-form-urlencoded';
      form.list = [];
      this.#addQuery(query ?? '');
      form.done = 1;
      this.remaining = 0;
      this.#sink = null;
      return;
    }
    if (method === 'POST') headers['content-type'] = 'application/x-www-form-urlencoded';
    const contentType = envString(environ, 'CONTENT_TYPE');
    if (contentType !== undefined) headers['content-type'] = contentType;
    const contentLengthText = envString(environ, 'CONTENT_LENGTH');
    if (contentLengthText !== undefined) headers['content-length'] = contentLengthText;
    if (headers['content-type'] !== undefined) [form.type, form.typeOptions] = parseHeader(headers['content-type']);
    const length = parseContentLength(contentLengthText);
    form.contentLength = length;
    if (length > this.#options.maxBodySize) {
      throw new FormError('BODY_TOO_LARGE', `Maximum content length exceeded: ${length} > ${this.#options.maxBodySize} bytes (maxBodySize)`);
    }
    this.remaining = length >= 0 ? length : Infinity;

    const type = form.type.toLowerCase();
    if (type === 'application/x-www-form-urlencoded') {
      this.#sink = this.#urlencoded(query);
    } else if (type.startsWith('multipart/')) {
      form.list = [];
      if (query) this.#addQuery(query);
      this.#sink = this.#multipart(form.typeOptions['boundary'], form.list, 0, null);
    } else {
      this.#sink = this.#single();
    }
  }

  #countField(): void {
    if (++this.#fields > this.#options.maxNumFields) throw new FormError('TOO_MANY_FIELDS', 'Max number of fields exceeded');
  }

  #urlOptions(): UrlencodedOptions {
    const o = this.#options;
    return {
      keepBlankValues: o.keepBlankValues, strictParsing: o.strictParsing, encoding: o.encoding,
      errors: o.errors, separator: o.separator, maxNumFields: o.maxNumFields,
    };
  }

  #addQuery(query: string): void {
    const list = this.#form.list!;
    for (const [name, value] of parseQsl(query, { ...this.#urlOptions(), maxNumFields: this.#options.maxNumFields - this.#fields })) {
      this.#countField();
      list.push(new MiniFieldStorage(name, value));
    }
  }

  #urlencoded(query: string | undefined): Sink {
    const form = this.#form;
    const maxFieldsSize = this.#options.maxFieldsSize;
    const tooLarge = (size: string): FormError =>
      new FormError('FIELD_TOO_LARGE', `urlencoded body ${size} ${maxFieldsSize} bytes, the limit of all text fields together (maxFieldsSize)`);
    if (form.contentLength > maxFieldsSize) throw tooLarge(`of ${form.contentLength} bytes (CONTENT_LENGTH) is larger than`);
    const list: FormItem[] = (form.list = []);
    const parser = new UrlencodedParser((name, value) => {
      this.#countField();
      list.push(new MiniFieldStorage(name, value));
    }, {
      ...this.#urlOptions(),
      maxFieldSize: this.#options.maxFieldSize,
      maxBodySize: this.#options.maxBodySize,
    });
    return {
      write: (chunk) => {
        if ((this.#textBytes += chunk.length) > maxFieldsSize) throw tooLarge('larger than');
        parser.write(chunk);
      },
      end: () => {
        parser.end();
        this.#checkComplete();
        if (query) this.#addQuery(query); // Python appends the query string after the body
        form.done = 1;
      },
    };
  }

  #checkComplete(): void {
    const expected = this.#form.contentLength;
    if (expected >= 0 && this.#read < expected) {
      throw new FormError('TRUNCATED', `body ended after ${this.#read} of ${expected} bytes (CONTENT_LENGTH)`);
    }
  }

  #single(): Sink {
    const form = this.#form;
    const file = (form.file = new UploadFile(this.#options, this.#store));
    return {
      write: (chunk) => file.write(chunk),
      end: () => {
        file.finish();
        form.done = form.contentLength >= 0 && this.#read < form.contentLength ? -1 : 1;
      },
    };
  }

  /** A multipart parser whose parts go into `list`; nested multipart parts get parsers of their own. */
  #multipart(boundary: string | undefined, list: FormItem[], depth: number, container: FieldStorage | null): Sink & { parser: MultipartParser } {
    if (boundary === undefined) throw new FormError('BAD_BOUNDARY', 'multipart Content-Type has no boundary parameter');
    const o = this.#options;
    const encoding = this.#form.encoding;
    const errors = this.#form.errors;
    let part: FieldStorage | null = null;
    let nested: (Sink & { parser: MultipartParser }) | null = null;
    let text = false;
    const handlers: MultipartHandlers = {
      onPartBegin: (info) => {
        this.#countField();
        part = FieldStorage.part(info, encoding, errors);
        list.push(part);
        nested = null;
        if (info.type.toLowerCase().startsWith('multipart/')) {
          if (depth + 1 >= MAX_DEPTH) throw new FormError('MALFORMED', `multipart nested more than ${MAX_DEPTH} levels deep`);
          part.list = [];
          nested = this.#multipart(info.typeOptions['boundary'], part.list, depth + 1, part);
        } else {
          part.file = new UploadFile(o, this.#store);
          text = info.filename === null;
        }
      },
      onPartData: (data) => {
        part!.bytesRead += data.length;
        if (nested) return nested.write(data);
        if (text && (this.#textBytes += data.length) > o.maxFieldsSize) {
          throw new FormError('FIELD_TOO_LARGE', `text fields larger than ${o.maxFieldsSize} bytes together (maxFieldsSize)`);
        }
        part!.file!.write(data);
      },
      onPartEnd: (complete) => {
        if (nested) nested.end();
        part!.file?.finish();
        part!.done = !complete ? -1 : parser.done === 1 ? 1 : 0;
        part = null;
        nested = null;
      },
    };
    const parser = new MultipartParser(boundary, handlers, {
      encoding, errors, maxParts: Infinity, maxHeaderSize: o.maxHeaderSize,
      maxFieldSize: o.maxFieldSize, maxFileSize: o.maxFileSize,
    });
    return {
      parser,
      write: (chunk) => parser.write(chunk),
      end: () => {
        parser.end();
        if (container === null) this.#form.done = parser.done;
      },
    };
  }

  /** Takes body bytes; returns false once CONTENT_LENGTH bytes have arrived. */
  write(chunk: Uint8Array): boolean {
    if (this.#sink === null || this.remaining <= 0) return false;
    if (chunk.length > this.remaining) chunk = chunk.subarray(0, this.remaining);
    this.remaining -= chunk.length;
    this.#read += chunk.length;
    this.#form.bytesRead = this.#read;
    if (this.#read > this.#options.maxBodySize) {
      throw new FormError('BODY_TOO_LARGE', `Maximum content length exceeded: body larger than ${this.#options.maxBodySize} bytes (maxBodySize)`);
    }
    this.#sink.write(chunk);
    return this.remaining > 0;
  }

  end(): void {
    this.#sink?.end();
  }

  get wantsBody(): boolean {
    return this.#sink !== null && this.remaining > 0;
  }
}

function definedOnly<T extends object>(options: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(options) as (keyof T)[]) if (options[key] !== undefined) out[key] = options[key];
  return out;
}

const CHUNK = 64 * 1024;

/** Reads the body synchronously from a file descriptor, or takes it from memory. */
export function feedSync(reader: FormReader, input: number | Uint8Array | string): void {
  if (typeof input === 'string') input = Buffer.from(input, 'utf8');
  if (typeof input !== 'number') {
    if (reader.wantsBody) reader.write(input);
    reader.end();
    return;
  }
  const buffer = Buffer.allocUnsafe(CHUNK);
  while (reader.wantsBody) {
    const n = readRetrying(input, buffer, Math.min(CHUNK, reader.remaining));
    if (n === 0) break;
    reader.write(buffer.subarray(0, n));
  }
  reader.end();
}

function readRetrying(fd: number, buffer: Buffer, length: number): number {
  for (;;) {
    try {
      return readFdSync(fd, buffer, 0, length, null);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EOF') return 0;
      if (code !== 'EAGAIN') throw error;
      // A non-blocking stdin: wait a little without spinning.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

/** Reads the body from `tsgi.input` (any iterable of byte chunks). */
export async function feedAsync(reader: FormReader, input: unknown): Promise<void> {
  if (reader.wantsBody) {
    if (input instanceof Uint8Array) {
      reader.write(input);
    } else if (typeof input === 'string') {
      reader.write(Buffer.from(input, 'utf8'));
    } else if (input && (Symbol.asyncIterator in (input as object) || Symbol.iterator in (input as object))) {
      for await (const chunk of input as AsyncIterable<Uint8Array | string>) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
        if (!reader.write(bytes)) break;
      }
    } else if (input !== undefined && input !== null) {
      throw new TypeError("environ['tsgi.input'] must be an iterable of Uint8Array chunks");
    }
  }
  reader.end();
}
