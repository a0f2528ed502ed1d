/**
 * What `tsgi run` costs with the access log a user gets by default, against a raw
 * node:http handler in the same run (wrk -t1 -c16, hello world). Each contender runs in its
 * own process with stderr sent to a file, as a service manager would; rounds alternate the
 * order and the median round of each counts. BENCH_ROUNDS / BENCH_SECONDS override 3 x 4 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load, startServerProcess, stopProcess } from './load.js';

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const helloServer = fileURLToPath(new URL('./servers/hello.js', import.meta.url));
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const connections = 16;

const dir = mkdtempSync(join(tmpdir(), 'tsgi-access-log-bench-'));
const appFile = join(dir, 'hello.mjs');
writeFileSync(appFile, `export default (environ, start) => {
  start('200 OK', [['Content-Type', 'text/plain']]);
  return ['Hello, world!\\n'];
};\n`);

interface Contender {
  name: string;
  /** Extra `tsgi run` arguments, or undefined for the raw node:http peer. */
  args?: string[];
  /** Where stderr goes: a file (default), or a pipe this process reads, as under docker or journald. */
  stderr?: 'file' | 'pipe';
}
const contenders: Contender[] = [
  { name: 'raw node:http handler' },
  { name: 'tsgi run (default access log)', args: [] },
  { name: 'tsgi run (default log), stderr a pipe', args: [], stderr: 'pipe' },
  { name: 'tsgi run --access-log FILE', args: ['--access-log', join(dir, 'access.log')] },
  { name: 'tsgi run --access-log-format json', args: ['--access-log-format', 'json'] },
  { name: 'tsgi run --no-access-log', args: ['--no-access-log'] },
];

/**
 * Starts `tsgi run` on a free port with stderr going to `stderrFile`, directly or through a
 * pipe that a `cat` process drains into it (a log collector); resolves with the port it prints.
 */
async function startTsgiRun(args: string[], stderrFile: string, stderr: 'file' | 'pipe' = 'file'): Promise<{ port: number; child: ChildProcess }> {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const fd = openSync(stderrFile, 'a');
  // This process sits in spawnSync('wrk') while the load runs: it cannot drain a pipe itself.
  const drain = stderr === 'pipe' ? spawn('cat', [], { stdio: ['pipe', fd, 'inherit'] }) : undefined;
  const child = spawn(process.execPath, [cli, 'run', appFile, '--port', '0', ...args], { stdio: ['ignore', 'ignore', drain ? drain.stdin! : fd], env });
  drain?.stdin!.destroy();
  closeSync(fd);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = readFileSync(stderrFile, 'utf8');
    const match = / port (\d+) /.exec(text);
    if (match) return { port: Number(match[1]), child };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`tsgi run ${args.join(' ')} did not start:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const results = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
try {
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const contender of order) {
      const stderrFile = join(dir, `stderr-${round}-${contender.name.replace(/\W+/g, '-')}.log`);
      const { port, child } = contender.args === undefined
        ? await startServerProcess(helloServer, ['node'])
        : await startTsgiRun(contender.args, stderrFile, contender.stderr);
      try {
        const url = `http://127.0.0.1:${port}/`;
        await load(url, 1, connections);
        results.get(contender.name)!.push((await load(url, seconds, connections)).requestsPerSecond);
      } finally {
        await stopProcess(child);
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const peer = median(results.get('raw node:http handler')!);
console.log(`hello world, wrk -t1 -c${connections}, median of ${rounds} x ${seconds}s; stderr to a file`);
for (const contender of contenders) {
  const value = median(results.get(contender.name)!);
  console.log(`  ${contender.name.padEnd(36)} ${value.toFixed(0).padStart(8)} req/s   ${(value / peer).toFixed(2)}x raw node:http`);
}
const defaultRatio = median(results.get('tsgi run (default access log)')!) / peer;
console.log(`goal: tsgi run with its default access log >= 0.90x raw node:http — ${defaultRatio >= 0.9 ? 'met' : 'NOT met'} (${defaultRatio.toFixed(2)}x)`);
