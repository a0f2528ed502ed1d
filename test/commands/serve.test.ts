import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { serveSite } from '../../src/commands/serve.js';
import { makeServer } from '../../src/frontends/http.js';
import type { HttpServer } from '../../src/frontends/http.js';
import { copyFixtures, parseEnv } from '../helpers/cgihost-fixtures.js';
import type { FixtureSite } from '../helpers/cgihost-fixtures.js';
import { fetchRaw, rawExchange } from '../helpers/http-client.js';

const run = promisify(execFile);
let site: FixtureSite;
let server: HttpServer;
const errors: string[] = [];

before(async () => {
  site = copyFixtures();
  writeFileSync(join(site.dir, 'docs', '<b>odd & name.txt'), 'odd\n');
  mkdirSync(join(site.dir, 'sub', 'dir', 'cgi-bin'), { recursive: true });
  cpSync(join(site.cgiBin, 'status.sh'), join(site.dir, 'sub', 'dir', 'cgi-bin', 'nested.sh'));
  const app = serveSite({ dir: site.dir, cgiDirs: ['/cgi-bin', '/htbin', '/sub/dir/cgi-bin'], cgiTimeout: 10 });
  server = await makeServer('127.0.0.1', 0, app, { accessLog: false, errors: { write: (text) => void errors.push(text) } });
});
after(async () => {
  await server.close();
  site.remove();
});

const url = (path: string) => server.url + path;

describe('tsgi serve: static files', () => {
  it('serves index.html for the root folder', async () => {
    const response = await fetchRaw(url('/'));
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], 'text/html');
    assert.match(response.text, /index page/);
  });

  it('redirects a folder without its slash and lists it with names escaped', async () => {
    const redirect = await fetchRaw(url('/docs?x=1'));
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, '/docs/?x=1');
    const listing = await fetchRaw(url('/docs/'));
    assert.equal(listing.status, 200);
    assert.match(listing.text, /<title>Directory listing for \/docs\/<\/title>/);
    assert.match(listing.text, /<a href="%3Cb%3Eodd%20%26%20name.txt">&#60;b&#62;odd &#38; name.txt<\/a>/);
    assert.match(listing.text, /<a href="readme.txt">readme.txt<\/a>/);
  });

  it('sends types, lengths and Last-Modified, and 304 for an unchanged file', async () => {
    const response = await fetchRaw(url('/docs/readme.txt'));
    assert.equal(response.headers['content-type'], 'text/plain');
    assert.equal(response.headers['content-length'], '16');
    const lastModified = response.headers['last-modified']!;
    const again = await fetchRaw(url('/docs/readme.txt'), { headers: { 'If-Modified-Since': lastModified } });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    const head = await fetchRaw(url('/docs/readme.txt'), { method: 'HEAD' });
    assert.equal(head.headers['content-length'], '16');
    assert.equal(head.body.length, 0);
  });

  it('answers 404 and 405', async () => {
    assert.equal((await fetchRaw(url('/nothing-here'))).status, 404);
    const post = await fetchRaw(url('/docs/readme.txt'), { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });
});

describe('tsgi serve --cgi: scripts over HTTP', () => {
  it('runs a script and builds its environment from the HTTP request', async () => {
    const response = await fetchRaw(url('/cgi-bin/env.sh/p%20q?x=%20'), {
      headers: { Proxy: 'http://evil.example', X_Under: 'spoof', 'X-Dup': 'a', Cookie: 'a=1' },
    });
    assert.equal(response.status, 200);
    const env = parseEnv(response.text);
    assert.equal(env.PATH_INFO, '/p q');
    assert.equal(env.QUERY_STRING, 'x=%20');
    assert.equal(env.REQUEST_URI, '/cgi-bin/env.sh/p%20q?x=%20');
    assert.equal(env.SERVER_PORT, String(server.port));
    assert.equal(env.DOCUMENT_ROOT, site.dir);
    assert.equal(env.PATH_TRANSLATED, join(site.dir, 'p q'));
    assert.equal(env.HTTP_PROXY, undefined);
    assert.equal(env.HTTP_X_UNDER, undefined);
    assert.equal(env.HTTP_X_DUP, 'a');
    assert.equal(env.HTTP_COOKIE, 'a=1');
  });

  it('joins repeated headers, with "; " for Cookie', async () => {
    const reply = await rawExchange(server.port, 'GET /cgi-bin/env.sh HTTP/1.1\r\nHost: x\r\nX-Dup: one\r\nX-Dup: two\r\nCookie: a=1\r\nCookie: b=2\r\nConnection: close\r\n\r\n');
    assert.match(reply, /\nHTTP_X_DUP=one, two\n/);
    assert.match(reply, /\nHTTP_COOKIE=a=1; b=2\n/);
  });

  it('runs scripts in /htbin and in a nested CGI folder too', async () => {
    assert.equal((await fetchRaw(url('/htbin/hi.sh'))).text, 'hi from htbin\n');
    assert.equal((await fetchRaw(url('/sub/dir/cgi-bin/nested.sh'))).status, 418);
    assert.equal((await fetchRaw(url('/sub/dir/cgi-bin/'))).status, 403);
  });

  it('never serves a CGI folder as files, however the path is spelled', async () => {
    const doubled = await fetchRaw(url('//cgi-bin/env.sh'));
    assert.doesNotMatch(doubled.text, /#!\/bin\/sh/);
    assert.equal(doubled.status, 200);
    const encoded = await fetchRaw(url('/cgi-bin%2Fenv.sh'));
    assert.equal(encoded.status, 400);
    const dotted = await rawExchange(server.port, 'GET /docs/%2e%2e/cgi-bin/env.sh HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(dotted, /^HTTP\/1.1 400 /);
    const folder = await fetchRaw(url('/cgi-bin/'));
    assert.equal(folder.status, 403);
  });

  it('re-dispatches a local redirect through the whole site', async () => {
    const response = await fetchRaw(url('/cgi-bin/redirect-static.sh'));
    assert.equal(response.status, 200);
    assert.equal(response.text, 'plain text file\n');
  });

  it('sends an NPH script\'s bytes unmodified and closes the connection', async () => {
    const reply = await rawExchange(server.port, 'GET /cgi-bin/nph-raw.sh HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(reply, 'HTTP/1.0 203 Non-Authoritative\r\nContent-Type: text/plain\r\nX-Nph: yes\r\n\r\nraw body\n');
  });

  it('spools a chunked upload and gives the script its length', async () => {
    const data = randomBytes(600 * 1024);
    const response = await fetchRaw(url('/cgi-bin/echo.sh'), {
      method: 'POST',
      body: (async function* () {
        yield data.subarray(0, 1000);
        yield data.subarray(1000);
      })(),
    });
    assert.equal(response.headers['x-length'], String(data.length));
    assert.ok(response.body.equals(data));
  });
});

describe('tsgi serve --cgi: scripts in other languages', () => {
  it('Python cgi.FieldStorage reads a urlencoded POST', async () => {
    const response = await fetchRaw(url('/cgi-bin/form.py'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'name=J%C3%BCrgen&tag=a&tag=b&empty=',
    });
    assert.equal(response.status, 200);
    assert.equal(response.text, 'name=Jürgen\ntag=a,b\n');
  });

  it('Python cgi.FieldStorage reads a multipart upload sent by curl', async () => {
    const file = join(site.scratch, 'upload.bin');
    const data = randomBytes(300 * 1024);
    writeFileSync(file, data);
    const { stdout } = await run('curl', ['-sS', '-F', `upload=@${file}`, '-F', 'note=hello there', url('/cgi-bin/form.py')]);
    const digest = createHash('sha256').update(data).digest('hex');
    assert.equal(stdout, `note=hello there\nupload: file upload.bin ${data.length} bytes sha256 ${digest}\n`);
  });

  it('runs Perl and Node scripts, Node without the server\'s NODE_EXTRA_CA_CERTS', async () => {
    const perl = await fetchRaw(url('/cgi-bin/hello.pl?q=1'));
    assert.equal(perl.headers['x-language'], 'perl');
    assert.equal(perl.text, 'perl says hello, query=q=1 method=GET\n');
    const node = await fetchRaw(url('/cgi-bin/hello.mjs/extra'));
    assert.equal(node.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(node.text), { node: true, path: '/extra', extraCerts: null });
  });
});
