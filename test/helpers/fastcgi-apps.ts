/** Applications shared by the FastCGI and SCGI tests. */
import { createHash } from 'node:crypto';
import type { Application } from '../../src/types.js';

/** Reads the whole body through a hash: `METHOD PATH_INFO HTTP_PROXY|- LENGTH SHA256` proves every byte arrived in order. */
export const hashBody: Application = async (environ, start) => {
  const hash = createHash('sha256');
  let length = 0;
  for await (const chunk of environ['tsgi.input']) {
    hash.update(chunk);
    length += chunk.length;
  }
  start('200 OK', [['Content-Type', 'text/plain']]);
  return [`${environ.REQUEST_METHOD} ${environ.PATH_INFO} ${environ.HTTP_PROXY ?? '-'} ${length} ${hash.digest('hex')}`];
};

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
