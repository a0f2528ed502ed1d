/**
 * Honest traffic: GET or POST /n/ID answers "hello ID" (a body the client can check), anything
 * else "hello". `?wait=MS` answers after MS milliseconds, so that requests are in flight.
 */
import type { Application } from '../../src/types.js';

const app: Application = async (environ, startResponse) => {
  const id = /^\/n\/(\d+)$/.exec(environ.PATH_INFO)?.[1];
  const wait = Number(/(?:^|&)wait=(\d+)/.exec(environ.QUERY_STRING)?.[1] ?? 0);
  for await (const chunk of environ['tsgi.input']) void chunk;
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [id === undefined ? 'hello\n' : `hello ${id}\n`];
};

export default app;
