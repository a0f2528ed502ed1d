/** Load generation for benchmarks: wrk when installed, else a small keep-alive loop in Node. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';

export const hasWrk = spawnSync('wrk', ['--version']).error === undefined;

export interface LoadResult {
  requestsPerSecond: number;
  tool: string;
}

/** Runs wrk (or the fallback) against url for `seconds` with `connections` open; returns req/s. */
export async function load(url: string, seconds = 5, connections = 50, script?: string): Promise<LoadResult> {
  if (hasWrk) {
    const args = ['-t1', `-c${connections}`, `-d${seconds}s`, ...(script ? ['-s', script] : []), url];
    const out = spawnSync('wrk', args, { encoding: 'utf8' });
    const match = /Requests\/sec:\s+([\d.]+)/.exec(out.stdout);
    if (!match) throw new Error(`wrk gave no figure:\n${out.stdout}\n${out.stderr}`);
    const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out.stdout);
    if (errors) process.stderr.write(`  note: ${errors[0]}\n`);
    return { requestsPerSecond: Number(match[1]), tool: 'wrk' };
  }
  return nodeLoad(url, seconds, connections);
}

async function nodeLoad(url: string, seconds: number, connections: number): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const deadline = Date.now() + seconds * 1000;
  let done = 0;
  const worker = async () => {
    while (Date.now() < deadline) {
      await new Promise<void>((resolve, reject) => {
        request(url, { agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        }).on('error', reject).end();
      });
      done++;
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: connections }, worker));
  agent.destroy();
  return { requestsPerSecond: done / ((Date.now() - started) / 1000), tool: 'node loop' };
}

/** Starts `node file args...`, waits for the port it prints on its first stdout line. */
export async function startServerProcess(file: string, args: string[] = []): Promise<{ port: number; child: ChildProcess }> {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
    child.stdout!.once('data', (data: Buffer) => resolve(Number(data.toString().trim().split('\n')[0])));
  });
  return { port, child };
}

export function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

export function table(rows: [string, number][], baseline: string): void {
  const base = rows.find(([name]) => name === baseline)?.[1] ?? 1;
  for (const [name, value] of rows) {
    console.log(`  ${name.padEnd(34)} ${value.toFixed(0).padStart(9)} req/s   ${(value / base).toFixed(2)}x ${baseline}`);
  }
}

export interface RoundsResult {
  /** The best req/s of each server kind. */
  best: Map<string, number>;
  tool: string;
  rounds: number;
  seconds: number;
}

/**
 * Starts `node serverFile KIND` for each kind in turn, loads `path` on it, and keeps each
 * kind's best round. Rounds alternate the order, so neither side always runs on a warmer
 * machine. BENCH_ROUNDS and BENCH_SECONDS override the defaults (2 rounds of 4 s).
 */
export async function bestOfRounds(serverFile: string, kinds: readonly string[], path = '/'): Promise<RoundsResult> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
  const seconds = Number(process.env.BENCH_SECONDS ?? 4);
  const best = new Map<string, number>();
  let tool = '';
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? kinds : [...kinds].reverse();
    for (const kind of order) {
      const { port, child } = await startServerProcess(serverFile, [kind]);
      try {
        const url = `http://127.0.0.1:${port}${path}`;
        await load(url, 1); // warm-up: JIT and connection setup
        const result = await load(url, seconds);
        tool = result.tool;
        best.set(kind, Math.max(best.get(kind) ?? 0, result.requestsPerSecond));
      } finally {
        await stopProcess(child);
      }
    }
  }
  return { best, tool, rounds, seconds };
}
