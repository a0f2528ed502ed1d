/**
 * docs/php.md, run: the three `tsgi serve --php` lines (a php-fpm pool of the test's own for
 * the socket, php-cgi children for spawn), the warning the page quotes for a socket nobody
 * answers, the phpApp sample with its shutdown comment carried out, and `--persistent`
 * keeping a runCgi script running from one request to the next.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Application } from '../../src/types.js';
import type { HttpServer } from '../../src/frontends/http.js';
import { adapt, commandLines, DocPage, shellWords } from '../helpers/doc-blocks.js';
import { importSample, packageScratch } from '../helpers/doc-samples.js';
import { startTsgi, type RunningTsgi } from '../helpers/examples-server.js';
import { fetchRaw } from '../helpers/http-client.js';
import { startPhpFpm, type PhpFpm } from '../helpers/php-peers.js';

const page = new DocPage('docs/php.md');
const serveLines = page.take('sh', '--php spawn:4');
const warning = page.take('', 'tsgi: warning: php-fpm at');
const fromCode = page.take('ts', 'phpApp({');
const persistent = page.take('sh', '--persistent');
const FPM_SOCKET = '/run/php/php8.2-fpm.sock';

let dir: string;
let site: string;
let fpm: PhpFpm;
let scratch: ReturnType<typeof packageScratch>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tsgi-docs-php-'));
  chmodSync(dir, 0o755);
  site = join(dir, 'site');
  mkdirSync(join(site, 'cgi-bin'), { recursive: true });
  writeFileSync(join(site, 'hello.php'), '<?php echo "hello from ", PHP_SAPI, "\\n";');
  writeFileSync(join(site, 'style.css'), 'p { color: teal }\n');
  chmodSync(site, 0o755);
  scratch = packageScratch('docs-php');
  fpm = await startPhpFpm({ children: 1 });
});
after(async () => {
  await fpm?.stop();
  rmSync(dir, { recursive: true, force: true });
  scratch?.remove();
});

/** A line of the page, run in the folder holding ./site, on port 0. */
function startLine(line: string, changes: [string, string][] = []): Promise<RunningTsgi> {
  const words = shellWords(adapt(line, changes));
  assert.equal(words[0], 'tsgi');
  return startTsgi([...words.slice(1), '--port', '0', '--no-access-log'], /port (\d+)/, {}, { cwd: dir });
}

async function get(port: number, path: string) {
  return fetchRaw(`http://127.0.0.1:${port}${path}`);
}

describe('docs/php.md', () => {
  const [viaFpm, spawnPerCore, spawnFour] = commandLines(serveLines.code);

  it('serves .php through a running php-fpm pool, the other files itself', async () => {
    const tsgi = await startLine(viaFpm!, [[FPM_SOCKET, fpm.socket]]);
    try {
      assert.equal((await get(tsgi.port, '/hello.php')).text, 'hello from fpm-fcgi\n');
      assert.equal((await get(tsgi.port, '/style.css')).text, 'p { color: teal }\n');
    } finally {
      await tsgi.stop();
    }
  });

  it('warns as the page shows when nobody answers at the php-fpm address, and answers .php with 502', async () => {
    const missing = join(dir, 'php8.2-fpm.sock');
    const tsgi = await startLine(viaFpm!, [[FPM_SOCKET, missing]]);
    try {
      assert.equal(tsgi.stderr().split('\n')[0] + '\n', adapt(warning.code, [[FPM_SOCKET, missing]]));
      assert.equal((await get(tsgi.port, '/hello.php')).status, 502);
    } finally {
      await tsgi.stop();
    }
  });

  for (const [line, children] of [[spawnPerCore, 'one per core'], [spawnFour, '4']] as const) {
    it(`serves .php through php-cgi children it starts: ${line!.replace(/ +#.*/, '')}`, async () => {
      const tsgi = await startLine(line!);
      try {
        assert.equal((await get(tsgi.port, '/hello.php')).text, 'hello from cgi-fcgi\n');
        if (children === '4') assert.match(tsgi.stderr(), /\(4 at most\)/);
      } finally {
        await tsgi.stop();
      }
    });
  }

  it('phpApp from code: serves PHP and files, then stops with the calls its comment names', async () => {
    const code = adapt(fromCode.code, [
      ["'./site'", JSON.stringify(site)],
      [`'${FPM_SOCKET}'`, JSON.stringify(fpm.socket)],
      ["makeServer('127.0.0.1', 8000, app)", "makeServer('127.0.0.1', 0, app)"],
    ]);
    const { app, server } = await importSample<{ app: Application & { close(): Promise<void> }; server: HttpServer }>(scratch.dir, 'php-app', `${code}\nexport { app, server };\n`);
    assert.equal((await fetchRaw(`${server.url}/hello.php`)).text, 'hello from fpm-fcgi\n');
    assert.equal((await fetchRaw(`${server.url}/style.css`)).status, 200);
    assert.match(fromCode.code, /\/\/ on shutdown: await server\.close\(\); await app\.close\(\);/);
    await server.close();
    await app.close();
  });

  it('--persistent keeps a runCgi script running: the same process answers twice', async () => {
    writeFileSync(join(site, 'cgi-bin', 'pid.mjs'), `#!/usr/bin/env node
import { runCgi } from ${JSON.stringify(new URL('../../src/frontends/cgi.js', import.meta.url).href)};
runCgi((environ, startResponse) => { startResponse('200 OK', [['Content-Type', 'text/plain']]); return [String(process.pid)]; });
`, { mode: 0o755 });
    const tsgi = await startLine(commandLines(persistent.code)[0]!);
    try {
      const first = await get(tsgi.port, '/cgi-bin/pid.mjs');
      assert.equal(first.status, 200, tsgi.stderr());
      assert.match(first.text, /^\d+$/);
      assert.equal((await get(tsgi.port, '/cgi-bin/pid.mjs')).text, first.text);
    } finally {
      await tsgi.stop();
    }
  });

  it('has no other block', () => {
    assert.deepEqual(page.untaken(), []);
  });
});
