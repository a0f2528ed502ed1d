/**
 * Hello world over HTTP: tsgi's HTTP front end vs a raw node:http handler vs Hono on
 * @hono/node-server. Each server runs in its own process; rounds alternate the order so
 * neither side always runs on a warmer machine; the best round of each counts.
 */
import { fileURLToPath } from 'node:url';
import { load, startServerProcess, stopProcess, table } from './load.js';

const serverFile = fileURLToPath(new URL('./servers/hello.js', import.meta.url));
const kinds = ['tsgi', 'node', 'hono'] as const;
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const best = new Map<string, number>();
let tool = '';

for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? kinds : [...kinds].reverse();
  for (const kind of order) {
    const { port, child } = await startServerProcess(serverFile, [kind]);
    try {
      await load(`http://127.0.0.1:${port}/`, 1); // warm-up: JIT and connection setup
      const result = await load(`http://127.0.0.1:${port}/`, seconds);
      tool = result.tool;
      best.set(kind, Math.max(best.get(kind) ?? 0, result.requestsPerSecond));
    } finally {
      await stopProcess(child);
    }
  }
}

console.log(`hello world over HTTP, ${tool}, 50 connections, best of ${rounds} x ${seconds}s`);
table([
  ['tsgi makeServer', best.get('tsgi')!],
  ['raw node:http handler', best.get('node')!],
  ['hono on @hono/node-server', best.get('hono')!],
], 'raw node:http handler');
