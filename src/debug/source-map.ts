/**
 * Maps a position in compiled JavaScript back to its TypeScript source through the file's
 * `//# sourceMappingURL` (source map v3). Loaded only when a report is drawn, so scripts
 * pay nothing for it until something breaks; maps are cached per file.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

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
    const code = readFileSync(file, 'utf8');
    const match = /\/\/[#@] sourceMappingURL=(\S+)\s*$/.exec(code.slice(-4096));
    if (match) {
      const fileUrl = pathToFileURL(file);
      const mapUrl = new URL(match[1]!, fileUrl);
      const json = mapUrl.protocol === 'data:' ? decodeDataUrl(match[1]!) : readFileSync(fileURLToPath(mapUrl), 'utf8');
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
    const url = new URL(source, base);
    return url.protocol === 'file:' ? fileURLToPath(url) : url.href;
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
