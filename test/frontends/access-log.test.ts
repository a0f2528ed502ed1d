import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { combinedLogLine, commonLogLine, jsonLogLine, openAccessLog, type LoggedRequest } from '../../src/frontends/access-log.js';
import { fromRoot } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait-for.js';

const dir = mkdtempSync(join(tmpdir(), 'tsgi-access-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// 2026-11-21 20:10:05 UTC
const NOW = Date.UTC(2026, 10, 21, 20, 10, 5, 250);
const request: LoggedRequest = {
  REQUEST_METHOD: 'GET', REQUEST_URI: '/a%20b?q=1', PATH_INFO: '/a b', SERVER_PROTOCOL: 'HTTP/1.1', REMOTE_ADDR: '10.0.0.7',
  HTTP_REFERER: 'https://example.org/from', HTTP_USER_AGENT: 'curl/8.5.0',
};
/** What llhttp leaves of a request it could not parse: no request line. */
const unparsed: LoggedRequest = { REQUEST_METHOD: '', PATH_INFO: '', SERVER_PROTOCOL: '', REMOTE_ADDR: '10.0.0.7' };

describe('access log line formats', () => {
  it('common: host ident user [time] "request" status bytes', () => {
    assert.equal(commonLogLine(request, 200, 1234, NOW), '10.0.0.7 - - [21/Nov/2026:20:10:05 +0000] "GET /a%20b?q=1 HTTP/1.1" 200 1234');
    assert.equal(commonLogLine({ ...request, REMOTE_USER: 'ann' }, 304, 0, NOW), '10.0.0.7 - ann [21/Nov/2026:20:10:05 +0000] "GET /a%20b?q=1 HTTP/1.1" 304 -');
    assert.equal(commonLogLine(unparsed, 408, 16, NOW), '10.0.0.7 - - [21/Nov/2026:20:10:05 +0000] "-" 408 16');
  });

  it('common: quotes and control characters from the client cannot break the line', () => {
    const line = commonLogLine({ ...request, REQUEST_URI: '/"x"\n\\' }, 400, 1, NOW);
    assert.equal(line, '10.0.0.7 - - [21/Nov/2026:20:10:05 +0000] "GET /\\x22x\\x22\\x0a\\x5c HTTP/1.1" 400 1');
  });

  it('cuts a very long request target, saying how long it was, in every format', () => {
    const long = { ...request, REQUEST_URI: '/' + 'a'.repeat(9000) };
    const line = commonLogLine(long, 414, 20, NOW);
    assert.ok(line.length < 2300, `${line.length} characters`);
    assert.match(line, /"GET \/a{2047}\.\.\.\(9001 characters\) HTTP\/1\.1" 414 20$/);
    assert.match((JSON.parse(jsonLogLine(long, 414, 20, NOW)) as { uri: string }).uri, /^\/a{2047}\.\.\.\(9001 characters\)$/);
    assert.equal(commonLogLine({ ...request, REQUEST_URI: '/' + 'b'.repeat(2047) }, 200, 1, NOW).includes('characters)'), false);
  });

  it('combined: the common line, then the quoted Referer and User-Agent ("-" when absent)', () => {
    assert.equal(combinedLogLine(request, 200, 5, NOW),
      '10.0.0.7 - - [21/Nov/2026:20:10:05 +0000] "GET /a%20b?q=1 HTTP/1.1" 200 5 "https://example.org/from" "curl/8.5.0"');
    assert.equal(combinedLogLine({ ...request, HTTP_REFERER: undefined, HTTP_USER_AGENT: 'a "quoted" agent' }, 200, 5, NOW),
      '10.0.0.7 - - [21/Nov/2026:20:10:05 +0000] "GET /a%20b?q=1 HTTP/1.1" 200 5 "-" "a \\x22quoted\\x22 agent"');
  });

  it('json: one object per line, with null for what the request did not have', () => {
    const line = jsonLogLine(request, 200, 5, NOW);
    assert.ok(!line.includes('\n'));
    assert.deepEqual(JSON.parse(line), {
      time: '2026-11-21T20:10:05Z', remote_addr: '10.0.0.7', remote_user: null, request: 'GET /a%20b?q=1 HTTP/1.1',
      method: 'GET', uri: '/a%20b?q=1', protocol: 'HTTP/1.1', status: 200, bytes: 5,
      referer: 'https://example.org/from', user_agent: 'curl/8.5.0',
    });
    assert.deepEqual(JSON.parse(jsonLogLine(unparsed, 400, 12, NOW)), {
      time: '2026-11-21T20:10:05Z', remote_addr: '10.0.0.7', remote_user: null, request: null,
      method: null, uri: null, protocol: null, status: 400, bytes: 12, referer: null, user_agent: null,
    });
  });
});

describe('openAccessLog', () => {
  it('writes to its file in batches: nothing per request, everything on flush and on close, appended', () => {
    const file = join(dir, 'batched.log');
    writeFileSync(file, 'earlier line\n');
    const log = openAccessLog({ file });
    log.log(request, 200, 1);
    log.log(request, 404, 2);
    assert.equal(readFileSync(file, 'utf8'), 'earlier line\n');
    log.flush();
    const flushed = readFileSync(file, 'utf8').split('\n');
    assert.equal(flushed.length, 4);
    assert.match(flushed[1]!, /" 200 1$/);
    assert.match(flushed[2]!, /" 404 2$/);
    log.log(request, 500, 3);
    log.close();
    assert.match(readFileSync(file, 'utf8').split('\n')[3]!, /" 500 3$/);
  });

  it('flushes on its own within a second or so', async () => {
    const file = join(dir, 'timer.log');
    const log = openAccessLog({ file, format: 'json' });
    try {
      log.log(request, 200, 1);
      await waitFor(() => readFileSync(file, 'utf8').endsWith('}\n'), 'the timed flush', 3000);
      assert.equal(JSON.parse(readFileSync(file, 'utf8')).status, 200);
    } finally {
      log.close();
    }
  });

  it('writes a line logged after close() at once rather than dropping it', () => {
    const file = join(dir, 'late.log');
    const log = openAccessLog({ file });
    log.close();
    log.log(request, 200, 9);
    assert.match(readFileSync(file, 'utf8'), /" 200 9\n$/);
  });

  it('hands each line to a write function, in the chosen format', () => {
    const lines: string[] = [];
    const log = openAccessLog({ write: (line) => lines.push(line), format: 'combined' });
    log.log(request, 200, 1);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /" 200 1 "https:\/\/example\.org\/from" "curl\/8\.5\.0"$/);
  });

  it('refuses an unknown format and a file it cannot open', () => {
    assert.throws(() => openAccessLog({ format: 'xml' as 'json' }), /access log format must be one of common, combined, json, got "xml"/);
    assert.throws(() => openAccessLog({ file: join(dir, 'no', 'such', 'dir', 'x.log') }), /ENOENT/);
  });

  for (const ending of ['process.exit(3)', 'throw new Error("boom")']) {
    it(`loses no line when the process ends with ${ending}`, () => {
      const file = join(dir, `exit-${ending.length}.log`);
      const script = `
        import { openAccessLog } from ${JSON.stringify(fromRoot('dist/src/frontends/access-log.js'))};
        const log = openAccessLog({ file: ${JSON.stringify(file)} });
        const stderrLog = openAccessLog();
        for (let i = 0; i < 1000; i++) log.log({ REQUEST_METHOD: 'GET', REQUEST_URI: '/' + i, PATH_INFO: '', SERVER_PROTOCOL: 'HTTP/1.1', REMOTE_ADDR: '::1' }, 200, i);
        stderrLog.log({ REQUEST_METHOD: 'GET', REQUEST_URI: '/on-stderr', PATH_INFO: '', SERVER_PROTOCOL: 'HTTP/1.1', REMOTE_ADDR: '::1' }, 200, 1);
        setImmediate(() => { ${ending}; });
      `;
      const env = { ...process.env };
      delete env.NODE_EXTRA_CA_CERTS;
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env });
      assert.notEqual(result.status, 0);
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      assert.equal(lines.length, 1000);
      assert.match(lines[999]!, /"GET \/999 HTTP\/1\.1" 200 999$/);
      assert.match(result.stderr, /"GET \/on-stderr HTTP\/1\.1" 200 1\n/);
    });
  }
});
