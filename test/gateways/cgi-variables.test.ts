import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addCgiVariables, type VariableSettings } from '../../src/gateways/cgi-variables.js';
import type { Environ } from '../../src/types.js';
import { setupTestingDefaults } from '../../src/util.js';

const settings: VariableSettings = { env: {}, documentRoot: '/srv/site', serverSoftware: 'tsgi', refuseFunctionValues: false, passAuthorization: false };

function request(extra: Record<string, string>): Environ {
  return setupTestingDefaults({ REQUEST_METHOD: 'POST', SCRIPT_NAME: '/app', PATH_INFO: '/x', QUERY_STRING: 'q=1', ...extra } as Partial<Environ>);
}

describe('addCgiVariables', () => {
  it('builds the RFC 3875 variables for a script', () => {
    const variables: Record<string, string> = {};
    addCgiVariables(variables, request({ HTTP_X_A: '1', REMOTE_ADDR: '10.0.0.1' }), { scriptName: '/app/s.php', pathInfo: '/x', filename: '/srv/site/s.php' }, settings, 5);
    assert.equal(variables.SCRIPT_NAME, '/app/s.php');
    assert.equal(variables.SCRIPT_FILENAME, '/srv/site/s.php');
    assert.equal(variables.PATH_TRANSLATED, '/srv/site/x');
    assert.equal(variables.CONTENT_LENGTH, '5');
    assert.equal(variables.REDIRECT_STATUS, '200');
    assert.equal(variables.HTTP_X_A, '1');
    assert.equal(variables.REMOTE_HOST, '10.0.0.1');
  });

  it('names httpoxy and credentials it withholds, and drops the connection\'s own headers without a word', () => {
    const variables: Record<string, string> = {};
    const dropped = addCgiVariables(variables, request({
      HTTP_PROXY: 'http://evil', HTTP_AUTHORIZATION: 'Basic YW5uOng=', HTTP_TRANSFER_ENCODING: 'chunked', HTTP_CONNECTION: 'keep-alive', HTTP_CONTENT_TYPE: 'text/plain',
    }), { scriptName: '/app', pathInfo: '/x', filename: '/bin/true' }, settings, undefined);
    assert.deepEqual(dropped, ['HTTP_PROXY (withheld)', 'HTTP_AUTHORIZATION (withheld)']);
    for (const name of ['HTTP_PROXY', 'HTTP_AUTHORIZATION', 'HTTP_TRANSFER_ENCODING', 'HTTP_CONNECTION', 'HTTP_CONTENT_TYPE']) assert.equal(variables[name], undefined, name);
    // An unchecked Basic header names nobody: anyone could claim to be admin.
    assert.equal(variables.REMOTE_USER, undefined);
    assert.equal(variables.AUTH_TYPE, undefined);
  });

  it('takes AUTH_TYPE and REMOTE_USER from what authenticated the request', () => {
    const variables: Record<string, string> = {};
    addCgiVariables(variables, request({ HTTP_AUTHORIZATION: 'Basic YWRtaW46eA==', AUTH_TYPE: 'Basic', REMOTE_USER: 'ann' }),
      { scriptName: '/app', pathInfo: '', filename: '/bin/true' }, settings, undefined);
    assert.equal(variables.REMOTE_USER, 'ann');
    assert.equal(variables.AUTH_TYPE, 'Basic');
  });
});
