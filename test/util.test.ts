import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Environ } from '../src/types.js';
import { applicationUri, FileWrapper, guessScheme, isHopByHop, readBody, requestUri, setupTestingDefaults, shiftPathInfo } from '../src/util.js';

function env(partial: Partial<Environ>): Environ {
  return setupTestingDefaults(partial);
}

describe('shiftPathInfo', () => {
  // [SCRIPT_NAME, PATH_INFO] before → [returned, SCRIPT_NAME, PATH_INFO] after
  const cases: [string, string, string | undefined, string, string][] = [
    ['', '/a/b', 'a', '/a', '/b'],
    ['/s', '/a/b/', 'a', '/s/a', '/b/'],
    ['/s', '/a/', 'a', '/s/a', '/'],
    ['/s', '//a', 'a', '/s/a', ''],
    ['/s', '/./a', 'a', '/s/a', ''],
    ['/s', '/a//b', 'a', '/s/a', '/b'],
    ['/s', '/.', undefined, '/s', ''],
    ['/s', '/', '', '/s/', ''],
    ['/s', '', undefined, '/s', ''],
  ];
  for (const [script, path, name, scriptAfter, pathAfter] of cases) {
    it(`${JSON.stringify(script)} + ${JSON.stringify(path)}`, () => {
      const environ = env({ SCRIPT_NAME: script, PATH_INFO: path });
      assert.equal(shiftPathInfo(environ), name);
      assert.equal(environ.SCRIPT_NAME, scriptAfter);
      assert.equal(environ.PATH_INFO, pathAfter);
    });
  }
});

describe('URL helpers', () => {
  it('applicationUri prefers HTTP_HOST and quotes SCRIPT_NAME', () => {
    assert.equal(applicationUri(env({ HTTP_HOST: 'example.test:8080', SCRIPT_NAME: '/my app', PATH_INFO: '' })), 'http://example.test:8080/my%20app');
  });

  it('applicationUri adds only non-default ports to SERVER_NAME', () => {
    const withoutHost = (partial: Partial<Environ>) => {
      const environ = env({ SCRIPT_NAME: '', PATH_INFO: '', SERVER_NAME: 'h', ...partial });
      delete environ.HTTP_HOST;
      return environ;
    };
    assert.equal(applicationUri(withoutHost({ SERVER_PORT: '80' })), 'http://h/');
    assert.equal(applicationUri(withoutHost({ SERVER_PORT: '81' })), 'http://h:81/');
    assert.equal(applicationUri(withoutHost({ HTTPS: 'on', SERVER_PORT: '443' })), 'https://h/');
    assert.equal(applicationUri(withoutHost({ HTTPS: 'on', SERVER_PORT: '80' })), 'https://h:80/');
  });

  it('requestUri rebuilds path and query', () => {
    const environ = env({ HTTP_HOST: 'h', SCRIPT_NAME: '/app', PATH_INFO: '/café;x=1', QUERY_STRING: 'a=1&b=%20' });
    assert.equal(requestUri(environ), 'http://h/app/caf%C3%A9;x=1?a=1&b=%20');
    assert.equal(requestUri(environ, false), 'http://h/app/caf%C3%A9;x=1');
    assert.equal(requestUri(env({ HTTP_HOST: 'h', SCRIPT_NAME: '', PATH_INFO: '' })), 'http://h/');
  });

  it('requestUri keeps the absence of a trailing slash after SCRIPT_NAME, as wsgiref does', () => {
    assert.equal(requestUri(env({ HTTP_HOST: 'h', SCRIPT_NAME: '/app', PATH_INFO: '' })), 'http://h/app');
    assert.equal(requestUri(env({ HTTP_HOST: 'h', SCRIPT_NAME: '/app', PATH_INFO: '/' })), 'http://h/app/');
  });

  it('guessScheme reads HTTPS', () => {
    for (const value of ['on', 'ON', 'yes', '1']) assert.equal(guessScheme({ HTTPS: value }), 'https');
    for (const value of ['off', '', undefined]) assert.equal(guessScheme({ HTTPS: value }), 'http');
  });

  it('isHopByHop knows the connection headers', () => {
    for (const name of ['Connection', 'keep-alive', 'TE', 'Transfer-Encoding', 'Upgrade', 'Proxy-Authorization']) assert.ok(isHopByHop(name), name);
    for (const name of ['Content-Type', 'Set-Cookie', 'Location']) assert.ok(!isHopByHop(name), name);
  });
});

describe('setupTestingDefaults', () => {
  it('fills every required key and keeps what is given', () => {
    const environ = setupTestingDefaults({ REQUEST_METHOD: 'POST' });
    assert.equal(environ.REQUEST_METHOD, 'POST');
    assert.equal(environ.PATH_INFO, '/');
    assert.equal(environ.SERVER_PORT, '80');
    assert.deepEqual(environ['tsgi.version'], [1, 0]);
    assert.equal(environ['tsgi.url_scheme'], 'http');
    assert.equal(typeof environ['tsgi.errors'].write, 'function');
  });
});

describe('readBody and FileWrapper', () => {
  it('reads the input and refuses more than the limit', async () => {
    const input = (chunks: string[]) => ({ async *[Symbol.asyncIterator]() { for (const c of chunks) yield Buffer.from(c); } });
    assert.equal((await readBody(env({ 'tsgi.input': input(['ab', 'cd']) }))).toString(), 'abcd');
    await assert.rejects(readBody(env({ 'tsgi.input': input(['ab', 'cd']) }), 3), /larger than 3 bytes/);
  });

  it('FileWrapper streams a file in blocks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-fw-'));
    try {
      const path = join(dir, 'f');
      writeFileSync(path, 'x'.repeat(10_000));
      const sizes: number[] = [];
      for await (const block of new FileWrapper(path, 4096)) sizes.push(block.length);
      assert.deepEqual(sizes, [4096, 4096, 1808]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
