import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fastcgiApp } from '../../../src/apps/fastcgi.js';
import { FastCgiProcessManager, type ProcessManagerOptions } from '../../../src/gateways/fastcgi/process-manager.js';
import { makeServer, type HttpServer } from '../../../src/frontends/http.js';
import { fromRoot } from '../../helpers/paths.js';
import { isRunning } from '../../helpers/process-group.js';
import { waitFor } from '../../helpers/wait-for.js';

const CHILD = fromRoot('test', 'fixtures', 'fastcgi', 'child.mjs');

interface Site {
  manager: FastCgiProcessManager;
  server: HttpServer;
  lines: string[];
  get(path: string): Promise<{ status: number; text: string; pid: number }>;
  stop(): Promise<void>;
}

const started: Site[] = [];
after(async () => {
  for (const site of started) await site.stop();
});

async function site(options: Partial<ProcessManagerOptions> = {}): Promise<Site> {
  const lines: string[] = [];
  const manager = new FastCgiProcessManager({ command: CHILD, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, user: null, children: 2, log: (line) => lines.push(line), ...options });
  const app = fastcgiApp({ address: manager, log: (line) => lines.push(line) });
  const server = await makeServer('127.0.0.1', 0, app, { accessLog: false });
  let stopped = false;
  const made: Site = {
    manager, server, lines,
    async get(path) {
      const response = await fetch(server.url + path);
      const text = await response.text();
      return { status: response.status, text, pid: Number(text.split(' ')[0]) };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close();
      await app.close();
    },
  };
  started.push(made);
  return made;
}

describe('FastCgiProcessManager', () => {
  it('starts children on demand with a listening socket on fd 0 and keeps them warm', async () => {
    const { get, manager } = await site();
    assert.equal(manager.running, 0);
    const first = await get('/a');
    assert.equal(first.status, 200);
    assert.match(first.text, /^\d+ \/a CGI\/1\.1$/);
    const pids = new Set<number>();
    for (let i = 0; i < 20; i++) pids.add((await get('/b')).pid);
    assert.deepEqual([...pids], [first.pid], 'one child serves requests one after another');
    const parallel = await Promise.all(Array.from({ length: 6 }, () => get('/slow?50')));
    assert.ok(new Set(parallel.map((answer) => answer.pid)).size <= 2);
    assert.ok(manager.running <= 2);
  });

  it('replaces a child after maxRequests, between requests', async () => {
    const { get } = await site({ children: 1, maxRequests: 3 });
    const pids = [];
    for (let i = 0; i < 7; i++) {
      const answer = await get('/n');
      assert.equal(answer.status, 200);
      pids.push(answer.pid);
    }
    assert.equal(new Set(pids.slice(0, 3)).size, 1);
    assert.notEqual(pids[3], pids[0]);
    assert.equal(new Set(pids.slice(3, 6)).size, 1);
    assert.ok(!isRunning(pids[0]!));
  });

  it('renew() replaces an idle child now: the next request gets a new one', async () => {
    const { get, manager } = await site({ children: 1 });
    const before = await get('/a');
    manager.renew();
    const after = await get('/b');
    assert.equal(after.status, 200);
    assert.notEqual(after.pid, before.pid);
    assert.ok(!isRunning(before.pid));
  });

  it('renew() lets a request in flight finish on its child, then replaces it', async () => {
    const { get, manager, lines } = await site({ children: 1 });
    const held = get('/hold?300');
    await waitFor(() => lines.some((line) => line.endsWith(': holding')), 'the request to reach the child');
    manager.renew();
    const next = get('/next');
    const [first, second] = await Promise.all([held, next]);
    assert.equal(first.status, 200);
    assert.match(first.text, / \/hold /);
    assert.equal(second.status, 200);
    assert.notEqual(second.pid, first.pid);
    assert.ok(!isRunning(first.pid));
  });

  it('renew(program) starts the new program, and gives one that kept failing a fresh try', async () => {
    const { get, manager, lines } = await site({ command: '/bin/false', children: 1, maxFailedStarts: 1 });
    assert.equal((await get('/')).status, 502);
    assert.equal((await get('/')).status, 502);
    assert.match(lines.join('\n'), /keeps failing to start/);
    manager.renew({ command: CHILD });
    const answer = await get('/fixed');
    assert.equal(answer.status, 200);
    assert.match(answer.text, /^\d+ \/fixed CGI\/1\.1$/);
  });

  it('answers 502 for the request a child dies in, and starts a new child for the next', async () => {
    const { get, lines } = await site({ children: 1 });
    const before = await get('/x');
    const died = await get('/exit');
    assert.equal(died.status, 502);
    const afterwards = await get('/x');
    assert.equal(afterwards.status, 200);
    assert.notEqual(afterwards.pid, before.pid);
    assert.match(lines.join('\n'), /child\.mjs #0: exit status 0x3 after 1 requests/);
  });

  it('gives up on a program that cannot start: 502 with the reason, quickly, not an endless wait', async () => {
    const { get, lines } = await site({ command: '/bin/false', children: 1, maxFailedStarts: 2 });
    const begun = Date.now();
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push((await get('/')).status);
    assert.deepEqual(answers, [502, 502, 502, 502]);
    assert.ok(Date.now() - begun < 15_000, `took ${Date.now() - begun} ms`);
    assert.match(lines.join('\n'), /false #0: exit status 0x1 right after starting/);
    assert.match(lines.join('\n'), /keeps failing to start/);
  });

  it('stops idle children beyond the first', async () => {
    const { get, manager } = await site({ idleTimeout: 150 });
    await Promise.all(Array.from({ length: 4 }, () => get('/slow?50')));
    assert.equal(manager.running, 2);
    await sleep(400);
    assert.equal(manager.running, 1);
    assert.equal((await get('/again')).status, 200);
  });

  it('drains on close: the request in flight finishes, then every child and socket is gone', async () => {
    const made = await site();
    const first = await made.get('/warm');
    const slow = made.get('/slow?400');
    await sleep(100);
    const socketDir = dirname((await made.manager.acquire().then((lease) => {
      lease.release(true);
      return lease.address;
    })));
    await made.manager.close();
    const answer = await slow;
    assert.equal(answer.status, 200);
    assert.ok(!isRunning(first.pid) && !isRunning(answer.pid));
    assert.equal(existsSync(socketDir), false);
    await assert.rejects(made.manager.acquire(), /shutting down/);
    await made.stop();
  });

  it('refuses a child count that is not a whole number', () => {
    assert.throws(() => new FastCgiProcessManager({ command: CHILD, children: 0 }), /children must be a whole number of at least 1/);
  });
});
