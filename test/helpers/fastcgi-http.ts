/** A small HTTP client for interop tests: one fresh connection per request, bodies as Buffers. */
import { request } from 'node:http';

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface HttpCall {
  method?: string;
  headers?: Record<string, string>;
  /** Sent with Content-Length, or chunked when given as several pieces. */
  body?: Buffer | Buffer[];
}

export function httpCall(port: number, path: string, call: HttpCall = {}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...call.headers };
    if (Buffer.isBuffer(call.body)) headers['Content-Length'] = String(call.body.length);
    const req = request({ host: '127.0.0.1', port, path, method: call.method ?? 'GET', headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (data: Buffer) => parts.push(data));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    const pieces = call.body === undefined ? [] : Buffer.isBuffer(call.body) ? [call.body] : call.body;
    for (const piece of pieces) req.write(piece);
    req.end();
  });
}
