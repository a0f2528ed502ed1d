/** What `tsgi serve --php` says at start: which PHP serves, and a warning when a php-fpm address answers nobody. */
import { parseAddress } from '../frontends/listen.js';
import { ConnectFailure, connectSocket } from '../gateways/fastcgi/connection.js';

/** Why php-fpm at `address` cannot be reached, or undefined when it answers a connection. */
async function probe(address: string): Promise<string | undefined> {
  try {
    (await connectSocket(parseAddress(address), 2000)).destroy();
    return undefined;
  } catch (error) {
    if (error instanceof ConnectFailure) return error.message;
    throw error;
  }
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
