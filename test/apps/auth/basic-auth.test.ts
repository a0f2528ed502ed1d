import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { basicAuth, basicCredentials } from '../../../src/apps/auth/basic-auth.js';
import type { PasswordCheck } from '../../../src/apps/auth/basic-auth.js';
import type { Application } from '../../../src/types.js';
import { call, header } from '../../helpers/cgihost-fixtures.js';

const users: PasswordCheck = { verify: async (user, password) => user === 'ann' && password === 'pass:word é' };
const seen: Application = (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [`${environ.AUTH_TYPE ?? '-'} ${environ.REMOTE_USER ?? '-'}`];
};
const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`, 'utf8').toString('base64');

describe('basicAuth', () => {
  const app = basicAuth(seen, [{ realm: 'Git "repos"', users, prefix: '/git' }]);

  it('answers 401 with a challenge and does not call the app without credentials', async () => {
    let called = false;
    const guarded = basicAuth(() => { called = true; return []; }, { realm: 'R', users });
    const result = await call(guarded, { PATH_INFO: '/x', REQUEST_URI: '/x' });
    assert.equal(result.status, 401);
    assert.equal(header(result, 'www-authenticate'), 'Basic realm="R", charset="UTF-8"');
    assert.equal(called, false);
  });

  it('quotes the realm', async () => {
    const result = await call(app, { PATH_INFO: '/git/x', REQUEST_URI: '/git/x' });
    assert.equal(header(result, 'www-authenticate'), 'Basic realm="Git \\"repos\\"", charset="UTF-8"');
  });

  it('sets AUTH_TYPE and REMOTE_USER only after the password is accepted (UTF-8, a colon in the password)', async () => {
    const result = await call(app, { PATH_INFO: '/git/x', REQUEST_URI: '/git/x', HTTP_AUTHORIZATION: basic('ann', 'pass:word é') });
    assert.equal(result.status, 200);
    assert.equal(result.body.toString(), 'Basic ann');
  });

  it('refuses a wrong password and logs the user name, not the password', async () => {
    const result = await call(app, { REQUEST_METHOD: 'GET', PATH_INFO: '/git/x', REQUEST_URI: '/git/x', HTTP_AUTHORIZATION: basic('ann', 'guess') });
    assert.equal(result.status, 401);
    assert.match(result.log.join('\n'), /user "ann" not accepted in realm/);
    assert.doesNotMatch(result.log.join('\n'), /guess/);
  });

  it('refuses another scheme, a header without a colon, and broken base64', async () => {
    for (const authorization of ['Bearer abc', 'Basic ' + Buffer.from('ann').toString('base64'), 'Basic !!!', 'Basic ' + Buffer.from(':pass:word é').toString('base64')]) {
      const result = await call(app, { PATH_INFO: '/git/x', REQUEST_URI: '/git/x', HTTP_AUTHORIZATION: authorization });
      assert.equal(result.status, 401, authorization);
    }
  });

  it('leaves paths outside the area alone, and gives them no user even with a valid header', async () => {
    const result = await call(app, { PATH_INFO: '/public', REQUEST_URI: '/public', HTTP_AUTHORIZATION: basic('ann', 'pass:word é') });
    assert.equal(result.status, 200);
    assert.equal(result.body.toString(), '- -');
  });

  it('asks for the password on an encoded or case-changed spelling of the area', async () => {
    for (const uri of ['/%67it/x', '/GIT/x', '//git/x', '/git;x/y']) {
      const result = await call(app, { PATH_INFO: decodeURIComponent(uri), REQUEST_URI: uri });
      assert.equal(result.status, 401, uri);
    }
  });

  it('lets the longest prefix decide between areas', async () => {
    const admins: PasswordCheck = { verify: async (user) => user === 'root' };
    const nested = basicAuth(seen, [{ realm: 'all', users, prefix: '' }, { realm: 'admin', users: admins, prefix: '/admin' }]);
    const inner = await call(nested, { PATH_INFO: '/admin/x', REQUEST_URI: '/admin/x', HTTP_AUTHORIZATION: basic('ann', 'pass:word é') });
    assert.equal(inner.status, 401);
    assert.match(header(inner, 'www-authenticate')!, /realm="admin"/);
    const outer = await call(nested, { PATH_INFO: '/x', REQUEST_URI: '/x', HTTP_AUTHORIZATION: basic('ann', 'pass:word é') });
    assert.equal(outer.status, 200);
  });

  it('refuses a realm with control characters', () => {
    assert.throws(() => basicAuth(seen, { realm: 'a\r\nb', users }), /control characters/);
  });

  it('reads credentials as RFC 7617 says: scheme in any case, user up to the first colon', () => {
    assert.deepEqual(basicCredentials('basic ' + Buffer.from('a:b:c').toString('base64')), { user: 'a', password: 'b:c' });
    assert.equal(basicCredentials(undefined), undefined);
  });
});
