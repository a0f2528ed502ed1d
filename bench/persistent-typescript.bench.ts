/**
 * A persistent `.ts` CGI script against the same script as `.js`, both kept warm by one
 * `tsgi serve --cgi --persistent .js,.ts`: what the host's check that the compiled module is
 * still fresh costs per request. wrk runs interleaved; BENCH_ROUNDS (5), BENCH_SECONDS (3),
 * BENCH_CONNECTIONS (4) override.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, tempDir, waitForPort } from '../test/helpers/fastcgi-peers.js';
import { load } from './load.js';
import { HELLO_TS } from './servers/hello-ts.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 4);

const dir = tempDir('persistent-ts-bench');
chmodSync(dir, 0o755);
mkdirSync(join(dir, 'node_modules'));
symlinkSync(repo, join(dir, 'node_modules', 'tsgi'));
writeFileSync(join(dir, 'package.json'), '{"type":"module","private":true}\n');
mkdirSync(join(dir, 'cgi-bin'), { mode: 0o755 });
writeFileSync(join(dir, 'cgi-bin', 'hello.ts'), HELLO_TS);
writeFileSync(join(dir, 'cgi-bin', 'hello.js'), '#!/usr/bin/env node\n' + HELLO_TS.replace(/^import type .*\n/m, '').replace(/: Application/, ''), { mode: 0o755 });

const port = await freePort();
const server = spawn(process.execPath, [join(repo, 'dist/src/cli.js'), 'serve', dir, '--cgi', '--persistent', '.js,.ts', '--port', String(port), '--no-access-log'], { stdio: 'ignore', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
try {
  await waitForPort(port, server, 'tsgi serve');
  const paths = ['/cgi-bin/hello.js?name=bench', '/cgi-bin/hello.ts?name=bench'];
  const figures = new Map<string, number[]>(paths.map((path) => [path, []]));
  for (const path of paths) await load(`http://127.0.0.1:${port}${path}`, 1, connections);
  for (let round = 0; round < rounds; round++) {
    for (const path of round % 2 === 0 ? paths : [...paths].reverse()) {
      figures.get(path)!.push((await load(`http://127.0.0.1:${port}${path}`, seconds, connections)).requestsPerSecond);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const [js, ts] = paths.map((path) => median(figures.get(path)!)) as [number, number];
  console.log(`persistent CGI hello, wrk -c${connections}, median of ${rounds} x ${seconds}s interleaved, node ${process.version}, load average ${loadavg()[0]!.toFixed(1)}:`);
  console.log(`  .js, --persistent .js   ${js.toFixed(0).padStart(7)} req/s   (runs: ${figures.get(paths[0]!)!.map((v) => v.toFixed(0)).join(', ')})`);
  console.log(`  .ts, --persistent .ts   ${ts.toFixed(0).padStart(7)} req/s   (runs: ${figures.get(paths[1]!)!.map((v) => v.toFixed(0)).join(', ')})   ${(ts / js).toFixed(2)}x .js`);
} finally {
  server.kill('SIGTERM');
  await new Promise((resolve) => (server.exitCode !== null ? resolve(undefined) : server.once('exit', resolve)));
  rmSync(dir, { recursive: true, force: true });
}
