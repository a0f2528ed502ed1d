import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { listenOn, parseAddress } from '../../src/frontends/listen.js';
import { tempDir } from '../helpers/fastcgi-peers.js';

describe('listen addresses', () => {
  it('parses HOST:PORT, [v6]:PORT, :PORT (loopback), socket paths and fd:N', () => {
    assert.deepEqual(parseAddress('0.0.0.0:9000'), { kind: 'tcp', host: '0.0.0.0', port: 9000 });
    assert.deepEqual(parseAddress('[::1]:9000'), { kind: 'tcp', host: '::1', port: 9000 });
    assert.deepEqual(parseAddress(':9000'), { kind: 'tcp', host: '127.0.0.1', port: 9000 });
    assert.deepEqual(parseAddress('./app.sock'), { kind: 'unix', path: './app.sock' });
    assert.deepEqual(parseAddress('fd:0'), { kind: 'fd', fd: 0 });
    assert.throws(() => parseAddress('9000'), /expected HOST:PORT/);
    assert.throws(() => parseAddress('host:70000'), /out of range/);
  });

  it('replaces a unix socket file left by a dead server but not one a live server holds', async () => {
    const dir = tempDir('listen');
    const path = join(dir, 'app.sock');
    try {
      // A process that binds the socket and dies leaves the file behind.
      execFileSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`]);
      assert.ok(existsSync(path));
      const first = createServer();
      assert.equal(await listenOn(first, { kind: 'unix', path }), path);
      const second = createServer();
      await assert.rejects(listenOn(second, { kind: 'unix', path }), /EADDRINUSE/);
      await new Promise((resolve) => first.close(resolve));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the address and the real cause when listening fails', async () => {
    const missing = listenOn(createServer(), parseAddress('/no/such/folder/app.sock'));
    await assert.rejects(missing, (error: NodeJS.ErrnoException) => /^cannot listen on \/no\/such\/folder\/app\.sock: the folder \/no\/such\/folder does not exist \(E[A-Z]+\)$/.test(error.message) && error.syscall === 'listen');
    await assert.rejects(listenOn(createServer(), parseAddress('fd:987')), /^Error: cannot listen on fd:987: file descriptor 987 is not open/);
    const dir = tempDir('listen-errors');
    const fd = openSync(join(dir, 'plain-file'), 'w');
    try {
      await assert.rejects(listenOn(createServer(), parseAddress(`fd:${fd}`)), (error: NodeJS.ErrnoException) => error.message.startsWith(`cannot listen on fd:${fd}: file descriptor ${fd} is not a socket (`) && typeof error.code === 'string');
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
