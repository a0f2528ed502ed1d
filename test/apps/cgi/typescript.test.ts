import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { cgiExtensions, cgiHost, cgiScript } from '../../../src/apps/cgi-host.js';
import { call, eventually, header } from '../../helpers/cgihost-fixtures.js';
import { isRunning } from '../../helpers/process-group.js';
import { makeProject } from '../../helpers/typescript-project.js';
import type { Project } from '../../helpers/typescript-project.js';

const HELLO = `import { runCgi } from 'tsgi/cgi';
import type { Application } from 'tsgi/types';
import { label } from './lib/label.js';

const app: Application = (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [\`\${label(environ.QUERY_STRING)}|\${environ.SCRIPT_NAME}|\${environ.PATH_INFO}|\${process.env.SCRIPT_FILENAME}\`];
};
runCgi(app);
`;
const LABEL = "export const label = (query: string): string => `ts:${query}`;\n";
// Prints by hand: a script needs no tsgi to be TypeScript.
const BARE = "const body: string = 'bare ' + process.argv.length;\nprocess.stdout.write('Content-Type: text/plain\\r\\n\\r\\n' + body);\n";

// The scripts are written by the tests, not kept as fixtures: tsc would compile (and refuse) the broken ones.
describe('TypeScript CGI scripts', () => {
  let project: Project;
  before(() => {
    project = makeProject({ 'cgi-bin/hello.ts': HELLO, 'cgi-bin/lib/label.ts': LABEL, 'site/bare.ts': BARE, 'site/docs/index.ts': BARE });
  });
  after(() => project.remove());

  it('run from a CGI folder through node on their compiled module: no execute bit, no shebang', async () => {
    const host = cgiHost({ root: project.path('cgi-bin') });
    const result = await call(host, { SCRIPT_NAME: '/cgi-bin', PATH_INFO: '/hello.ts/extra', QUERY_STRING: 'q=1' });
    assert.equal(result.status, 200, result.log.join('\n'));
    // SCRIPT_FILENAME is the source the request named, not the compiled file.
    assert.equal(result.body.toString(), `ts:q=1|/cgi-bin/hello.ts|/extra|${project.path('cgi-bin/hello.ts')}`);
    assert.equal(statSync(project.path('cgi-bin/hello.ts')).mode & 0o111, 0);
    assert.equal(readdirSync(project.cache).filter((name) => name.startsWith('hello.ts-')).length, 1);
  });

  it('run by extension anywhere under a folder with { ".ts": null }, index.ts for a folder', async () => {
    const host = cgiExtensions({ root: project.path('site'), extensions: { '.ts': null } });
    const bare = await call(host, { SCRIPT_NAME: '', PATH_INFO: '/bare.ts' });
    assert.equal(bare.body.toString(), 'bare 2', bare.log.join('\n'));
    const index = await call(host, { SCRIPT_NAME: '', PATH_INFO: '/docs/' });
    assert.equal(index.body.toString(), 'bare 2');
  });

  it('as one program mounted at a prefix', async () => {
    const host = cgiScript(project.path('cgi-bin/hello.ts'));
    const result = await call(host, { SCRIPT_NAME: '/app', PATH_INFO: '/p', QUERY_STRING: 'x' });
    assert.equal(result.body.toString(), `ts:x|/app|/p|${project.path('cgi-bin/hello.ts')}`);
  });

  it('go to the interpreter given for their extension instead, as any file would', async () => {
    const interpreter = project.write('bin/show', '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n%s" "$1"\n', { mode: 0o755 });
    const host = cgiExtensions({ root: project.path('site'), extensions: { '.ts': interpreter } });
    const result = await call(host, { SCRIPT_NAME: '', PATH_INFO: '/bare.ts' });
    assert.equal(result.body.toString(), project.path('site/bare.ts'));
  });

  it('answer 502 when the script does not compile, with file:line:column in the log and not in the page', async () => {
    project.write('cgi-bin/broken.ts', "const a: number = 1;\nconsole.log(a +);\n");
    const host = cgiHost({ root: project.path('cgi-bin') });
    const result = await call(host, { SCRIPT_NAME: '/cgi-bin', PATH_INFO: '/broken.ts' });
    assert.equal(result.status, 502);
    assert.equal(result.body.toString(), 'Bad Gateway: the CGI script /cgi-bin/broken.ts could not be compiled: it has errors (see the server log).\n');
    assert.ok(result.log.includes(`cgi /cgi-bin/broken.ts: could not be compiled: ${project.path('cgi-bin/broken.ts')}:2:16: Unexpected ")"`), result.log.join('\n'));
    assert.ok(result.log.includes('cgi /cgi-bin/broken.ts:   2 | console.log(a +);'), result.log.join('\n'));
  });

  it('compile again once fixed, without a restart', async () => {
    const host = cgiHost({ root: project.path('cgi-bin') });
    project.write('cgi-bin/fixed.ts', 'process.stdout.write(`Content-Type: text/plain\\n\\nv1`);\n');
    assert.equal((await call(host, { SCRIPT_NAME: '/cgi-bin', PATH_INFO: '/fixed.ts' })).body.toString(), 'v1');
    project.write('cgi-bin/fixed.ts', 'process.stdout.write(`Content-Type: text/plain\\n\\nv2`);\n', { later: true });
    assert.equal((await call(host, { SCRIPT_NAME: '/cgi-bin', PATH_INFO: '/fixed.ts' })).body.toString(), 'v2');
  });

  it('compile again when the cache folder is deleted under the running host', async () => {
    const host = cgiHost({ root: project.path('cgi-bin') });
    const request = { SCRIPT_NAME: '/cgi-bin', PATH_INFO: '/hello.ts', QUERY_STRING: 'a' };
    assert.equal((await call(host, request)).status, 200);
    rmSync(project.cache, { recursive: true });
    const result = await call(host, request);
    assert.equal(result.status, 200, result.log.join('\n'));
    assert.equal(readdirSync(project.cache).filter((name) => name.startsWith('hello.ts-')).length, 1);
  });

  it('log stack traces that name their .ts lines', async () => {
    project.write('cgi-bin/crash.ts', "interface Job { id: number }\nfunction fail(job: Job): never {\n  throw new Error(`job ${job.id} failed`);\n}\nfail({ id: 7 });\n");
    const host = cgiHost({ root: project.path('cgi-bin') });
    const result = await call(host, { SCRIPT_NAME: '/cgi-bin', PATH_INFO: '/crash.ts' });
    assert.equal(result.status, 502);
    const crash = `file://${project.path('cgi-bin/crash.ts')}`;
    await eventually(() => result.log.some((line) => line.includes(`at fail (${crash}:3:9)`)), 'the mapped frame in the log');
    assert.ok(result.log.some((line) => line.includes(`at ${crash}:5:1`)), result.log.join('\n'));
  });
});

// Answers with its pid: a persistent script answers many requests from one process.
const KEPT = `import { runCgi } from 'tsgi/cgi';
import type { Application } from 'tsgi/types';
import { version } from './version.js';

const app: Application = (_environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [\`\${version}:v1 \${process.pid}\`];
};
runCgi(app);
`;

describe('persistent TypeScript CGI scripts', () => {
  let project: Project;
  let host: ReturnType<typeof cgiHost>;
  before(() => {
    project = makeProject({ 'cgi-bin/kept.ts': KEPT, 'cgi-bin/version.ts': "export const version: string = 'lib1';\n" });
    host = cgiHost({ root: project.path('cgi-bin'), persistent: ['.ts'] });
  });
  after(async () => {
    await host.close();
    project.remove();
  });

  /** `[text, pid]` of one request to kept.ts. */
  async function kept(): Promise<[string, number]> {
    const result = await call(host, { SCRIPT_NAME: '/cgi-bin', PATH_INFO: '/kept.ts' });
    assert.equal(result.status, 200, `${result.body.toString()}\n${result.log.join('\n')}`);
    const [text, pid] = result.body.toString().split(' ');
    return [text!, Number(pid)];
  }

  it('answer many requests from one process, running the compiled module', async () => {
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(await kept());
    assert.deepEqual(new Set(answers.map(([text]) => text)), new Set(['lib1:v1']));
    assert.equal(new Set(answers.map(([, pid]) => pid)).size, 1);
    assert.match(readFileSync(`/proc/${answers[0]![1]}/cmdline`, 'utf8'), /\/node_modules\/\.cache\/tsgi\/kept\.ts-[0-9a-f]{16}\.mjs\0/);
  });

  it('after an edit of the source or of a file it imports, the next request gets a new process running the new code', async () => {
    const [, first] = await kept();
    project.write('cgi-bin/kept.ts', KEPT.replace(':v1', ':v2'), { later: true });
    const [edited, second] = await kept();
    assert.equal(edited, 'lib1:v2');
    assert.notEqual(second, first);
    await eventually(() => !isRunning(first), 'the old child to stop');
    project.write('cgi-bin/version.ts', "export const version: string = 'lib2';\n", { later: true });
    const [again, third] = await kept();
    assert.equal(again, 'lib2:v2');
    assert.notEqual(third, second);
    const [same, fourth] = await kept();
    assert.deepEqual([same, fourth], [again, third]);
  });

  it('answer 502 when the script does not compile, with file:line:column in the log, as when run per request', async () => {
    project.write('cgi-bin/broken.ts', "const a: number = 1;\nconsole.log(a +);\n");
    const result = await call(host, { SCRIPT_NAME: '/cgi-bin', PATH_INFO: '/broken.ts' });
    assert.equal(result.status, 502);
    assert.equal(result.body.toString(), 'Bad Gateway: the CGI script /cgi-bin/broken.ts could not be compiled: it has errors (see the server log).\n');
    assert.ok(result.log.includes(`cgi /cgi-bin/broken.ts: could not be compiled: ${project.path('cgi-bin/broken.ts')}:2:16: Unexpected ")"`), result.log.join('\n'));
    assert.ok(result.log.includes('cgi /cgi-bin/broken.ts:   2 | console.log(a +);'), result.log.join('\n'));
  });

  it('answer 502 while an edit does not compile, and run the fixed code once it does', async () => {
    const [before, pid] = await kept();
    project.write('cgi-bin/kept.ts', KEPT.replace('startResponse(', 'startResponse(('), { later: true });
    const broken = await call(host, { SCRIPT_NAME: '/cgi-bin', PATH_INFO: '/kept.ts' });
    assert.equal(broken.status, 502);
    project.write('cgi-bin/kept.ts', KEPT.replace(':v1', ':v3'), { later: true });
    const [fixed, next] = await kept();
    assert.equal(fixed, before.replace(/:v\d$/, ':v3'));
    assert.notEqual(next, pid);
  });
});

describe('TypeScript CGI scripts outside any package', () => {
  let project: Project;
  const saved = { TMPDIR: process.env.TMPDIR, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };
  before(() => {
    project = makeProject({ 'cgi-bin/bare.ts': BARE }, { packageJson: false, nodeModules: false });
    mkdirSync(project.path('tmp'));
    chmodSync(project.path('tmp'), 0o755);
    process.env.TMPDIR = project.path('tmp');
    process.env.XDG_CACHE_HOME = project.path('xdg');
  });
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  after(() => project.remove());

  it('keep the compiled module where the scripts\' user can read it: not in a home folder when that user is another', async () => {
    const host = cgiHost({ root: project.path('cgi-bin') });
    const result = await call(host, { SCRIPT_NAME: '/cgi-bin', PATH_INFO: '/bare.ts' });
    assert.equal(result.body.toString(), 'bare 2', result.log.join('\n'));
    if (process.getuid!() === 0) {
      // Run as root, the host runs scripts as nobody: the temp cache, 0711, holds a 0644 file.
      const folder = join(project.path('tmp'), 'tsgi-cache-0');
      assert.equal(statSync(folder).mode & 0o777, 0o711);
      const [name] = readdirSync(folder);
      assert.equal(statSync(join(folder, name!)).mode & 0o777, 0o644);
      assert.throws(() => statSync(project.path('xdg')), /ENOENT/);
    } else {
      assert.equal(readdirSync(join(project.path('xdg'), 'tsgi')).length, 1);
    }
    assert.equal(header(result, 'content-type'), 'text/plain');
  });
});
