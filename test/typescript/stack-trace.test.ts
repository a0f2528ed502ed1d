import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { compiledModule } from '../../src/typescript/compiled-module.js';
import { makeProject } from '../helpers/typescript-project.js';

const project = makeProject({
  'lib.ts': `export interface Order { id: number }

export function check(order: Order): void {
  if (order.id < 0) {
    throw new RangeError(\`bad order \${order.id}\`);
  }
}
`,
  'app.ts': `import { check } from './lib.js';
type Id = number;
const id: Id = -1;
try {
  check({ id });
} catch (error) {
  console.log((error as Error).stack);
}
check({ id: id - 1 });
`,
});
after(() => project.remove());

function node(args: string[]) {
  return spawnSync(process.execPath, args, { encoding: 'utf8', env: { PATH: process.env.PATH } });
}

it('points stack traces at the .ts lines without --enable-source-maps, also for an uncaught error', async () => {
  const compiled = await compiledModule(project.path('app.ts'));
  const result = node([compiled]);
  assert.equal(result.status, 1);
  const lib = pathToFileURL(project.path('lib.ts')).href;
  const app = pathToFileURL(project.path('app.ts')).href;
  assert.match(result.stdout, new RegExp(`^RangeError: bad order -1\\n    at check \\(${lib}:5:11\\)\\n    at ${app}:5:3\\n`));
  assert.match(result.stderr, new RegExp(`RangeError: bad order -2\\n    at check \\(${lib}:5:11\\)\\n    at ${app}:9:1\\n`));
  assert.doesNotMatch(result.stdout + result.stderr.split('\n\n').slice(1).join(''), /tsgi-cache|\.mjs:/);
});

it('leaves the mapping to Node when its source maps are on', async () => {
  const compiled = await compiledModule(project.path('app.ts'));
  const result = node(['--enable-source-maps', compiled]);
  assert.match(result.stdout, new RegExp(`at check \\(${project.path('lib.ts')}:5:11\\)`));
});
