import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { comparableSegments, pathReadings, prefixSegments, underPrefix } from '../../../src/apps/auth/protected-path.js';
import type { Environ } from '../../../src/types.js';

function readingsOf(requestUri: string, pathInfo: string, scriptName = ''): string[][] {
  return pathReadings({ REQUEST_URI: requestUri, PATH_INFO: pathInfo, SCRIPT_NAME: scriptName } as Environ);
}

describe('protected prefix', () => {
  const git = prefixSegments('/git');
  // Every spelling a router or file system below could read as /git/... must land under /git.
  const spellings = [
    '/git/repo.git/info/refs', '/git', '/git/', '//git/x', '/./git/x', '/x/../git/y', '/%67it/x', '/%2567it/x', '/g%69t',
    '/GIT/x', '/Git/x', '/git;jsessionid=1/x', '/git./x', '/git%20/x', '/git%2fx', '/git%5cx', '/x%2f..%2fgit/y', '\\git\\x',
  ];
  for (const spelling of spellings) {
    it(`holds for ${spelling}`, () => {
      assert.equal(underPrefix(readingsOf(spelling, spelling), git), true);
    });
  }

  it('holds when the decoded PATH_INFO alone reaches the area (a front end without REQUEST_URI)', () => {
    assert.equal(underPrefix(pathReadings({ PATH_INFO: '/git/x', SCRIPT_NAME: '' } as Environ), git), true);
  });

  it('holds for a path below a script: PATH_INFO after a protected script stays protected', () => {
    const script = prefixSegments('/cgi-bin/admin.cgi');
    assert.equal(underPrefix(readingsOf('/cgi-bin/admin.cgi/extra', '/cgi-bin/admin.cgi/extra'), script), true);
    assert.equal(underPrefix(readingsOf('/cgi-bin/ADMIN.CGI/extra', '/cgi-bin/ADMIN.CGI/extra'), script), true);
  });

  it('leaves neighbours alone: /gitweb and /other are not under /git', () => {
    for (const path of ['/gitweb/x', '/other/git', '/', '/gi']) assert.equal(underPrefix(readingsOf(path, path), git), false, path);
  });

  it('judges the raw target below the app\'s own mount', () => {
    assert.equal(underPrefix(readingsOf('/site/git/x', '/git/x', '/site'), git), true);
    assert.equal(underPrefix(readingsOf('/site/other', '/other', '/site'), git), false);
  });

  it('protects everything with the empty prefix', () => {
    assert.equal(underPrefix(readingsOf('/', '/'), prefixSegments('')), true);
  });

  it('refuses a prefix that is not a path', () => {
    assert.throws(() => prefixSegments('git'), /must be "" or start with \//);
  });

  it('cuts params, trailing dots and case, but keeps ".." meaning parent', () => {
    assert.deepEqual(comparableSegments('/A;b/c../%2e%2e/D'), ['a', 'd']);
  });
});
