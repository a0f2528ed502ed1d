/** `tsgi serve` as a user runs it: the real executable, a real port, SIGTERM at the end. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { after, before, it } from 'node:test';
import { copyFixtures } from '../helpers/cgihost-fixtures.js';
import type { FixtureSite } from '../helpers/cgihost-fixtures.js';
import { fetchRaw } from '../helpers/http-client.js';
import { fromRoot } from '../helpers/paths.js';

const cli = fromRoot('dist', 'src', 'cli.js');
let site: FixtureSite;

before(() => (site = copyFixtures()));
after(() => site.remove());

/** Starts `tsgi serve ARGS --port 0` and resolves with the child and the port it announced. */
async function startServe(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const quiet = args.includes('--access-log') ? [] : ['--no-access-log'];
  const child = spawn(process.execPath, [cli, 'serve', ...args, '--port', '0', ...quiet], { stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = / port (\d+) /.exec(text);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`tsgi serve exited with ${code}: ${text}`)));
  });
  return { child, port };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

it('serves files and, with --cgi, runs scripts; stops on SIGTERM', async () => {
  const { child, port } = await startServe([site.dir, '--cgi']);
  try {
    const page = await fetchRaw(`http://127.0.0.1:${port}/`);
    assert.match(page.text, /index page/);
    const script = await fetchRaw(`http://127.0.0.1:${port}/cgi-bin/status.sh`);
    assert.equal(script.status, 418);
    const htbin = await fetchRaw(`http://127.0.0.1:${port}/htbin/hi.sh`);
    assert.equal(htbin.text, 'hi from htbin\n');
  } finally {
    await stop(child);
  }
});

it('starts scripts the way --cgi-spawner says, each with the same result', async () => {
  for (const spawner of ['native', 'python', 'direct']) {
    const { child, port } = await startServe([site.dir, '--cgi', '--cgi-spawner', spawner]);
    try {
      const htbin = await fetchRaw(`http://127.0.0.1:${port}/htbin/hi.sh`);
      assert.equal(htbin.text, 'hi from htbin\n', spawner);
    } finally {
      await stop(child);
    }
  }
});

it('without --cgi serves no scripts, only files', async () => {
  const { child, port } = await startServe([site.dir]);
  try {
    const source = await fetchRaw(`http://127.0.0.1:${port}/cgi-bin/status.sh`);
    assert.equal(source.status, 200);
    assert.match(source.text, /^#!\/bin\/sh/);
  } finally {
    await stop(child);
  }
});

it('explains bad command lines', () => {
  const notDir = spawnSync(process.execPath, [cli, 'serve', '/no/such/dir'], { encoding: 'utf8' });
  assert.equal(notDir.status, 2);
  assert.match(notDir.stderr, /is not a folder/);
  const cgiDir = spawnSync(process.execPath, [cli, 'serve', site.dir, '--cgi', '--cgi-dir', 'cgi-bin'], { encoding: 'utf8' });
  assert.equal(cgiDir.status, 2);
  assert.match(cgiDir.stderr, /--cgi-dir entries must be URL paths/);
  const spawner = spawnSync(process.execPath, [cli, 'serve', site.dir, '--cgi', '--cgi-spawner', 'fork'], { encoding: 'utf8' });
  assert.equal(spawner.status, 2);
  assert.match(spawner.stderr, /--cgi-spawner must be one of auto, native, python, direct, got "fork"/);
  const help = spawnSync(process.execPath, [cli, 'serve', '--help'], { encoding: 'utf8' });
  assert.match(help.stdout, /--cgi-dir LIST/);
});

it('--access-log FILE --access-log-format json: one JSON line per request in FILE, all there once SIGTERM has drained', async () => {
  const file = join(site.dir, '..', `serve-access-${process.pid}.log`);
  const { child, port } = await startServe([site.dir, '--access-log', file, '--access-log-format', 'json']);
  try {
    await fetchRaw(`http://127.0.0.1:${port}/`);
    await fetchRaw(`http://127.0.0.1:${port}/missing`);
  } finally {
    await stop(child);
  }
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as { uri: string; status: number });
  assert.deepEqual(lines.map((line) => [line.uri, line.status]), [['/', 200], ['/missing', 404]]);
});

it('refuses what it would otherwise ignore or misread, naming the fix', () => {
  const serve = (...args: string[]) => spawnSync(process.execPath, [cli, 'serve', ...args], { encoding: 'utf8' });
  const port = serve('--cgi', '8080');
  assert.equal(port.status, 2);
  assert.match(port.stderr, /8080 is not a folder: did you mean --port 8080\?/);
  const timeout = serve(site.dir, '--cgi-timeout', '5');
  assert.equal(timeout.status, 2);
  assert.equal(timeout.stderr, 'tsgi: --cgi-timeout needs --cgi, --cgi-script or --cgi-ext\n');
  const user = serve(site.dir, '--cgi', '--cgi-user', 'nosuchuser');
  assert.equal(user.status, 2);
  assert.equal(user.stderr, 'tsgi: --cgi-user nosuchuser: no such user in /etc/passwd\n');
  const missing = serve(site.dir, '--cgi', '--cgi-dir', '/cgi-bin,/scripts');
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--cgi-dir: \/scripts \(.*\/scripts\) is not a folder/);
});
