/** A raw FastCGI client for tests: writes records byte by byte and collects what comes back per request. */
import { connect, type Socket } from 'node:net';
import {
  encodeBeginRequest, encodeParams, encodeRecord, FCGI_KEEP_CONN, MAX_CONTENT_LENGTH, RecordReader, RecordType, Role,
} from '../../src/frontends/fastcgi/records.js';

export interface FcgiRecord {
  type: number;
  id: number;
  content: Buffer;
}

export interface FcgiResponse {
  stdout: Buffer;
  stderr: Buffer;
  appStatus: number;
  protocolStatus: number;
}

export interface RequestOptions {
  keepConn?: boolean;
  role?: number;
  /** Body chunks sent as STDIN records; omit `endStdin` to leave the stream open. */
  body?: Buffer | Buffer[];
  endStdin?: boolean;
}

export class FcgiTestClient {
  readonly records: FcgiRecord[] = [];
  readonly closed: Promise<void>;
  private readonly reader = new RecordReader();
  private waiters: (() => void)[] = [];
  isClosed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (data: Buffer) => {
      this.reader.push(data, (type, id, content) => this.records.push({ type, id, content: Buffer.from(content) }));
      this.wake();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.on('close', () => {
      this.isClosed = true;
      this.wake();
      resolve();
    }));
  }

  static connect(target: number | string): Promise<FcgiTestClient> {
    return new Promise((resolve, reject) => {
      const socket = typeof target === 'number' ? connect(target, '127.0.0.1') : connect(target);
      socket.once('connect', () => resolve(new FcgiTestClient(socket)));
      socket.once('error', reject);
    });
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  send(data: Buffer): void {
    this.socket.write(data);
  }

  begin(id: number, options: RequestOptions = {}): void {
    this.send(encodeBeginRequest(id, options.role ?? Role.Responder, options.keepConn === false ? 0 : FCGI_KEEP_CONN));
  }

  params(id: number, params: Record<string, string>): void {
    const data = encodeParams(Object.entries(params));
    for (let offset = 0; offset < data.length; offset += MAX_CONTENT_LENGTH) {
      this.send(encodeRecord(RecordType.Params, id, data.subarray(offset, offset + MAX_CONTENT_LENGTH)));
    }
    this.send(encodeRecord(RecordType.Params, id));
  }

  stdin(id: number, chunk: Buffer): void {
    for (let offset = 0; offset < chunk.length; offset += MAX_CONTENT_LENGTH) {
      this.send(encodeRecord(RecordType.Stdin, id, chunk.subarray(offset, offset + MAX_CONTENT_LENGTH)));
    }
    if (chunk.length === 0) this.send(encodeRecord(RecordType.Stdin, id));
  }

  /** BEGIN_REQUEST, PARAMS, STDIN (ended unless told otherwise). */
  request(id: number, params: Record<string, string>, options: RequestOptions = {}): void {
    this.begin(id, options);
    this.params(id, params);
    const chunks = options.body === undefined ? [] : Array.isArray(options.body) ? options.body : [options.body];
    for (const chunk of chunks) if (chunk.length > 0) this.stdin(id, chunk);
    if (options.endStdin !== false) this.stdin(id, Buffer.alloc(0));
  }

  /** Resolves once `check` holds over the records received, or rejects when the connection closes first. */
  async until<T>(check: () => T | undefined, what: string): Promise<T> {
    for (;;) {
      const found = check();
      if (found !== undefined) return found;
      if (this.isClosed) throw new Error(`connection closed before ${what}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** The request's STDOUT, STDERR and END_REQUEST, once END_REQUEST arrives. */
  async response(id: number): Promise<FcgiResponse> {
    const end = await this.until(() => this.records.find((r) => r.id === id && r.type === RecordType.EndRequest), `END_REQUEST ${id}`);
    const pick = (type: number) => Buffer.concat(this.records.filter((r) => r.id === id && r.type === type).map((r) => r.content));
    return { stdout: pick(RecordType.Stdout), stderr: pick(RecordType.Stderr), appStatus: end.content.readUInt32BE(0), protocolStatus: end.content[4]! };
  }

  /** Forgets the records of `id` (so the id can be reused in the same test). */
  forget(id: number): void {
    for (let i = this.records.length - 1; i >= 0; i--) if (this.records[i]!.id === id) this.records.splice(i, 1);
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface CgiResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Splits a CGI response (`Status:` + headers, blank line, body). */
export function parseCgiResponse(data: Buffer): CgiResponse {
  const split = data.indexOf('\r\n\r\n');
  if (split < 0) throw new Error(`no end of headers in ${JSON.stringify(data.toString('latin1').slice(0, 200))}`);
  const headers: Record<string, string> = {};
  for (const line of data.toString('latin1', 0, split).split('\r\n')) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number((headers.status ?? '200').slice(0, 3)), headers, body: data.subarray(split + 4) };
}

/** The params a web server sends for a simple request. */
export function cgiParams(method: string, pathInfo: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    GATEWAY_INTERFACE: 'CGI/1.1', REQUEST_METHOD: method, SCRIPT_NAME: '', PATH_INFO: pathInfo, QUERY_STRING: '',
    SERVER_NAME: 'example.test', SERVER_PORT: '80', SERVER_PROTOCOL: 'HTTP/1.1', REMOTE_ADDR: '127.0.0.1', ...extra,
  };
}
