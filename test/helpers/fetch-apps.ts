/**
 * The same small service written as a Hono app and as an Express app, for the interop
 * tests that serve both through tsgi over HTTP, CGI and FastCGI.
 *   GET  /hello/:name   plain text greeting
 *   GET  /whoami        JSON: the client address and the mount point the app was told about
 *   GET  /go            a root-relative redirect to /hello/moved
 *   POST /digest        JSON: byte count and SHA-256 of the request body, read as a stream
 *   GET  /count/:n      n lines, streamed
 *   GET  /boom          the framework's error handler answers 500
 */
import { createHash } from 'node:crypto';
import express from 'express';
import { Hono } from 'hono';
import type { Environ } from '../../src/types.js';

export function honoApp(): Hono<{ Bindings: Environ }> {
  const app = new Hono<{ Bindings: Environ }>();
  app.get('/hello/:name', (c) => c.text(`hello ${c.req.param('name')} from hono`));
  app.get('/whoami', (c) => c.json({
    address: c.env.REMOTE_ADDR, scriptName: c.env.SCRIPT_NAME, url: c.req.url, prefix: c.req.header('x-forwarded-prefix') ?? null,
  }));
  app.get('/go', (c) => c.redirect('/hello/moved'));
  app.post('/digest', async (c) => {
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of c.req.raw.body ?? []) {
      bytes += chunk.length;
      hash.update(chunk);
    }
    return c.json({ bytes, sha256: hash.digest('hex') });
  });
  app.get('/count/:n', (c) => {
    const n = Number(c.req.param('n'));
    let i = 0;
    const encoder = new TextEncoder();
    return c.body(new ReadableStream<Uint8Array>({
      pull(controller) {
        if (i === n) controller.close();
        else controller.enqueue(encoder.encode(`line ${++i}\n`));
      },
    }), 200, { 'Content-Type': 'text/plain' });
  });
  app.get('/boom', () => {
    throw new Error('hono route failed');
  });
  app.onError((error, c) => c.text(`hono caught: ${error.message}`, 500));
  return app;
}

export function expressApp(): express.Express {
  const app = express();
  app.get('/hello/:name', (req, res) => {
    res.type('text/plain').send(`hello ${req.params.name} from express`);
  });
  app.get('/whoami', (req, res) => {
    const environ = (req as unknown as { environ: Environ }).environ;
    res.json({ address: req.ip, scriptName: environ.SCRIPT_NAME, url: req.url, prefix: req.get('x-forwarded-prefix') ?? null, originalUrl: req.originalUrl });
  });
  app.get('/go', (_req, res) => res.redirect('/hello/moved'));
  app.post('/digest', (req, res) => {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => res.json({ bytes, sha256: hash.digest('hex') }));
  });
  app.get('/count/:n', (req, res) => {
    const n = Number(req.params.n);
    res.type('text/plain');
    let i = 0;
    const more = (): void => {
      while (i < n) if (!res.write(`line ${++i}\n`)) return void res.once('drain', more);
      res.end();
    };
    more();
  });
  app.get('/boom', () => {
    throw new Error('express route failed');
  });
  app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).type('text/plain').send(`express caught: ${error.message}`);
  });
  return app;
}
