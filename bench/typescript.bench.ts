/**
 * What a TypeScript CGI script costs per request once tsgi has compiled it, side by side with
 * the same script built to .js with tsc and the same .ts run through the tsx loader. Spawns
 * hyperfine-style (warm-up, interleaved rounds), CPU from the child's own getrusage; then the
 * same two scripts served by one `tsgi serve --cgi`, requests interleaved, which adds the
 * host's check that the compiled module is still fresh. For the design: what Node's source
 * maps would add per request, what the cheapest loader hook (module.register) costs to start,
 * a first compile, and the start-up cost of the source maps `tsgi run` turns on.
 * ROUNDS overrides 40 rounds.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { HELLO_TS, helloEnvironment } from './servers/hello-ts.js';
import { cpuProbe, reportedCpu } from './cpu-probe.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 40);
const WARMUP = 3;

const env = helloEnvironment();

const dir = mkdtempSync(join(tmpdir(), 'tsgi-ts-bench-'));
// Read by nobody: tsgi serve, run as root, runs the scripts as nobody.
chmodSync(dir, 0o755);
mkdirSync(join(dir, 'node_modules'));
symlinkSync(repo, join(dir, 'node_modules', 'tsgi'));
writeFileSync(join(dir, 'package.json'), '{"type":"module","private":true}\n');
const cgiBin = join(dir, 'cgi-bin');
mkdirSync(cgiBin, { mode: 0o755 });

const helloTs = HELLO_TS;
writeFileSync(join(cgiBin, 'hello.ts'), helloTs);

try {
  // The build-step way: tsc once, node runs the .js (with a shebang, executable, as a CGI folder needs).
  const tsc = spawnSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '--module', 'nodenext', '--target', 'es2022',
    '--moduleResolution', 'nodenext', '--skipLibCheck', '--types', 'node', '--typeRoots', join(repo, 'node_modules/@types'), '--outDir', join(dir, 'built'), join(cgiBin, 'hello.ts')], { encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
  writeFileSync(join(cgiBin, 'hello.js'), '#!/usr/bin/env node\n' + readFileSync(join(dir, 'built', 'hello.js'), 'utf8'));
  chmodSync(join(cgiBin, 'hello.js'), 0o755);

  // tsgi's way: the compiled module the CGI host runs. The first compile is timed in a fresh process.
  const compiler = pathToFileURL(join(repo, 'dist/src/typescript/compiled-module.js')).href;
  const first = spawnSync(process.execPath, ['--input-type=module', '-e',
    `const t = performance.now(); const m = await import(${JSON.stringify(compiler)}); const file = await m.compiledModule(process.argv[1]); console.log(JSON.stringify({ file, ms: performance.now() - t }));`,
    join(cgiBin, 'hello.ts')], { encoding: 'utf8' });
  if (first.status !== 0) throw new Error(`compile failed: ${first.stderr}`);
  const { file: compiled, ms: compileMs } = JSON.parse(first.stdout) as { file: string; ms: number };

  // The cheapest loader hook: it hands Node the compiled text without compiling anything, so
  // what it costs is module.register's hooks thread alone.
  writeFileSync(join(dir, 'hook.mjs'), `import { readFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.endsWith('.ts')) return { format: 'module', source: readFileSync(${JSON.stringify(compiled)}, 'utf8'), shortCircuit: true };
  return next(url, context);
}
`);
  writeFileSync(join(dir, 'register.mjs'), "import { register } from 'node:module';\nregister('./hook.mjs', import.meta.url);\n");

  const probe = cpuProbe(dir);
  interface Variant { name: string; args: string[] }
  const variants: Variant[] = [
    { name: '.js built with tsc', args: [...probe, join(cgiBin, 'hello.js')] },
    { name: '.ts compiled by tsgi (cached)', args: [...probe, compiled] },
    { name: '.ts through the tsx loader', args: [...probe, '--import', join(repo, 'node_modules/tsx/dist/loader.mjs'), join(cgiBin, 'hello.ts')] },
    { name: 'cached, node --enable-source-maps', args: [...probe, '--enable-source-maps', compiled] },
    { name: 'cached, via a module.register hook', args: [...probe, '--import', join(dir, 'register.mjs'), join(cgiBin, 'hello.ts')] },
  ];
  const wall = new Map<Variant, number[]>(variants.map((v) => [v, []]));
  const cpu = new Map<Variant, number[]>(variants.map((v) => [v, []]));
  const once = (variant: Variant, record: boolean) => {
    const start = process.hrtime.bigint();
    const result = spawnSync(process.execPath, variant.args, { cwd: cgiBin, env, encoding: 'utf8' });
    const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    if (result.status !== 0 || !result.stdout.endsWith('hello name=bench\n')) throw new Error(`${variant.name} failed (${result.status}): ${result.stdout}${result.stderr}`);
    if (!record) return;
    wall.get(variant)!.push(elapsed);
    cpu.get(variant)!.push(reportedCpu(result.stderr)!);
  };
  for (const variant of variants) for (let i = 0; i < WARMUP; i++) once(variant, false);
  for (let round = 0; round < ROUNDS; round++) for (const variant of variants) once(variant, true);

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const min = (values: number[]) => Math.min(...values);
  const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
  const js = variants[0]!;
  console.log(`CGI hello, spawned directly: ${ROUNDS} interleaved rounds after ${WARMUP} warm-ups, load average ${loadavg()[0]!.toFixed(1)}, ms:`);
  console.log(`${'variant'.padEnd(36)} ${'wall median'.padStart(11)} ${'min'.padStart(6)} ${'CPU median'.padStart(10)} ${'CPU vs .js'.padStart(10)} ${'ratio (CPU)'.padStart(11)} ${'ratio (wall)'.padStart(12)}`);
  for (const variant of variants) {
    const w = wall.get(variant)!;
    const c = cpu.get(variant)!;
    console.log(`${variant.name.padEnd(36)} ${median(w).toFixed(1).padStart(11)} ${min(w).toFixed(1).padStart(6)} ${median(c).toFixed(1).padStart(10)} ${signed(median(c) - median(cpu.get(js)!)).padStart(10)} ${(median(c) / median(cpu.get(js)!)).toFixed(2).padStart(10)}x ${(median(w) / median(wall.get(js)!)).toFixed(2).padStart(11)}x`);
  }
  const tsVariant = variants[1]!;
  const addedCpu = median(cpu.get(tsVariant)!) - median(cpu.get(js)!);
  const addedBest = min(wall.get(tsVariant)!) - min(wall.get(js)!);
  console.log(`\n.ts (cached) over .js: ${signed(addedCpu)} ms CPU (medians), ${signed(addedBest)} ms wall (best runs); goal at most +5 ms — ${addedCpu <= 5 && addedBest <= 5 ? 'met' : 'NOT met'}`);
  console.log(`first compile (fresh process: loading tsgi's compiler and esbuild, esbuild's service, the build, the write): ${compileMs.toFixed(0)} ms`);

  // The same two scripts through one server: the host's per-request freshness check is in the .ts figure.
  const server = spawn(process.execPath, [join(repo, 'dist/src/cli.js'), 'serve', dir, '--cgi', '--port', '0', '--no-access-log'], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: env.PATH } });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let text = '';
      server.stderr!.on('data', (chunk: Buffer) => {
        text += chunk;
        const match = / port (\d+) /.exec(text);
        if (match) resolve(Number(match[1]));
      });
      server.once('exit', (code) => reject(new Error(`tsgi serve exited (${code}): ${text}`)));
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string) => new Promise<number>((resolve, reject) => {
      const start = process.hrtime.bigint();
      request({ host: '127.0.0.1', port, path, agent }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          if (response.statusCode !== 200 || body !== 'hello name=bench\n') reject(new Error(`${path}: ${response.statusCode} ${body}`));
          else resolve(Number(process.hrtime.bigint() - start) / 1e6);
        });
      }).on('error', reject).end();
    });
    const paths = ['/cgi-bin/hello.js?name=bench', '/cgi-bin/hello.ts?name=bench'];
    const served = new Map<string, number[]>(paths.map((path) => [path, []]));
    for (let i = 0; i < WARMUP; i++) for (const path of paths) await get(path);
    for (let round = 0; round < ROUNDS; round++) for (const path of paths) served.get(path)!.push(await get(path));
    agent.destroy();
    const [jsServed, tsServed] = paths.map((path) => served.get(path)!) as [number[], number[]];
    console.log(`\nthrough tsgi serve --cgi, ${ROUNDS} interleaved requests each, one at a time: .js median ${median(jsServed).toFixed(1)} ms (best ${min(jsServed).toFixed(1)}), .ts median ${median(tsServed).toFixed(1)} ms (best ${min(tsServed).toFixed(1)}); .ts over .js ${signed(median(tsServed) - median(jsServed))} ms median, ${signed(min(tsServed) - min(jsServed))} ms best; ratio ${(median(tsServed) / median(jsServed)).toFixed(2)}x`);
  } finally {
    server.kill('SIGTERM');
  }

  // tsgi run turns Node's source maps on before it imports the compiled app: paid once, at start-up.
  writeFileSync(join(dir, 'app.ts'), "import { makeServer } from 'tsgi/http';\nimport type { Application } from 'tsgi/types';\nexport const app: Application = (e, start) => { start('200 OK', []); return []; };\nvoid makeServer;\n");
  const appModule = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(compiler)}); process.stdout.write(await m.compiledModule(process.argv[1]));`, join(dir, 'app.ts')], { encoding: 'utf8' }).stdout;
  const startup = (maps: boolean) => {
    const code = `const t = performance.now(); ${maps ? 'process.setSourceMapsEnabled(true); ' : ''}await import(${JSON.stringify(pathToFileURL(appModule).href)}); console.log(performance.now() - t);`;
    return Number(spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' }).stdout);
  };
  const plain: number[] = [];
  const mapped: number[] = [];
  for (let i = 0; i < 15; i++) {
    plain.push(startup(false));
    mapped.push(startup(true));
  }
  console.log(`\ntsgi run start-up, importing a compiled app that imports tsgi/http: ${median(plain).toFixed(1)} ms, with Node's source maps on ${median(mapped).toFixed(1)} ms (${signed(median(mapped) - median(plain))} ms, once per server)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
