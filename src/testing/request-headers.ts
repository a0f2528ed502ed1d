/** The header lines of a test request, checked as an HTTP client checks what it is asked to send. */
import type { RequestHeadersInit } from './options.js';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// A field value is latin-1 without controls other than tab: anything else cannot go on the wire.
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]/;

/** `init` as [name, value] lines in order; a list value gives one line per value. */
export function headerLines(init: RequestHeadersInit | undefined): [string, string][] {
  if (init === undefined) return [];
  const lines: [string, string][] = [];
  const pairs = Symbol.iterator in init
    ? [...(init as Iterable<readonly [string, string]>)]
    : Object.entries(init as Record<string, string | readonly string[]>).flatMap(([name, value]) =>
      (typeof value === 'string' ? [value] : [...value]).map((one) => [name, one] as const));
  for (const [name, value] of pairs) {
    if (typeof name !== 'string' || !TOKEN.test(name)) throw new TypeError(`request header name ${JSON.stringify(name)} is not an HTTP token`);
    if (typeof value !== 'string' || BAD_VALUE.test(value)) {
      throw new TypeError(`request header ${name} must be a latin-1 string without control characters, got ${JSON.stringify(value)}`);
    }
    lines.push([name, value]);
  }
  return lines;
}

/** `base` lines, except those `override` has a line of the same name for, then `override`'s. */
export function mergeHeaderLines(base: [string, string][], override: [string, string][]): [string, string][] {
  const replaced = new Set(override.map(([name]) => name.toLowerCase()));
  return [...base.filter(([name]) => !replaced.has(name.toLowerCase())), ...override];
}

export function hasHeader(lines: [string, string][], name: string): boolean {
  const lower = name.toLowerCase();
  return lines.some(([key]) => key.toLowerCase() === lower);
}
