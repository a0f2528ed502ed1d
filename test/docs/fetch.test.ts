/**
 * docs/fetch.md, run: toFetchHandler's sample with a stand-in for Deno.serve (this is Node)
 * that hands the handler a Request and Deno's connection info, and its Bun/workers default
 * export; the Hono and the Express samples run as CGI scripts mounted at /cgi-bin/app.js.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DocPage } from '../helpers/doc-blocks.js';
import { importSample, packageScratch, runCgiScript, writeSample } from '../helpers/doc-samples.js';

const page = new DocPage('docs/fetch.md');
const toFetch = page.take('ts', 'toFetchHandler(app)');
const hono = page.take('ts', "from 'hono'");
const express = page.take('ts', "from 'express'");

let scratch: ReturnType<typeof packageScratch>;
before(() => {
  scratch = packageScratch('docs-fetch');
});
after(() => scratch.remove());

type Handler = (request: Request, info?: unknown) => Promise<Response>;

describe('docs/fetch.md', () => {
  it('toFetchHandler: Deno.serve gets a handler that answers with the client address from Deno\'s info; the default export fetches too', async () => {
    const served: Handler[] = [];
    (globalThis as { Deno?: unknown }).Deno = { serve: (handler: Handler) => void served.push(handler) };
    try {
      const app = "const app = (environ, startResponse) => { startResponse('200 OK', [['Content-Type', 'text/plain']]); return [`${environ.PATH_INFO} ${environ.QUERY_STRING} ${environ.REMOTE_ADDR ?? '-'}`]; };";
      const module = await importSample<{ default: { fetch: Handler } }>(scratch.dir, 'to-fetch', `${app}\n${toFetch.code}`);
      assert.equal(served.length, 1);
      const viaDeno = await served[0]!(new Request('http://localhost/hi?x=1'), { remoteAddr: { hostname: '203.0.113.5', port: 4711, transport: 'tcp' } });
      assert.equal(viaDeno.status, 200);
      assert.equal(await viaDeno.text(), '/hi x=1 203.0.113.5');
      const viaFetch = await module.default.fetch(new Request('http://localhost/there'));
      assert.equal(await viaFetch.text(), '/there  -');
    } finally {
      delete (globalThis as { Deno?: unknown }).Deno;
    }
  });

  for (const [name, block] of [['Hono', hono], ['Express', express]] as const) {
    it(`fromFetchHandler / fromNodeListener: the ${name} app answers as a CGI script, its route relative to the mount point`, async () => {
      const script = writeSample(scratch.dir, name.toLowerCase(), block.code);
      const run = await runCgiScript(script, { env: { SCRIPT_NAME: '/cgi-bin/app.js', PATH_INFO: '/hello/ada' } });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.head, /^Status: 200 OK\n/);
      assert.equal(run.body.toString(), 'hello ada');
    });
  }

  it('has no other block', () => {
    assert.deepEqual(page.untaken(), []);
  });
});
