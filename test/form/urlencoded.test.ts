import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { FormError, parseQs, parseQsl, unquote, UrlencodedParser, type UrlencodedParserOptions } from '../../src/form/index.js';
import { concatBytesDuring } from '../helpers/concat-watch.js';

function streamed(body: string, split: number, options: UrlencodedParserOptions = {}): [string, string][] {
  const pairs: [string, string][] = [];
  const parser = new UrlencodedParser((n, v) => pairs.push([n, v]), options);
  const bytes = Buffer.from(body, 'utf8');
  for (let i = 0; i < bytes.length; i += split) parser.write(bytes.subarray(i, i + split));
  parser.end();
  return pairs;
}

describe('parseQsl / parseQs', () => {
  it('decodes + as space and %XX as UTF-8, in order', () => {
    assert.deepEqual(parseQsl('a=1+2&b=%C3%A9t%C3%A9&a=3'), [['a', '1 2'], ['b', 'été'], ['a', '3']]);
    assert.deepEqual({ ...parseQs('a=1&b=2&a=3') }, { a: ['1', '3'], b: ['2'] });
  });

  it('drops blank values unless keepBlankValues', () => {
    assert.deepEqual(parseQsl('a=&b&c=1'), [['c', '1']]);
    assert.deepEqual(parseQsl('a=&b&c=1', { keepBlankValues: true }), [['a', ''], ['b', ''], ['c', '1']]);
  });

  it("splits on & only by default: ';' stays in the value (CVE-2021-23336)", () => {
    assert.deepEqual(parseQsl('a=1;b=2'), [['a', '1;b=2']]);
    assert.deepEqual(parseQsl('a=1;b=2', { separator: ';' }), [['a', '1'], ['b', '2']]);
  });

  it('names the offending field under strictParsing', () => {
    assert.throws(() => parseQsl('a=1&oops', { strictParsing: true }), (e: unknown) =>
      e instanceof FormError && e.code === 'BAD_FIELD' && e.message === "bad query field: 'oops'" && e.status === 400);
    assert.throws(() => parseQsl('a=1&&b=2', { strictParsing: true }), /bad query field: ''/);
  });

  it('enforces maxNumFields counting empty fields like Python', () => {
    assert.deepEqual(parseQsl('a=1&b=2', { maxNumFields: 2 }).length, 2);
    assert.throws(() => parseQsl('a=1&b=2&', { maxNumFields: 2 }), (e: unknown) =>
      e instanceof FormError && e.code === 'TOO_MANY_FIELDS' && e.message === 'Max number of fields exceeded' && e.status === 413);
  });

  it('leaves malformed escapes as they are and replaces invalid UTF-8', () => {
    assert.equal(unquote('%zz%4'), '%zz%4');
    assert.equal(unquote('a%ffb'), 'a\ufffdb');
  });

  it("throws with errors: 'strict' on invalid bytes", () => {
    assert.throws(() => parseQsl('a=%ff', { errors: 'strict' }), (e: unknown) => e instanceof FormError && e.code === 'BAD_ENCODING');
  });

  it('decodes with another charset, latin-1 byte for byte', () => {
    assert.deepEqual(parseQsl('a=%E9%80', { encoding: 'latin-1' }), [['a', 'é\u0080']]);
    assert.throws(() => parseQsl('a=1', { encoding: 'no-such-charset' }), RangeError);
  });

  it('decodes each run of ASCII characters whole, as Python does, so a trail byte may be a letter', () => {
    assert.equal(unquote('%82a', 'shift_jis', 'strict'), '\uff22');
    assert.equal(unquote('%ffx%c3%a9', 'utf-8', 'surrogateescape'), '\udcffxé');
    assert.equal(unquote('é%e9', 'latin-1'), 'éé');
  });

  it('refuses an unknown error mode before parsing', () => {
    assert.throws(() => parseQsl('a=1', { errors: 'bogus' as never }), RangeError);
  });

  it('refuses an empty separator', () => {
    assert.throws(() => parseQsl('a=1', { separator: '' }), TypeError);
  });
});

describe('UrlencodedParser', () => {
  const body = 'name=J%C3%BCrgen+M&x=1&&empty=&tail=%F0%9F%98%80;not-a-split&last';
  it('gives the same pairs as parseQsl for every chunk size', () => {
    const expected = parseQsl(body, { keepBlankValues: true });
    for (let split = 1; split <= body.length; split++) {
      assert.deepEqual(streamed(body, split, { keepBlankValues: true }), expected, `split ${split}`);
    }
  });

  it('handles multi-character separators across chunks', () => {
    for (let split = 1; split < 8; split++) {
      assert.deepEqual(streamed('a=1&&b=2&c=3&&d=4', split, { separator: '&&' }), [['a', '1'], ['b', '2&c=3'], ['d', '4']]);
    }
  });

  it('refuses a field larger than maxFieldSize while it streams in', () => {
    const parser = new UrlencodedParser(() => {}, { maxFieldSize: 10 });
    assert.throws(() => parser.write(Buffer.from('a=12345678901')), (e: unknown) => e instanceof FormError && e.code === 'FIELD_TOO_LARGE');
  });

  it('refuses a body larger than maxBodySize', () => {
    const parser = new UrlencodedParser(() => {}, { maxBodySize: 5 });
    parser.write(Buffer.from('a=1&'));
    assert.throws(() => parser.write(Buffer.from('b=2')), (e: unknown) => e instanceof FormError && e.code === 'BODY_TOO_LARGE');
  });

  it('stops at maxNumFields before parsing the rest', () => {
    let seen = 0;
    const parser = new UrlencodedParser(() => seen++, { maxNumFields: 3 });
    assert.throws(() => parser.write(Buffer.from('a=1&b=2&c=3&d=4&e=5')), /Max number of fields exceeded/);
    assert.equal(seen, 3);
  });

  it('copies a long field arriving in small chunks a bounded number of times, not once per chunk', () => {
    // Re-joining everything held back on every write made a 1 MiB field sent in tiny TCP
    // segments cost gigabytes of copying: quadratic time for one request.
    const value = 'x'.repeat(256 * 1024);
    for (const separator of ['&', ';;']) {
      const body = `a=${value}${separator}b=2`;
      const copied = concatBytesDuring(() => {
        assert.deepEqual(streamed(body, 64, { separator }), [['a', value], ['b', '2']]);
      });
      assert.ok(copied <= 4 * body.length, `copied ${copied} bytes for a ${body.length}-byte body`);
    }
  });

  it('measures a field in bytes as received, whatever the charset made of them', () => {
    // 'a=' and five bytes that decode to five characters of two UTF-8 bytes (or three) each.
    for (const [encoding, errors] of [['latin-1', 'strict'], ['utf-8', 'surrogateescape'], ['utf-8', 'replace']] as const) {
      const pairs: [string, string][] = [];
      const parser = new UrlencodedParser((k, v) => pairs.push([k, v]), { encoding, errors, maxFieldSize: 7 });
      parser.write(Buffer.from('a=\xe9\xe9\xe9\xe9\xe9&b=1', 'latin1'));
      parser.end();
      assert.equal(pairs.length, 2, `${encoding} ${errors}`);
      const tooLong = new UrlencodedParser(() => {}, { encoding, errors, maxFieldSize: 7 });
      assert.throws(() => tooLong.write(Buffer.from('b=1&a=\xe9\xe9\xe9\xe9\xe9\xe9&b=1', 'latin1')), (e: unknown) => e instanceof FormError && e.code === 'FIELD_TOO_LARGE');
    }
  });

  it('decodes the body whole before splitting when the charset does not allow splitting its bytes', () => {
    // In UTF-16 every '&' is two bytes, one of them 0x00; Python decodes the body, then splits.
    const body = Buffer.from('a=%41%00&b=c&d=\u00e9', 'utf16le');
    for (let split = 1; split < body.length; split++) {
      const pairs: [string, string][] = [];
      const parser = new UrlencodedParser((k, v) => pairs.push([k, v]), { encoding: 'utf-16le' });
      parser.write(body.subarray(0, split));
      parser.write(body.subarray(split));
      parser.end();
      assert.deepEqual(pairs, [['a', 'A'], ['b', 'c'], ['d', 'é']], `split ${split}`);
    }
  });

  it('splits at a non-ASCII separator in the body’s own charset', () => {
    const pairs: [string, string][] = [];
    const parser = new UrlencodedParser((k, v) => pairs.push([k, v]), { encoding: 'latin-1', separator: 'é' });
    parser.write(Buffer.from('a=1\xe9b=2', 'latin1'));
    parser.end();
    assert.deepEqual(pairs, [['a', '1'], ['b', '2']]);
  });

  it('finds a two-byte separator split across small chunks', () => {
    for (let split = 1; split <= 4; split++) {
      assert.deepEqual(streamed('a=1;;b=2;;c=3', split, { separator: ';;' }), [['a', '1'], ['b', '2'], ['c', '3']]);
    }
  });

  it('prints as a plain record in console.log and inspect, keys like __proto__ included', () => {
    assert.equal(inspect(parseQs('a=1&b=2&a=3')), "{ a: [ '1', '3' ], b: [ '2' ] }");
    assert.equal(inspect(parseQs('__proto__=x')), "{ ['__proto__']: [ 'x' ] }");
    assert.equal(Object.getPrototypeOf(Object.getPrototypeOf(parseQs('a=1'))), null);
  });
});
