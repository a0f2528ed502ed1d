/**
 * docs/cgi-host.md, run: the `tsgi serve` synopsis against `tsgi serve --help`, the start-up
 * lines the page shows against what tsgi prints for such a site, and the "From code" sample
 * serving a CGI script, a static file and git over HTTP (port 8000 made 0, ./site and
 * /srv/git moved to a scratch folder).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { HttpServer } from '../../src/frontends/http.js';
import { adapt, DocPage, moveSrv } from '../helpers/doc-blocks.js';
import { importSample, packageScratch } from '../helpers/doc-samples.js';
import { startTsgi } from '../helpers/examples-server.js';
import { fetchRaw } from '../helpers/http-client.js';
import { fromRoot } from '../helpers/paths.js';

const run = promisify(execFile);
const page = new DocPage('docs/cgi-host.md');
const synopsis = page.take('sh', 'tsgi serve [DIR]');
const startLines = page.take('text', 'Serving HTTP on');
const fromCode = page.take('ts', "from 'tsgi/cgi-host'");
const isRoot = process.getuid?.() === 0;
const gitEnv = { PATH: '/usr/local/bin:/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };

let srv: string;
let scratch: ReturnType<typeof packageScratch>;
before(() => {
  srv = mkdtempSync(join(tmpdir(), 'tsgi-docs-cgi-host-'));
  chmodSync(srv, 0o755);
  scratch = packageScratch('docs-cgi-host');
});
after(() => {
  rmSync(srv, { recursive: true, force: true });
  scratch.remove();
});

describe('docs/cgi-host.md', () => {
  it('lists only options `tsgi serve --help` has, with the defaults it states', () => {
    const help = execFileSync(process.execPath, [fromRoot('dist', 'src', 'cli.js'), 'serve', '--help'], { encoding: 'utf8' });
    const options = [...new Set(synopsis.code.match(/--[a-z-]+/g))];
    assert.ok(options.length >= 15, options.join(' '));
    for (const option of options) assert.match(help, new RegExp(`^ +${option}\\b`, 'm'), option);
    assert.match(synopsis.code, /\[--cgi-dir \/cgi-bin,\/htbin\]/);
    assert.match(help, /--cgi-dir LIST +comma-separated CGI folders \(default \/cgi-bin,\/htbin\)/);
    assert.match(synopsis.code, /\[--port 8000\]/);
    assert.match(help, /--port N .*else 8000;/);
  });

  it('prints the start-up lines the page shows, for a site with a CGI folder and a password', async () => {
    mkdirSync(join(srv, 'site', 'cgi-bin'), { recursive: true });
    writeFileSync(join(srv, 'git.htpasswd'), 'ann:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n');
    const tsgi = await startTsgi(['serve', `${srv}/site`, '--cgi', '--auth', `Git:${srv}/git.htpasswd:/git`, '--port', '0', '--no-access-log'], /port (\d+)[\s\S]*\n  scripts start [^\n]*\n/);
    try {
      const printed = tsgi.stderr().replaceAll(`port ${tsgi.port}`, 'port 8000').replaceAll(`:${tsgi.port}/`, ':8000/');
      const expected = moveSrv(startLines.code, srv);
      // Who the scripts run as, and the launcher, depend on the machine: CI runs as root with the addon built.
      if (isRoot) assert.equal(printed, expected);
      else assert.equal(printed.split('\n').slice(0, 4).join('\n'), expected.split('\n').slice(0, 4).join('\n'));
    } finally {
      await tsgi.stop();
    }
  });

  it('serves the "From code" site: a CGI script, a static file, and a git clone through git-http-backend', async () => {
    const site = join(srv, 'www');
    mkdirSync(join(site, 'cgi-bin'), { recursive: true });
    writeFileSync(join(site, 'index.html'), '<p>the site</p>\n');
    writeFileSync(join(site, 'cgi-bin', 'hello.sh'), '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nhello from $SCRIPT_NAME as $(id -un)\\n"\n', { mode: 0o755 });
    // A repository root owns, as in /srv/git: the sample's safe.directory variables let nobody read it.
    const git = join(srv, 'git');
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', join(git, 'repo.git')], { env: gitEnv });
    const seed = join(srv, 'seed');
    execFileSync('git', ['init', '-q', '-b', 'main', seed], { env: gitEnv });
    execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.org', 'commit', '-q', '--allow-empty', '-m', 'from the docs'], { cwd: seed, env: gitEnv });
    execFileSync('git', ['push', '-q', join(git, 'repo.git'), 'main'], { cwd: seed, env: gitEnv });
    execFileSync('chmod', ['-R', 'a+rX', srv]);

    const code = adapt(fromCode.code, [
      ["'./site/cgi-bin'", JSON.stringify(join(site, 'cgi-bin'))],
      ["'./site'", JSON.stringify(site)],
      ["'/srv/git'", JSON.stringify(git)],
      ["await makeServer('127.0.0.1', 8000, site);", "export const server = await makeServer('127.0.0.1', 0, site);"],
    ]);
    const { server } = await importSample<{ server: HttpServer }>(scratch.dir, 'from-code', code);
    try {
      const script = await fetchRaw(`${server.url}/cgi-bin/hello.sh`);
      assert.equal(script.text, `hello from /cgi-bin/hello.sh as ${isRoot ? 'nobody' : execFileSync('id', ['-un'], { encoding: 'utf8' }).trim()}\n`);
      assert.equal((await fetchRaw(`${server.url}/`)).text, '<p>the site</p>\n');
      const clone = join(srv, 'clone');
      await run('git', ['clone', '-q', `${server.url}/git/repo.git`, clone], { env: { ...gitEnv, HOME: srv } });
      assert.equal(execFileSync('git', ['log', '--format=%s'], { cwd: clone, encoding: 'utf8', env: gitEnv }), 'from the docs\n');
    } finally {
      await server.close();
    }
  });

  it('has no other block', () => {
    assert.deepEqual(page.untaken(), []);
  });
});
