/** The page both framework examples render: a greeting form, answered by whichever framework runs. */
import { html } from '../shared/html.js';
import { page } from '../shared/page.js';

/**
 * `base` is where the app is mounted (SCRIPT_NAME), so links work under /cgi-bin/hono.js as
 * well as at the root; `name` is the visitor's, so it is escaped like everything else.
 */
export function greeterPage(framework: string, base: string, name: string | undefined): string {
  const greeting = name ? html`<p class="result" id="greeting">Hello, ${name}!</p>` : '';
  return page({
    title: `${framework} greeter`,
    home: '/',
    site: 'tsgi demo',
    body: html`<h1>${framework}, deployed as a CGI script</h1>
<p>This page comes from an ordinary ${framework} app, run by tsgi's ${framework === 'Hono' ? 'fromFetchHandler' : 'fromNodeListener'} adapter under <code>runCgi</code>: one process per request, no changes to the app.</p>
${greeting}
<form method="get" action="${base}/greet">
  <input name="name" aria-label="your name" placeholder="your name" required>
  <button>Greet me</button>
</form>
<p>JSON too: <a href="${base}/api/info">${base}/api/info</a></p>`,
  });
}
