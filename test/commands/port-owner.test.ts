import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { portOwner } from '../../src/commands/port-owner.js';
import { fromRoot } from '../helpers/paths.js';

describe('a port already in use', () => {
  it('names the process listening on it', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = holder.address() as AddressInfo;
      assert.equal(portOwner(port), `node (pid ${process.pid})`);
      const result = spawnSync(process.execPath, [fromRoot('dist', 'src', 'cli.js'), 'serve', '--port', String(port)], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(result.status, 1);
      assert.equal(result.stderr, `tsgi: 127.0.0.1:${port} is already in use by node (pid ${process.pid}): stop it, choose another --port, or use --port 0 for a free one\n`);
    } finally {
      holder.close();
    }
  });

  it('finds nobody on a port nothing listens on', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    assert.equal(portOwner(port), undefined);
  });
});
