import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mount } from '../../src/apps/mount.js';
import type { Application } from '../../src/types.js';
import { call } from '../helpers/cgihost-fixtures.js';

// Answers with the SCRIPT_NAME and PATH_INFO it was given.
const echo = (name: string): Application => (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [`${name} ${JSON.stringify(environ.SCRIPT_NAME)} ${JSON.stringify(environ.PATH_INFO)}`];
};

const app = mount({ '/cgi-bin': echo('cgi'), '/a/b': echo('ab'), '': echo('root') });

describe('mount', () => {
  const cases: [string, string][] = [
    ['/cgi-bin/x.sh', 'cgi "/cgi-bin" "/x.sh"'],
    ['/cgi-bin', 'cgi "/cgi-bin" ""'],
    ['/cgi-bin/', 'cgi "/cgi-bin" "/"'],
    ['//cgi-bin/x.sh', 'cgi "/cgi-bin" "/x.sh"'],
    ['/./cgi-bin/a/', 'cgi "/cgi-bin" "/a/"'],
    ['/cgi-binx/y', 'root "" "/cgi-binx/y"'],
    ['/a/b/c', 'ab "/a/b" "/c"'],
    ['/a/c', 'root "" "/a/c"'],
    ['/', 'root "" "/"'],
  ];
  for (const [path, expected] of cases) {
    it(`sends ${path} to ${expected}`, async () => {
      const result = await call(app, { SCRIPT_NAME: '', PATH_INFO: path });
      assert.equal(result.body.toString(), expected);
    });
  }

  it('keeps the mount point of an app that is itself mounted', async () => {
    const result = await call(app, { SCRIPT_NAME: '/site', PATH_INFO: '/cgi-bin/x' });
    assert.equal(result.body.toString(), 'cgi "/site/cgi-bin" "/x"');
  });

  it('refuses a path with ".." rather than guess which mount it belongs to', async () => {
    const result = await call(app, { SCRIPT_NAME: '', PATH_INFO: '/static/../cgi-bin/x.sh' });
    assert.equal(result.status, 400);
  });

  it('answers 404 when nothing matches and there is no root app', async () => {
    const result = await call(mount({ '/only': echo('only') }), { SCRIPT_NAME: '', PATH_INFO: '/other' });
    assert.equal(result.status, 404);
  });

  it('refuses bad prefixes when built', () => {
    assert.throws(() => mount({ 'no-slash': echo('x') }), /must be "" or start with \//);
    assert.throws(() => mount({ '/a/../b': echo('x') }), /must not contain/);
  });
});
