import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { cgiParams, FcgiTestClient, parseCgiResponse } from '../helpers/fastcgi-client.js';
import { freePort, startTsgi, tempDir } from '../helpers/fastcgi-peers.js';
import { fromRoot } from '../helpers/paths.js';

const cli = fromRoot('dist', 'src', 'cli.js');
const fixture = fromRoot('test', 'fixtures', 'fastcgi', 'app.mjs');

function tsgi(...args: string[]): { status: number | null; stderr: string } {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env, timeout: 10_000 });
  return { status: result.status, stderr: result.stderr };
}

describe('tsgi run --fastcgi/--scgi/--workers usage errors', () => {
  const cases: [string[], RegExp][] = [
    [['--fastcgi', 'nonsense'], /--fastcgi: cannot listen on "nonsense": expected HOST:PORT/],
    [['--scgi', '127.0.0.1:99999'], /--scgi: port 99999/],
    [['--fastcgi', '127.0.0.1:0', '--scgi', '127.0.0.1:0'], /choose one of --fastcgi and --scgi/],
    [['--workers', '0'], /--workers must be a whole number/],
    [['--script-name', '/app'], /--script-name needs --fastcgi or --scgi/],
  ];
  for (const [args, message] of cases) {
    it(`refuses ${args.join(' ')} with exit code 2`, () => {
      const result = tsgi('run', fixture, ...args);
      assert.equal(result.status, 2);
      assert.match(result.stderr, message);
    });
  }
});

describe('tsgi run --fastcgi / --scgi in one process', { timeout: 30_000 }, () => {
  it('SIGTERM finishes the request in flight, then exits 0', async () => {
    const port = await freePort();
    const tsgiProcess = await startTsgi(['run', fixture, '--fastcgi', `127.0.0.1:${port}`], port, cli);
    try {
      const client = await FcgiTestClient.connect(port);
      client.request(1, cgiParams('GET', '/pid', { QUERY_STRING: 'ms=600' }));
      await sleep(150);
      process.kill(tsgiProcess.child.pid!, 'SIGTERM');
      const response = parseCgiResponse((await client.response(1)).stdout);
      assert.equal(response.status, 200);
      assert.equal(await tsgiProcess.exited, 0);
      assert.match(tsgiProcess.output(), /SIGTERM: finishing requests in flight/);
    } finally {
      await tsgiProcess.stop();
    }
  });

  for (const mode of ['HTTP', 'FastCGI'] as const) {
    it(`a single ${mode} process outlives SIGHUP and says why it reloads nothing`, async () => {
      const port = await freePort();
      const args = mode === 'HTTP' ? ['run', fixture, '--port', String(port), '--no-access-log'] : ['run', fixture, '--fastcgi', `127.0.0.1:${port}`];
      const tsgiProcess = await startTsgi(args, port, cli);
      try {
        process.kill(tsgiProcess.child.pid!, 'SIGHUP');
        await sleep(200);
        assert.equal(tsgiProcess.child.exitCode, null, 'the process exited on SIGHUP');
        assert.match(tsgiProcess.output(), /SIGHUP ignored: a single process has nothing to reload/);
        if (mode === 'HTTP') assert.equal(await (await fetch(`http://127.0.0.1:${port}/hello`)).text(), 'Hello, world!\n');
      } finally {
        await tsgiProcess.stop();
      }
    });
  }

  it('serves SCGI on a unix socket', async () => {
    const dir = tempDir('scgi-cli');
    const path = join(dir, 'app.sock');
    const tsgiProcess = await startTsgi(['run', fixture, '--scgi', path], path, cli);
    try {
      const reply = await new Promise<Buffer>((resolve, reject) => {
        const socket = connect(path);
        const parts: Buffer[] = [];
        socket.on('data', (data: Buffer) => parts.push(data));
        socket.on('error', reject);
        socket.on('close', () => resolve(Buffer.concat(parts)));
        const block = 'CONTENT_LENGTH\x000\x00SCGI\x001\x00REQUEST_METHOD\x00GET\x00PATH_INFO\x00/hello\x00';
        socket.write(`${block.length}:${block},`);
      });
      assert.equal(parseCgiResponse(reply).body.toString(), 'Hello, world!\n');
    } finally {
      await tsgiProcess.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
