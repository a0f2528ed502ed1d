import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResponseReader, type ResponseHead } from '../../src/frontends/response-reader.js';

const wire = Buffer.from(
  'HTTP/1.1 100 Continue\r\n\r\n' +
  'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nX-Spaced:  padded \r\n\r\n' +
  '5\r\nhello\r\n' + 'b;ext=1\r\n, chunked w\r\n' + '5\r\norld!\r\n' + '0\r\nTrailer-Field: x\r\n\r\n',
  'latin1',
);

function readAll(pieces: Buffer[]): { heads: ResponseHead[]; body: string } {
  const reader = new ResponseReader();
  const heads: ResponseHead[] = [];
  const out: Uint8Array[] = [];
  for (const piece of pieces) out.push(...reader.feed(piece, (head) => heads.push(head)));
  return { heads, body: Buffer.concat(out).toString('latin1') };
}

describe('ResponseReader', () => {
  it('skips interim heads, parses the final one and removes chunk framing and trailers', () => {
    const { heads, body } = readAll([wire]);
    assert.equal(heads.length, 1);
    assert.equal(heads[0]!.status, 200);
    assert.equal(heads[0]!.reason, 'OK');
    assert.deepEqual(heads[0]!.headers, [['Content-Type', 'text/plain'], ['Transfer-Encoding', 'chunked'], ['X-Spaced', 'padded']]);
    assert.equal(body, 'hello, chunked world!');
  });

  it('gives the same result however the bytes are split', () => {
    const oneByOne = [...wire].map((byte) => Buffer.from([byte]));
    assert.equal(readAll(oneByOne).body, 'hello, chunked world!');
    for (let cut = 1; cut < wire.length; cut += 7) {
      assert.equal(readAll([wire.subarray(0, cut), wire.subarray(cut)]).body, 'hello, chunked world!', `split at ${cut}`);
    }
  });

  it('passes an unframed body through as it comes', () => {
    const { body } = readAll([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab'), Buffer.from('c')]);
    assert.equal(body, 'abc');
  });

  it('refuses broken framing and bytes after the end', () => {
    assert.throws(() => readAll([Buffer.from('garbage\r\n\r\n')]), /status line/);
    assert.throws(() => readAll([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')]), /chunk size/);
    assert.throws(() => readAll([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n')]), /CRLF/);
    assert.throws(() => readAll([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nmore')]), /after the end/);
  });
});
