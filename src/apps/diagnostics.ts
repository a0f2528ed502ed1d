/**
 * Python's cgi.test() and its print_* helpers: a page that shows what a CGI script was
 * given — the environment, the form, the current directory, the arguments — and explains
 * every CGI variable. Useful on a new server to see what it really passes; everything from
 * the request is HTML-escaped. `diagnosticsApp` serves the page from any front end;
 * `test()` and `printEnviron()` & co. write straight to stdout for Python-style scripts.
 */
import type { Application, Environ } from '../types.js';
import { escapeHtml } from '../debug/report.js';
import { FieldStorage } from '../form/index.js';
import { CGI_VARIABLES } from './cgi-variables.js';

/** One field of a parsed form, as FieldStorage items look: files have a filename. */
export interface FormItemView {
  name?: string | null;
  value?: unknown;
  filename?: string | null;
  type?: string | null;
}

/**
 * What the diagnostics need from a parsed form. FieldStorage satisfies it; so does
 * `searchParamsForm()` for urlencoded data.
 */
export interface FormView {
  keys(): Iterable<string>;
  /** Every value under `name`, in order. */
  getList(name: string): unknown[];
  /** The item or items under `name` (FieldStorage's), preferred when present: files keep their name and type. */
  get?(name: string): unknown;
}

function itemsOf(form: FormView, key: string): unknown[] {
  if (typeof form.get === 'function') {
    const items = form.get(key);
    if (items !== undefined) return Array.isArray(items) ? items : [items];
  }
  return form.getList(key);
}

/** Reads the form of a request for the diagnostics page. */
export type FormReader = (environ: Environ) => Promise<FormView | undefined>;

/** A FormView over URLSearchParams (query strings and urlencoded bodies). */
export function searchParamsForm(params: URLSearchParams): FormView {
  return {
    keys: () => [...new Set(params.keys())],
    getList: (name) => params.getAll(name),
  };
}

/** The default form reader: FieldStorage, so query strings, urlencoded bodies and uploads all show. */
export const readRequestForm: FormReader = (environ) => FieldStorage.from(environ);

export { CGI_VARIABLES };

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (value !== null && typeof value === 'object') {
    const item = value as FormItemView;
    if (typeof item.filename === 'string') {
      // An upload's size comes from its file when it has one: reading `value` would load it all.
      const fileSize = (item as { file?: { size?: unknown } | null }).file?.size;
      const length = typeof fileSize === 'number' ? fileSize : item.value instanceof Uint8Array || typeof item.value === 'string' ? item.value.length : undefined;
      const size = length === undefined ? '' : `, ${length} bytes`;
      return `file ${JSON.stringify(item.filename)} (${item.type ?? 'unknown type'}${size})`;
    }
    if ('value' in item) return describeValue(item.value);
  }
  return String(value);
}

function valueType(value: unknown): string {
  if (value !== null && typeof value === 'object') {
    if (typeof (value as FormItemView).filename === 'string') return 'file';
    return value.constructor?.name || 'object';
  }
  return typeof value;
}

/**
 * A non-string environ value as a reader wants it: an array's items, an object's members
 * (`tsgi.errors` is `{ write() }`, not `[object Object]`), anything else as text.
 */
function environValueText(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => (typeof item === 'string' ? JSON.stringify(item) : String(item))).join(', ')}]`;
  if (value === null || typeof value !== 'object') return String(value);
  const members = Object.keys(value).map((key) => (typeof (value as Record<string, unknown>)[key] === 'function' ? `${key}()` : key));
  const shown = members.slice(0, 8).join(', ') + (members.length > 8 ? `, ... (${members.length - 8} more)` : '');
  if (members.length > 0) return `{ ${shown} }`;
  return Symbol.asyncIterator in value ? '(async iterable)' : Symbol.iterator in value ? '(iterable)' : '{}';
}

/** The environment as a sorted definition list (Python's print_environ). */
export function environHtml(environ: Record<string, unknown> = process.env): string {
  let out = '<h3>Shell Environment:</h3>\n<dl>\n';
  for (const key of Object.keys(environ).sort()) {
    const value = environ[key];
    const shown = typeof value === 'string' ? value : `(${valueType(value)}) ${environValueText(value)}`;
    out += `<dt>${escapeHtml(key)}</dt><dd>${escapeHtml(shown)}</dd>\n`;
  }
  return out + '</dl>\n';
}

/** The form's fields, sorted by name, with the type and value of each (Python's print_form). */
export function formHtml(form: FormView | undefined): string {
  let out = '<h3>Form Contents:</h3>\n';
  let keys: string[];
  try {
    keys = form ? [...form.keys()].sort() : [];
  } catch (error) {
    // FieldStorage over a body that is not a form (JSON, say) has no keys: Python's test() shows that error too.
    return out + `<p>The request body is not a form: ${escapeHtml(error instanceof Error ? error.message : String(error))}</p>\n`;
  }
  if (keys.length === 0) return out + '<p>No form fields.</p>\n';
  out += '<dl>\n';
  for (const key of keys) {
    const values = itemsOf(form!, key);
    const type = values.length === 1 ? valueType(values[0]) : `list of ${values.length}`;
    const shown = values.length === 1 ? describeValue(values[0]) : `[${values.map(describeValue).join(', ')}]`;
    out += `<dt>${escapeHtml(key)}: <i>${escapeHtml(type)}</i></dt><dd>${escapeHtml(shown)}</dd>\n`;
  }
  return out + '</dl>\n';
}

/** The current directory, or why it cannot be read (Python's print_directory). */
export function directoryHtml(): string {
  let shown: string;
  try {
    shown = process.cwd();
  } catch (error) {
    shown = `(cannot tell: ${error instanceof Error ? error.message : String(error)})`;
  }
  return `<h3>Current Working Directory:</h3>\n<pre>${escapeHtml(shown)}</pre>\n`;
}

/** The command-line arguments (Python's print_arguments). */
export function argumentsHtml(argv: readonly string[] = process.argv): string {
  return `<h3>Command Line Arguments:</h3>\n<pre>${escapeHtml(JSON.stringify(argv, null, 1))}</pre>\n`;
}

/** What every CGI variable means (Python's print_environ_usage, with explanations). */
export function environUsageHtml(): string {
  let out = '<h3>These environment variables could have been set:</h3>\n<dl>\n';
  for (const [name, meaning] of CGI_VARIABLES) out += `<dt>${escapeHtml(name)}</dt><dd>${escapeHtml(meaning)}</dd>\n`;
  return out + '</dl>\n';
}

// Readable on a phone too: long values (Accept headers, user agents, paths) wrap instead of widening the page.
const PAGE_STYLE = 'body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;color:#1d2330}'
  + 'h1{font-size:1.5rem}h3{margin:1.6rem 0 .4rem;border-bottom:1px solid #e3e6ee}'
  + 'dt{font-family:ui-monospace,monospace;font-weight:600;margin-top:.3rem}dd{margin-left:1.5rem;overflow-wrap:anywhere}'
  + 'pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f7fb;padding:.5rem}';

/** The whole diagnostics page (Python's cgi.test() output). */
export function diagnosticsPage(environ: Record<string, unknown>, form: FormView | undefined): string {
  return '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
    + '<meta name="viewport" content="width=device-width, initial-scale=1"><title>CGI diagnostics</title>'
    + `<style>${PAGE_STYLE}</style></head><body>\n`
    + '<h1>CGI diagnostics</h1>\n'
    + directoryHtml() + argumentsHtml() + formHtml(form) + environHtml(environ) + environUsageHtml()
    + '</body></html>\n';
}

export interface DiagnosticsOptions {
  /** How to read the form; FieldStorage.from(environ) unless given. */
  readForm?: FormReader;
}

/**
 * An application answering every request with the diagnostics page. It shows the whole
 * environment: serve it only where nothing secret lives there, and never on a public site.
 */
export function diagnosticsApp(options: DiagnosticsOptions = {}): Application {
  const readForm = options.readForm ?? readRequestForm;
  return async (environ, startResponse) => {
    let form: FormView | undefined;
    let problem = '';
    try {
      form = await readForm(environ);
    } catch (error) {
      // A diagnostics page exists to show what arrived, a malformed body included.
      problem = formProblemHtml(error);
    }
    try {
      const page = withFormProblem(diagnosticsPage(environ, form), problem);
      startResponse('200 OK', [['Content-Type', 'text/html; charset=utf-8']]);
      return [page];
    } finally {
      closeForm(form);
    }
  };
}

function formProblemHtml(error: unknown): string {
  return `<h3>The form could not be read:</h3>\n<pre>${escapeHtml(error instanceof Error ? error.message : String(error))}</pre>\n`;
}

/** Puts the form's error above the form section; a replacer function, so `$` in the error stays literal. */
function withFormProblem(page: string, problem: string): string {
  return problem ? page.replace('<h3>Form Contents:', (heading) => problem + heading) : page;
}

/** Removes an upload's temporary files once the page is drawn, for forms that have them. */
function closeForm(form: FormView | undefined): void {
  const closable = form as { close?: () => void } | undefined;
  if (typeof closable?.close === 'function') closable.close();
}

type Out = { write(text: string): unknown };

/** Writes the environment to stdout (or `out`). */
export function printEnviron(environ: Record<string, unknown> = process.env, out: Out = process.stdout): void {
  out.write(environHtml(environ));
}

/** Writes the form's fields to stdout (or `out`). */
export function printForm(form: FormView | undefined, out: Out = process.stdout): void {
  out.write(formHtml(form));
}

/** Writes the current directory to stdout (or `out`). */
export function printDirectory(out: Out = process.stdout): void {
  out.write(directoryHtml());
}

/** Writes the command-line arguments to stdout (or `out`). */
export function printArguments(out: Out = process.stdout): void {
  out.write(argumentsHtml());
}

/** Writes the explanation of every CGI variable to stdout (or `out`). */
export function printEnvironUsage(out: Out = process.stdout): void {
  out.write(environUsageHtml());
}

/**
 * Python's cgi.test() for a script: writes a Content-Type header and the diagnostics page
 * to stdout. Without a form it reads one the Python way, `new FieldStorage()` on `environ`
 * and fd 0; a form that cannot be read shows as the error it gave.
 */
export function test(form?: FormView, environ: Record<string, unknown> = process.env, out: Out = process.stdout): void {
  let shown = form;
  let problem = '';
  if (!shown) {
    try {
      shown = new FieldStorage({ environ });
    } catch (error) {
      problem = formProblemHtml(error);
    }
  }
  try {
    out.write('Content-Type: text/html; charset=utf-8\r\n\r\n' + withFormProblem(diagnosticsPage(environ, shown), problem));
  } finally {
    if (!form) closeForm(shown);
  }
}
