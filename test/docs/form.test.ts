/**
 * docs/form.md, run: the Python-style script as a CGI script with a multipart upload on
 * stdin; the FieldStorage.from application through tsgi/testing, its 413 for a file past
 * maxFileSize with the message its comment quotes; the MultipartParser loop over a whole and
 * a truncated body.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MultipartParser } from '../../src/form/index.js';
import { multipartBody, request } from '../../src/testing/index.js';
import type { Application, Environ } from '../../src/types.js';
import { DocPage } from '../helpers/doc-blocks.js';
import { importSample, packageScratch, runCgiScript } from '../helpers/doc-samples.js';

const page = new DocPage('docs/form.md');
const script = page.take('js', 'new FieldStorage()');
const fromEnviron = page.take('ts', 'await FieldStorage.from(environ, { maxFileSize');
const parserLoop = page.take('ts', 'new MultipartParser(');

let scratch: ReturnType<typeof packageScratch>;
before(() => {
  scratch = packageScratch('docs-form');
});
after(() => scratch.remove());

describe('docs/form.md', () => {
  it('the CGI script reads its form from process.env and stdin, the Python way', async () => {
    const file = join(scratch.dir, 'form-script.js');
    writeFileSync(file, script.code, { mode: 0o755 });
    const { body, contentType } = multipartBody({ name: 'Ada' }, { photo: { filename: 'me.png', content: Buffer.alloc(1234, 7), contentType: 'image/png' } });
    const upload = await runCgiScript(file, { env: { REQUEST_METHOD: 'POST', CONTENT_TYPE: contentType, CONTENT_LENGTH: String(body.length) }, stdin: body, direct: true });
    assert.equal(upload.status, 0, upload.stderr);
    assert.equal(upload.head, 'Content-Type: text/plain');
    assert.equal(upload.body.toString(), 'Hello, Ada\nme.png: 1234 bytes, image/png\n');
    const bare = await runCgiScript(file, { direct: true });
    assert.equal(bare.body.toString(), 'Hello, world\n');
  });

  it('the application lists the fields, and answers 413 with the message quoted for a file past maxFileSize', async () => {
    const { app } = await importSample<{ app: Application }>(scratch.dir, 'from-environ', `${fromEnviron.code}\nexport { app };\n`);
    const ok = await request(app, { form: { title: 'x', tags: ['a', 'b'] }, files: { doc: { filename: 'a.txt', content: 'hello' } } });
    assert.equal(ok.status, 200);
    assert.equal(ok.text(), 'fields: title, tags, doc\n');
    const quoted = /return \[error\.message\]; +\/\/ e\.g\. "([^"]+)"/.exec(fromEnviron.code)![1]!;
    const big = await request(app, { files: { doc: { filename: 'big.bin', content: Buffer.alloc(50 * 1024 * 1024 + 1) } } });
    assert.equal(big.status, 413);
    assert.equal(big.text(), quoted);
  });

  it('the MultipartParser loop ends with done 1 after the closing delimiter, -1 when the body ends early', async () => {
    const { parse } = await importSample<{ parse(environ: Environ, boundary: string): Promise<MultipartParser> }>(
      scratch.dir, 'parser-loop', `import { MultipartParser } from 'tsgi/form';\nexport async function parse(environ, boundary) {\n${parserLoop.code}  return parser;\n}\n`);
    const boundary = 'docs-boundary-1234';
    const { body } = multipartBody({ a: '1' }, { f: { filename: 'f.txt', content: 'file body' } }, boundary);
    const app: Application = async (environ, startResponse) => {
      const parser = await parse(environ, boundary);
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return [String(parser.done)];
    };
    const post = (bytes: Buffer) => request(app, { method: 'POST', body: bytes, headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` } });
    const whole = await post(body);
    assert.equal(whole.text(), '1', whole.errors);
    assert.equal((await post(body.subarray(0, body.length - 20))).text(), '-1');
  });

  it('has no other block', () => {
    assert.deepEqual(page.untaken(), []);
  });
});
