import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { parseHeader } from '../../src/form/index.js';

const params = (line: string): Record<string, string> => ({ ...parseHeader(line)[1] });

describe('parseHeader', () => {
  it('splits the main value from lower-cased parameters and keeps the main value as sent', () => {
    const [key, p] = parseHeader('Multipart/Form-Data; BOUNDARY=AbC; charset="utf-8"');
    assert.equal(key, 'Multipart/Form-Data');
    assert.deepEqual({ ...p }, { boundary: 'AbC', charset: 'utf-8' });
  });

  it('does not split at a semicolon inside quotes and unescapes \\\\ and \\"', () => {
    assert.deepEqual(params('form-data; name="a;b\\"c"; filename="x\\\\y"'), { name: 'a;b"c', filename: 'x\\y' });
  });

  it('keeps other backslashes so Windows paths survive', () => {
    assert.equal(params('form-data; filename="C:\\Users\\me\\a.txt"')['filename'], 'C:\\Users\\me\\a.txt');
  });

  it('ignores parameters without = and tolerates stray spaces', () => {
    assert.deepEqual(params(' text/plain ; flag ; a = 1 ;b='), { a: '1', b: '' });
  });

  it('decodes RFC 5987 filename* and lets it win over filename', () => {
    const p = params(`attachment; filename="fallback.txt"; filename*=UTF-8''%E2%82%AC%20rates.txt`);
    assert.equal(p['filename'], '€ rates.txt');
    assert.equal(p['filename*'], "UTF-8''%E2%82%AC%20rates.txt");
  });

  it('decodes ISO-8859-1 extended values byte for byte', () => {
    assert.equal(params(`attachment; filename*=iso-8859-1'en'%E9t%E9.txt`)['filename'], 'été.txt');
    // ISO-8859-1 is byte for byte, not the WHATWG windows-1252 alias (0x80 is U+0080, not €).
    assert.equal(params(`attachment; filename*=ISO-8859-1''%80%9F%E9.txt`)['filename'], '\u0080\u009fé.txt');
  });

  it('joins RFC 2231 continuations in order, encoded or not', () => {
    const p = params(`attachment; filename*1="second-"; filename*0*=UTF-8''%C3%A9first-; filename*2=third`);
    assert.equal(p['filename'], 'éfirst-second-third');
  });

  it('keeps the plain parameter when the extended one names an unknown charset', () => {
    assert.equal(params(`attachment; filename="plain"; filename*=x-nope''abc`)['filename'], 'plain');
  });

  it('can leave extended parameters undecoded', () => {
    const [, p] = parseHeader(`attachment; filename="plain"; filename*=UTF-8''x`, { extendedParams: false });
    assert.equal(p['filename'], 'plain');
  });

  it('returns UTF-8 file names unchanged (no latin1 mojibake)', () => {
    assert.equal(params('form-data; name="f"; filename="résumé 履歴書.pdf"')['filename'], 'résumé 履歴書.pdf');
  });

  it('gives parameter records without a prototype, so __proto__ is just a name', () => {
    const p = params('x; __proto__=1; constructor=2');
    assert.equal(Object.getPrototypeOf(p), Object.prototype); // the spread copy
    assert.equal(parseHeader('x; __proto__=1')[1]['__proto__'], '1');
  });

  it('prints its parameters as a plain record in console.log and inspect', () => {
    assert.equal(inspect(parseHeader('text/html; charset=utf-8')), "[ 'text/html', { charset: 'utf-8' } ]");
  });
});
