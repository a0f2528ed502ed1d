/**
 * What `tsgi run` costs with the access log a user gets by default, against a raw
 * node:http handler in the same run (wrk -t1 -c16, hello world). Each contender runs in its
 * own process with stderr sent to a file, as a service manager would; rounds alternate the
 * order and the median round of each counts. BENCH_ROUNDS / BENCH_SECONDS override 5 x 4 s.
 * Besides req/s it prints the server's CPU time per request (from /proc): when other work
 * shares the machine, throughput swings by tens of percent between rounds, CPU per request
 * much less, so the cost of the log shows there first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load, startServerProcess, stopProcess } from './load.js';

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const helloServer = fileURLToPath(new URL('./servers/hello.js', import.meta.url));
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
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

/** User + system CPU time of a process so far, in µs (Linux), or NaN elsewhere. */
function cpuMicros(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6; // utime, stime in clock ticks of 10 ms
  } catch {
    return NaN;
  }
}

const results = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
const cpuPerRequest = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
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
        const cpuBefore = cpuMicros(child.pid!);
        const { requestsPerSecond } = await load(url, seconds, connections);
        results.get(contender.name)!.push(requestsPerSecond);
        cpuPerRequest.get(contender.name)!.push((cpuMicros(child.pid!) - cpuBefore) / (requestsPerSecond * seconds));
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
const unlogged = median(cpuPerRequest.get('tsgi run --no-access-log')!);
console.log(`hello world, wrk -t1 -c${connections}, median of ${rounds} x ${seconds}s; stderr to a file unless said; load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)}`);
console.log(`  ${'server'.padEnd(40)} ${'req/s'.padStart(8)}   vs raw node:http   CPU µs/request   vs --no-access-log`);
for (const contender of contenders) {
  const value = median(results.get(contender.name)!);
  const cpu = median(cpuPerRequest.get(contender.name)!);
  console.log(`  ${contender.name.padEnd(40)} ${value.toFixed(0).padStart(8)}   ${(value / peer).toFixed(2).padStart(6)}x           ${cpu.toFixed(2).padStart(6)}           ${(cpu / unlogged).toFixed(2)}x`);
}
const defaultRatio = median(results.get('tsgi run (default access log)')!) / peer;
const defaultCost = median(cpuPerRequest.get('tsgi run (default access log)')!) / unlogged - 1;
console.log(`goal: tsgi run with its default access log >= 0.90x raw node:http — ${defaultRatio >= 0.9 ? 'met' : 'NOT met'} (${defaultRatio.toFixed(2)}x); the log's CPU cost per request: ${(defaultCost * 100).toFixed(1)} % (goal <= 5 %)`);
