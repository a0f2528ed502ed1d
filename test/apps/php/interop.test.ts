/** phpApp with the real PHP: a php-fpm pool it is pointed at, and php-cgi children it starts itself. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { phpApp } from '../../../src/apps/php/app.js';
import type { ForwardingApplication } from '../../../src/apps/fastcgi.js';
import { makeServer, type HttpServer } from '../../../src/frontends/http.js';
import { tempDir } from '../../helpers/fastcgi-peers.js';
import { PHP_CGI, phpSite, startPhpFpm, type PhpFpm } from '../../helpers/php-peers.js';

interface Backend {
  name: string;
  start(root: string, log: (line: string) => void): Promise<{ app: ForwardingApplication; fpm?: PhpFpm }>;
}

const backends: Backend[] = [
  {
    name: 'php-fpm',
    async start(root, log) {
      const fpm = await startPhpFpm({ children: 2 });
      return { app: phpApp({ root, address: fpm.socket, log }), fpm };
    },
  },
  {
    name: 'php-cgi children (spawn)',
    async start(root, log) {
      const sessions = tempDir('php-sessions');
      chmodSync(sessions, 0o1777);
      const app = phpApp({ root, spawn: { children: 2, program: PHP_CGI, ini: { 'session.save_path': sessions, upload_max_filesize: '64M', post_max_size: '64M' } }, log });
      return { app };
    },
  },
];

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

for (const backend of backends) {
  describe(`phpApp through ${backend.name}`, () => {
    let root: string;
    let app: ForwardingApplication;
    let fpm: PhpFpm | undefined;
    let server: HttpServer;
    const lines: string[] = [];
    let base: string;

    before(async () => {
      root = phpSite();
      ({ app, fpm } = await backend.start(root, (line) => lines.push(line)));
      server = await makeServer('127.0.0.1', 0, app, { accessLog: false });
      base = server.url;
    });
    after(async () => {
      await server.close();
      await app.close();
      await fpm?.stop();
      rmSync(root, { recursive: true, force: true });
    });

    async function info(path: string, init?: RequestInit): Promise<{ get: Record<string, string>; post: Record<string, string>; cookie: Record<string, string>; server: Record<string, string | null>; files: Record<string, { name: string; size: number; sha256: string | null; error: number }>; pid: number }> {
      const response = await fetch(base + path, init);
      assert.equal(response.status, 200, await response.clone().text());
      return response.json() as never;
    }

    it('passes the query, the form, cookies and the CGI variables PHP reads', async () => {
      const got = await info('/info.php/extra/path?a=1&b=%C3%A9', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: 'flavour=mint; size=2', 'X-Test': 'yes' },
        body: 'name=Ada+L&lang=%E2%9C%93',
      });
      assert.deepEqual(got.get, { a: '1', b: 'é' });
      assert.deepEqual(got.post, { name: 'Ada L', lang: '✓' });
      assert.deepEqual(got.cookie, { flavour: 'mint', size: '2' });
      assert.equal(got.server.SCRIPT_NAME, '/info.php');
      assert.equal(got.server.PATH_INFO, '/extra/path');
      assert.equal(got.server.REQUEST_URI, '/info.php/extra/path?a=1&b=%C3%A9');
      assert.equal(got.server.QUERY_STRING, 'a=1&b=%C3%A9');
      assert.equal(got.server.REQUEST_METHOD, 'POST');
      assert.equal(got.server.REMOTE_ADDR, '127.0.0.1');
      assert.equal(got.server.HTTP_X_TEST, 'yes');
      assert.equal(got.server.HTTPS, null);
      assert.equal(got.server.SCRIPT_FILENAME, `${root}/info.php`);
      assert.equal(got.server.DOCUMENT_ROOT, root);
    });

    it('says HTTPS=on when the front end is HTTPS, and passes Basic credentials to PHP', async () => {
      const responses: string[] = [];
      const environ = (extra: Record<string, unknown>) => new Promise<void>((resolve, reject) => {
        const body = app({
          REQUEST_METHOD: 'GET', SCRIPT_NAME: '', PATH_INFO: '/info.php', QUERY_STRING: '', SERVER_NAME: 'localhost', SERVER_PORT: '443', SERVER_PROTOCOL: 'HTTP/1.1',
          'tsgi.version': [1, 0], 'tsgi.url_scheme': 'https', 'tsgi.input': (async function* () {})(), 'tsgi.errors': { write: () => {} },
          'tsgi.multithread': false, 'tsgi.multiprocess': false, 'tsgi.run_once': false, ...extra,
        }, () => () => {});
        void (async () => {
          const parts: Buffer[] = [];
          for await (const chunk of await body) parts.push(Buffer.from(chunk as Uint8Array));
          responses.push(Buffer.concat(parts).toString());
        })().then(resolve, reject);
      });
      await environ({ HTTP_AUTHORIZATION: 'Basic ' + Buffer.from('ada:secret').toString('base64') });
      const got = JSON.parse(responses[0]!) as { server: Record<string, string | null> };
      assert.equal(got.server.HTTPS, 'on');
      assert.equal(got.server.PHP_AUTH_USER, 'ada');
    });

    it('receives a multipart upload whole (SHA-256 checked by PHP)', async () => {
      const data = randomBytes(3 * 1024 * 1024 + 5);
      const form = new FormData();
      form.append('title', 'photo');
      form.append('upload', new Blob([data]), 'cat.bin');
      const got = await info('/info.php', { method: 'POST', body: form });
      assert.deepEqual(got.post, { title: 'photo' });
      assert.equal(got.files.upload!.error, 0);
      assert.equal(got.files.upload!.name, 'cat.bin');
      assert.equal(got.files.upload!.size, data.length);
      assert.equal(got.files.upload!.sha256, sha256(data));
    });

    it('passes header(), http_response_code(), repeated Set-Cookie and redirects', async () => {
      const made = await fetch(base + '/status.php');
      assert.equal(made.status, 201);
      assert.equal(made.headers.get('x-made-by'), 'status.php');
      assert.deepEqual(made.headers.getSetCookie(), ['a=1', 'b=2']);
      assert.equal(await made.text(), 'created\n');
      const moved = await fetch(base + '/status.php?to=/style.css', { redirect: 'manual' });
      assert.equal(moved.status, 302);
      assert.equal(moved.headers.get('location'), '/style.css');
    });

    it('keeps a session across requests with its cookie', async () => {
      const first = await fetch(base + '/session.php');
      assert.equal(await first.text(), 'count 1\n');
      const cookie = first.headers.get('set-cookie')!.split(';', 1)[0]!;
      assert.match(cookie, /^PHPSESSID=/);
      const second = await fetch(base + '/session.php', { headers: { Cookie: cookie } });
      assert.equal(await second.text(), 'count 2\n');
    });

    it('routes folders to index.php, unknown paths to the front controller, and serves static files itself', async () => {
      assert.equal(await (await fetch(base + '/sub/')).text(), 'sub index\n');
      const bare = await fetch(base + '/sub?x=1', { redirect: 'manual' });
      assert.equal(bare.status, 308);
      assert.equal(bare.headers.get('location'), '/sub/?x=1');
      assert.equal(await (await fetch(base + '/blog/2026/hello')).text(), 'front controller: /blog/2026/hello script /index.php\n');
      assert.equal(await (await fetch(base + '/missing.php')).text(), 'front controller: /missing.php script /index.php\n');
      const css = await fetch(base + '/style.css');
      assert.equal(css.headers.get('content-type'), 'text/css');
      assert.equal(await css.text(), 'body { color: teal }\n');
      assert.equal(await (await fetch(base + '/sub/page.txt')).text(), 'plain text\n');
    });

    it('never serves PHP source or dot-files', async () => {
      for (const path of ['/secret.inc', '/.env', '/sub/../.env', '/%2eenv']) {
        const response = await fetch(base + path);
        assert.ok(response.status === 403 || response.status === 400, `${path}: ${response.status}`);
        assert.doesNotMatch(await response.text(), /hunter2/);
      }
    });

    it('streams a 50 MB response whole (the server\'s memory is checked in test/commands/serve-php.test.ts)', async () => {
      const response = await fetch(base + '/big.php?mb=50');
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of response.body!) {
        hash.update(chunk);
        size += chunk.length;
      }
      assert.equal(size, 50 * 1024 * 1024);
      const block = Buffer.from('0123456789abcdef'.repeat(4096));
      const expected = createHash('sha256');
      for (let i = 0; i < 50 * 16; i++) expected.update(block);
      assert.equal(hash.digest('hex'), expected.digest('hex'));
    });

    it('logs what PHP writes to stderr, tagged with the script', async () => {
      assert.equal(await (await fetch(base + '/warn.php')).text(), 'ok\n');
      for (let i = 0; i < 50 && !lines.some((line) => line.includes('written to stderr by warn.php')); i++) await new Promise((resolve) => setTimeout(resolve, 20));
      if (backend.name === 'php-fpm') {
        // php-fpm sends error_log() output as FCGI_STDERR records.
        assert.ok(lines.some((line) => /\/warn\.php: .*written to stderr by warn\.php/.test(line)), lines.join('\n'));
      } else {
        assert.ok(lines.some((line) => line.includes('written to stderr by warn.php')), lines.join('\n'));
      }
    });

    it('queues requests beyond the two PHP processes and loses none', async () => {
      const answers = await Promise.all(Array.from({ length: 12 }, () => fetch(base + '/slow.php?ms=50').then(async (response) => [response.status, await response.text()] as const)));
      for (const [status, text] of answers) {
        assert.equal(status, 200);
        assert.match(text, /^slept \d+\n$/);
      }
      const pids = new Set(answers.map(([, text]) => text));
      assert.ok(pids.size <= 2, `more than two PHP processes answered: ${[...pids].join(', ')}`);
    });

    if (backend.name === 'php-fpm') {
      it('answers 502 while php-fpm is down and recovers when it is back', async () => {
        const inFlight = fetch(base + '/slow.php?ms=1500').then((response) => response.status);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await fpm!.kill();
        assert.equal(await inFlight, 502);
        const down = await fetch(base + '/info.php');
        assert.equal(down.status, 502);
        assert.match(lines.join('\n'), /cannot connect to .*php\.sock|closed the connection/);
        await fpm!.restart();
        const back = await fetch(base + '/info.php');
        assert.equal(back.status, 200);
      });
    }
  });
}
