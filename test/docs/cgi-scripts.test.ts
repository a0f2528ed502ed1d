/**
 * docs/cgi-scripts.md, run: each script sample is run as a CGI script (node, the request in
 * its environment, the body on stdin) and what it prints is compared to the page; the cgitb
 * samples are made to crash; the tsconfig.json of the build step compiles the first script
 * into cgi-bin/, shebang and source map included, and the result runs through its `#!` line.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ts from 'typescript';
import { multipartBody, request } from '../../src/testing/index.js';
import type { Application } from '../../src/types.js';
import { adapt, DocPage } from '../helpers/doc-blocks.js';
import { describeDiagnostics, importSample, packageScratch, runCgiScript, writeSample } from '../helpers/doc-samples.js';
import { fromRoot } from '../helpers/paths.js';

const page = new DocPage('docs/cgi-scripts.md');
const hello = page.take('ts', '// hello.ts → built to hello.js');
const helloOutput = page.take('', 'Status: 200 OK');
const forms = page.take('ts', 'await FieldStorage.from(environ)');
const enabling = page.take('ts', 'enable();                       // first thing');
const options = page.take('ts', 'display: true,');
const middleware = page.take('ts', 'debugMiddleware(myApp)');
const diagnostics = page.take('ts', 'runCgi(diagnosticsApp())');
const tsconfig = page.take('jsonc', '// tsconfig.json');

let scratch: ReturnType<typeof packageScratch>;
const cleanups: (() => void)[] = [];
before(() => {
  scratch = packageScratch('docs-cgi-scripts');
  cleanups.push(() => scratch.remove());
});
after(() => {
  for (const cleanup of cleanups) cleanup();
});

const crash = "\nthrow new Error('broken on purpose');\n";

describe('docs/cgi-scripts.md', () => {
  it('a first script: prints exactly the response the page shows (CRLF line ends shown as LF)', async () => {
    const run = await runCgiScript(writeSample(scratch.dir, 'hello', hello.code), { env: { REMOTE_ADDR: '127.0.0.1' } });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.toString().replace(/\r\n/g, '\n'), helloOutput.code);
  });

  it('reading forms: reports the title and the uploaded file', async () => {
    const script = writeSample(scratch.dir, 'forms', forms.code);
    const { body, contentType } = multipartBody({ title: 'Holiday' }, { file: { filename: 'beach.txt', content: 'sand and sea\n', contentType: 'text/plain' } });
    const run = await runCgiScript(script, { env: { REQUEST_METHOD: 'POST', CONTENT_TYPE: contentType, CONTENT_LENGTH: String(body.length) }, stdin: body });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.head, /^Status: 200 OK\n/);
    assert.equal(run.body.toString(), 'Holiday: beach.txt, text/plain, 13 bytes\n');
    const empty = await runCgiScript(script);
    assert.equal(empty.body.toString(), 'untitled: no file\n');
  });

  it('cgitb: enable() turns a crash into a 500 with the report', async () => {
    const run = await runCgiScript(writeSample(scratch.dir, 'enable', enabling.code + crash));
    assert.equal(run.status, 1);
    assert.match(run.head, /^Status: 500 Internal Server Error\nContent-Type: text\/html; charset=utf-8$/);
    assert.match(run.body.toString(), /<title>Error: broken on purpose<\/title>/);
  });

  it('cgitb options: the report as set, and with display: false only the sentence the comment quotes', async () => {
    const code = `import { enable } from 'tsgi/cgitb';\n${options.code}${crash}`;
    const shown = await runCgiScript(writeSample(scratch.dir, 'options', code));
    assert.match(shown.body.toString(), /<title>Error: broken on purpose<\/title>/);
    const quoted = /display: true, +\/\/ false: the visitor sees only "([^"]+)"/.exec(options.code)![1]!;
    const hidden = await runCgiScript(writeSample(scratch.dir, 'options-hidden', adapt(code, [['display: true,', 'display: false,']])));
    assert.match(hidden.head, /^Status: 500 /);
    assert.equal(/<p>([^<]*)<\/p>/.exec(hidden.body.toString())?.[1], quoted);
    assert.doesNotMatch(hidden.body.toString(), /broken on purpose/);
  });

  it('debugMiddleware: wraps the app when DEBUG is set, and only then', async () => {
    const code = `const myApp = () => { throw new Error('inner failure'); };\n${middleware.code}\nexport { app };\n`;
    const saved = process.env.DEBUG;
    try {
      process.env.DEBUG = '1';
      const { app: debugging } = await importSample<{ app: Application }>(scratch.dir, 'debug-on', code);
      delete process.env.DEBUG;
      const { app: plain } = await importSample<{ app: Application }>(scratch.dir, 'debug-off', code);
      const report = await request(debugging, '/');
      assert.equal(report.status, 500);
      assert.match(report.text(), /inner failure/);
      const generic = await request(plain, '/');
      assert.equal(generic.status, 500);
      assert.doesNotMatch(generic.text(), /inner failure/);
    } finally {
      if (saved === undefined) delete process.env.DEBUG;
      else process.env.DEBUG = saved;
    }
  });

  it('diagnostics: the script runs through its #! line and lists the environ and the form', async () => {
    const script = writeSample(scratch.dir, 'diagnostics', diagnostics.code);
    assert.ok(readFileSync(script, 'utf8').startsWith('#!/usr/bin/env node\n'));
    const run = await runCgiScript(script, { env: { QUERY_STRING: 'colour=teal' }, direct: true });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.head, /^Status: 200 OK\nContent-Type: text\/html/);
    assert.match(run.body.toString(), /QUERY_STRING/);
    assert.match(run.body.toString(), /colour/);
    assert.match(run.body.toString(), /teal/);
  });

  it('the build step: this tsconfig.json compiles src/ into cgi-bin/ with the shebang kept and the maps beside', async () => {
    // A project of the user's own, with tsgi and @types/node installed (linked from this repository).
    const project = mkdtempSync(join(tmpdir(), 'tsgi-docs-project-'));
    cleanups.push(() => rmSync(project, { recursive: true, force: true }));
    mkdirSync(join(project, 'src'));
    mkdirSync(join(project, 'node_modules', '@types'), { recursive: true });
    symlinkSync(fromRoot('.'), join(project, 'node_modules', 'tsgi'));
    symlinkSync(fromRoot('node_modules', '@types', 'node'), join(project, 'node_modules', '@types', 'node'));
    writeFileSync(join(project, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(join(project, 'tsconfig.json'), tsconfig.code);
    writeFileSync(join(project, 'src', 'hello.ts'), `#!/usr/bin/env node\n${hello.code}`);
    const config = ts.readConfigFile(join(project, 'tsconfig.json'), (path) => ts.sys.readFile(path));
    assert.equal(config.error, undefined);
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, project);
    assert.deepEqual(parsed.errors, []);
    const program = ts.createProgram(parsed.fileNames, parsed.options);
    const emitted = program.emit();
    assert.deepEqual(describeDiagnostics([...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics], parsed.fileNames), []);
    const script = join(project, 'cgi-bin', 'hello.js');
    assert.ok(existsSync(`${script}.map`), 'the source map sits next to the script');
    assert.ok(readFileSync(script, 'utf8').startsWith('#!/usr/bin/env node\n'), 'tsc keeps the shebang');
    chmodSync(script, 0o755);
    const run = await runCgiScript(script, { direct: true });
    assert.equal(run.stdout.toString().replace(/\r\n/g, '\n'), helloOutput.code);
  });

  it('has no other block', () => {
    assert.deepEqual(page.untaken(), []);
  });
});
