/**
 * `tsgi serve --auth` over real HTTP: the password holds however a client spells the path,
 * and only a checked user reaches a script as REMOTE_USER.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeServer } from '../../src/frontends/http.js';
import type { HttpServer } from '../../src/frontends/http.js';
import { openSite } from '../../src/commands/site.js';
import type { Site } from '../../src/commands/site.js';
import { fetchRaw, rawExchange } from '../helpers/http-client.js';

const WHO = '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n%s|%s|%s" "${AUTH_TYPE:--}" "${REMOTE_USER:--}" "$PATH_INFO"\n';
const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

describe('tsgi serve --auth', () => {
  let dir: string;
  let site: Site;
  let server: HttpServer;
  const htpasswd = () => join(dir, 'users');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsgi-serve-auth-'));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'site', 'cgi-bin'), { recursive: true });
    mkdirSync(join(dir, 'site', 'private'));
    writeFileSync(join(dir, 'site', 'private', 'secret.txt'), 'the secret\n');
    writeFileSync(join(dir, 'site', 'public.txt'), 'public\n');
    for (const name of ['admin.cgi', 'open.cgi']) writeFileSync(join(dir, 'site', 'cgi-bin', name), WHO, { mode: 0o755 });
    writeFileSync(join(dir, 'who.sh'), WHO, { mode: 0o755 });
    execFileSync('htpasswd', ['-cbB', htpasswd(), 'ann', 's3cret'], { stdio: 'ignore' });
    site = openSite({
      dir: join(dir, 'site'),
      cgiDirs: ['/cgi-bin'],
      cgiScripts: [{ prefix: '/git', program: join(dir, 'who.sh') }],
      auth: [
        { realm: 'Git', file: htpasswd(), prefix: '/git' },
        { realm: 'Private', file: htpasswd(), prefix: '/private' },
        { realm: 'Admin', file: htpasswd(), prefix: '/cgi-bin/admin.cgi' },
      ],
    });
    server = await makeServer('127.0.0.1', 0, site.app, { accessLog: false });
  });
  after(async () => {
    await server?.close();
    await site?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const statusOf = async (target: string, headers = '') => {
    const reply = await rawExchange(server.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`, 2000);
    return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1]), reply };
  };

  // Each would reach a protected script or file if some layer below read it the way it can.
  const spellings = [
    '/git/repo.git/info/refs', '/git', '//git/x', '/./git/x', '/%67it/x', '/%2567it/x', '/GIT/x', '/git;p=1/x', '/git./x',
    '/git%2fx', 'http://x/git/x', '/private/secret.txt', '/Private/secret.txt', '/private%2fsecret.txt', '//private//secret.txt',
    '/%70rivate/secret.txt', '/cgi-bin/admin.cgi', '/cgi-bin/admin.cgi/extra/path', '/cgi-bin//admin.cgi', '/cgi-bin/%61dmin.cgi',
    '/cgi-bin/./admin.cgi/x', '/cgi-bin/ADMIN.CGI', '/cgi-bin/admin.cgi;x', '/x/../git/y', '/cgi-bin/open.cgi/../admin.cgi',
  ];
  for (const target of spellings) {
    it(`asks for a password, and serves nothing, for ${target}`, async () => {
      const { status, reply } = await statusOf(target);
      assert.notEqual(status, 200, reply);
      assert.doesNotMatch(reply, /the secret|\|-\|/);
      if (status !== 400) assert.equal(status, 401, reply);
    });
  }

  it('serves the protected areas with the right password, and names the user to scripts', async () => {
    const headers = `Authorization: ${basic('ann', 's3cret')}\r\n`;
    assert.match((await statusOf('/private/secret.txt', headers)).reply, /the secret/);
    assert.match((await statusOf('/git/repo.git/info/refs', headers)).reply, /Basic\|ann\|\/repo\.git\/info\/refs/);
    assert.match((await statusOf('/cgi-bin/admin.cgi/extra', headers)).reply, /Basic\|ann\|\/extra/);
  });

  it('gives a script outside every area no user, whatever the client claims', async () => {
    const { reply } = await statusOf('/cgi-bin/open.cgi', `Authorization: ${basic('admin', 'anything')}\r\n`);
    assert.match(reply, /\r\n\r\n-\|-\|$/);
  });

  it('leaves public files public', async () => {
    assert.equal((await fetchRaw(`${server.url}/public.txt`)).text, 'public\n');
  });

  it('reads the htpasswd file again when it changes', async () => {
    execFileSync('htpasswd', ['-bB', htpasswd(), 'ann', 'n3w'], { stdio: 'ignore' });
    // A change within the file system's timestamp granularity must still be seen.
    const later = new Date(Date.now() + 5000);
    utimesSync(htpasswd(), later, later);
    assert.equal((await fetchRaw(`${server.url}/private/secret.txt`, { headers: { authorization: basic('ann', 's3cret') } })).status, 401);
    assert.equal((await fetchRaw(`${server.url}/private/secret.txt`, { headers: { authorization: basic('ann', 'n3w') } })).status, 200);
  });
});
