import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bookshelf } from '../../examples/bookshelf/app.js';
import { embeddedBooks, type BookStore } from '../../examples/bookshelf/books.js';
import { toFetchHandler } from '../../src/frontends/fetch.js';
import { fetchRaw } from '../helpers/http-client.js';
import { startTsgi, type RunningTsgi } from '../helpers/examples-server.js';
import { collectingErrors } from '../helpers/recording-target.js';

describe('bookshelf served by `tsgi run` over HTTP', () => {
  let tsgi: RunningTsgi;
  let base = '';
  before(async () => {
    tsgi = await startTsgi(['run', 'dist/examples/bookshelf/app.js', '--port', '0', '--no-access-log']);
    base = `http://127.0.0.1:${tsgi.port}`;
  });
  after(() => tsgi.stop());

  it('lists every book with a link to its page', async () => {
    const res = await fetchRaw(base + '/');
    assert.equal(res.status, 200);
    const links = [...res.text.matchAll(/href="\/book\/([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(links.sort(), embeddedBooks.all().map((book) => book.id).sort());
    assert.match(res.text, /<h1>Bookshelf<\/h1>/);
  });

  it('shows a book on its own page, in the shared template', async () => {
    const res = await fetchRaw(base + '/book/moby-dick');
    assert.equal(res.status, 200);
    assert.match(res.text, /<h1>Moby-Dick; or, The Whale<\/h1>/);
    assert.match(res.text, /<td id="author">Herman Melville<\/td>/);
    assert.match(res.text, /<header><a href="\/">Bookshelf<\/a><\/header>/);
  });

  it("escapes what the books contain (Alice's apostrophe)", async () => {
    const res = await fetchRaw(base + '/book/alice');
    assert.match(res.text, /<h1>Alice&#39;s Adventures in Wonderland<\/h1>/);
  });

  it('answers 404 for unknown books and paths, with the path escaped', async () => {
    const book = await fetchRaw(base + '/book/%3Cscript%3E');
    assert.equal(book.status, 404);
    assert.match(book.text, /There is no book <code>&lt;script&gt;<\/code> on this shelf/);
    const path = await fetchRaw(base + '/shelves/top');
    assert.equal(path.status, 404);
    assert.match(path.text, /There is no page at <code>\/shelves\/top<\/code>/);
  });

  it('answers 405 to writes', async () => {
    const res = await fetchRaw(base + '/', { method: 'DELETE' });
    assert.equal(res.status, 405);
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
    const errors = collectingErrors();
    const res = await toFetchHandler(bookshelf(broken), { errors })(new Request('http://h/'));
    assert.equal(res.status, 500);
    const text = await res.text();
    assert.match(text, /<h1>Something broke<\/h1>/);
    assert.ok(!text.includes('on fire'), 'the visitor does not see the cause');
    assert.match(errors.text(), /the database is on fire/);
  });

  it('links relative to its mount point', async () => {
    const app = bookshelf();
    const res = await toFetchHandler((environ, start) => app({ ...environ, SCRIPT_NAME: '/books' }, start))(new Request('http://h/'));
    assert.match(await res.text(), /href="\/books\/book\/dracula"/);
  });
});
