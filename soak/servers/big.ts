/**
 * Large transfers: GET /big?bytes=N streams N bytes (one shared 64 KiB block, so the app
 * itself holds nothing per response); POST counts the body it reads and answers the count.
 */
import type { Application } from '../../src/types.js';

export const BLOCK = Buffer.alloc(64 * 1024, 'tsgi soak ');

function* bytes(count: number): Generator<Uint8Array> {
  for (let left = count; left > 0; left -= BLOCK.length) yield left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left);
}

const app: Application = async (environ, startResponse) => {
  if (environ.REQUEST_METHOD === 'POST') {
    let length = 0;
    for await (const chunk of environ['tsgi.input']) length += chunk.length;
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return [`${length}\n`];
  }
  const count = Number(/(?:^|&)bytes=(\d+)/.exec(environ.QUERY_STRING)?.[1] ?? 1024 * 1024 * 1024);
  startResponse('200 OK', [['Content-Type', 'application/octet-stream'], ['Content-Length', String(count)]]);
  return bytes(count);
};

export default app;
