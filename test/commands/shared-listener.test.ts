/**
 * `--workers N`: the supervisor holds the listening socket for its whole life, so a connection
 * made while no worker runs waits in the kernel's backlog for the replacement instead of being
 * refused. Each test kills every worker, waits until the supervisor has seen them die, and only
 * then connects: before, node:cluster's primary had closed the socket by then.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cgiParams, FcgiTestClient, parseCgiResponse } from '../helpers/fastcgi-client.js';
import { startNode, startTsgi, type RunningTsgi } from '../helpers/examples-server.js';
import { fetchRaw } from '../helpers/http-client.js';
import { fromRoot } from '../helpers/paths.js';
import { isRunning } from '../helpers/process-group.js';
import { waitFor } from '../helpers/wait-for.js';

const fixture = fromRoot('test', 'fixtures', 'fastcgi', 'app.mjs');
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsgi-shared-listener-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'www'));
  writeFileSync(join(dir, 'www', 'index.txt'), 'static\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Worker pids that announced they were serving, in order. */
function servingPids(tsgi: RunningTsgi): number[] {
  return [...tsgi.stderr().matchAll(/\(worker (\d+)\)/g)].map((match) => Number(match[1]));
}

/** SIGKILLs every worker serving now, and resolves once the supervisor has logged each death. */
async function killAll(tsgi: RunningTsgi, workers: number): Promise<number[]> {
  await waitFor(() => servingPids(tsgi).length >= workers, `${workers} workers serving`, 10_000, tsgi.stderr);
  const victims = servingPids(tsgi);
  const deaths = (tsgi.stderr().match(/died \(SIGKILL\)/g) ?? []).length;
  for (const pid of victims) process.kill(pid, 'SIGKILL');
  await waitFor(() => (tsgi.stderr().match(/died \(SIGKILL\)/g) ?? []).length === deaths + victims.length, 'the supervisor to see every worker die', 10_000, tsgi.stderr);
  return victims;
}

function fastcgiPid(target: number | string): Promise<{ status: number; pid: number }> {
  return FcgiTestClient.connect(target).then(async (client) => {
    try {
      client.request(1, cgiParams('GET', '/pid'), { keepConn: false });
      const cgi = parseCgiResponse((await client.response(1)).stdout);
      return { status: cgi.status, pid: Number(cgi.body.toString().split(' ')[0]) };
    } finally {
      client.close();
    }
  });
}

function scgiPid(path: string): Promise<{ status: number; pid: number }> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const parts: Buffer[] = [];
    socket.on('data', (data: Buffer) => parts.push(data));
    socket.on('error', reject);
    socket.on('close', () => {
      const cgi = parseCgiResponse(Buffer.concat(parts));
      resolve({ status: cgi.status, pid: Number(cgi.body.toString().split(' ')[0]) });
    });
    const block = 'CONTENT_LENGTH\x000\x00SCGI\x001\x00REQUEST_METHOD\x00GET\x00PATH_INFO\x00/pid\x00';
    socket.write(`${block.length}:${block},`);
  });
}

function httpsText(port: number, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    httpsRequest(`https://127.0.0.1:${port}${path}`, { rejectUnauthorized: false, agent: false }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    }).on('error', reject).end();
  });
}

const HTTP_READY = /Serving HTTPS? on \S+ port (\d+)/;

describe('--workers: no connection refused while workers are replaced', { timeout: 60_000 }, () => {
  it('HTTP, one worker: a request sent once the supervisor saw it SIGKILLed is answered by the replacement', async () => {
    const tsgi = await startTsgi(['run', fixture, '--port', '0', '--workers', '1', '--no-access-log'], HTTP_READY);
    try {
      assert.match(tsgi.stderr(), /Serving HTTP on 127\.0\.0\.1 port [1-9]\d* \(http:\/\/127\.0\.0\.1:[1-9]\d*\/\) \(worker \d+\)/);
      const [killed] = await killAll(tsgi, 1);
      const response = await fetchRaw(`http://127.0.0.1:${tsgi.port}/pid`);
      assert.equal(response.status, 200);
      assert.notEqual(Number(response.text.split(' ')[0]), killed);
    } finally {
      await tsgi.stop();
    }
  });

  it('FastCGI on TCP, two workers killed at once: a request meanwhile waits for a replacement', async () => {
    const tsgi = await startTsgi(['run', fixture, '--fastcgi', '127.0.0.1:0', '--workers', '2'], /Serving FastCGI on 127\.0\.0\.1:(\d+)/);
    try {
      // --port 0's port, the same in both start lines: the one socket the supervisor bound.
      await waitFor(() => servingPids(tsgi).length === 2, 'two workers serving', 10_000, tsgi.stderr);
      assert.deepEqual([...tsgi.stderr().matchAll(/Serving FastCGI on 127\.0\.0\.1:(\d+)/g)].map((match) => Number(match[1])), [tsgi.port, tsgi.port]);
      assert.notEqual(tsgi.port, 0);
      const killed = await killAll(tsgi, 2);
      const replies = await Promise.all([1, 2, 3].map(() => fastcgiPid(tsgi.port)));
      for (const reply of replies) {
        assert.equal(reply.status, 200);
        assert.ok(!killed.includes(reply.pid), `answered by killed worker ${reply.pid}`);
      }
    } finally {
      await tsgi.stop();
    }
  });

  it('SCGI on a unix socket keeps --socket-mode and its path through the replacement, and removes the socket on SIGTERM', async () => {
    const path = join(dir, 'scgi.sock');
    const group = String(process.getgid?.() ?? 0);
    const tsgi = await startTsgi(['run', fixture, '--scgi', path, '--socket-mode', '640', '--socket-group', group, '--workers', '1'], /Serving SCGI on (\S+)/);
    try {
      assert.match(tsgi.stderr(), new RegExp(`Serving SCGI on ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(worker \\d+\\)`));
      assert.equal(statSync(path).mode & 0o777, 0o640);
      assert.equal(String(statSync(path).gid), group);
      const [killed] = await killAll(tsgi, 1);
      const reply = await scgiPid(path);
      assert.equal(reply.status, 200);
      assert.notEqual(reply.pid, killed);
      assert.equal(statSync(path).mode & 0o777, 0o640);
      process.kill(tsgi.child.pid!, 'SIGTERM');
      await tsgi.finished;
      assert.equal(statSync(path, { throwIfNoEntry: false }), undefined, 'the socket file is left behind');
    } finally {
      await tsgi.stop();
    }
  });

  it('FastCGI on a unix socket: a killed worker\'s replacement answers', async () => {
    const path = join(dir, 'fcgi.sock');
    const tsgi = await startTsgi(['run', fixture, '--fastcgi', path, '--workers', '2'], /Serving FastCGI on (\S+)/);
    try {
      assert.equal(statSync(path).mode & 0o777, 0o666);
      const killed = await killAll(tsgi, 2);
      const reply = await fastcgiPid(path);
      assert.equal(reply.status, 200);
      assert.ok(!killed.includes(reply.pid));
    } finally {
      await tsgi.stop();
    }
  });

  it('HTTPS with --tls-cert, one worker killed', async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const tsgi = await startTsgi(['run', fixture, '--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem'), '--port', '0', '--workers', '1', '--no-access-log'], HTTP_READY);
    try {
      assert.match(tsgi.stderr(), /Serving HTTPS on 127\.0\.0\.1 port \d+ \(https:\/\//);
      const [killed] = await killAll(tsgi, 1);
      const response = await httpsText(tsgi.port, '/pid');
      assert.equal(response.status, 200);
      assert.notEqual(Number(response.text.split(' ')[0]), killed);
    } finally {
      await tsgi.stop();
    }
  });

  it('tsgi serve DIR --workers 2, both killed', async () => {
    const tsgi = await startTsgi(['serve', join(dir, 'www'), '--port', '0', '--workers', '2', '--no-access-log'], HTTP_READY);
    try {
      await killAll(tsgi, 2);
      const response = await fetchRaw(`http://127.0.0.1:${tsgi.port}/index.txt`);
      assert.equal(response.status, 200);
      assert.equal(response.text, 'static\n');
    } finally {
      await tsgi.stop();
    }
  });

  it('workers stop when their supervisor is SIGKILLed, rather than serve on unsupervised', async () => {
    const tsgi = await startTsgi(['run', fixture, '--port', '0', '--workers', '2', '--no-access-log'], HTTP_READY);
    try {
      await waitFor(() => servingPids(tsgi).length === 2, 'two workers serving', 10_000, tsgi.stderr);
      process.kill(tsgi.child.pid!, 'SIGKILL');
      await waitFor(() => servingPids(tsgi).every((pid) => !isRunning(pid)), 'the workers to exit', 10_000, tsgi.stderr);
    } finally {
      await tsgi.stop();
      for (const pid of servingPids(tsgi)) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('a port in use fails in the supervisor at once, naming the problem, not after a worker crash loop', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const port = (holder.address() as AddressInfo).port;
      const result = spawnSync(process.execPath, [fromRoot('dist', 'src', 'cli.js'), 'run', fixture, '--port', String(port), '--workers', '2'], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.stderr, new RegExp(`127\\.0\\.0\\.1:${port} is already in use`));
      assert.doesNotMatch(result.stderr, /worker/);
    } finally {
      holder.close();
    }
  });
});

describe('--workers without the native addon', { timeout: 30_000 }, () => {
  it('says once that connections may be refused while no worker runs, and serves as node:cluster does', async () => {
    // A copy of the package without build/: the addon cannot load.
    const copy = mkdtempSync(join(tmpdir(), 'tsgi-no-addon-'));
    try {
      cpSync(fromRoot('dist', 'src'), join(copy, 'dist', 'src'), { recursive: true });
      cpSync(fromRoot('package.json'), join(copy, 'package.json'));
      symlinkSync(fromRoot('node_modules'), join(copy, 'node_modules'));
      const tsgi = await startNode(join(copy, 'dist', 'src', 'cli.js'), ['run', fixture, '--port', '0', '--workers', '2', '--no-access-log'], HTTP_READY);
      try {
        await waitFor(() => servingPids(tsgi).length === 2, 'two workers serving', 10_000, tsgi.stderr);
        assert.equal((tsgi.stderr().match(/connections may be refused while no worker runs/g) ?? []).length, 1, tsgi.stderr());
        assert.equal((await fetchRaw(`http://127.0.0.1:${tsgi.port}/hello`)).text, 'Hello, world!\n');
      } finally {
        await tsgi.stop();
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
