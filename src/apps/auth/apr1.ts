/**
 * Apache's MD5-crypt (`$apr1$`), the scheme `htpasswd -m` writes: Poul-Henning Kamp's FreeBSD
 * MD5-crypt with the magic string `$apr1$` in place of `$1$`. Written from the algorithm's
 * description; `openssl passwd -apr1` pins it in the tests.
 */
import { createHash } from 'node:crypto';

const MAGIC = '$apr1$';
const ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

// The digest is written three bytes (four characters) at a time, in this shuffled order; the
// last byte alone makes the final two characters.
const GROUPS: [number, number, number][] = [
  [0, 6, 12],
  [1, 7, 13],
  [2, 8, 14],
  [3, 9, 15],
  [4, 10, 5],
];

function encode(value: number, chars: number): string {
  let out = '';
  for (let i = 0; i < chars; i++) {
    out += ALPHABET[value & 0x3f];
    value >>>= 6;
  }
  return out;
}

/**
 * The full `$apr1$salt$hash` string for `password` (its bytes; UTF-8 for a string). The salt
 * is cut at a `$` and at 8 characters, as Apache does; it is taken byte for byte (latin1), so a
 * salt read from a file as latin1 round-trips.
 */
export function apr1(password: Buffer | string, salt: string): string {
  const pw = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  const cut = salt.startsWith(MAGIC) ? salt.slice(MAGIC.length) : salt;
  const saltText = cut.split('$', 1)[0]!.slice(0, 8);
  const saltBytes = Buffer.from(saltText, 'latin1');

  const alternate = createHash('md5').update(pw).update(saltBytes).update(pw).digest();
  const initial = createHash('md5').update(pw).update(MAGIC).update(saltBytes);
  for (let left = pw.length; left > 0; left -= 16) initial.update(alternate.subarray(0, Math.min(left, 16)));
  // The bits of the length choose a NUL byte or the first password byte, a quirk of the
  // original C code (it meant to add a zeroed digest byte) that every implementation keeps.
  for (let bits = pw.length; bits > 0; bits >>>= 1) initial.update(bits & 1 ? Buffer.alloc(1) : pw.subarray(0, 1));
  let digest = initial.digest();

  // The 1000 rounds exist only to make the scheme slower to brute-force.
  for (let round = 0; round < 1000; round++) {
    const step = createHash('md5');
    step.update(round & 1 ? pw : digest);
    if (round % 3) step.update(saltBytes);
    if (round % 7) step.update(pw);
    step.update(round & 1 ? digest : pw);
    digest = step.digest();
  }

  let hash = '';
  for (const [a, b, c] of GROUPS) hash += encode((digest[a]! << 16) | (digest[b]! << 8) | digest[c]!, 4);
  hash += encode(digest[11]!, 2);
  return `${MAGIC}${saltText}$${hash}`;
}
