/**
 * Hello world over HTTP: tsgi's HTTP front end vs a raw node:http handler vs Hono on
 * @hono/node-server. Each server runs in its own process; rounds alternate the order so
 * neither side always runs on a warmer machine; the best round of each counts.
 */
import { fileURLToPath } from 'node:url';
import { bestOfRounds, table } from './load.js';

const serverFile = fileURLToPath(new URL('./servers/hello.js', import.meta.url));
const kinds = ['tsgi', 'node', 'hono'] as const;
const { best, tool, rounds, seconds } = await bestOfRounds(serverFile, kinds, '/');

console.log(`hello world over HTTP, ${tool}, 50 connections, best of ${rounds} x ${seconds}s`);
table([
  ['tsgi makeServer', best.get('tsgi')!],
  ['raw node:http handler', best.get('node')!],
  ['hono on @hono/node-server', best.get('hono')!],
], 'raw node:http handler');
