import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HtpasswdFile } from '../../../src/apps/auth/htpasswd.js';

let dir: string;
let count = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsgi-htpasswd-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const newPath = (): string => join(dir, `file-${++count}`);

/** Runs the real htpasswd tool, e.g. htpasswd(file, '-cbB', 'user', 'pw'). */
function htpasswd(file: string, flags: string, user: string, password: string, ...more: string[]): void {
  execFileSync('htpasswd', [flags, ...more, file, user, password], { stdio: 'pipe' });
}

/** Changes a file as htpasswd does, making sure its mtime moves even on a coarse-clock file system. */
function changing(file: string, change: () => void): void {
  const before = statSync(file, { bigint: true });
  change();
  const now = statSync(file, { bigint: true });
  if (now.mtimeNs === before.mtimeNs) {
    const later = new Date(Number(before.mtimeMs) + 2000);
    utimesSync(file, later, later);
  }
}

const hashOf = (file: string, user: string): string =>
  readFileSync(file, 'utf8').split('\n').find((line) => line.startsWith(`${user}:`))!.slice(user.length + 1);

describe('HtpasswdFile schemes', () => {
  it('checks bcrypt as htpasswd -B writes it ($2y$)', async () => {
    const file = newPath();
    htpasswd(file, '-cbB', 'alice', 'wonderland');
    assert.match(hashOf(file, 'alice'), /^\$2y\$05\$/);
    const pw = new HtpasswdFile(file);
    assert.equal(await pw.verify('alice', 'wonderland'), true);
    assert.equal(await pw.verify('alice', 'Wonderland'), false);
    assert.equal(await pw.verify('alice', ''), false);
    assert.deepEqual(pw.problems, []);
  });

  it('checks bcrypt at cost 12', async () => {
    const file = newPath();
    htpasswd(file, '-cbB', 'bob', 'builder', '-C', '12');
    assert.match(hashOf(file, 'bob'), /^\$2y\$12\$/);
    const pw = new HtpasswdFile(file);
    assert.equal(await pw.verify('bob', 'builder'), true);
    assert.equal(await pw.verify('bob', 'builder!'), false);
  });

  it('checks $2a$ and $2b$ spellings of the same bcrypt hash', async () => {
    const file = newPath();
    htpasswd(file, '-cbB', 'y', 'pw');
    const hash = hashOf(file, 'y');
    appendFileSync(file, `a:${hash.replace('$2y$', '$2a$')}\nb:${hash.replace('$2y$', '$2b$')}\n`);
    const pw = new HtpasswdFile(file);
    assert.equal(await pw.verify('a', 'pw'), true);
    assert.equal(await pw.verify('b', 'pw'), true);
  });

  it('checks $apr1$ as htpasswd -m writes it', async () => {
    const file = newPath();
    htpasswd(file, '-cbm', 'carol', 'secret');
    assert.match(hashOf(file, 'carol'), /^\$apr1\$/);
    const pw = new HtpasswdFile(file);
    assert.equal(await pw.verify('carol', 'secret'), true);
    assert.equal(await pw.verify('carol', 'secreT'), false);
  });

  it('checks {SHA} as htpasswd -s writes it', async () => {
    const file = newPath();
    htpasswd(file, '-cbs', 'dave', 'secret');
    assert.match(hashOf(file, 'dave'), /^\{SHA\}/);
    const pw = new HtpasswdFile(file);
    assert.equal(await pw.verify('dave', 'secret'), true);
    assert.equal(await pw.verify('dave', 'secret '), false);
  });

  it('says no to an unknown user, whatever the file mostly holds', async () => {
    for (const flags of ['-cbB', '-cbm', '-cbs']) {
      const file = newPath();
      htpasswd(file, flags, 'erin', 'pw');
      const pw = new HtpasswdFile(file);
      assert.equal(await pw.verify('frank', 'pw'), false);
      assert.equal(await pw.verify('Erin', 'pw'), false);
      assert.equal(await pw.verify('erin', 'pw'), true);
    }
  });

  it('compares UTF-8 user names and passwords byte for byte', async () => {
    const file = newPath();
    htpasswd(file, '-cbB', 'jürgen', 'pässwörd');
    htpasswd(file, '-bm', 'zoë', 'ünïcode');
    const pw = new HtpasswdFile(file);
    assert.equal(await pw.verify('jürgen', 'pässwörd'), true);
    assert.equal(await pw.verify('zoë', 'ünïcode'), true);
    // The same text in decomposed form (NFD) is other bytes.
    assert.equal(await pw.verify('jürgen'.normalize('NFD'), 'pässwörd'), false);
    assert.equal(await pw.verify('jürgen', 'pässwörd'.normalize('NFD')), false);
    assert.equal(await pw.verify('JÜRGEN', 'pässwörd'), false);
  });
});

describe('HtpasswdFile lines', () => {
  it('lists the lines it skips, with their numbers, and lets none of them in', async () => {
    const file = newPath();
    htpasswd(file, '-cbB', 'good', 'pw'); // line 1
    htpasswd(file, '-bd', 'des', 'secret'); // line 2
    htpasswd(file, '-bp', 'plain', 'secret'); // line 3
    assert.match(hashOf(file, 'des'), /^[./0-9A-Za-z]{13}$/);
    assert.equal(hashOf(file, 'plain'), 'secret');
    appendFileSync(file, '# a comment\n\nno colon here\n:nouser\nempty:\nmd5:$1$abcdefgh$0123456789012345678901\n');
    const pw = new HtpasswdFile(file);
    const problems = pw.problems;
    assert.deepEqual(problems.map((p) => p.line), [2, 3, 6, 7, 8, 9]);
    assert.match(problems[0]!.reason, /DES/);
    assert.match(problems[1]!.reason, /plain text/);
    assert.match(problems[2]!.reason, /no ':'/);
    assert.match(problems[3]!.reason, /empty user/);
    assert.match(problems[4]!.reason, /empty hash/);
    assert.match(problems[5]!.reason, /\$1\$ is not supported/);
    for (const problem of problems) assert.doesNotMatch(problem.reason, /secret/, 'a reason never quotes the hash field');
    assert.equal(await pw.verify('good', 'pw'), true);
    assert.equal(await pw.verify('des', 'secret'), false);
    assert.equal(await pw.verify('plain', 'secret'), false);
    assert.equal(await pw.verify('empty', ''), false);
  });

  it('uses the first entry for a user and reports the second', async () => {
    const file = newPath();
    htpasswd(file, '-cbB', 'twice', 'first');
    const second = newPath();
    htpasswd(second, '-cbm', 'twice', 'second');
    appendFileSync(file, readFileSync(second));
    const pw = new HtpasswdFile(file);
    assert.deepEqual(pw.problems, [{ line: 2, reason: 'a second entry for a user already on line 1; the first one is used' }]);
    assert.equal(await pw.verify('twice', 'first'), true);
    assert.equal(await pw.verify('twice', 'second'), false);
  });

  it('does not let a later entry take over a user whose first entry is refused', async () => {
    const file = newPath();
    writeFileSync(file, 'eve:plaintext\n');
    const scratch = newPath();
    htpasswd(scratch, '-cbs', 'eve', 'pw');
    appendFileSync(file, readFileSync(scratch));
    const pw = new HtpasswdFile(file);
    assert.deepEqual(pw.problems.map((p) => p.line), [1, 2]);
    assert.equal(await pw.verify('eve', 'pw'), false);
    assert.equal(await pw.verify('eve', 'plaintext'), false);
  });

  it('tolerates CRLF line ends and ignores fields after the hash, as Apache does', async () => {
    const file = newPath();
    htpasswd(file, '-cbs', 'crlf', 'pw');
    htpasswd(file, '-bs', 'extra', 'pw');
    const text = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    writeFileSync(file, `${text[0]}\r\n${text[1]}:a comment\r\n`);
    const pw = new HtpasswdFile(file);
    assert.deepEqual(pw.problems, []);
    assert.equal(await pw.verify('crlf', 'pw'), true);
    assert.equal(await pw.verify('extra', 'pw'), true);
  });
});

describe('HtpasswdFile input', () => {
  it('throws an error naming a file it cannot read', () => {
    const missing = join(dir, 'no-such-file');
    assert.throws(() => new HtpasswdFile(missing), (error: Error) => error.message.includes(missing) && /ENOENT/.test(error.message));
    assert.throws(() => new HtpasswdFile(dir), (error: Error) => error.message.includes(dir));
  });

  it('answers false, never throws, for input no file line can match', async () => {
    const file = newPath();
    htpasswd(file, '-cbs', 'u', 'pw');
    const pw = new HtpasswdFile(file);
    const verify = pw.verify.bind(pw) as (user: unknown, password: unknown) => Promise<boolean>;
    assert.equal(await verify(undefined, 'pw'), false);
    assert.equal(await verify('u', null), false);
    assert.equal(await verify('u', 42), false);
    assert.equal(await pw.verify('', 'pw'), false);
    assert.equal(await pw.verify('u:x', 'pw'), false);
    assert.equal(await pw.verify('u\0', 'pw'), false);
    assert.equal(await pw.verify('u', 'pw\ud800'), false);
    assert.equal(await pw.verify('u', 'x'.repeat(1_000_000)), false);
    assert.equal(await pw.verify('u', 'pw'), true);
  });
});

describe('HtpasswdFile reload', () => {
  it('re-reads the file when htpasswd changes a password; the old one stops working at once', async () => {
    const file = newPath();
    htpasswd(file, '-cbB', 'gina', 'old');
    const pw = new HtpasswdFile(file);
    // Twice, so the second answer may come from the cache of verified credentials.
    assert.equal(await pw.verify('gina', 'old'), true);
    assert.equal(await pw.verify('gina', 'old'), true);
    changing(file, () => htpasswd(file, '-bB', 'gina', 'new'));
    assert.equal(await pw.verify('gina', 'old'), false);
    assert.equal(await pw.verify('gina', 'new'), true);
  });

  it('picks up added users and recomputes the problems', async () => {
    const file = newPath();
    writeFileSync(file, 'broken\n');
    const pw = new HtpasswdFile(file);
    assert.deepEqual(pw.problems.map((p) => p.line), [1]);
    changing(file, () => htpasswd(file, '-cbm', 'hank', 'pw'));
    assert.deepEqual(pw.problems, []);
    assert.equal(await pw.verify('hank', 'pw'), true);
  });

  it('lets nobody in once the file is removed, reports it on line 0, and recovers when it is back', async () => {
    const file = newPath();
    htpasswd(file, '-cbB', 'ida', 'pw');
    const pw = new HtpasswdFile(file);
    assert.equal(await pw.verify('ida', 'pw'), true);
    const saved = readFileSync(file);
    rmSync(file);
    assert.equal(await pw.verify('ida', 'pw'), false);
    const problems = pw.problems;
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.line, 0);
    assert.match(problems[0]!.reason, /ENOENT/);
    assert.ok(problems[0]!.reason.includes(file));
    writeFileSync(file, saved);
    assert.equal(await pw.verify('ida', 'pw'), true);
    assert.deepEqual(pw.problems, []);
  });

  it('lets nobody in when the file is replaced by something it cannot read', async () => {
    const file = newPath();
    htpasswd(file, '-cbs', 'jo', 'pw');
    const pw = new HtpasswdFile(file);
    assert.equal(await pw.verify('jo', 'pw'), true);
    rmSync(file);
    mkdirSync(file);
    assert.equal(await pw.verify('jo', 'pw'), false);
    assert.deepEqual(pw.problems.map((p) => p.line), [0]);
    assert.match(pw.problems[0]!.reason, /EISDIR/);
  });

  it('answers for the file as it is when it changes during a check', async () => {
    const file = newPath();
    htpasswd(file, '-cbB', 'kim', 'old');
    const pw = new HtpasswdFile(file);
    const during = pw.verify('kim', 'old');
    changing(file, () => htpasswd(file, '-bB', 'kim', 'new'));
    // This call sees the change; the check already under way must not answer for the old file.
    const after = pw.verify('kim', 'new');
    assert.equal(await during, false);
    assert.equal(await after, true);
    assert.equal(await pw.verify('kim', 'old'), false);
  });

  it('does not let a cached success stand for another password or user', async () => {
    const file = newPath();
    htpasswd(file, '-cbB', 'lee', 'pw');
    htpasswd(file, '-bB', 'lee2', 'pw');
    const pw = new HtpasswdFile(file);
    assert.equal(await pw.verify('lee', 'pw'), true);
    assert.equal(await pw.verify('lee', 'pw2'), false);
    assert.equal(await pw.verify('lee2', 'pw'), true);
    assert.equal(await pw.verify('lee', '\0pw'), false);
    assert.equal(await pw.verify('le', 'e\0pw'), false);
  });
});
