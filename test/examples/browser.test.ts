/**
 * The demo site in a real browser: walk the index, follow every example, submit the forms,
 * upload files and check their SHA-256, run the calculator. Screenshots land in
 * test-artifacts/browser/.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchChromium, SCREENSHOTS, type Browser } from '../helpers/examples-browser.js';
import { startNode, type RunningTsgi } from '../helpers/examples-server.js';

describe('the demo site in Chromium', () => {
  let server: RunningTsgi;
  let browser: Browser;
  let page: Page;
  let base = '';
  const files = mkdtempSync(join(tmpdir(), 'tsgi-upload-'));

  before(async () => {
    // What `npm start` runs, on a free port.
    server = await startNode('dist/examples/demo.js', ['--port', '0']);
    base = `http://127.0.0.1:${server.port}`;
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.setDefaultTimeout(15_000);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(files, { recursive: true, force: true });
  });

  const shoot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  it('shows the index page linking every example', async () => {
    const response = await page.goto(base + '/');
    assert.equal(response?.status(), 200);
    assert.equal(await page.title(), 'tsgi demo');
    for (const id of ['environment', 'adder', 'sh', 'diagnostics', 'hono', 'express', 'bookshelf', 'calculator']) {
      assert.equal(await page.locator(`#link-${id}`).count(), 1, id);
    }
    await shoot('index');
  });

  it('fills the environment page from the CGI environment', async () => {
    await page.goto(base + '/');
    await page.click('#link-environment');
    await page.waitForSelector('#environment');
    assert.equal(await page.textContent('#server'), '127.0.0.1');
    assert.equal(await page.textContent('#port'), String(server.port));
    assert.equal(await page.textContent('#client'), '127.0.0.1');
    assert.equal(await page.textContent('#script'), '/cgi-bin/environment.js');
    assert.equal(await page.textContent('#path'), '/some/path');
    assert.equal(await page.textContent('#query-string'), 'name=Ada&lang=en');
    assert.match((await page.textContent('#browser')) ?? '', /Chrome\//);
    assert.match((await page.textContent('#query')) ?? '', /nameAda/);
    await shoot('environment');
  });

  it('adds the operands of the adding machine form', async () => {
    await page.goto(base + '/');
    await page.fill('input[aria-label="third operand"]', '100');
    await Promise.all([page.waitForURL(/adder\.js\?/), page.click('#adder-form button')]);
    assert.equal((await page.textContent('body'))?.trim(), '12 + 30 + 100 = 142');
    await shoot('adder');
    const response = await page.goto(base + '/cgi-bin/adder.js?operand=1&operand=one');
    assert.equal(response?.status(), 400);
    assert.match((await page.textContent('body')) ?? '', /Cannot add "one": it is not an integer/);
  });

  it('uploads files and reports their names, sizes and SHA-256', async () => {
    const binary = randomBytes(300 * 1024);
    const text = Buffer.from('Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich.\n');
    writeFileSync(join(files, 'random.bin'), binary);
    writeFileSync(join(files, 'pangram <de>.txt'), text);
    await page.goto(base + '/');
    await page.setInputFiles('#upload-form input[type=file]', [join(files, 'random.bin'), join(files, 'pangram <de>.txt')]);
    await page.fill('#upload-form input[name=note]', 'two files & a note');
    await Promise.all([page.waitForURL(/upload\.js$/), page.click('#upload-form button')]);
    const rows = await page.$$eval('#files tr', (trs) => trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    const digest = (data: Buffer) => createHash('sha256').update(data).digest('hex');
    assert.deepEqual(rows, [
      ['random.bin', String(binary.length), digest(binary)],
      ['pangram <de>.txt', String(text.length), digest(text)],
    ]);
    assert.equal(await page.textContent('#note'), 'two files & a note');
    await shoot('upload');
  });

  it('shows the cgi.test() diagnostics', async () => {
    await page.goto(base + '/');
    await page.click('#link-diagnostics');
    await page.waitForSelector('h1');
    assert.equal(await page.textContent('h1'), 'CGI diagnostics');
    const text = (await page.textContent('body')) ?? '';
    assert.match(text, /QUERY_STRING/);
    assert.match(text, /second/);
    await shoot('diagnostics');
  });

  it('greets through the Hono and the Express apps running as CGI scripts', async () => {
    for (const framework of ['hono', 'express']) {
      await page.goto(base + '/');
      await page.click(`#link-${framework}`);
      await page.waitForSelector('h1');
      await page.fill('input[name=name]', 'Grace <Hopper>');
      await Promise.all([page.waitForURL(new RegExp(`/cgi-bin/${framework}\\.js/greet\\?`)), page.click('form button')]);
      assert.equal(await page.textContent('#greeting'), 'Hello, Grace <Hopper>!');
      await shoot(`${framework}-greeter`);
    }
  });

  it('runs the CGI script in sh', async () => {
    await page.goto(base + '/');
    await page.click('#link-sh');
    await page.waitForURL(/hello\.sh\/some\/path\?name=world$/);
    assert.match((await page.textContent('body')) ?? '', /Hello from a CGI script\./);
  });

  it('browses the bookshelf, with a 404 page for a missing book', async () => {
    await page.goto(base + '/');
    await page.click('#link-bookshelf');
    await page.waitForSelector('ul.books');
    assert.equal(await page.locator('ul.books li').count(), 6);
    await shoot('bookshelf');
    await page.click('text=Frankenstein');
    await page.waitForURL(/\/bookshelf\/book\/frankenstein$/);
    assert.equal(await page.textContent('#author'), 'Mary Shelley');
    await shoot('bookshelf-book');
    await page.click('text=Back to the shelf');
    await page.waitForURL(/\/bookshelf\/$/);
    const missing = await page.goto(base + '/bookshelf/book/necronomicon');
    assert.equal(missing?.status(), 404);
    assert.match((await page.textContent('.error')) ?? '', /There is no book necronomicon on this shelf/);
  });

  it('runs the calculator from its form and its links, with an error page for division by zero', async () => {
    await page.goto(base + '/');
    await page.click('#link-calculator');
    await page.waitForSelector('form');
    await page.fill('input[name=a]', '23');
    await page.selectOption('select[name=op]', 'add');
    await page.fill('input[name=b]', '42');
    await Promise.all([page.waitForURL(/\/calculator\/add\/23\/42$/), page.click('form button')]);
    assert.equal(await page.textContent('#result'), '65');
    await shoot('calculator');
    await page.goto(base + '/calculator/');
    await page.click('text=subtract 23 and 42');
    assert.equal(await page.textContent('#result'), '-19');
    const zero = await page.goto(base + '/calculator/divide/6/0');
    assert.equal(zero?.status(), 400);
    assert.equal(await page.textContent('h1'), 'Division by zero');
    await shoot('calculator-error');
  });

  it('links the bookshelf and the calculator back to the index', async () => {
    for (const app of ['bookshelf', 'calculator']) {
      await page.goto(`${base}/${app}/`);
      await Promise.all([page.waitForURL(`${base}/`), page.click('#link-site')]);
      assert.equal(await page.title(), 'tsgi demo');
    }
  });

  it('answers a missing page with the styled 404 page and a way home', async () => {
    const response = await page.goto(base + '/no/such/page.html');
    assert.equal(response?.status(), 404);
    assert.equal(await page.textContent('#not-found'), 'Nothing here');
    assert.equal(await page.evaluate('getComputedStyle(document.body).backgroundColor'), 'rgb(246, 247, 251)', 'the site stylesheet applies');
    await shoot('not-found');
    await Promise.all([page.waitForURL(`${base}/`), page.click('#link-home')]);
  });

  it('fits every page into a phone and a desktop window without sideways scrolling', async () => {
    const pages: [string, string][] = [
      ['index', '/'], ['environment', '/cgi-bin/environment.js/some/path?name=Ada'], ['diagnostics', '/cgi-bin/diagnostics.js?first=1&second=two'],
      ['bookshelf', '/bookshelf/'], ['bookshelf-book', '/bookshelf/book/frankenstein'], ['calculator', '/calculator/add/23/42'], ['not-found', '/nope'],
      ['hono', '/cgi-bin/hono.js'], ['express', '/cgi-bin/express.js'],
    ];
    const wide: string[] = [];
    for (const [width, label] of [[390, 'phone'], [1280, 'desktop']] as const) {
      await page.setViewportSize({ width, height: 800 });
      for (const [name, path] of pages) {
        await page.goto(base + path);
        const scrollWidth = await page.evaluate<number>('document.documentElement.scrollWidth');
        if (scrollWidth > width) wide.push(`${path} is ${scrollWidth} px wide at ${width} px`);
        await shoot(`${label}-${name}`);
      }
    }
    await page.setViewportSize({ width: 1000, height: 800 });
    assert.deepEqual(wide, []);
  });
});
