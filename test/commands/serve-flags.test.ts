/** `tsgi serve`'s site flags through the real executable: what each one serves, and the error each mistake gets. */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTsgi } from '../helpers/examples-server.js';
import { fetchRaw } from '../helpers/http-client.js';
import { fromRoot } from '../helpers/paths.js';

const CLI = fromRoot('dist', 'src', 'cli.js');
const ENV_SCRIPT = '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n%s|%s|%s|%s" "$SCRIPT_NAME" "$PATH_INFO" "${SITE_NAME:-}" "${TSGI_FLAGS_LANG:-}"\n';
let dir: string;

function serveFails(args: string[], status = 2): string {
  const result = spawnSync(process.execPath, [CLI, 'serve', ...args, '--port', '0'], { encoding: 'utf8', cwd: dir, timeout: 10_000 });
  assert.equal(result.status, status, `exit status for ${args.join(' ')}: ${result.stderr}`);
  return result.stderr;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsgi-serve-flags-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'www', 'app'), { recursive: true });
  writeFileSync(join(dir, 'www', 'app', 'index.txt'), 'static\n');
  writeFileSync(join(dir, 'www', 'run.cgi'), ENV_SCRIPT, { mode: 0o755 });
  writeFileSync(join(dir, 'prog.sh'), ENV_SCRIPT, { mode: 0o755 });
  writeFileSync(join(dir, 'not-executable.sh'), ENV_SCRIPT, { mode: 0o644 });
  execFileSync('htpasswd', ['-cbB', join(dir, 'users'), 'ann', 'pw'], { stdio: 'ignore' });
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('tsgi serve site flags', () => {
  it('mounts a program with --cgi-script, runs files by --cgi-ext, and gives scripts --env and --pass-env', async () => {
    const tsgi = await startTsgi(['serve', join(dir, 'www'), '--cgi-script', `/tool=${join(dir, 'prog.sh')}`, '--cgi-ext', '.cgi',
      '--env', 'SITE_NAME=flags test', '--pass-env', 'TSGI_FLAGS_LANG', '--port', '0', '--no-access-log'], undefined, { TSGI_FLAGS_LANG: 'eo' });
    try {
      assert.equal((await fetchRaw(`http://127.0.0.1:${tsgi.port}/tool/a/b`)).text, '/tool|/a/b|flags test|eo');
      assert.equal((await fetchRaw(`http://127.0.0.1:${tsgi.port}/run.cgi/x`)).text, '/run.cgi|/x|flags test|eo');
      assert.equal((await fetchRaw(`http://127.0.0.1:${tsgi.port}/app/index.txt`)).text, 'static\n');
    } finally {
      await tsgi.stop();
    }
  });

  it('reads a --config file, relative paths from its folder, with the command line winning and lists adding up', async () => {
    writeFileSync(join(dir, 'site.json'), `{
      // a comment, as a site file under version control has
      "dir": "www",
      "cgi-script": ["/tool=prog.sh"],
      "env": ["SITE_NAME=from the file"],
      "port": 1,
    }\n`);
    const tsgi = await startTsgi(['serve', '--config', join(dir, 'site.json'), '--cgi-script', `/other=${join(dir, 'prog.sh')}`, '--port', '0', '--no-access-log']);
    try {
      assert.equal((await fetchRaw(`http://127.0.0.1:${tsgi.port}/tool/x`)).text, '/tool|/x|from the file|');
      assert.equal((await fetchRaw(`http://127.0.0.1:${tsgi.port}/other`)).text, '/other||from the file|');
      assert.equal((await fetchRaw(`http://127.0.0.1:${tsgi.port}/app/index.txt`)).text, 'static\n');
    } finally {
      await tsgi.stop();
    }
  });

  it('names the file, line and key of a mistake in the config file', () => {
    writeFileSync(join(dir, 'bad.json'), '{\n  "dir": "www",\n  "cgi-scrpit": ["/x=prog.sh"]\n}\n');
    assert.match(serveFails(['--config', join(dir, 'bad.json')]), /bad\.json:3:3: "cgi-scrpit" is not a setting \(did you mean "cgi-script"\?\)/);
    writeFileSync(join(dir, 'bad2.json'), '{\n  "cgi-script": ["/x=missing.sh"]\n}\n');
    assert.match(serveFails(['--config', join(dir, 'bad2.json')]), /--cgi-script \/x: .*missing\.sh is not a file/);
  });

  it('serves HTTPS with --tls-cert and --tls-key', async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const tsgi = await startTsgi(['serve', join(dir, 'www'), '--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem'), '--port', '0', '--no-access-log']);
    try {
      assert.match(tsgi.stderr(), /Serving HTTPS on 127\.0\.0\.1 port \d+ \(https:\/\//);
      const text = await new Promise<string>((resolve, reject) => {
        httpsRequest(`https://127.0.0.1:${tsgi.port}/app/index.txt`, { rejectUnauthorized: false }, (res) => {
          let data = '';
          res.on('data', (chunk: Buffer) => (data += chunk));
          res.on('end', () => resolve(data));
        }).on('error', reject).end();
      });
      assert.equal(text, 'static\n');
    } finally {
      await tsgi.stop();
    }
  });

  const mistakes: [string[], RegExp][] = [
    [['--cgi-script', 'no-equals'], /--cgi-script takes PREFIX=PROGRAM/],
    [['--cgi-script', 'git=/bin/true'], /--cgi-script: the URL prefix must be a path like \/git/],
    [['--cgi-script', '/x=not-executable.sh'], /not-executable\.sh is not executable/],
    [['--cgi-script', '/x=prog.sh', '--cgi-script', '/x/=prog.sh'], /\/x is given twice/],
    [['--cgi-ext', 'c g i'], /--cgi-ext takes an extension like \.cgi/],
    [['--cgi-ext', '.py=/nonexistent/python'], /--cgi-ext \.py: \/nonexistent\/python is not a file/],
    [['--env', 'NOVALUE'], /--env takes NAME=VALUE/],
    [['--env', '1X=y', '--cgi'], /--env takes NAME=VALUE/],
    [['--env', 'A=b'], /--env and --pass-env are for scripts/],
    [['--pass-env', 'BAD-NAME', '--cgi'], /--pass-env takes a variable name/],
    [['--auth', 'RealmOnly'], /--auth takes REALM:HTPASSWD_FILE\[:PREFIX\]/],
    [['--auth', 'R:missing-file'], /--auth R: .*missing-file is not a readable file \(make one with: htpasswd -cB/],
    [['--auth', 'R:users:/a', '--auth', 'S:users:/a/'], /\/a is protected twice/],
    [['--tls-cert', 'cert.pem'], /--tls-cert needs --tls-key too/],
    [['--tls-cert', 'users', '--tls-key', 'users'], /--tls-cert users: not a PEM file/],
    [['--cgi-timeout', '5'], /--cgi-timeout needs --cgi, --cgi-script or --cgi-ext/],
    [['--cgi-ext', '.php=/bin/true', '--php', 'spawn'], /choose one of --php and --cgi-ext \.php/],
    [['--allow-program', '/bin/true'], /--allow-program is for serving behind a web server .*--fastcgi or --scgi/],
    [['--allow-program', '/nonexistent/prog', '--fastcgi', '127.0.0.1:0'], /--allow-program: \/nonexistent\/prog does not exist/],
  ];
  it('says an address to bind is not this machine\'s (exit 1: the machine refused, not a usage mistake)', () => {
    // 192.0.2.0/24 is TEST-NET-1: documentation only, on no machine's interfaces.
    assert.match(serveFails(['www', '--bind', '192.0.2.1'], 1), /--bind 192\.0\.2\.1: this machine has no such address/);
  });

  for (const [args, message] of mistakes) {
    it(`refuses ${args.join(' ')}`, () => {
      assert.match(serveFails(['www', ...args]), message);
    });
  }
});
