/**
 * Whether a request lies under a protected prefix, decided so that no spelling of a path can
 * slip past: every way the routers and the file system below could read the request is tried,
 * and the prefix holds when any of them lands under it. Erring this way only ever asks for a
 * password too often, never too rarely.
 */
import type { Environ } from '../../types.js';

/** Decodes until nothing changes, so `%252e` is judged as what a second decoder would see. */
function decodeFully(text: string): string {
  let current = text;
  for (let i = 0; i < 4; i++) {
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      // A stray `%` elsewhere must not hide the escapes that do decode.
      next = current.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    }
    if (next === current) break;
    current = next;
  }
  return current;
}

/**
 * The path as comparable segments: separators either way, empty and `.` segments dropped, `..`
 * applied, `;params` cut (servlet-style routers ignore them), trailing dots and spaces cut
 * (Windows file systems do), lower case (case-insensitive file systems).
 */
export function comparableSegments(path: string): string[] {
  const segments: string[] = [];
  for (let part of decodeFully(path).split(/[/\\]/)) {
    const semicolon = part.indexOf(';');
    if (semicolon >= 0) part = part.slice(0, semicolon);
    part = part.replace(/[. ]+$/, (tail) => (part === tail ? tail : '')).toLowerCase();
    if (part === '' || part === '.') continue;
    if (part === '..') {
      segments.pop();
      continue;
    }
    segments.push(part);
  }
  return segments;
}

function startsWith(segments: string[], prefix: string[]): boolean {
  return prefix.every((segment, i) => segments[i] === segment);
}

/** The readings of a request's path below its app's mount: the decoded PATH_INFO, and the raw target once the mount is taken off. */
export function pathReadings(environ: Environ): string[][] {
  const readings = [comparableSegments(environ.PATH_INFO || '')];
  const raw = typeof environ.REQUEST_URI === 'string' ? environ.REQUEST_URI.split('?', 1)[0]! : '';
  if (raw !== '') {
    const target = comparableSegments(raw.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, ''));
    const mount = comparableSegments(environ.SCRIPT_NAME || '');
    readings.push(startsWith(target, mount) ? target.slice(mount.length) : target);
  }
  return readings;
}

/** A URL prefix ("" or "/private") as the segments `underPrefix` compares. */
export function prefixSegments(prefix: string): string[] {
  if (prefix !== '' && !prefix.startsWith('/')) throw new Error(`a protected prefix must be "" or start with /, got ${JSON.stringify(prefix)}`);
  return comparableSegments(prefix);
}

/** True when any reading of the request lies under `prefix` (segments from prefixSegments). */
export function underPrefix(readings: string[][], prefix: string[]): boolean {
  return readings.some((segments) => startsWith(segments, prefix));
}
