import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { staticFiles } from '../../src/apps/static.js';
import { makeServer } from '../../src/frontends/http.js';
import type { Application } from '../../src/types.js';
import { call, header } from '../helpers/cgihost-fixtures.js';

const execFileAsync = promisify(execFile);
let dir: string;
let app: Application;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsgi-static-test-'));
  mkdirSync(join(dir, 'site', 'sub'), { recursive: true });
  mkdirSync(join(dir, 'site', 'cgi-bin'));
  mkdirSync(join(dir, 'site', 'withindex'));
  writeFileSync(join(dir, 'site', 'page.html'), '<p>hi</p>');
  writeFileSync(join(dir, 'site', 'data.bin'), Buffer.alloc(100_000, 7));
  writeFileSync(join(dir, 'site', 'withindex', 'index.html'), 'the index');
  writeFileSync(join(dir, 'site', 'cgi-bin', 'secret.sh'), '#!/bin/sh\n');
  writeFileSync(join(dir, 'site', 'sub', '<i>&"q".txt'), 'x');
  writeFileSync(join(dir, 'outside.txt'), 'outside');
  symlinkSync(join(dir, 'outside.txt'), join(dir, 'site', 'escape.txt'));
  mkdirSync(join(dir, 'site', 'linked-index'));
  symlinkSync('cgi-bin', join(dir, 'site', 'scripts'));
  symlinkSync(join('cgi-bin', 'secret.sh'), join(dir, 'site', 'alias.sh'));
  mkdirSync(join(dir, 'site', 'script-index'));
  symlinkSync(join('..', 'cgi-bin', 'secret.sh'), join(dir, 'site', 'script-index', 'index.html'));
  symlinkSync(join(dir, 'outside.txt'), join(dir, 'site', 'linked-index', 'index.html'));
  utimesSync(join(dir, 'site', 'page.html'), new Date('2024-01-02T03:04:05Z'), new Date('2024-01-02T03:04:05Z'));
  app = staticFiles({ root: join(dir, 'site'), hide: ['/cgi-bin'] });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const get = (path: string, extra: Record<string, unknown> = {}) => call(app, { SCRIPT_NAME: '', PATH_INFO: path, ...extra });

describe('staticFiles', () => {
  it('serves a file with its type, length and modification time', async () => {
    const result = await get('/page.html');
    assert.equal(result.status, 200);
    assert.equal(header(result, 'Content-Type'), 'text/html');
    assert.equal(header(result, 'Content-Length'), '9');
    assert.equal(header(result, 'Last-Modified'), 'Tue, 02 Jan 2024 03:04:05 GMT');
    assert.equal(header(result, 'X-Content-Type-Options'), 'nosniff');
    assert.equal(result.body.toString(), '<p>hi</p>');
  });

  it('streams a larger file whole', async () => {
    const result = await get('/data.bin');
    assert.equal(header(result, 'Content-Type'), 'application/octet-stream');
    assert.equal(result.body.length, 100_000);
  });

  it('answers 304 to If-Modified-Since at or after the modification time', async () => {
    assert.equal((await get('/page.html', { HTTP_IF_MODIFIED_SINCE: 'Tue, 02 Jan 2024 03:04:05 GMT' })).status, 304);
    assert.equal((await get('/page.html', { HTTP_IF_MODIFIED_SINCE: 'Tue, 02 Jan 2024 03:04:04 GMT' })).status, 200);
    assert.equal((await get('/page.html', { HTTP_IF_MODIFIED_SINCE: 'garbage' })).status, 200);
  });

  it('sends headers without a body for HEAD', async () => {
    const result = await get('/data.bin', { REQUEST_METHOD: 'HEAD' });
    assert.equal(header(result, 'Content-Length'), '100000');
    assert.equal(result.body.length, 0);
  });

  it('answers 405 with Allow for other methods', async () => {
    const result = await get('/page.html', { REQUEST_METHOD: 'DELETE' });
    assert.equal(result.status, 405);
    assert.equal(header(result, 'Allow'), 'GET, HEAD');
  });

  it('serves index.html for a folder and redirects a folder without its slash', async () => {
    assert.equal((await get('/withindex/')).body.toString(), 'the index');
    const redirect = await get('/withindex', { QUERY_STRING: 'a=1' });
    assert.equal(redirect.status, 301);
    assert.equal(header(redirect, 'Location'), '/withindex/?a=1');
  });

  it('lists a folder with names HTML-escaped and links percent-encoded', async () => {
    const result = await get('/sub/');
    assert.equal(header(result, 'Content-Type'), 'text/html; charset=utf-8');
    const page = result.body.toString();
    assert.match(page, /<a href="%3Ci%3E%26%22q%22.txt">&#60;i&#62;&#38;&#34;q&#34;.txt<\/a>/);
    assert.doesNotMatch(page, /<i>/);
  });

  it('refuses 404, "..", encoded slashes, symlinks out of the root and hidden folders', async () => {
    assert.equal((await get('/missing.txt')).status, 404);
    assert.equal((await get('/sub/../page.html')).status, 400);
    assert.equal((await get('/sub/x', { REQUEST_URI: '/sub%2fx' })).status, 400);
    assert.equal((await get('/escape.txt')).status, 403);
    const hidden = await get('/cgi-bin/secret.sh');
    assert.equal(hidden.status, 403);
    assert.doesNotMatch(hidden.body.toString(), /#!/);
    assert.equal((await get('//cgi-bin/secret.sh')).status, 403);
  });

  it('does not follow an index.html symlink out of the root', async () => {
    const result = await get('/linked-index/');
    assert.equal(result.status, 403);
    assert.notEqual(result.body.toString(), 'outside');
  });

  it('never serves a hidden folder\'s files through a symlink that leads into it', async () => {
    for (const path of ['/scripts/secret.sh', '/alias.sh', '/scripts/', '/script-index/']) {
      const result = await get(path);
      assert.equal(result.status, 403, path);
      assert.doesNotMatch(result.body.toString(), /#!|secret/, path);
    }
  });

  it('serves files when the root is / itself', async () => {
    const whole = staticFiles({ root: '/' });
    const result = await call(whole, { SCRIPT_NAME: '', PATH_INFO: join(dir, 'site', 'page.html') });
    assert.equal(result.status, 200);
    assert.equal(result.body.toString(), '<p>hi</p>');
  });

  it('tags files with an ETag and answers If-None-Match with 304, which then outranks If-Modified-Since', async () => {
    const first = await get('/page.html');
    const tag = header(first, 'ETag')!;
    assert.match(tag, /^"[0-9a-f]+-9"$/);
    assert.equal(header(first, 'Accept-Ranges'), 'bytes');
    const hit = await get('/page.html', { HTTP_IF_NONE_MATCH: `"other", W/${tag}` });
    assert.equal(hit.status, 304);
    assert.equal(header(hit, 'ETag'), tag);
    assert.equal(hit.body.length, 0);
    assert.equal((await get('/page.html', { HTTP_IF_NONE_MATCH: '*' })).status, 304);
    assert.equal((await get('/page.html', { HTTP_IF_NONE_MATCH: '"other"', HTTP_IF_MODIFIED_SINCE: 'Tue, 02 Jan 2024 03:04:05 GMT' })).status, 200);
  });

  it('serves one byte range with 206 and Content-Range, and 416 for a range past the end', async () => {
    const cases: [string, string, string][] = [
      ['bytes=0-2', 'bytes 0-2/9', '<p>'],
      ['bytes=3-', 'bytes 3-8/9', 'hi</p>'],
      ['bytes=-4', 'bytes 5-8/9', '</p>'],
      ['bytes=7-100', 'bytes 7-8/9', 'p>'],
    ];
    for (const [range, contentRange, body] of cases) {
      const result = await get('/page.html', { HTTP_RANGE: range });
      assert.equal(result.status, 206, range);
      assert.equal(header(result, 'Content-Range'), contentRange);
      assert.equal(header(result, 'Content-Length'), String(body.length));
      assert.equal(result.body.toString(), body);
    }
    const big = await get('/data.bin', { HTTP_RANGE: 'bytes=99990-' });
    assert.equal(big.body.length, 10);
    const past = await get('/page.html', { HTTP_RANGE: 'bytes=9-' });
    assert.equal(past.status, 416);
    assert.equal(header(past, 'Content-Range'), 'bytes */9');
  });

  it('sends the whole file for several ranges, a malformed one, or an If-Range that no longer holds', async () => {
    const tag = header(await get('/page.html'), 'ETag')!;
    for (const extra of [{ HTTP_RANGE: 'bytes=0-1,4-5' }, { HTTP_RANGE: 'lines=1-2' }, { HTTP_RANGE: 'bytes=5-2' }, { HTTP_RANGE: 'bytes=0-1', HTTP_IF_RANGE: '"stale"' }]) {
      const result = await get('/page.html', extra);
      assert.equal(result.status, 200, JSON.stringify(extra));
      assert.equal(result.body.toString(), '<p>hi</p>');
    }
    assert.equal((await get('/page.html', { HTTP_RANGE: 'bytes=0-1', HTTP_IF_RANGE: tag })).status, 206);
    assert.equal((await get('/page.html', { HTTP_RANGE: 'bytes=0-1', HTTP_IF_RANGE: 'Tue, 02 Jan 2024 03:04:05 GMT' })).status, 206);
  });

  it('lets curl fetch a range, resume a download and revalidate with the ETag, over HTTP', async () => {
    const server = await makeServer('127.0.0.1', 0, app, { accessLog: false });
    const url = `${server.url}/data.bin`;
    // Asynchronous: the server answering curl runs in this very process.
    const curl = async (...args: string[]) => (await execFileAsync('curl', ['-sS', '--max-time', '10', ...args], { encoding: 'latin1' })).stdout;
    try {
      const head = await curl('-D', '-', '-o', '/dev/null', '-r', '10-19', url);
      assert.match(head, /^HTTP\/1\.1 206 /);
      assert.match(head, /\r\ncontent-range: bytes 10-19\/100000\r\n/i);
      const partial = join(dir, 'partial.bin');
      writeFileSync(partial, Buffer.alloc(40_000, 7));
      await curl('-C', '-', '-o', partial, url);
      assert.deepEqual(readFileSync(partial), Buffer.alloc(100_000, 7));
      const tag = /\r\netag: (\S+)\r\n/i.exec(await curl('-D', '-', '-o', '/dev/null', url))![1]!;
      assert.equal(await curl('-o', '/dev/null', '-w', '%{http_code}', '-H', `If-None-Match: ${tag}`, url), '304');
      assert.equal(await curl('-o', '/dev/null', '-w', '%{http_code}', '-r', '200000-', url), '416');
    } finally {
      await server.close();
    }
  });
});

describe('staticFiles with a 404.html', () => {
  let site: string;
  before(() => {
    site = mkdtempSync(join(tmpdir(), 'tsgi-static-404-'));
    writeFileSync(join(site, 'here.txt'), 'here');
    mkdirSync(join(site, 'cgi-bin'));
  });
  after(() => rmSync(site, { recursive: true, force: true }));

  it("answers a missing file with the root's 404.html, status 404, read afresh each time", async () => {
    const served = staticFiles({ root: site });
    const plain = await call(served, { SCRIPT_NAME: '', PATH_INFO: '/nope' });
    assert.equal(plain.status, 404);
    assert.equal(plain.body.toString().trim(), 'File not found.');
    writeFileSync(join(site, '404.html'), '<h1>Gone fishing</h1>');
    const page = await call(served, { SCRIPT_NAME: '', PATH_INFO: '/deep/nope.html' });
    assert.equal(page.status, 404);
    assert.equal(header(page, 'Content-Type'), 'text/html');
    assert.equal(page.body.toString(), '<h1>Gone fishing</h1>');
    const head = await call(served, { SCRIPT_NAME: '', PATH_INFO: '/nope', REQUEST_METHOD: 'HEAD' });
    assert.equal(head.status, 404);
    assert.equal(head.body.length, 0);
    assert.equal((await call(served, { SCRIPT_NAME: '', PATH_INFO: '/here.txt' })).status, 200);
  });

  it('keeps to plain text when told to, and never takes the page from outside the root or a hidden folder', async () => {
    writeFileSync(join(site, '404.html'), '<h1>Gone fishing</h1>');
    const off = await call(staticFiles({ root: site, notFoundPage: false }), { SCRIPT_NAME: '', PATH_INFO: '/nope' });
    assert.equal(off.body.toString().trim(), 'File not found.');
    writeFileSync(join(site, 'cgi-bin', 'page.html'), 'script folder');
    const hidden = await call(staticFiles({ root: site, hide: ['/cgi-bin'], notFoundPage: 'cgi-bin/page.html' }), { SCRIPT_NAME: '', PATH_INFO: '/nope' });
    assert.equal(hidden.body.toString().trim(), 'File not found.');
    const outside = await call(staticFiles({ root: site, notFoundPage: '../../etc/hostname' }), { SCRIPT_NAME: '', PATH_INFO: '/nope' });
    assert.equal(outside.body.toString().trim(), 'File not found.');
  });
});
