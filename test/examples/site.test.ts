/**
 * The demo site over HTTP, in process: static files, the CGI scripts of examples/site/cgi-bin
 * run for real by the CGI host, and the mounted bookshelf and calculator.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { demoSite } from '../../examples/demo.js';
import { makeServer, type HttpServer } from '../../src/frontends/http.js';
import { fetchRaw } from '../helpers/http-client.js';
import { collectingErrors } from '../helpers/recording-target.js';

describe('the demo site', () => {
  let server: HttpServer;
  let base = '';
  before(async () => {
    server = await makeServer('127.0.0.1', 0, demoSite(), { accessLog: false, errors: collectingErrors() });
    base = server.url;
  });
  after(() => server.close());

  it('serves the index page and every page it links to', async () => {
    const index = await fetchRaw(base + '/');
    assert.equal(index.status, 200);
    assert.match(String(index.headers['content-type']), /^text\/html/);
    const links = [...index.text.matchAll(/(?:href|action)="(\/[^"]*)"/g)].map((match) => match[1]!.replace(/&amp;/g, '&'));
    assert.ok(links.length >= 8, `only ${links.length} links`);
    for (const link of links) {
      const res = await fetchRaw(base + link);
      assert.equal(res.status, 200, `${link}: ${res.text.slice(0, 200)}`);
    }
    const css = await fetchRaw(base + '/style.css');
    assert.match(String(css.headers['content-type']), /^text\/css/);
  });

  it('runs the environment exercise as a CGI script', async () => {
    const res = await fetchRaw(`${base}/cgi-bin/environment.js/extra?who=%3Cme%3E`, { headers: { 'User-Agent': 'site-test/1.0' } });
    assert.equal(res.status, 200);
    assert.match(res.text, /<td id="script"><span class="mono">\/cgi-bin\/environment\.js<\/span><\/td>/);
    assert.match(res.text, /<td id="path"><span class="mono">\/extra<\/span><\/td>/);
    assert.match(res.text, /<td id="browser"><span class="mono">site-test\/1\.0<\/span><\/td>/);
    assert.match(res.text, /<td id="port"><span class="mono">\d+<\/span><\/td>/);
    assert.match(res.text, /<td class="mono">who<\/td><td class="mono">&lt;me&gt;<\/td>/);
  });

  it('runs the adding machine as a CGI script', async () => {
    const sum = await fetchRaw(`${base}/cgi-bin/adder.js?operand=19&operand=23&operand=-2`);
    assert.equal(sum.status, 200);
    assert.equal(sum.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(sum.text, '19 + 23 - 2 = 40\n');
    const bad = await fetchRaw(`${base}/cgi-bin/adder.js?operand=19&operand=twenty`);
    assert.equal(bad.status, 400);
    assert.match(bad.text, /"twenty": it is not an integer/);
  });

  it('reports the name, size and SHA-256 of uploaded files', async () => {
    const big = randomBytes(200 * 1024 + 3);
    const form = new FormData();
    form.append('file', new Blob([big]), 'big.bin');
    form.append('file', new Blob(['tiny\n']), 'tiny & small.txt');
    form.append('note', 'hello');
    const res = await fetch(`${base}/cgi-bin/upload.js`, { method: 'POST', body: form });
    assert.equal(res.status, 200);
    const page = await res.text();
    const rows = [...page.matchAll(/<td class="name">([^<]*)<\/td><td class="size">(\d+)<\/td><td class="sha256 mono">([0-9a-f]{64})<\/td>/g)].map((m) => m.slice(1));
    const digest = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
    assert.deepEqual(rows, [
      ['big.bin', String(big.length), digest(big)],
      ['tiny &amp; small.txt', '5', digest('tiny\n')],
    ]);
    assert.match(page, /<span id="note">hello<\/span>/);
  });

  it('says so when the upload form arrives without files, and refuses a broken body', async () => {
    const form = new FormData();
    form.append('file', new Blob([]), '');
    const empty = await fetch(`${base}/cgi-bin/upload.js`, { method: 'POST', body: form });
    assert.equal(empty.status, 200);
    assert.match(await empty.text(), /No files arrived/);
    const broken = await fetchRaw(`${base}/cgi-bin/upload.js`, { method: 'POST', headers: { 'Content-Type': 'multipart/form-data' }, body: 'no boundary' });
    assert.equal(broken.status, 400);
    assert.match(broken.text, /Upload refused/);
  });

  it('shows the diagnostics page with the form and the environment', async () => {
    const res = await fetchRaw(`${base}/cgi-bin/diagnostics.js?first=1&second=two`);
    assert.equal(res.status, 200);
    assert.match(res.text, /CGI diagnostics/);
    assert.match(res.text, /second/);
    assert.match(res.text, /SCRIPT_NAME/);
  });

  it('runs the Hono and Express apps as CGI scripts', async () => {
    for (const framework of ['hono', 'express']) {
      const greeted = await fetchRaw(`${base}/cgi-bin/${framework}.js/greet?name=Ada`);
      assert.equal(greeted.status, 200, framework);
      assert.match(greeted.text, /<p class="result" id="greeting">Hello, Ada!<\/p>/);
      const info = JSON.parse((await fetchRaw(`${base}/cgi-bin/${framework}.js/api/info`)).text) as Record<string, string>;
      assert.deepEqual(info, { framework, gateway: 'CGI/1.1', scriptName: `/cgi-bin/${framework}.js`, client: '127.0.0.1' });
    }
  });

  it('runs a CGI script in sh', async () => {
    const res = await fetchRaw(`${base}/cgi-bin/hello.sh/some/path?name=world`);
    assert.equal(res.status, 200);
    assert.match(res.text, /SCRIPT_NAME=\/cgi-bin\/hello\.sh\nPATH_INFO=\/some\/path\nQUERY_STRING=name=world/);
  });

  it('mounts the bookshelf and the calculator', async () => {
    const shelf = await fetchRaw(`${base}/bookshelf/`);
    assert.match(shelf.text, /href="\/bookshelf\/book\/dracula"/);
    const book = await fetchRaw(`${base}/bookshelf/book/dracula`);
    assert.match(book.text, /<td id="author">Bram Stoker<\/td>/);
    const sum = await fetchRaw(`${base}/calculator/add/23/42`);
    assert.match(sum.text, /id="result">65</);
    const zero = await fetchRaw(`${base}/calculator/divide/6/0`);
    assert.equal(zero.status, 400);
  });

  it('answers 404 for what is not there and never serves the scripts as files', async () => {
    assert.equal((await fetchRaw(`${base}/cgi-bin/missing.js`)).status, 404);
    assert.equal((await fetchRaw(`${base}/nothing-here.html`)).status, 404);
    const script = await fetchRaw(`${base}/cgi-bin/adder.js`);
    assert.ok(!script.text.includes('import'), 'the script ran rather than being sent as text');
  });
});
