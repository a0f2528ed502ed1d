import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, it } from 'node:test';
import { fromRoot } from './helpers/paths.js';

/** What `npm pack` puts in the tarball, as paths relative to the package folder. */
function packedFiles(): Set<string> {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: fromRoot('.'), encoding: 'utf8' });
  const [pack] = JSON.parse(out) as { files: { path: string }[] }[];
  return new Set(pack!.files.map((file) => file.path));
}

describe('the published package', () => {
  it('ships every source file its source maps name, so stack traces and cgitb reports open real files', () => {
    const files = packedFiles();
    const maps = [...files].filter((path) => path.startsWith('dist/src/') && path.endsWith('.js.map'));
    assert.ok(maps.length > 50, `expected the compiled modules' maps in the tarball, found ${maps.length}`);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(fromRoot(map), 'utf8')) as { sources: string[] };
      for (const source of sources) {
        const path = normalize(join(dirname(map), source));
        if (!files.has(path)) missing.push(`${map} -> ${path}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it('ships no tests, benchmarks or examples', () => {
    const stray = [...packedFiles()].filter((path) => /^(dist\/)?(test|bench|examples)\//.test(path));
    assert.deepEqual(stray, []);
  });
});
