/**
 * docs/fastcgi.md, run: each `tsgi run` line of the first block (ports made 0, the socket in a
 * scratch folder, fd:0 handed over as spawn-fcgi does), asked one request by libfcgi's
 * cgi-fcgi or an SCGI request written by hand; and the "From code" sample. The web server
 * configs (`setup=NAME`) run behind nginx, lighttpd and Apache in
 * test/frontends/fastcgi/interop.test.ts and test/apps/script-filename.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { adapt, commandLines, DocPage, shellWords } from '../helpers/doc-blocks.js';
import { importSample, packageScratch } from '../helpers/doc-samples.js';
import { startTsgi, type RunningTsgi } from '../helpers/examples-server.js';
import { fromRoot } from '../helpers/paths.js';
import { stopProcessGroup } from '../helpers/process-group.js';
import { waitFor } from '../helpers/wait-for.js';

const page = new DocPage('docs/fastcgi.md');
const commands = page.take('sh', 'tsgi run app.js --fastcgi 127.0.0.1:9000        # TCP');
const fromCode = page.take('ts', 'listenFastCgi(');
const setups = ['sh', 'nginx'].flatMap((language) => ['serve-cgi', 'allow-program'].map((name) => page.take(language, `setup=${name}`)));
setups.push(page.take('nginx', 'setup=nginx'), page.take('lighttpd', 'setup=lighttpd'), page.take('apache', 'setup=apache'));

const run = promisify(execFile);
const APP = `export default (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [\`\${environ.REQUEST_METHOD} \${environ.SCRIPT_NAME}|\${environ.PATH_INFO} from \${process.pid}\\n\`];
};
`;

let scratch: ReturnType<typeof packageScratch>;
before(() => {
  scratch = packageScratch('docs-fastcgi');
  writeFileSync(join(scratch.dir, 'app.js'), APP);
});
after(() => scratch.remove());

/** One request through libfcgi's cgi-fcgi, the body of its answer. */
async function fastcgiGet(address: string, path: string): Promise<string> {
  const env = { REQUEST_METHOD: 'GET', SCRIPT_NAME: '', PATH_INFO: path, QUERY_STRING: '', SERVER_NAME: 'localhost', SERVER_PORT: '80', SERVER_PROTOCOL: 'HTTP/1.1' };
  const { stdout } = await run('/usr/bin/cgi-fcgi', ['-bind', '-connect', address], { env });
  const [head, body] = stdout.split(/\r?\n\r?\n/, 2);
  assert.match(head!, /^Status: 200 OK/);
  return body!;
}

/** One SCGI request, written as nginx's scgi_pass writes it. */
function scgiGet(port: number, path: string): Promise<string> {
  const headers = Object.entries({ CONTENT_LENGTH: '0', SCGI: '1', REQUEST_METHOD: 'GET', SCRIPT_NAME: '', PATH_INFO: path, QUERY_STRING: '', SERVER_NAME: 'localhost', SERVER_PORT: '80', SERVER_PROTOCOL: 'HTTP/1.1' })
    .map(([name, value]) => `${name}\0${value}\0`).join('');
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => parts.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => resolve(Buffer.concat(parts).toString().split(/\r?\n\r?\n/, 2)[1]!));
    socket.end(`${Buffer.byteLength(headers)}:${headers},`);
  });
}

/** A line of the block, started in the scratch folder with `changes` applied. */
function startLine(line: string, changes: [string, string][], ready: RegExp): Promise<RunningTsgi> {
  const words = shellWords(adapt(line, changes));
  assert.equal(words[0], 'tsgi');
  return startTsgi(words.slice(1), ready, {}, { cwd: scratch.dir });
}

describe('docs/fastcgi.md: from the command line', () => {
  const [tcp, unix, fd, scgi, workers] = commandLines(commands.code);

  it('FastCGI over TCP', async () => {
    const tsgi = await startLine(tcp!, [['127.0.0.1:9000', '127.0.0.1:0']], /Serving FastCGI on 127\.0\.0\.1:(\d+)/);
    try {
      assert.match(await fastcgiGet(`127.0.0.1:${tsgi.port}`, '/hello'), /^GET \|\/hello from \d+\n$/);
    } finally {
      await tsgi.stop();
    }
  });

  it('FastCGI on a unix socket, made 0666 so the web server can connect', async () => {
    const socket = join(scratch.dir, 'app.sock');
    const tsgi = await startLine(unix!, [['/run/tsgi/app.sock', socket]], /Serving FastCGI on \//);
    try {
      assert.equal(statSync(socket).mode & 0o777, 0o666);
      assert.match(await fastcgiGet(socket, '/hello'), /^GET \|\/hello from/);
    } finally {
      await tsgi.stop();
    }
  });

  it('FastCGI on the listening socket handed over on fd 0, as spawn-fcgi and lighttpd do', async () => {
    const words = shellWords(fd!);
    assert.deepEqual(words.slice(0, 2), ['tsgi', 'run']);
    // What spawn-fcgi does: listen, put the socket on fd 0, exec the program.
    const launcher = `import os, socket, sys
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(16)
sys.stderr.write('listening on port %d\\n' % s.getsockname()[1]); sys.stderr.flush()
os.dup2(s.fileno(), 0)
os.execv(sys.argv[1], sys.argv[1:])`;
    const child = spawn('python3', ['-c', launcher, process.execPath, fromRoot('dist', 'src', 'cli.js'), ...words.slice(1)], { cwd: scratch.dir, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      await waitFor(() => /Serving FastCGI on fd:0/.test(stderr), 'tsgi to serve on fd 0', 10_000, () => stderr);
      const port = /listening on port (\d+)/.exec(stderr)![1]!;
      assert.match(await fastcgiGet(`127.0.0.1:${port}`, '/hello'), /^GET \|\/hello from/);
    } finally {
      await stopProcessGroup(child, exited, 5000);
    }
  });

  it('SCGI over TCP', async () => {
    const tsgi = await startLine(scgi!, [['127.0.0.1:4000', '127.0.0.1:0']], /Serving SCGI on 127\.0\.0\.1:(\d+)/);
    try {
      assert.match(await scgiGet(tsgi.port, '/hello'), /^GET \|\/hello from \d+\n$/);
    } finally {
      await tsgi.stop();
    }
  });

  it('FastCGI from 4 workers sharing the socket', async () => {
    const tsgi = await startLine(workers!, [['127.0.0.1:9000', '127.0.0.1:0']], /(?:Serving FastCGI on 127\.0\.0\.1:(\d+) \(worker \d+\)[^\n]*\n[\s\S]*){4}/);
    try {
      assert.match(tsgi.stderr(), /^tsgi: starting 4 workers$/m);
      assert.match(await fastcgiGet(`127.0.0.1:${tsgi.port}`, '/hello'), /^GET \|\/hello from \d+\n$/);
    } finally {
      await tsgi.stop();
    }
  });
});

describe('docs/fastcgi.md: from code', () => {
  it('listens, prints its address, and closes', async () => {
    const printed: string[] = [];
    const hooks = globalThis as unknown as { docsProbe(address: string): Promise<void>; docsPrint(text: string): void };
    let answer = '';
    hooks.docsProbe = async (address) => {
      answer = await fastcgiGet(address, '/from/code');
    };
    hooks.docsPrint = (text) => printed.push(text);
    const app = "const app = (environ, startResponse) => { startResponse('200 OK', [['Content-Type', 'text/plain']]); return [`code ${environ.PATH_INFO}`]; };";
    // The request goes in while the server listens, before the sample closes it.
    await importSample(scratch.dir, 'from-code', `${app}\n${adapt(fromCode.code, [
      ["'127.0.0.1:9000'", "'127.0.0.1:0'"],
      ['console.log(server.address);', 'docsPrint(server.address); await docsProbe(server.address);'],
    ])}`);
    assert.equal(printed.length, 1);
    assert.match(printed[0]!, /^127\.0\.0\.1:\d+$/);
    assert.match(fromCode.code, /\/\/ "127\.0\.0\.1:9000"/);
    assert.equal(answer, 'code /from/code');
  });
});

it('docs/fastcgi.md: the setup blocks are the interop tests\' configs, every other block is run above', () => {
  assert.equal(setups.length, 7);
  assert.deepEqual(page.untaken(), []);
});
