/**
 * docs/examples.md, run: the demo site as `npm start` serves it, the CGI script the page
 * shows (it is examples/site/cgi-bin/adder.js, word for word) and the framework lines (the
 * last lines of hono.js and express.js) run as CGI scripts, the bookshelf and the calculator
 * through the `tsgi run` lines on port 0. The calculator's FastCGI line and its nginx config
 * run behind a real nginx in test/examples/calculator-fastcgi.test.ts, which reads them from
 * the page (`setup=calculator`).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { commandLines, DocPage, shellWords } from '../helpers/doc-blocks.js';
import { runCgiScript } from '../helpers/doc-samples.js';
import { startNode, startTsgi } from '../helpers/examples-server.js';
import { fetchRaw } from '../helpers/http-client.js';
import { fromRoot } from '../helpers/paths.js';

const page = new DocPage('docs/examples.md');
const start = page.take('sh', 'npm start');
const adderScript = page.take('js', "import { adder } from");
const frameworks = page.take('js', 'fromFetchHandler(app.fetch)');
const bookshelf = page.take('sh', 'dist/examples/bookshelf/app.js');
const calculator = page.take('sh', 'setup=calculator');
const calculatorNginx = page.take('nginx', 'setup=calculator');
const scripts = (JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

/** The page's `npx tsgi ...` command (after any `npm run build &&`, which the suite has done), with `extra` options. */
function tsgiWords(line: string, extra: string[]): string[] {
  const words = shellWords(line.split(' && ').at(-1)!);
  assert.deepEqual(words.slice(0, 2), ['npx', 'tsgi'], line);
  return [...words.slice(2), ...extra];
}

const help = (command: string) => execFileSync(process.execPath, [fromRoot('dist', 'src', 'cli.js'), command, '--help'], { encoding: 'utf8' });

describe('docs/examples.md', () => {
  it('npm start builds and serves the demo site, on port 8000 unless told otherwise', async () => {
    assert.deepEqual(commandLines(start.code), ['npm install', 'npm start']);
    assert.match(start.code, /# builds, then serves the demo site on http:\/\/localhost:8000\//);
    assert.equal(scripts.start, 'npm run build && node dist/examples/demo.js');
    assert.match(execFileSync(process.execPath, [fromRoot('dist', 'examples', 'demo.js'), '--help'], { encoding: 'utf8' }), /else 8000;/);
    const demo = await startNode('dist/examples/demo.js', ['--port', '0']);
    try {
      for (const path of ['/', '/bookshelf/', '/calculator/', '/cgi-bin/adder.js?operand=1&operand=2']) {
        assert.equal((await fetchRaw(`http://127.0.0.1:${demo.port}${path}`)).status, 200, path);
      }
    } finally {
      await demo.stop();
    }
  });

  it('shows examples/site/cgi-bin/adder.js as it is, and it adds', async () => {
    const file = fromRoot('examples', 'site', 'cgi-bin', 'adder.js');
    assert.equal(adderScript.code, readFileSync(file, 'utf8'));
    const run = await runCgiScript(file, { env: { QUERY_STRING: 'operand=19&operand=23' } });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.body.toString().trim(), '19 + 23 = 42');
  });

  it('shows the lines hono.js and express.js end with, and both answer as CGI scripts', async () => {
    const [hono, express] = commandLines(frameworks.code.replace(/\/\/.*$/gm, ''));
    for (const [name, line] of [['hono.js', hono!], ['express.js', express!]] as const) {
      const file = fromRoot('examples', 'site', 'cgi-bin', name);
      assert.equal(readFileSync(file, 'utf8').trimEnd().split('\n').at(-1), line, name);
      const run = await runCgiScript(file, { env: { SCRIPT_NAME: `/cgi-bin/${name}`, PATH_INFO: '/' } });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.head, /^Status: 200 OK\n/, name);
    }
  });

  it('runs the bookshelf with its tsgi run line, on 127.0.0.1:8000 by default', async () => {
    assert.match(bookshelf.code, /# http:\/\/127\.0\.0\.1:8000\/\n/);
    assert.match(help('run'), /--bind ADDR +address to listen on \(default 127\.0\.0\.1;[\s\S]*--port N .*else 8000;/);
    const tsgi = await startTsgi(tsgiWords(commandLines(bookshelf.code)[0]!, ['--port', '0', '--no-access-log']));
    try {
      const res = await fetchRaw(`http://127.0.0.1:${tsgi.port}/`);
      assert.equal(res.status, 200);
      assert.match(res.text, /href="\/book\/moby-dick"/);
    } finally {
      await tsgi.stop();
    }
  });

  it('runs the calculator over HTTP with its first tsgi run line', async () => {
    const [build, http, fastcgi] = commandLines(calculator.code);
    assert.equal(build, 'npm run build');
    assert.match(fastcgi!, /--fastcgi 127\.0\.0\.1:9000 --script-name \/calc$/);
    assert.match(calculatorNginx.code, /fastcgi_pass 127\.0\.0\.1:9000;/);
    const tsgi = await startTsgi(tsgiWords(http!, ['--port', '0', '--no-access-log']));
    try {
      assert.match((await fetchRaw(`http://127.0.0.1:${tsgi.port}/add/23/42`)).text, /id="result">65</);
    } finally {
      await tsgi.stop();
    }
  });

  it('has no other block', () => {
    assert.deepEqual(page.untaken(), []);
  });
});
