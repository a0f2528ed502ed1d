import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse, parseMultipart } from '../../src/form/index.js';
import { assemble, part } from '../helpers/form-corpus.js';

describe('parse()', () => {
  it('merges the urlencoded body and the query string into name → values', () => {
    const environ = { REQUEST_METHOD: 'POST', CONTENT_TYPE: 'application/x-www-form-urlencoded', CONTENT_LENGTH: '7', QUERY_STRING: 'a=3&c=4' };
    const result = parse({ environ, input: Buffer.from('a=1&b=2') });
    assert.deepEqual({ ...result }, { a: ['1', '3'], b: ['2'], c: ['4'] });
    assert.equal(environ.QUERY_STRING, 'a=3&c=4', 'the environ is left alone');
  });

  it('parses a GET query string', () => {
    assert.deepEqual({ ...parse({ environ: { REQUEST_METHOD: 'GET', QUERY_STRING: 'x=1&x=2&e=' }, keepBlankValues: true }) }, { x: ['1', '2'], e: [''] });
  });

  it('gives text for fields and bytes for files in a multipart body', () => {
    const body = assemble('b', [part('t', 'text'), part('f', Buffer.from([1, 2, 3]), 'f.bin')]);
    const result = parse({ environ: { REQUEST_METHOD: 'POST', CONTENT_TYPE: 'multipart/form-data; boundary=b', CONTENT_LENGTH: String(body.length) }, input: body });
    assert.deepEqual(result['t'], ['text']);
    assert.deepEqual(result['f'], [Buffer.from([1, 2, 3])]);
  });

  it('falls back to the query string for a body that is not a form', () => {
    assert.deepEqual({ ...parse({ environ: { REQUEST_METHOD: 'POST', CONTENT_TYPE: 'text/csv', CONTENT_LENGTH: '3', QUERY_STRING: 'q=1' }, input: 'a,b' }) }, { q: ['1'] });
  });
});

describe('parseMultipart()', () => {
  const body = assemble('AaB03x', [part('a', 'one'), part('a', 'two'), part('f', 'data', 'x.txt')]);

  it('takes the boundary as bytes (Python 3) or text (bpo-40034)', () => {
    for (const boundary of [Buffer.from('AaB03x'), 'AaB03x']) {
      const result = parseMultipart(body, { boundary });
      assert.deepEqual(result['a'], ['one', 'two']);
      assert.deepEqual(result['f'], [Buffer.from('data')]);
    }
  });

  it('honours pdict CONTENT-LENGTH', () => {
    const result = parseMultipart(Buffer.concat([body, Buffer.from('trailing junk')]), { boundary: 'AaB03x', 'CONTENT-LENGTH': body.length });
    assert.deepEqual(Object.keys(result), ['a', 'f']);
  });

  it('works with a boundary that needs quoting', () => {
    const quoted = assemble('a"b;c', [part('k', 'v')]);
    assert.deepEqual(parseMultipart(quoted, { boundary: 'a"b;c' })['k'], ['v']);
  });
});
