/**
 * The headers of a test response, read the way fetch's Headers are (`get` joins repeats with
 * ", ") but without losing anything: repeated fields stay separate, in the order and spelling
 * the application sent them.
 */
import type { HeaderList } from '../types.js';

export class ResponseHeaders implements Iterable<[string, string]> {
  readonly #list: HeaderList;

  constructor(list: HeaderList) {
    this.#list = list.map(([name, value]) => [name, value]);
  }

  /** Every value of `name` joined with ", ", as fetch does; null when absent. Set-Cookie: use getSetCookie(). */
  get(name: string): string | null {
    const values = this.getAll(name);
    return values.length === 0 ? null : values.join(', ');
  }

  /** Every value of `name`, in order. */
  getAll(name: string): string[] {
    const lower = name.toLowerCase();
    return this.#list.filter(([key]) => key.toLowerCase() === lower).map(([, value]) => value);
  }

  /** The Set-Cookie values, one per header (they cannot be joined: an Expires date has a comma). */
  getSetCookie(): string[] {
    return this.getAll('set-cookie');
  }

  has(name: string): boolean {
    return this.getAll(name).length > 0;
  }

  /** The [name, value] pairs as sent, repeats included. */
  entries(): IterableIterator<[string, string]> {
    return this.list()[Symbol.iterator]();
  }

  keys(): IterableIterator<string> {
    return this.list().map(([name]) => name)[Symbol.iterator]();
  }

  values(): IterableIterator<string> {
    return this.list().map(([, value]) => value)[Symbol.iterator]();
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  /** A copy of the header list, as the engine sent it. */
  list(): HeaderList {
    return this.#list.map(([name, value]) => [name, value]);
  }

  /** Lower-cased names to joined values, for deepEqual in tests. */
  toJSON(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name] of this.#list) out[name.toLowerCase()] ??= this.get(name)!;
    return out;
  }
}
