/**
 * The demo site in a real browser: walk the index, run a CGI script, browse the bookshelf,
 * run the calculator from its form and its links. Screenshots land in test-artifacts/browser/.
 */
import assert from 'node:assert/strict';
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
});
