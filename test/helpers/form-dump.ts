/** Dumps a parse result in the same JSON shape as test/fixtures/form/cgi_dump.py. */
import { FieldStorage, FormError, parseHeader, parseQsl, type FieldValue, type FormItem } from '../../src/form/index.js';
import type { Case, FormCase } from './form-corpus.js';

export type Dump = Record<string, unknown>;

function dumpValue(value: FieldValue): unknown {
  if (value === null) return null;
  if (Buffer.isBuffer(value)) return { bytes: value.toString('base64') };
  if (Array.isArray(value)) return { list: value.map(dumpItem) };
  return { text: value };
}

export function dumpItem(item: FormItem): Dump {
  if (!(item instanceof FieldStorage)) return { kind: 'mini', name: item.name, value: dumpValue(item.value) };
  return {
    kind: 'part',
    name: item.name,
    filename: item.filename,
    type: item.type,
    disposition: item.disposition,
    done: item.done,
    value: dumpValue(item.value),
  };
}

export function dumpForm(form: FieldStorage): Dump {
  return { type: form.type, list: form.list === null ? null : form.list.map(dumpItem) };
}

/** Runs one case through tsgi (the synchronous way in). Errors become `{ error }`. */
export function runCase(c: Case): Dump {
  try {
    if (c.kind === 'qsl') return { pairs: parseQsl(c.qs, c.options ?? {}) };
    if (c.kind === 'header') {
      const [key, params] = parseHeader(c.line);
      return { key, params: { ...params } };
    }
    const form = new FieldStorage({ ...(c.options ?? {}), environ: c.environ, input: c.body, memoryThreshold: 1000 });
    try {
      return dumpForm(form);
    } finally {
      form.close();
    }
  } catch (error) {
    return error instanceof FormError ? { error: String(error), code: error.code } : { error: String(error) };
  }
}

/** Runs a form case through tsgi the asynchronous way, its body arriving in the given chunks. */
export async function runCaseInChunks(c: FormCase, chunks: Uint8Array[]): Promise<Dump> {
  try {
    const form = await FieldStorage.from({ ...c.environ, 'tsgi.input': chunks }, { ...(c.options ?? {}), memoryThreshold: 1000 });
    try {
      return dumpForm(form);
    } finally {
      form.close();
    }
  } catch (error) {
    return error instanceof FormError ? { error: String(error), code: error.code } : { error: String(error) };
  }
}

/** Errors compare equal whatever their wording: both sides failed. */
export function normalize(dump: Dump): Dump {
  return 'error' in dump ? { error: true } : JSON.parse(JSON.stringify(dump));
}
