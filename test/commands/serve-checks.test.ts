/** serveFolder and checkCgiFlags: the `tsgi serve` options that must not pass in silence. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UsageError } from '../../src/commands/args.js';
import { checkCgiFlags, serveFolder } from '../../src/commands/serve-checks.js';

let site: string;
before(() => {
  site = mkdtempSync(join(tmpdir(), 'tsgi-serve-checks-'));
  mkdirSync(join(site, 'htbin'));
});
after(() => rmSync(site, { recursive: true, force: true }));

describe('serveFolder', () => {
  it('returns the folder, and takes a bare number that is no folder for a port', () => {
    assert.equal(serveFolder(site), site);
    assert.throws(() => serveFolder('8080'), (error: unknown) => error instanceof UsageError && /did you mean --port 8080\?/.test(error.message));
    assert.throws(() => serveFolder(join(site, 'nothing')), (error: unknown) => error instanceof UsageError && /nothing is not a folder$/.test(error.message));
  });
});

describe('checkCgiFlags', () => {
  it('refuses every CGI option given without --cgi', () => {
    assert.throws(() => checkCgiFlags({ 'cgi-timeout': '5' }, site, undefined), /^Error: --cgi-timeout needs --cgi$|--cgi-timeout needs --cgi/);
    assert.throws(() => checkCgiFlags({ 'cgi-user': 'nobody', 'cgi-spawner': 'direct' }, site, undefined), /--cgi-user, --cgi-spawner need --cgi/);
    assert.deepEqual(checkCgiFlags({}, site, undefined), []);
  });

  it('refuses a --cgi-dir that is not a folder, and warns when no default folder exists', () => {
    assert.deepEqual(checkCgiFlags({ cgi: true }, site, ['/cgi-bin', '/htbin']), []);
    assert.throws(() => checkCgiFlags({ cgi: true, 'cgi-dir': '/scripts' }, site, ['/scripts']), /--cgi-dir: \/scripts \(.*\) is not a folder/);
    const [warning, ...more] = checkCgiFlags({ cgi: true }, site, ['/cgi-bin']);
    assert.match(warning!, /no CGI folder to run scripts from .*cgi-bin do not exist\); serving files only/);
    assert.deepEqual(more, []);
  });

  it('refuses a --cgi-user scripts cannot run as, in the words of the flag', () => {
    assert.throws(() => checkCgiFlags({ cgi: true, 'cgi-user': 'nosuchuser' }, site, ['/htbin']), (error: unknown) => error instanceof UsageError && error.message === '--cgi-user nosuchuser: no such user in /etc/passwd');
  });
});
