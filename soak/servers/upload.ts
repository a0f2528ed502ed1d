/**
 * Uploads to disk: FieldStorage with a small memory threshold, so every file part spills to
 * a temporary file, and a named copy of it (`file.path`) that the response streams back.
 * The form is closed by the body's close(), which the server calls however the response
 * ends: finished, or cut because the client went away before or during it.
 */
import { openSync, readSync, closeSync } from 'node:fs';
import { FieldStorage } from '../../src/form/index.js';
import type { Application } from '../../src/types.js';

const app: Application = async (environ, startResponse) => {
  let form: FieldStorage;
  try {
    form = await FieldStorage.from(environ, { memoryThreshold: 4096 });
  } catch (error) {
    startResponse('400 Bad Request', [['Content-Type', 'text/plain']]);
    return [`${(error as Error).message}\n`];
  }
  const part = form.get('file');
  const path = part && !Array.isArray(part) ? part.file?.path ?? null : null;
  if (path === null) {
    form.close();
    startResponse('400 Bad Request', [['Content-Type', 'text/plain']]);
    return ['no file part\n'];
  }
  startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
  return {
    *[Symbol.iterator]() {
      const fd = openSync(path, 'r');
      try {
        const block = Buffer.alloc(16 * 1024);
        for (let got; (got = readSync(fd, block, 0, block.length, null)) > 0;) yield Buffer.from(block.subarray(0, got));
      } finally {
        closeSync(fd);
      }
    },
    close: () => form.close(),
  };
};

export default app;
