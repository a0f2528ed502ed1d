/**
 * Turns an error's stack into frames with the source lines around each, mapped back to the
 * TypeScript source through the compiled file's `//# sourceMappingURL` (source map v3) when
 * there is one. Nothing here runs until a report is drawn, and it lives in one file on
 * purpose: every extra ES module costs a CGI script ~0.4 ms on every request.
 */
import { createRequire } from 'node:module';

// Node built-ins, loaded on first use: an ESM `import from 'node:fs'` builds a facade over every
// export (touching lazy ones like fs.promises), a cost each request would pay for nothing.
// process.getBuiltinModule (Node >= 20.16), else require; node:module's facade is small, and a
// top-level await here would keep the package from being require()d from CommonJS.
const load: (id: string) => unknown = process.getBuiltinModule ?? createRequire(import.meta.url);

export const fs = (): typeof import('node:fs') => load('node:fs') as typeof import('node:fs');
export const util = (): typeof import('node:util') => load('node:util') as typeof import('node:util');
export const url = (): typeof import('node:url') => load('node:url') as typeof import('node:url');
export const path = (): typeof import('node:path') => load('node:path') as typeof import('node:path');

export interface OriginalPosition {
  /** Absolute path of the original source when it is a file, else the map's name for it. */
  source: string;
  /** 1-based line and column, like a stack trace. */
  line: number;
  column: number;
  /** The source text when the map embeds it (sourcesContent). */
  content?: string;
}

interface LoadedMap {
  mapUrl: URL;
  sources: string[];
  sourcesContent: (string | null)[];
  /** Segments per generated line: [generatedColumn, sourceIndex, originalLine, originalColumn]. */
  lines: number[][][];
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = new Map([...BASE64].map((ch, i) => [ch, i]));
const cache = new Map<string, LoadedMap | null>();

/** Decodes one `mappings` field into per-line segment lists with absolute values. */
export function decodeMappings(mappings: string): number[][][] {
  const lines: number[][][] = [];
  let source = 0;
  let originalLine = 0;
  let originalColumn = 0;
  for (const lineText of mappings.split(';')) {
    const segments: number[][] = [];
    let column = 0;
    for (const segmentText of lineText.split(',')) {
      if (segmentText === '') continue;
      const fields = decodeVlq(segmentText);
      column += fields[0]!;
      if (fields.length >= 4) {
        source += fields[1]!;
        originalLine += fields[2]!;
        originalColumn += fields[3]!;
        segments.push([column, source, originalLine, originalColumn]);
      }
    }
    lines.push(segments);
  }
  return lines;
}

function decodeVlq(text: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of text) {
    const digit = DIGIT.get(ch);
    if (digit === undefined) throw new SyntaxError(`bad base64 digit ${JSON.stringify(ch)} in a source map`);
    value += (digit & 31) * 2 ** shift;
    if (digit & 32) {
      shift += 5;
      continue;
    }
    values.push(value & 1 ? -Math.floor(value / 2) : Math.floor(value / 2));
    value = 0;
    shift = 0;
  }
  return values;
}

function loadMap(file: string): LoadedMap | null {
  if (cache.has(file)) return cache.get(file)!;
  let loaded: LoadedMap | null = null;
  try {
    const code = fs().readFileSync(file, 'utf8');
    // From the last mention on: an inline map (data: URL, as tsgi's TypeScript cache writes) can be far longer than a file's tail.
    const match = /\/\/[#@] sourceMappingURL=(\S+)\s*$/.exec(code.slice(Math.max(0, code.lastIndexOf('sourceMappingURL=') - 4)));
    if (match) {
      const fileUrl = url().pathToFileURL(file);
      const mapUrl = new URL(match[1]!, fileUrl);
      const json = mapUrl.protocol === 'data:' ? decodeDataUrl(match[1]!) : fs().readFileSync(url().fileURLToPath(mapUrl), 'utf8');
      const raw = JSON.parse(json) as { sources?: string[]; sourcesContent?: (string | null)[]; sourceRoot?: string; mappings?: string };
      const root = raw.sourceRoot ? raw.sourceRoot.replace(/\/?$/, '/') : '';
      const base = mapUrl.protocol === 'data:' ? fileUrl : mapUrl;
      loaded = {
        mapUrl: base,
        sources: (raw.sources ?? []).map((source) => resolveSource(root + source, base)),
        sourcesContent: raw.sourcesContent ?? [],
        lines: decodeMappings(raw.mappings ?? ''),
      };
    }
  } catch {
    loaded = null; // No usable map: the report shows the compiled file instead.
  }
  cache.set(file, loaded);
  return loaded;
}

function decodeDataUrl(url: string): string {
  const comma = url.indexOf(',');
  const meta = url.slice(0, comma);
  const data = url.slice(comma + 1);
  return meta.endsWith(';base64') ? Buffer.from(data, 'base64').toString('utf8') : decodeURIComponent(data);
}

function resolveSource(source: string, base: URL): string {
  try {
    const resolved = new URL(source, base);
    return resolved.protocol === 'file:' ? url().fileURLToPath(resolved) : resolved.href;
  } catch {
    return source;
  }
}

/** The original position of 1-based `line`:`column` in the compiled `file`, or undefined without a map. */
export function originalPosition(file: string, line: number, column: number): OriginalPosition | undefined {
  const map = loadMap(file);
  const segments = map?.lines[line - 1];
  if (!map || !segments || segments.length === 0) return undefined;
  let best = segments[0]!;
  for (const segment of segments) {
    if (segment[0]! <= column - 1) best = segment;
    else break;
  }
  const content = map.sourcesContent[best[1]!];
  return {
    source: map.sources[best[1]!] ?? '<unknown>',
    line: best[2]! + 1,
    column: best[3]! + 1,
    ...(typeof content === 'string' ? { content } : {}),
  };
}

export interface SourceLine {
  number: number;
  text: string;
  /** The line the frame points at. */
  current: boolean;
}

export interface Frame {
  /** The function, as V8 names it ("" for top-level code). */
  functionName: string;
  /** Where the code came from: a path for files, else what the stack said (node:internal/..., <anonymous>). */
  file: string;
  line: number;
  column: number;
  /** The compiled location when `file` was reached through a source map. */
  compiled?: string;
  /** `context` lines around `line`, empty when the source cannot be read. */
  lines: SourceLine[];
  /** Node's own code, shown without source. */
  internal: boolean;
}

const FRAME = /^\s*at (?:(.*?) \()?(.*?):(\d+):(\d+)\)?$/;
const MAX_LINE = 500;
const sources = new Map<string, string[] | null>();

/** The frames of `error`'s stack, innermost first. */
export function framesOf(error: unknown, context: number): Frame[] {
  const stack = error instanceof Error && typeof error.stack === 'string' ? error.stack : '';
  const frames: Frame[] = [];
  for (const text of stack.split('\n')) {
    const match = FRAME.exec(text);
    if (!match) continue;
    const [, name = '', location = '', line = '0', column = '0'] = match;
    frames.push(frameAt(name, location, Number(line), Number(column), context));
  }
  return frames;
}

function frameAt(functionName: string, location: string, line: number, column: number, context: number): Frame {
  const internal = location.startsWith('node:') || !(location.startsWith('file://') || location.startsWith('/'));
  let file = location;
  if (location.startsWith('file://')) {
    try {
      file = url().fileURLToPath(location);
    } catch {
      file = location;
    }
  }
  const frame: Frame = { functionName, file, line, column, lines: [], internal };
  if (internal) return frame;
  const original = originalPosition(file, line, column);
  if (original) {
    frame.compiled = `${file}:${line}:${column}`;
    frame.file = original.source;
    frame.line = original.line;
    frame.column = original.column;
    frame.lines = around(original.content?.split(/\r?\n/) ?? sourceLines(original.source), original.line, context);
  } else {
    frame.lines = around(sourceLines(file), line, context);
  }
  return frame;
}

function sourceLines(file: string): string[] | null {
  if (sources.has(file)) return sources.get(file)!;
  let lines: string[] | null = null;
  try {
    lines = fs().readFileSync(file, 'utf8').split(/\r?\n/);
  } catch {
    lines = null;
  }
  sources.set(file, lines);
  return lines;
}

function around(lines: string[] | null, line: number, context: number): SourceLine[] {
  if (!lines || context <= 0 || line < 1 || line > lines.length) return [];
  const first = Math.max(1, line - Math.floor((context - 1) / 2));
  const last = Math.min(lines.length, first + context - 1);
  const result: SourceLine[] = [];
  for (let number = first; number <= last; number++) {
    const text = lines[number - 1]!;
    // Minified code can put a whole program on one line; a report shows the start of it.
    result.push({ number, text: text.length > MAX_LINE ? text.slice(0, MAX_LINE) + ' …' : text, current: number === line });
  }
  return result;
}
