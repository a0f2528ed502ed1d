/** The Upstream for one responder that runs by itself (a php-fpm pool, `tsgi run --fastcgi`): always the same address. */
import { parseAddress } from '../frontends/listen.js';
import type { Lease, Upstream } from './upstream.js';

export function fixedUpstream(address: string): Upstream {
  const target = parseAddress(address);
  if (target.kind === 'fd') throw new TypeError(`${address} names a socket to listen on; a responder is HOST:PORT or a unix socket path`);
  const lease: Lease = { address, release: () => {} };
  let closed = false;
  return {
    acquire: () => (closed ? Promise.reject(new Error(`the upstream ${address} is closed`)) : Promise.resolve(lease)),
    onRetire: () => {},
    close: async () => {
      closed = true;
    },
  };
}
