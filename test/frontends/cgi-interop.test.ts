/**
 * The same CGI scripts (environment dump, adding machine, form and upload handlers, crashes
 * with cgitb on, diagnostics) under real servers: python3 -m http.server --cgi, lighttpd
 * mod_cgi, nginx + fcgiwrap, Apache mod_cgi, and tsgi's own CGI host.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fixtures } from '../helpers/cgi-scripts.js';
import { startApache, startLighttpd, startNginxFcgiwrap, startPythonCgi, startTsgiCgiHost, type CgiServer } from '../helpers/cgi-servers.js';
import { fetchRaw } from '../helpers/http-client.js';

const scripts = fixtures.replace(/\/$/, '');
const servers: [string, (dir: string) => Promise<CgiServer>][] = [
  ['python3 -m http.server --cgi', startPythonCgi],
  ['lighttpd mod_cgi', startLighttpd],
  ['nginx + fcgiwrap', startNginxFcgiwrap],
  ['Apache mod_cgi', startApache],
  ["tsgi's own CGI host", startTsgiCgiHost],
];

// A 300 KB file with every byte value, a UTF-8 field and a file name that needs care.
const upload = Buffer.alloc(300_000);
for (let i = 0; i < upload.length; i++) upload[i] = (i * 7 + (i >> 8)) & 0xff;
const megabyte = Buffer.concat([upload, upload, upload, upload.subarray(0, 148_576)]);
const boundary = '----tsgiBoundary7MA4YWxkTrZu0gW';
const uploadBody = Buffer.concat([
  Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nGrüße <x> & co\r\n`),
  Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="r&d ü.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
  upload,
  Buffer.from(`\r\n--${boundary}--\r\n`),
]);
const uploadAnswer = {
  title: 'Grüße <x> & co', filename: 'r&d ü.bin', type: 'application/octet-stream', size: upload.length,
  sha256: createHash('sha256').update(upload).digest('hex'),
};

for (const [name, start] of servers) {
  describe(`CGI scripts under ${name}`, { timeout: 60_000 }, () => {
    let server: CgiServer;
    before(async () => {
      server = await start(scripts);
    });
    after(async () => {
      await server?.stop();
    });

    const get = async (path: string, options: Parameters<typeof fetchRaw>[1] = {}) => {
      const response = await fetchRaw(server.base + path, options);
      if (response.status >= 500 && !/crash/.test(path)) assert.fail(`${response.status} from ${path}: ${response.body}\n${server.log()}`);
      return response;
    };

    it('environment dump: the script sees the request as CGI variables', async () => {
      const response = await get('/env.js/extra/path?x=1&y=%3C', { headers: { 'X-Custom': 'yes', 'User-Agent': 'tsgi-test', Proxy: 'http://evil.example:8080' } });
      assert.equal(response.status, 200);
      assert.match(String(response.headers['content-type']), /^application\/json/);
      const environ = JSON.parse(response.body.toString()) as Record<string, string | boolean>;
      assert.equal(environ.REQUEST_METHOD, 'GET');
      assert.equal(environ.QUERY_STRING, 'x=1&y=%3C');
      assert.equal(environ.SCRIPT_NAME, '/cgi-bin/env.js');
      assert.equal(environ.PATH_INFO, '/extra/path');
      assert.equal(environ.HTTP_USER_AGENT, 'tsgi-test');
      if (server.passesAllHeaders) assert.equal(environ.HTTP_X_CUSTOM, 'yes');
      assert.equal(environ.GATEWAY_INTERFACE, 'CGI/1.1');
      assert.equal(environ['tsgi.run_once'], true);
      assert.equal(environ['tsgi.url_scheme'], 'http');
      assert.equal(environ.HTTP_PROXY, undefined);
    });

    it('runCgi: a 24 MB body is flushed completely before the script exits', async () => {
      const response = await get('/modes.js?big');
      assert.equal(response.status, 200);
      assert.equal(response.body.length, 384 * 65536);
      assert.ok(response.body.every((byte) => byte === 0x61));
    });

    it('runCgi: a 1 MB request body arrives whole, exactly CONTENT_LENGTH bytes', async () => {
      const response = await get('/modes.js?echo', { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: megabyte });
      assert.equal(response.status, 200);
      assert.equal(response.body.toString(), `${megabyte.length} ${createHash('sha256').update(megabyte).digest('hex')}\n`);
    });

    it('adding machine: GET with a query string', async () => {
      const response = await get('/adder.js?a=2&b=40');
      assert.equal(response.status, 200);
      assert.match(response.body.toString(), /<p id="sum">2 \+ 40 = 42<\/p>/);
    });

    it('adding machine: POST of an urlencoded form', async () => {
      const response = await get('/adder.js', {
        method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a=1.5&b=%2D0.5',
      });
      assert.equal(response.status, 200);
      assert.match(response.body.toString(), /1\.5 \+ -0\.5 = 1<\/p>/);
    });

    it('adding machine: bad input gets an escaped 400', async () => {
      const response = await get('/adder.js?a=%3Cb%3E&b=1');
      assert.equal(response.status, server.honoursStatus ? 400 : 200);
      assert.match(response.body.toString(), /Not numbers: &lt;b&gt; and 1/);
    });

    for (const [script, way] of [['upload.js', 'FieldStorage.from() in runCgi'], ['upload-sync.js', 'new FieldStorage() from fd 0, Python style']]) {
      it(`upload handler (${way}): a field and a file arrive intact`, async () => {
        const response = await get(`/${script}`, {
          method: 'POST', headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` }, body: uploadBody,
        });
        assert.equal(response.status, 200);
        assert.deepEqual(JSON.parse(response.body.toString()), uploadAnswer);
      });
    }

    it('upload handler: the form page, and a 400 for a post without a file', async () => {
      assert.match((await get('/upload.js')).body.toString(), /<form method="post" enctype="multipart\/form-data">/);
      const response = await get('/upload.js', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'title=x' });
      assert.equal(response.status, server.honoursStatus ? 400 : 200);
      assert.match(response.body.toString(), /Send one file/);
    });

    for (const [script, way] of [['diagnostics.js', 'diagnosticsApp() in runCgi'], ['cgi-test.js', 'test(), Python style']]) {
      it(`diagnostics (${way}): the page shows the form and the environment, escaped`, async () => {
        const response = await get(`/${script}?who=%3Cme%3E`, {
          method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'n=1',
        });
        assert.equal(response.status, 200);
        const page = response.body.toString();
        assert.match(page, /<dt>who: <i>MiniFieldStorage<\/i><\/dt><dd>&quot;&lt;me&gt;&quot;<\/dd>/);
        assert.match(page, /<dt>n: <i>MiniFieldStorage<\/i><\/dt><dd>&quot;1&quot;<\/dd>/);
        assert.match(page, /<dt>QUERY_STRING<\/dt><dd>who=%3Cme%3E<\/dd>/);
        assert.match(page, /<dt>REQUEST_METHOD<\/dt><dd>POST<\/dd>/);
        assert.match(page, /<dt>SERVER_PROTOCOL<\/dt><dd>[^<]+<\/dd>/);
      });
    }

    it('cgitb: a TypeScript script that fails shows its .ts lines, found through the source map', async () => {
      const response = await get('/crash-ts.js');
      if (server.honoursStatus) assert.equal(response.status, 500);
      const page = response.body.toString();
      assert.match(page, /<h1>RangeError<\/h1><p class="message">negative quantity &lt;-1&gt;/);
      assert.match(page, /crash-ts\.ts:17:\d+<\/a>/);
      assert.match(page, /<span class="current">=&gt; 17 +if \(order\.quantity &lt; 0\) throw new RangeError/);
      assert.match(page, /crash-ts\.ts:\d+:\d+<\/a>, in <code>totalOf<\/code>/);
    });

    for (const where of ['before', 'headers', 'body', 'app-before']) {
      it(`cgitb: a crash ${where === 'app-before' ? 'inside runCgi' : where === 'before' ? 'before any output' : `in the ${where}`} reaches the client as a readable report`, async () => {
        const response = await get(`/crash.js?${where}`);
        if (server.honoursStatus && where !== 'body') assert.equal(response.status, 500, server.log());
        assert.match(response.body.toString(), new RegExp(`<h1>Error</h1><p class="message">boom &lt;${where}&gt; &amp; &quot;friends&quot;`), server.log());
        assert.match(String(response.headers['content-type']), /^text\/html/);
      });
    }
  });
}
