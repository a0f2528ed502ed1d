import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { environFromParams } from '../../src/frontends/gateway-environ.js';

const input = { async *[Symbol.asyncIterator]() {} };
const errors = { write() {} };

describe('environFromParams', () => {
  it('drops HTTP_PROXY and moves HTTP_CONTENT_* into CONTENT_*', () => {
    const environ = environFromParams({ HTTP_PROXY: 'http://evil', HTTP_CONTENT_LENGTH: '5', HTTP_CONTENT_TYPE: 'text/plain', CONTENT_TYPE: 'application/json' }, input, errors);
    assert.equal(environ.HTTP_PROXY, undefined);
    assert.equal(environ.HTTP_CONTENT_LENGTH, undefined);
    assert.equal(environ.HTTP_CONTENT_TYPE, undefined);
    assert.equal(environ.CONTENT_LENGTH, '5');
    assert.equal(environ.CONTENT_TYPE, 'application/json'); // the CGI variable wins
  });

  it('fills an empty SERVER_NAME from the Host header, and the other required keys', () => {
    const environ = environFromParams({ SERVER_NAME: '', HTTP_HOST: 'example.test:8080', SCRIPT_NAME: '/', HTTPS: 'on' }, input, errors);
    assert.equal(environ.SERVER_NAME, 'example.test');
    assert.equal(environ.SERVER_PORT, '443');
    assert.equal(environ.SCRIPT_NAME, '');
    assert.equal(environ.PATH_INFO, '/');
    assert.equal(environ.REQUEST_METHOD, 'GET');
    assert.equal(environ['tsgi.url_scheme'], 'https');
  });

  it('decodes paths as UTF-8 and remounts the whole path under scriptName', () => {
    const environ = environFromParams({ SCRIPT_NAME: '/app/caf\xc3\xa9/x', PATH_INFO: '' }, input, errors, { scriptName: '/app/' });
    assert.equal(environ.SCRIPT_NAME, '/app');
    assert.equal(environ.PATH_INFO, '/café/x');
    const outside = environFromParams({ SCRIPT_NAME: '/application' }, input, errors, { scriptName: '/app' });
    assert.equal(outside.SCRIPT_NAME, '');
    assert.equal(outside.PATH_INFO, '/application');
  });

  it('keeps the root "/" in PATH_INFO when the web server sends SCRIPT_NAME "/" (nginx stock params, Go-style roots)', () => {
    const root = (params: Record<string, string>, scriptName?: string) => {
      const environ = environFromParams(params, input, errors, scriptName === undefined ? {} : { scriptName });
      return [environ.SCRIPT_NAME, environ.PATH_INFO];
    };
    assert.deepEqual(root({ SCRIPT_NAME: '/' }), ['', '/']);
    assert.deepEqual(root({ SCRIPT_NAME: '/' }, ''), ['', '/']);
    assert.deepEqual(root({ SCRIPT_NAME: '/', PATH_INFO: 'x' }), ['', '/x']);
    assert.deepEqual(root({ SCRIPT_NAME: '/', PATH_INFO: '/x' }), ['', '/x']);
  });

  it("takes the path from DOCUMENT_URI when the web server sends neither SCRIPT_NAME nor PATH_INFO (nginx's stock scgi_params)", () => {
    const environ = environFromParams({ DOCUMENT_URI: '/app/caf\xc3\xa9', REQUEST_URI: '/app/caf%C3%A9?x=1' }, input, errors);
    assert.equal(environ.SCRIPT_NAME, '');
    assert.equal(environ.PATH_INFO, '/app/café');
    const mounted = environFromParams({ DOCUMENT_URI: '/app/x' }, input, errors, { scriptName: '/app' });
    assert.deepEqual([mounted.SCRIPT_NAME, mounted.PATH_INFO], ['/app', '/x']);
    const named = environFromParams({ DOCUMENT_URI: '/ignored', PATH_INFO: '/given' }, input, errors);
    assert.equal(named.PATH_INFO, '/given');
  });
});
