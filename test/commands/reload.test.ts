/** `tsgi run --reload`: a change restarts the worker without dropping a request; broken code never replaces working code. */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTsgi } from '../helpers/examples-server.js';
import type { RunningTsgi } from '../helpers/examples-server.js';
import { fetchRaw } from '../helpers/http-client.js';

// Restarts take a new process's start-up: far longer than a unit test's wait.
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  if (!check()) throw new Error(`never happened within 15 s: ${what}`);
}

const appSource = (version: string) => `
export const app = async (environ, startResponse) => {
  if (environ.QUERY_STRING === 'slow') await new Promise((resolve) => setTimeout(resolve, 1500));
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return ['${version}\\n'];
};
`;

describe('tsgi run --reload', { timeout: 60_000 }, () => {
  let dir: string;
  let tsgi: RunningTsgi;
  const count = (text: string) => tsgi.stderr().split(text).length - 1;
  const get = async (query = '') => (await fetchRaw(`http://127.0.0.1:${tsgi.port}/${query ? '?' + query : ''}`)).text;
  const save = (name: string, text: string) => writeFileSync(join(dir, name), text);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsgi-reload-'));
    save('package.json', '{"type":"module"}');
    save('app.js', appSource('one'));
    tsgi = await startTsgi(['run', join(dir, 'app.js'), '--reload', '--port', '0', '--no-access-log']);
  });
  after(async () => {
    await tsgi?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the new code after a save, finishing the request the old code had in flight', async () => {
    assert.equal(await get(), 'one\n');
    const inFlight = get('slow');
    await new Promise((resolve) => setTimeout(resolve, 200));
    save('app.js', appSource('two'));
    await eventually(() => count('restarted') === 1, 'the restart');
    assert.match(tsgi.stderr(), /app\.js changed: restarting/);
    assert.equal(await inFlight, 'one\n');
    assert.equal(await get(), 'two\n');
  });

  it('keeps the old code serving when the new code has a syntax error, and names its place', async () => {
    mkdirSync(join(dir, 'lib'), { recursive: true });
    save('lib/broken.js', 'export const x = (;\n');
    save('app.js', `import './lib/broken.js';\n${appSource('three')}`);
    await eventually(() => count('the old code keeps serving') === 1, 'the refused restart');
    assert.match(tsgi.stderr(), /Unexpected token ';' at .*lib\/broken\.js:1\n {2}export const x = \(;\n {2}\s*\^/);
    assert.equal(await get(), 'two\n');
    save('lib/broken.js', 'export const x = 1;\n');
    await eventually(() => count('restarted') === 2, 'the restart after the fix');
    assert.equal(await get(), 'three\n');
  });

  it('ignores changes in node_modules and editor swap files', async () => {
    mkdirSync(join(dir, 'node_modules', 'dep'), { recursive: true });
    save('node_modules/dep/index.js', 'export {};\n');
    save('.app.js.swp', 'swap');
    save('app.js~', 'backup');
    // A real change after them shows the watcher ran; the ignored ones must not add a restart of their own.
    await new Promise((resolve) => setTimeout(resolve, 500));
    save('app.js', `import './lib/broken.js';\n${appSource('four')}`);
    await eventually(() => count('restarted') === 3, 'the restart');
    assert.equal(count('changed: restarting'), 4);
    assert.doesNotMatch(tsgi.stderr(), /node_modules|\.swp|app\.js~ changed/);
    assert.equal(await get(), 'four\n');
  });
});

describe('tsgi run --reload, starting from broken code', { timeout: 60_000 }, () => {
  it('waits for a fix instead of giving up, then serves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-reload-broken-'));
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    writeFileSync(join(dir, 'app.js'), 'export const app = (;\n');
    const tsgi = await startTsgi(['run', join(dir, 'app.js'), '--reload', '--port', '0', '--no-access-log'], /fix it and save()/);
    try {
      writeFileSync(join(dir, 'app.js'), appSource('fixed'));
      await eventually(() => /Serving HTTP on 127\.0\.0\.1 port \d+/.test(tsgi.stderr()), 'the first worker');
      const port = Number(/port (\d+)/.exec(tsgi.stderr())![1]);
      assert.equal((await fetchRaw(`http://127.0.0.1:${port}/`)).text, 'fixed\n');
    } finally {
      await tsgi.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tsgi serve --reload', { timeout: 60_000 }, () => {
  it('restarts when the config file changes, and scripts see the new settings', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-serve-reload-'));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'www'));
    writeFileSync(join(dir, 'show.sh'), '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n%s" "$GREETING"\n', { mode: 0o755 });
    const config = (greeting: string) => JSON.stringify({ dir: 'www', 'cgi-script': ['/show=show.sh'], env: [`GREETING=${greeting}`] });
    writeFileSync(join(dir, 'site.json'), config('hello'));
    const tsgi = await startTsgi(['serve', '--config', join(dir, 'site.json'), '--reload', '--port', '0', '--no-access-log']);
    try {
      assert.match(tsgi.stderr(), /--reload: watching .*site\.json/);
      assert.equal((await fetchRaw(`http://127.0.0.1:${tsgi.port}/show`)).text, 'hello');
      writeFileSync(join(dir, 'site.json'), config('bonjour'));
      await eventually(() => tsgi.stderr().includes('restarted'), 'the restart');
      assert.equal((await fetchRaw(`http://127.0.0.1:${tsgi.port}/show`)).text, 'bonjour');
    } finally {
      await tsgi.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
