import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadGateway, HeadReader, MAX_HEAD_BYTES, parseHead } from '../../src/gateways/cgi-response.js';

function readAll(...chunks: string[]): [string, string] | undefined {
  const reader = new HeadReader();
  for (const chunk of chunks) {
    const found = reader.push(Buffer.from(chunk, 'latin1'));
    if (found) return [found[0], found[1].toString('latin1')];
  }
  return undefined;
}

describe('HeadReader', () => {
  it('finds the end of the header block with LF, CRLF or a mix', () => {
    assert.deepEqual(readAll('A: 1\nB: 2\n\nbody'), ['A: 1\nB: 2', 'body']);
    assert.deepEqual(readAll('A: 1\r\nB: 2\r\n\r\nbody'), ['A: 1\r\nB: 2\r', 'body']);
    assert.deepEqual(readAll('A: 1\r\n\nbody'), ['A: 1\r', 'body']);
  });

  it('finds it across chunk boundaries, even between CR and LF', () => {
    assert.deepEqual(readAll('A: 1\r\n\r', '\nrest'), ['A: 1\r', 'rest']);
    assert.deepEqual(readAll('A: 1\n', '\n'), ['A: 1', '']);
    assert.equal(readAll('A: 1\r\n'), undefined);
  });

  it('refuses a header block that never ends', () => {
    const reader = new HeadReader();
    assert.throws(() => {
      for (let i = 0; i <= MAX_HEAD_BYTES / 1024; i++) reader.push(Buffer.alloc(1024, 0x41));
    }, BadGateway);
  });
});

describe('parseHead', () => {
  const warnings: string[] = [];
  const warn = (message: string) => void warnings.push(message);

  it('reads a document response and defaults the status to 200', () => {
    assert.deepEqual(parseHead('Content-Type: text/plain\r\nX-A:  spaced  \r', warn), {
      kind: 'document', status: '200 OK', headers: [['Content-Type', 'text/plain'], ['X-A', 'spaced']], needsEmptyBody: false,
    });
  });

  it('takes Status, with or without a reason', () => {
    assert.equal((parseHead('Status: 404 Gone Fishing\nContent-Type: text/plain', warn) as { status: string }).status, '404 Gone Fishing');
    assert.equal((parseHead('Status: 404\nContent-Type: text/plain', warn) as { status: string }).status, '404 Not Found');
  });

  it('refuses a malformed Status and a repeated CGI field', () => {
    assert.throws(() => parseHead('Status: 20\nContent-Type: text/plain', warn), /malformed Status/);
    assert.throws(() => parseHead('Status: abc\nContent-Type: text/plain', warn), /malformed Status/);
    assert.throws(() => parseHead('Content-Type: a/b\nContent-Type: c/d', warn), /given twice/);
    assert.throws(() => parseHead('Status: 101 Switching\n', warn), /cannot end a response/);
    assert.throws(() => parseHead('Status: 600 Beyond\nContent-Type: text/plain', warn), /cannot end a response/);
    assert.throws(() => parseHead('Content-Type: a/b\nContent-Length: 1\ncontent-length: 1', warn), /given twice/);
    assert.throws(() => parseHead('Content-Type: a/b\nContent-Length: 0x10', warn), /malformed Content-Length/);
  });

  it('tells local from client redirects', () => {
    assert.deepEqual(parseHead('Location: /other?x=1', warn), { kind: 'local-redirect', location: '/other?x=1' });
    assert.equal(parseHead('Location: //evil.example/x', warn).kind, 'client-redirect');
    assert.equal(parseHead('Location: https://example.org/', warn).kind, 'client-redirect');
    assert.equal(parseHead('Status: 301 Moved\nLocation: /x', warn).kind, 'document');
  });

  it('requires Content-Type for a document, but not for a bodiless status response', () => {
    assert.throws(() => parseHead('X-Only: 1', warn), /no Content-Type/);
    assert.deepEqual(parseHead('Status: 204 No Content', warn), { kind: 'document', status: '204 No Content', headers: [], needsEmptyBody: true });
  });

  it('skips, and reports by name, lines it cannot forward', () => {
    warnings.length = 0;
    const head = parseHead('Content-Type: text/plain\nnonsense\nBad Name: 1\nX-Ctl: a\u0001b\nTransfer-Encoding: chunked\nX-Ok: 1', warn);
    assert.deepEqual((head as { headers: unknown }).headers, [['Content-Type', 'text/plain'], ['X-Ok', '1']]);
    assert.equal(warnings.length, 4);
    assert.match(warnings.join('\n'), /bogus header line "nonsense"/);
    assert.match(warnings.join('\n'), /"Bad Name"/);
    assert.match(warnings.join('\n'), /X-Ctl skipped: control character/);
    assert.match(warnings.join('\n'), /Transfer-Encoding skipped: hop-by-hop/);
  });

  it('refuses an empty header block', () => {
    assert.throws(() => parseHead('', warn), /empty header block/);
    assert.throws(() => parseHead('nonsense only', warn), /no valid header lines/);
  });
});
