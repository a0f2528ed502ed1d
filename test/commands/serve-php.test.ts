/** `tsgi serve DIR --php ...` as a user runs it: a separate process, real php-fpm and php-cgi. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, startTsgi, type TsgiProcess } from '../helpers/fastcgi-peers.js';
import { fromRoot } from '../helpers/paths.js';
import { isRunning } from '../helpers/process-group.js';
import { waitFor } from '../helpers/wait-for.js';
import { nativeContainment } from '../../src/gateways/launch/native-launcher.js';
import { phpSite, startPhpFpm, type PhpFpm } from '../helpers/php-peers.js';
import { heldBytes, MEMORY_PROBE_ARGS } from '../helpers/server-memory.js';

const CLI = fromRoot('dist', 'src', 'cli.js');

const MB = 1024 * 1024;

/** Reads the body to its end and counts it; every `checkpoint.every` bytes it awaits `checkpoint.then` before reading on. */
async function drain(response: Response, checkpoint?: { every: number; then: () => Promise<void> }): Promise<number> {
  let size = 0;
  let next = checkpoint?.every ?? Infinity;
  for await (const chunk of response.body!) {
    size += chunk.length;
    for (; size >= next; next += checkpoint!.every) await checkpoint!.then();
  }
  return size;
}

describe('tsgi serve --php', () => {
  let root: string;
  let fpm: PhpFpm;
  before(async () => {
    root = phpSite();
    fpm = await startPhpFpm({ children: 2 });
  });
  after(async () => {
    await fpm.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves PHP through php-fpm, streaming 150 MB with flat memory, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    // The probe measures what the server holds (after forced collections), not its RSS, which
    // also counts garbage not yet collected and so grows with the machine's load.
    const tsgi: TsgiProcess = await startTsgi(['serve', root, '--php', fpm.socket, '--port', String(port), '--no-access-log'], port, CLI, MEMORY_PROBE_ARGS);
    const held = () => heldBytes(tsgi.child.pid!, tsgi.output);
    try {
      assert.match(tsgi.output(), new RegExp(`PHP through php-fpm at ${fpm.socket}`));
      assert.equal(await (await fetch(`http://127.0.0.1:${port}/sub/`)).text(), 'sub index\n');
      // The first PHP response loads the FastCGI path and opens its connection: what stays after it is the baseline.
      assert.equal(await drain(await fetch(`http://127.0.0.1:${port}/big.php?mb=5`)), 5 * MB);
      const baseline = await held();
      // Asked every 25 MB, the reading held back meanwhile: a server that buffered the body would
      // hold all of it by the first answer, one that read ahead of its client what PHP sent since.
      const readings: number[] = [];
      const size = await drain(await fetch(`http://127.0.0.1:${port}/big.php?mb=150`), { every: 25 * MB, then: async () => void readings.push(await held()) });
      assert.equal(size, 150 * MB);
      assert.equal(readings.length, 6);
      const grown = Math.max(...readings) - baseline;
      assert.ok(grown < 20 * MB, `the server held up to ${Math.round(grown / MB)} MB more than at rest while streaming a 150 MB response`);
      process.kill(tsgi.child.pid!, 'SIGTERM');
      assert.equal(await tsgi.exited, 0);
    } finally {
      await tsgi.stop();
    }
  });

  it('starts php-cgi children itself with spawn:N, keeps them warm, and stops them on SIGTERM', async () => {
    const port = await freePort();
    const tsgi = await startTsgi(['serve', root, '--php', 'spawn:2', '--port', String(port), '--no-access-log'], port, CLI);
    try {
      assert.match(tsgi.output(), /PHP through php-cgi children started on demand \(2 at most\)/);
      const answers = await Promise.all(Array.from({ length: 8 }, async () => (await fetch(`http://127.0.0.1:${port}/slow.php?ms=30`)).text()));
      const pids = [...new Set(answers.map((text) => Number(/slept (\d+)/.exec(text)![1])))];
      assert.ok(pids.length >= 1 && pids.length <= 2, `answered by ${pids.join(', ')}`);
      const again = Number(/slept (\d+)/.exec(await (await fetch(`http://127.0.0.1:${port}/slow.php?ms=1`)).text())![1]);
      assert.ok(pids.includes(again), 'a later request is served by a child that is already running');
      process.kill(tsgi.child.pid!, 'SIGTERM');
      assert.equal(await tsgi.exited, 0);
      for (const pid of pids) assert.equal(isRunning(pid), false, `php-cgi ${pid} outlived the server`);
    } finally {
      await tsgi.stop();
    }
  });

  it('leaves no php-cgi child and no CGI script behind when it is killed with SIGKILL', async () => {
    mkdirSync(join(root, 'cgi-bin'), { recursive: true });
    // Its pid, and that of a child in a session of its own, then a hang.
    writeFileSync(join(root, 'cgi-bin', 'hang.sh'), '#!/bin/sh\nsetsid sleep 60 &\nprintf "Content-Type: text/plain\\n\\n%s %s\\n" $$ $!\nexec sleep 60\n');
    chmodSync(join(root, 'cgi-bin', 'hang.sh'), 0o755);
    const port = await freePort();
    const tsgi = await startTsgi(['serve', root, '--cgi', '--php', 'spawn:2', '--port', String(port), '--no-access-log'], port, CLI);
    let pids: number[] = [];
    try {
      const php = Number(/slept (\d+)/.exec(await (await fetch(`http://127.0.0.1:${port}/slow.php?ms=1`)).text())![1]);
      const response = await fetch(`http://127.0.0.1:${port}/cgi-bin/hang.sh`);
      const first = await response.body!.getReader().read();
      const [script, grandchild] = Buffer.from(first.value!).toString().trim().split(' ').map(Number) as [number, number];
      pids = [php, script, grandchild];
      assert.ok([php, script, grandchild].every(isRunning));
      process.kill(tsgi.child.pid!, 'SIGKILL');
      await tsgi.exited;
      await waitFor(() => !isRunning(php), `php-cgi ${php}`);
      await waitFor(() => !isRunning(script), `the CGI script ${script}`);
      // With run cgroups the watchdog takes what the script started, too.
      if (nativeContainment()?.kind === 'cgroup') await waitFor(() => !isRunning(grandchild), `the script's setsid child ${grandchild}`);
    } finally {
      await tsgi.stop();
      for (const pid of pids) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('warns at start when php-fpm does not answer, and answers 502 with the reason logged', async () => {
    const port = await freePort();
    const tsgi = await startTsgi(['serve', root, '--php', '/nonexistent/php.sock', '--port', String(port)], port, CLI);
    try {
      assert.match(tsgi.output(), /warning: php-fpm at \/nonexistent\/php\.sock: no such socket/);
      const response = await fetch(`http://127.0.0.1:${port}/info.php`);
      assert.equal(response.status, 502);
      assert.equal((await fetch(`http://127.0.0.1:${port}/style.css`)).status, 200);
      assert.match(tsgi.output(), /fastcgi \/info\.php: cannot connect to \/nonexistent\/php\.sock: no such socket/);
    } finally {
      await tsgi.stop();
    }
  });

  it('says what is wrong with a bad --php value or a missing php-cgi, and --help explains both forms', () => {
    const bad = spawnSync(process.execPath, [CLI, 'serve', root, '--php', 'spawn:two'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--php spawn:N needs a whole number of children, got "two"/);
    const missing = spawnSync(process.execPath, [CLI, 'serve', root, '--php', 'spawn'], { encoding: 'utf8', env: { ...process.env, PATH: '/nonexistent' } });
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /php-cgi was not found on PATH \(Debian and Ubuntu: apt-get install php-cgi\)/);
    const help = spawnSync(process.execPath, [CLI, 'serve', '--help'], { encoding: 'utf8' });
    assert.match(help.stdout, /--php ADDR/);
    assert.match(help.stdout, /--php spawn\[:N\]/);
  });
});
