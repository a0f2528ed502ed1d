/** The HTML page listing a folder's entries, as http.server writes it: names escaped, links percent-encoded. */
import type { Dirent } from 'node:fs';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

export function listingPage(urlPath: string, entries: Dirent[]): Buffer {
  const title = `Directory listing for ${escapeHtml(urlPath)}`;
  const items = [...entries]
    .sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : a.name.toLowerCase() > b.name.toLowerCase() ? 1 : 0))
    .map((entry) => {
      const suffix = entry.isDirectory() ? '/' : entry.isSymbolicLink() ? '@' : '';
      const href = encodeURIComponent(entry.name) + (entry.isDirectory() ? '/' : '');
      return `<li><a href="${escapeHtml(href)}">${escapeHtml(entry.name + suffix)}</a></li>`;
    });
  const html = [
    '<!DOCTYPE HTML>', '<html lang="en">', '<head>', '<meta charset="utf-8">', `<title>${title}</title>`, '</head>',
    '<body>', `<h1>${title}</h1>`, '<hr>', '<ul>', ...items, '</ul>', '<hr>', '</body>', '</html>', '',
  ].join('\n');
  return Buffer.from(html, 'utf8');
}
