/**
 * `new HtpasswdFile(path).verify(user, password)`: checks credentials against a file written by
 * Apache's `htpasswd` (bcrypt, `$apr1$`, `{SHA}`; see htpasswd-entries.ts for what is refused).
 * The file is re-read when it changes, and a removed or unreadable file lets nobody in: a
 * deleted password file must not keep working from memory.
 */
import { closeSync, fstatSync, openSync, readFileSync, statSync, type BigIntStats } from 'node:fs';
import { createHmac, randomBytes } from 'node:crypto';
import { entryMatches, parseHtpasswd, type HtpasswdProblem, type ParsedFile } from './htpasswd-entries.js';

export type { HtpasswdProblem } from './htpasswd-entries.js';

// A git clone sends many requests with the same credentials; each would pay for bcrypt again.
const CACHE_LIMIT = 1000;
// Keys are keyed hashes, so the cache holds nothing a memory dump could turn back into a password.
const CACHE_KEY = randomBytes(32);
// htpasswd itself stops at 255; the cap keeps a megabyte "password" from costing 1000 MD5 rounds over it.
const MAX_PASSWORD_BYTES = 4096;
const LONE_SURROGATE = /\p{Cs}/u;

// ctime as well as mtime: a tool that restores mtime after writing still moves ctime.
function signature(stats: BigIntStats): string {
  return `${stats.ino}/${stats.size}/${stats.mtimeNs}/${stats.ctimeNs}`;
}

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (error instanceof Error ? error.message : String(error));
}

export class HtpasswdFile {
  readonly file: string;
  #parsed: ParsedFile;
  // Of the file as last read (or last found unreadable); undefined while stat fails.
  #signature: string | undefined;
  #generation = 0;
  #verified = new Map<string, true>();

  /** Reads the file now; throws an Error naming the file when it cannot be read. */
  constructor(file: string) {
    this.file = file;
    try {
      [this.#parsed, this.#signature] = this.#read();
    } catch (error) {
      throw new Error(`cannot read htpasswd file ${file}: ${describe(error)}`);
    }
  }

  /** Lines that were skipped and why, with 1-based line numbers; line 0 when the file cannot be read. */
  get problems(): HtpasswdProblem[] {
    this.#refresh();
    return this.#parsed.problems.map((problem) => ({ ...problem }));
  }

  /** true when the password is right. Never throws for bad input (returns false). */
  async verify(user: string, password: string): Promise<boolean> {
    try {
      this.#refresh();
      return await this.#check(user, password, true);
    } catch {
      return false;
    }
  }

  async #check(user: string, password: string, retry: boolean): Promise<boolean> {
    if (typeof user !== 'string' || typeof password !== 'string') return false;
    // No file line can hold such a name; lone surrogates would become U+FFFD and match it.
    if (user === '' || user.includes(':') || user.includes('\0')) return false;
    if (LONE_SURROGATE.test(user) || LONE_SURROGATE.test(password)) return false;
    const bytes = Buffer.from(password, 'utf8');
    if (bytes.length > MAX_PASSWORD_BYTES) return false;
    const userBytes = Buffer.from(user, 'utf8');
    // The user name has no NUL, so the first NUL marks where the password starts.
    const key = createHmac('sha256', CACHE_KEY).update(userBytes).update('\0').update(bytes).digest('base64');
    if (this.#verified.delete(key)) {
      this.#verified.set(key, true);
      return true;
    }

    const generation = this.#generation;
    const { users, dummy } = this.#parsed;
    const entry = users.get(userBytes.toString('latin1'));
    if (entry === undefined || entry.scheme === 'refused') {
      await entryMatches(dummy, password, bytes);
      return false;
    }
    const ok = await entryMatches(entry, password, bytes);
    if (generation !== this.#generation) {
      // The file changed while the hash was computed: answer for the file as it is now.
      return retry ? this.#check(user, password, false) : false;
    }
    if (ok) this.#remember(key);
    return ok;
  }

  #remember(key: string): void {
    this.#verified.set(key, true);
    if (this.#verified.size > CACHE_LIMIT) this.#verified.delete(this.#verified.keys().next().value!);
  }

  /** The parsed file and the signature of what was read (fstat of the open file, not a second stat). */
  #read(): [ParsedFile, string] {
    const fd = openSync(this.file, 'r');
    try {
      const stats = fstatSync(fd, { bigint: true });
      return [parseHtpasswd(readFileSync(fd)), signature(stats)];
    } finally {
      closeSync(fd);
    }
  }

  #refresh(): void {
    let current: string | undefined;
    try {
      current = signature(statSync(this.file, { bigint: true }));
    } catch (error) {
      if (this.#signature !== undefined) this.#lose(error, undefined);
      return;
    }
    if (current === this.#signature) return;
    try {
      const [parsed, read] = this.#read();
      this.#install(parsed, read);
    } catch (error) {
      // Remember the state that failed, so the next verify retries only once it changes.
      this.#lose(error, current);
    }
  }

  #lose(error: unknown, state: string | undefined): void {
    const empty = parseHtpasswd(Buffer.alloc(0));
    empty.problems.push({ line: 0, reason: `cannot read ${this.file}: ${describe(error)}; no user is let in` });
    this.#install(empty, state);
  }

  #install(parsed: ParsedFile, state: string | undefined): void {
    this.#parsed = parsed;
    this.#signature = state;
    this.#generation++;
    this.#verified.clear();
  }
}
