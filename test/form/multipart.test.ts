import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FormError, MultipartParser, parsePartHeaders, validBoundary, type MultipartOptions, type PartInfo } from '../../src/form/index.js';
import { concatBytesDuring } from '../helpers/concat-watch.js';

interface Parsed {
  parts: { name: string | null; filename: string | null; type: string; data: string; complete: boolean }[];
  done: number;
}

function parseChunks(boundary: string, chunks: Uint8Array[], options: MultipartOptions = {}): Parsed {
  const parts: Parsed['parts'] = [];
  let current: { info: PartInfo; data: Buffer[] } | null = null;
  const parser = new MultipartParser(boundary, {
    onPartBegin: (info) => { current = { info, data: [] }; },
    onPartData: (data) => { current!.data.push(Buffer.from(data)); },
    onPartEnd: (complete) => {
      const { info, data } = current!;
      parts.push({ name: info.name, filename: info.filename, type: info.type, data: Buffer.concat(data).toString('latin1'), complete });
      current = null;
    },
  }, options);
  for (const chunk of chunks) parser.write(chunk);
  parser.end();
  return { parts, done: parser.done };
}

const parse = (boundary: string, body: string, options?: MultipartOptions): Parsed =>
  parseChunks(boundary, [Buffer.from(body, 'latin1')], options);

const BODY = [
  'preamble\r\n--B\r\n',
  'Content-Disposition: form-data; name="a"\r\n\r\nalpha\r\n--B\r\n',
  'Content-Disposition: form-data; name="f"; filename="f.bin"\r\nContent-Type: application/octet-stream\r\n\r\n',
  '\r\n--B-\r\n--BB\r\n\r\n\r\r\n--B  \r\nContent-Disposition: form-data; name="e"\r\n\r\n\r\n--B--\r\nepilogue',
].join('');

describe('MultipartParser', () => {
  it('parses parts, leaving the delimiter line ending out of the data', () => {
    const { parts, done } = parse('B', BODY);
    assert.equal(done, 1);
    assert.deepEqual(parts.map((p) => [p.name, p.filename, p.type, p.data, p.complete]), [
      ['a', null, 'text/plain', 'alpha', true],
      ['f', 'f.bin', 'application/octet-stream', '\r\n--B-\r\n--BB\r\n\r\n\r', true],
      ['e', null, 'text/plain', '', true],
    ]);
  });

  it('gives the same parts for every two-way and every one-byte split', () => {
    const bytes = Buffer.from(BODY, 'latin1');
    const expected = parse('B', BODY);
    for (let cut = 0; cut <= bytes.length; cut++) {
      assert.deepEqual(parseChunks('B', [bytes.subarray(0, cut), bytes.subarray(cut)]), expected, `cut at ${cut}`);
    }
    const bytewise = [...bytes].map((b) => Uint8Array.of(b));
    assert.deepEqual(parseChunks('B', bytewise), expected);
  });

  it('accepts bare LF line endings and a closing delimiter at the very end', () => {
    const { parts, done } = parse('B', '--B\nContent-Disposition: form-data; name="a"\n\nx\n--B--');
    assert.equal(done, 1);
    assert.equal(parts[0]!.data, 'x');
  });

  it('marks a part cut off by the end of the body done -1', () => {
    const { parts, done } = parse('B', '--B\r\nContent-Disposition: form-data; name="a"\r\n\r\npartial\r\n--');
    assert.equal(done, -1);
    assert.deepEqual(parts.map((p) => [p.data, p.complete]), [['partial\r\n--', false]]);
  });

  it('ends without a part when the body stops after a delimiter', () => {
    const { parts, done } = parse('B', '--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--B\r\n');
    assert.equal(done, -1);
    assert.deepEqual(parts.map((p) => p.complete), [true]);
  });

  it('ignores bytes written after the closing delimiter', () => {
    const parser = new MultipartParser('B', {}, {});
    parser.write(Buffer.from('--B--\r\n'));
    parser.write(Buffer.from('anything at all'));
    parser.end();
    assert.equal(parser.done, 1);
    assert.equal(parser.bytesRead, 22);
  });

  it('checks the boundary the way Python does', () => {
    assert.equal(validBoundary('----WebKitFormBoundaryABC123'), true);
    assert.equal(validBoundary('with space'), true);
    assert.equal(validBoundary('trailing '), false);
    assert.equal(validBoundary(''), false);
    assert.equal(validBoundary('x'.repeat(201)), true);
    assert.equal(validBoundary('x'.repeat(202)), false);
    assert.equal(validBoundary('é'), false);
    assert.throws(() => new MultipartParser('bad\n', {}), (e: unknown) =>
      e instanceof FormError && e.code === 'BAD_BOUNDARY' && /Invalid boundary in multipart form/.test(e.message));
  });

  it('names a missing delimiter and an empty body', () => {
    assert.throws(() => parse('B', 'no delimiter here'), /has no delimiter line "--B"/);
    assert.throws(() => parse('B', ''), /multipart body is empty/);
  });

  it('refuses a header line without a colon', () => {
    assert.throws(() => parse('B', '--B\r\nnonsense\r\n\r\nx\r\n--B--'), (e: unknown) => e instanceof FormError && e.code === 'MALFORMED');
  });

  it('takes an empty Content-Type header for none: text/plain', () => {
    for (const line of ['Content-Type:', 'Content-Type:   ']) {
      const info = parsePartHeaders(['Content-Disposition: form-data; name="a"', line]);
      assert.equal(info.type, 'text/plain');
      assert.equal(info.headers['content-type']?.trim(), '', 'the header itself stays as sent');
    }
  });

  it('decodes a file name split anywhere between writes with the error mode asked for', () => {
    const body = Buffer.from('--b\r\nContent-Disposition: form-data; name="f"; filename="\xe2\x82\xac\xff.txt"\r\n\r\nx\r\n--b--\r\n', 'latin1');
    for (let split = 1; split < body.length; split++) {
      const parsed = parseChunks('b', [body.subarray(0, split), body.subarray(split)], { errors: 'surrogateescape' });
      assert.equal(parsed.parts[0]!.filename, '€\udcff.txt', `split ${split}`);
    }
    assert.throws(() => parseChunks('b', [body], { errors: 'strict' }), (e: unknown) => e instanceof FormError && e.code === 'BAD_ENCODING');
    assert.throws(() => new MultipartParser('b', {}, { errors: 'bogus' as never }), RangeError);
  });

  it('keeps the first of repeated headers and unfolds continuation lines', () => {
    let info: PartInfo | undefined;
    const parser = new MultipartParser('B', { onPartBegin: (i) => { info = i; } });
    parser.write(Buffer.from('--B\r\nContent-Disposition: form-data;\r\n name="n"\r\nX-A: 1\r\nx-a: 2\r\n\r\n\r\n--B--'));
    parser.end();
    assert.equal(info!.name, 'n');
    assert.equal(info!.headers['x-a'], '1');
    assert.deepEqual(info!.rawHeaders.map(([k]) => k), ['Content-Disposition', 'X-A', 'x-a']);
  });

  describe('limits end in an error, never a silent truncation', () => {
    const many = '--B\r\n' + Array.from({ length: 5 }, (_, i) => `Content-Disposition: form-data; name="p${i}"\r\n\r\nv\r\n--B`).join('\r\n') + '--';
    const cases: [string, string, MultipartOptions, string][] = [
      ['maxParts', many, { maxParts: 4 }, 'TOO_MANY_FIELDS'],
      ['maxHeaderSize', `--B\r\nContent-Disposition: form-data; name="${'n'.repeat(200)}"\r\n\r\nv\r\n--B--`, { maxHeaderSize: 100 }, 'HEADER_TOO_LARGE'],
      ['maxFieldSize', '--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n12345678901\r\n--B--', { maxFieldSize: 10 }, 'FIELD_TOO_LARGE'],
      ['maxFileSize', '--B\r\nContent-Disposition: form-data; name="a"; filename="x"\r\n\r\n12345678901\r\n--B--', { maxFileSize: 10, maxFieldSize: 1 }, 'FILE_TOO_LARGE'],
      ['maxBodySize', many, { maxBodySize: 50 }, 'BODY_TOO_LARGE'],
    ];
    for (const [limit, body, options, code] of cases) {
      it(limit, () => {
        assert.throws(() => parse('B', body, options), (e: unknown) => e instanceof FormError && e.code === code && e.status === 413 && e.message.includes(limit));
      });
    }

    it('allows exactly the limit', () => {
      assert.equal(parse('B', many, { maxParts: 5 }).parts.length, 5);
      assert.equal(parse('B', '--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n1234567890\r\n--B--', { maxFieldSize: 10 }).parts[0]!.data, '1234567890');
    });

    it('keeps failing after an error', () => {
      const parser = new MultipartParser('B', {}, { maxBodySize: 3 });
      assert.throws(() => parser.write(Buffer.from('--B\r\n')), /maxBodySize/);
      assert.throws(() => parser.write(Buffer.from('x')), /maxBodySize/);
      assert.throws(() => parser.end(), /maxBodySize/);
    });
  });

  it('copies a long header line arriving in small chunks a bounded number of times, not once per chunk', () => {
    // Re-joining the held partial line on every write cost ~8 KB of copying per byte sent for
    // a 16 KiB header block in one-byte segments.
    const filler = 'x'.repeat(12 * 1024);
    const body = Buffer.from(`--B\r\nContent-Disposition: form-data; name="a"; x="${filler}"\r\n\r\nalpha\r\n--B--\r\n`);
    let data = '';
    let begun: PartInfo | null = null;
    const parser = new MultipartParser('B', { onPartBegin: (info) => { begun = info; }, onPartData: (d) => { data += d.toString(); } });
    const copied = concatBytesDuring(() => {
      for (let i = 0; i < body.length; i += 16) parser.write(body.subarray(i, i + 16));
      parser.end();
    });
    assert.equal(parser.done, 1);
    assert.equal(begun!.dispositionOptions['x'], filler);
    assert.equal(data, 'alpha');
    assert.ok(copied <= 4 * body.length, `copied ${copied} bytes for a ${body.length}-byte body`);
  });

  it('still refuses an over-long header line that arrives in small chunks', () => {
    const parser = new MultipartParser('B', {}, { maxHeaderSize: 100 });
    parser.write(Buffer.from('--B\r\n'));
    assert.throws(() => { for (let i = 0; i < 20; i++) parser.write(Buffer.from('xxxxxxxx')); },
      (error: unknown) => error instanceof FormError && error.code === 'HEADER_TOO_LARGE');
  });
});
