/**
 * docs/soak.md has no code blocks; what it says is checked instead: the npm script, the
 * scenarios of its table (the runner's, in its order, each with its file and its short test),
 * and the selection by name.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { scenarios } from '../../soak/scenarios.js';
import { fromRoot } from '../helpers/paths.js';

const page = readFileSync(fromRoot('docs', 'soak.md'), 'utf8');

describe('docs/soak.md', () => {
  it('names the npm script package.json has', () => {
    const scripts = (JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    assert.equal(scripts.soak, 'npm run build && node dist/soak/run.js');
    assert.match(page, /`node dist\/soak\/run\.js slowloris uploads` runs only the scenarios whose names contain one\nof the arguments/);
  });

  it('lists the scenarios the runner runs, in its order, each a file of soak/ with a short version in test/soak/', () => {
    const listed = [...page.matchAll(/^\| `([a-z-]+)` \|/gm)].map((match) => match[1]);
    assert.deepEqual(listed, scenarios.map((scenario) => scenario.name));
    for (const { name } of scenarios) {
      assert.ok(existsSync(fromRoot('soak', `${name}.ts`)), `soak/${name}.ts`);
      assert.ok(existsSync(fromRoot('test', 'soak', `${name}.test.ts`)), `test/soak/${name}.test.ts`);
    }
  });
});
