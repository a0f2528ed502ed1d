import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fetchRaw } from '../helpers/http-client.js';
import { fromRoot } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait-for.js';

function tsgi(...args: string[]) {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return spawnSync(process.execPath, [fromRoot('dist/src/cli.js'), ...args], { encoding: 'utf8', env, timeout: 10_000 });
}

describe('tsgi run', () => {
  it('prints help for the program and for the command', () => {
    const top = tsgi('--help');
    assert.equal(top.status, 0);
    assert.match(top.stdout, /Usage: tsgi COMMAND/);
    const run = tsgi('run', '--help');
    assert.equal(run.status, 0);
    assert.match(run.stdout, /Usage: tsgi run MODULE\[:EXPORT\]/);
    assert.match(run.stdout, /--port N/);
  });

  it('names a missing module', () => {
    const result = tsgi('run', './no/such/app.js');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /module \.\/no\/such\/app\.js not found/);
  });

  it('names a missing export and lists what the module has', () => {
    const result = tsgi('run', `${fromRoot('test/fixtures/http/slow-app.mjs')}:nothing`);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /has no export "nothing" \(it exports: default\)/);
  });

  it('explains that TypeScript must be built first', () => {
    const result = tsgi('run', fromRoot('src/types.ts'));
    assert.equal(result.status, 2);
    assert.match(result.stderr, /is TypeScript: build it first/);
  });

  it('reports a port in use in one line, without a stack trace', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as { port: number }).port;
      const result = tsgi('run', fromRoot('test/fixtures/http/slow-app.mjs'), '--port', String(port));
      assert.equal(result.status, 1);
      assert.equal(result.stderr, `tsgi: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`);
    } finally {
      taken.close();
    }
  });

  it('refuses an unknown command, option or port', () => {
    assert.match(tsgi('launch').stderr, /unknown command "launch"/);
    assert.match(tsgi('run', 'x.js', '--colour').stderr, /Unknown option '--colour'/);
    assert.match(tsgi('run', fromRoot('test/fixtures/http/slow-app.mjs'), '--port', '99999').stderr, /--port must be a number from 0 to 65535/);
  });

  it('refuses access-log options that contradict each other or name no format', () => {
    const app = fromRoot('test/fixtures/http/slow-app.mjs');
    const bad = tsgi('run', app, '--access-log-format', 'xml');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--access-log-format must be one of common, combined, json, got "xml"/);
    assert.match(tsgi('run', app, '--no-access-log', '--access-log', 'x.log').stderr, /--no-access-log cannot go with --access-log/);
    assert.match(tsgi('run', app, '--access-log', '/no/such/dir/x.log').stderr, /^tsgi: ENOENT: no such file or directory, open '\/no\/such\/dir\/x\.log'\n$/);
    assert.match(tsgi('run', app, '--fastcgi', '127.0.0.1:0', '--access-log', 'x.log').stderr, /--access-log and --access-log-format are for HTTP/);
  });

  for (const target of ['stderr', 'FILE'] as const) {
    it(`logs every request to ${target} and loses none of the batch on SIGTERM`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tsgi-run-log-'));
      const file = join(dir, 'access.log');
      const env = { ...process.env };
      delete env.NODE_EXTRA_CA_CERTS;
      const args = target === 'FILE' ? ['--access-log', file, '--access-log-format', 'combined'] : [];
      const child = spawn(process.execPath, [fromRoot('dist/src/cli.js'), 'run', fromRoot('test/fixtures/fastcgi/app.mjs'), '--port', '0', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
      try {
        let stderr = '';
        child.stderr!.on('data', (data: Buffer) => (stderr += data));
        await waitFor(() => / port (\d+) /.test(stderr), 'the server to start', 5000, () => stderr);
        const port = Number(/ port (\d+) /.exec(stderr)![1]);
        for (let i = 0; i < 20; i++) await fetchRaw(`http://127.0.0.1:${port}/pid?r=${i}`);
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        assert.equal(await exited, 0);
        const logged = (target === 'FILE' ? readFileSync(file, 'utf8') : stderr).split('\n').filter((line) => line.includes('"GET /pid?r='));
        assert.equal(logged.length, 20);
        assert.match(logged[19]!, target === 'FILE'
          ? /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/pid\?r=19 HTTP\/1\.1" 200 \d+ "-" "-"$/
          : /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/pid\?r=19 HTTP\/1\.1" 200 \d+$/);
      } finally {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
