import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fromRoot } from '../../helpers/paths.js';

/**
 * What tsgi says when build/ holds no addon, in a copy of the package's layout: the
 * launchers under dist/src/gateways/launch/ and a build/ folder beside dist/.
 */
describe('the native launcher, when it was not built', () => {
  const made: string[] = [];
  after(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  function packageCopy(log: string | undefined): string {
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-unbuilt-'));
    made.push(dir);
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
    cpSync(fromRoot('dist', 'src', 'gateways', 'launch'), join(dir, 'dist', 'src', 'gateways', 'launch'), { recursive: true });
    if (log !== undefined) {
      mkdirSync(join(dir, 'build'));
      writeFileSync(join(dir, 'build', 'native-build.log'), log);
    }
    return dir;
  }

  const reasonIn = (dir: string) => execFileSync(process.execPath, ['--input-type=module', '-e',
    `const { nativeUnavailable } = await import(${JSON.stringify(join(dir, 'dist', 'src', 'gateways', 'launch', 'native-launcher.js'))}); console.log(nativeUnavailable());`,
  ], { encoding: 'utf8' }).trim();

  it('says npm never ran the install script, and how to approve and rerun it, when there is no build log', () => {
    const reason = reasonIn(packageCopy(undefined));
    assert.match(reason, /npm did not run tsgi's install script/);
    assert.match(reason, /npm install-scripts approve tsgi && npm rebuild tsgi/);
  });

  it("names the failed build's log and what it said", () => {
    const dir = packageCopy('2026-12-03T10:00:00.000Z tsgi: the native CGI launcher could not be built (see above); scripts will be started by the Python helper or by Node\ngyp ERR! not ok\n');
    const reason = reasonIn(dir);
    assert.match(reason, /the native CGI launcher could not be built/);
    assert.ok(reason.includes(join(dir, 'build', 'native-build.log')), reason);
    assert.match(reason, /npm rebuild tsgi/);
  });
});
