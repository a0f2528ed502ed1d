/**
 * The lines of an htpasswd file as Apache's `htpasswd` writes them, and the check of a password
 * against one entry. Only the schemes we can verify exactly are kept: bcrypt, `$apr1$` and
 * `{SHA}`. crypt(3) and plain text are refused, since on Linux Apache reads a plain password as
 * a crypt(3) hash, and guessing which was meant would let one pass for the other.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import bcrypt from 'bcryptjs';
import { apr1 } from './apr1.js';

export interface HtpasswdProblem {
  line: number;
  reason: string;
}

export type Entry =
  | { scheme: 'bcrypt'; hash: string; cost: number }
  | { scheme: 'apr1'; hash: string }
  | { scheme: 'sha'; digest: Buffer }
  | { scheme: 'refused' };

export interface ParsedFile {
  /** Keyed by the user name's bytes as a latin1 string, so lookups compare exact bytes. */
  users: Map<string, Entry>;
  problems: HtpasswdProblem[];
  /** An entry shaped like most of the file's, to spend the same time on a user it lacks. */
  dummy: Entry;
}

const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;
const APR1 = /^\$apr1\$[^$]{0,8}\$[./0-9A-Za-z]{22}$/;
const SHA = /^\{SHA\}([A-Za-z0-9+/]{27}=)$/;
const DES = /^[./0-9A-Za-z]{13}$/;

/** The entry for a hash field, or why it is refused. The reason never quotes the field: it may be a plain password. */
function classify(hash: string): Entry | string {
  const bcryptMatch = BCRYPT.exec(hash);
  if (bcryptMatch) {
    const cost = Number(bcryptMatch[1]);
    if (cost >= 4 && cost <= 31) return { scheme: 'bcrypt', hash, cost };
    return `bcrypt cost ${cost} is outside 4-31`;
  }
  if (/^\$2[a-z]?\$/.test(hash)) return 'a malformed bcrypt hash, or a variant other than $2a$, $2b$, $2y$';
  if (APR1.test(hash)) return { scheme: 'apr1', hash };
  if (hash.startsWith('$apr1$')) return 'a malformed $apr1$ hash';
  const shaMatch = SHA.exec(hash);
  if (shaMatch) return { scheme: 'sha', digest: Buffer.from(shaMatch[1]!, 'base64') };
  if (hash.startsWith('{SHA}')) return 'a malformed {SHA} hash';
  const cryptId = /^\$([^$]{1,8})\$/.exec(hash);
  if (cryptId) return `crypt(3) scheme $${cryptId[1]}$ is not supported`;
  if (DES.test(hash)) return 'a crypt(3) DES hash (or a 13-character plain password); not supported';
  return 'plain text or an unknown scheme; not supported';
}

/** Problems with a user name, which is kept as the bytes the file holds. */
function userProblem(user: string): string | undefined {
  if (user === '') return 'an empty user name';
  if (user.includes('\0')) return 'a NUL in the user name';
  if (!isUtf8(Buffer.from(user, 'latin1'))) return 'the user name is not valid UTF-8';
  return undefined;
}

export function parseHtpasswd(data: Buffer): ParsedFile {
  const users = new Map<string, Entry>();
  const firstLine = new Map<string, number>();
  const problems: HtpasswdProblem[] = [];
  const lines = data.toString('latin1').split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = index + 1;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text === '' || text.startsWith('#')) continue;
    const colon = text.indexOf(':');
    if (colon < 0) {
      problems.push({ line, reason: "no ':' between user name and hash" });
      continue;
    }
    const user = text.slice(0, colon);
    // As in Apache's mod_authn_file, the hash ends at the next ':' and the rest is ignored.
    const hash = text.slice(colon + 1).split(':', 1)[0]!;
    const badUser = userProblem(user);
    if (badUser) {
      problems.push({ line, reason: badUser });
      continue;
    }
    const earlier = firstLine.get(user);
    if (earlier !== undefined) {
      problems.push({ line, reason: `a second entry for a user already on line ${earlier}; the first one is used` });
      continue;
    }
    firstLine.set(user, line);
    const entry = hash === '' ? 'an empty hash' : classify(hash);
    // A refused entry still claims its user, so a later line cannot take the name over.
    if (typeof entry === 'string') {
      problems.push({ line, reason: entry });
      users.set(user, { scheme: 'refused' });
    } else users.set(user, entry);
  }
  return { users, problems, dummy: dummyFor(users) };
}

// Fixed values of the right shapes; no password produces them except by chance, and the
// result of a dummy check is thrown away anyway.
const DUMMY_BCRYPT_TAIL = '.xOC1jSiSwwR3sXTHvD61.KL0besVPDdYtTyW0CQaTdkDxteNxvyu';
const DUMMY_APR1 = '$apr1$.s2nI0YA$T5qWPfj9eF2asgUeqLABJ1';
const DUMMY_SHA = Buffer.alloc(20);

/**
 * The most common shape in the file (scheme, and cost for bcrypt), so an unknown user costs
 * what a typical known one does. A fixed cost would be far quicker or slower than a file that
 * uses another one, and the difference would tell which names exist.
 */
function dummyFor(users: Map<string, Entry>): Entry {
  const counts = new Map<string, number>();
  for (const entry of users.values()) {
    if (entry.scheme === 'refused') continue;
    const shape = entry.scheme === 'bcrypt' ? `bcrypt ${String(entry.cost).padStart(2, '0')}` : entry.scheme;
    counts.set(shape, (counts.get(shape) ?? 0) + 1);
  }
  let best = 'bcrypt 05'; // htpasswd -B's default cost
  let bestCount = 0;
  for (const [shape, count] of counts) if (count > bestCount) [best, bestCount] = [shape, count];
  if (best === 'apr1') return { scheme: 'apr1', hash: DUMMY_APR1 };
  if (best === 'sha') return { scheme: 'sha', digest: DUMMY_SHA };
  const cost = best.slice('bcrypt '.length);
  return { scheme: 'bcrypt', hash: `$2b$${cost}$${DUMMY_BCRYPT_TAIL}`, cost: Number(cost) };
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether `password` (a well-formed string, and its UTF-8 bytes) matches `entry`. */
export async function entryMatches(entry: Entry, password: string, bytes: Buffer): Promise<boolean> {
  switch (entry.scheme) {
    case 'bcrypt':
      // bcryptjs reads $2y$ itself (it is $2b$ under PHP's name) and compares in constant time.
      return bcrypt.compare(password, entry.hash);
    case 'apr1':
      return sameBytes(Buffer.from(apr1(bytes, entry.hash), 'latin1'), Buffer.from(entry.hash, 'latin1'));
    case 'sha':
      return sameBytes(createHash('sha1').update(bytes).digest(), entry.digest);
    case 'refused':
      return false;
  }
}
