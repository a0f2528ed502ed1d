import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { apr1 } from '../../../src/apps/auth/apr1.js';

const openssl = (salt: string, password: string): string =>
  execFileSync('openssl', ['passwd', '-apr1', '-salt', salt, password], { encoding: 'utf8' }).trim();

describe('apr1', () => {
  it('gives the known answer of `openssl passwd -apr1 -salt SALT pw`', () => {
    assert.equal(apr1('pw', 'SALT'), '$apr1$SALT$pmdBt.XnefcM2rr1v95MQ1');
  });

  // Lengths around the 16-byte blocks and the length-bit loop, an empty password, UTF-8.
  const cases: [string, string][] = [
    ['abcdefgh', ''],
    ['a', 'x'],
    ['./09AZaz', 'x'.repeat(15)],
    ['12345678', 'y'.repeat(16)],
    ['salt', 'z'.repeat(17)],
    ['s', 'long password with spaces and more than thirty-two bytes in it'],
    ['utf8', 'pässwörd ✓'],
  ];
  for (const [salt, password] of cases) {
    it(`agrees with openssl for salt ${JSON.stringify(salt)}, a ${Buffer.byteLength(password)}-byte password`, () => {
      assert.equal(apr1(password, salt), openssl(salt, password));
    });
  }

  it('takes the salt from a whole $apr1$ hash, cut at "$" and at 8 characters', () => {
    const hash = openssl('3weFVHf8', 'secret');
    assert.equal(apr1('secret', hash), hash);
    assert.equal(apr1('secret', '3weFVHf8EXTRA'), hash);
  });

  it('hashes bytes as given', () => {
    assert.equal(apr1(Buffer.from('pw'), 'SALT'), apr1('pw', 'SALT'));
    assert.notEqual(apr1('Pw', 'SALT'), apr1('pw', 'SALT'));
  });
});
