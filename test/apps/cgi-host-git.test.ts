/** git clone and git push through tsgi's CGI host running git's own git-http-backend. */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { promisify } from 'node:util';
import { cgiScript } from '../../src/apps/cgi-host.js';
import { mount } from '../../src/apps/mount.js';
import { makeServer } from '../../src/frontends/http.js';
import type { HttpServer } from '../../src/frontends/http.js';

const run = promisify(execFile);
let dir: string;
let server: HttpServer;
const log: string[] = [];

// A clean environment for the git client too, so the machine's git config cannot change the outcome.
const gitEnv = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '', GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };
const git = (cwd: string, ...args: string[]) => run('git', ['-c', 'user.name=Test', '-c', 'user.email=t@example.org', '-c', 'init.defaultBranch=main', ...args], { cwd, env: { ...gitEnv, HOME: dir } });

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (statSync(path).isDirectory()) for (const name of readdirSync(path)) chownTree(join(path, name), uid, gid);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tsgi-cgi-git-'));
  chmodSync(dir, 0o755);
  const projects = join(dir, 'projects');
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', join(projects, 'repo.git')], { env: gitEnv });
  execFileSync('git', ['config', 'http.receivepack', 'true'], { cwd: join(projects, 'repo.git'), env: gitEnv });
  // Scripts run as nobody under root: the repository must be theirs, or git refuses it as "dubious ownership".
  if (process.getuid!() === 0) chownTree(projects, 65534, 65534);
  const seed = join(dir, 'seed');
  await git(dir, 'init', '-q', seed);
  writeFileSync(join(seed, 'README'), 'first\n');
  await git(seed, 'add', '.');
  await git(seed, 'commit', '-qm', 'first');
  const backend = join(execFileSync('git', ['--exec-path'], { encoding: 'utf8' }).trim(), 'git-http-backend');
  const app = mount({
    '/git': cgiScript(backend, { env: { GIT_PROJECT_ROOT: projects, GIT_HTTP_EXPORT_ALL: '1' }, log: (line) => void log.push(line) }),
  });
  server = await makeServer('127.0.0.1', 0, app, { accessLog: false });
  await git(seed, 'push', '-q', `${server.url}/git/repo.git`, 'main');
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('clones a repository over HTTP through git-http-backend', async () => {
  const clone = join(dir, 'clone-1');
  await git(dir, 'clone', '-q', `${server.url}/git/repo.git`, clone);
  assert.equal(execFileSync('git', ['log', '--format=%s'], { cwd: clone, encoding: 'utf8', env: gitEnv }), 'first\n');
});

it('pushes a commit larger than git\'s post buffer (a chunked request, spooled) and clones it back', async () => {
  const work = join(dir, 'clone-2');
  await git(dir, 'clone', '-q', `${server.url}/git/repo.git`, work);
  writeFileSync(join(work, 'blob.bin'), randomBytes(3 * 1024 * 1024));
  await git(work, 'add', '.');
  await git(work, 'commit', '-qm', 'second');
  await git(work, 'push', '-q', 'origin', 'main');
  const check = join(dir, 'clone-3');
  await git(dir, 'clone', '-q', `${server.url}/git/repo.git`, check);
  assert.equal(execFileSync('git', ['log', '--format=%s'], { cwd: check, encoding: 'utf8', env: gitEnv }), 'second\nfirst\n');
  assert.equal(statSync(join(check, 'blob.bin')).size, 3 * 1024 * 1024);
});

it("clones a repository the script user does not own, with docs/cgi-host.md's safe.directory variables", async (t) => {
  if (process.getuid!() !== 0) return t.skip('only root runs scripts as another user');
  // Root owns this one, as /srv/git does after `git init` run by root; scripts run as nobody.
  const projects = join(dir, 'root-owned');
  cpSync(join(dir, 'projects', 'repo.git'), join(projects, 'repo.git'), { recursive: true });
  chownTree(projects, 0, 0);
  execFileSync('chmod', ['-R', 'a+rX', projects]);
  const backend = join(execFileSync('git', ['--exec-path'], { encoding: 'utf8' }).trim(), 'git-http-backend');
  const serve = (env: Record<string, string>) => makeServer('127.0.0.1', 0, mount({ '/git': cgiScript(backend, { env, log: () => {} }) }), { accessLog: false });
  const plain = await serve({ GIT_PROJECT_ROOT: projects, GIT_HTTP_EXPORT_ALL: '1' });
  const trusting = await serve({
    GIT_PROJECT_ROOT: projects, GIT_HTTP_EXPORT_ALL: '1', GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'safe.directory', GIT_CONFIG_VALUE_0: '*',
  });
  try {
    await assert.rejects(git(dir, 'clone', '-q', `${plain.url}/git/repo.git`, join(dir, 'refused')), /500|dubious|unable to access/i);
    const clone = join(dir, 'clone-root-owned');
    await git(dir, 'clone', '-q', `${trusting.url}/git/repo.git`, clone);
    assert.equal(execFileSync('git', ['log', '-1', '--format=%s'], { cwd: clone, encoding: 'utf8', env: gitEnv }).length > 0, true);
  } finally {
    await plain.close();
    await trusting.close();
  }
});
