/**
 * The environment exercise: an HTML page filled in from the CGI environment — who the server
 * is, who the client is, what was asked for and with which browser. Every value is escaped:
 * all of it comes from the request.
 *
 * As a CGI script: examples/site/cgi-bin/environment.js
 */
import type { Application, Environ } from '../../src/types.js';
import { html } from '../shared/html.js';
import { page } from '../shared/page.js';

const NOT_SET = html`<i>not set</i>`;

function show(value: string | undefined): unknown {
  return value === undefined || value === '' ? NOT_SET : html`<span class="mono">${value}</span>`;
}

function queryTable(query: string): unknown {
  const pairs = [...new URLSearchParams(query)];
  if (pairs.length === 0) return html`<p>The query string is empty. Try <a href="?name=Ada&amp;lang=en&amp;lang=fr">adding one</a>.</p>`;
  return html`<table id="query">
<tr><th>Name</th><th>Value</th></tr>
${pairs.map(([name, value]) => html`<tr><td class="mono">${name}</td><td class="mono">${value}</td></tr>\n`)}</table>`;
}

export function environmentPage(environ: Environ): string {
  const rows: [string, string, unknown][] = [
    ['server', 'Server name', show(environ.SERVER_NAME)],
    ['port', 'Server port', show(environ.SERVER_PORT)],
    ['software', 'Server software', show(environ.SERVER_SOFTWARE)],
    ['protocol', 'Protocol', show(environ.SERVER_PROTOCOL)],
    ['client', 'Client address', show(environ.REMOTE_ADDR)],
    ['client-port', 'Client port', show(environ.REMOTE_PORT)],
    ['method', 'Method', show(environ.REQUEST_METHOD)],
    ['script', 'Script (SCRIPT_NAME)', show(environ.SCRIPT_NAME)],
    ['path', 'Extra path (PATH_INFO)', show(environ.PATH_INFO)],
    ['query-string', 'Query string', show(environ.QUERY_STRING)],
    ['browser', 'Browser (User-Agent)', show(environ.HTTP_USER_AGENT)],
    ['language', 'Languages (Accept-Language)', show(environ.HTTP_ACCEPT_LANGUAGE)],
  ];
  return page({
    title: 'Your request, as CGI sees it',
    home: '/',
    site: 'tsgi demo',
    body: html`<h1>Your request, as CGI sees it</h1>
<table id="environment">
${rows.map(([id, label, value]) => html`<tr><th>${label}</th><td id="${id}">${value}</td></tr>\n`)}</table>
<h2>Query parameters</h2>
${queryTable(environ.QUERY_STRING)}
<p>Add a path after the script name to see PATH_INFO change:
<a href="${environ.SCRIPT_NAME}/extra/path?x=1">${environ.SCRIPT_NAME}/extra/path?x=1</a></p>`,
  });
}

export const environment: Application = (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/html; charset=utf-8']]);
  return [environmentPage(environ)];
};
