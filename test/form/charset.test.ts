import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { checkEncoding, decodeBytes, type DecodeErrors } from '../../src/form/charset.js';
import { FormError } from '../../src/form/errors.js';
import { rng } from '../helpers/form-random.js';

const oracle = fileURLToPath(new URL('../../../test/fixtures/form/codec_dump.py', import.meta.url));
const MODES: DecodeErrors[] = ['strict', 'replace', 'ignore', 'surrogateescape'];
/** Python names; each also means the same table to TextDecoder (or to tsgi's own decoder). */
const CHARSETS = ['utf-8', 'UTF8', 'ascii', 'us-ascii', 'latin-1', 'iso-8859-1', 'iso8859_3', 'iso-8859-8',
  'windows-1250', 'windows-1251', 'cp1252', 'windows-1252', 'koi8-r'];

/** Bytes rich in what breaks decoders: valid and truncated UTF-8, stray continuation bytes, surrogates, overlongs. */
function nastyBytes(random: () => number, length: number): Buffer {
  const pieces: number[][] = [[0xe2, 0x82, 0xac], [0xe2, 0x82], [0xf0, 0x9f, 0x98, 0x80], [0xf0, 0x9f, 0x98], [0xc3, 0xa9],
    [0xc3], [0x80], [0xbf], [0xff], [0xfe], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xe0, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80],
    [0xf8, 0x88], [0xef, 0xbb, 0xbf], [0x81], [0x8d], [0x98], [0xaa]];
  const out: number[] = [];
  while (out.length < length) {
    if (random() < 0.4) out.push(0x20 + Math.floor(random() * 0x5f));
    else if (random() < 0.3) out.push(0x80 + Math.floor(random() * 0x80));
    else out.push(...pieces[Math.floor(random() * pieces.length)]!);
  }
  return Buffer.from(out);
}

function python(cases: { bytes: Buffer; encoding: string; errors: DecodeErrors }[]): ({ text: string } | { error: string })[] {
  const input = JSON.stringify(cases.map((c) => ({ ...c, bytes: c.bytes.toString('base64') })));
  const result = spawnSync('/usr/bin/python3', [oracle], { input, maxBuffer: 64 * 1024 * 1024 });
  assert.equal(result.status, 0, result.stderr.toString());
  return JSON.parse(result.stdout.toString()) as ({ text: string } | { error: string })[];
}

function ours(bytes: Buffer, encoding: string, errors: DecodeErrors): { text: string } | { error: string } {
  try {
    return { text: decodeBytes(bytes, encoding, errors) };
  } catch (error) {
    assert.ok(error instanceof FormError && error.code === 'BAD_ENCODING', String(error));
    return { error: error.message };
  }
}

describe('decodeBytes against Python’s codecs', () => {
  it('gives Python’s text, or fails where Python fails, for every charset and error mode', () => {
    const random = rng(16);
    const cases = [];
    for (const encoding of CHARSETS) {
      for (const errors of MODES) {
        for (let i = 0; i < 40; i++) cases.push({ bytes: nastyBytes(random, 1 + Math.floor(random() * 24)), encoding, errors });
        cases.push({ bytes: Buffer.from(Array.from({ length: 256 }, (_, b) => b)), encoding, errors });
      }
    }
    const expected = python(cases);
    const mismatches: string[] = [];
    cases.forEach((c, i) => {
      const got = ours(c.bytes, c.encoding, c.errors);
      const want = expected[i]!;
      if ('error' in want ? !('error' in got) : JSON.stringify(got) !== JSON.stringify(want)) {
        mismatches.push(`${c.encoding}/${c.errors} ${c.bytes.toString('hex')}: tsgi ${JSON.stringify(got)}, python ${JSON.stringify(want)}`);
      }
    });
    assert.deepEqual(mismatches.slice(0, 10), []);
  });
});

describe('decodeBytes', () => {
  it('gives one U+FFFD for a truncated sequence and one per stray byte, as Python does', () => {
    assert.equal(decodeBytes(Buffer.from([0x61, 0xe2, 0x82]), 'utf-8', 'replace'), 'a\ufffd');
    assert.equal(decodeBytes(Buffer.from([0xff, 0xfe]), 'utf-8', 'replace'), '\ufffd\ufffd');
    assert.equal(decodeBytes(Buffer.from([0x61, 0xe2, 0x82]), 'utf-8', 'surrogateescape'), 'a\udce2\udc82');
    assert.equal(decodeBytes(Buffer.from([0x61, 0xe2, 0x82, 0x62]), 'utf-8', 'ignore'), 'ab');
  });

  it('reads ascii as ascii: a byte from 0x80 is an error, not windows-1252', () => {
    assert.equal(decodeBytes(Buffer.from([0x61, 0x80, 0xe9]), 'ascii', 'replace'), 'a\ufffd\ufffd');
    assert.equal(decodeBytes(Buffer.from([0x61, 0x80, 0xe9]), 'ascii', 'surrogateescape'), 'a\udc80\udce9');
    assert.throws(() => decodeBytes(Buffer.from([0x61, 0x80]), 'ascii', 'strict'),
      (e: unknown) => e instanceof FormError && e.code === 'BAD_ENCODING' && /byte 0x80 at offset 1 as ascii/.test(e.message));
  });

  it('keeps a byte order mark, as Python’s utf-8 codec does', () => {
    assert.equal(decodeBytes(Buffer.from([0xef, 0xbb, 0xbf, 0x78]), 'utf-8', 'strict'), '\ufeffx');
    assert.equal(decodeBytes(Buffer.from([0xef, 0xbb, 0xbf, 0x78]), 'utf-8', 'ignore'), '\ufeffx');
  });

  it('lets surrogateescape give the original bytes back', () => {
    const bytes = Buffer.from([0x61, 0xff, 0xc3, 0xa9, 0xe2, 0x82]);
    const text = decodeBytes(bytes, 'utf-8', 'surrogateescape');
    const back = Buffer.from([...text].flatMap((ch) => {
      const c = ch.charCodeAt(0);
      return c >= 0xdc80 && c <= 0xdcff ? [c - 0xdc00] : [...Buffer.from(ch, 'utf8')];
    }));
    assert.deepEqual(back, bytes);
  });

  it('decodes multi-byte charsets with TextDecoder for strict and replace, and refuses the modes it cannot honour', () => {
    assert.equal(decodeBytes(Buffer.from([0x82, 0xa0]), 'shift_jis', 'strict'), 'あ');
    assert.equal(decodeBytes(Buffer.from([0xa4, 0xa2]), 'euc_jp', 'replace'), 'あ');
    assert.throws(() => decodeBytes(Buffer.from([0x82]), 'shift_jis', 'strict'), (e: unknown) => e instanceof FormError && e.code === 'BAD_ENCODING');
    assert.throws(() => checkEncoding('shift_jis', 'surrogateescape'), /errors 'surrogateescape' works with utf-8, ascii, latin-1 and single-byte charsets, not with shift_jis/);
    assert.throws(() => checkEncoding('gbk', 'ignore'), RangeError);
  });

  it('refuses an unknown charset or error mode at once', () => {
    assert.throws(() => checkEncoding('no-such-charset'), /unknown encoding: no-such-charset/);
    assert.throws(() => checkEncoding('utf-8', 'bogus' as DecodeErrors), /unknown error handler name "bogus"/);
  });
});
