import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CompileError, compiledModule, freshCompiledModule } from '../../src/typescript/compiled-module.js';
import { fromRoot } from '../helpers/paths.js';
import { makeProject } from '../helpers/typescript-project.js';
import type { Project } from '../helpers/typescript-project.js';

const LIB = `export interface Greeting { text: string }
export enum Tone { Loud = 'LOUD', Soft = 'soft' }
export function greet(name: string, tone: Tone = Tone.Soft): Greeting {
  return { text: tone === Tone.Loud ? name.toUpperCase() : name };
}
export const where: string = import.meta.url;
`;

const APP = `import { greet, Tone, where } from './lib.js';
import type { Greeting } from './lib.js';
import { twice } from './util.ts';
import { parseStatus } from 'tsgi/handler';

const greeting: Greeting = greet('hello', Tone.Loud);
console.log(twice(greeting.text), parseStatus('200 OK').join(' '));
console.log(where === import.meta.url ? 'same' : 'own', where, import.meta.url, import.meta.dirname);
`;

function run(file: string, env: NodeJS.ProcessEnv = {}): { stdout: string; stderr: string; status: number | null } {
  const result = spawnSync(process.execPath, [file], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

/** Asks another process for the compiled module: what a second `tsgi run` or server would do. */
function compileElsewhere(source: string, env: NodeJS.ProcessEnv = {}): string {
  const module = pathToFileURL(fromRoot('dist/src/typescript/compiled-module.js')).href;
  const code = `const m = await import(${JSON.stringify(module)}); process.stdout.write(await m.compiledModule(process.argv[1]));`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', code, source], { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

describe('compiledModule', () => {
  let project: Project;
  beforeEach(() => {
    project = makeProject({ 'src/lib.ts': LIB, 'src/util.ts': 'export const twice = (text: string): string => `${text} ${text}`;\n', 'src/app.ts': APP });
  });
  afterEach(() => project.remove());

  it('compiles a module and the local files it imports (./lib.js meaning lib.ts) into one file in the package cache', async () => {
    const compiled = await compiledModule(project.path('src/app.ts'));
    assert.equal(compiled.startsWith(project.cache + '/'), true, compiled);
    assert.match(compiled, /\/app\.ts-[0-9a-f]{16}\.mjs$/);
    const text = readFileSync(compiled, 'utf8');
    assert.doesNotMatch(text, /interface Greeting|from ["']\.\/lib/);
    const result = run(compiled);
    assert.equal(result.status, 0, result.stderr);
    const [first, second] = result.stdout.split('\n');
    assert.equal(first, 'HELLO HELLO 200 OK');
    // import.meta stays each file's: a bundled library does not see the cache's URL.
    assert.equal(second, `own ${pathToFileURL(project.path('src/lib.ts')).href} ${pathToFileURL(project.path('src/app.ts')).href} ${project.path('src')}`);
  });

  it('imports packages by the file they resolve to, so the compiled module runs from any folder', async () => {
    const compiled = await compiledModule(project.path('src/app.ts'));
    const text = readFileSync(compiled, 'utf8');
    const imported = /from "([^"]+)"/.exec(text)?.[1];
    assert.equal(imported, fromRoot('dist/src/handler.js'));
    const elsewhere = join(project.dir, 'moved.mjs');
    writeFileSync(elsewhere, text);
    assert.equal(run(elsewhere).stdout.split('\n')[0], 'HELLO HELLO 200 OK');
  });

  it('keys the cache by every input: a second process reuses the file untouched, an edit to a dependency recompiles', async () => {
    const source = project.path('src/app.ts');
    const compiled = await compiledModule(source);
    const first = statSync(compiled);
    assert.equal(compileElsewhere(source), compiled);
    const second = statSync(compiled);
    assert.equal(second.ino, first.ino);
    assert.equal(second.mtimeMs, first.mtimeMs);
    project.write('src/util.ts', 'export const twice = (text: string): string => `${text}+${text}`;\n', { later: true });
    assert.equal(freshCompiledModule(source), undefined);
    assert.equal(compileElsewhere(source), compiled);
    assert.notEqual(statSync(compiled).ino, first.ino);
    assert.equal(run(compiled).stdout.split('\n')[0], 'HELLO+HELLO 200 OK');
    // This process remembered the old key: it sees the new file once its own check fails.
    assert.equal(await compiledModule(source), compiled);
  });

  it('recompiles when the source itself changes', async () => {
    const source = project.path('src/app.ts');
    await compiledModule(source);
    project.write('src/app.ts', APP.replace("greet('hello'", "greet('bye'"), { later: true });
    const compiled = await compiledModule(source);
    assert.equal(run(compiled).stdout.split('\n')[0], 'BYE BYE 200 OK');
  });

  it('reports a syntax error with file:line:column and the line', async () => {
    const source = project.write('src/broken.ts', 'const a: number = 1;\nconst b = a +* 2;\n');
    await assert.rejects(async () => compiledModule(source), (error: unknown) => {
      assert.ok(error instanceof CompileError);
      assert.match(error.message, new RegExp(`^${source.replace(/[.]/g, '\\.')}:2:14: Unexpected "\\*"\\n  2 \\| const b = a \\+\\* 2;\\n    \\| {14}\\^$`));
      return true;
    });
    const dependent = project.write('src/uses-broken.ts', "import './broken-lib.js';\n");
    project.write('src/broken-lib.ts', 'export const x = import.meta.url +;\n');
    await assert.rejects(async () => compiledModule(dependent), /broken-lib\.ts:1:35: Unexpected ";"/);
  });

  it('compiles .cts to CommonJS', async () => {
    const source = project.write('tool.cts', 'import { basename } from "node:path";\nexport const name: string = basename(__filename);\nconsole.log(typeof module, name);\n');
    const compiled = await compiledModule(source);
    assert.match(compiled, /\.cjs$/);
    const result = run(compiled);
    assert.equal(result.stdout, `object ${compiled.split('/').pop()}\n`, result.stderr);
  });

  it('keeps the source\'s read permissions: a private source gets a private compiled file', async () => {
    const source = project.write('src/secret.ts', 'export const key: string = "s3cret";\n', { mode: 0o600 });
    assert.equal(statSync(await compiledModule(source)).mode & 0o777, 0o600);
    assert.equal(statSync(await compiledModule(project.path('src/app.ts'))).mode & 0o777, 0o644);
  });

  it('turns a #! line into a comment, as only the first line may hold one and the key is there', async () => {
    const source = project.write('script.ts', '#!/usr/bin/env -S node --import tsx\nconst n: number = 4;\nconsole.log(n * 2);\n');
    const result = run(await compiledModule(source));
    assert.equal(result.stdout, '8\n', result.stderr);
  });
});

describe('compiledModule when the package cache cannot be written', () => {
  let project: Project;
  const saved = { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, TMPDIR: process.env.TMPDIR };
  const restore = () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  beforeEach(() => {
    project = makeProject({ 'app.ts': 'const n: number = 1;\nconsole.log(n + 1);\n' });
    // Files where the folders would go: even root cannot make those.
    mkdirSync(join(project.dir, 'node_modules'), { recursive: true });
    writeFileSync(join(project.dir, 'node_modules', '.cache'), '');
    writeFileSync(join(project.dir, 'xdg'), '');
    process.env.XDG_CACHE_HOME = join(project.dir, 'xdg');
    process.env.TMPDIR = project.path('tmp');
    mkdirSync(process.env.TMPDIR);
  });
  afterEach(() => {
    restore();
    project.remove();
  });

  it('falls back to a folder of its own in the temp dir', async () => {
    const compiled = await compiledModule(project.path('app.ts'));
    assert.equal(compiled.startsWith(join(project.path('tmp'), `tsgi-cache-${process.getuid!()}`) + '/'), true, compiled);
    assert.equal(run(compiled).stdout, '2\n');
  });

  it('and when that one is someone else\'s, to a new temp folder', async () => {
    const taken = join(project.path('tmp'), `tsgi-cache-${process.getuid!()}`);
    mkdirSync(taken);
    chmodSync(taken, 0o777);
    const compiled = await compiledModule(project.path('app.ts'));
    assert.equal(compiled.startsWith(project.path('tmp') + '/tsgi-cache-'), true);
    assert.equal(compiled.startsWith(taken + '/'), false, compiled);
    assert.equal(run(compiled).stdout, '2\n');
  });
});
