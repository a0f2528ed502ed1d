/** `tsgi serve` running TypeScript CGI scripts: the real command, a real port, scripts as nobody under root. */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTsgi } from '../helpers/examples-server.js';
import { fetchRaw } from '../helpers/http-client.js';
import { makeProject } from '../helpers/typescript-project.js';
import type { Project } from '../helpers/typescript-project.js';

const HELLO = `import { runCgi } from 'tsgi/cgi';
import type { Application } from 'tsgi/types';
import { greeting } from './greeting.js';

const app: Application = (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [greeting(new URLSearchParams(environ.QUERY_STRING).get('name') ?? 'world')];
};
runCgi(app);
`;
const GREETING = 'export const greeting = (name: string): string => `hello, ${name}\\n`;\n';
const CRASH = `import { enable } from 'tsgi/cgitb';
enable();

interface Order { id: number }
function ship(order: Order): void {
  throw new Error(\`order \${order.id} has no address\`);
}
ship({ id: 42 });
`;

describe('tsgi serve with TypeScript scripts', () => {
  let project: Project;
  before(() => {
    project = makeProject({
      'cgi-bin/hello.ts': HELLO, 'cgi-bin/greeting.ts': GREETING, 'cgi-bin/crash.ts': CRASH,
      'pages/app.ts': HELLO, 'pages/greeting.ts': GREETING, 'pages/tools/index.ts': HELLO.replace('./greeting.js', '../greeting.js'),
      'pages/note.txt': 'plain\n',
    });
  });
  after(() => project.remove());

  it('--cgi runs a .ts in a CGI folder through node on its compiled module, compiled once', async () => {
    const server = await startTsgi(['serve', project.dir, '--cgi', '--port', '0', '--no-access-log']);
    try {
      const first = await fetchRaw(`http://127.0.0.1:${server.port}/cgi-bin/hello.ts?name=ts`);
      assert.equal(first.status, 200, server.stderr());
      assert.equal(first.text, 'hello, ts\n');
      const [name] = readdirSync(project.cache).filter((file) => file.startsWith('hello.ts-'));
      const compiled = statSync(join(project.cache, name!));
      assert.equal((await fetchRaw(`http://127.0.0.1:${server.port}/cgi-bin/hello.ts`)).text, 'hello, world\n');
      const again = statSync(join(project.cache, name!));
      assert.deepEqual([again.ino, again.mtimeMs], [compiled.ino, compiled.mtimeMs]);
    } finally {
      await server.stop();
    }
  });

  it('a cgitb report from a .ts script shows the .ts lines', async () => {
    const server = await startTsgi(['serve', project.dir, '--cgi', '--port', '0', '--no-access-log']);
    try {
      const page = await fetchRaw(`http://127.0.0.1:${server.port}/cgi-bin/crash.ts`);
      assert.equal(page.status, 500);
      assert.match(page.text, /order 42 has no address/);
      assert.ok(page.text.includes(`${project.path('cgi-bin/crash.ts')}:6:9`), page.text);
      assert.match(page.text, /throw new Error\(`order \$\{order\.id\} has no address`\);/);
      assert.doesNotMatch(page.text.replace(/<!--[\s\S]*?-->/g, ''), /tsgi-cache|crash\.ts-[0-9a-f]+\.mjs/);
    } finally {
      await server.stop();
    }
  });

  it('--cgi-ext .ts runs .ts files anywhere under DIR, index.ts for a folder, the rest as files', async () => {
    const server = await startTsgi(['serve', project.path('pages'), '--cgi-ext', '.ts', '--port', '0', '--no-access-log']);
    try {
      assert.equal((await fetchRaw(`http://127.0.0.1:${server.port}/app.ts?name=ext`)).text, 'hello, ext\n', server.stderr());
      assert.equal((await fetchRaw(`http://127.0.0.1:${server.port}/tools/`)).text, 'hello, world\n');
      assert.equal((await fetchRaw(`http://127.0.0.1:${server.port}/note.txt`)).text, 'plain\n');
    } finally {
      await server.stop();
    }
  });

  it('--persistent .ts keeps a .ts script running, and runs the new code after an edit', async () => {
    project.write('cgi-bin/pid.ts', 'import { runCgi } from \'tsgi/cgi\';\nrunCgi((_e, start) => {\n  start(\'200 OK\', []);\n  return [`one ${process.pid}`];\n});\n');
    const server = await startTsgi(['serve', project.dir, '--cgi', '--persistent', '.ts', '--port', '0', '--no-access-log']);
    try {
      const get = async () => (await fetchRaw(`http://127.0.0.1:${server.port}/cgi-bin/pid.ts`)).text;
      const answers = new Set<string>();
      for (let i = 0; i < 5; i++) answers.add(await get());
      assert.equal(answers.size, 1, server.stderr());
      const [first] = answers;
      assert.match(first!, /^one \d+$/);
      project.write('cgi-bin/pid.ts', readFileSync(project.path('cgi-bin/pid.ts'), 'utf8').replace('`one ', '`two '), { later: true });
      const edited = await get();
      assert.match(edited, /^two \d+$/);
      assert.notEqual(edited.split(' ')[1], first!.split(' ')[1]);
      assert.equal(await get(), edited);
    } finally {
      await server.stop();
    }
  });
});
