/**
 * docs/sites.md, run: gitweb, cgit, git over HTTP behind --auth and PHP by extension, each
 * from the command line the page shows and from its config file, with Debian's own programs.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { readRecipes } from '../helpers/doc-recipes.js';
import type { RecipePage } from '../helpers/doc-recipes.js';
import { launchChromium, SCREENSHOTS } from '../helpers/examples-browser.js';
import { startTsgi } from '../helpers/examples-server.js';
import type { RunningTsgi } from '../helpers/examples-server.js';
import { fetchRaw } from '../helpers/http-client.js';

const run = promisify(execFile);
const gitEnv = { PATH: '/usr/local/bin:/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };
let srv: string;
let page: RecipePage;

function git(cwd: string, ...args: string[]) {
  return run('git', ['-c', 'user.name=Test', '-c', 'user.email=t@example.org', '-c', 'init.defaultBranch=main', ...args], { cwd, env: { ...gitEnv, HOME: srv } });
}

function chownTree(path: string, uid: number): void {
  chownSync(path, uid, uid);
  if (statSync(path).isDirectory()) for (const name of readdirSync(path)) chownTree(join(path, name), uid);
}

/** Starts the recipe's command line, or tsgi with its config file written out. */
async function startRecipe(name: string, form: 'command line' | 'config file'): Promise<RunningTsgi> {
  const recipe = page.recipes.get(name);
  assert.ok(recipe && recipe.args.length > 0 && recipe.config !== '', `docs/sites.md has a command line and a config file for ${name}`);
  let args = recipe.args;
  if (form === 'config file') {
    const file = join(srv, `${name}.json`);
    writeFileSync(file, recipe.config);
    args = ['serve', '--config', file];
  }
  return startTsgi([...args, '--port', '0', '--no-access-log']);
}

async function get(tsgi: RunningTsgi, path: string, headers: Record<string, string> = {}) {
  return fetchRaw(`http://127.0.0.1:${tsgi.port}${path}`, { headers });
}

before(async () => {
  srv = mkdtempSync(join(tmpdir(), 'tsgi-sites-'));
  chmodSync(srv, 0o755);
  page = readRecipes('sites.md', srv);
  for (const [path, text] of page.files) writeFileSync(path, text);
  mkdirSync(join(srv, 'git'));
  await run('git', ['init', '-q', '--bare', '-b', 'main', join(srv, 'git', 'repo.git')], { env: gitEnv });
  writeFileSync(join(srv, 'git', 'repo.git', 'description'), 'A repository for the sites recipes\n');
  const seed = join(srv, 'seed');
  await git(srv, 'init', '-q', seed);
  writeFileSync(join(seed, 'README'), 'tsgi sites recipe\n');
  await git(seed, 'add', '.');
  await git(seed, 'commit', '-qm', 'first commit');
  mkdirSync(join(seed, 'src'));
  writeFileSync(join(seed, 'src', 'main.c'), 'int main(void) { return 0; }\n');
  await git(seed, 'add', '.');
  await git(seed, 'commit', '-qm', 'second commit: add main.c');
  await git(seed, 'push', '-q', join(srv, 'git', 'repo.git'), 'main');
  execFileSync('chmod', ['-R', 'a+rX', join(srv, 'git')]);
  mkdirSync(join(srv, 'www', 'sub'), { recursive: true });
  writeFileSync(join(srv, 'www', 'hello.php'), '<?php echo "Hello ", htmlspecialchars($_GET["name"] ?? "nobody"), " from ", PHP_SAPI, "\\n";');
  writeFileSync(join(srv, 'www', 'sub', 'index.php'), '<?php echo "index of sub at ", $_SERVER["SCRIPT_NAME"], "\\n";');
  writeFileSync(join(srv, 'www', 'style.css'), 'body { color: black }\n');
  execFileSync('htpasswd', ['-cbB', join(srv, 'git.htpasswd'), 'ann', 'correct horse'], { stdio: 'ignore' });
});

after(() => {
  rmSync(srv, { recursive: true, force: true });
});

const FORMS = ['command line', 'config file'] as const;

describe('gitweb (docs/sites.md)', () => {
  for (const form of FORMS) {
    it(`lists projects, shows a commit and a blob, serves its static files (${form})`, async () => {
      const tsgi = await startRecipe('gitweb', form);
      try {
        const list = await get(tsgi, '/');
        assert.equal(list.status, 200, tsgi.stderr());
        assert.match(list.text, /repo\.git/);
        assert.match(list.text, /A repository for the sites recipes/);
        const commit = await get(tsgi, '/index.cgi?p=repo.git;a=commit;h=HEAD');
        assert.equal(commit.status, 200);
        assert.match(commit.text, /second commit: add main\.c/);
        const blob = await get(tsgi, '/index.cgi?p=repo.git;a=blob_plain;f=README;hb=HEAD');
        assert.equal(blob.text, 'tsgi sites recipe\n');
        const css = await get(tsgi, '/static/gitweb.css');
        assert.equal(css.status, 200);
        assert.match(String(css.headers['content-type']), /^text\/css/);
        if (form === 'command line') await screenshots(tsgi, 'gitweb', ['/', '/index.cgi?p=repo.git;a=commit;h=HEAD']);
      } finally {
        await tsgi.stop();
      }
    });
  }
});

describe('cgit (docs/sites.md)', () => {
  for (const form of FORMS) {
    it(`shows the repository index, log and tree, and downloads a snapshot (${form})`, async () => {
      const tsgi = await startRecipe('cgit', form);
      try {
        const index = await get(tsgi, '/cgit/');
        assert.equal(index.status, 200, tsgi.stderr());
        assert.match(index.text, /repo\.git/);
        const log = await get(tsgi, '/cgit/repo.git/log/');
        assert.match(log.text, /second commit: add main\.c/);
        assert.match(log.text, /first commit/);
        const tree = await get(tsgi, '/cgit/repo.git/tree/');
        assert.match(tree.text, /README/);
        assert.match(tree.text, />src</);
        const commit = await get(tsgi, '/cgit/repo.git/commit/');
        const link = /href='([^']*\/snapshot\/[^']*\.tar\.gz)'/.exec(commit.text)?.[1];
        assert.ok(link, 'the commit page links a tar.gz snapshot');
        const snapshot = await get(tsgi, link);
        assert.equal(snapshot.status, 200);
        const tar = gunzipSync(snapshot.body);
        const folder = link.split('/').pop()!.replace(/\.tar\.gz$/, '');
        assert.ok(tar.includes(`${folder}/README\0`), `the snapshot holds ${folder}/README`);
        assert.ok(tar.includes('tsgi sites recipe\n'), 'with its contents');
        const css = await get(tsgi, '/cgit.css');
        assert.equal(css.status, 200);
        if (form === 'command line') await screenshots(tsgi, 'cgit', ['/cgit/', '/cgit/repo.git/log/']);
      } finally {
        await tsgi.stop();
      }
    });
  }
});

describe('git over HTTP behind --auth (docs/sites.md)', () => {
  before(() => {
    // Pushing writes as the script's user: nobody under root, as the recipe says.
    if (process.getuid!() === 0) chownTree(join(srv, 'git'), 65534);
  });
  for (const form of FORMS) {
    it(`clones and pushes with the password, and is refused without it (${form})`, async () => {
      const tsgi = await startRecipe('git', form);
      const plain = `http://127.0.0.1:${tsgi.port}/git/repo.git`;
      const withPassword = `http://ann:correct%20horse@127.0.0.1:${tsgi.port}/git/repo.git`;
      const work = join(srv, `clone-${form.replace(' ', '-')}`);
      try {
        await assert.rejects(git(srv, 'clone', '-q', plain, work + '-anonymous'), /Authentication failed|could not read Username|401/);
        await git(srv, 'clone', '-q', withPassword, work);
        writeFileSync(join(work, `${form}.txt`), 'pushed\n');
        await git(work, 'add', '.');
        await git(work, 'commit', '-qm', `push from the ${form}`);
        await assert.rejects(git(work, 'push', '-q', plain, 'main'), /Authentication failed|could not read Username|401/);
        await assert.rejects(git(work, 'push', '-q', `http://ann:wrong@127.0.0.1:${tsgi.port}/git/repo.git`, 'main'), /Authentication failed|could not read Username|401/);
        await git(work, 'push', '-q', withPassword, 'main');
        const { stdout } = await run('git', ['log', '-1', '--format=%s', 'main'], { cwd: join(srv, 'git', 'repo.git'), env: { ...gitEnv, HOME: srv, GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'safe.directory', GIT_CONFIG_VALUE_0: '*' } });
        assert.equal(stdout, `push from the ${form}\n`);
        assert.match(tsgi.stderr(), /user "ann" not accepted/);
      } finally {
        await tsgi.stop();
      }
    });
  }
});

describe('PHP by extension (docs/sites.md)', () => {
  for (const form of FORMS) {
    it(`runs .php files through php-cgi, index.php for a folder, never their source (${form})`, async () => {
      const tsgi = await startRecipe('php', form);
      try {
        const hello = await get(tsgi, '/hello.php?name=ann');
        assert.equal(hello.status, 200, tsgi.stderr());
        assert.equal(hello.text, 'Hello ann from cgi-fcgi\n');
        assert.equal((await get(tsgi, '/sub/')).text, 'index of sub at /sub/index.php\n');
        assert.doesNotMatch((await get(tsgi, '/HELLO.PHP')).text, /<\?php/);
        assert.equal((await get(tsgi, '/style.css')).text, 'body { color: black }\n');
      } finally {
        await tsgi.stop();
      }
    });
  }
});

async function screenshots(tsgi: RunningTsgi, name: string, paths: string[]): Promise<void> {
  const browser = await launchChromium();
  try {
    const tab = await browser.context.newPage();
    for (const [i, path] of paths.entries()) {
      const response = await tab.goto(`http://127.0.0.1:${tsgi.port}${path}`);
      assert.equal(response?.status(), 200);
      // The stylesheet must have loaded: an unstyled page would mean its static files broke.
      const styled = await tab.evaluate<boolean>('[...document.styleSheets].some((sheet) => sheet.cssRules.length > 0)');
      assert.equal(styled, true, `${name} ${path} has its stylesheet`);
      await tab.screenshot({ path: join(SCREENSHOTS, `sites-${name}-${i + 1}.png`), fullPage: true });
    }
  } finally {
    await browser.close();
  }
}
