/**
 * docs/SPEC.md, run: its applications, the input-stream loop, the middleware and the
 * validator's use, each through tsgi/testing (the HTTP front end's environ and the response
 * engine). The five `type` declarations only type-check (test/docs/typecheck.test.ts proves
 * each is the type tsgi/types exports): there is nothing in them to run.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { request } from '../../src/testing/index.js';
import type { Application, Environ, Middleware } from '../../src/types.js';
import { validator } from '../../src/validate.js';
import { adapt, DocPage } from '../helpers/doc-blocks.js';
import { importSample, packageScratch } from '../helpers/doc-samples.js';

const page = new DocPage('docs/SPEC.md');
const first = page.take('ts', 'export const app: Application');
const clock = page.take('ts', 'export const clock');
const input = page.take('ts', "for await (const chunk of environ['tsgi.input'])");
const tagged = page.take('ts', 'export const tagged: Middleware');
const checking = page.take('ts', 'const checked = validator(app)');
const declarations = ['type Application =', 'type StartResponse =', 'type Chunk =', 'type Write ='].map((text) => page.take('ts', text));

let scratch: ReturnType<typeof packageScratch>;
before(() => {
  scratch = packageScratch('docs-spec');
});
after(() => scratch.remove());

const hello: Application = (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [`hello ${environ.PATH_INFO}\n`];
};

describe('docs/SPEC.md', () => {
  it('§ 1: the first application answers with its PATH_INFO', async () => {
    const { app } = await importSample<{ app: Application }>(scratch.dir, 'first', first.code);
    const res = await request(app, '/some/path');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(res.text(), 'Hello from /some/path\n');
  });

  it('§ 1: the clock streams three lines, without a Content-Length (its second-long waits made instant)', async () => {
    const { clock: app } = await importSample<{ clock: Application }>(scratch.dir, 'clock', adapt(clock.code, [['setTimeout(resolve, 1000)', 'setTimeout(resolve, 0)']]));
    const res = await request(app, '/');
    assert.equal(res.headers.get('content-length'), null);
    const lines = res.text().split('\n');
    assert.equal(lines.length, 4);
    for (const line of lines.slice(0, 3)) assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('§ 3.4: the input loop reads the whole body, streamed or not', async () => {
    const { digest } = await importSample<{ digest(environ: Environ, hash: ReturnType<typeof createHash>): Promise<void> }>(
      scratch.dir, 'input', `export async function digest(environ, hash) {\n${input.code}}\n`);
    const app: Application = async (environ, startResponse) => {
      const hash = createHash('sha256');
      await digest(environ, hash);
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return [hash.digest('hex')];
    };
    const body = Buffer.alloc(300_000, 'x');
    const expected = createHash('sha256').update(body).digest('hex');
    assert.equal((await request(app, { method: 'POST', body })).text(), expected);
    const chunked = (async function* () {
      yield body.subarray(0, 1000);
      yield body.subarray(1000);
    })();
    assert.equal((await request(app, { method: 'POST', body: chunked })).text(), expected);
  });

  it('§ 10: the tagged middleware adds its header and logs the bytes it passed, between two validators', async () => {
    const module = await importSample<{ tagged: Middleware }>(scratch.dir, 'tagged', tagged.code);
    const res = await request(validator(module.tagged(validator(hello))), '/x');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-served-by'), 'tagged');
    assert.equal(res.text(), 'hello /x\n');
    assert.match(res.errors, /^tagged: 9 bytes\n$/);
  });

  it('§ 10: the validator sample serves through `checked` and assertClean() passes, or throws for a broken app', async () => {
    const serve = (app: string) => adapt(`import { request } from 'tsgi/testing';\n${app}\n${checking.code}`, [
      ['// … serve requests through `checked` …', "await request(checked, { path: '/', validate: false });"],
    ]);
    await importSample(scratch.dir, 'validated', serve("const app = (environ, startResponse) => { startResponse('200 OK', [['Content-Type', 'text/plain']]); return ['ok']; };"));
    // A body whose length contradicts its Content-Length breaks a rule; only the sample's validator is watching.
    await assert.rejects(
      importSample(scratch.dir, 'broken', serve("const app = (environ, startResponse) => { startResponse('200 OK', [['Content-Type', 'text/plain'], ['Content-Length', '5']]); return ['toolong']; };")),
      (error: Error) => error.name === 'ValidationError',
    );
  });

  it('§ 2-6: the type declarations are declarations only, left to the type checker', () => {
    for (const block of declarations) assert.match(block.code, /^(type \w+ = [^\n]+\n)+$/);
  });

  it('has no other block', () => {
    assert.deepEqual(page.untaken(), []);
  });
});
