/**
 * tsgi's FastCGI and SCGI front ends behind the real peers: nginx (fastcgi_pass and
 * scgi_pass, over TCP and unix sockets), cgi-fcgi, lighttpd mod_fastcgi starting tsgi
 * itself with `bin-path` (the socket on fd 0), and Apache mod_proxy_fcgi; the configs of
 * docs/fastcgi.md among them, read from the page.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { listenFastCgi } from '../../../src/frontends/fastcgi/index.js';
import type { GatewayServer } from '../../../src/frontends/listen.js';
import { listenScgi } from '../../../src/frontends/scgi.js';
import type { Application } from '../../../src/types.js';
import { validator, type ValidatedApplication } from '../../../src/validate.js';
import { sha256 as sha } from '../../helpers/fastcgi-apps.js';
import { adapt, DocPage, shellWords } from '../../helpers/doc-blocks.js';
import { parseCgiResponse } from '../../helpers/fastcgi-client.js';
import { httpCall } from '../../helpers/fastcgi-http.js';
import { freePort, startApache, startLighttpd, startNginx, startTsgi, tempDir, type Peer, type TsgiProcess } from '../../helpers/fastcgi-peers.js';
import { fromRoot } from '../../helpers/paths.js';

const fixture = fromRoot('test', 'fixtures', 'fastcgi', 'app.mjs');
// The web server configs docs/fastcgi.md shows are the ones run here (tagged setup=NAME there).
const docsPage = new DocPage('docs/fastcgi.md');
const quiet = { log: () => {}, errors: { write: () => {} } };
// In-process servers run the fixture through the validator: the peers' requests check the TSGI contract too.
let app: ValidatedApplication;


before(async () => {
  app = validator(((await import(pathToFileURL(fixture).href)) as { default: Application }).default);
});
after(() => app.assertClean());

/** The checks every front-end/peer pair must pass, under the URL prefix `base`. */
function commonChecks(port: () => number, base: string, options: { chunked?: boolean } = {}): void {
  it('answers a GET', async () => {
    const reply = await httpCall(port(), `${base}/hello`);
    assert.equal(reply.status, 200);
    assert.equal(reply.body.toString(), 'Hello, world!\n');
    assert.equal(reply.headers['content-type'], 'text/plain');
  });

  it('routes on PATH_INFO and never turns Proxy into HTTP_PROXY', async () => {
    const reply = await httpCall(port(), `${base}/env?x=1`, { headers: { Proxy: 'http://evil.test:3128', 'X-Custom': 'yes' } });
    const environ = JSON.parse(reply.body.toString()) as Record<string, string>;
    assert.equal(environ.PATH_INFO, '/env');
    assert.equal(environ.SCRIPT_NAME, base);
    assert.equal(environ.QUERY_STRING, 'x=1');
    assert.equal(environ.HTTP_X_CUSTOM, 'yes');
    assert.equal(environ.HTTP_PROXY, undefined);
  });

  it('streams a large POST body through', async () => {
    const body = randomBytes(6 * 1024 * 1024 + 5);
    const reply = await httpCall(port(), `${base}/echo`, { method: 'POST', body });
    assert.equal(reply.body.toString(), `POST /echo - ${body.length} ${sha(body)}`);
  });

  if (options.chunked) {
    it('streams a chunked POST body through', async () => {
      const pieces = Array.from({ length: 40 }, (_, i) => randomBytes(50_000 + i));
      const reply = await httpCall(port(), `${base}/echo`, { method: 'POST', body: pieces });
      const all = Buffer.concat(pieces);
      assert.equal(reply.body.toString(), `POST /echo - ${all.length} ${sha(all)}`);
    });
  }

  it('streams a large response', async () => {
    const reply = await httpCall(port(), `${base}/big?size=3000001`);
    assert.equal(reply.body.length, 3000001);
    assert.ok(reply.body.every((byte) => byte === 120));
  });
}

describe('nginx fastcgi_pass and scgi_pass', { timeout: 60_000 }, () => {
  let nginx: Peer;
  const servers: GatewayServer[] = [];
  let tcpConnections = 0;
  const dir = tempDir('sockets');
  chmodSync(dir, 0o755);

  before(async () => {
    const fcgiTcp = await listenFastCgi('127.0.0.1:0', app, { ...quiet, scriptName: '/fcgi-tcp' });
    fcgiTcp.server.on('connection', () => tcpConnections++);
    const fcgiUnix = await listenFastCgi(join(dir, 'fcgi.sock'), app, quiet);
    const scgiTcp = await listenScgi('127.0.0.1:0', app, { ...quiet, scriptName: '/scgi-tcp' });
    const scgiUnix = await listenScgi(join(dir, 'scgi.sock'), app, { ...quiet, scriptName: '/scgi-unix' });
    const fcgiDocs = await listenFastCgi('127.0.0.1:0', app, quiet);
    servers.push(fcgiTcp, fcgiUnix, scgiTcp, scgiUnix, fcgiDocs);
    // docs/fastcgi.md's nginx config as it is, but for the port: its upstream at http level, its location in the server.
    const docs = adapt(docsPage.take('nginx', 'setup=nginx').code, [['127.0.0.1:9000', `127.0.0.1:${fcgiDocs.port}`]]);
    const docsUpstream = docs.split('\n').filter((line) => line.startsWith('upstream ')).join('\n');
    const docsLocation = docs.split('\n').filter((line) => !line.startsWith('upstream ')).join('\n');
    assert.match(docsUpstream, /^upstream tsgi \{/);
    nginx = await startNginx(`${docsLocation}
    # Stock params: SCRIPT_NAME is the whole path; tsgi's scriptName option remounts it.
    location /fcgi-tcp/ {
      include /etc/nginx/fastcgi_params;
      fastcgi_keep_conn on;
      fastcgi_request_buffering off;
      fastcgi_pass fcgi_tcp;
    }
    # Split by nginx: SCRIPT_NAME and PATH_INFO arrive ready.
    location /fcgi-unix/ {
      include /etc/nginx/fastcgi_params;
      fastcgi_split_path_info ^(/fcgi-unix)(/.*)$;
      fastcgi_param SCRIPT_NAME $fastcgi_script_name;
      fastcgi_param PATH_INFO $fastcgi_path_info;
      fastcgi_keep_conn on;
      fastcgi_pass fcgi_unix;
    }
    location /scgi-tcp/ {
      include /etc/nginx/scgi_params;
      scgi_param PATH_INFO $uri;
      scgi_pass 127.0.0.1:${scgiTcp.port};
    }
    location /scgi-unix/ {
      include /etc/nginx/scgi_params;
      scgi_param PATH_INFO $uri;
      scgi_pass unix:${join(dir, 'scgi.sock')};
    }`, `
  upstream fcgi_tcp { server 127.0.0.1:${fcgiTcp.port}; keepalive 4; }
  upstream fcgi_unix { server unix:${join(dir, 'fcgi.sock')}; keepalive 4; }
  ${docsUpstream}`);
  });

  after(async () => {
    await nginx?.stop();
    await Promise.all(servers.map((server) => server.close(500)));
  });

  describe('FastCGI over TCP', () => commonChecks(() => nginx.port, '/fcgi-tcp', { chunked: true }));
  describe('FastCGI over a unix socket', () => commonChecks(() => nginx.port, '/fcgi-unix'));
  describe('SCGI over TCP', () => commonChecks(() => nginx.port, '/scgi-tcp', { chunked: true }));
  describe('SCGI over a unix socket', () => commonChecks(() => nginx.port, '/scgi-unix'));
  describe('FastCGI as docs/fastcgi.md configures nginx', () => commonChecks(() => nginx.port, '/app', { chunked: true }));

  it('reuses its FastCGI connection (keep-conn) across requests', async () => {
    const before = tcpConnections;
    for (let i = 0; i < 20; i++) assert.equal((await httpCall(nginx.port, '/fcgi-tcp/hello')).status, 200);
    assert.ok(tcpConnections - before <= 1, `${tcpConnections - before} new connections for 20 sequential requests`);
  });
});

describe('cgi-fcgi (libfcgi)', { timeout: 60_000 }, () => {
  let server: GatewayServer;
  const dir = tempDir('cgi-fcgi');
  before(async () => {
    server = await listenFastCgi(join(dir, 'app.sock'), app, quiet);
  });
  after(() => server.close(500));

  function cgiFcgi(env: Record<string, string>, stdin: Buffer, target: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const child = execFile('/usr/bin/cgi-fcgi', ['-bind', '-connect', target], { env, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => {
        if (error) reject(error);
        else resolve(stdout);
      });
      child.stdin!.end(stdin);
    });
  }

  it('answers a GET and a POST over a unix socket and over TCP', async () => {
    const tcp = await listenFastCgi('127.0.0.1:0', app, quiet);
    try {
      for (const target of [join(dir, 'app.sock'), tcp.address]) {
        const get = parseCgiResponse(await cgiFcgi({ REQUEST_METHOD: 'GET', PATH_INFO: '/hello', SERVER_NAME: 'x', SERVER_PORT: '80' }, Buffer.alloc(0), target));
        assert.equal(get.body.toString(), 'Hello, world!\n');
        const body = randomBytes(1024 * 1024);
        const post = parseCgiResponse(await cgiFcgi({ REQUEST_METHOD: 'POST', PATH_INFO: '/echo', CONTENT_LENGTH: String(body.length) }, body, target));
        assert.equal(post.body.toString(), `POST /echo - ${body.length} ${sha(body)}`);
      }
    } finally {
      await tcp.close(500);
    }
  });
});

describe('lighttpd mod_fastcgi with bin-path (tsgi started by the web server, socket on fd 0)', { timeout: 60_000 }, () => {
  let lighttpd: Peer;
  before(async () => {
    lighttpd = await startLighttpd((dir) => {
      // docs/fastcgi.md's config, with its wrapper script written as its comment says.
      const docs = docsPage.take('lighttpd', 'setup=lighttpd').code;
      const command = shellWords(/# a script: (exec tsgi run .*)$/m.exec(docs)![1]!);
      assert.deepEqual([command[0], command[1], command[3]], ['exec', 'tsgi', '/srv/app.js']);
      const wrapper = join(dir, 'tsgi-app.sh');
      // `--workers 2`: the supervisor hands the inherited socket to both workers.
      writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${fromRoot('dist', 'src', 'cli.js')}" run "${fixture}" ${command.slice(4).join(' ')}\n`);
      chmodSync(wrapper, 0o755);
      assert.ok(command.includes('--workers'));
      return adapt(docs, [['/run/tsgi/app.sock', `${dir}/tsgi.sock`], ['/usr/local/bin/tsgi-app', wrapper]]);
    });
  });
  after(() => lighttpd?.stop());

  // lighttpd answers a chunked body to a streaming FastCGI backend with 411, so none is sent.
  describe('through lighttpd', () => commonChecks(() => lighttpd.port, '/app'));

  it('spreads requests over both workers behind the one inherited socket', async () => {
    const pids = new Set<string>();
    for (let i = 0; i < 40 && pids.size < 2; i++) {
      const replies = await Promise.all([1, 2, 3, 4].map(() => httpCall(lighttpd.port, '/app/pid?ms=20')));
      for (const reply of replies) pids.add(reply.body.toString().split(' ')[0]!);
    }
    assert.equal(pids.size, 2, lighttpd.errorLog());
  });
});

describe('Apache mod_proxy_fcgi and mod_proxy_scgi', { timeout: 60_000 }, () => {
  let apache: Peer;
  const servers: GatewayServer[] = [];
  before(async () => {
    // docs/fastcgi.md's config: FastCGI at /app/, and its SCGI line, uncommented, at /scgi/.
    const fcgi = await listenFastCgi('127.0.0.1:0', app, { ...quiet, scriptName: '/app' });
    const scgi = await listenScgi('127.0.0.1:0', app, { ...quiet, scriptName: '/scgi' });
    servers.push(fcgi, scgi);
    apache = await startApache(adapt(docsPage.take('apache', 'setup=apache').code, [
      ['fcgi://127.0.0.1:9000/', `fcgi://127.0.0.1:${fcgi.port}/`],
      ['# or SCGI: ProxyPass "/app/" "scgi://127.0.0.1:4000/app/"', `ProxyPass "/scgi/" "scgi://127.0.0.1:${scgi.port}/scgi/"`],
    ]));
  });
  after(async () => {
    await apache?.stop();
    await Promise.all(servers.map((server) => server.close(500)));
  });

  describe('FastCGI', () => commonChecks(() => apache.port, '/app', { chunked: true }));
  describe('SCGI', () => commonChecks(() => apache.port, '/scgi'));
});

describe('nginx -> tsgi serve --cgi --fastcgi (an fcgiwrap replacement)', { timeout: 60_000 }, () => {
  let nginx: Peer;
  let tsgi: TsgiProcess;
  before(async () => {
    const port = await freePort();
    // docs/fastcgi.md's command line and nginx config. Stock params only: SCRIPT_NAME is the
    // whole path, and --script-name "" remounts it at the root.
    const command = shellWords(adapt(docsPage.take('sh', 'setup=serve-cgi').code, [['/srv/site', fromRoot('test', 'fixtures', 'cgi-host')], ['127.0.0.1:9000', `127.0.0.1:${port}`]]));
    assert.equal(command[0], 'tsgi');
    tsgi = await startTsgi(command.slice(1), port, fromRoot('dist', 'src', 'cli.js'));
    nginx = await startNginx(adapt(docsPage.take('nginx', 'setup=serve-cgi').code, [['127.0.0.1:9000', `127.0.0.1:${port}`]]));
  });
  after(async () => {
    await nginx?.stop();
    await tsgi?.stop();
  });

  it('runs a CGI script with the CGI variables of the original request', async () => {
    const reply = await httpCall(nginx.port, '/cgi-bin/env.sh/extra?q=1', { headers: { Proxy: 'http://evil.test' } });
    assert.equal(reply.status, 200, tsgi.output());
    const env = reply.body.toString();
    assert.match(env, /^SCRIPT_NAME=\/cgi-bin\/env\.sh$/m);
    assert.match(env, /^PATH_INFO=\/extra$/m);
    assert.match(env, /^QUERY_STRING=q=1$/m);
    assert.doesNotMatch(env, /HTTP_PROXY/);
  });

  it('streams a POST body through the script and serves static files beside it', async () => {
    const body = randomBytes(3 * 1024 * 1024);
    const reply = await httpCall(nginx.port, '/cgi-bin/echo.sh', { method: 'POST', body });
    assert.equal(reply.headers['x-length'], String(body.length));
    assert.equal(sha(reply.body), sha(body));
    const page = await httpCall(nginx.port, '/index.html');
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-type']?.toString().split(';')[0], 'text/html');
  });
});
