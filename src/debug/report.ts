/**
 * Draws an error as a report (Python's cgitb.html / cgitb.text): the error, its message,
 * each stack frame with the source lines around it, the error's own properties and its
 * causes, and the plain stack. Every piece of text from the program is HTML-escaped.
 */
import { framesOf, url, util, type Frame } from './frames.js';

export interface ReportOptions {
  /** Source lines shown around each frame's line (Python's default: 5). */
  context?: number;
}

const MAX_CAUSES = 5;

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ENTITIES[ch]!);
}

function errorName(error: unknown): string {
  if (error instanceof Error) return error.name || error.constructor?.name || 'Error';
  return `thrown ${error === null ? 'null' : typeof error}`;
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : util().inspect(error, { depth: 2 });
}

function plainStack(error: unknown): string {
  if (error instanceof Error && typeof error.stack === 'string') return error.stack;
  return `${errorName(error)}: ${errorMessage(error)}`;
}

/** Own properties worth showing (code, errno, path, custom fields); the message and stack are shown already. */
function properties(error: unknown): [string, string][] {
  if (error === null || typeof error !== 'object') return [];
  return Object.getOwnPropertyNames(error)
    .filter((key) => key !== 'stack' && key !== 'message' && key !== 'cause')
    .map((key) => [key, util().inspect((error as Record<string, unknown>)[key], { depth: 2, maxStringLength: 2000, breakLength: 100 })]);
}

function causeOf(error: unknown): unknown {
  return error instanceof Error && 'cause' in error ? error.cause : undefined;
}

function frameTitle(frame: Frame): string {
  return `${frame.file}:${frame.line}:${frame.column}`;
}

function fileLink(file: string): string {
  try {
    return file.startsWith('/') ? url().pathToFileURL(file).href : file;
  } catch {
    return file;
  }
}

function heading(): string {
  return `Node.js ${process.version}: ${process.execPath}`;
}

const CSS = `
.tsgi-cgitb{font:15px/1.45 system-ui,sans-serif;color:#111;background:#fff;max-width:72rem;margin:0 auto;padding:1rem;position:relative;z-index:2147483647}
.tsgi-cgitb header{background:#6a2430;color:#fff;padding:.8rem 1rem;border-radius:4px}
.tsgi-cgitb h1{margin:0;font-size:1.5rem}.tsgi-cgitb .message{font-size:1.1rem;margin:.3rem 0;white-space:pre-wrap}
.tsgi-cgitb .meta{opacity:.85;font-size:.85rem;margin:0}
.tsgi-cgitb section{border:1px solid #ddd;border-radius:4px;margin:.8rem 0;padding:.4rem .8rem}
.tsgi-cgitb section.internal{color:#777}.tsgi-cgitb h2{font-size:1rem;margin:.3rem 0}
.tsgi-cgitb pre{background:#f6f6f6;padding:.4rem;overflow:auto;margin:.3rem 0}
.tsgi-cgitb .current{background:#ffe3e3;font-weight:bold;display:inline-block;min-width:100%}
.tsgi-cgitb .compiled{color:#666;font-size:.85rem;margin:0}
.tsgi-cgitb table{border-collapse:collapse}.tsgi-cgitb td{border-top:1px solid #eee;padding:.2rem .6rem;vertical-align:top}`;

function htmlFrame(frame: Frame): string {
  const name = frame.functionName ? `in <code>${escapeHtml(frame.functionName)}</code>` : 'in anonymous or top-level code';
  let out = `<section class="frame${frame.internal ? ' internal' : ''}"><h2>`;
  out += frame.internal ? escapeHtml(frameTitle(frame)) : `<a href="${escapeHtml(fileLink(frame.file))}">${escapeHtml(frameTitle(frame))}</a>`;
  out += `, ${name}</h2>`;
  if (frame.compiled) out += `<p class="compiled">compiled: ${escapeHtml(frame.compiled)}</p>`;
  if (frame.lines.length > 0) {
    const width = String(frame.lines[frame.lines.length - 1]!.number).length;
    const rows = frame.lines.map((line) => {
      const row = `${line.current ? '=&gt;' : '  '} ${String(line.number).padStart(width)}  ${escapeHtml(line.text)}`;
      return line.current ? `<span class="current">${row}</span>` : row;
    });
    out += `<pre>${rows.join('\n')}</pre>`;
  }
  return out + '</section>';
}

function htmlError(error: unknown, context: number, depth: number): string {
  let out = '';
  for (const frame of framesOf(error, context)) out += htmlFrame(frame);
  const props = properties(error);
  if (props.length > 0) {
    out += '<h2>Properties of the error</h2><table>';
    for (const [key, value] of props) out += `<tr><td><code>${escapeHtml(key)}</code></td><td><pre>${escapeHtml(value)}</pre></td></tr>`;
    out += '</table>';
  }
  const cause = causeOf(error);
  if (cause !== undefined && depth < MAX_CAUSES) {
    out += `<h2>Caused by ${escapeHtml(errorName(cause))}: ${escapeHtml(errorMessage(cause))}</h2>`;
    out += htmlError(cause, context, depth + 1);
  }
  return out;
}

/** The report as an HTML fragment (one `<div>`), for pages that already started. */
export function htmlFragment(error: unknown, options: ReportOptions = {}): string {
  try {
    const context = options.context ?? 5;
    let out = `<div class="tsgi-cgitb"><style>${CSS}</style><header><h1>${escapeHtml(errorName(error))}</h1>`;
    out += `<p class="message">${escapeHtml(errorMessage(error))}</p>`;
    out += `<p class="meta">${escapeHtml(heading())}<br>${escapeHtml(new Date().toString())}</p></header>`;
    out += '<p>A problem occurred in a JavaScript program. Here are the calls that led to the error, the most recent first.</p>';
    out += htmlError(error, context, 0);
    // The plain stack, for anyone reading the page source or a mangled rendering.
    out += `\n<!--\n${escapeHtml(plainStack(error))}\n-->\n</div>`;
    return out;
  } catch {
    return `<div class="tsgi-cgitb"><pre>${escapeHtml(safePlainStack(error))}</pre></div>`;
  }
}

/** The report as a complete HTML page (Python's cgitb.html). */
export function html(error: unknown, options: ReportOptions = {}): string {
  let title: string;
  try {
    title = `${errorName(error)}: ${errorMessage(error)}`.slice(0, 200);
  } catch {
    title = 'Error';
  }
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>\n<body>${htmlFragment(error, options)}</body></html>\n`;
}

function textFrame(frame: Frame): string {
  let out = ` ${frameTitle(frame)}, ${frame.functionName ? `in ${frame.functionName}` : 'in anonymous or top-level code'}\n`;
  if (frame.compiled) out += `   compiled: ${frame.compiled}\n`;
  if (frame.lines.length > 0) {
    const width = String(frame.lines[frame.lines.length - 1]!.number).length;
    for (const line of frame.lines) out += ` ${line.current ? '=>' : '  '} ${String(line.number).padStart(width)}  ${line.text}\n`;
  }
  return out + '\n';
}

function textError(error: unknown, context: number, depth: number): string {
  let out = '';
  for (const frame of framesOf(error, context)) out += textFrame(frame);
  const props = properties(error);
  if (props.length > 0) {
    out += 'Properties of the error:\n';
    for (const [key, value] of props) out += `    ${key} = ${value.replace(/\n/g, '\n      ')}\n`;
    out += '\n';
  }
  const cause = causeOf(error);
  if (cause !== undefined && depth < MAX_CAUSES) {
    out += `Caused by ${errorName(cause)}: ${errorMessage(cause)}\n\n` + textError(cause, context, depth + 1);
  }
  return out;
}

/** The report as plain text (Python's cgitb.text). */
export function text(error: unknown, options: ReportOptions = {}): string {
  try {
    const context = options.context ?? 5;
    let out = `${errorName(error)}: ${errorMessage(error)}\n${heading()}\n${new Date().toString()}\n\n`;
    out += 'A problem occurred in a JavaScript program. Here are the calls that led to the error, the most recent first.\n\n';
    out += textError(error, context, 0);
    out += `The plain stack:\n${plainStack(error)}\n`;
    return out;
  } catch {
    return safePlainStack(error) + '\n';
  }
}

function safePlainStack(error: unknown): string {
  try {
    return plainStack(error);
  } catch {
    return 'an error that cannot be described';
  }
}
