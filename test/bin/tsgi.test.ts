/**
 * `npx tsgi` in a clone of the repository, as the README and docs/examples.md tell a user to run
 * it: npx installs the folder's own package into its cache and runs the bin it links there.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { fromRoot } from '../helpers/paths.js';

/**
 * npx in `dir` with its own empty cache and none of the npm_* settings of an outer `npm test`.
 * Scripts are off: npx would run the package's install script (the native build) in the copy,
 * which is not what is under test here and needs the whole source tree.
 */
function npx(dir: string, cache: string, ...args: string[]) {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== 'NODE_EXTRA_CA_CERTS') env[key] = value;
  }
  Object.assign(env, { npm_config_cache: cache, npm_config_offline: 'true', npm_config_ignore_scripts: 'true', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' });
  return spawnSync('npx', args, { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
}

it('npx tsgi works in a clone: says to build first, then runs once built, with the same npx cache', () => {
  const work = mkdtempSync(join(tmpdir(), 'tsgi-npx-'));
  try {
    const clone = join(work, 'clone');
    mkdirSync(join(clone, 'bin'), { recursive: true });
    copyFileSync(fromRoot('package.json'), join(clone, 'package.json'));
    copyFileSync(fromRoot('bin', 'tsgi.js'), join(clone, 'bin', 'tsgi.js'));
    const cache = join(work, 'npm-cache');

    const before = npx(clone, cache, 'tsgi', '--help');
    assert.equal(before.status, 1, before.stderr);
    assert.match(before.stderr, /tsgi: not built yet: run "npm run build" in /);

    symlinkSync(fromRoot('dist'), join(clone, 'dist'));
    const after = npx(clone, cache, 'tsgi', '--help');
    assert.equal(after.status, 0, after.stderr);
    assert.match(after.stdout, /^Usage: tsgi COMMAND/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
