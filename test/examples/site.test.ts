/**
 * The demo site, in process through tsgi/testing: static files, the CGI scripts of
 * examples/site/cgi-bin run for real by the CGI host, and the mounted bookshelf and
 * calculator. (test/examples/browser.test.ts walks the same site over HTTP in a browser.)
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { demoSite } from '../../examples/demo.js';
import { TestClient } from '../../src/testing/index.js';

describe('the demo site', () => {
  const site = new TestClient(demoSite());

  it('serves the index page and every page it links to', async () => {
    const index = await site.get('/');
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
    const links = [...index.text().matchAll(/(?:href|action)="(\/[^"]*)"/g)].map((match) => match[1]!.replace(/&amp;/g, '&'));
    assert.ok(links.length >= 8, `only ${links.length} links`);
    for (const link of links) {
      const res = await site.get(link);
      assert.equal(res.status, 200, `${link}: ${res.text().slice(0, 200)}`);
    }
    const css = await site.get('/style.css');
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
  });

  it('runs the environment exercise as a CGI script', async () => {
    const res = await site.get('/cgi-bin/environment.js/extra', { query: { who: '<me>' }, headers: { 'User-Agent': 'site-test/1.0' } });
    assert.equal(res.status, 200);
    assert.match(res.text(), /<td id="script"><span class="mono">\/cgi-bin\/environment\.js<\/span><\/td>/);
    assert.match(res.text(), /<td id="path"><span class="mono">\/extra<\/span><\/td>/);
    assert.match(res.text(), /<td id="browser"><span class="mono">site-test\/1\.0<\/span><\/td>/);
    assert.match(res.text(), /<td id="port"><span class="mono">\d+<\/span><\/td>/);
    assert.match(res.text(), /<td class="mono">who<\/td><td class="mono">&lt;me&gt;<\/td>/);
  });

  it('runs the adding machine as a CGI script', async () => {
    const sum = await site.get('/cgi-bin/adder.js', { query: { operand: [19, 23, -2] } });
    assert.equal(sum.status, 200);
    assert.equal(sum.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(sum.text(), '19 + 23 - 2 = 40\n');
    const bad = await site.get('/cgi-bin/adder.js?operand=19&operand=twenty');
    assert.equal(bad.status, 400);
    assert.match(bad.text(), /"twenty": it is not an integer/);
  });

  it('reports the name, size and SHA-256 of uploaded files', async () => {
    const big = randomBytes(200 * 1024 + 3);
    const res = await site.post('/cgi-bin/upload.js', {
      form: { note: 'hello' },
      files: { file: [{ filename: 'big.bin', content: big }, { filename: 'tiny & small.txt', content: 'tiny\n', contentType: 'text/plain' }] },
    });
    assert.equal(res.status, 200);
    const page = res.text();
    const rows = [...page.matchAll(/<td class="name">([^<]*)<\/td><td class="size">(\d+)<\/td><td class="sha256 mono">([0-9a-f]{64})<\/td>/g)].map((m) => m.slice(1));
    const digest = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
    assert.deepEqual(rows, [
      ['big.bin', String(big.length), digest(big)],
      ['tiny &amp; small.txt', '5', digest('tiny\n')],
    ]);
    assert.match(page, /<span id="note">hello<\/span>/);
  });

  it('says so when the upload form arrives without files, and refuses a broken body', async () => {
    const empty = await site.post('/cgi-bin/upload.js', { files: { file: { filename: '', content: '' } } });
    assert.equal(empty.status, 200);
    assert.match(empty.text(), /No files arrived/);
    const broken = await site.post('/cgi-bin/upload.js', { headers: { 'Content-Type': 'multipart/form-data' }, body: 'no boundary' });
    assert.equal(broken.status, 400);
    assert.match(broken.text(), /Upload refused/);
  });

  it('shows the diagnostics page with the form and the environment', async () => {
    const res = await site.get('/cgi-bin/diagnostics.js?first=1&second=two');
    assert.equal(res.status, 200);
    assert.match(res.text(), /CGI diagnostics/);
    assert.match(res.text(), /second/);
    assert.match(res.text(), /SCRIPT_NAME/);
  });

  it('runs the Hono and Express apps as CGI scripts', async () => {
    for (const framework of ['hono', 'express']) {
      const greeted = await site.get(`/cgi-bin/${framework}.js/greet`, { query: { name: 'Ada' } });
      assert.equal(greeted.status, 200, framework);
      assert.match(greeted.text(), /<p class="result" id="greeting">Hello, Ada!<\/p>/);
      const info = (await site.get(`/cgi-bin/${framework}.js/api/info`)).json<Record<string, string>>();
      assert.deepEqual(info, { framework, gateway: 'CGI/1.1', scriptName: `/cgi-bin/${framework}.js`, client: '127.0.0.1' });
    }
  });

  it('runs a CGI script in sh', async () => {
    const res = await site.get('/cgi-bin/hello.sh/some/path?name=world');
    assert.equal(res.status, 200);
    assert.match(res.text(), /SCRIPT_NAME=\/cgi-bin\/hello\.sh\nPATH_INFO=\/some\/path\nQUERY_STRING=name=world/);
  });

  it('mounts the bookshelf and the calculator', async () => {
    const shelf = await site.get('/bookshelf/');
    assert.match(shelf.text(), /href="\/bookshelf\/book\/dracula"/);
    const book = await site.get('/bookshelf/book/dracula');
    assert.match(book.text(), /<td id="author">Bram Stoker<\/td>/);
    const sum = await site.get('/calculator/add/23/42');
    assert.match(sum.text(), /id="result">65</);
    const zero = await site.get('/calculator/divide/6/0');
    assert.equal(zero.status, 400);
  });

  it('answers 404 for what is not there and never serves the scripts as files', async () => {
    assert.equal((await site.get('/cgi-bin/missing.js')).status, 404);
    assert.equal((await site.get('/nothing-here.html')).status, 404);
    const script = await site.get('/cgi-bin/adder.js');
    assert.ok(!script.text().includes('import'), 'the script ran rather than being sent as text');
  });
});
