/** A scriptable FastCGI responder for the client's tests: each request's records are handed to a callback that answers in raw bytes. */
import { createServer, type Server, type Socket } from 'node:net';
import {
  decodeParams, encodeEndRequest, encodeGetValuesResult, encodeStream, RecordReader, RecordType,
} from '../../src/frontends/fastcgi/records.js';

export interface SeenRequest {
  id: number;
  params: Record<string, string>;
  stdin: Buffer;
  socket: Socket;
  /** Index of the connection it came on, in order of arrival (0 = first). */
  connection: number;
  /** Writes STDOUT records, then optionally END_REQUEST. */
  reply(stdout: string | Buffer, end?: boolean): void;
}

export interface Responder {
  address: string;
  /** The connections that carried a request (not the ones that only asked FCGI_GET_VALUES). */
  connections: Socket[];
  /** How many FCGI_GET_VALUES questions came. */
  probes: number;
  /** Record types seen after a request's STDIN ended (ABORT_REQUEST, say). */
  lateRecords: number[];
  close(): Promise<void>;
}

export interface ResponderOptions {
  /** Called when PARAMS ended (STDIN may still be arriving); default waits for the end of STDIN. */
  onParams?: (request: SeenRequest) => void;
  onRequest?: (request: SeenRequest) => void;
  /** Do not read the socket at all (a responder that never takes the body). */
  neverRead?: boolean;
  /** FCGI_MAX_CONNS to answer FCGI_GET_VALUES with; undefined leaves the question unanswered. */
  maxConns?: number;
  /**
   * Serve like PHP-FPM's workers: at most this many connections at once, each kept until the
   * client closes it; the others wait unread, as in a listen backlog.
   */
  stickyWorkers?: number;
}

export async function startResponder(options: ResponderOptions): Promise<Responder> {
  const connections: Socket[] = [];
  const lateRecords: number[] = [];
  const all: Socket[] = [];
  const state = { probes: 0 };
  const backlog: Socket[] = [];
  let serving = 0;
  const admit = (socket: Socket) => {
    serving++;
    socket.once('close', () => {
      serving--;
      const next = backlog.shift();
      if (next) admit(next);
    });
    socket.resume();
  };
  const server: Server = createServer((socket) => {
    all.push(socket);
    if (options.stickyWorkers !== undefined) {
      socket.pause();
      if (serving < options.stickyWorkers) admit(socket);
      else backlog.push(socket);
    }
    let index = -1;
    socket.on('error', () => {});
    if (options.neverRead) {
      connections.push(socket);
      socket.pause();
      return;
    }
    const reader = new RecordReader();
    let params: Buffer[] = [];
    let stdin: Buffer[] = [];
    let current: SeenRequest | undefined;
    let done = false;
    socket.on('data', (data: Buffer) => {
      reader.push(data, (type, id, content) => {
        if (type === RecordType.GetValues) {
          state.probes++;
          if (options.maxConns !== undefined) {
            socket.end(encodeGetValuesResult(content, { FCGI_MAX_CONNS: options.maxConns, FCGI_MAX_REQS: options.maxConns, FCGI_MPXS_CONNS: 0 }));
          }
          return;
        }
        if (type === RecordType.BeginRequest) {
          if (index < 0) index = connections.push(socket) - 1;
          params = [];
          stdin = [];
          done = false;
          current = undefined;
        } else if (type === RecordType.Params) {
          if (content.length > 0) params.push(Buffer.from(content));
          else {
            const decoded: Record<string, string> = {};
            decodeParams(Buffer.concat(params), (name, value) => {
              decoded[name] = value;
            });
            current = {
              id, params: decoded, stdin: Buffer.alloc(0), socket, connection: index,
              reply: (stdout, end = true) => {
                const bytes = typeof stdout === 'string' ? Buffer.from(stdout, 'latin1') : stdout;
                socket.write(encodeStream(RecordType.Stdout, id, bytes.length > 0 ? [bytes] : [], end ? { close: true } : {}));
                if (end) socket.write(encodeEndRequest(id, 0, 0));
              },
            };
            options.onParams?.(current);
          }
        } else if (type === RecordType.Stdin && !done) {
          if (content.length > 0) stdin.push(Buffer.from(content));
          else {
            done = true;
            if (current) {
              current.stdin = Buffer.concat(stdin);
              options.onRequest?.(current);
            }
          }
        } else {
          lateRecords.push(type);
        }
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : 0;
  return {
    address: `127.0.0.1:${port}`,
    connections,
    get probes() {
      return state.probes;
    },
    lateRecords,
    close: () => new Promise<void>((resolve) => {
      for (const socket of all) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
