import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startTsgi } from '../helpers/examples-server.js';
import { fetchRaw } from '../helpers/http-client.js';
import { fromRoot } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait-for.js';

function tsgiIn(cwd: string, ...args: string[]) {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return spawnSync(process.execPath, [fromRoot('dist/src/cli.js'), ...args], { cwd, encoding: 'utf8', env, timeout: 10_000 });
}

function tsgi(...args: string[]) {
  return tsgiIn(process.cwd(), ...args);
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

  it('reports a port in use in one line, without a stack trace', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as { port: number }).port;
      const result = tsgi('run', fromRoot('test/fixtures/http/slow-app.mjs'), '--port', String(port));
      assert.equal(result.status, 1);
      assert.equal(result.stderr, `tsgi: 127.0.0.1:${port} is already in use by node (pid ${process.pid}): stop it, choose another --port, or use --port 0 for a free one\n`);
    } finally {
      taken.close();
    }
  });

  it('refuses an unknown command, option or port', () => {
    assert.match(tsgi('launch').stderr, /unknown command "launch"/);
    assert.equal(tsgi('run', 'x.js', '--colour').stderr, 'tsgi: unknown option --colour (see tsgi run --help)\n');
    assert.equal(tsgi('run', 'x.js', '--port').stderr, 'tsgi: --port needs a value (see tsgi run --help)\n');
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

  it('serves the usual framework exports: Hono, Express, CommonJS exports.app, { fetch }', async () => {
    const cases: [string, string, RegExp, RegExp | undefined][] = [
      ['hono-app.mjs', '/hello/ann', /^hono says hello to ann$/, /serving export "default" of .*fromFetchHandler/],
      ['express-app.mjs', '/hello/bo', /^express says hello to bo$/, /serving export "default" of .*fromNodeListener/],
      ['commonjs-app.cjs', '/x', /^commonjs app at \/x$/, undefined],
      ['shapes.mjs:fetchObject', '/c', /^fetch object at \/c$/, /fromFetchHandler/],
    ];
    for (const [spec, path, body, startLine] of cases) {
      const served = await startTsgi(['run', `./test/fixtures/run/${spec}`, '--port', '0', '--no-access-log']);
      try {
        const response = await fetchRaw(`http://127.0.0.1:${served.port}${path}`);
        assert.equal(response.status, 200, `${spec}: ${response.text}`);
        assert.match(response.text, body);
        if (startLine) assert.match(served.stderr(), startLine);
      } finally {
        await served.stop();
      }
    }
  });

  it('serves a plain function the way --adapter says, and checks the word', async () => {
    const served = await startTsgi(['run', './test/fixtures/run/shapes.mjs:nodeListener', '--adapter', 'node', '--port', '0', '--no-access-log']);
    try {
      assert.equal((await fetchRaw(`http://127.0.0.1:${served.port}/n`)).text, 'node listener at /n');
    } finally {
      await served.stop();
    }
    const wrong = tsgi('run', fromRoot('test/fixtures/run/shapes.mjs:nodeListener'), '--adapter', 'express');
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /--adapter must be one of auto, tsgi, fetch, node/);
  });

  it('says what to export when the export is no application', () => {
    const result = tsgi('run', fromRoot('test/fixtures/run/shapes.mjs:settings'));
    assert.equal(result.status, 2);
    assert.match(result.stderr, /export "settings" of .* is an object with port and no fetch method, not an application: export a TSGI/);
  });

  it('loads a package from the current folder, and hints at ./ for a file named like gunicorn does', () => {
    const project = mkdtempSync(join(tmpdir(), 'tsgi-run-'));
    try {
      mkdirSync(join(project, 'node_modules', 'my-package'), { recursive: true });
      writeFileSync(join(project, 'node_modules', 'my-package', 'package.json'), JSON.stringify({ type: 'module', exports: './server.js' }));
      writeFileSync(join(project, 'node_modules', 'my-package', 'server.js'), 'export const site = (e, s) => { s("200 OK", []); return ["ok"]; };\n');
      writeFileSync(join(project, 'hello.js'), 'export const app = () => [];\n');
      const fromPackage = tsgiIn(project, 'run', 'my-package:nothing');
      assert.equal(fromPackage.status, 2);
      assert.match(fromPackage.stderr, /module my-package has no export "nothing" \(it exports: site\)/);
      const habit = tsgiIn(project, 'run', 'hello:app');
      assert.equal(habit.status, 2);
      assert.match(habit.stderr, /cannot find package "hello" in node_modules from .* upwards; for the file .*hello\.js, run: tsgi run \.\/hello\.js:app/);
      const missing = tsgiIn(project, 'run', 'nothing-here');
      assert.match(missing.stderr, /cannot find package "nothing-here" .*; a file path starts with \.\/ or \//);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
