import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { killDescendants } from '../../../src/gateways/launch/descendants.js';
import { isRunning } from '../../helpers/process-group.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('killDescendants', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'tsgi-descendants-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A shell in a session of its own running `text`, and the pids it wrote to `names`. */
  async function tree(text: string, names: string[]): Promise<{ root: number; pids: number[] }> {
    const child = spawn('/bin/sh', ['-c', text], { detached: true, stdio: 'ignore', cwd: dir });
    child.unref();
    const files = names.map((name) => join(dir, name));
    await waitFor(() => files.every((file) => existsSync(file) && readFileSync(file, 'utf8').endsWith('\n')), `the pids in ${names.join(', ')}`);
    return { root: child.pid!, pids: files.map((file) => Number(readFileSync(file, 'utf8'))) };
  }

  it('kills a setsid child and a double-forked orphan in the root\'s session, and the root', async () => {
    const { root, pids } = await tree(
      'setsid sh -c \'echo $$ > a; exec sleep 60\' & (sleep 60 & echo $! > b) & (sh -c \'sleep 60 & echo $! > c; wait\') & exec sleep 60',
      ['a', 'b', 'c'],
    );
    killDescendants(root);
    for (const pid of [root, ...pids]) await waitFor(() => !isRunning(pid), `pid ${pid}`);
  });

  it('leaves alone what is neither in the tree nor in the session', async () => {
    const { root } = await tree('echo $$ > d; exec sleep 60', ['d']);
    const { root: other } = await tree('echo $$ > e; exec sleep 60', ['e']);
    try {
      killDescendants(root);
      await waitFor(() => !isRunning(root), 'the root');
      assert.equal(isRunning(other), true);
    } finally {
      process.kill(other, 'SIGKILL');
    }
  });
});
