import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { routePhp, type PhpRouteSettings } from '../../../src/apps/php/route.js';
import { Refusal } from '../../../src/apps/safe-path.js';

describe('routePhp', () => {
  const top = realpathSync(mkdtempSync(join(tmpdir(), 'tsgi-php-route-')));
  const root = join(top, 'site');
  mkdirSync(join(root, 'blog', 'old'), { recursive: true });
  mkdirSync(join(root, 'assets'));
  for (const file of ['index.php', 'blog/index.php', 'info.PHP', 'config.inc', 'assets/app.css', 'assets/notes.txt.phps']) writeFileSync(join(root, file), 'x');
  writeFileSync(join(top, 'outside.php'), 'x');
  symlinkSync(join(top, 'outside.php'), join(root, 'escape.php'));
  symlinkSync(join(root, 'config.inc'), join(root, 'assets', 'config.txt'));
  symlinkSync(join(root, 'blog'), join(root, 'journal'));
  const settings: PhpRouteSettings = { root, index: ['index.php'], frontController: '/index.php' };
  after(() => rmSync(top, { recursive: true, force: true }));

  const script = (path: string, base = '') => {
    const route = routePhp(settings, base, path);
    assert.ok(!(route instanceof Refusal) && route.kind === 'script', `${path}: ${JSON.stringify(route)}`);
    return route.location;
  };
  const refused = (path: string) => {
    const route = routePhp(settings, '', path);
    assert.ok(route instanceof Refusal, `${path}: ${JSON.stringify(route)}`);
    return route.status;
  };

  it('splits the path after the first .php segment, case-insensitively', () => {
    assert.deepEqual(script('/blog/index.php/2026/hello/'), { scriptName: '/blog/index.php', pathInfo: '/2026/hello/', filename: join(root, 'blog', 'index.php') });
    assert.equal(script('/info.PHP').filename, join(root, 'info.PHP'));
    assert.equal(script('/index.php', '/app').scriptName, '/app/index.php');
  });

  it('runs index.php for a folder, redirecting a path without its slash', () => {
    assert.equal(script('/').filename, join(root, 'index.php'));
    assert.equal(script('/blog/').filename, join(root, 'blog', 'index.php'));
    assert.deepEqual(routePhp(settings, '/app', '/blog'), { kind: 'redirect', location: '/app/blog/' });
    assert.equal(script('/journal/').filename, join(root, 'blog', 'index.php'), 'a symlinked folder inside the root');
  });

  it('sends paths that name no file to the front controller, or 404 without one', () => {
    assert.deepEqual(script('/2026/hello'), { scriptName: '/index.php', pathInfo: '', filename: join(root, 'index.php') });
    assert.equal(script('/missing.php/x').scriptName, '/index.php');
    assert.deepEqual(routePhp(settings, '', '/blog/old/'), { kind: 'static' }, 'a folder without index.php is the static server\'s');
    assert.equal((routePhp({ ...settings, frontController: false }, '', '/nothing') as Refusal).status, 404);
  });

  it('leaves other files to the static server', () => {
    assert.deepEqual(routePhp(settings, '', '/assets/app.css'), { kind: 'static' });
  });

  it('never serves PHP source or dot-files, nor follows a symlink out of the root', () => {
    assert.equal(refused('/config.inc'), 403);
    assert.equal(refused('/assets/notes.txt.phps'), 403);
    assert.equal(refused('/assets/config.txt'), 403, 'a symlink whose target is PHP source');
    assert.equal(refused('/.env'), 403);
    assert.equal(refused('/blog/.git/config'), 403);
    assert.equal(refused('/escape.php'), 403);
    assert.equal(refused('/blog/../config.inc'), 400);
  });
});
