/**
 * What a CGI script written with tsgi costs per request: process start plus imports, measured
 * hyperfine-style (warm-up, then interleaved rounds of spawns) against a bare `node hello.js`
 * that prints the same response by hand. Also: the ways to write scripts in TypeScript
 * (tsc build step, the tsx loader), `--enable-source-maps`, Python for scale, and how long
 * cgitb takes to draw a source-mapped report.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HELLO_TS, helloEnvironment } from './servers/hello-ts.js';
import { cpuProbe, reportedCpu } from './cpu-probe.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 40);
const WARMUP = 3;

const env = helloEnvironment();

const dir = mkdtempSync(join(tmpdir(), 'tsgi-cgi-bench-'));
mkdirSync(join(dir, 'node_modules'));
symlinkSync(repo, join(dir, 'node_modules', 'tsgi'));
writeFileSync(join(dir, 'package.json'), '{"type":"module","private":true}\n');

writeFileSync(join(dir, 'bare.js'), `
const body = 'hello ' + process.env.QUERY_STRING + '\\n';
process.stdout.write('Status: 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: ' + Buffer.byteLength(body) + '\\r\\n\\r\\n' + body);
`);
const helloTs = HELLO_TS;
writeFileSync(join(dir, 'hello.ts'), helloTs);
writeFileSync(join(dir, 'hello-cgitb.js'), `import { enable } from 'tsgi/cgitb';
enable();
${(await import('node:fs')).readFileSync(join(dir, 'hello.ts'), 'utf8').replace(/^import type .*\n/m, '').replace(/: Application/, '')}`);
writeFileSync(join(dir, 'hello.py'), `import os, sys
body = 'hello ' + os.environ.get('QUERY_STRING', '') + '\\n'
sys.stdout.write('Status: 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: %d\\r\\n\\r\\n%s' % (len(body), body))
`);

// The build-step way: tsc turns hello.ts into hello.js once; every request runs the JavaScript.
const tsc = spawnSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '--module', 'nodenext', '--target', 'es2022',
  '--moduleResolution', 'nodenext', '--skipLibCheck', '--types', 'node', '--typeRoots', join(repo, 'node_modules/@types'), join(dir, 'hello.ts')], { encoding: 'utf8' });
if (tsc.status !== 0 || !existsSync(join(dir, 'hello.js'))) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);

const probe = cpuProbe(dir);
const tsxLoader = join(repo, 'node_modules/tsx/dist/loader.mjs');
interface Variant { name: string; command: string; args: string[] }
const variants: Variant[] = [
  { name: 'bare node (no imports)', command: process.execPath, args: [...probe, 'bare.js'] },
  { name: 'tsgi/cgi runCgi (tsc-built .js)', command: process.execPath, args: [...probe, 'hello.js'] },
  { name: 'tsgi/cgi + cgitb.enable()', command: process.execPath, args: [...probe, 'hello-cgitb.js'] },
  { name: 'tsgi/cgi, node --enable-source-maps', command: process.execPath, args: [...probe, '--enable-source-maps', 'hello.js'] },
  { name: 'tsgi/cgi, .ts through the tsx loader', command: process.execPath, args: [...probe, '--import', tsxLoader, 'hello.ts'] },
  { name: 'python3 (for scale)', command: '/usr/bin/python3', args: ['hello.py'] },
];

const cpuSamples = new Map<Variant, number[]>(variants.map((v) => [v, []]));

function once(variant: Variant): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(variant.command, variant.args, { cwd: dir, env, encoding: 'utf8' });
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0 || !result.stdout.endsWith('hello name=bench\n')) {
    throw new Error(`${variant.name} failed (${result.status}): ${result.stdout}${result.stderr}`);
  }
  const cpu = reportedCpu(result.stderr);
  if (cpu !== undefined) cpuSamples.get(variant)!.push(cpu);
  return elapsed;
}

const samples = new Map<Variant, number[]>(variants.map((v) => [v, []]));
for (const variant of variants) for (let i = 0; i < WARMUP; i++) once(variant);
for (const list of cpuSamples.values()) list.length = 0;
for (let round = 0; round < ROUNDS; round++) for (const variant of variants) samples.get(variant)!.push(once(variant));

const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  return { mean, sd, median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]! };
};

const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
const bare = stats(samples.get(variants[0]!)!);
const bareCpu = stats(cpuSamples.get(variants[0]!)!);
console.log(`CGI hello per request, ${ROUNDS} interleaved rounds after ${WARMUP} warm-ups (NODE_EXTRA_CA_CERTS unset; load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)}), ms:`);
console.log(`${'variant'.padEnd(40)} ${'wall median'.padStart(11)} ${'mean ± sd'.padStart(14)} ${'min'.padStart(6)} ${'min vs bare'.padStart(11)} ${'CPU median'.padStart(10)} ${'CPU vs bare'.padStart(11)} ${'req/s'.padStart(6)}`);
for (const variant of variants) {
  const s = stats(samples.get(variant)!);
  const cpu = cpuSamples.get(variant)!.length > 0 ? stats(cpuSamples.get(variant)!) : undefined;
  console.log(`${variant.name.padEnd(40)} ${s.median.toFixed(1).padStart(11)} ${`${s.mean.toFixed(1)} ± ${s.sd.toFixed(1)}`.padStart(14)} ${s.min.toFixed(1).padStart(6)} ${signed(s.min - bare.min).padStart(11)} ${(cpu ? cpu.median.toFixed(1) : '-').padStart(10)} ${(cpu ? signed(cpu.median - bareCpu.median) : '-').padStart(11)} ${(1000 / s.median).toFixed(0).padStart(6)}`);
}
const cgi = stats(samples.get(variants[1]!)!);
const cgiCpu = stats(cpuSamples.get(variants[1]!)!);
const addedMedian = cgi.median - bare.median;
const addedBest = cgi.min - bare.min;
const addedCpu = cgiCpu.median - bareCpu.median;
// The goal is judged on CPU time and best runs: on a busy machine wall medians mostly measure the neighbours.
console.log(`\ncost of tsgi/cgi over bare node: ${addedCpu.toFixed(1)} ms CPU (medians), ${addedBest.toFixed(1)} ms wall (best runs), ${addedMedian.toFixed(1)} ms wall (medians, noisy under load); goal under 10 ms — ${addedBest < 10 && addedCpu < 10 ? 'met' : 'NOT met'}; wall ratio ${(cgi.median / bare.median).toFixed(2)}x`);

// How long cgitb takes to draw a report whose frames go through a source map: our own
// parser (cold, then cached) against Node's findSourceMap, which needs --enable-source-maps.
const reportCost = `
import { html } from 'tsgi/cgitb';
import { parseStatus } from 'tsgi/handler';
let error; try { parseStatus('bad'); } catch (e) { error = e; }
let t = performance.now(); const page = html(error); const cold = performance.now() - t;
if (!/src\\/handler\\.ts/.test(page)) throw new Error('report not mapped to handler.ts');
t = performance.now(); for (let i = 0; i < 20; i++) html(error); const warm = (performance.now() - t) / 20;
const { findSourceMap } = await import('node:module');
const file = new URL(import.meta.resolve('tsgi/handler')).pathname;
t = performance.now(); const map = findSourceMap(file); const entry = map?.findEntry(10, 0); const native = performance.now() - t;
console.log(JSON.stringify({ cold, warm, native: map ? native : null }));
`;
writeFileSync(join(dir, 'report-cost.js'), reportCost);
const plain = spawnSync(process.execPath, ['report-cost.js'], { cwd: dir, env, encoding: 'utf8' });
const mapped = spawnSync(process.execPath, ['--enable-source-maps', 'report-cost.js'], { cwd: dir, env, encoding: 'utf8' });
if (plain.status !== 0 || mapped.status !== 0) throw new Error(`report cost failed: ${plain.stderr}${mapped.stderr}`);
const ours = JSON.parse(plain.stdout) as { cold: number; warm: number };
const theirs = JSON.parse(mapped.stdout) as { native: number | null };
console.log(`\ncgitb report with source-mapped frames: first ${ours.cold.toFixed(1)} ms (reads and decodes the maps), then ${ours.warm.toFixed(2)} ms each`);
console.log(`node:module findSourceMap + findEntry (only under --enable-source-maps): ${theirs.native === null ? 'no map' : theirs.native.toFixed(2) + ' ms'}; the flag itself costs every request the difference shown above`);

rmSync(dir, { recursive: true, force: true });
