import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { FieldStorage, FormError, MiniFieldStorage, type FormEnviron } from '../../src/form/index.js';
import { assemble, part } from '../helpers/form-corpus.js';

const root = new URL('../../../', import.meta.url);
const B = 'zzBOUNDARYzz';

function multipartEnviron(body: Buffer, extra: Record<string, string> = {}): Record<string, string> {
  return { REQUEST_METHOD: 'POST', CONTENT_TYPE: `multipart/form-data; boundary=${B}`, CONTENT_LENGTH: String(body.length), ...extra };
}

async function* chunks(body: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < body.length; i += size) yield body.subarray(i, i + size);
}

const upload = assemble(B, [
  part('name', 'Ada'),
  part('tag', 'x'),
  part('tag', 'y'),
  part('doc', Buffer.alloc(5000, 0x41), 'big.txt', 'text/plain; charset=utf-8'),
  part('empty', '', '', 'application/octet-stream'),
]);

describe('FieldStorage', () => {
  it('reads tsgi.input asynchronously and answers like a Python form', async () => {
    const environ: FormEnviron = { ...multipartEnviron(upload, { QUERY_STRING: 'q=1&name=fromquery' }), 'tsgi.input': chunks(upload, 777) };
    using form = await FieldStorage.from(environ, { memoryThreshold: 1000 });
    assert.deepEqual(form.keys(), ['q', 'name', 'tag', 'doc', 'empty']);
    assert.equal(form.length, 5);
    assert.deepEqual([...form], form.keys());
    assert.ok(form.has('doc'));
    assert.equal(form.has('nope'), false);
    assert.deepEqual(form.getValue('name'), ['fromquery', 'Ada']); // query fields come first for multipart
    assert.equal(form.getFirst('name'), 'fromquery');
    assert.deepEqual(form.getList('tag'), ['x', 'y']);
    assert.deepEqual(form.getList('missing'), []);
    assert.equal(form.getValue('missing', 'default'), 'default');
    assert.equal(form.getValue('missing'), undefined);
    assert.ok(form.get('q') instanceof MiniFieldStorage);
    const doc = form.get('doc') as FieldStorage;
    assert.equal(doc.filename, 'big.txt');
    assert.equal(doc.type, 'text/plain');
    assert.deepEqual({ ...doc.typeOptions }, { charset: 'utf-8' });
    assert.equal(doc.disposition, 'form-data');
    assert.equal(doc.dispositionOptions['name'], 'doc');
    assert.equal(doc.headers['content-type'], 'text/plain; charset=utf-8');
    assert.ok(Buffer.isBuffer(doc.value));
    assert.equal((doc.value as Buffer).length, 5000);
    assert.equal(doc.done, 0);
    const empty = form.get('empty') as FieldStorage;
    assert.equal(empty.filename, '');
    assert.deepEqual(empty.value, Buffer.alloc(0));
    assert.equal(empty.done, 1);
    assert.equal(form.done, 1);
    assert.equal(form.contentLength, upload.length);
    assert.equal(form.bytesRead, upload.length);
  });

  it('spills big parts to a temporary file that close() removes', async () => {
    const form = await FieldStorage.from({ ...multipartEnviron(upload), 'tsgi.input': chunks(upload, 4096) }, { memoryThreshold: 1000 });
    const doc = form.get('doc') as FieldStorage;
    const path = doc.file!.path!;
    assert.ok(existsSync(path));
    assert.equal((form.get('name') as FieldStorage).file!.path, null);
    assert.equal(doc.file!.read(3).toString(), 'AAA');
    assert.equal(doc.file!.tell(), 3);
    doc.file!.seek(-2, 2);
    assert.equal(doc.file!.read().toString(), 'AA');
    let streamed = 0;
    for await (const c of doc.file!.stream()) streamed += (c as Buffer).length;
    assert.equal(streamed, 5000);
    form.close();
    assert.equal(existsSync(path), false);
    assert.throws(() => doc.file!.read(), /closed file/);
    form.close(); // twice is fine
  });

  it('appends the query string after urlencoded body fields, as Python does', async () => {
    const body = Buffer.from('a=1&b=2');
    const form = await FieldStorage.from({ REQUEST_METHOD: 'POST', CONTENT_LENGTH: '7', QUERY_STRING: 'a=q', 'tsgi.input': [body] });
    assert.equal(form.type, 'application/x-www-form-urlencoded');
    assert.deepEqual(form.getValue('a'), ['1', 'q']);
    assert.equal(form.repr(), "FieldStorage(None, None, [MiniFieldStorage('a', '1'), MiniFieldStorage('b', '2'), MiniFieldStorage('a', 'q')])");
  });

  it('reads only QUERY_STRING for GET and HEAD, whatever the body', async () => {
    for (const method of ['GET', 'head']) {
      const form = await FieldStorage.from({ REQUEST_METHOD: method, QUERY_STRING: 'x=1&x=2', CONTENT_TYPE: 'text/plain', 'tsgi.input': [Buffer.from('junk')] });
      assert.deepEqual(form.getValue('x'), ['1', '2']);
    }
  });

  it('keeps a body that is not a form in .file and is not indexable', async () => {
    const form = await FieldStorage.from({ REQUEST_METHOD: 'PUT', CONTENT_TYPE: 'application/json', CONTENT_LENGTH: '8', 'tsgi.input': [Buffer.from('{"a": 1}')] });
    assert.equal(form.list, null);
    assert.equal(form.value, '{"a": 1}');
    assert.equal(form.type, 'application/json');
    assert.throws(() => form.keys(), /not indexable/);
    assert.throws(() => form.get('a'), TypeError);
    form.close();
  });

  it('counts query fields and nested parts against maxNumFields', async () => {
    const nested = Buffer.from([
      `--${B}`, 'Content-Disposition: form-data; name="files"', 'Content-Type: multipart/mixed; boundary=inner', '',
      '--inner', 'Content-Disposition: file; filename="a.txt"', '', 'A',
      '--inner', 'Content-Disposition: file; filename="b.txt"', '', 'B',
      '--inner--', `--${B}--`, '',
    ].join('\r\n'));
    const ok = await FieldStorage.from({ ...multipartEnviron(nested), 'tsgi.input': [nested] }, { maxNumFields: 3 });
    const files = ok.get('files') as FieldStorage;
    assert.deepEqual(files.list!.map((p) => [p.filename, String(p.value)]), [['a.txt', 'A'], ['b.txt', 'B']]);
    assert.equal(files.done, 1);
    await assert.rejects(FieldStorage.from({ ...multipartEnviron(nested, { QUERY_STRING: 'q=1' }), 'tsgi.input': [nested] }, { maxNumFields: 3 }),
      (e: unknown) => e instanceof FormError && e.message === 'Max number of fields exceeded');
  });

  it('refuses a CONTENT_LENGTH over maxBodySize before reading anything', async () => {
    let pulled = false;
    const input = (async function* () { pulled = true; yield Buffer.from('a=1'); })();
    await assert.rejects(FieldStorage.from({ REQUEST_METHOD: 'POST', CONTENT_LENGTH: '2000', 'tsgi.input': input }, { maxBodySize: 1000 }),
      (e: unknown) => e instanceof FormError && e.code === 'BODY_TOO_LARGE' && e.status === 413 && /Maximum content length exceeded/.test(e.message));
    assert.equal(pulled, false);
  });

  it('refuses a body without CONTENT_LENGTH once it passes maxBodySize', async () => {
    await assert.rejects(FieldStorage.from({ REQUEST_METHOD: 'PUT', 'tsgi.input': chunks(Buffer.alloc(5000), 100) }, { maxBodySize: 1000 }),
      (e: unknown) => e instanceof FormError && e.code === 'BODY_TOO_LARGE');
  });

  it('reads no further than CONTENT_LENGTH', async () => {
    const form = await FieldStorage.from({ REQUEST_METHOD: 'POST', CONTENT_LENGTH: '3', 'tsgi.input': [Buffer.from('a=1&b=2')] });
    assert.deepEqual(form.keys(), ['a']);
  });

  it('reports an urlencoded body shorter than CONTENT_LENGTH instead of parsing half of it', async () => {
    await assert.rejects(FieldStorage.from({ REQUEST_METHOD: 'POST', CONTENT_LENGTH: '10', 'tsgi.input': [Buffer.from('a=1&b')] }),
      (e: unknown) => e instanceof FormError && e.code === 'TRUNCATED' && e.message === 'body ended after 5 of 10 bytes (CONTENT_LENGTH)');
  });

  it('caps all text fields together with maxFieldsSize', async () => {
    const body = assemble(B, [part('a', 'x'.repeat(600)), part('b', 'y'.repeat(600)), part('f', 'z'.repeat(5000), 'f.bin')]);
    await assert.rejects(FieldStorage.from({ ...multipartEnviron(body), 'tsgi.input': [body] }, { maxFieldsSize: 1000 }),
      (e: unknown) => e instanceof FormError && /maxFieldsSize/.test(e.message));
    const smaller = assemble(B, [part('a', 'x'.repeat(600)), part('f', 'z'.repeat(5000), 'f.bin')]);
    const form = await FieldStorage.from({ ...multipartEnviron(smaller), 'tsgi.input': [smaller] }, { maxFieldsSize: 1000 });
    form.close();
  });

  it('caps an urlencoded body with maxFieldsSize, naming it: from CONTENT_LENGTH, and while reading without one', async () => {
    const isFieldsSize = (e: unknown): boolean => e instanceof FormError && e.code === 'FIELD_TOO_LARGE' && e.status === 413 && /\(maxFieldsSize\)$/.test(e.message);
    const body = Buffer.from('a=12345&b=67890');
    let pulled = 0;
    const input = (function* () { pulled++; yield body; })();
    await assert.rejects(FieldStorage.from({ REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(body.length), 'tsgi.input': input }, { maxFieldsSize: 10 }), isFieldsSize);
    assert.equal(pulled, 0, 'refused before reading');
    await assert.rejects(FieldStorage.from({ REQUEST_METHOD: 'POST', 'tsgi.input': [body.subarray(0, 6), body.subarray(6)] }, { maxFieldsSize: 10 }), isFieldsSize);
    const form = await FieldStorage.from({ REQUEST_METHOD: 'POST', 'tsgi.input': [body] }, { maxFieldsSize: body.length });
    assert.equal(form.getFirst('b'), '67890');
  });

  it('keeps maxBodySize the limit of a urlencoded body when it is the smaller one', async () => {
    await assert.rejects(FieldStorage.from({ REQUEST_METHOD: 'POST', 'tsgi.input': [Buffer.from('a=12345&b=67890')] }, { maxFieldsSize: 12, maxBodySize: 10 }),
      (e: unknown) => e instanceof FormError && e.code === 'BODY_TOO_LARGE' && /maxBodySize/.test(e.message));
  });

  it('removes temporary files when parsing fails half way', async () => {
    const body = assemble(B, [part('f', 'z'.repeat(5000), 'f.bin'), part('g', 'z'.repeat(5000), 'g.bin')]);
    let seen: string | null = null;
    const input = (async function* () {
      yield body.subarray(0, 4000);
      yield body.subarray(4000, 6000);
      throw new Error('client went away');
    })();
    const { readdirSync } = await import('node:fs');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-form-test-'));
    try {
      await assert.rejects(FieldStorage.from({ ...multipartEnviron(body), 'tsgi.input': input }, { memoryThreshold: 100, tempDir: dir }), /client went away/);
      seen = readdirSync(dir).join(',');
      assert.equal(seen, '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses multipart nested too deep', async () => {
    let body = 'x';
    for (let depth = 9; depth >= 0; depth--) {
      const b = `b${depth}`;
      body = `--${b}\r\nContent-Disposition: form-data; name="n${depth}"\r\nContent-Type: multipart/mixed; boundary=b${depth + 1}\r\n\r\n${body}\r\n--${b}--`;
    }
    const bytes = Buffer.from(body);
    await assert.rejects(FieldStorage.from({ REQUEST_METHOD: 'POST', CONTENT_TYPE: 'multipart/form-data; boundary=b0', 'tsgi.input': [bytes] }),
      /nested more than 8 levels/);
  });

  it('decodes text fields with the form encoding and keeps UTF-8 file names', async () => {
    const body = assemble(B, [part('été', Buffer.from('caf\xe9', 'latin1')), part('f', 'x', 'naïve €.txt')]);
    const form = await FieldStorage.from({ ...multipartEnviron(body), 'tsgi.input': [body] }, { encoding: 'latin-1' });
    assert.equal(form.getValue('\u00c3\u00a9t\u00c3\u00a9'), 'café'); // the header was UTF-8, read as latin-1
    const utf8 = await FieldStorage.from({ ...multipartEnviron(body), 'tsgi.input': [body] });
    assert.equal((utf8.get('f') as FieldStorage).filename, 'naïve €.txt');
    assert.equal(utf8.getValue('été'), 'caf\ufffd');
  });

  it('prints like Python: repr of parts and mini fields', async () => {
    const body = assemble(B, [part('a', "it's"), part('f', Buffer.from([0, 0xff, 0x27, 0x0a]), 'x.bin')]);
    const form = await FieldStorage.from({ ...multipartEnviron(body), 'tsgi.input': [body] });
    assert.equal((form.get('a') as FieldStorage).repr(), `FieldStorage('a', None, "it's")`);
    assert.equal(String(form.get('f')), `FieldStorage('f', 'x.bin', b"\\x00\\xff'\\n")`);
    assert.equal(new MiniFieldStorage('k', 'v\n').repr(), "MiniFieldStorage('k', 'v\\n')");
    assert.equal(new MiniFieldStorage('k', 'a\udcff\u{1f600}').repr(), "MiniFieldStorage('k', 'a\\udcff\u{1f600}')", 'a lone surrogate escaped, a pair kept');
  });

  it('reads process.env and fd 0 synchronously in a CGI script', () => {
    const body = assemble(B, [part('who', 'cgi'), part('file', Buffer.alloc(300_000, 0x42), 'big.bin', 'application/octet-stream')]);
    const script = fileURLToPath(new URL('test/fixtures/form/cgi-script.mjs', root));
    const formModule = new URL('dist/src/form/index.js', root).href;
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', REQUEST_METHOD: 'POST', CONTENT_TYPE: `multipart/form-data; boundary=${B}`, CONTENT_LENGTH: String(body.length), QUERY_STRING: 'q=v' };
    const result = spawnSync(process.execPath, [script, formModule], { input: body, env, maxBuffer: 1 << 20 });
    assert.equal(result.status, 0, result.stderr.toString());
    const out = JSON.parse(result.stdout.toString());
    assert.deepEqual(out.keys, ['q', 'who', 'file']);
    assert.equal(out.done, 1);
    assert.deepEqual(out.items[2], { name: 'file', filename: 'big.bin', spilled: true, length: 300_000, head: '4242424242424242' });
    assert.equal(out.paths.length, 1);
    assert.equal(existsSync(out.paths[0]), false);
  });

  it('reads an urlencoded POST from fd 0 when CONTENT_LENGTH is missing (to the end of input)', () => {
    const script = fileURLToPath(new URL('test/fixtures/form/cgi-script.mjs', root));
    const formModule = new URL('dist/src/form/index.js', root).href;
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', REQUEST_METHOD: 'POST' };
    const result = spawnSync(process.execPath, [script, formModule], { input: 'a=1&b=%C3%A9', env });
    assert.equal(result.status, 0, result.stderr.toString());
    const out = JSON.parse(result.stdout.toString());
    assert.deepEqual(out.items.map((i: { name: string; head: string }) => [i.name, i.head]), [['a', '1'], ['b', 'é']]);
  });

  it('also takes the body from memory in the synchronous constructor', () => {
    const form = new FieldStorage({ environ: { REQUEST_METHOD: 'POST' }, input: 'x=1' });
    assert.equal(form.getValue('x'), '1');
  });

  it('holds no file descriptor per spilled part once the part is complete', () => {
    // One open temporary file per part let a single form of many small files use up to
    // maxNumFields descriptors until close(), starving the process (EMFILE) under load.
    const openFds = (): number => readdirSync('/proc/self/fd').length;
    const files = Array.from({ length: 40 }, (_, i) => part(`f${i}`, Buffer.alloc(300, 0x61 + (i % 26)), `f${i}.bin`));
    const body = assemble(B, files);
    const before = openFds();
    const form = new FieldStorage({ environ: multipartEnviron(body), input: body, memoryThreshold: 100 });
    try {
      assert.ok(openFds() - before <= 2, `${openFds() - before} descriptors held by a parsed form`);
      const item = form.get('f7') as FieldStorage;
      assert.ok(item.file!.path);
      assert.deepEqual(item.value, Buffer.alloc(300, 0x61 + 7));
      assert.deepEqual(item.file!.read(5), Buffer.alloc(5, 0x61 + 7));
      assert.ok(openFds() - before <= 2, 'reading a part keeps no descriptor open');
    } finally {
      form.close();
    }
    assert.equal(openFds(), before);
  });

  it('reports a file name with path characters as sent and never uses it as a path', () => {
    const names = ['../../etc/passwd', '..\\..\\boot.ini', '/abs/x', 'a\u0000b'];
    const body = assemble(B, names.map((name, i) => part(`f${i}`, Buffer.alloc(200, 0x61), name)));
    using form = new FieldStorage({ environ: multipartEnviron(body), input: body, memoryThreshold: 100 });
    names.forEach((name, i) => {
      const item = form.get(`f${i}`) as FieldStorage;
      assert.equal(item.filename, name);
      assert.match(item.file!.path!, /\/tsgi-upload-\d+-\d+-[a-z0-9]+$/);
    });
  });
});
