/**
 * The body shapes that broke other parsers, at moderate sizes (the benchmark runs 1 GB).
 * Memory stays bounded because the parser hands on all but a delimiter's length of every
 * chunk at once: after each write, (bytes written) - (bytes handed on) stays tiny.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FieldStorage, FormError, MultipartParser } from '../../src/form/index.js';

const BOUNDARY = '----WebKitFormBoundaryQm9ndXNCb3VuZGFy';
const HEAD = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="big.bin"\r\n\r\n`);
const TAIL = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
const MAX_LAG = BOUNDARY.length + 5; // "\r\n--" + boundary, minus one byte

/** Streams HEAD + `total` bytes made of `pattern` + TAIL, checking the lag after every write. */
function streamPart(pattern: Buffer, total: number, chunkSize = 65536): { size: number; maxLag: number } {
  let size = 0;
  let maxLag = 0;
  const parser = new MultipartParser(BOUNDARY, { onPartData: (d) => { size += d.length; } }, { maxFileSize: Infinity });
  parser.write(HEAD);
  const chunk = Buffer.alloc(chunkSize);
  for (let i = 0; i < chunkSize; i++) chunk[i] = pattern[i % pattern.length]!;
  let written = 0;
  while (written < total) {
    const n = Math.min(chunkSize, total - written);
    parser.write(chunk.subarray(0, n));
    written += n;
    maxLag = Math.max(maxLag, written - size);
  }
  parser.write(TAIL);
  parser.end();
  assert.equal(parser.done, 1);
  return { size, maxLag };
}

describe('memory shapes', () => {
  const MB = 1024 * 1024;
  const shapes: [string, Buffer][] = [
    ['a part with no newline at all', Buffer.from('x')],
    ['a part that is all CR', Buffer.from('\r')],
    ['a part that is all LF', Buffer.from('\n')],
    ['a CR/LF flood', Buffer.from('\r\n')],
    ['delimiter look-alikes on every line', Buffer.from(`\r\n--${BOUNDARY.slice(0, -1)}X`)],
    ['dashes and line ends', Buffer.from('\r\n--\r\n-')],
  ];
  for (const [name, pattern] of shapes) {
    it(`${name}: 16 MB stream with bounded hold-back`, () => {
      const { size, maxLag } = streamPart(pattern, 16 * MB, 65536 - 7);
      assert.equal(size, 16 * MB);
      assert.ok(maxLag <= MAX_LAG, `held back ${maxLag} bytes`);
    });
  }

  it('a part that starts with CR/LF and runs for megabytes without one (werkzeug CVE-2023-46136)', () => {
    let size = 0;
    let maxLag = 0;
    const parser = new MultipartParser(BOUNDARY, { onPartData: (d) => { size += d.length; } });
    const head = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="x"\r\n\r\n\r\n`);
    parser.write(head);
    let written = 2;
    const block = Buffer.alloc(8191, 0x61);
    for (let i = 0; i < 1024; i++) {
      parser.write(block);
      written += block.length;
      maxLag = Math.max(maxLag, written - size);
    }
    parser.write(TAIL);
    parser.end();
    assert.equal(size, written);
    assert.ok(maxLag <= MAX_LAG, `held back ${maxLag}`);
  });

  it('thousands of tiny parts', async () => {
    const count = 20_000;
    const piece = (i: number): string => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\n${i}\r\n`;
    const chunks: Buffer[] = [];
    for (let i = 0; i < count; i += 500) {
      let text = '';
      for (let j = i; j < i + 500; j++) text += piece(j);
      chunks.push(Buffer.from(text));
    }
    chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
    const environ = { REQUEST_METHOD: 'POST', CONTENT_TYPE: `multipart/form-data; boundary=${BOUNDARY}`, 'tsgi.input': chunks };
    const form = await FieldStorage.from(environ, { maxNumFields: count });
    assert.equal(form.list!.length, count);
    assert.equal(form.getValue('f19999'), '19999');
    await assert.rejects(FieldStorage.from(environ, { maxNumFields: count - 1 }), /Max number of fields exceeded/);
  });

  it('a huge part header block is refused once it passes maxHeaderSize', () => {
    for (const line of ['X-Junk: ' + 'j'.repeat(100), 'j']) {
      const parser = new MultipartParser(BOUNDARY, {}, { maxHeaderSize: 16 * 1024 });
      parser.write(Buffer.from(`--${BOUNDARY}\r\n`));
      const block = Buffer.from(line.length > 1 ? (line + '\r\n').repeat(100) : line.repeat(8192));
      let written = 0;
      assert.throws(() => {
        for (let i = 0; i < 10_000; i++) {
          parser.write(block);
          written += block.length;
        }
      }, (e: unknown) => e instanceof FormError && e.code === 'HEADER_TOO_LARGE');
      assert.ok(written <= 16 * 1024 + block.length, `accepted ${written} header bytes`);
    }
  });
});
