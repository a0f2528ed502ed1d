/**
 * Every ```ts block of README.md and docs/*.md type-checks against the package, in one
 * program (one compile for all pages keeps this fast). A block that is a whole module is
 * checked as it is; a fragment gets the few declarations it assumes (FRAGMENTS below: the
 * `app` it serves, the `environ` it reads), and a type declaration of SPEC.md is checked to be
 * the very type `tsgi/types` exports. docs/testing.md is left to test/testing/docs.test.ts,
 * which compiles and runs its blocks as the test files they are. The pages' test files under
 * test/docs/ run what can run, one file per page (checked below).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readBlocks, type DocBlock } from '../helpers/doc-blocks.js';
import { packageScratch, typeCheck } from '../helpers/doc-samples.js';
import { fromRoot } from '../helpers/paths.js';

const PAGES = ['README.md', ...readdirSync(fromRoot('docs')).filter((name) => name.endsWith('.md') && name !== 'testing.md').map((name) => `docs/${name}`)];

interface Fragment {
  page: string;
  /** Text only that block contains. */
  find: string;
  /** What the fragment assumes, declared before it. */
  prelude: string[];
}

const APP = ["import type { Application } from 'tsgi';", 'declare const app: Application;'];

const FRAGMENTS: Fragment[] = [
  { page: 'docs/SPEC.md', find: 'export const clock', prelude: ["import type { Application } from 'tsgi';"] },
  { page: 'docs/SPEC.md', find: "for await (const chunk of environ['tsgi.input'])", prelude: ["import type { Environ } from 'tsgi';", "import { createHash } from 'node:crypto';", 'declare const environ: Environ;', "const hash = createHash('sha256');"] },
  { page: 'docs/SPEC.md', find: 'const checked = validator(app)', prelude: APP },
  { page: 'docs/cgi-scripts.md', find: 'display: true,', prelude: ["import { enable } from 'tsgi/cgitb';"] },
  { page: 'docs/cgi-scripts.md', find: 'debugMiddleware(myApp)', prelude: ["import type { Application } from 'tsgi';", 'declare const myApp: Application;'] },
  { page: 'docs/fastcgi.md', find: 'listenFastCgi(', prelude: APP },
  {
    page: 'docs/fetch.md', find: 'Deno.serve', prelude: [
      ...APP,
      "declare const Deno: { serve(handler: (request: Request, info: { remoteAddr: { hostname: string; port: number; transport: 'tcp' } }) => Response | Promise<Response>): unknown };",
    ],
  },
  { page: 'docs/form.md', find: 'new MultipartParser(', prelude: ["import { MultipartParser } from 'tsgi/form';", "import type { Environ } from 'tsgi';", 'declare const environ: Environ;', 'declare const boundary: string;'] },
];

/** The names `tsgi/types` exports that SPEC.md's declarations may mention. */
const TYPE_NAMES = ['Application', 'Body', 'Chunk', 'Environ', 'HeaderList', 'Middleware', 'StartResponse', 'Write'];

/** A block made of `type X = ...;` lines only: each X must be exactly the exported type of that name. */
function typeDeclarationCheck(code: string): string[] | undefined {
  const declared = [...code.matchAll(/^type (\w+)\b/gm)].map((match) => match[1]!);
  if (declared.length === 0 || code.split('\n').some((line) => line.trim() !== '' && !/^type \w+/.test(line))) return undefined;
  const imported = TYPE_NAMES.filter((name) => !declared.includes(name));
  return [
    `import type { ${imported.join(', ')} } from 'tsgi/types';`,
    "import type * as real from 'tsgi/types';",
    'type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;',
    ...declared.map((name) => `export const same${name}: Same<${name}, real.${name}> = true;`),
  ];
}

function sourceOf(block: DocBlock): { prelude: string[]; epilogue: string[] } {
  const fragment = FRAGMENTS.filter((entry) => entry.page === block.page && block.code.includes(entry.find));
  if (fragment.length > 0) return { prelude: fragment[0]!.prelude, epilogue: [] };
  const typeCheckLines = typeDeclarationCheck(block.code);
  if (typeCheckLines) return { prelude: [], epilogue: typeCheckLines };
  return { prelude: [], epilogue: [] };
}

const blocks = PAGES.flatMap((page) => readBlocks(page)).filter((block) => block.language === 'ts');
const scratch = packageScratch('docs-typecheck');
after(() => scratch.remove());

describe('the TypeScript samples of the docs', () => {
  it('finds each fragment the table names, once', () => {
    for (const fragment of FRAGMENTS) {
      const found = blocks.filter((block) => block.page === fragment.page && block.code.includes(fragment.find));
      assert.equal(found.length, 1, `${fragment.page}: ${fragment.find}`);
    }
    assert.ok(blocks.length >= 20, `${blocks.length} blocks`);
  });

  it('type-check against the package: every page, every block', () => {
    const files = new Map<string, { block: DocBlock; preludeLines: number }>();
    for (const block of blocks) {
      const { prelude, epilogue } = sourceOf(block);
      // A shebang must stay the first line; the prelude takes one line either way, so the sample keeps its line offset.
      const shebang = block.code.startsWith('#!') ? block.code.slice(0, block.code.indexOf('\n') + 1) : '';
      const code = block.code.slice(shebang.length);
      const file = join(scratch.dir, `${block.page.replace(/\W/g, '-')}-${block.line}.ts`);
      // `export {}` makes every sample a module, as a sample with imports is.
      writeFileSync(file, [shebang + prelude.join(' '), code, epilogue.join('\n'), 'export {};\n'].join('\n'));
      files.set(file, { block, preludeLines: 1 });
    }
    const problems = typeCheck([...files.keys()]).map((problem) => {
      // Back to the page's own line numbers: the fence is line 0 of the sample.
      const match = /^([^:]+\.ts):(\d+): ([\s\S]*)$/.exec(problem);
      const entry = match && [...files].find(([file]) => file.endsWith('/' + match[1]))?.[1];
      if (!match || !entry) return problem;
      return `${entry.block.page}:${entry.block.line + Number(match[2]) - entry.preludeLines}: ${match[3]}`;
    });
    assert.deepEqual(problems, []);
  });
});

describe('the docs pages', () => {
  it('each have a test under test/docs/ that runs or checks every block (docs/testing.md and docs/sites.md have theirs elsewhere)', () => {
    const tests = PAGES.filter((page) => page !== 'docs/sites.md').map((page) => `test/docs/${page.replace(/^docs\//, '').replace(/\.md$/, '').toLowerCase()}.test.ts`);
    assert.deepEqual(tests.filter((test) => !existsSync(fromRoot(test))), []);
    assert.ok(existsSync(fromRoot('test', 'testing', 'docs.test.ts')));
    assert.ok(existsSync(fromRoot('test', 'commands', 'serve-sites.test.ts')));
  });
});
