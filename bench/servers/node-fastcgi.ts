/** The same application on node-fastcgi 2.0 (the peer the FastCGI benchmark compares with): `node node-fastcgi.js PORT`. */
import { createRequire } from 'node:module';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

type Responder = (req: IncomingMessage, res: ServerResponse) => void;
const fcgi = createRequire(import.meta.url)('node-fastcgi') as { createServer(responder: Responder): Server };

const greeting = 'Hello, world!\n';
const server = fcgi.createServer((req, res) => {
  if (req.method === 'POST') {
    let length = 0;
    req.on('data', (chunk: Buffer) => (length += chunk.length));
    req.on('end', () => {
      const body = `${length}\n`;
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(greeting) });
  res.end(greeting);
});
server.listen(Number(process.argv[2]), '127.0.0.1');
