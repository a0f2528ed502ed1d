import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, it } from 'node:test';
import { cacheFolders, prepareFolder, trustedFolder } from '../../src/typescript/cache-folders.js';

const base = mkdtempSync(join(tmpdir(), 'tsgi-cache-folders-'));
after(() => rmSync(base, { recursive: true, force: true }));

const saved = { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, TMPDIR: process.env.TMPDIR };
beforeEach(() => {
  process.env.XDG_CACHE_HOME = join(base, 'xdg');
  process.env.TMPDIR = join(base, 'tmp');
  mkdirSync(process.env.TMPDIR, { recursive: true });
});
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

const uid = process.getuid!();

it('prefers the package\'s node_modules/.cache, then the user cache, then the temp folder', () => {
  const project = join(base, 'project');
  mkdirSync(join(project, 'node_modules'), { recursive: true });
  mkdirSync(join(project, 'src', 'deep'), { recursive: true });
  writeFileSync(join(project, 'package.json'), '{}');
  const folders = cacheFolders(join(project, 'src', 'deep', 'app.ts')).map((folder) => folder.path);
  assert.deepEqual(folders, [join(project, 'node_modules', '.cache', 'tsgi'), join(base, 'xdg', 'tsgi'), join(base, 'tmp', `tsgi-cache-${uid}`)]);
});

it('makes no node_modules for a package without one, and leaves out the user cache for scripts run as another user', () => {
  const bare = join(base, 'bare');
  mkdirSync(bare, { recursive: true });
  writeFileSync(join(bare, 'package.json'), '{}');
  assert.deepEqual(cacheFolders(join(bare, 'app.ts'), { forOtherUser: true }).map((folder) => folder.path), [join(base, 'tmp', `tsgi-cache-${uid}`)]);
});

it('uses the home folder when XDG_CACHE_HOME is unset or relative', () => {
  process.env.XDG_CACHE_HOME = 'relative/cache';
  const paths = cacheFolders('/nowhere/app.ts').map((folder) => folder.path);
  assert.match(paths[0]!, /\/\.cache\/tsgi$/);
});

it('makes the temp folder private to writers (0711) and refuses one someone else could write to', () => {
  const folder = cacheFolders('/nowhere/app.ts').at(-1)!;
  assert.equal(folder.mustOwn, true);
  const umask = process.umask(0o077);
  try {
    assert.equal(prepareFolder(folder), true);
  } finally {
    process.umask(umask);
  }
  assert.equal(statSync(folder.path).mode & 0o777, 0o711);
  chmodSync(folder.path, 0o777);
  assert.equal(trustedFolder(folder), false);
  assert.equal(prepareFolder(folder), false);
});

it('gives up on a folder it cannot make', () => {
  const blocked = join(base, 'blocked');
  writeFileSync(blocked, 'a file where a folder should be');
  assert.equal(prepareFolder({ path: join(blocked, 'tsgi'), mode: 0o755, mustOwn: false }), false);
});
