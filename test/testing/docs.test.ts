/**
 * docs/testing.md, run: every ```ts block on the page is a complete test file. Each is written
 * to dist/test/ (where `../examples/...` finds the built examples and `tsgi/testing` resolves
 * to the package itself), type-checked with the project's compiler settings, compiled, and
 * run with node --test; every test it declares must pass.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import ts from 'typescript';
import { readBlocks } from '../helpers/doc-blocks.js';
import { compilerOptions, describeDiagnostics } from '../helpers/doc-samples.js';
import { fromRoot } from '../helpers/paths.js';

const fences = readBlocks('docs/testing.md');
const samples = fences.filter((fence) => fence.language === 'ts').map((fence) => fence.code);
const written: string[] = [];

describe('docs/testing.md', () => {
  after(() => {
    for (const file of written) rmSync(file, { force: true });
  });

  it('has only TypeScript samples, so none escapes the run below', () => {
    assert.ok(samples.length >= 6, `found ${samples.length} samples`);
    assert.deepEqual(fences.filter((fence) => fence.language !== 'ts').map((fence) => fence.language), []);
  });

  it('type-checks every sample and runs it: each of its tests passes', () => {
    const sources = samples.map((code, i) => {
      const file = fromRoot('dist', 'test', `docs-testing-sample-${i + 1}.ts`);
      writeFileSync(file, code);
      written.push(file, file.replace(/\.ts$/, '.js'));
      return file;
    });
    // Emitted next to the sources, in dist/test/, so relative imports resolve as they do for the suite.
    const program = ts.createProgram(sources, compilerOptions());
    const emitted = program.emit();
    assert.deepEqual(describeDiagnostics([...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics], sources), []);

    const declared = samples.reduce((sum, code) => sum + (code.match(/^\s*it\(/gm)?.length ?? 0), 0);
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', ...sources.map((file) => file.replace(/\.ts$/, '.js'))], { encoding: 'utf8', env, cwd: fromRoot('.') });
    const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(run.stdout)?.[1] ?? -1);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.equal(count('tests'), declared, run.stdout);
    assert.equal(count('pass'), declared, run.stdout);
  });
});
