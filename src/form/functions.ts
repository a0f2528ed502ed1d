/** Python's module-level `cgi.parse()` and `cgi.parse_multipart()`. */
import { FieldStorage, type FieldStorageOptions } from './field-storage.js';
import type { FormOptions } from './form-reader.js';

/** Values by name: text for fields, bytes for files. */
export type ParsedForm = Record<string, (string | Buffer)[]>;

function collect(form: FieldStorage): ParsedForm {
  const out: ParsedForm = Object.create(null);
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
