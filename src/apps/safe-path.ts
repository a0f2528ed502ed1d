/**
 * Path checks shared by the apps that map URLs to files (RFC 3875 §9.8; CVE-2011-1015,
 * CVE-2014-4650, CVE-2021-41773): `..` (also once decoded), encoded slashes, NUL, backslashes.
 */
import type { Environ } from '../types.js';

/** A refusal, with the status the client gets and a reason for both the client and the log. */
export class Refusal {
  constructor(
    readonly status: 403 | 404 | 400,
    readonly reason: string,
  ) {}
}

// %2F and %5C decode into separators; a decoded path can no longer show where they were.
const ENCODED_SEPARATOR = /%(2f|5c)/i;

/** Checks the raw request target, when the front end gives one, for encoded separators. */
export function rawPathProblem(environ: Environ): Refusal | undefined {
  const raw = typeof environ.REQUEST_URI === 'string' ? environ.REQUEST_URI.split('?', 1)[0]! : '';
  if (ENCODED_SEPARATOR.test(raw)) return new Refusal(400, 'an encoded slash or backslash in the path is refused');
  return undefined;
}

/** PATH_INFO split into segments, empty and "." ones dropped; a Refusal for `..`, NUL or backslash. */
export function pathSegments(pathInfo: string): { segments: string[]; trailingSlash: boolean } | Refusal {
  if (pathInfo !== '' && !pathInfo.startsWith('/')) return new Refusal(400, 'the path must start with /');
  const segments: string[] = [];
  for (const part of pathInfo.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return new Refusal(400, 'a ".." segment in the path is refused');
    if (part.includes('\0') || part.includes('\\')) return new Refusal(400, 'a NUL or backslash in the path is refused');
    segments.push(part);
  }
  return { segments, trailingSlash: pathInfo.length > 1 && pathInfo.endsWith('/') };
}

