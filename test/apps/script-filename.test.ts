/**
 * scriptFilenameHost: the program named in SCRIPT_FILENAME runs when the allow-list has it
 * (fcgiwrap's -p), first called directly, then behind real nginx running git-http-backend and cgit.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { scriptFilenameHost, webServerParams } from '../../src/apps/script-filename.js';
import type { Environ } from '../../src/types.js';
import { call, parseEnv } from '../helpers/cgihost-fixtures.js';
import { adapt, DocPage, shellWords } from '../helpers/doc-blocks.js';
import { isRoot, startNginx, tempDir, type Peer } from '../helpers/fastcgi-peers.js';
import { fetchRaw } from '../helpers/http-client.js';
import { startTsgi } from '../helpers/examples-server.js';
import type { RunningTsgi } from '../helpers/examples-server.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);
const dir = tempDir('script-filename');
chmodSync(dir, 0o755);

function program(path: string, text: string, mode = 0o755): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text, { mode });
  return path;
}

const dumpEnv = '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n"; env\n';
const allowedFile = program(join(dir, 'allowed', 'env.sh'), dumpEnv);
const otherFile = program(join(dir, 'allowed', 'other.sh'), dumpEnv);
const folder = join(dir, 'bin');
const inFolder = program(join(folder, 'sub', 'a.sh'), dumpEnv);
program(join(folder, 'not-executable.sh'), dumpEnv, 0o644);
symlinkSync(otherFile, join(folder, 'escape.sh'));

describe('scriptFilenameHost', () => {
  const app = scriptFilenameHost({ allow: [allowedFile, folder] });
  const request = (partial: Partial<Environ>) => call(app, { SCRIPT_NAME: '/app', PATH_INFO: '/x/y', QUERY_STRING: 'q=1', ...partial });

  it('runs an allowed program with SCRIPT_NAME, PATH_INFO and the web server params as sent', async () => {
    const result = await request({ SCRIPT_FILENAME: allowedFile, GIT_PROJECT_ROOT: '/srv/git', DOCUMENT_URI: '/app/x/y' } as Partial<Environ>);
    assert.equal(result.status, 200, result.body.toString());
    const env = parseEnv(result.body.toString());
    assert.equal(env.SCRIPT_FILENAME, allowedFile);
    assert.equal(env.SCRIPT_NAME, '/app');
    assert.equal(env.PATH_INFO, '/x/y');
    assert.equal(env.QUERY_STRING, 'q=1');
    assert.equal(env.GIT_PROJECT_ROOT, '/srv/git');
    assert.equal(env.DOCUMENT_URI, '/app/x/y');
  });

  it('runs any executable below an allowed folder, and nothing else', async () => {
    assert.equal((await request({ SCRIPT_FILENAME: inFolder })).status, 200);
    const refused = await request({ SCRIPT_FILENAME: otherFile });
    assert.equal(refused.status, 403);
    assert.match(refused.log.join('\n'), /other\.sh.*not on the allow-list/);
    assert.equal((await request({ SCRIPT_FILENAME: join(folder, 'escape.sh') })).status, 403, 'a symlink out of the folder');
    assert.equal((await request({ SCRIPT_FILENAME: join(folder, 'sub', '..', '..', 'allowed', 'other.sh') })).status, 403, 'dot segments');
    assert.equal((await request({ SCRIPT_FILENAME: 'allowed/env.sh' })).status, 403, 'a relative path');
    assert.equal((await request({ SCRIPT_FILENAME: join(folder, 'missing.sh') })).status, 403);
    assert.equal((await request({ SCRIPT_FILENAME: join(folder, 'not-executable.sh') })).status, 403);
  });

  it('answers 400 without SCRIPT_FILENAME, or hands the request to its fallback', async () => {
    assert.equal((await request({})).status, 400);
    const withFallback = scriptFilenameHost({
      allow: [allowedFile],
      fallback: (_environ, start) => {
        start('200 OK', [['Content-Type', 'text/plain']]);
        return ['the site'];
      },
    });
    assert.equal((await call(withFallback, { PATH_INFO: '/' })).body.toString(), 'the site');
  });

  it('never takes variables that change how a program starts from a request', () => {
    const params = webServerParams({
      GIT_PROJECT_ROOT: '/srv/git', CGIT_CONFIG: '/etc/cgitrc', LD_PRELOAD: '/tmp/evil.so', PATH: '/tmp', NODE_OPTIONS: '--require /tmp/x',
      PYTHONPATH: '/tmp', BASH_ENV: '/tmp/x', HTTP_X_EVIL: '1', REMOTE_USER: 'admin', 'tsgi.version': [1, 0], lower_case: 'x',
    } as unknown as Environ);
    assert.deepEqual(params, { GIT_PROJECT_ROOT: '/srv/git', CGIT_CONFIG: '/etc/cgitrc' });
  });

  it('refuses to start with an allow-list entry that does not exist, or none', () => {
    assert.throws(() => scriptFilenameHost({ allow: [join(dir, 'nope')] }), /the allowed program .*nope does not exist/);
    assert.throws(() => scriptFilenameHost({ allow: [] }), /names no program/);
  });
});

// Through the command a user runs: tsgi serve --fastcgi SOCKET --allow-program PROGRAM.
describe('scriptFilenameHost (tsgi serve --allow-program) behind nginx, as fcgiwrap: git-http-backend and cgit', { timeout: 60_000 }, () => {
  const gitEnv = { PATH: '/usr/bin:/bin', HOME: dir, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };
  const backend = join(execFileSync('git', ['--exec-path'], { encoding: 'utf8' }).trim(), 'git-http-backend');
  const cgit = '/usr/lib/cgit/cgit.cgi';
  const projects = join(dir, 'projects');
  let nginx: Peer;
  let server: RunningTsgi;

  const chownTree = (path: string): void => {
    chownSync(path, 65534, 65534);
    if (statSync(path).isDirectory()) for (const name of readdirSync(path)) chownTree(join(path, name));
  };

  before(async () => {
    const seed = join(dir, 'seed');
    execFileSync('git', ['init', '-q', '-b', 'main', seed], { env: gitEnv });
    writeFileSync(join(seed, 'README'), 'hello from the seed\n');
    execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.org', 'commit', '-q', '--allow-empty', '-m', 'seed'], { cwd: seed, env: gitEnv });
    execFileSync('git', ['add', 'README'], { cwd: seed, env: gitEnv });
    execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.org', 'commit', '-q', '-m', 'add the README'], { cwd: seed, env: gitEnv });
    execFileSync('git', ['clone', '-q', '--bare', seed, join(projects, 'demo.git')], { env: gitEnv });
    // Scripts run as nobody under root: the repositories must be theirs, or git refuses them.
    if (isRoot) chownTree(projects);
    const cgitrc = join(dir, 'cgitrc');
    writeFileSync(cgitrc, `virtual-root=/cgit/\ncache-size=0\nrepo.url=demo\nrepo.path=${join(projects, 'demo.git')}\nrepo.desc=the demo repository\n`);
    chmodSync(cgitrc, 0o644);

    mkdirSync(join(dir, 'www'));
    // The command line and the configurations docs/fastcgi.md gives nginx users, pointed at these folders.
    const page = new DocPage('docs/fastcgi.md');
    const socket = join(dir, 'tsgi.sock');
    const command = shellWords(adapt(page.take('sh', 'setup=allow-program').code, [
      ['/srv/empty', join(dir, 'www')], ['/run/tsgi.sock', socket], ['/usr/lib/git-core/git-http-backend', backend],
    ]));
    assert.equal(command[0], 'tsgi');
    server = await startTsgi(command.slice(1), /Serving FastCGI on (\S+)/);
    const config = adapt(page.take('nginx', 'setup=allow-program').code, [
      ['unix:/run/tsgi.sock', `unix:${socket}`], ['/usr/lib/git-core/git-http-backend', backend], ['/srv/git', projects], ['/srv/cgitrc', cgitrc],
    ]);
    nginx = await startNginx(`${config}
    location /other {
      include fastcgi_params;
      fastcgi_param SCRIPT_FILENAME /bin/sh;
      fastcgi_pass unix:${socket};
    }`);
  });
  after(async () => {
    await nginx?.stop();
    await server?.stop();
  });

  it('clones a repository through git-http-backend', async () => {
    const clone = join(dir, 'clone');
    await run('git', ['clone', '-q', `http://127.0.0.1:${nginx.port}/git/demo.git`, clone], { env: gitEnv });
    assert.equal(execFileSync('git', ['log', '--format=%s'], { cwd: clone, encoding: 'utf8', env: gitEnv }), 'add the README\nseed\n');
  });

  it("shows cgit's repository index and a log page", async () => {
    const index = await fetchRaw(`http://127.0.0.1:${nginx.port}/cgit/`);
    assert.equal(index.status, 200, index.text);
    assert.match(index.text, /the demo repository/);
    const log = await fetchRaw(`http://127.0.0.1:${nginx.port}/cgit/demo/log/`);
    assert.equal(log.status, 200);
    assert.match(log.text, /add the README/);
  });

  it('refuses a program nginx names that is not on the allow-list', async () => {
    const res = await fetchRaw(`http://127.0.0.1:${nginx.port}/other`);
    assert.equal(res.status, 403);
    // The server logs before it answers, but its stderr reaches this process on its own schedule.
    await waitFor(() => /\/bin\/sh/.test(server.stderr()), 'the refusal in the log', 5000, () => server.stderr());
  });
});
