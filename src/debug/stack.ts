/** Turns an error's stack into frames with source context, mapped back to TypeScript when maps exist. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { originalPosition } from './source-map.js';

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
      file = fileURLToPath(location);
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
    lines = readFileSync(file, 'utf8').split(/\r?\n/);
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
  for (let number = first; number <= last; number++) result.push({ number, text: lines[number - 1]!, current: number === line });
  return result;
}
