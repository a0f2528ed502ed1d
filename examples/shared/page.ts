/** The page frame every example shares: one look, inline CSS so each app stands alone wherever it is mounted. */
import { html, SafeHtml } from './html.js';

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7fb; }
  header { background: #243b6b; color: #fff; padding: .8rem 1.5rem; }
  header a { color: #fff; text-decoration: none; font-weight: 600; }
  main { max-width: 46rem; margin: 1.5rem auto; padding: 1.5rem 2rem; background: #fff;
         border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.08); }
  h1 { margin-top: 0; font-size: 1.6rem; }
  a { color: #2357c6; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e3e6ee; vertical-align: top; }
  th { color: #56607a; font-weight: 600; }
  code, .mono { font-family: ui-monospace, monospace; font-size: .92em; word-break: break-all; }
  form { margin: .8rem 0; display: flex; gap: .5rem; flex-wrap: wrap; align-items: center; }
  input, button, select { font: inherit; padding: .25rem .5rem; }
  button { background: #2357c6; color: #fff; border: 0; border-radius: 4px; padding: .3rem .9rem; cursor: pointer; }
  .result { font-size: 2rem; margin: 1rem 0; }
  .error { border-left: 4px solid #c62f2f; padding-left: 1rem; }
  footer { text-align: center; color: #7a8298; font-size: .85rem; margin-bottom: 2rem; }
`;

// The stylesheet is ours, not user input: it goes in verbatim.
const STYLE_MARKUP = new SafeHtml(STYLE);

export interface PageOptions {
  title: string;
  /** Where the header link goes: the app's own home page. */
  home: string;
  /** The name shown in the header. */
  site: string;
  body: SafeHtml;
}

export function page(options: PageOptions): string {
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title}</title>
<style>${STYLE_MARKUP}</style>
</head>
<body>
<header><a href="${options.home}">${options.site}</a></header>
<main>
${options.body}
</main>
<footer>Served by tsgi</footer>
</body>
</html>
`.text;
}
