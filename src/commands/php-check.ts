/** What `tsgi serve --php` says at start: which PHP serves, and a warning when a php-fpm address answers nobody. */
import { connect } from 'node:net';
import { parseAddress } from '../frontends/listen.js';

function probe(address: string): Promise<string | undefined> {
  const target = parseAddress(address);
  return new Promise((resolve) => {
    const socket = target.kind === 'tcp' ? connect({ host: target.host, port: target.port }) : target.kind === 'unix' ? connect({ path: target.path }) : undefined;
    if (!socket) return resolve('not a responder address');
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('no answer within 2 s');
    }, 2000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code === 'ECONNREFUSED' ? 'connection refused' : error.code === 'ENOENT' ? 'no such socket' : error.code === 'EACCES' ? 'permission denied on the socket' : error.code ?? error.message);
    });
  });
}

export async function checkPhp(option: string): Promise<void> {
  if (option.startsWith('spawn')) {
    process.stderr.write(`tsgi: PHP through php-cgi children started on demand (${option === 'spawn' ? 'one per core' : option.slice(6)} at most)\n`);
    return;
  }
  const problem = await probe(option);
  if (problem) process.stderr.write(`tsgi: warning: php-fpm at ${option}: ${problem}; .php requests get 502 until it answers\n`);
  else process.stderr.write(`tsgi: PHP through php-fpm at ${option}\n`);
}
