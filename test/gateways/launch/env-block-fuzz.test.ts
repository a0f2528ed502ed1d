/** A short libFuzzer run over the native launcher's environment-block splitting (`npm run soak` runs it longer). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';
import { fromRoot } from '../../helpers/paths.js';

it('finds no input that makes split_environment read or point outside the block (libFuzzer, ASan, UBSan)', () => {
  const run = spawnSync(process.execPath, [fromRoot('scripts', 'fuzz-native.mjs'), '3'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /env-block: \d+ runs in 3 s, \d+ coverage edges, no crash/);
});
