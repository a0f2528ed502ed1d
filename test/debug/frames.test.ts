import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { originalPosition } from '../../src/debug/frames.js';

const dir = mkdtempSync(join(tmpdir(), 'tsgi-frames-'));
after(() => rmSync(dir, { recursive: true, force: true }));

it('reads an inline source map however long it is', () => {
  const source = join(dir, 'app.ts');
  // Line 3 of the compiled file is line 1 of the source; a long sourcesContent makes the comment far longer than a tail read.
  const map = { version: 3, sources: [pathToFileURL(source).href], sourcesContent: ['x'.repeat(20_000)], names: [], mappings: ';;AAAA' };
  const compiled = join(dir, 'compiled.mjs');
  writeFileSync(compiled, `// header\n// banner\nthrow new Error();\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n`);
  const position = originalPosition(compiled, 3, 1);
  assert.equal(position?.source, source);
  assert.equal(position?.line, 1);
});
