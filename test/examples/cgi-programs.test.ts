import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { addOperands, adder } from '../../examples/cgi/adder.js';
import { environment } from '../../examples/cgi/environment.js';
import { upload } from '../../examples/cgi/upload.js';
import { app as expressGreeter } from '../../examples/frameworks/express-app.js';
import { app as honoGreeter } from '../../examples/frameworks/hono-app.js';
import { html } from '../../examples/shared/html.js';
import { fromFetchHandler, fromNodeListener, toFetchHandler } from '../../src/frontends/fetch.js';

describe('the adding machine', () => {
  it('sums every operand exactly, big integers and negatives included', () => {
    assert.deepEqual(addOperands('operand=1&operand=2&operand=39'), { ok: true, text: '1 + 2 + 39 = 42\n' });
    assert.deepEqual(addOperands('operand=-5&operand=3'), { ok: true, text: '-5 + 3 = -2\n' });
    assert.deepEqual(addOperands('operand=10&operand=-4'), { ok: true, text: '10 - 4 = 6\n' });
    assert.equal(addOperands('operand=9007199254740993&operand=1').text, '9007199254740993 + 1 = 9007199254740994\n');
    assert.equal(addOperands('operand=%2B7&other=100').text, '7 = 7\n');
  });

  it('skips blank operands, as cgi skips blank fields', () => {
    assert.equal(addOperands('operand=4&operand=&operand=+').text, '4 = 4\n');
  });

  it('explains itself when there is nothing to add', () => {
    const result = addOperands('');
    assert.equal(result.ok, true);
    assert.match(result.text, /Nothing to add.*\?operand=1&operand=2/);
  });

  it('names the operands that are not integers', () => {
    assert.deepEqual(addOperands('operand=1&operand=2.5'), { ok: false, text: 'Cannot add "2.5": it is not an integer. Every operand must be a whole number like 42 or -7.\n' });
    assert.match(addOperands('operand=x&operand=1e3').text, /Cannot add "x", "1e3": they are not integers/);
  });

  it('answers in plain text, 400 for a bad operand', async () => {
    const handler = toFetchHandler(adder);
    const good = await handler(new Request('http://h/cgi-bin/adder.js?operand=19&operand=23'));
    assert.equal(good.status, 200);
    assert.equal(good.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(await good.text(), '19 + 23 = 42\n');
    const bad = await handler(new Request('http://h/cgi-bin/adder.js?operand=ten'));
    assert.equal(bad.status, 400);
  });
});

describe('the environment exercise', () => {
  it('fills the page from the environ, escaping every value', async () => {
    const res = await toFetchHandler(environment)(
      new Request('http://site.test:8123/extra/%3Ci%3E?name=%3Cb%3EAda&lang=en', { headers: { 'user-agent': 'Test<Browser>/1.0' } }),
      { remoteAddress: '192.0.2.4', remotePort: 40000 },
    );
    assert.equal(res.status, 200);
    const page = await res.text();
    const cell = (id: string) => new RegExp(`<td id="${id}"><span class="mono">([^<]*)</span></td>`).exec(page)?.[1];
    assert.equal(cell('server'), 'site.test');
    assert.equal(cell('port'), '8123');
    assert.equal(cell('client'), '192.0.2.4');
    assert.equal(cell('path'), '/extra/&lt;i&gt;');
    assert.equal(cell('query-string'), 'name=%3Cb%3EAda&amp;lang=en');
    assert.equal(cell('browser'), 'Test&lt;Browser&gt;/1.0');
    assert.match(page, /<td class="mono">name<\/td><td class="mono">&lt;b&gt;Ada<\/td>/);
    assert.ok(!/<b>|<i>/.test(page.replaceAll('<i>not set</i>', '')), 'nothing from the request becomes markup');
  });

  it('says when a variable is not set', async () => {
    const page = await (await toFetchHandler(environment)(new Request('http://h/'))).text();
    assert.match(page, /<td id="client"><i>not set<\/i><\/td>/);
    assert.match(page, /The query string is empty/);
  });
});

describe('the upload report', () => {
  const handler = toFetchHandler(upload, { errors: { write: () => {} } });
  const digest = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

  it('shows the upload form on GET', async () => {
    const page = await (await handler(new Request('http://h/cgi-bin/upload.js'))).text();
    assert.match(page, /<form method="post" action="" enctype="multipart\/form-data">/);
  });

  it("reports each file's name, size and SHA-256, files spilled to disk included", async () => {
    const big = randomBytes(300 * 1024);
    const form = new FormData();
    form.append('file', new Blob([big]), 'big.bin');
    form.append('file', new Blob(['<tiny>']), '<tiny>.txt');
    form.append('note', 'a & b');
    const response = await handler(new Request('http://h/cgi-bin/upload.js', { method: 'POST', body: form }));
    assert.equal(response.status, 200);
    const page = await response.text();
    const rows = [...page.matchAll(/<td class="name">([^<]*)<\/td><td class="size">(\d+)<\/td><td class="sha256 mono">([0-9a-f]{64})<\/td>/g)].map((m) => m.slice(1));
    assert.deepEqual(rows, [['big.bin', String(big.length), digest(big)], ['&lt;tiny&gt;.txt', '6', digest('<tiny>')]]);
    assert.match(page, /<span id="note">a &amp; b<\/span>/);
  });

  it('says so when no file was chosen', async () => {
    const form = new FormData();
    form.append('file', new Blob([]), '');
    const page = await (await handler(new Request('http://h/cgi-bin/upload.js', { method: 'POST', body: form }))).text();
    assert.match(page, /No files arrived/);
  });

  it('refuses a malformed body with 400 and one over 50 MiB with 413, before reading it', async () => {
    const broken = await handler(new Request('http://h/', { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: 'x' }));
    assert.equal(broken.status, 400);
    assert.match(await broken.text(), /Upload refused/);
    const huge = await handler(new Request('http://h/', {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=x', 'content-length': String(60 * 1024 * 1024) },
      body: '--x--\r\n',
    }));
    assert.equal(huge.status, 413);
  });
});

describe('the framework greeters', () => {
  const greeters = { Hono: fromFetchHandler(honoGreeter.fetch), Express: fromNodeListener(expressGreeter) };
  for (const [framework, app] of Object.entries(greeters)) {
    it(`${framework}: greets by name, escaped, with links relative to the script`, async () => {
      // As the CGI script sees it: mounted at /cgi-bin/<name>.js.
      const handler = toFetchHandler((environ, start) => app({ ...environ, SCRIPT_NAME: '/cgi-bin/x.js' }, start));
      const home = await (await handler(new Request('http://h/'))).text();
      assert.match(home, new RegExp(`<h1>${framework}, deployed as a CGI script</h1>`));
      assert.match(home, /action="\/cgi-bin\/x\.js\/greet"/);
      const greeted = await (await handler(new Request('http://h/greet?name=%3CAda%3E'))).text();
      assert.match(greeted, /<p class="result" id="greeting">Hello, &lt;Ada&gt;!<\/p>/);
      const info = (await (await handler(new Request('http://h/api/info'), { remoteAddress: '192.0.2.1' })).json()) as Record<string, string>;
      assert.equal(info.framework, framework.toLowerCase());
      assert.equal(info.scriptName, '/cgi-bin/x.js');
      assert.equal(info.client, '192.0.2.1');
    });
  }
});

describe('the html tag', () => {
  it('escapes values, keeps nested html and joins arrays', () => {
    const items = ['<a>', '"q"'].map((text) => html`<li>${text}</li>`);
    assert.equal(html`<ul>${items}</ul><p title="${"it's"}">${null}${0}</p>`.text, '<ul><li>&lt;a&gt;</li><li>&quot;q&quot;</li></ul><p title="it&#39;s">0</p>');
  });
});
