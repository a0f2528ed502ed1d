/**
 * How a framework app learns where it is mounted. The adapters hand it URLs relative to its
 * mount point (so its routes work anywhere), which leaves two things to fix up: the app must
 * be able to build full URLs, and its root-relative redirects must stay inside the mount.
 *
 * - The request carries `X-Forwarded-Prefix: SCRIPT_NAME` (the header Spring, ASP.NET and
 *   many proxies use for exactly this); a client's own X-Forwarded-Prefix is replaced, never
 *   passed on, since the client does not decide where the app is mounted.
 * - A root-relative `Location` from the app gets SCRIPT_NAME in front, as Apache's
 *   ProxyPassReverse does for a backend mounted under a path: the app believes it owns `/`,
 *   so `/login` means its own `/login`.
 */
import type { Environ, HeaderList } from '../types.js';
import { encodePathInfo } from './environ-headers.js';

export const PREFIX_HEADER = 'x-forwarded-prefix';

/** SCRIPT_NAME as it stands in a URL, or "" at the root. */
export function mountPrefix(environ: Environ): string {
  const scriptName = environ.SCRIPT_NAME;
  if (!scriptName || scriptName === '/') return '';
  return encodePathInfo(scriptName.endsWith('/') ? scriptName.slice(0, -1) : scriptName);
}

/** `headers` with the client's X-Forwarded-Prefix dropped and the mount's own added. */
export function withPrefixHeader(headers: [string, string][], prefix: string): [string, string][] {
  const kept = headers.filter(([name]) => name !== PREFIX_HEADER);
  if (prefix) kept.push([PREFIX_HEADER, prefix]);
  return kept;
}

/**
 * A root-relative Location moved under the mount. Absolute URLs, scheme-relative `//host`
 * ones, relative paths and Locations already under the prefix are left as they are.
 */
export function locationUnderMount(location: string, prefix: string): string {
  if (!prefix || !location.startsWith('/') || location.startsWith('//')) return location;
  if (location === prefix || location.startsWith(prefix + '/') || location.startsWith(prefix + '?') || location.startsWith(prefix + '#')) return location;
  return prefix + location;
}

/** Rewrites the Location fields of a response head in place. */
export function rewriteLocations(headers: HeaderList, prefix: string): void {
  if (!prefix) return;
  for (const header of headers) {
    if (header[0].toLowerCase() === 'location') header[1] = locationUnderMount(header[1], prefix);
  }
}
