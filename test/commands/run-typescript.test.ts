/** `tsgi run app.ts`: the real command, a real port, the compile cache as another run finds it. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { startTsgi } from '../helpers/examples-server.js';
import { fetchRaw } from '../helpers/http-client.js';
import { fromRoot } from '../helpers/paths.js';
import { makeProject } from '../helpers/typescript-project.js';
import type { Project } from '../helpers/typescript-project.js';
import { waitFor } from '../helpers/wait-for.js';

const LIB = `export interface Reply { status: string; text: string }
export const reply = (path: string): Reply => ({ status: '200 OK', text: \`typescript at \${path}\` });
`;

const APP = `import type { Application } from 'tsgi';
import { reply } from './lib.js';
import { shout } from './util.ts';

export const app: Application = (environ, startResponse) => {
  if (environ.PATH_INFO === '/boom') throw new TypeError('no such page');
  const { status, text } = reply(environ.PATH_INFO);
  startResponse(status, [['Content-Type', 'text/plain']]);
  return [environ.QUERY_STRING === 'loud' ? shout(text) : text];
};
`;

const UTIL = 'export function shout(text: string): string {\n  return text.toUpperCase() + \'!\';\n}\n';

function cli(project: Project, args: string[], options: { uid?: number; env?: NodeJS.ProcessEnv } = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return spawnSync(process.execPath, [fromRoot('dist/src/cli.js'), ...args], {
    cwd: project.dir, encoding: 'utf8', env, timeout: 20_000, ...(options.uid !== undefined ? { uid: options.uid, gid: options.uid } : {}),
  });
}

/** Starts `tsgi run SPEC --port 0` in the project, runs `use` against its port, and stops it. */
async function serving(project: Project, spec: string, use: (port: number, stderr: () => string) => Promise<void>): Promise<void> {
  const server = await startTsgi([`run`, project.path(spec), '--port', '0', '--no-access-log']);
  try {
    await use(server.port, server.stderr);
  } finally {
    await server.stop();
  }
}

function cacheFile(project: Project, prefix: string): string {
  const names = readdirSync(project.cache).filter((name) => name.startsWith(prefix));
  assert.equal(names.length, 1, names.join(', '));
  return join(project.cache, names[0]!);
}

describe('tsgi run with TypeScript', () => {
  let project: Project;
  beforeEach(() => {
    project = makeProject({ 'lib.ts': LIB, 'util.ts': UTIL, 'app.ts': APP });
  });
  afterEach(() => project.remove());

  it('serves a .ts app whose imports name other .ts files, as ./lib.js and as ./util.ts', async () => {
    await serving(project, 'app.ts:app', async (port) => {
      assert.equal((await fetchRaw(`http://127.0.0.1:${port}/x`)).text, 'typescript at /x');
      assert.equal((await fetchRaw(`http://127.0.0.1:${port}/x?loud`)).text, 'TYPESCRIPT AT /X!');
    });
  });

  it('serves a .ts file named without ./ or by a relative path from the current folder', () => {
    const result = cli(project, ['run', 'app.ts:nothing']);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /module app\.ts has no export "nothing" \(it exports: app\)/);
  });

  it('compiles once: a second run reuses the cached file untouched, an edit to an imported file compiles again', async () => {
    await serving(project, 'app.ts', async () => {});
    const compiled = cacheFile(project, 'app.ts-');
    const first = statSync(compiled);
    await serving(project, 'app.ts', async (port) => {
      assert.equal((await fetchRaw(`http://127.0.0.1:${port}/again`)).text, 'typescript at /again');
    });
    const second = statSync(compiled);
    assert.deepEqual([second.ino, second.mtimeMs], [first.ino, first.mtimeMs]);
    project.write('util.ts', UTIL.replace("'!'", "'!!!'"), { later: true });
    await serving(project, 'app.ts', async (port) => {
      assert.equal((await fetchRaw(`http://127.0.0.1:${port}/x?loud`)).text, 'TYPESCRIPT AT /X!!!');
    });
    assert.notEqual(statSync(compiled).ino, first.ino);
    assert.equal(cacheFile(project, 'app.ts-'), compiled);
  });

  it('reports a syntax error by file and line, with the line, before anything is served', () => {
    project.write('util.ts', 'export function shout(text: string): string {\n  return text.toUpperCase() +;\n}\n', { later: true });
    const result = cli(project, ['run', './app.ts']);
    assert.equal(result.status, 2);
    assert.equal(result.stderr, `tsgi: cannot compile ./app.ts:\n${project.path('util.ts')}:2:30: Unexpected ";"\n  2 |   return text.toUpperCase() +;\n    |                              ^\n`);
  });

  it('names the .ts line in the stack trace of an error the app throws', async () => {
    await serving(project, 'app.ts', async (port, stderr) => {
      assert.equal((await fetchRaw(`http://127.0.0.1:${port}/boom`)).status, 500);
      await waitFor(() => stderr().includes('no such page'), 'the error in the log', 5000, stderr);
      assert.match(stderr(), new RegExp(`TypeError: no such page\\n    at app \\(${project.path('app.ts')}:6:44\\)`));
    });
  });

  it('names the .ts line of an error thrown while the module loads', () => {
    project.write('start.ts', "const port: number = 5432;\nif (port) {\n  throw new Error('cannot reach the database');\n}\nexport default () => [];\n");
    const result = cli(project, ['run', './start.ts']);
    assert.equal(result.status, 2);
    assert.equal(result.stderr, `tsgi: cannot load module ./start.ts: cannot reach the database (at ${project.path('start.ts')}:3:9)\n`);
  });

  it('serves the TypeScript fixture the tsx loader used to be needed for', async () => {
    project.write('hello.ts', readFileSync(fromRoot('test/fixtures/run/hello.ts'), 'utf8'));
    await serving(project, 'hello.ts:app', async (port) => {
      assert.equal((await fetchRaw(`http://127.0.0.1:${port}/y`)).text, 'typescript at /y');
    });
  });
});

describe('tsgi run with TypeScript in a read-only project', () => {
  let project: Project;
  beforeEach(() => {
    project = makeProject({ 'lib.ts': LIB, 'util.ts': UTIL, 'app.ts': APP });
  });
  afterEach(() => project.remove());

  it('keeps the compiled module in a temp folder of its own when neither the project nor the user cache can be written', async () => {
    const root = process.getuid!() === 0;
    const tmp = project.path('tmp');
    mkdirSync(tmp);
    mkdirSync(project.path('xdg'));
    if (root) {
      // Permissions do not stop root: the run is nobody's, in a project nobody may not write to.
      chmodSync(tmp, 0o777);
    } else {
      chmodSync(project.path('node_modules'), 0o555);
      chmodSync(project.path('xdg'), 0o555);
    }
    const env = { TMPDIR: tmp, XDG_CACHE_HOME: project.path('xdg'), HOME: project.path('xdg') };
    // A port already taken: the app compiles and loads, and only then does listening fail, ending the run.
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    let result;
    try {
      result = cli(project, ['run', './app.ts', '--port', String(port)], { env, ...(root ? { uid: 65534 } : {}) });
    } finally {
      taken.close();
    }
    chmodSync(project.path('node_modules'), 0o755);
    assert.match(result.stderr, /is already in use/);
    const folder = join(tmp, `tsgi-cache-${root ? 65534 : process.getuid!()}`);
    assert.equal(statSync(folder).mode & 0o777, 0o711);
    assert.deepEqual(readdirSync(folder).filter((name) => name.startsWith('app.ts-')).length, 1);
    assert.deepEqual(readdirSync(project.path('xdg')), []);
  });
});
