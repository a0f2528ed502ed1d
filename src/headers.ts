/** A mutable, ordered, case-insensitive header list over a HeaderList (wsgiref.headers.Headers). */
import type { HeaderList } from './types.js';

const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
const TSPECIALS = /[ ()<>@,;:\\"/[\]?=]/;

function checkText(kind: string, text: string): string {
  if (typeof text !== 'string') throw new TypeError(`header ${kind} must be a string, got ${typeof text}`);
  if (CONTROL.test(text)) throw new TypeError(`header ${kind} ${JSON.stringify(text)} contains a control character`);
  return text;
}

function formatParam(name: string, value: string | true): string {
  const key = name.replace(/_/g, '-');
  if (value === true) return key;
  return TSPECIALS.test(value) ? `${key}="${value.replace(/[\\"]/g, (c) => '\\' + c)}"` : `${key}=${value}`;
}

export class Headers implements Iterable<[string, string]> {
  /** The underlying list; it is the same array the caller passed, so changes show up there too. */
  readonly list: HeaderList;

  constructor(list: HeaderList = []) {
    for (const [name, value] of list) {
      checkText('name', name);
      checkText('value', value);
    }
    this.list = list;
  }

  get length(): number {
    return this.list.length;
  }

  /** The first value for `name`, or `fallback`. */
  get(name: string, fallback?: string): string | undefined {
    const lower = name.toLowerCase();
    for (const [key, value] of this.list) if (key.toLowerCase() === lower) return value;
    return fallback;
  }

  /** Every value for `name`, in order. */
  getAll(name: string): string[] {
    const lower = name.toLowerCase();
    return this.list.filter(([key]) => key.toLowerCase() === lower).map(([, value]) => value);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Replaces every `name` header with one holding `value`. */
  set(name: string, value: string): void {
    this.delete(name);
    this.list.push([checkText('name', name), checkText('value', value)]);
  }

  /** Removes every `name` header; true if there was one. */
  delete(name: string): boolean {
    const lower = name.toLowerCase();
    const before = this.list.length;
    for (let i = this.list.length - 1; i >= 0; i--) if (this.list[i]![0].toLowerCase() === lower) this.list.splice(i, 1);
    return this.list.length !== before;
  }

  /** Adds `name: value` unless `name` is present; returns the value now in effect. */
  setDefault(name: string, value: string): string {
    const existing = this.get(name);
    if (existing !== undefined) return existing;
    this.list.push([checkText('name', name), checkText('value', value)]);
    return value;
  }

  /**
   * Appends a header with parameters: `add('Content-Disposition', 'attachment', { filename: 'a b.txt' })`
   * gives `attachment; filename="a b.txt"`. Underscores in parameter names become dashes;
   * a parameter set to `true` is written bare; values with special characters are quoted.
   */
  add(name: string, value: string | undefined, params: Record<string, string | true | undefined> = {}): void {
    const parts: string[] = value === undefined ? [] : [value];
    for (const [key, param] of Object.entries(params)) if (param !== undefined) parts.push(formatParam(key, param));
    this.list.push([checkText('name', name), checkText('value', parts.join('; '))]);
  }

  keys(): string[] {
    return this.list.map(([name]) => name);
  }

  values(): string[] {
    return this.list.map(([, value]) => value);
  }

  [Symbol.iterator](): Iterator<[string, string]> {
    return this.list[Symbol.iterator]();
  }

  /** The header block as sent on the wire: CRLF lines and a blank line. */
  toString(): string {
    return this.list.map(([name, value]) => `${name}: ${value}\r\n`).join('') + '\r\n';
  }

  toBytes(): Buffer {
    return Buffer.from(this.toString(), 'latin1');
  }
}
