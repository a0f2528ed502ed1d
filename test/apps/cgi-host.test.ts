import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, symlinkSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { cgiHost, cgiScript } from '../../src/apps/cgi-host.js';
import type { Application } from '../../src/types.js';
import { validator } from '../../src/validate.js';
import { call, copyFixtures, eventually, header, parseEnv } from '../helpers/cgihost-fixtures.js';
import type { FixtureSite } from '../helpers/cgihost-fixtures.js';
import { isRunning } from '../helpers/process-group.js';

// Every behaviour holds whichever way scripts are started.
for (const spawner of ['native', 'python', 'direct'] as const) describe(`scripts started by ${{ native: 'the native addon', python: 'the spawner', direct: 'Node directly' }[spawner]}`, () => {
  let site: FixtureSite;
  let host: Application;

  const alive = isRunning;

  before(() => {
    site = copyFixtures();
    host = cgiHost({ spawner, root: site.cgiBin, env: { PIDFILE_DIR: site.scratch }, timeout: 3000 });
  });
  after(() => site.remove());

  const at = (path: string, extra: Record<string, unknown> = {}) => ({ SCRIPT_NAME: '/cgi-bin', PATH_INFO: path, ...extra });

  describe('cgiHost: the request side (RFC 3875 §4)', () => {
    it('gives the script every meta-variable and nothing of the server environment', async () => {
      process.env.TSGI_TEST_SECRET = 'hunter2';
      try {
        const result = await call(host, at('/env.sh/extra/path', {
          QUERY_STRING: 'a=1&b=%20', SERVER_NAME: 'example.test', SERVER_PORT: '8080', SERVER_PROTOCOL: 'HTTP/1.1',
          REMOTE_ADDR: '::1', REMOTE_PORT: '5555', REQUEST_URI: '/cgi-bin/env.sh/extra/path?a=1&b=%20',
          HTTP_X_THING: 'one, two', HTTP_COOKIE: 'a=1; b=2', HTTP_PROXY: 'http://evil', HTTP_AUTHORIZATION: 'Basic ' + Buffer.from('ann:secret').toString('base64'),
          CONTENT_TYPE: 'text/plain',
        }));
        assert.equal(result.status, 200);
        assert.equal(header(result, 'Content-Type'), 'text/plain');
        const env = parseEnv(result.body.toString());
        assert.equal(env.GATEWAY_INTERFACE, 'CGI/1.1');
        assert.equal(env.REQUEST_METHOD, 'GET');
        assert.equal(env.SCRIPT_NAME, '/cgi-bin/env.sh');
        assert.equal(env.PATH_INFO, '/extra/path');
        assert.equal(env.PATH_TRANSLATED, site.cgiBin + '/extra/path');
        assert.equal(env.QUERY_STRING, 'a=1&b=%20');
        assert.equal(env.SERVER_NAME, 'example.test');
        assert.equal(env.SERVER_PORT, '8080');
        assert.equal(env.SERVER_PROTOCOL, 'HTTP/1.1');
        assert.equal(env.SERVER_SOFTWARE, 'tsgi');
        assert.equal(env.REMOTE_ADDR, '::1');
        assert.equal(env.REMOTE_HOST, '::1');
        assert.equal(env.REMOTE_PORT, '5555');
        assert.equal(env.REQUEST_URI, '/cgi-bin/env.sh/extra/path?a=1&b=%20');
        assert.equal(env.SCRIPT_FILENAME, join(site.cgiBin, 'env.sh'));
        assert.equal(env.DOCUMENT_ROOT, site.cgiBin);
        assert.equal(env.REDIRECT_STATUS, '200');
        assert.equal(env.CONTENT_TYPE, 'text/plain');
        assert.equal(env.CONTENT_LENGTH, undefined);
        assert.equal(env.HTTP_X_THING, 'one, two');
        assert.equal(env.HTTP_COOKIE, 'a=1; b=2');
        // The client's Basic header is unchecked: it names no user to the script.
        assert.equal(env.AUTH_TYPE, undefined);
        assert.equal(env.REMOTE_USER, undefined);
        assert.equal(env.HTTP_AUTHORIZATION, undefined);
        assert.equal(env.HTTP_PROXY, undefined);
        assert.equal(env.TSGI_TEST_SECRET, undefined);
        assert.equal(env.PATH, '/usr/local/bin:/usr/bin:/bin');
        assert.equal(env.PIDFILE_DIR, site.scratch);
        assert.equal(env.HTTPS, undefined);
      } finally {
        delete process.env.TSGI_TEST_SECRET;
      }
    });

    it('passes only the listed server variables, sets HTTPS under TLS and drops NUL values', async () => {
      process.env.TSGI_TEST_SHARED = 'visible';
      try {
        const app = cgiHost({ spawner, root: site.cgiBin, passEnv: ['TSGI_TEST_SHARED'], env: { EXTRA: 'x' }, refuseFunctionValues: true });
        const result = await call(app, at('/env.sh', { 'tsgi.url_scheme': 'https', HTTP_X_FN: '() { :; }; echo pwned', HTTP_X_NUL: 'a\0b' }));
        const env = parseEnv(result.body.toString());
        assert.equal(env.TSGI_TEST_SHARED, 'visible');
        assert.equal(env.EXTRA, 'x');
        assert.equal(env.HTTPS, 'on');
        assert.equal(env.HTTP_X_FN, undefined);
        assert.equal(env.HTTP_X_NUL, undefined);
        assert.ok(result.log.some((line) => line.includes('HTTP_X_FN (looks like a shell function)')));
      } finally {
        delete process.env.TSGI_TEST_SHARED;
      }
    });

    it('gives the script the bytes the client sent in a header, not their latin-1 text re-encoded', async () => {
      // The environ holds header bytes as latin-1 text: "\u00c3\u00a9" is the UTF-8 of "é".
      const utf8 = Buffer.from('é ü €', 'utf8').toString('latin1');
      const result = await call(host, at('/env.sh', { HTTP_X_NAME: utf8, HTTP_COOKIE: 'n=' + utf8, QUERY_STRING: 'q=' + utf8 }));
      const env = parseEnv(result.body.toString('utf8'));
      assert.equal(env.HTTP_X_NAME, 'é ü €');
      assert.equal(env.HTTP_COOKIE, 'n=é ü €');
      assert.equal(env.QUERY_STRING, 'q=é ü €');
    });

    it('streams a body with CONTENT_LENGTH to stdin', async () => {
      const body = [Buffer.from('hello '), Buffer.from('world')];
      const result = await call(host, at('/echo.sh', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '11', CONTENT_TYPE: 'text/plain' }), { body });
      assert.equal(result.status, 200);
      assert.equal(header(result, 'X-Length'), '11');
      assert.equal(result.body.toString(), 'hello world');
    });

    it('spools a body without Content-Length (chunked) and announces its length', async () => {
      const big = Buffer.alloc(700 * 1024, 'x'); // past the in-memory part of the spool
      const result = await call(host, at('/echo.sh', { REQUEST_METHOD: 'POST' }), { body: [big.subarray(0, 1000), big.subarray(1000)] });
      assert.equal(header(result, 'X-Length'), String(big.length));
      assert.ok(result.body.equals(big));
    });

    it('spools a small chunked body in memory', async () => {
      const result = await call(host, at('/echo.sh', { REQUEST_METHOD: 'POST' }), { body: [Buffer.from('abc')] });
      assert.equal(header(result, 'X-Length'), '3');
      assert.equal(result.body.toString(), 'abc');
    });

    it('refuses a body over the limit with 413, declared or spooled', async () => {
      const app = cgiHost({ spawner, root: site.cgiBin, bodyLimit: 10 });
      const declared = await call(app, at('/echo.sh', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '11' }), { body: [Buffer.alloc(11)] });
      assert.equal(declared.status, 413);
      const spooled = await call(app, at('/echo.sh', { REQUEST_METHOD: 'POST' }), { body: [Buffer.alloc(6), Buffer.alloc(6)] });
      assert.equal(spooled.status, 413);
      assert.match(spooled.body.toString(), /larger than the limit of 10 bytes/);
    });

    it('gives no query words as arguments unless asked, and never one starting with a dash', async () => {
      const off = await call(host, at('/whoami.sh', { QUERY_STRING: 'one+two' }));
      assert.equal(off.body.toString().split('\n')[2], '|'); // printf's format once, for no arguments
      const app = cgiHost({ spawner, root: site.cgiBin, isindexArgs: true, args: ['fixed'] });
      const on = await call(app, at('/whoami.sh', { QUERY_STRING: 'one+t%20wo' }));
      assert.equal(on.body.toString().split('\n')[2], 'fixed|one|t wo|');
      const dash = await call(app, at('/whoami.sh', { QUERY_STRING: '-s+x' }));
      assert.equal(dash.body.toString().split('\n')[2], 'fixed|');
      const assignment = await call(app, at('/whoami.sh', { QUERY_STRING: 'a=b' }));
      assert.equal(assignment.body.toString().split('\n')[2], 'fixed|');
    });

    it('runs the script in its own folder, as nobody when the server is root', async () => {
      const result = await call(host, at('/whoami.sh'));
      const [uid, cwd] = result.body.toString().split('\n');
      assert.equal(uid, process.getuid!() === 0 ? '65534' : String(process.getuid!()));
      assert.equal(cwd, site.cgiBin);
    });

    it('refuses an unknown user instead of running scripts with the server\'s privileges', () => {
      if (process.getuid!() === 0) {
        assert.throws(() => cgiHost({ spawner, root: site.cgiBin, user: 'no-such-user-here' }), /no such user/);
      } else {
        assert.throws(() => cgiHost({ spawner, root: site.cgiBin, user: 0 }), /only root may switch users/);
      }
    });
  });

  describe('cgiHost: mapping paths to scripts safely', () => {
    const cases: [string, string, string][] = [
      ['/sub/deep.sh', '/cgi-bin/sub/deep.sh', ''],
      ['/sub/deep.sh/', '/cgi-bin/sub/deep.sh', '/'],
      ['/sub/deep.sh/a/', '/cgi-bin/sub/deep.sh', '/a/'],
      ['/sub/deep.sh//a', '/cgi-bin/sub/deep.sh', '/a'],
      ['/sub/./deep.sh/./a', '/cgi-bin/sub/deep.sh', '/a'],
      ['/sub/deep.sh/.', '/cgi-bin/sub/deep.sh', ''],
      ['/sub/deep.sh/a%2Fb', '/cgi-bin/sub/deep.sh', '/a%2Fb'],
    ];
    for (const [path, scriptName, pathInfo] of cases) {
      it(`splits ${path} into SCRIPT_NAME ${scriptName} and PATH_INFO ${JSON.stringify(pathInfo)}`, async () => {
        const result = await call(host, at(path));
        assert.equal(result.status, 200);
        assert.equal(result.body.toString(), `SCRIPT_NAME=${scriptName}\nPATH_INFO=${pathInfo}\n`);
      });
    }

    it('answers 404 for a missing script and 403 for a folder, a plain file, a non-executable', async () => {
      assert.equal((await call(host, at('/missing.sh'))).status, 404);
      assert.equal((await call(host, at('/sub'))).status, 403);
      const plain = await call(host, at('/plain.txt'));
      assert.equal(plain.status, 403);
      assert.match(plain.body.toString(), /not executable/);
      assert.ok(plain.log.some((line) => line.includes('not executable')));
    });

    it('refuses "..", decoded or not, and encoded slashes', async () => {
      const dotdot = await call(host, at('/../cgi-bin/env.sh'));
      assert.equal(dotdot.status, 400);
      const encoded = await call(host, at('/sub/../env.sh', { REQUEST_URI: '/cgi-bin/sub/%2e%2e/env.sh' }));
      assert.equal(encoded.status, 400);
      const slash = await call(host, at('/sub/deep.sh', { REQUEST_URI: '/cgi-bin/sub%2Fdeep.sh' }));
      assert.equal(slash.status, 400);
      assert.match(slash.body.toString(), /encoded slash/);
    });

    it('runs a file without #! with /bin/sh, as execvp does', async () => {
      writeFileSync(join(site.cgiBin, `bare-${spawner}.sh`), 'printf "Content-Type: text/plain\\n\\nbare\\n"\n');
      chmodSync(join(site.cgiBin, `bare-${spawner}.sh`), 0o755);
      const result = await call(host, at(`/bare-${spawner}.sh`));
      assert.equal(result.body.toString(), 'bare\n');
    });

    it('answers 403 with the reason when the user scripts run as may not execute the file', async () => {
      writeFileSync(join(site.cgiBin, `owner-only-${spawner}.sh`), '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nx\\n"\n');
      chmodSync(join(site.cgiBin, `owner-only-${spawner}.sh`), 0o700);
      const result = await call(host, at(`/owner-only-${spawner}.sh`));
      if (process.getuid!() === 0) {
        // Owned by root, run as nobody.
        assert.equal(result.status, 403);
        assert.match(result.body.toString(), /cannot be run by user nobody: permission denied/);
        assert.equal(result.log.filter((line) => line.includes('could not be started')).length, 1);
      } else {
        // Owned by the user scripts run as.
        assert.equal(result.status, 200);
      }
    });

    it('refuses a symlink that leaves the CGI folder but follows one that stays inside', async () => {
      const outside = join(site.dir, 'outside.sh');
      writeFileSync(outside, '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nescaped\\n"\n');
      chmodSync(outside, 0o755);
      symlinkSync(outside, join(site.cgiBin, 'link-out.sh'));
      symlinkSync(join(site.cgiBin, 'status.sh'), join(site.cgiBin, 'link-in.sh'));
      mkdirSync(join(site.dir, 'elsewhere'));
      symlinkSync(join(site.dir, 'elsewhere'), join(site.cgiBin, 'dir-out'));
      writeFileSync(join(site.dir, 'elsewhere', 'x.sh'), readFileSync(outside));
      chmodSync(join(site.dir, 'elsewhere', 'x.sh'), 0o755);
      const out = await call(host, at('/link-out.sh'));
      assert.equal(out.status, 403);
      assert.match(out.body.toString(), /symbolic link/);
      assert.equal((await call(host, at('/dir-out/x.sh'))).status, 403);
      assert.equal((await call(host, at('/link-in.sh'))).status, 418);
    });
  });

  describe('cgiHost: the response side (RFC 3875 §6)', () => {
    it('honours Status and forwards other headers', async () => {
      const result = await call(host, at('/status.sh'));
      assert.equal(result.status, 418);
      assert.equal(result.reason, 'Short and stout');
      assert.equal(header(result, 'X-Custom'), 'yes');
      assert.equal(result.body.toString(), 'teapot\n');
    });

    it('re-dispatches a local redirect as a GET without the request body', async () => {
      const result = await call(host, at('/redirect-local.sh', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '3', HTTP_X_ORIGINAL: 'yes' }), { body: [Buffer.from('abc')] });
      assert.equal(result.status, 200);
      const env = parseEnv(result.body.toString());
      assert.equal(env.REQUEST_METHOD, 'GET');
      assert.equal(env.SCRIPT_NAME, '/cgi-bin/env.sh');
      assert.equal(env.QUERY_STRING, 'from=redirect');
      assert.equal(env.REQUEST_URI, '/cgi-bin/env.sh?from=redirect');
      assert.equal(env.CONTENT_LENGTH, undefined);
      assert.equal(env.HTTP_X_ORIGINAL, undefined);
    });

    it('answers 502, not a client error, for a local redirect to a path it would refuse', async () => {
      for (const location of ['/cgi-bin/%2e%2e/%2e%2e/etc/passwd', '/cgi-bin/a%2fb', '/cgi-bin/a%00b', '/cgi-bin/a\\\\b']) {
        const body = Buffer.from(`Location: ${location}\n\n`, 'latin1');
        const result = await call(host, at('/output-body.sh', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(body.length) }), { body: [body] });
        assert.equal(result.status, 502, location);
      }
    });

    it('stops a local redirect loop with 502', async () => {
      const result = await call(host, at('/redirect-loop.sh'));
      assert.equal(result.status, 502);
      assert.ok(result.log.some((line) => line.includes('more than 10 in a row')));
    });

    it('turns an absolute Location into a 302 client redirect', async () => {
      const result = await call(host, at('/redirect-client.sh'));
      assert.equal(result.status, 302);
      assert.equal(header(result, 'Location'), 'https://example.org/elsewhere');
    });

    it('answers 502 with the reason logged for a document without Content-Type', async () => {
      const result = await call(host, at('/no-type.sh'));
      assert.equal(result.status, 502);
      assert.ok(result.log.some((line) => line.includes('no Content-Type')));
    });

    it('answers 502 for output without a header block and for a script that dies first', async () => {
      const none = await call(host, at('/no-headers.sh'));
      assert.equal(none.status, 502);
      assert.ok(none.log.some((line) => line.includes('before the blank line')));
      const died = await call(host, at('/die.sh'));
      assert.equal(died.status, 502);
      assert.ok(died.log.some((line) => line.includes('without any output') && line.includes('exit status 0x3')));
      assert.ok(died.log.some((line) => line === 'cgi /cgi-bin/die.sh: about to fail'));
    });

    it('answers 502 for a Status or Content-Length no HTTP response can carry, and one that disagrees with the output', async () => {
      const output = (text: string) => {
        const body = Buffer.from(text, 'latin1');
        return call(host, at('/output-body.sh', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(body.length) }), { body: [body] });
      };
      for (const head of [
        'Status: 101 Switching Protocols\n\n', 'Status: 600 Beyond\nContent-Type: text/plain\n\nx',
        'Content-Type: text/plain\nContent-Length: 2\nContent-Length: 2\n\nab', 'Content-Type: text/plain\nContent-Length: -1\n\nab',
        'Content-Type: text/plain\nContent-Length: 2\n\nhello',
      ]) {
        const result = await output(head);
        assert.equal(result.status, 502, head);
        assert.equal(result.aborted, undefined, head);
        assert.ok(!result.log.some((line) => line.includes('error in application')), head);
      }
      const late = await call(host, at('/late-excess.sh'));
      assert.equal(late.status, 502);
      assert.ok(late.log.some((line) => line.includes('more body than its Content-Length of 2')), late.log.join('\n'));
      const lateShort = await call(host, at('/late-short.sh'));
      assert.equal(lateShort.status, 502);
      assert.ok(lateShort.log.some((line) => line.includes('0 bytes of body for its Content-Length of 10')), lateShort.log.join('\n'));
      // Whether the end of the output is already there when the head goes out is a race: either way the client is told.
      const short = await output('Content-Type: text/plain\nContent-Length: 10\n\nhello');
      assert.ok(short.status === 502 || short.aborted !== undefined, `status ${short.status}, not aborted`);
    });

    it('discards what a script writes after a 204 or 304 head, Content-Length or not', async () => {
      for (const head of ['Status: 304 Not Modified\nContent-Type: text/plain\nContent-Length: 3\n\nhello', 'Status: 204\nContent-Type: text/plain\nContent-Length: 0\n\nhello']) {
        const body = Buffer.from(head, 'latin1');
        const result = await call(host, at('/output-body.sh', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(body.length) }), { body: [body] });
        assert.equal(result.status, Number(head.slice(8, 11)), head);
        assert.equal(result.body.length, 0, head);
        assert.ok(!result.log.some((line) => line.includes('error in application')), result.log.join('\n'));
      }
    });

    it('skips and logs bad header lines by name, keeping the good ones', async () => {
      const result = await call(host, at('/bogus.sh'));
      assert.equal(result.status, 200);
      assert.equal(header(result, 'X-Good'), 'kept');
      assert.equal(header(result, 'Connection'), undefined);
      assert.ok(result.log.some((line) => line.includes('bogus header line "this line is bogus"')));
      assert.ok(result.log.some((line) => line.includes('header "Bad Name" skipped')));
      assert.ok(result.log.some((line) => line.includes('header Connection skipped')));
    });

    it('allows a status-only response with no body', async () => {
      const result = await call(host, at('/empty-status.sh'));
      assert.equal(result.status, 204);
      assert.equal(result.body.length, 0);
    });

    it('tags stderr lines with the script name', async () => {
      const result = await call(host, at('/stderr.sh'));
      assert.equal(result.body.toString(), 'fine\n');
      await eventually(() => result.log.includes('cgi /cgi-bin/stderr.sh: second problem'), 'the stderr lines are logged');
      assert.ok(result.log.includes('cgi /cgi-bin/stderr.sh: first problem'));
    });

    it('discards the body for HEAD', async () => {
      const result = await call(host, at('/status.sh', { REQUEST_METHOD: 'HEAD' }));
      assert.equal(result.status, 418);
      assert.equal(result.body.length, 0);
    });

    it('streams a large body', async () => {
      const result = await call(host, at('/big.sh', { QUERY_STRING: '8' }));
      assert.equal(result.status, 200);
      assert.equal(result.body.length, 8 * 1024 * 1024);
    });

    it('passes an NPH script\'s status and headers on when the front end cannot hand over its connection', async () => {
      const result = await call(host, at('/nph-raw.sh'));
      assert.equal(result.status, 203);
      assert.equal(header(result, 'X-Nph'), 'yes');
      assert.equal(result.body.toString(), 'raw body\n');
    });

    it('answers 502 for an NPH status line no final response can have, when it re-sends the head', async () => {
      const script = join(site.cgiBin, 'nph-interim.sh');
      writeFileSync(script, '#!/bin/sh\nprintf "HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: x\\r\\n\\r\\n"\n');
      chmodSync(script, 0o755);
      const result = await call(host, at('/nph-interim.sh'));
      assert.equal(result.status, 502);
      assert.ok(!result.log.some((line) => line.includes('error in application')), result.log.join('\n'));
    });

    it('hands an NPH script the raw connection when the front end offers it', async () => {
      const raw: Buffer[] = [];
      let ended = false;
      const result = await call(host, at('/nph-raw.sh', {
        'tsgi.raw_output': () => ({ write: (chunk: Uint8Array) => void raw.push(Buffer.from(chunk)), end: () => void (ended = true) }),
      }));
      assert.equal(Buffer.concat(raw).toString(), 'HTTP/1.0 203 Non-Authoritative\r\nContent-Type: text/plain\r\nX-Nph: yes\r\n\r\nraw body\n');
      assert.ok(ended);
      assert.equal(result.body.length, 0);
    });
  });

  describe('cgiHost: time limits and clients that leave', () => {
    const pidFile = () => join(site.scratch, 'grandchild.pid');
    beforeEach(() => rmSync(pidFile(), { force: true }));

    async function waitGone(pidFile: string): Promise<void> {
      for (let i = 0; i < 100 && !existsSync(pidFile); i++) await new Promise((resolve) => setTimeout(resolve, 20));
      const pid = Number(readFileSync(pidFile, 'utf8'));
      for (let i = 0; i < 100 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(alive(pid), false, 'the grandchild is still running');
    }

    it('kills the whole process group at the time limit and answers 504', async () => {
      const app = cgiHost({ spawner, root: site.cgiBin, env: { PIDFILE_DIR: site.scratch }, timeout: 300 });
      const result = await call(app, at('/sleep.sh'));
      assert.equal(result.status, 504);
      await waitGone(pidFile());
    });

    it('cuts the response short when the limit strikes after the headers', async () => {
      const app = cgiHost({ spawner, root: site.cgiBin, env: { PIDFILE_DIR: site.scratch }, timeout: 300 });
      const result = await call(app, at('/slow-body.sh'));
      assert.equal(result.status, 200);
      assert.ok(result.aborted instanceof Error);
      await waitGone(pidFile());
    });

    it('kills the script when the client goes away', async () => {
      const result = await call(host, at('/slow-body.sh'), { leaveAfter: 1 });
      assert.equal(result.status, 200);
      await waitGone(pidFile());
    });
  });

  describe('cgiHost: the TSGI contract', () => {
    it('passes the validator for documents, redirects, NPH, refusals and failures', async () => {
      const app = validator(host);
      for (const [path, status] of [['/env.sh', 200], ['/status.sh', 418], ['/redirect-local.sh', 200], ['/redirect-client.sh', 302],
        ['/nph-raw.sh', 203], ['/empty-status.sh', 204], ['/no-type.sh', 502], ['/missing.sh', 404]] as const) {
        const result = await call(app, at(path));
        assert.equal(result.status, status, path);
        assert.deepEqual(result.log.filter((line) => !line.startsWith('cgi')), [], path);
      }
      const post = await call(app, at('/echo.sh', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '3' }), { body: [Buffer.from('abc')] });
      assert.equal(post.body.toString(), 'abc');
    });
  });

  if (spawner === 'python') {
    describe('the spawner', () => {
      it('is replaced when it dies', async () => {
        assert.equal((await call(host, at('/status.sh'))).status, 418);
        const pids = execFileSync('pgrep', ['-P', String(process.pid), 'python3'], { encoding: 'utf8' }).trim().split('\n').map(Number);
        for (const pid of pids) process.kill(pid, 'SIGKILL');
        let status = 0;
        // Runs that were starting while it died fail with 502; the next ones get a new spawner.
        for (let i = 0; i < 50 && status !== 418; i++) status = (await call(host, at('/status.sh'))).status;
        assert.equal(status, 418);
      });

      it('keeps the time limit on a script that was running when it died', async () => {
        const pidFile = join(site.scratch, 'grandchild.pid');
        rmSync(pidFile, { force: true });
        const app = cgiHost({ spawner, root: site.cgiBin, env: { PIDFILE_DIR: site.scratch }, timeout: 1000 });
        const pending = call(app, at('/sleep.sh'));
        for (let i = 0; i < 200 && !existsSync(pidFile); i++) await new Promise((resolve) => setTimeout(resolve, 10));
        const grandchild = Number(readFileSync(pidFile, 'utf8'));
        const pids = execFileSync('pgrep', ['-P', String(process.pid), 'python3'], { encoding: 'utf8' }).trim().split('\n').map(Number);
        for (const pid of pids) process.kill(pid, 'SIGKILL');
        const result = await pending;
        assert.equal(result.status, 504);
        await eventually(() => !alive(grandchild), 'the script killed at its time limit');
      });

      it('cannot be made by a script to report a process group the server would then kill', async () => {
        // A process in a group of its own, owned by the server's user: a script run as nobody cannot signal it.
        const victim = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
        try {
          const script = join(site.cgiBin, 'forge-frames.py');
          // Takes the spawner's report channel (its stdout) and claims the victim as the pid of every run.
          writeFileSync(script, `#!/usr/bin/python3
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
try:
    fd = libc.syscall(438, os.pidfd_open(os.getppid()), 1, 0)  # pidfd_getfd
    if fd >= 0:
        for ident in range(1, 500):
            os.write(fd, b"S %d %d\\n%s" % (ident, len(sys.argv[1]), sys.argv[1].encode()))
except OSError:
    pass
sys.stdout.write("Content-Type: text/plain\\n\\n")
sys.stdout.flush()
import time; time.sleep(5)
`);
          chmodSync(script, 0o755);
          const app = cgiHost({ spawner, root: site.cgiBin, timeout: 500, args: [String(victim.pid)] });
          await call(app, at('/forge-frames.py'));
          await new Promise((resolve) => setTimeout(resolve, 100));
          assert.equal(alive(victim.pid!), true, 'the server killed a process group named by a script');
        } finally {
          try {
            process.kill(-victim.pid!, 'SIGKILL');
          } catch {
            // Already gone (the bug).
          }
        }
      });

      it('runs nothing for another process that connects to its socket', async () => {
        assert.equal((await call(host, at('/status.sh'))).status, 418);
        const pids = execFileSync('pgrep', ['-P', String(process.pid), 'python3'], { encoding: 'utf8' }).trim().split('\n').map(Number);
        const sockets = pids.map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').find((arg) => arg.endsWith('/socket'))).filter((path): path is string => !!path);
        assert.ok(sockets.length > 0);
        const marker = join(site.scratch, 'foreign-ran');
        // What a CGI script running as the same user could send: ids are easy to guess.
        const client = `import json, socket, struct, sys, time
for path in sys.argv[2:]:
    s = socket.socket(socket.AF_UNIX); s.connect(path)
    h = json.dumps({"id": 10**6, "role": "out", "file": "/bin/sh", "args": ["-c", ": > " + sys.argv[1]], "env": {}, "cwd": "/"}).encode()
    s.sendall(struct.pack(">I", len(h)) + h); s.close()
time.sleep(0.5)`;
        execFileSync('/usr/bin/python3', ['-c', client, marker, ...sockets]);
        assert.equal(existsSync(marker), false, 'a foreign connection got a program run');
        assert.equal((await call(host, at('/status.sh'))).status, 418);
      });
    });
  }

  describe('cgiScript: one program under a mount', () => {
    it('runs the program for every path below its mount', async () => {
      const app = cgiScript(join(site.cgiBin, 'sub', 'deep.sh'), { spawner });
      const result = await call(app, { SCRIPT_NAME: '/git', PATH_INFO: '/repo.git/info/refs' });
      assert.equal(result.body.toString(), 'SCRIPT_NAME=/git\nPATH_INFO=/repo.git/info/refs\n');
    });

    it('answers 404 when the program is missing and 403 when it is not executable', async () => {
      assert.equal((await call(cgiScript(join(site.cgiBin, 'nope'), { spawner }), { SCRIPT_NAME: '/x', PATH_INFO: '' })).status, 404);
      assert.equal((await call(cgiScript(join(site.cgiBin, 'plain.txt'), { spawner }), { SCRIPT_NAME: '/x', PATH_INFO: '' })).status, 403);
    });
  });
});
