import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { app, bookshelf } from '../../examples/bookshelf/app.js';
import { embeddedBooks, type BookStore } from '../../examples/bookshelf/books.js';
import { request, TestClient } from '../../src/testing/index.js';
import { fetchRaw } from '../helpers/http-client.js';
import { startTsgi, type RunningTsgi } from '../helpers/examples-server.js';

// In process, through the response engine and the validator: no socket is needed to test the app.
describe('bookshelf', () => {
  const client = new TestClient(app);

  it('lists every book with a link to its page', async () => {
    const res = await client.get('/');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    const links = [...res.text().matchAll(/href="\/book\/([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(links.sort(), embeddedBooks.all().map((book) => book.id).sort());
    assert.match(res.text(), /<h1>Bookshelf<\/h1>/);
  });

  it('shows a book on its own page, in the shared template', async () => {
    const res = await client.get('/book/moby-dick');
    assert.equal(res.status, 200);
    assert.match(res.text(), /<h1>Moby-Dick; or, The Whale<\/h1>/);
    assert.match(res.text(), /<td id="author">Herman Melville<\/td>/);
    assert.match(res.text(), /<header><a href="\/">Bookshelf<\/a><\/header>/);
  });

  it("escapes what the books contain (Alice's apostrophe)", async () => {
    const res = await client.get('/book/alice');
    assert.match(res.text(), /<h1>Alice&#39;s Adventures in Wonderland<\/h1>/);
  });

  it('answers 404 for unknown books and paths, with the path escaped', async () => {
    const book = await client.get('/book/%3Cscript%3E');
    assert.equal(book.status, 404);
    assert.match(book.text(), /There is no book <code>&lt;script&gt;<\/code> on this shelf/);
    const path = await client.get('/shelves/top');
    assert.equal(path.status, 404);
    assert.match(path.text(), /There is no page at <code>\/shelves\/top<\/code>/);
  });

  it('answers 405 to writes', async () => {
    const res = await client.delete('/');
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
  });

  it('answers HEAD with the length of the page and no body', async () => {
    const [get, head] = [await client.get('/book/dracula'), await client.head('/book/dracula')];
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(head.headers.get('content-length'), String(get.body.length));
  });
});

describe('bookshelf: failures and mounting', () => {
  it('answers a 500 page and logs the cause when the store fails', async () => {
    const broken: BookStore = {
      all: () => {
        throw new Error('the database is on fire');
      },
      find: () => undefined,
    };
    const res = await request(bookshelf(broken), '/');
    assert.equal(res.status, 500);
    assert.match(res.text(), /<h1>Something broke<\/h1>/);
    assert.ok(!res.text().includes('on fire'), 'the visitor does not see the cause');
    assert.match(res.errors, /the database is on fire/);
  });

  it('links relative to its mount point', async () => {
    const res = await request(bookshelf(), { path: '/books/', scriptName: '/books' });
    assert.match(res.text(), /href="\/books\/book\/dracula"/);
  });
});

describe('bookshelf served by `tsgi run` over HTTP', () => {
  let tsgi: RunningTsgi;
  before(async () => {
    tsgi = await startTsgi(['run', 'dist/examples/bookshelf/app.js', '--port', '0', '--no-access-log']);
  });
  after(() => tsgi.stop());

  it('answers as docs/examples.md says it does', async () => {
    const res = await fetchRaw(`http://127.0.0.1:${tsgi.port}/book/moby-dick`);
    assert.equal(res.status, 200);
    assert.match(res.text, /<h1>Moby-Dick; or, The Whale<\/h1>/);
  });
});
