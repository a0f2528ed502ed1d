/**
 * What the adapters cost: the same Hono app native and through fromFetchHandler on tsgi,
 * the same Express app native and through fromNodeListener on tsgi, and a TSGI app native
 * and through toFetchHandler on @hono/node-server. Each server runs in its own process;
 * rounds alternate the order; the best round of each counts.
 */
import { fileURLToPath } from 'node:url';
import { bestOfRounds, table } from './load.js';

const serverFile = fileURLToPath(new URL('./servers/fetch-adapters.js', import.meta.url));
const kinds = ['hono-native', 'hono-tsgi', 'express-native', 'express-tsgi', 'tsgi-native', 'tsgi-fetch'] as const;
const { best, tool, rounds, seconds } = await bestOfRounds(serverFile, kinds, '/hello/world');

const figure = (kind: string): number => best.get(kind)!;
console.log(`GET /hello/world, ${tool}, 50 connections, best of ${rounds} x ${seconds}s`);
console.log('Hono app:');
table([['on @hono/node-server', figure('hono-native')], ['fromFetchHandler on tsgi', figure('hono-tsgi')]], 'on @hono/node-server');
console.log('Express app:');
table([['on node:http', figure('express-native')], ['fromNodeListener on tsgi', figure('express-tsgi')]], 'on node:http');
console.log('TSGI app:');
table([['on tsgi makeServer', figure('tsgi-native')], ['toFetchHandler on @hono/node-server', figure('tsgi-fetch')]], 'on tsgi makeServer');
