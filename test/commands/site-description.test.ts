import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { blockedFolder, describeSite } from '../../src/commands/site-description.js';

const nobody = { name: 'nobody', uid: 65534, gid: 65534 };

describe('describeSite', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsgi-describe-'));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'open', 'cgi-bin'), { recursive: true });
    mkdirSync(join(dir, 'closed', 'site', 'cgi-bin'), { recursive: true });
    chmodSync(join(dir, 'closed'), 0o700);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('names the folder, CGI folders (missing ones too), programs, extensions and password areas', () => {
    const { lines } = describeSite({
      dir: join(dir, 'open'), cgiDirs: ['/cgi-bin', '/htbin'], cgiScripts: [{ prefix: '/git', program: '/usr/lib/git-core/git-http-backend' }],
      cgiExtensions: { '.cgi': null, '.php': '/usr/bin/php-cgi' }, auth: [{ realm: 'Git', file: '/srv/pw', prefix: '/git' }], cgiSpawner: 'direct',
    });
    assert.deepEqual(lines.slice(0, 5), [
      `files: ${join(dir, 'open')}`,
      `CGI folders: /cgi-bin (${join(dir, 'open', 'cgi-bin')}), /htbin (no such folder)`,
      'program: /git -> /usr/lib/git-core/git-http-backend',
      'CGI by extension: .cgi, .php -> /usr/bin/php-cgi',
      'password: /git (realm "Git", /srv/pw)',
    ]);
    assert.match(lines[5]!, /^scripts start with Node's spawn .*--cgi-spawner direct/);
  });

  it('says nothing about scripts for a site of files only', () => {
    assert.deepEqual(describeSite({ dir: join(dir, 'open') }).lines, [`files: ${join(dir, 'open')}`]);
  });

  it('finds the folder a script user cannot pass, with its mode and the fix', () => {
    assert.equal(blockedFolder(join(dir, 'open', 'cgi-bin'), nobody), undefined);
    assert.equal(blockedFolder(join(dir, 'closed', 'site', 'cgi-bin'), nobody),
      `${join(dir, 'closed')} (mode 700, owner uid ${process.getuid!()}): chmod o+x ${join(dir, 'closed')}, or choose another --cgi-user`);
    // The owner itself passes on its user bits.
    assert.equal(blockedFolder(join(dir, 'closed', 'site'), { name: 'me', uid: process.getuid!(), gid: -1 }), undefined);
  });

  it('warns, once per folder in the way, when scripts run as another user that cannot reach them', (t) => {
    if (process.getuid!() !== 0) return t.skip('only root runs scripts as another user');
    const { warnings } = describeSite({ dir: join(dir, 'closed', 'site'), cgiDirs: ['/cgi-bin'], cgiExtensions: { '.cgi': null } });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^scripts run as nobody and cannot reach .*closed\/site\/cgi-bin or .*closed\/site: nobody may not enter .*closed \(mode 700/);
  });
});
