import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { overflowedInRequestLine } from '../../src/frontends/header-overflow.js';

/** The packet and the place llhttp stopped in it, marked by "|" in `text`. */
function at(text: string): [Buffer, number] {
  const stop = text.indexOf('|');
  return [Buffer.from(text.slice(0, stop) + text.slice(stop + 1), 'latin1'), stop];
}

describe('overflowedInRequestLine', () => {
  it('sees a target that ended in view, whole line or not', () => {
    assert.equal(overflowedInRequestLine(...at('GET /aaaa| HTTP/1.1\r\n')), true);
    assert.equal(overflowedInRequestLine(...at('aaaaaaaa| HTTP/1.1\r\nHost: x\r\n')), true);
    assert.equal(overflowedInRequestLine(...at('GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /aaaa| HTTP/1.1\r\n')), true);
    assert.equal(overflowedInRequestLine(...at('\r\nGET http://x/aaaa| HTTP/1.1\r\n')), true);
    assert.equal(overflowedInRequestLine(...at('GET /aaaa|\r\n\r\n')), true, 'a target with no version');
  });

  it('sees a header that ended in view', () => {
    assert.equal(overflowedInRequestLine(...at('GET / HTTP/1.1\r\nX-Big: bbbb|\r\n\r\n')), false);
    assert.equal(overflowedInRequestLine(...at('GET / HTTP/1.1\r\nX-Bbbbbbbb|: 1\r\n\r\n')), false);
    assert.equal(overflowedInRequestLine(...at('bbbbbbbb|\r\n\r\n')), false, 'the end of a long value');
    assert.equal(overflowedInRequestLine(...at('bb bb bb   |\r\n\r\n')), false);
    assert.equal(overflowedInRequestLine(...at('GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3|\r\n')), false);
  });

  it('tells a line still arriving by where it started, when that is in view', () => {
    assert.equal(overflowedInRequestLine(...at('GET /aaaaaaaa|')), true);
    assert.equal(overflowedInRequestLine(...at('GET / HTTP/1.1\r\nX-Big: bbbbbbbb|')), false);
    assert.equal(overflowedInRequestLine(...at('GET / HTTP/1.1\r\nX-Big: a=b; c=/dd|')), false);
  });

  it('takes the middle of a line still arriving for a target unless it holds whitespace', () => {
    assert.equal(overflowedInRequestLine(...at('aaaaaaaaaaa|')), true);
    assert.equal(overflowedInRequestLine(...at('a=b; c=d; e=f|')), false);
    assert.equal(overflowedInRequestLine(...at('aaa\taaa|')), false);
  });
});
