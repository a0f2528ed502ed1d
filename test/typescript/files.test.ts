import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isTypeScript, moduleFormat } from '../../src/typescript/files.js';

it('knows TypeScript modules by extension, in any case, but not declaration files', () => {
  for (const name of ['a.ts', '/x/b.mts', 'c.cts', 'D.TS']) assert.equal(isTypeScript(name), true, name);
  for (const name of ['a.js', 'a.d.ts', 'a.d.mts', 'a.tsx', 'ts', 'a.ts.bak']) assert.equal(isTypeScript(name), false, name);
});

it('runs .cts as CommonJS and the others as ES modules', () => {
  assert.equal(moduleFormat('a.cts'), 'cjs');
  assert.equal(moduleFormat('a.ts'), 'esm');
  assert.equal(moduleFormat('a.mts'), 'esm');
});
