/**
 * One corpus of form bodies for the differential tests: curl's real output (captured from the
 * curl binary against a local server), Chromium-shaped bodies, edge cases and malformed ones.
 * `differs` marks a case where tsgi departs from Python on purpose, with the reason.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface FormCase {
  id: string;
  kind: 'form';
  environ: Record<string, string>;
  body: Buffer;
  options?: Record<string, unknown>;
  /** Why tsgi gives a different answer than Python here (docs/form.md lists these). */
  differs?: string;
  /** The FormError code tsgi must give (for a limit Python does not have). */
  code?: string;
}
export interface QslCase {
  id: string;
  kind: 'qsl';
  qs: string;
  options?: Record<string, unknown>;
  differs?: string;
}
export interface HeaderCase {
  id: string;
  kind: 'header';
  line: string;
  differs?: string;
}
export type Case = FormCase | QslCase | HeaderCase;

const CRLF = '\r\n';

export function multipartCase(id: string, boundary: string, body: string | Buffer, extra: Partial<FormCase> = {}): FormCase {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return {
    id,
    kind: 'form',
    environ: {
      REQUEST_METHOD: 'POST',
      CONTENT_TYPE: `multipart/form-data; boundary=${boundary}`,
      CONTENT_LENGTH: String(bytes.length),
      ...(extra.environ ?? {}),
    },
    body: bytes,
    ...(extra.options ? { options: extra.options } : {}),
    ...(extra.differs ? { differs: extra.differs } : {}),
    ...(extra.code ? { code: extra.code } : {}),
  };
}

function urlencodedCase(id: string, body: string | Buffer, extra: Partial<FormCase> = {}): FormCase {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  return {
    id,
    kind: 'form',
    environ: {
      REQUEST_METHOD: 'POST',
      CONTENT_TYPE: 'application/x-www-form-urlencoded',
      CONTENT_LENGTH: String(bytes.length),
      ...(extra.environ ?? {}),
    },
    body: bytes,
    ...(extra.options ? { options: extra.options } : {}),
    ...(extra.differs ? { differs: extra.differs } : {}),
    ...(extra.code ? { code: extra.code } : {}),
  };
}

/** A part as browsers and curl write it. */
export function part(name: string, value: string | Buffer, filename?: string, type?: string): Buffer {
  let head = `Content-Disposition: form-data; name="${name}"`;
  if (filename !== undefined) head += `; filename="${filename}"`;
  head += CRLF;
  if (type) head += `Content-Type: ${type}${CRLF}`;
  return Buffer.concat([Buffer.from(head + CRLF, 'utf8'), typeof value === 'string' ? Buffer.from(value, 'utf8') : value]);
}

export function assemble(boundary: string, parts: Buffer[], { preamble = '', epilogue = CRLF } = {}): Buffer {
  const pieces: Buffer[] = [Buffer.from(preamble)];
  for (const p of parts) pieces.push(Buffer.from(`--${boundary}${CRLF}`), p, Buffer.from(CRLF));
  pieces.push(Buffer.from(`--${boundary}--${epilogue}`));
  return Buffer.concat(pieces);
}

/** Deterministic pseudo-random bytes (xorshift), rich in CR, LF and dashes. */
export function noisyBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed | 0 || 1;
  const alphabet = Buffer.from('\r\n-\r\n--ab\x00\xff');
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = (x & 3) === 0 ? alphabet[(x >>> 8) % alphabet.length]! : (x >>> 16) & 0xff;
  }
  return out;
}

function chromiumCases(): Case[] {
  const b = '----WebKitFormBoundary7MA4YWxkTrZu0gW';
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), noisyBytes(3000, 7)]);
  return [
    multipartCase('chromium-text-and-file', b, assemble(b, [
      part('title', 'Hello, wörld'),
      part('comment', 'line one\r\nline two\r\n'),
      part('avatar', png, 'photo.png', 'image/png'),
    ])),
    multipartCase('chromium-empty-file-input', b, assemble(b, [
      part('title', ''),
      part('upload', '', '', 'application/octet-stream'),
    ])),
    multipartCase('chromium-escaped-names', b, assemble(b, [
      part('we%22ird%0D%0Aname', 'v'),
      part('doc', 'x', 'my%22quote%22.txt', 'text/plain'),
    ])),
    multipartCase('chromium-utf8-filename', b, assemble(b, [
      part('doc', 'naïve', 'résumé €.txt', 'text/plain'),
      part('名前', '値'),
    ])),
    multipartCase('chromium-repeated-names', b, assemble(b, [
      part('tag', 'a'), part('tag', 'b'), part('tag', 'c'),
      part('files', 'one', 'a.txt', 'text/plain'), part('files', 'two', 'b.txt', 'text/plain'),
    ])),
    multipartCase('chromium-query-too', b, assemble(b, [part('x', '1')]), { environ: { QUERY_STRING: 'q=search&x=0' } }),
    multipartCase('chromium-big-file', b, assemble(b, [part('blob', noisyBytes(200_000, 99), 'blob.bin', 'application/octet-stream')])),
  ];
}

function edgeCases(): Case[] {
  const b = 'XyZ';
  const lf = (s: string): string => s.replace(/\r\n/g, '\n');
  const simple = `--${b}\r\nContent-Disposition: form-data; name="a"\r\n\r\nAAA\r\n--${b}\r\nContent-Disposition: form-data; name="b"\r\n\r\nBBB\r\n--${b}--\r\n`;
  return [
    multipartCase('edge-lf-only', b, lf(simple)),
    multipartCase('edge-preamble-epilogue', b, `This is a preamble.\r\n--not-it\r\n${simple}and an epilogue\r\n--${b}\r\nignored`),
    multipartCase('edge-no-final-crlf', b, simple.slice(0, -2)),
    multipartCase('edge-boundary-padding', b, simple.replace(`--${b}\r\nContent-Disposition: form-data; name="b"`, `--${b}  \t\r\nContent-Disposition: form-data; name="b"`)),
    multipartCase('edge-boundary-lookalikes', b, assemble(b, [part('a', `x\r\n--${b}X\r\n--${b}-\r\n-${b}\r\n\r\n--\r\n`), part('b', `--${b}tail`)])),
    multipartCase('edge-cr-lf-in-data', b, assemble(b, [part('a', '\r\n\r\n\r'), part('b', '\n'), part('c', '\r')])),
    multipartCase('edge-data-ends-with-crcr', b, assemble(b, [part('a', 'text\r\r')])),
    multipartCase('edge-empty-values', b, assemble(b, [part('a', ''), part('b', '', 'e.bin')])),
    multipartCase('edge-no-disposition', b, assemble(b, [Buffer.from('Content-Type: text/plain\r\n\r\nanonymous'), part('n', 'named')])),
    multipartCase('edge-part-content-length-ignored', b, assemble(b, [Buffer.from('Content-Disposition: form-data; name="a"\r\nContent-Length: 2\r\n\r\nlonger than two')])),
    multipartCase('edge-header-case-and-folding', b, assemble(b, [Buffer.from('content-DISPOSITION: form-data;\r\n\tname="folded"\r\nCONTENT-type: text/x-thing; charset=utf-8\r\n\r\nv')])),
    multipartCase('edge-quoted-boundary', 'a"b', assemble('a"b', [part('a', '1')]), {
      environ: { CONTENT_TYPE: 'multipart/form-data; boundary="a\\"b"' },
    }),
    multipartCase('edge-boundary-with-spaces', 'has space', assemble('has space', [part('a', '1')]), {
      environ: { CONTENT_TYPE: 'multipart/form-data; boundary="has space"' },
    }),
    multipartCase('edge-invalid-utf8-field', b, assemble(b, [part('a', Buffer.from([0x61, 0xff, 0xfe, 0xc3, 0x28, 0x62]))])),
    multipartCase('edge-utf8-header-bytes', b, assemble(b, [part('ключ', 'значение', 'файл.txt', 'text/plain')])),
    multipartCase('edge-windows-path-filename', b, assemble(b, [part('f', 'x', 'C:\\Users\\me\\a.txt', 'text/plain')])),
    multipartCase('edge-nested-mixed', 'AaB03x', [
      '--AaB03x', 'Content-Disposition: form-data; name="submit-name"', '', 'Larry',
      '--AaB03x', 'Content-Disposition: form-data; name="files"', 'Content-Type: multipart/mixed; boundary=BbC04y', '',
      '--BbC04y', 'Content-Disposition: file; filename="file1.txt"', 'Content-Type: text/plain', '', '... contents of file1.txt ...',
      '--BbC04y', 'Content-Disposition: file; filename="file2.gif"', 'Content-Type: image/gif', 'Content-Transfer-Encoding: binary', '', '...contents of file2.gif...',
      '--BbC04y--', '--AaB03x--', '',
    ].join('\r\n'), {
      differs: "Python's skip_lines misses a closing delimiter followed by CRLF, so a nested multipart part ends with done -1; tsgi gives 1",
    }),
    multipartCase('edge-nested-mixed-then-field', 'AaB03x', [
      '--AaB03x', 'Content-Disposition: form-data; name="files"', 'Content-Type: multipart/mixed; boundary=BbC04y', '',
      '--BbC04y', 'Content-Disposition: file; filename="file1.txt"', '', 'one',
      '--BbC04y--', '--AaB03x', 'Content-Disposition: form-data; name="after"', '', 'kept', '--AaB03x--', '',
    ].join('\r\n'), {
      differs: 'Python swallows every part after a nested multipart part (same skip_lines bug); tsgi keeps them',
    }),
    multipartCase('edge-many-small', b, assemble(b, Array.from({ length: 300 }, (_, i) => part(`f${i % 7}`, `v${i}`)))),
    multipartCase('edge-long-line-64k', b, assemble(b, [part('long', 'x'.repeat(70_000) + '\r' + 'y'.repeat(65_535) + '\r\nz'), part('after', 'ok')])),
    multipartCase('edge-max-num-fields-ok', b, assemble(b, [part('a', '1'), part('b', '2')]), { options: { maxNumFields: 2 } }),
    multipartCase('edge-max-num-fields-exceeded', b, assemble(b, [part('a', '1'), part('b', '2'), part('c', '3')]), { options: { maxNumFields: 2 } }),
    multipartCase('edge-max-num-fields-with-query', b, assemble(b, [part('a', '1'), part('b', '2')]), { options: { maxNumFields: 2 }, environ: { QUERY_STRING: 'q=1' } }),
    urlencodedCase('url-basic', 'a=1&b=two+words&c=%C3%A9t%C3%A9&a=2'),
    urlencodedCase('url-semicolon-not-separator', 'a=1;b=2&c=3'),
    urlencodedCase('url-blank-dropped', 'a=&b&c=1&&'),
    urlencodedCase('url-blank-kept', 'a=&b&c=1&&', { options: { keepBlankValues: true } }),
    urlencodedCase('url-bad-percent', 'a=%zz&b=%&c=%4&d=%41%4'),
    urlencodedCase('url-invalid-utf8', 'a=%ff%fe&b=%c3%28&c=\xe9'),
    urlencodedCase('url-strict-bad-field', 'a=1&oops', { options: { strictParsing: true } }),
    urlencodedCase('url-strict-empty-field', 'a=1&&b=2', { options: { strictParsing: true } }),
    urlencodedCase('url-custom-separator', 'a=1;b=2&c=3', { options: { separator: ';' } }),
    urlencodedCase('url-latin1', 'name=%E9t%E9&raw=\xe9', { options: { encoding: 'latin-1' } }),
    urlencodedCase('url-max-fields-ok', 'a=1&b=2', { options: { maxNumFields: 2 } }),
    urlencodedCase('url-max-fields-exceeded', 'a=1&b=2&c=3', { options: { maxNumFields: 2 } }),
    urlencodedCase('url-with-query', 'a=body', { environ: { QUERY_STRING: 'a=query&q=1' } }),
    urlencodedCase('url-equals-in-value', 'a=b=c&d==&=e'),
    urlencodedCase('url-plus-and-encoded-plus', 'a=1+1%2B1&b+c=d'),
    { id: 'get-query', kind: 'form', environ: { REQUEST_METHOD: 'GET', QUERY_STRING: 'x=1&y=%20two&x=3' }, body: Buffer.from('ignored=1') },
    { id: 'get-no-query', kind: 'form', environ: { REQUEST_METHOD: 'GET' }, body: Buffer.alloc(0) },
    { id: 'head-query', kind: 'form', environ: { REQUEST_METHOD: 'HEAD', QUERY_STRING: 'h=1' }, body: Buffer.alloc(0) },
    { id: 'post-no-content-type', kind: 'form', environ: { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '7' }, body: Buffer.from('a=1&b=2') },
    { id: 'put-plain-body', kind: 'form', environ: { REQUEST_METHOD: 'PUT' }, body: Buffer.from('just text') },
    ...qslCases(),
    ...headerCases(),
  ];
}

function qslCases(): Case[] {
  const q = (id: string, qs: string, options?: Record<string, unknown>): QslCase => ({ id, kind: 'qsl', qs, ...(options ? { options } : {}) });
  return [
    q('qsl-basic', 'a=1&b=2&a=3'),
    q('qsl-unicode', 'k=%E2%82%AC%F0%9F%98%80&n=caf%C3%A9&raw=é'),
    q('qsl-broken-escapes', '%=%&%%41=%4G&x=%e2%82'),
    q('qsl-blank', '&&a&b=&c=3&', { keepBlankValues: true }),
    q('qsl-empty', ''),
    q('qsl-only-separators', '&&&'),
    q('qsl-multi-char-separator', 'a=1&&b=2&c=3', { separator: '&&' }),
    q('qsl-max-fields-counts-empty', 'a=1&&', { maxNumFields: 2 }),
    q('qsl-surrogates', 'a=%ED%A0%80&b=%F4%90%80%80&c=%C0%AF'),
  ];
}

function headerCases(): Case[] {
  const h = (id: string, line: string, differs?: string): HeaderCase => ({ id, kind: 'header', line, ...(differs ? { differs } : {}) });
  return [
    h('header-simple', 'form-data; name="a"; filename="b.txt"'),
    h('header-case', 'Multipart/Form-Data; BOUNDARY=xYz; Charset=UTF-8'),
    h('header-quoted-semicolon', 'form-data; name="a;b"; filename="c; d.txt"'),
    h('header-escapes', 'form-data; name="a\\"b"; filename="C:\\\\dir\\\\f.txt"'),
    h('header-windows-path', 'form-data; filename="C:\\Users\\me\\x.txt"'),
    h('header-spaces', '  text/plain ;  charset = "utf-8"  ;flag;x='),
    h('header-unbalanced-quote', 'form-data; name="a; b=c'),
    h('header-filename-star', "attachment; filename=\"plain.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt",
      'RFC 5987: filename* is decoded and wins over filename; Python leaves it raw'),
  ];
}

/** Runs the real curl binary against a local server and keeps what it sent. */
export async function curlCases(): Promise<Case[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-curl-'));
  const captured: { contentType: string; body: Buffer }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      captured.push({ contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}/`;
  try {
    writeFileSync(join(dir, 'hello.txt'), 'hello\r\nworld\n');
    writeFileSync(join(dir, 'noise.bin'), noisyBytes(100_000, 3));
    writeFileSync(join(dir, 'über.txt'), 'umlaut file\n');
    writeFileSync(join(dir, 'text.txt'), 'contents read as a field\r\n');
    const runs: [string, string[]][] = [
      ['curl-fields-and-file', ['-F', 'name=value', '-F', 'other=two words', '-F', `file=@${join(dir, 'hello.txt')}`]],
      ['curl-binary-and-text-from-file', ['-F', `up=@${join(dir, 'noise.bin')};type=application/octet-stream`, '-F', `text=<${join(dir, 'text.txt')}`]],
      ['curl-utf8-filename', ['-F', `u=@${join(dir, 'über.txt')};filename=résumé €.txt`, '-F', 'empty=']],
      ['curl-quote-in-filename', ['-F', `q=@${join(dir, 'hello.txt')};filename=a"b.txt`]],
      ['curl-data-urlencode', ['--data-urlencode', 'q=a b&c', '--data-urlencode', 'r=ü+€', '-d', 'plain=1&plain=2']],
    ];
    const run = promisify(execFile);
    const cases: Case[] = [];
    for (const [id, args] of runs) {
      await run('curl', ['-s', '-o', '/dev/null', ...args, url]);
      const got = captured.shift()!;
      cases.push({
        id,
        kind: 'form',
        environ: { REQUEST_METHOD: 'POST', CONTENT_TYPE: got.contentType, CONTENT_LENGTH: String(got.body.length) },
        body: got.body,
      });
    }
    return cases;
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function malformedCases(): Case[] {
  const b = 'ZZ';
  const full = assemble(b, [part('a', 'alpha'), part('f', 'file body', 'f.txt', 'text/plain')]).toString('latin1');
  const cut = (n: number): Buffer => Buffer.from(full.slice(0, n), 'latin1');
  // The body ends before CONTENT_LENGTH bytes, as when a client goes away.
  const early = { environ: { CONTENT_LENGTH: String(full.length) } };
  return [
    multipartCase('bad-truncated-in-body', b, cut(full.indexOf('file body') + 4), early),
    multipartCase('bad-truncated-after-delimiter', b, cut(full.lastIndexOf(`--${b}--`) + 4), early),
    multipartCase('bad-no-closing-delimiter', b, cut(full.lastIndexOf(`\r\n--${b}--`)), early),
    multipartCase('bad-truncated-in-headers', b, cut(full.indexOf('Content-Disposition: form-data; name="f"') + 30), early),
    multipartCase('bad-unterminated-within-length', b, cut(full.lastIndexOf(`\r\n--${b}--`)), {
      differs: 'a body that stops inside a part without the closing delimiter: Python reports done 0 when CONTENT_LENGTH matches, tsgi done -1',
    }),
    multipartCase('bad-invalid-boundary', 'bad boundary ', assemble('x', [part('a', '1')]), {
      environ: { CONTENT_TYPE: 'multipart/form-data; boundary="bad boundary "' },
    }),
    multipartCase('bad-missing-boundary-param', 'x', assemble('x', [part('a', '1')]), { environ: { CONTENT_TYPE: 'multipart/form-data' } }),
    multipartCase('bad-wrong-boundary', 'other', assemble('x', [part('a', '1')]), {
      differs: 'Python returns an empty form for a body without the delimiter; tsgi raises BAD_BOUNDARY',
    }),
    multipartCase('bad-header-without-colon', b, assemble(b, [Buffer.from('Content-Disposition: form-data; name="a"\r\nnot a header line\r\n\r\nv')]), {
      differs: 'Python silently drops the rest of the header block; tsgi raises MALFORMED',
    }),
    multipartCase('bad-empty-body', b, Buffer.alloc(0), {
      differs: 'Python returns an empty form; tsgi raises BAD_BOUNDARY for an empty multipart body',
    }),
    multipartCase('bad-part-urlencoded', b, assemble(b, [part('a', 'x=1&y=2', undefined, 'application/x-www-form-urlencoded'), part('b', 'after')]), {
      differs: 'Python reads a urlencoded part with no length to the end of the whole body, swallowing the parts after it; tsgi keeps it a plain part',
    }),
  ];
}

/** Charsets of the charset x error mode cases: tsgi's own three, a WHATWG table with holes, cp1252. */
export const CASE_CHARSETS = ['utf-8', 'ascii', 'latin-1', 'iso-8859-8', 'cp1252'];
export const CASE_ERROR_MODES = ['strict', 'replace', 'ignore', 'surrogateescape'];

/**
 * Each charset x error mode on the three places bytes are decoded: a text part's value, a
 * part's name and file name, and a urlencoded body (raw bytes and %XX escapes). The bytes hold
 * valid UTF-8, a stray 0xff, a sequence cut short, and bytes cp1252 / iso-8859-8 lack.
 */
export function charsetCases(): Case[] {
  const b = 'CsB';
  const value = Buffer.from([0x76, 0xc3, 0xa9, 0x20, 0xff, 0x20, 0x81, 0xaa, 0xbf, 0x20, 0xe2, 0x82]);
  const header = Buffer.from('Content-Disposition: form-data; name="n\xc3\xa9"; filename="f\xe2\x82\xac\xff.txt"\r\n\r\n', 'latin1');
  const url = Buffer.from('a\xc3\xa9=%C3%A9%ff\xff&b=%e2%82&c=%81%aa\xaa&d=\xe2\x82', 'latin1');
  const cases: Case[] = [];
  for (const encoding of CASE_CHARSETS) {
    for (const errors of CASE_ERROR_MODES) {
      const options = { encoding, errors };
      const id = `charset-${encoding}-${errors}`;
      cases.push(multipartCase(`${id}-part`, b, assemble(b, [part('t', value), part('u', 'plain')]), { options }));
      // Python's email parser turns a header holding lone surrogates into a Header object,
      // which cgi.parse_header cannot take: only charsets that know every byte there get by.
      const headerEscapes = errors === 'surrogateescape' && encoding !== 'latin-1' && encoding !== 'cp1252';
      cases.push(multipartCase(`${id}-filename`, b, assemble(b, [Buffer.concat([header, Buffer.from('x')])]), {
        options,
        ...(headerEscapes ? { differs: 'surrogateescape on undecodable header bytes: Python raises TypeError (email gives a Header object), tsgi gives the escaped name and file name' } : {}),
      }));
      cases.push(urlencodedCase(`${id}-url`, url, { options }));
    }
  }
  const bigText = assemble(b, [part('t', Buffer.concat([Buffer.alloc(2000, 0x61), Buffer.from([0xff])]))]);
  cases.push(
    multipartCase('charset-big-part-surrogateescape', b, bigText, {
      options: { errors: 'surrogateescape' },
      differs: 'a text part over 1000 bytes goes to a temporary text file in Python, which cannot hold lone surrogates: UnicodeEncodeError; tsgi keeps them',
    }),
    multipartCase('charset-big-part-ascii-replace', b, bigText, {
      options: { encoding: 'ascii', errors: 'replace' },
      differs: 'a text part over 1000 bytes goes to a temporary ascii file in Python, which cannot hold U+FFFD: UnicodeEncodeError; tsgi keeps it',
    }),
    urlencodedCase('charset-windows-1253-table', 'a=\xaa', {
      options: { encoding: 'windows-1253', errors: 'strict' },
      differs: "charsets other than utf-8, ascii, latin-1 and cp1252 use TextDecoder's (WHATWG) tables: windows-1253 has 0xaa (ª), Python's cp1253 has not",
    }),
    urlencodedCase('charset-multibyte-surrogateescape', 'a=%82%a0', {
      options: { encoding: 'shift_jis', errors: 'surrogateescape' },
      differs: "errors 'ignore' and 'surrogateescape' are refused (RangeError) for multi-byte charsets other than utf-8",
    }),
    multipartCase('edge-empty-content-type', b, assemble(b, [Buffer.from('Content-Disposition: form-data; name="a"\r\nContent-Type:\r\n\r\nv')]), {
      differs: "an empty Content-Type part header means text/plain in tsgi; Python's type is ''",
    }),
  );
  return cases;
}

/** Limits: Python's maxlen raises where tsgi does (max_num_fields: edge-max-num-fields-*, url-max-fields-*); tsgi's own limits are on by default. */
export function limitCases(): Case[] {
  const b = 'LmB';
  const noLimit = (name: string): string => `${name}: Python has no such limit and parses the form; tsgi refuses it`;
  return [
    urlencodedCase('limit-max-body-size-url', 'a=1&b=2', { options: { maxBodySize: 5 } }),
    multipartCase('limit-max-body-size-multipart', b, assemble(b, [part('a', '1')]), { options: { maxBodySize: 20 } }),
    urlencodedCase('limit-max-fields-size-url', 'a=12345&b=67890', { options: { maxFieldsSize: 10 }, code: 'FIELD_TOO_LARGE', differs: noLimit('maxFieldsSize') }),
    multipartCase('limit-max-fields-size-multipart', b, assemble(b, [part('a', '123456'), part('b', '789012')]), { options: { maxFieldsSize: 10 }, code: 'FIELD_TOO_LARGE', differs: noLimit('maxFieldsSize') }),
    urlencodedCase('limit-max-field-size-url', 'a=12345678&b=1', { options: { maxFieldSize: 5 }, code: 'FIELD_TOO_LARGE', differs: noLimit('maxFieldSize') }),
    multipartCase('limit-max-field-size-multipart', b, assemble(b, [part('a', '12345678')]), { options: { maxFieldSize: 5 }, code: 'FIELD_TOO_LARGE', differs: noLimit('maxFieldSize') }),
    multipartCase('limit-max-file-size', b, assemble(b, [part('f', '12345678', 'f.txt')]), { options: { maxFileSize: 5 }, code: 'FILE_TOO_LARGE', differs: noLimit('maxFileSize') }),
    multipartCase('limit-max-header-size', b, assemble(b, [part('a'.repeat(100), '1')]), { options: { maxHeaderSize: 50 }, code: 'HEADER_TOO_LARGE', differs: noLimit('maxHeaderSize') }),
  ];
}

export function staticCases(): Case[] {
  return [...chromiumCases(), ...edgeCases(), ...malformedCases(), ...charsetCases(), ...limitCases()];
}
