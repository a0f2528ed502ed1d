/**
 * What each entry point costs a CGI script, which pays its imports on every request: the
 * package root beside every subpath, measured from an installed copy (npm pack, unpacked into
 * a temp project's node_modules as npm install would), in fresh processes, interleaved
 * rounds after warm-ups, against a bare script that imports nothing. Also the root as it
 * was (every subpath loaded with it) and the way not taken: every subpath, not only what a
 * CGI script needs, bundled into one file (esbuild).
 * ROUNDS overrides 20 rounds.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { cpuProbe, reportedCpu } from './cpu-probe.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 20);
const WARMUP = 3;

const dir = mkdtempSync(join(tmpdir(), 'tsgi-imports-bench-'));
const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  REQUEST_METHOD: 'GET', QUERY_STRING: 'name=bench', SCRIPT_NAME: '/cgi-bin/hello', PATH_INFO: '',
  SERVER_NAME: 'localhost', SERVER_PORT: '80', SERVER_PROTOCOL: 'HTTP/1.1', GATEWAY_INTERFACE: 'CGI/1.1',
};

try {
  // The installed package: what `npm pack` ships (package.json "files"), where a user's import finds it.
  const tarball = execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', dir, repo], { encoding: 'utf8', cwd: repo }).trim().split('\n').pop()!;
  const installed = join(dir, 'node_modules', 'tsgi');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', join(dir, tarball), '-C', installed, '--strip-components=1']);
  writeFileSync(join(dir, 'package.json'), '{"type":"module","private":true}\n');
  // Its runtime dependencies, where npm install would put them.
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
  const dependencies = Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies });
  for (const name of dependencies) symlinkSync(join(repo, 'node_modules', name), join(dir, 'node_modules', name));

  const exportsMap = (JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { exports: Record<string, string> }).exports;
  const subpaths = Object.keys(exportsMap).filter((key) => key !== '.').map((key) => `tsgi${key.slice(1)}`);

  // The other way to build the root: everything in one file, loaded at once.
  writeFileSync(join(dir, 'all-entry.js'), subpaths.filter((s) => s !== 'tsgi/cgitb' && s !== 'tsgi/types').map((s) => `export * from '${s}';\n`).join('') + `export * as cgitb from 'tsgi/cgitb';\n`);
  await build({ entryPoints: [join(dir, 'all-entry.js')], outfile: join(dir, 'root-bundle.js'), bundle: true, format: 'esm', platform: 'node', target: 'node20', keepNames: true, logLevel: 'warning', absWorkingDir: dir, external: dependencies });

  const byHand = `process.stdout.write('Status: 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nhello ' + process.env.QUERY_STRING + '\\n');\n`;
  const served = `runCgi((environ, start) => { start('200 OK', [['Content-Type', 'text/plain']]); return ['hello ' + environ.QUERY_STRING + '\\n']; });\n`;
  interface Variant { name: string; file: string }
  const variants: Variant[] = [];
  const add = (name: string, source: string) => {
    const file = `v${variants.length}.js`;
    writeFileSync(join(dir, file), source);
    variants.push({ name, file });
  };
  add('bare node (imports nothing)', byHand);
  add("runCgi + FieldStorage from 'tsgi'", `import { runCgi, FieldStorage } from 'tsgi';\nvoid FieldStorage;\n${served}`);
  add("the same from 'tsgi/cgi' + 'tsgi/form'", `import { runCgi } from 'tsgi/cgi';\nimport { FieldStorage } from 'tsgi/form';\nvoid FieldStorage;\n${served}`);
  add('the same through every subpath at once', `import { runCgi, FieldStorage } from './all-entry.js';\nvoid FieldStorage;\n${served}`);
  add('the same from a one-file bundle of all', `import { runCgi, FieldStorage } from './root-bundle.js';\nvoid FieldStorage;\n${served}`);
  add("import 'tsgi' (the root)", `import 'tsgi';\n${byHand}`);
  for (const subpath of subpaths) add(`import '${subpath}'`, `import '${subpath}';\n${byHand}`);

  const probe = cpuProbe(dir);
  const once = (variant: Variant): { wall: number; cpu: number } => {
    const start = process.hrtime.bigint();
    const result = spawnSync(process.execPath, [...probe, variant.file], { cwd: dir, env, encoding: 'utf8' });
    const wall = Number(process.hrtime.bigint() - start) / 1e6;
    const cpu = reportedCpu(result.stderr);
    if (result.status !== 0 || !result.stdout.endsWith('hello name=bench\n') || cpu === undefined) throw new Error(`${variant.name} failed (${result.status}): ${result.stdout}${result.stderr}`);
    return { wall, cpu };
  };
  for (const variant of variants) for (let i = 0; i < WARMUP; i++) once(variant);
  const samples = new Map<Variant, number[]>(variants.map((v) => [v, []]));
  const cpuSamples = new Map<Variant, number[]>(variants.map((v) => [v, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const variant of variants) {
      const { wall, cpu } = once(variant);
      samples.get(variant)!.push(wall);
      cpuSamples.get(variant)!.push(cpu);
    }
  }

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const min = (values: number[]) => Math.min(...values);
  const bare = samples.get(variants[0]!)!;
  const bareCpu = cpuSamples.get(variants[0]!)!;
  const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
  console.log(`import cost from an installed package (npm pack), ${ROUNDS} interleaved rounds, ms; load average ${loadavg()[0]!.toFixed(1)}`);
  console.log(`  ${'script'.padEnd(44)} ${'median'.padStart(7)} ${'vs bare'.padStart(8)} ${'min'.padStart(7)} ${'vs bare'.padStart(8)} ${'CPU'.padStart(7)} ${'vs bare'.padStart(8)}`);
  for (const variant of variants) {
    const values = samples.get(variant)!;
    const cpu = cpuSamples.get(variant)!;
    console.log(`  ${variant.name.padEnd(44)} ${median(values).toFixed(1).padStart(7)} ${signed(median(values) - median(bare)).padStart(8)} ${min(values).toFixed(1).padStart(7)} ${signed(min(values) - min(bare)).padStart(8)} ${median(cpu).toFixed(1).padStart(7)} ${signed(median(cpu) - median(bareCpu)).padStart(8)}`);
  }
  // Judged as the cgi-script bench judges tsgi/cgi: CPU medians and best wall runs; wall medians under load mostly measure the neighbours.
  const rootCgi = samples.get(variants[1]!)!;
  const addedCpu = median(cpuSamples.get(variants[1]!)!) - median(bareCpu);
  const addedBest = min(rootCgi) - min(bare);
  console.log(`goal: a CGI script with runCgi + FieldStorage from the root pays <= 5 ms over bare node — ${addedCpu <= 5 && addedBest <= 5 ? 'met' : 'NOT met'} (${signed(addedCpu)} ms CPU median, ${signed(addedBest)} ms wall best, ${signed(median(rootCgi) - median(bare))} ms wall median)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
