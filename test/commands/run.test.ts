import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { startTsgi } from '../helpers/examples-server.js';
import { fetchRaw } from '../helpers/http-client.js';
import { fromRoot } from '../helpers/paths.js';

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
});
