/**
 * The demo site over HTTP, in process: a CGI script run for real by the CGI host, and the
 * mounted bookshelf and calculator.
 */
import assert from 'node:assert/strict';
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

});
