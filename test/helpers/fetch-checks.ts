/** The checks every transport must pass for the Hono and Express apps of fetch-apps.ts. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { fromFetchHandler, fromNodeListener } from '../../src/frontends/fetch.js';
import type { Application } from '../../src/types.js';
import { expressApp, honoApp } from './fetch-apps.js';
import { fetchRaw } from './http-client.js';

export type Framework = 'hono' | 'express';

/** What every transport must get right for both frameworks; `base` is the app's URL. */
export function sharedChecks(framework: Framework, base: () => string, scriptName: string): void {
  it('routes with parameters', async () => {
    const res = await fetchRaw(`${base()}/hello/ada`);
    assert.equal(res.status, 200);
    assert.equal(res.text, `hello ada from ${framework}`);
  });

  it('sees the client address and its mount point', async () => {
    const res = await fetchRaw(`${base()}/whoami?x=1`);
    const seen = JSON.parse(res.text) as { address: string; scriptName: string; url: string; prefix: string | null; originalUrl?: string };
    assert.equal(seen.address, '127.0.0.1');
    assert.equal(seen.scriptName, scriptName);
    assert.match(seen.url, /\/whoami\?x=1$/);
    assert.ok(!seen.url.includes(scriptName || '\0'), 'the app sees URLs relative to its mount point');
    assert.equal(seen.prefix, scriptName || null, 'X-Forwarded-Prefix names the mount point');
    if (framework === 'express') assert.equal(seen.originalUrl, `${scriptName}/whoami?x=1`);
  });

  it("keeps a root-relative redirect inside the mount, and does not take the client's prefix", async () => {
    const res = await fetchRaw(`${base()}/go`);
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, `${scriptName}/hello/moved`);
    const spoofed = await fetchRaw(`${base()}/whoami`, { headers: { 'X-Forwarded-Prefix': '/evil' } });
    assert.equal((JSON.parse(spoofed.text) as { prefix: string | null }).prefix, scriptName || null);
    const followed = await fetchRaw(new URL(res.headers.location as string, base()).href);
    assert.equal(followed.text, `hello moved from ${framework}`);
  });

  it('streams a 3 MB upload through and hashes it', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    const res = await fetchRaw(`${base()}/digest`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: (async function* () {
        for (let offset = 0; offset < data.length; offset += 256 * 1024) yield data.subarray(offset, offset + 256 * 1024);
      })(),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), { bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') });
  });

  it('streams a long response', async () => {
    const res = await fetchRaw(`${base()}/count/20000`);
    const lines = res.text.trimEnd().split('\n');
    assert.equal(lines.length, 20000);
    assert.equal(lines[19999], 'line 20000');
  });

  it("answers errors with the framework's own handlers", async () => {
    const boom = await fetchRaw(`${base()}/boom`);
    assert.equal(boom.status, 500);
    assert.equal(boom.text, `${framework} caught: ${framework} route failed`);
    const missing = await fetchRaw(`${base()}/missing`);
    assert.equal(missing.status, 404);
  });
}

export const frameworkApps: Record<Framework, () => Application> = {
  hono: () => fromFetchHandler(honoApp().fetch),
  express: () => fromNodeListener(expressApp()),
};

