import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { after, afterEach, describe, it, mock } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { cgiHost } from '../../src/apps/cgi-host.js';
import { makeServer, type HttpServer, type HttpServerOptions } from '../../src/frontends/http.js';
import { SEND_CHECK_MS, watchSend } from '../../src/frontends/send-watch.js';
import type { Application, Body } from '../../src/types.js';
import { isRunning } from '../helpers/process-group.js';
import { collectingErrors } from '../helpers/recording-target.js';
import { waitFor } from '../helpers/wait-for.js';

const servers: HttpServer[] = [];
const sockets: Socket[] = [];
after(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(app: Application, options: HttpServerOptions): Promise<HttpServer> {
  const server = await makeServer('127.0.0.1', 0, app, { accessLog: false, errors: collectingErrors(), drainTimeout: 500, ...options });
  servers.push(server);
  return server;
}

/** Sends a GET and then reads nothing: the socket stays paused. */
function stalledClient(port: number, path = '/'): Socket {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  socket.pause();
  socket.on('error', () => {});
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  return socket;
}

/** The server's open connections: a paused client would not notice the server cutting it. */
function connections(server: HttpServer): Promise<number> {
  return new Promise((resolve, reject) => server.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
}

async function waitForNoConnections(server: HttpServer, limitMs: number): Promise<void> {
  const started = Date.now();
  while ((await connections(server)) > 0) {
    if (Date.now() - started > limitMs) throw new Error('the server kept the connection');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** An endless body of 64 KiB chunks that counts how often close() is called. */
function endlessApp(counts: { closes: number }): Application {
  return (_, start) => {
    start('200 OK', [['Content-Type', 'application/octet-stream']]);
    const body: Body = Object.assign(
      (async function* () {
        for (;;) yield Buffer.alloc(64 * 1024);
      })(),
      { close: () => void counts.closes++ },
    );
    return body;
  };
}

describe('HTTP front end: the send timeout', () => {
  it('cuts a client that stops reading and closes the app body once', async () => {
    const counts = { closes: 0 };
    const server = await serve(endlessApp(counts), { sendTimeout: 300 });
    stalledClient(server.port);
    const started = Date.now();
    await waitFor(() => counts.closes > 0, 'the body to be closed', 5000);
    const waited = Date.now() - started;
    assert.ok(waited >= 300, `cut after ${waited} ms, before the timeout`);
    await waitForNoConnections(server, 2000);
    assert.equal(counts.closes, 1);
  });

  it('cuts a client that does not take the end of a response the app already finished', async () => {
    let finished = false;
    const server = await serve((_, start) => {
      start('200 OK', [['Content-Type', 'application/octet-stream']]);
      // One chunk much larger than the socket buffers: the app is done while most of it waits.
      finished = true;
      return [Buffer.alloc(64 * 1024 * 1024)];
    }, { sendTimeout: 300 });
    stalledClient(server.port);
    await waitFor(() => finished, 'the app to finish');
    await waitForNoConnections(server, 3000);
  });

  it('does not cut a slow client that keeps reading, however long the response takes', async () => {
    // Linux wakes a blocked writer only once half its (on loopback, several MiB) send buffer is
    // free, so progress comes in steps of megabytes: the body must be much larger than that.
    const chunks = 384;
    const size = chunks * 64 * 1024;
    const sendTimeout = 800;
    const server = await serve((_, start) => {
      start('200 OK', [['Content-Type', 'application/octet-stream'], ['Content-Length', String(size)]]);
      return (function* () {
        for (let i = 0; i < chunks; i++) yield Buffer.alloc(64 * 1024, i);
      })();
    }, { sendTimeout });
    const socket = stalledClient(server.port);
    let received = 0;
    const started = Date.now();
    // About 10 MiB a second: 24 MiB take 2.4 s, three times the timeout, with no stall that long.
    const rate = 10 * 1024 * 1024 / 1000;
    let resumeTimer: NodeJS.Timeout | undefined;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      const ahead = received / rate - (Date.now() - started);
      if (ahead > 0) {
        socket.pause();
        resumeTimer = setTimeout(() => socket.resume(), ahead);
      }
    });
    socket.resume();
    try {
      await waitFor(() => received >= size || socket.destroyed || socket.readableEnded, 'the whole response', 30_000);
    } finally {
      clearTimeout(resumeTimer);
    }
    const took = Date.now() - started;
    assert.ok(received >= size, `cut after ${received} of ${size} bytes`);
    assert.ok(took > 2 * sendTimeout, `the client was not slow enough to test anything (${took} ms)`);
    socket.destroy();
  });

  it('lets go of a connection whose client left with the response half sent', async () => {
    // The watch checks a quarter-timeout apart: holding the socket till its next check would
    // keep every cut connection, and the response bytes it still buffers, for 15 s by default.
    const server = await serve((_, start) => {
      start('200 OK', [['Content-Type', 'application/octet-stream']]);
      return [Buffer.alloc(16 * 1024 * 1024)];
    }, { sendTimeout: 60_000 });
    let serverSide: WeakRef<Socket> | undefined;
    server.server.once('connection', (socket: Socket) => (serverSide = new WeakRef(socket)));
    const client = stalledClient(server.port);
    client.once('data', () => client.resetAndDestroy());
    client.resume();
    await waitFor(() => serverSide?.deref()?.destroyed === true, 'the server to see the client go');
    await waitForNoConnections(server, 2000);
    await new Promise((resolve) => setImmediate(resolve));
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    gc();
    assert.ok(serverSide!.deref() === undefined, 'the closed socket is still referenced');
  });

  it('leaves an idle long poll alone', async () => {
    let release: (() => void) | undefined;
    const server = await serve((_, start) => {
      start('200 OK', [['Content-Type', 'text/event-stream']]);
      return (async function* () {
        yield 'data: first\n\n';
        await new Promise<void>((resolve) => (release = resolve));
        yield 'data: second\n\n';
      })();
    }, { sendTimeout: 100 });
    const socket = connect(server.port, '127.0.0.1');
    sockets.push(socket);
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => text.includes('first'), 'the first event');
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(socket.destroyed, false);
    release!();
    await waitFor(() => text.includes('second'), 'the second event');
    socket.destroy();
  });

  it('kills a CGI script whose client stopped reading', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-send-timeout-'));
    try {
      chmodSync(dir, 0o777);
      const script = join(dir, 'flood.sh');
      writeFileSync(script, `#!/bin/sh\necho $$ > "${dir}/flood.pid"\nprintf 'Content-Type: application/octet-stream\\n\\n'\nexec cat /dev/zero\n`);
      chmodSync(script, 0o755);
      const server = await serve(cgiHost({ root: dir, timeout: 60_000 }), { sendTimeout: 300 });
      stalledClient(server.port, '/flood.sh');
      await waitFor(() => existsSync(join(dir, 'flood.pid')), 'the script to start');
      const pid = Number(readFileSync(join(dir, 'flood.pid'), 'utf8'));
      await waitFor(() => !isRunning(pid), 'the script to be killed', 5000);
      await waitForNoConnections(server, 2000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** What the watch reads of a socket: bytes handed to it, bytes still waiting, and its end. */
class FakeSocket extends EventEmitter {
  bytesWritten = 0;
  writableLength = 0;
  destroyed = false;
  destroyedAt: number | undefined;

  write(bytes: number): void {
    this.bytesWritten += bytes;
    this.writableLength += bytes;
  }

  /** The kernel took `bytes` of what waits: a write completed. */
  take(bytes: number): void {
    this.writableLength -= bytes;
  }

  destroy(): void {
    this.destroyed = true;
    this.destroyedAt = Date.now();
    this.emit('close');
  }
}

describe('the send watch, on a mocked clock', () => {
  afterEach(() => mock.timers.reset());

  /** Runs the clock in 5 ms steps until `socket` is cut or `limitMs` passed. */
  function runUntilCut(socket: FakeSocket, limitMs: number, each: (now: number) => void = () => {}): void {
    for (let now = Date.now(); !socket.destroyed && now < limitMs; now += 5) {
      mock.timers.tick(5);
      each(Date.now());
    }
  }

  it('cuts a 60 s timeout at most SEND_CHECK_MS after 60 s without progress, never before', () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 });
    const socket = new FakeSocket();
    socket.write(64 * 1024);
    watchSend(socket as unknown as Socket, 60_000);
    // The last progress comes just after a check: a quarter-timeout check saw it 15 s late, and cut 15 s after that.
    const progress = 15_005;
    runUntilCut(socket, 200_000, (now) => {
      if (now === progress) socket.take(16 * 1024);
    });
    assert.ok(socket.destroyedAt !== undefined, 'never cut');
    assert.ok(socket.destroyedAt >= progress + 60_000, `cut at ${socket.destroyedAt} ms, before 60 s without progress`);
    assert.ok(socket.destroyedAt <= progress + 60_000 + SEND_CHECK_MS, `cut at ${socket.destroyedAt} ms, ${socket.destroyedAt - progress - 60_000} ms late`);
  });

  it('cuts a short timeout no later than a quarter of it past the timeout', () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 });
    const socket = new FakeSocket();
    socket.write(1000);
    watchSend(socket as unknown as Socket, 400);
    runUntilCut(socket, 10_000);
    assert.ok(socket.destroyedAt! >= 400 && socket.destroyedAt! <= 500, `cut at ${socket.destroyedAt} ms`);
  });

  it('never cuts a socket that completes a write within every timeout, and lets go of one with nothing waiting', () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 });
    const socket = new FakeSocket();
    socket.write(100 * 1024);
    watchSend(socket as unknown as Socket, 60_000);
    // One write completes every 59 s for ten minutes.
    runUntilCut(socket, 600_000, (now) => {
      if (now % 59_000 === 0) socket.take(1024);
    });
    assert.equal(socket.destroyed, false);
    // All taken: the watch stops, and a stall much later starts a fresh timeout.
    socket.take(socket.writableLength);
    mock.timers.tick(SEND_CHECK_MS);
    mock.timers.tick(120_000);
    assert.equal(socket.destroyed, false);
    socket.write(1000);
    watchSend(socket as unknown as Socket, 60_000);
    const stalled = Date.now();
    runUntilCut(socket, stalled + 120_000);
    assert.ok(socket.destroyedAt! - stalled >= 60_000 && socket.destroyedAt! - stalled <= 60_000 + SEND_CHECK_MS, `cut ${socket.destroyedAt! - stalled} ms after the stall`);
  });
});
