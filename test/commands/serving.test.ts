import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, rmSync, statSync } from 'node:fs';
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

  it('opens its unix socket to the web server\'s user: 0666 by default (a root-made socket was 0755), 0660 and a group with --socket-group', async () => {
    const dir = tempDir('socket-access');
    // The folder must let the web server through too; the socket's own mode is what tsgi sets.
    chmodSync(dir, 0o755);
    try {
      const open = join(dir, 'open.sock');
      const first = await startTsgi(['run', fixture, '--fastcgi', open], open, cli);
      try {
        assert.equal(statSync(open).mode & 0o777, 0o666);
        if (process.getuid?.() === 0) {
          // nginx's workers run as www-data; here a process as nobody must be able to connect.
          const probe = spawnSync(process.execPath, ['-e', `require('net').connect(${JSON.stringify(open)}).on('connect', () => process.exit(0)).on('error', (e) => { console.error(e.code); process.exit(1); })`], { uid: 65534, gid: 65534, encoding: 'utf8' });
          assert.equal(probe.status, 0, probe.stderr);
        }
      } finally {
        await first.stop();
      }
      const grouped = join(dir, 'grouped.sock');
      const group = String(process.getgid?.() ?? 0);
      const second = await startTsgi(['run', fixture, '--fastcgi', grouped, '--socket-group', group, '--socket-mode', '640'], grouped, cli);
      try {
        assert.equal(statSync(grouped).mode & 0o777, 0o640);
        assert.equal(String(statSync(grouped).gid), group);
      } finally {
        await second.stop();
      }
      assert.match(tsgi('run', fixture, '--socket-mode', '600').stderr, /--socket-mode and --socket-group are for a unix socket/);
      assert.match(tsgi('run', fixture, '--fastcgi', join(dir, 'x.sock'), '--socket-group', 'no-such-group').stderr, /--socket-group no-such-group: no such group in \/etc\/group/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

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
