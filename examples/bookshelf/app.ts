/**
 * The bookshelf: a TSGI app with a list page linking to one page per book (/book/<id>),
 * a small embedded database and one page template. Unknown books and paths get a 404 page,
 * failures a 500 page; the details of a failure go to tsgi.errors, never to the visitor.
 *
 * Run it:  npm run build && npx tsgi run dist/examples/bookshelf/app.js
 */
import type { Application, Environ, StartResponse } from '../../src/types.js';
import { html, type SafeHtml } from '../shared/html.js';
import { page } from '../shared/page.js';
import { embeddedBooks, type Book, type BookStore } from './books.js';

function render(environ: Environ, startResponse: StartResponse, status: string, title: string, body: SafeHtml): string[] {
  startResponse(status, [['Content-Type', 'text/html; charset=utf-8']]);
  return [page({ title, home: (environ.SCRIPT_NAME || '') + '/', site: 'Bookshelf', body, mountedAt: environ.SCRIPT_NAME })];
}

function listPage(root: string, books: Book[]): SafeHtml {
  return html`<h1>Bookshelf</h1>
<p>${books.length} books on the shelf.</p>
<ul class="books">
${books.map((book) => html`<li><a href="${root}/book/${encodeURIComponent(book.id)}">${book.title}</a> by ${book.author} (${book.year})</li>\n`)}</ul>`;
}

function bookPage(root: string, book: Book): SafeHtml {
  return html`<h1>${book.title}</h1>
<table>
<tr><th>Author</th><td id="author">${book.author}</td></tr>
<tr><th>First published</th><td id="year">${book.year}</td></tr>
</table>
<p id="summary">${book.summary}</p>
<p><a href="${root}/">Back to the shelf</a></p>`;
}

function notFound(root: string, what: SafeHtml): SafeHtml {
  return html`<h1>Not found</h1>
<p class="error">${what}</p>
<p><a href="${root}/">See every book on the shelf</a></p>`;
}

/** Builds the bookshelf over a store of books (the embedded one by default). */
export function bookshelf(store: BookStore = embeddedBooks): Application {
  return (environ, startResponse) => {
    const root = environ.SCRIPT_NAME || '';
    if (environ.REQUEST_METHOD !== 'GET' && environ.REQUEST_METHOD !== 'HEAD') {
      startResponse('405 Method Not Allowed', [['Content-Type', 'text/plain; charset=utf-8'], ['Allow', 'GET, HEAD']]);
      return ['The bookshelf is read-only: only GET and HEAD are allowed.\n'];
    }
    try {
      const path = environ.PATH_INFO || '/';
      if (path === '/') return render(environ, startResponse, '200 OK', 'Bookshelf', listPage(root, store.all()));
      const match = /^\/book\/([^/]+)\/?$/.exec(path);
      if (!match) return render(environ, startResponse, '404 Not Found', 'Not found', notFound(root, html`There is no page at <code>${path}</code>.`));
      const book = store.find(match[1]!);
      if (!book) return render(environ, startResponse, '404 Not Found', 'No such book', notFound(root, html`There is no book <code>${match[1]}</code> on this shelf.`));
      return render(environ, startResponse, '200 OK', book.title, bookPage(root, book));
    } catch (error) {
      environ['tsgi.errors'].write(`bookshelf: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
      return render(environ, startResponse, '500 Internal Server Error', 'Something broke', html`<h1>Something broke</h1>
<p class="error">The bookshelf could not answer this request. The details are in the server's error log.</p>
<p><a href="${root}/">Back to the shelf</a></p>`);
    }
  };
}

export const app = bookshelf();
export default app;
