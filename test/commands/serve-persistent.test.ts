/** `tsgi serve --cgi --persistent EXTS`: one runCgi script, per request without the flag, kept warm with it. */
import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { describe, it } from 'node:test';
import { freePort, startTsgi } from '../helpers/fastcgi-peers.js';
import { fromRoot } from '../helpers/paths.js';
import { isRunning } from '../helpers/process-group.js';

const CLI = fromRoot('dist', 'src', 'cli.js');

async function pids(port: number, count: number): Promise<number[]> {
  const found: number[] = [];
  for (let i = 0; i < count; i++) {
    const text = await (await fetch(`http://127.0.0.1:${port}/fastcgi/child.mjs/x`)).text();
    assert.match(text, /^\d+ \/x CGI\/1\.1$/);
    found.push(Number(text.split(' ')[0]));
  }
  return found;
}

describe('tsgi serve --cgi --persistent', () => {
  // The fixture imports tsgi from the checkout, which the default "nobody" may not be able to read.
  const asSelf = ['--cgi-user', userInfo().username];

  for (const persistent of [false, true]) {
    it(persistent ? 'keeps the script running: the same process answers again, and stops with the server' : 'runs the same script once per request without it', async () => {
      const port = await freePort();
      const args = ['serve', fromRoot('test', 'fixtures'), '--cgi', '--cgi-dir', '/fastcgi', ...asSelf, '--port', String(port), '--no-access-log'];
      const tsgi = await startTsgi(persistent ? [...args, '--persistent', '.mjs'] : args, port, CLI);
      try {
        const seen = await pids(port, 5);
        if (persistent) {
          assert.equal(new Set(seen).size, 1, `answered by ${seen.join(', ')}`);
          process.kill(tsgi.child.pid!, 'SIGTERM');
          assert.equal(await tsgi.exited, 0);
          assert.equal(isRunning(seen[0]!), false, 'the persistent script outlived the server');
        } else {
          assert.equal(new Set(seen).size, 5);
        }
      } finally {
        await tsgi.stop();
      }
    });
  }

  it('refuses --persistent without --cgi and a malformed extension', async () => {
    const { spawnSync } = await import('node:child_process');
    const alone = spawnSync(process.execPath, [CLI, 'serve', '--persistent', '.js'], { encoding: 'utf8' });
    assert.equal(alone.status, 2);
    assert.match(alone.stderr, /--persistent needs --cgi/);
    const bad = spawnSync(process.execPath, [CLI, 'serve', '--cgi', '--persistent', 'j/s'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--persistent takes extensions like \.js or \.py, got "j\/s"/);
  });
});
