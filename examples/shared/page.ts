/** The page frame every example shares: one look, the stylesheet inlined so each app stands alone wherever it is mounted. */
import { readFileSync } from 'node:fs';
import { html, SafeHtml } from './html.js';

// From dist/examples/shared/ back to the repository: the demo site's stylesheet is the only copy.
const STYLESHEET = new URL('../../../examples/site/style.css', import.meta.url);
let style: SafeHtml | undefined;

/** The stylesheet is ours, not user input: it goes in verbatim (read once, when the first page is built). */
function styleMarkup(): SafeHtml {
  style ??= new SafeHtml(readFileSync(STYLESHEET, 'utf8'));
  return style;
}

export interface PageOptions {
  title: string;
  /** Where the header link goes: the app's own home page. */
  home: string;
  /** The name shown in the header. */
  site: string;
  body: SafeHtml;
  /** SCRIPT_NAME: where the app is mounted. When it is mounted below a site, the page links back up to it. */
  mountedAt?: string;
}

/** The folder above the mount point (`/bookshelf` → `/`), or undefined when the app is the whole site. */
function siteAbove(mountedAt: string | undefined): string | undefined {
  const trimmed = (mountedAt ?? '').replace(/\/+$/, '');
  if (!trimmed) return undefined;
  return trimmed.slice(0, trimmed.lastIndexOf('/') + 1);
}

export function page(options: PageOptions): string {
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title}</title>
<style>
${styleMarkup()}</style>
</head>
<body>
<header><a href="${options.home}">${options.site}</a></header>
<main>
${siteLink(options.mountedAt)}${options.body}
</main>
<footer>Served by tsgi</footer>
</body>
</html>
`.text;
}

function siteLink(mountedAt: string | undefined): SafeHtml {
  const above = siteAbove(mountedAt);
  return above === undefined ? html`` : html`<nav class="site"><a id="link-site" href="${above}">← back to the site</a></nav>
`;
}

