/**
 * Tracebacks for CGI scripts and developers (Python's cgitb). `enable()` makes a crashing
 * script answer with a readable report instead of a bare 500 from the server; `html()` and
 * `text()` draw a report for any error; `debugMiddleware()` does the same for long-running
 * servers. Rich reports show source code: they are for developers, never on by default,
 * and `display: false` plus `logdir` keeps them away from visitors.
 */
import { fs, path as paths } from './frames.js';
import type { Application, Body, Environ, StartResponse } from '../types.js';
import { guard, setCrashReporter, type ErrorHandler } from './guard.js';
import { OutputTracker } from './output-tracker.js';
import { html, htmlFragment, text, escapeHtml } from './report.js';

export { html, text, escapeHtml } from './report.js';
export type { ReportOptions } from './report.js';

export interface CgitbOptions {
  /** Show the report to the client (default true). With false the client sees a generic message. */
  display?: boolean;
  /** Save each report in its own file (mode 0600) in this directory; the page names the file. */
  logdir?: string;
  /** Source lines shown around each frame's line (default 5). */
  context?: number;
  /** 'html' (default) or 'text'. */
  format?: 'html' | 'text';
}

interface Settings {
  display: boolean;
  logdir: string | undefined;
  context: number;
  format: 'html' | 'text';
}

function settingsFrom(options: CgitbOptions): Settings {
  return {
    display: options.display ?? true,
    logdir: options.logdir,
    context: options.context ?? 5,
    format: options.format === 'text' ? 'text' : 'html',
  };
}

/** Writes the full report to a fresh file in logdir; returns its path, or the reason it failed. */
function saveReport(error: unknown, settings: Settings): { path?: string; failure?: string } {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  // node:crypto costs a CGI script ~5 ms to import on every request; the global Web Crypto loads only now.
  const random = Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(6))).toString('hex');
  const { openSync, writeSync, closeSync } = fs();
  const path = paths().join(settings.logdir!, `cgitb-${stamp}-${random}.${settings.format === 'html' ? 'html' : 'txt'}`);
  try {
    const report = settings.format === 'html' ? html(error, settings) : text(error, settings);
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, report);
    } finally {
      closeSync(fd);
    }
    return { path };
  } catch (failure) {
    return { failure: failure instanceof Error ? failure.message : String(failure) };
  }
}

/**
 * How a report fits the response it lands in: a page or a fragment of HTML, plain text for
 * text/plain, and for anything else text escaped inside <pre>, so that a browser sniffing
 * the body as HTML never runs what the error message carried.
 */
type Rendering = 'html' | 'text' | 'escaped-text';

function renderingFor(contentType: string | undefined, format: 'html' | 'text'): Rendering {
  if (isHtml(contentType)) return format === 'html' ? 'html' : 'escaped-text';
  if (contentType !== undefined && /^\s*text\/plain\b/i.test(contentType)) return 'text';
  return 'escaped-text';
}

function isHtml(contentType: string | undefined): boolean {
  return contentType !== undefined && /^\s*(text\/html|application\/xhtml\+xml)\b/i.test(contentType);
}

function contentTypeFor(format: 'html' | 'text'): string {
  return format === 'html' ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8';
}

/** What the client sees for `error`: the report (or with display off, a generic message) plus where it was saved. */
function drawReport(error: unknown, settings: Settings, rendering: Rendering, fragment: boolean): string {
  const saved = settings.logdir ? saveReport(error, settings) : undefined;
  // Only a developer (display on) may learn where reports live; a visitor gets the file's name, to quote.
  let note = '';
  if (saved?.path) note = `${settings.display ? saved.path : paths().basename(saved.path)} contains the description of this error.`;
  else if (saved) note = settings.display ? `Tried to save the description of this error in ${settings.logdir}, but failed: ${saved.failure}` : 'The description of this error could not be saved.';
  if (rendering !== 'html') {
    let body = settings.display ? text(error, settings) : 'A problem occurred while handling this request.\n';
    if (note) body += `\n${note}\n`;
    return rendering === 'text' ? body : `<pre>${escapeHtml(body)}</pre>\n`;
  }
  const noteHtml = note ? `<p>${escapeHtml(note)}</p>` : '';
  if (!settings.display) {
    const message = `<p>A problem occurred while handling this request.</p>${noteHtml}`;
    return fragment ? `<div>${message}</div>` : `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Error</title></head><body>${message}</body></html>\n`;
  }
  return fragment ? htmlFragment(error, settings) + noteHtml : html(error, settings).replace('</body>', (end) => noteHtml + end);
}

function logLine(error: unknown): string {
  const stack = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  return `tsgi cgitb: ${stack}\n`;
}

// Closes whatever element a half-written page may have left open, so the report shows.
const PAGE_RESET = '\n<!-- --></textarea></script></style></pre></table></table></table></form></div>\n';

let settings: Settings | undefined;
let tracker: OutputTracker | undefined;
let handling = false;

/**
 * Writes a report for `error` to stdout, continuing from wherever the output stopped
 * (Python's cgitb.handler). Resolves when stdout has taken it all.
 */
export function handler(error: unknown, options?: CgitbOptions): Promise<void> {
  const current = options ? settingsFrom(options) : (settings ?? settingsFrom({}));
  const watched = tracker ?? new OutputTracker();
  let output: string;
  if (watched.phase === 'body') {
    const rendering = renderingFor(watched.contentType, current.format);
    const report = drawReport(error, current, rendering, true);
    output = rendering === 'html' ? PAGE_RESET + report : `\n\n${rendering === 'text' ? '-'.repeat(72) + '\n' : ''}${report}`;
  } else {
    const head = watched.closingHeaders(contentTypeFor(current.format));
    output = head + drawReport(error, current, renderingFor(watched.contentType, current.format), false);
  }
  process.stderr.write(logLine(error));
  return new Promise((resolve) => process.stdout.write(output, () => resolve()));
}

function onCrash(error: unknown): void {
  if (handling) {
    // The report itself failed: say so on stderr and stop.
    process.stderr.write(`tsgi cgitb: a second error while reporting: ${String(error)}\n`);
    process.exit(1);
  }
  handling = true;
  process.exitCode = 1;
  handler(error).then(
    () => process.exit(1),
    () => process.exit(1),
  );
}

/** Answers an error raised before the headers went out with a 500 carrying the page. */
function respondWith(current: Settings): ErrorHandler {
  return (error, environ, startResponse) => {
    // First, so that when the headers already went out (it rethrows) no report is drawn or saved twice.
    startResponse('500 Internal Server Error', [['Content-Type', contentTypeFor(current.format)]], error);
    environ['tsgi.errors'].write(logLine(error));
    return [drawReport(error, current, current.format, false)];
  };
}

function respond(error: unknown, environ: Environ, startResponse: StartResponse): Body {
  return respondWith(settings ?? settingsFrom({}))(error, environ, startResponse)!;
}

/**
 * Turns on reports for this CGI script: uncaught exceptions and unhandled rejections, and
 * errors inside runCgi, answer with a report (or, with `display: false`, a generic page).
 * Call it first thing in the script, before anything is written.
 */
export function enable(options: CgitbOptions = {}): void {
  settings = settingsFrom(options);
  if (!tracker) {
    const watched = new OutputTracker();
    tracker = watched;
    const stdout = process.stdout;
    const write = stdout.write.bind(stdout) as (...args: unknown[]) => boolean;
    // Observes, never changes, what the script writes.
    stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
      watched.observe(chunk, typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : undefined);
      return write(chunk, ...rest);
    }) as typeof stdout.write;
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
  }
  setCrashReporter({ respond, reportAfterOutput: (error) => handler(error) });
}

/**
 * Wraps an application so that its errors answer with a report (status 500) instead of the
 * server's bare error, for developers running a long-lived server. Off unless you wrap:
 * a report shows source code. With `display: false` visitors see a generic page and the
 * report goes to `logdir`. Errors after the headers went out cut the response short, as usual.
 */
export function debugMiddleware(app: Application, options: CgitbOptions = {}): Application {
  return guard(app, respondWith(settingsFrom(options)));
}
