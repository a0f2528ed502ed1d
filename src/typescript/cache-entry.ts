/**
 * A compiled module in the cache carries its own key on its first line: which compiler made it
 * and the path, mtime and size of every file that went into it. One file, renamed into place
 * whole, so a reader never pairs a key with another compile's code.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';

const PREFIX = '// tsgi-cache ';
const MAX_HEADER = 1 << 20;

/** [path, mtimeMs, size] of one input. */
export type Stamp = [string, number, number];

export interface CacheKey {
  /** Who compiled it and how: a compile by another tsgi (or another way of compiling) is not reused. */
  compiler: string;
  /** The TypeScript file first, then every file bundled with it and every package file it imports. */
  inputs: Stamp[];
}

/** The stamp of `path` now, undefined when it is gone. */
export function stampOf(path: string): Stamp | undefined {
  try {
    const info = statSync(path, { throwIfNoEntry: false });
    return info ? [path, info.mtimeMs, info.size] : undefined;
  } catch {
    return undefined;
  }
}

export function headerLine(key: CacheKey): string {
  return `${PREFIX}${JSON.stringify(key)}\n`;
}

/** The key on the first line of `file`, undefined when there is no such file or it holds none. */
export function readKey(file: string): CacheKey | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    // Most keys fit the first read; one naming hundreds of inputs takes a few more.
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(16 * 1024);
      const read = readSync(fd, chunk, 0, chunk.length, length);
      const end = chunk.subarray(0, read).indexOf(10);
      if (end >= 0) {
        chunks.push(chunk.subarray(0, end));
        break;
      }
      chunks.push(chunk.subarray(0, read));
      length += read;
      if (read === 0 || length > MAX_HEADER) return undefined;
    }
    const line = Buffer.concat(chunks).toString('utf8');
    if (!line.startsWith(PREFIX)) return undefined;
    const key = JSON.parse(line.slice(PREFIX.length)) as CacheKey;
    return typeof key.compiler === 'string' && Array.isArray(key.inputs) ? key : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** True while every input still has the mtime and size it had when compiled. */
export function isFresh(key: CacheKey): boolean {
  for (const [path, mtime, size] of key.inputs) {
    const now = stampOf(path);
    if (!now || now[1] !== mtime || now[2] !== size) return false;
  }
  return true;
}
