/** The `tsgi` executable itself: usage, version and unknown commands, before any command runs. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { fromRoot } from './helpers/paths.js';

function tsgi(...args: string[]) {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return spawnSync(process.execPath, [fromRoot('dist/src/cli.js'), ...args], { encoding: 'utf8', env, timeout: 10_000 });
}

it('with no arguments prints the usage on stderr and exits 2', () => {
  const result = tsgi();
  assert.equal(result.status, 2);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /Usage: tsgi COMMAND/);
});

it('prints the version from package.json for --version and -V', () => {
  const { version } = JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const result = tsgi(flag);
    assert.equal(result.status, 0, flag);
    assert.equal(result.stdout, `tsgi ${version}\n`);
  }
});

it('lists --version in the help', () => {
  const result = tsgi('--help');
  assert.equal(result.status, 0);
  assert.match(result.stdout, /--version/);
});

it('points an unknown command or option to --help', () => {
  const command = tsgi('launch');
  assert.equal(command.status, 2);
  assert.match(command.stderr, /unknown command "launch".*tsgi --help/);
  const option = tsgi('--colour');
  assert.equal(option.status, 2);
  assert.match(option.stderr, /unknown option "--colour".*tsgi --help/);
});
