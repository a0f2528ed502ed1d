import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { cgiEnviron } from '../../src/frontends/cgi.js';
import { fixtures, header, parseCgiOutput, runScript } from '../helpers/cgi-scripts.js';

const modes = join(fixtures, 'modes.js');
const request = (query: string, extra: Record<string, string> = {}) => ({ REQUEST_METHOD: 'GET', QUERY_STRING: query, ...extra });

describe('cgiEnviron', () => {
  it('copies the CGI variables and adds the tsgi keys for a one-shot process', () => {
    const environ = cgiEnviron({ REQUEST_METHOD: 'POST', SCRIPT_NAME: '/cgi-bin/x', HTTPS: 'on', HTTP_X_A: 'b' });
    assert.equal(environ.REQUEST_METHOD, 'POST');
    assert.equal(environ.HTTP_X_A, 'b');
    assert.equal(environ['tsgi.url_scheme'], 'https');
    assert.equal(environ['tsgi.run_once'], true);
    assert.equal(environ['tsgi.multiprocess'], true);
    assert.equal(environ['tsgi.multithread'], false);
    assert.deepEqual(environ['tsgi.version'], [1, 0]);
    assert.equal(environ.PATH_INFO, '');
    assert.equal(environ.QUERY_STRING, '');
  });

  it('fills required variables a shell run lacks, and maps SCRIPT_NAME "/" to "" with PATH_INFO "/"', () => {
    const environ = cgiEnviron({ SCRIPT_NAME: '/' });
    assert.equal(environ.SCRIPT_NAME, '');
    assert.equal(environ.PATH_INFO, '/');
    assert.equal(cgiEnviron({ SCRIPT_NAME: '/', PATH_INFO: '/x' }).PATH_INFO, '/x');
    assert.equal(environ.REQUEST_METHOD, 'GET');
    assert.equal(environ.SERVER_PROTOCOL, 'HTTP/1.0');
    assert.equal(environ['tsgi.url_scheme'], 'http');
  });

  it('drops empty CONTENT_LENGTH / CONTENT_TYPE (nginx) and HTTP_CONTENT_* copies (lighttpd)', () => {
    const environ = cgiEnviron({ CONTENT_LENGTH: '', CONTENT_TYPE: '', HTTP_CONTENT_LENGTH: '5', HTTP_CONTENT_TYPE: 'text/plain', HTTP_ACCEPT: '*/*' });
    assert.equal('CONTENT_LENGTH' in environ, false);
    assert.equal('CONTENT_TYPE' in environ, false);
    assert.equal('HTTP_CONTENT_LENGTH' in environ, false);
    assert.equal('HTTP_CONTENT_TYPE' in environ, false);
    assert.equal(environ.HTTP_ACCEPT, '*/*');
  });

  it('rejects a CONTENT_LENGTH that is not a number when the body is read', async () => {
    const environ = cgiEnviron({ CONTENT_LENGTH: '12x' });
    await assert.rejects(async () => {
      for await (const chunk of environ['tsgi.input']) void chunk;
    }, /CONTENT_LENGTH "12x" is not a number/);
  });
});

describe('runCgi', () => {
  it('writes a Status line, the headers, a Content-Length for a known body, and exits 0', async () => {
    const result = await runScript(modes, request('hello'));
    assert.equal(result.code, 0);
    assert.equal(result.stdout.toString(), 'Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n');
  });

  it('streams a generator body with its status and repeated headers', async () => {
    const result = await runScript(modes, request('generator'));
    assert.equal(result.code, 0);
    assert.equal(result.stdout.toString(), 'Status: 201 Created\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\none two\n');
  });

  it('sends what the application gives the legacy write() callable', async () => {
    const result = await runScript(modes, request('write'));
    assert.equal(result.code, 0);
    assert.equal(result.stdout.toString(), 'Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nwritten twice\n');
  });

  it('flushes a 24 MB body to a pipe completely before exiting', async () => {
    const result = await runScript(modes, request('big'));
    assert.equal(result.code, 0);
    const response = parseCgiOutput(result.stdout);
    assert.equal(response.body.length, 384 * 65536);
    assert.ok(response.body.every((byte) => byte === 0x61));
  });

  it('reads exactly CONTENT_LENGTH bytes of the body from fd 0', async () => {
    const body = Buffer.alloc(300_000, 7);
    const result = await runScript(modes, request('echo', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '200000' }), body);
    const expected = createHash('sha256').update(body.subarray(0, 200_000)).digest('hex');
    assert.equal(parseCgiOutput(result.stdout).body.toString(), `200000 ${expected}\n`);
  });

  it('answers 400 and exits 1 when the body ends before CONTENT_LENGTH', async () => {
    const result = await runScript(modes, request('echo', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '10' }), 'abc');
    assert.equal(result.code, 1);
    const response = parseCgiOutput(result.stdout);
    assert.equal(header(response, 'Status'), '400 Bad Request');
    assert.match(response.body.toString(), /ended after 3 of its 10 bytes/);
  });

  it('gives the application a one-shot, multiprocess environ', async () => {
    const result = await runScript(modes, request('keys', { SCRIPT_NAME: '/cgi-bin/modes.js', PATH_INFO: '/a/b', SERVER_NAME: 'example.org' }));
    assert.deepEqual(JSON.parse(parseCgiOutput(result.stdout).body.toString()), {
      'tsgi.run_once': true, 'tsgi.multithread': false, 'tsgi.multiprocess': true, 'tsgi.url_scheme': 'http',
      SCRIPT_NAME: '/cgi-bin/modes.js', PATH_INFO: '/a/b', SERVER_NAME: 'example.org',
    });
  });

  it('keeps a Proxy request header (HTTP_PROXY) out of the environ and of process.env (httpoxy)', async () => {
    const result = await runScript(modes, request('proxy', { GATEWAY_INTERFACE: 'CGI/1.1', HTTP_PROXY: 'http://evil.example:8080' }));
    assert.deepEqual(JSON.parse(parseCgiOutput(result.stdout).body.toString()), { environ: null, processEnv: null });
  });

  it('sends no body for HEAD but keeps the Content-Length', async () => {
    const result = await runScript(modes, request('hello', { REQUEST_METHOD: 'HEAD' }));
    assert.equal(result.stdout.toString(), 'Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\n');
  });

  it('turns an error before the headers into a 500 that leaks nothing, logs it and exits 1', async () => {
    const result = await runScript(modes, request('throws'));
    assert.equal(result.code, 1);
    const response = parseCgiOutput(result.stdout);
    assert.equal(header(response, 'Status'), '500 Internal Server Error');
    assert.doesNotMatch(response.body.toString(), /secret/);
    assert.match(result.stderr, /secret detail/);
  });

  it('refuses a header with CR/LF before sending any byte of it', async () => {
    const result = await runScript(modes, request('bad-header'));
    assert.equal(result.code, 1);
    const output = result.stdout.toString();
    assert.doesNotMatch(output, /Injected/);
    assert.equal(header(parseCgiOutput(result.stdout), 'Status'), '500 Internal Server Error');
  });

  it('cuts the response short and exits 1 on an error after the headers', async () => {
    const result = await runScript(modes, request('throws-later'));
    assert.equal(result.code, 1);
    const response = parseCgiOutput(result.stdout);
    assert.equal(header(response, 'Status'), '200 OK');
    assert.equal(response.body.toString(), 'partial');
    assert.match(result.stderr, /late/);
  });

  it('stops and exits when the server stops reading (EPIPE on stdout), without an unhandled error', async () => {
    const child = spawn(process.execPath, [modes], { env: { PATH: process.env.PATH ?? '/usr/bin', REQUEST_METHOD: 'GET', QUERY_STRING: 'big' } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', (exitCode) => resolve(exitCode)));
    assert.equal(code, 0);
    assert.doesNotMatch(stderr, /Unhandled|EPIPE|Error/);
  });

  it('ends the process even when the application leaves a timer running', async () => {
    const result = await runScript(modes, request('lingering'));
    assert.equal(result.code, 0);
    assert.equal(parseCgiOutput(result.stdout).body.toString(), 'done\n');
  });
});
