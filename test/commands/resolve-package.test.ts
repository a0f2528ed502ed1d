/** resolvePackage(): what `tsgi run PACKAGE` loads, from the folder it runs in. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PackageResolutionError, resolvePackage, splitSpecifier } from '../../src/commands/resolve-package.js';

let project: string;

function write(path: string, text: string): void {
  mkdirSync(dirname(join(project, path)), { recursive: true });
  writeFileSync(join(project, path), text);
}

before(() => {
  project = mkdtempSync(join(tmpdir(), 'tsgi-resolve-'));
  write('node_modules/dual/package.json', JSON.stringify({ exports: { '.': { require: './app.cjs', import: './app.mjs' }, './extra/*': { node: './lib/*.js' } } }));
  write('node_modules/dual/app.mjs', '');
  write('node_modules/sugar/package.json', JSON.stringify({ exports: { import: './esm.js', default: './cjs.js' } }));
  write('node_modules/old/package.json', JSON.stringify({ main: 'lib/server' }));
  write('node_modules/old/lib/server.js', '');
  write('node_modules/plain/package.json', '{}');
  write('node_modules/plain/index.js', '');
  write('node_modules/@team/site/package.json', JSON.stringify({ exports: { './admin': './admin.js' } }));
  write('node_modules/broken/package.json', '{ not json');
  mkdirSync(join(project, 'src', 'deep'), { recursive: true });
});
after(() => rmSync(project, { recursive: true, force: true }));

describe('resolvePackage', () => {
  it('splits scoped and unscoped names from their subpaths', () => {
    assert.deepEqual(splitSpecifier('a'), { name: 'a', subpath: '.' });
    assert.deepEqual(splitSpecifier('a/b/c'), { name: 'a', subpath: './b/c' });
    assert.deepEqual(splitSpecifier('@s/a/b'), { name: '@s/a', subpath: './b' });
  });

  it('follows exports with the import conditions, from a folder below the project', () => {
    const from = join(project, 'src', 'deep');
    assert.equal(resolvePackage('dual', from), join(project, 'node_modules/dual/app.mjs'));
    assert.equal(resolvePackage('sugar', from), join(project, 'node_modules/sugar/esm.js'));
    assert.equal(resolvePackage('dual/extra/tool', from), join(project, 'node_modules/dual/lib/tool.js'));
    assert.equal(resolvePackage('@team/site/admin', from), join(project, 'node_modules/@team/site/admin.js'));
  });

  it('falls back to main, then index.js, without exports', () => {
    assert.equal(resolvePackage('old', project), join(project, 'node_modules/old/lib/server.js'));
    assert.equal(resolvePackage('plain', project), join(project, 'node_modules/plain/index.js'));
  });

  it('answers undefined for a package no node_modules holds, and explains a broken one', () => {
    assert.equal(resolvePackage('nowhere', project), undefined);
    assert.throws(() => resolvePackage('@team/site', project), (error: unknown) => error instanceof PackageResolutionError && /exports no "\." for import/.test(error.message));
    assert.throws(() => resolvePackage('broken', project), /package\.json is not valid JSON/);
  });
});
