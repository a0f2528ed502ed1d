import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import {
  CGI_VARIABLES, diagnosticsApp, environHtml, formHtml, printEnvironUsage, searchParamsForm, test as cgiTest,
} from '../../src/apps/diagnostics.js';
import { runApplication } from '../../src/handler.js';
import { setupTestingDefaults } from '../../src/util.js';
import { validator } from '../../src/validate.js';
import { RecordingTarget } from '../helpers/recording-target.js';

function collect(): { write(text: string): void; text: string } {
  return { text: '', write(text: string) { this.text += text; } };
}

describe('diagnostics helpers', () => {
  it('lists the environment sorted and escaped', () => {
    const html = environHtml({ ZED: '1', ALPHA: '<script>alert(1)</script>', 'tsgi.run_once': true });
    assert.ok(html.indexOf('ALPHA') < html.indexOf('ZED'));
    assert.match(html, /<dt>ALPHA<\/dt><dd>&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/dd>/);
    assert.match(html, /<dt>tsgi\.run_once<\/dt><dd>\(boolean\) true<\/dd>/);
  });

  it('shows object and array values by their members, not [object Object]', () => {
    const html = environHtml({ 'tsgi.errors': { write: () => {} }, 'tsgi.version': [1, 0], 'tsgi.input': (async function* () {})(), 'x.empty': {} });
    assert.match(html, /<dt>tsgi\.errors<\/dt><dd>\(Object\) \{ write\(\) \}<\/dd>/);
    assert.match(html, /<dt>tsgi\.version<\/dt><dd>\(Array\) \[1, 0\]<\/dd>/);
    assert.match(html, /<dt>tsgi\.input<\/dt><dd>\(object\) \(async iterable\)<\/dd>/);
    assert.match(html, /<dt>x\.empty<\/dt><dd>\(Object\) \{\}<\/dd>/);
    assert.doesNotMatch(html, /\[object Object\]/);
  });

  it('shows form fields with their types, lists for repeated names, files by name', () => {
    const form = {
      keys: () => ['b', 'a', 'up'],
      getList: (name: string) => (name === 'a' ? ['1', '<2>'] : name === 'b' ? ['x"y'] : [{ name: 'up', filename: 'r&d.txt', type: 'text/plain', value: new Uint8Array(3) }]),
    };
    const html = formHtml(form);
    assert.ok(html.indexOf('<dt>a:') < html.indexOf('<dt>b:'));
    assert.match(html, /<dt>a: <i>list of 2<\/i><\/dt><dd>\[&quot;1&quot;, &quot;&lt;2&gt;&quot;\]<\/dd>/);
    assert.match(html, /<dt>b: <i>string<\/i><\/dt><dd>&quot;x\\&quot;y&quot;<\/dd>/);
    assert.match(html, /<dt>up: <i>file<\/i><\/dt><dd>file &quot;r&amp;d\.txt&quot; \(text\/plain, 3 bytes\)<\/dd>/);
    assert.match(formHtml(searchParamsForm(new URLSearchParams(''))), /No form fields\./);
  });

  it('prefers the items of a FieldStorage-like form, so files keep their name', () => {
    const upload = { name: 'up', filename: 'a.png', type: 'image/png', value: Buffer.alloc(10) };
    const form = { keys: () => ['up', 'k'], getList: () => ['lost'], get: (name: string) => (name === 'up' ? upload : [{ name: 'k', filename: null, value: 'v' }]) };
    const html = formHtml(form);
    assert.match(html, /<dt>up: <i>file<\/i><\/dt><dd>file &quot;a\.png&quot; \(image\/png, 10 bytes\)<\/dd>/);
    assert.match(html, /<dt>k: <i>Object<\/i><\/dt><dd>&quot;v&quot;<\/dd>/);
  });

  it('explains every RFC 3875 meta-variable', () => {
    const out = collect();
    printEnvironUsage(out);
    for (const name of ['AUTH_TYPE', 'CONTENT_LENGTH', 'CONTENT_TYPE', 'GATEWAY_INTERFACE', 'PATH_INFO', 'PATH_TRANSLATED', 'QUERY_STRING',
      'REMOTE_ADDR', 'REMOTE_HOST', 'REMOTE_IDENT', 'REMOTE_USER', 'REQUEST_METHOD', 'SCRIPT_NAME', 'SERVER_NAME', 'SERVER_PORT',
      'SERVER_PROTOCOL', 'SERVER_SOFTWARE']) {
      assert.match(out.text, new RegExp(`<dt>${name}</dt><dd>[^<]{10,}</dd>`));
    }
    assert.equal(new Set(CGI_VARIABLES.map(([name]) => name)).size, CGI_VARIABLES.length);
  });

  it('test() writes a Content-Type and the whole page, reading the form the Python way', () => {
    const out = collect();
    cgiTest(undefined, { QUERY_STRING: 'q=%3Cb%3E', REQUEST_METHOD: 'GET' }, out);
    assert.match(out.text, /^Content-Type: text\/html; charset=utf-8\r\n\r\n<!DOCTYPE html>/);
    assert.match(out.text, /<dt>q: <i>MiniFieldStorage<\/i><\/dt><dd>&quot;&lt;b&gt;&quot;<\/dd>/);
    assert.match(out.text, /Current Working Directory:<\/h3>\n<pre>[^<]+<\/pre>/);
  });

  it('test() shows a form error quoting the client\'s text as it is, even with $` in it (no replacement patterns)', () => {
    // The sync FieldStorage reads fd 0, so the script runs in a child with the body on its stdin.
    const module = new URL('../../src/apps/diagnostics.js', import.meta.url).href;
    const script = `import { test } from ${JSON.stringify(module)};
      test(undefined, { REQUEST_METHOD: 'POST', CONTENT_TYPE: 'multipart/form-data; boundary="$\`"', CONTENT_LENGTH: '5' });`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { input: 'hello', encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.match(/<h1>/g)?.length, 1, 'the page appears once');
    assert.match(child.stdout, /The form could not be read:<\/h3>\n<pre>[^<]*\$`/);
  });
});

describe('diagnosticsApp', () => {
  it('shows the query string and an urlencoded body as the form', async () => {
    const body = Buffer.from('b=2&c=%3Ci%3E');
    const environ = setupTestingDefaults({
      REQUEST_METHOD: 'POST', QUERY_STRING: 'a=1', CONTENT_TYPE: 'application/x-www-form-urlencoded', CONTENT_LENGTH: String(body.length),
      'tsgi.input': Readable.from([body]),
    });
    const target = new RecordingTarget();
    const app = validator(diagnosticsApp());
    await runApplication(app, environ, target);
    app.assertClean();
    assert.equal(target.head?.status, 200);
    assert.match(target.body, /<dt>a: <i>MiniFieldStorage<\/i><\/dt><dd>&quot;1&quot;/);
    assert.match(target.body, /<dt>c: <i>MiniFieldStorage<\/i><\/dt><dd>&quot;&lt;i&gt;&quot;/);
    assert.match(target.body, /<dt>REQUEST_METHOD<\/dt><dd>POST<\/dd>/);
  });

  it('shows an uploaded file by name, type and size, and removes its temporary file', async () => {
    const body = Buffer.from('--b\r\nContent-Disposition: form-data; name="up"; filename="<evil>.txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n');
    const environ = setupTestingDefaults({
      REQUEST_METHOD: 'POST', CONTENT_TYPE: 'multipart/form-data; boundary=b', CONTENT_LENGTH: String(body.length),
      'tsgi.input': Readable.from([body]),
    });
    const target = new RecordingTarget();
    await runApplication(diagnosticsApp(), environ, target);
    assert.match(target.body, /<dt>up: <i>file<\/i><\/dt><dd>file &quot;&lt;evil&gt;\.txt&quot; \(text\/plain, 5 bytes\)<\/dd>/);
  });

  it('answers a POST whose body is not a form (JSON) with the page, saying so, instead of failing', async () => {
    const body = Buffer.from('{"a":"<b>"}');
    const environ = setupTestingDefaults({
      REQUEST_METHOD: 'POST', CONTENT_TYPE: 'application/json', CONTENT_LENGTH: String(body.length),
      'tsgi.input': Readable.from([body]),
    });
    const target = new RecordingTarget();
    await runApplication(diagnosticsApp(), environ, target);
    assert.equal(target.head?.status, 200);
    assert.match(target.body, /<h3>Form Contents:<\/h3>\n<p>The request body is not a form: not indexable<\/p>/);
    assert.match(target.body, /<dt>CONTENT_TYPE<\/dt><dd>application\/json<\/dd>/);
  });

  it('shows a malformed form body as the error it gave, escaped, instead of a bare 500', async () => {
    const body = Buffer.from('<garbage>');
    const environ = setupTestingDefaults({
      REQUEST_METHOD: 'POST', CONTENT_TYPE: 'multipart/form-data; boundary=b', CONTENT_LENGTH: String(body.length),
      'tsgi.input': Readable.from([body]),
    });
    const target = new RecordingTarget();
    await runApplication(diagnosticsApp(), environ, target);
    assert.equal(target.head?.status, 200);
    assert.match(target.body, /<h3>The form could not be read:<\/h3>\n<pre>[^<]+<\/pre>\n<h3>Form Contents:/);
    assert.match(target.body, /<dt>CONTENT_TYPE<\/dt><dd>multipart\/form-data; boundary=b<\/dd>/);
  });

  it('uses the form reader it is given', async () => {
    const app = diagnosticsApp({ readForm: async () => searchParamsForm(new URLSearchParams('from=reader')) });
    const target = new RecordingTarget();
    await runApplication(app, setupTestingDefaults(), target);
    assert.match(target.body, /<dt>from: <i>string<\/i><\/dt>/);
  });
});
