/** `tsgi run --workers N`: crashed workers are replaced, SIGTERM drains, SIGHUP replaces workers without dropping requests. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { cgiParams, FcgiTestClient, parseCgiResponse } from '../helpers/fastcgi-client.js';
import { freePort, startTsgi, type TsgiProcess } from '../helpers/fastcgi-peers.js';
import { fromRoot } from '../helpers/paths.js';
import { isRunning } from '../helpers/process-group.js';
import { waitFor } from '../helpers/wait-for.js';

const cli = fromRoot('dist', 'src', 'cli.js');
const fixture = fromRoot('test', 'fixtures', 'fastcgi', 'app.mjs');

/** One FastCGI request on a fresh connection; resolves with the serving worker's pid. */
async function ask(port: number, query = ''): Promise<{ status: number; pid: string }> {
  const client = await FcgiTestClient.connect(port);
  try {
    client.request(1, cgiParams('GET', '/pid', { QUERY_STRING: query }), { keepConn: false });
    const cgi = parseCgiResponse((await client.response(1)).stdout);
    return { status: cgi.status, pid: cgi.body.toString().split(' ')[0]! };
  } finally {
    client.close();
  }
}

async function pidsSeen(port: number, want: number, tries = 200): Promise<Set<string>> {
  const pids = new Set<string>();
  for (let i = 0; i < tries && pids.size < want; i++) {
    const replies = await Promise.all([1, 2, 3, 4].map(() => ask(port, 'ms=5')));
    for (const reply of replies) pids.add(reply.pid);
  }
  return pids;
}

/** Worker pids that announced they were serving, in order. */
function servingPids(tsgi: TsgiProcess): string[] {
  return [...tsgi.output().matchAll(/\(worker (\d+)\)/g)].map((match) => match[1]!);
}

async function withWorkers(test: (tsgi: TsgiProcess, port: number) => Promise<void>): Promise<void> {
  const port = await freePort();
  const tsgi = await startTsgi(['run', fixture, '--fastcgi', `127.0.0.1:${port}`, '--workers', '2'], port, cli);
  try {
    await test(tsgi, port);
  } finally {
    await tsgi.stop();
  }
}

describe('--workers', { timeout: 60_000 }, () => {
  it('serves from two workers and replaces one that crashes', async () => {
    await withWorkers(async (tsgi, port) => {
      const before = await pidsSeen(port, 2);
      assert.equal(before.size, 2);
      const client = await FcgiTestClient.connect(port);
      client.request(1, cgiParams('GET', '/crash'));
      await client.closed;
      // The replacement announces itself; the kernel decides which worker accepts, so asking is no proof.
      await waitFor(() => servingPids(tsgi).length === 3, 'a replacement worker', 10_000, tsgi.output);
      for (let i = 0; i < 20; i++) assert.equal((await ask(port)).status, 200);
      assert.match(tsgi.output(), /died \(exit code 3\); starting a replacement/);
    });
  });

  it('SIGTERM lets requests in flight finish, then exits 0', async () => {
    await withWorkers(async (tsgi, port) => {
      await pidsSeen(port, 2);
      const slow = ask(port, 'ms=700');
      await sleep(200);
      process.kill(tsgi.child.pid!, 'SIGTERM');
      assert.equal((await slow).status, 200);
      assert.equal(await tsgi.exited, 0);
    });
  });

  it('SIGHUP replaces every worker one by one without dropping a request', async () => {
    await withWorkers(async (tsgi, port) => {
      const before = await pidsSeen(port, 2);
      const slow = ask(port, 'ms=800');
      let stop = false;
      const results: number[] = [];
      const load = (async () => {
        while (!stop) results.push((await ask(port, 'ms=2')).status);
      })();
      await sleep(100);
      process.kill(tsgi.child.pid!, 'SIGHUP');
      assert.equal((await slow).status, 200);
      // Two new workers announce themselves, and both old ones exit.
      await waitFor(() => servingPids(tsgi).length === 4 && [...before].every((pid) => !isRunning(Number(pid))), 'two new workers and the old ones gone', 10_000, tsgi.output);
      const after = await pidsSeen(port, 2, 10);
      stop = true;
      await load;
      assert.deepEqual([...after].filter((pid) => before.has(pid)), []);
      assert.ok(results.length > 10);
      assert.ok(results.every((status) => status === 200));
      assert.equal(tsgi.child.exitCode, null);
      assert.doesNotMatch(tsgi.output(), /SIGTERM: finishing requests in flight/, 'a retired worker logs the supervisor\'s SIGTERM as if the service were stopping');
    });
  });

  it('backs off replacing a worker that dies before it listens, even when its start-up takes over a second', async () => {
    const port = await freePort();
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const slowCrash = fromRoot('test', 'fixtures', 'fastcgi', 'slow-crash.mjs');
    const child = spawn(process.execPath, [cli, 'run', slowCrash, '--fastcgi', `127.0.0.1:${port}`, '--workers', '2'], { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env });
    let output = '';
    child.stderr!.on('data', (data: Buffer) => (output += data.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await waitFor(() => (output.match(/died/g) ?? []).length >= 3, 'three worker deaths', 30_000, () => output);
      const delays = [...output.matchAll(/starting a replacement in (\d+) ms/g)].map((match) => Number(match[1]));
      assert.ok(delays.length >= 3 && delays[0]! > 0 && delays[1]! > delays[0]! && delays[2]! > delays[1]!, output);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    }
  });

  it('gives up on an application that cannot start, after growing delays, and exits 1 with the reason', async () => {
    const port = await freePort();
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const cannotStart = fromRoot('test', 'fixtures', 'fastcgi', 'cannot-start.mjs');
    const child = spawn(process.execPath, [cli, 'run', cannotStart, '--fastcgi', `127.0.0.1:${port}`, '--workers', '2'], { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env });
    let output = '';
    child.stderr!.on('data', (data: Buffer) => (output += data.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const code = await Promise.race([exited, sleep(40_000).then(() => 'still running')]);
      assert.equal(code, 1, output);
      assert.match(output, /giving up: 8 workers in a row exited before they listened; the last \(exit code 2\) said: cannot load module \S+: cannot reach the database at db\.test:5432\n/);
      const delays = [...output.matchAll(/starting a replacement in (\d+) ms/g)].map((match) => Number(match[1]));
      assert.equal(delays.length, 7, output);
      assert.ok(delays.every((delay, i) => i === 0 || delay > delays[i - 1]!), `delays ${delays.join(', ')}`);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    }
  });
});
