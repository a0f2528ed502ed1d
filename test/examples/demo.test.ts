/** The demo's command line, as `npm start` runs it: help and refusals in one line, no stack trace. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { it } from 'node:test';
import { fromRoot } from '../helpers/paths.js';

function demo(...args: string[]) {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return spawnSync(process.execPath, [fromRoot('dist/examples/demo.js'), ...args], { encoding: 'utf8', env, timeout: 15_000 });
}

it('prints its help for --help and -h', () => {
  for (const flag of ['--help', '-h']) {
    const result = demo(flag);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^Usage: npm start \[-- options\]/);
    assert.match(result.stdout, /--port N/);
  }
});

it('reports a busy port in one line', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  try {
    const port = (taken.address() as { port: number }).port;
    const result = demo('--port', String(port));
    assert.equal(result.status, 1);
    assert.equal(result.stderr, `demo: 127.0.0.1:${port} is already in use by node (pid ${process.pid}): stop it, choose another --port, or use --port 0 for a free one\n`);
  } finally {
    taken.close();
  }
});

it('refuses unknown options and bad ports, pointing to the help', () => {
  const unknown = demo('--colour');
  assert.equal(unknown.status, 2);
  assert.equal(unknown.stderr, 'demo: unknown option --colour (see npm start -- --help)\n');
  const port = demo('--port', 'eighty');
  assert.equal(port.status, 2);
  assert.match(port.stderr, /^demo: --port must be a number from 0 to 65535, got "eighty"\n$/);
});
