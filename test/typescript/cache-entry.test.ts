import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { headerLine, isFresh, readKey, stampOf } from '../../src/typescript/cache-entry.js';

const dir = mkdtempSync(join(tmpdir(), 'tsgi-cache-entry-'));
after(() => rmSync(dir, { recursive: true, force: true }));

it('reads back the key written on the first line, however many inputs it names', () => {
  const input = join(dir, 'app.ts');
  writeFileSync(input, 'export {};\n');
  const many = Array.from({ length: 400 }, (_, i) => [join(dir, `dependency-number-${i}.ts`), 1, i] as [string, number, number]);
  const key = { compiler: 'tsgi test', inputs: [stampOf(input)!, ...many] };
  const file = join(dir, 'compiled.mjs');
  writeFileSync(file, headerLine(key) + 'console.log(1);\n');
  assert.ok(headerLine(key).length > 16 * 1024);
  assert.deepEqual(readKey(file), key);
});

it('finds no key in a missing file or one another program wrote', () => {
  assert.equal(readKey(join(dir, 'nothing.mjs')), undefined);
  const other = join(dir, 'other.mjs');
  writeFileSync(other, '// just a module\nexport {};\n');
  assert.equal(readKey(other), undefined);
  writeFileSync(other, '// tsgi-cache {not json\n');
  assert.equal(readKey(other), undefined);
});

it('is fresh until an input changes its mtime or size, or goes away', () => {
  const input = join(dir, 'lib.ts');
  writeFileSync(input, 'export const a = 1;\n');
  const key = { compiler: 'x', inputs: [stampOf(input)!] };
  assert.equal(isFresh(key), true);
  utimesSync(input, new Date(), new Date(Date.now() + 5000));
  assert.equal(isFresh(key), false);
  const again = { compiler: 'x', inputs: [stampOf(input)!] };
  writeFileSync(input, 'export const a = 12;\n');
  utimesSync(input, new Date(), new Date(again.inputs[0]![1]));
  assert.equal(isFresh(again), false, 'same mtime, other size');
  rmSync(input);
  assert.equal(isFresh(again), false);
});
