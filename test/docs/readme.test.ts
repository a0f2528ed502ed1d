/**
 * README.md, run: the hello application built and served by the `tsgi run` lines the page
 * shows (port 8000 turned into 0), `--reload` seen restarting on a save, the three access log
 * commands with the lines they write compared to the page's table, and the npm lines checked
 * against package.json and the commands they end in.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { adapt, commandLines, DocPage, shellWords } from '../helpers/doc-blocks.js';
import { packageScratch } from '../helpers/doc-samples.js';
import { startNode, type RunningTsgi } from '../helpers/examples-server.js';
import { fetchRaw } from '../helpers/http-client.js';
import { fromRoot } from '../helpers/paths.js';
import { waitForAsync } from '../helpers/wait-for.js';

const page = new DocPage('README.md');
const npmLines = page.take('sh', 'npm install && npm start');
const hello = page.take('ts', '// hello.ts');
const runLines = page.take('sh', 'npx tsgi run ./hello.ts:app');
const logLines = page.take('sh', '--access-log-format combined');
const readme = readFileSync(fromRoot('README.md'), 'utf8');

let scratch: ReturnType<typeof packageScratch>;

before(() => {
  scratch = packageScratch('docs-readme');
  // The page runs the .ts itself: tsgi compiles it (types are checked by the typecheck test).
  writeFileSync(join(scratch.dir, 'hello.ts'), hello.code);
});
after(() => scratch.remove());

/** A command line of the page, started as the user would: `tsgi` (or `npx tsgi`) is bin/tsgi.js, run in the scratch folder. */
function startLine(line: string, extra: string[] = []): Promise<RunningTsgi> {
  const words = shellWords(line);
  if (words[0] === 'npx') words.shift();
  assert.equal(words[0], 'tsgi', line);
  return startNode('bin/tsgi.js', [...words.slice(1), ...extra], /port (\d+)/, {}, { cwd: scratch.dir });
}

describe('README.md: serving an application over HTTP', () => {
  const [atPort, reloading] = commandLines(runLines.code);

  it('serves the hello application with `tsgi run ./hello.ts:app --port 8000` (on port 0 here)', async () => {
    const tsgi = await startLine(adapt(atPort!, [['--port 8000', '--port 0']]), ['--no-access-log']);
    try {
      const res = await fetchRaw(`http://127.0.0.1:${tsgi.port}/some/path`);
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(res.text, 'Hello from /some/path\n');
    } finally {
      await tsgi.stop();
    }
  });

  it('restarts under --reload when the module is saved, and the comment names a real --bind', async () => {
    assert.match(runLines.code, /--bind 0\.0\.0\.0/);
    assert.match(execFileSync(process.execPath, [fromRoot('bin', 'tsgi.js'), 'run', '--help'], { encoding: 'utf8' }), /--bind ADDR .*0\.0\.0\.0 for every interface/);
    const tsgi = await startLine(reloading!, ['--port', '0', '--no-access-log']);
    try {
      const url = `http://127.0.0.1:${tsgi.port}/x`;
      assert.equal((await fetchRaw(url)).text, 'Hello from /x\n');
      writeFileSync(join(scratch.dir, 'hello.ts'), adapt(hello.code, [['Hello from', 'Saved again, from']]));
      const answer = async () => (await fetchRaw(url).catch(() => ({ text: '' }))).text;
      await waitForAsync(async () => (await answer()) === 'Saved again, from /x\n', 'the saved code to answer', 10_000, () => tsgi.stderr());
      assert.match(tsgi.stderr(), /tsgi: hello\.ts changed: restarting/);
    } finally {
      await tsgi.stop();
      writeFileSync(join(scratch.dir, 'hello.ts'), hello.code);
    }
  });
});

describe('README.md: access log', () => {
  const [combined, json, none] = commandLines(logLines.code);
  // The table's example lines, for the request they show.
  const common = /^\| `common` \(default\) \| `([^`]+)` \|$/m.exec(readme)![1]!;
  const jsonExample = JSON.parse(/^\| `json` \| `([^`]+)` \|$/m.exec(readme)![1]!) as Record<string, unknown>;
  const requestPath = jsonExample.uri as string;
  const userAgent = jsonExample.user_agent as string;

  /** The table's common line as a pattern: any date, any byte count. */
  function commonPattern(): string {
    const escaped = common.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return escaped.replace(/\\\[[^\]]*\\\]/, '\\[[^\\]]+\\]').replace(/ \d+$/, ' \\d+');
  }

  it('appends combined lines to the --access-log file', async () => {
    const file = join(scratch.dir, 'hello.log');
    const tsgi = await startLine(adapt(combined!, [['/var/log/hello.log', file]]), ['--port', '0']);
    await fetchRaw(`http://127.0.0.1:${tsgi.port}${requestPath}`, { headers: { Referer: 'http://example.org/from', 'User-Agent': userAgent } });
    await tsgi.stop();
    await tsgi.finished;
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, new RegExp(`^${commonPattern()} "http://example\\.org/from" "${userAgent.replace(/\./g, '\\.')}"$`));
  });

  it('writes JSON lines on stderr for `tsgi serve --cgi --access-log-format json`, with the keys of the table', async () => {
    writeFileSync(join(scratch.dir, 'a'), 'a file\n');
    const tsgi = await startLine(json!, ['--port', '0']);
    await fetchRaw(`http://127.0.0.1:${tsgi.port}${requestPath}`, { headers: { 'User-Agent': userAgent } });
    await tsgi.stop();
    const line = (await tsgi.finished).split('\n').find((text) => text.startsWith('{'));
    assert.ok(line, await tsgi.finished);
    const logged = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual(Object.keys(logged), Object.keys(jsonExample));
    assert.deepEqual({ ...logged, time: undefined, bytes: undefined }, { ...jsonExample, time: undefined, bytes: undefined });
    assert.match(logged.time as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('logs nothing with --no-access-log', async () => {
    const tsgi = await startLine(none!, ['--port', '0']);
    assert.equal((await fetchRaw(`http://127.0.0.1:${tsgi.port}${requestPath}`)).status, 200);
    await tsgi.stop();
    assert.doesNotMatch(await tsgi.finished, /GET \//);
  });
});

describe('README.md: the npm lines', () => {
  const scripts = (JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const lines = commandLines(npmLines.code).flatMap((line) => line.split(' && '));

  it('name scripts package.json has: start builds and runs the demo, test builds and runs the suite', () => {
    assert.deepEqual(lines, ['npm install', 'npm start', 'npm install', 'npm test', 'npm run build', 'npx tsgi --help']);
    assert.equal(scripts.start, 'npm run build && node dist/examples/demo.js');
    assert.match(scripts.test!, /^npm run build && node --test /);
    assert.match(scripts.build!, /tsc -p \./);
    assert.ok(scripts.install, 'npm install builds the native addon');
  });

  it('serve the demo on port 8000 by default (npm start runs dist/examples/demo.js), and npx tsgi --help prints the usage', async () => {
    assert.match(npmLines.code, /npm start +# the demo site on http:\/\/localhost:8000\n/);
    const help = execFileSync(process.execPath, [fromRoot('dist', 'examples', 'demo.js'), '--help'], { encoding: 'utf8' });
    assert.match(help, /--port N +port to listen on \(default: PORT from the environment, else 8000;/);
    const demo = await startNode('dist/examples/demo.js', ['--port', '0']);
    try {
      assert.equal((await fetchRaw(`http://127.0.0.1:${demo.port}/`)).status, 200);
    } finally {
      await demo.stop();
    }
    // npx runs the bin package.json names (test/bin/tsgi.test.ts runs npx itself).
    assert.match(execFileSync(process.execPath, [fromRoot('bin', 'tsgi.js'), '--help'], { encoding: 'utf8' }), /^Usage: tsgi COMMAND/);
  });
});

it('README.md: every block is covered above', () => {
  assert.deepEqual(page.untaken(), []);
});
