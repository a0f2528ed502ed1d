/**
 * What the adapters cost: the same Hono app native and through fromFetchHandler on tsgi,
 * the same Express app native and through fromNodeListener on tsgi, and a TSGI app native
 * and through toFetchHandler on @hono/node-server. Each server runs in its own process;
 * rounds alternate the order; the best round of each counts.
 */
import { fileURLToPath } from 'node:url';
import { load, startServerProcess, stopProcess, table } from './load.js';

const serverFile = fileURLToPath(new URL('./servers/fetch-adapters.js', import.meta.url));
const kinds = ['hono-native', 'hono-tsgi', 'express-native', 'express-tsgi', 'tsgi-native', 'tsgi-fetch'] as const;
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const best = new Map<string, number>();
let tool = '';

for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? kinds : [...kinds].reverse();
  for (const kind of order) {
    const { port, child } = await startServerProcess(serverFile, [kind]);
    try {
      const url = `http://127.0.0.1:${port}/hello/world`;
      await load(url, 1);
      const result = await load(url, seconds);
      tool = result.tool;
      best.set(kind, Math.max(best.get(kind) ?? 0, result.requestsPerSecond));
    } finally {
      await stopProcess(child);
    }
  }
}

const figure = (kind: string): number => best.get(kind)!;
console.log(`GET /hello/world, ${tool}, 50 connections, best of ${rounds} x ${seconds}s`);
console.log('Hono app:');
table([['on @hono/node-server', figure('hono-native')], ['fromFetchHandler on tsgi', figure('hono-tsgi')]], 'on @hono/node-server');
console.log('Express app:');
table([['on node:http', figure('express-native')], ['fromNodeListener on tsgi', figure('express-tsgi')]], 'on node:http');
console.log('TSGI app:');
table([['on tsgi makeServer', figure('tsgi-native')], ['toFetchHandler on @hono/node-server', figure('tsgi-fetch')]], 'on tsgi makeServer');
