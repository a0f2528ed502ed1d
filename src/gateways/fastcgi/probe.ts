/** FCGI_GET_VALUES on a connection of its own: what a responder says about its limits, or nothing. */
import { connect } from 'node:net';
import { decodeParams, encodeParams, encodeRecord, RecordReader, RecordType } from '../../frontends/fastcgi/records.js';
import type { ListenAddress } from '../../frontends/listen.js';

export interface ResponderLimits {
  /** FCGI_MAX_CONNS: connections it serves at once. */
  maxConns?: number;
  /** FCGI_MAX_REQS: requests it serves at once. */
  maxReqs?: number;
  /** FCGI_MPXS_CONNS: whether it multiplexes requests on one connection. */
  multiplexes?: boolean;
}

const PROBE_TIMEOUT_MS = 250;
const QUESTION = encodeRecord(RecordType.GetValues, 0, encodeParams([['FCGI_MAX_CONNS', ''], ['FCGI_MAX_REQS', ''], ['FCGI_MPXS_CONNS', '']]));

/**
 * Never rejects: a responder that is down, ignores the question or hangs up yields `{}`, and
 * the request that follows finds out for itself. PHP-FPM closes the connection after
 * answering, so the probe never shares a connection with requests.
 */
export function askLimits(target: ListenAddress, timeout: number): Promise<ResponderLimits> {
  return new Promise((resolve) => {
    if (target.kind === 'fd') return resolve({});
    const socket = target.kind === 'tcp' ? connect({ host: target.host, port: target.port }) : connect({ path: target.path });
    const limits: ResponderLimits = {};
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(limits);
    };
    // Waited for once per address, before its first request: a responder that ignores the question costs that much.
    const timer = setTimeout(finish, Math.min(timeout, PROBE_TIMEOUT_MS));
    const reader = new RecordReader();
    socket.on('connect', () => socket.write(QUESTION));
    socket.on('data', (data: Buffer) => {
      try {
        reader.push(data, (type, _id, content) => {
          if (type !== RecordType.GetValuesResult) return;
          decodeParams(content, (name, value) => {
            const number = Number(value);
            if (!/^\d+$/.test(value)) return;
            if (name === 'FCGI_MAX_CONNS') limits.maxConns = number;
            else if (name === 'FCGI_MAX_REQS') limits.maxReqs = number;
            else if (name === 'FCGI_MPXS_CONNS') limits.multiplexes = number === 1;
          });
          finish();
        });
      } catch {
        finish();
      }
    });
    socket.on('error', finish);
    socket.on('close', finish);
  });
}
