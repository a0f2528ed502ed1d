/**
 * A small cookie jar for a test client talking to one host (RFC 6265 § 5.2-5.4, cut down):
 * Set-Cookie's name=value, Path, Max-Age and Expires are honoured; Domain is ignored, since
 * there is only the one host, and so are Secure, HttpOnly and SameSite, since there is
 * neither a second scheme nor a script nor another site.
 */

export interface Cookie {
  name: string;
  value: string;
  path: string;
  /** When it expires, in ms since the epoch; undefined for a session cookie. */
  expires?: number;
}

interface Stored extends Cookie {
  created: number;
}

/** The folder of a request path, where a cookie without Path applies (RFC 6265 § 5.1.4). */
export function defaultPath(requestPath: string): string {
  if (!requestPath.startsWith('/')) return '/';
  const slash = requestPath.lastIndexOf('/');
  return slash === 0 ? '/' : requestPath.slice(0, slash);
}

/** Does a cookie for `cookiePath` go with a request for `requestPath` (RFC 6265 § 5.1.4)? */
export function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

export class CookieJar {
  readonly #cookies: Stored[] = [];
  #created = 0;

  /** `now` is the clock Max-Age and Expires are measured on. */
  constructor(private readonly now: () => number = Date.now) {}

  /** Takes in one Set-Cookie header value, received for a request to `requestPath`. */
  store(setCookie: string, requestPath = '/'): void {
    const [pair = '', ...attributes] = setCookie.split(';');
    const equals = pair.indexOf('=');
    if (equals < 0) return;
    const name = pair.slice(0, equals).trim();
    const value = pair.slice(equals + 1).trim();
    if (name === '') return;
    let path = defaultPath(requestPath);
    let expires: number | undefined;
    let maxAge: number | undefined;
    for (const attribute of attributes) {
      const at = attribute.indexOf('=');
      const key = (at < 0 ? attribute : attribute.slice(0, at)).trim().toLowerCase();
      const argument = at < 0 ? '' : attribute.slice(at + 1).trim();
      if (key === 'path') path = argument.startsWith('/') ? argument : defaultPath(requestPath);
      else if (key === 'expires') {
        const date = Date.parse(argument);
        if (!Number.isNaN(date)) expires = date;
      } else if (key === 'max-age' && /^-?\d+$/.test(argument)) {
        const seconds = Number(argument);
        maxAge = seconds <= 0 ? -Infinity : this.now() + seconds * 1000;
      }
    }
    // Max-Age wins over Expires, whichever comes first (§ 5.3 step 3).
    this.put({ name, value, path, expires: maxAge ?? expires });
  }

  /** The Cookie header for a request to `requestPath`, or undefined when no cookie applies. */
  header(requestPath = '/'): string | undefined {
    this.dropExpired();
    const matching = this.#cookies.filter((cookie) => pathMatches(requestPath, cookie.path));
    if (matching.length === 0) return undefined;
    // Longer paths first, then the older cookie (§ 5.4 step 2).
    matching.sort((a, b) => b.path.length - a.path.length || a.created - b.created);
    return matching.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ');
  }

  /** The value of cookie `name`: the one for `path` when given, else the first of that name. */
  get(name: string, path?: string): string | undefined {
    this.dropExpired();
    return this.#cookies.find((cookie) => cookie.name === name && (path === undefined || cookie.path === path))?.value;
  }

  /** Puts a cookie in the jar as if the application had set it. */
  set(name: string, value: string, options: { path?: string; expires?: Date } = {}): void {
    this.put({ name, value, path: options.path ?? '/', expires: options.expires?.getTime() });
  }

  /** Removes cookie `name` (for `path` only, when given); true when there was one. */
  delete(name: string, path?: string): boolean {
    const before = this.#cookies.length;
    this.remove((cookie) => cookie.name === name && (path === undefined || cookie.path === path));
    return this.#cookies.length !== before;
  }

  clear(): void {
    this.#cookies.length = 0;
  }

  /** Every cookie that has not expired, oldest first. */
  all(): Cookie[] {
    this.dropExpired();
    return this.#cookies.map(({ name, value, path, expires }) => (expires === undefined ? { name, value, path } : { name, value, path, expires }));
  }

  get size(): number {
    return this.all().length;
  }

  private put(cookie: Cookie): void {
    const old = this.#cookies.find((stored) => stored.name === cookie.name && stored.path === cookie.path);
    this.remove((stored) => stored === old);
    // A cookie that has already expired only deletes the one it replaces (§ 5.3 step 11).
    if (cookie.expires !== undefined && cookie.expires <= this.now()) return;
    const stored: Stored = { ...cookie, created: old?.created ?? this.#created++ };
    if (stored.expires === undefined) delete stored.expires;
    this.#cookies.push(stored);
    this.#cookies.sort((a, b) => a.created - b.created);
  }

  private dropExpired(): void {
    const now = this.now();
    this.remove((cookie) => cookie.expires !== undefined && cookie.expires <= now);
  }

  private remove(test: (cookie: Stored) => boolean): void {
    for (let i = this.#cookies.length - 1; i >= 0; i--) if (test(this.#cookies[i]!)) this.#cookies.splice(i, 1);
  }
}
