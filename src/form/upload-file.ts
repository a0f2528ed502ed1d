/**
 * Where a part's bytes live: in memory up to a threshold, then in a temporary file that is
 * removed by `close()` (or when the process exits, whatever happens first).
 */
import type { Readable } from 'node:stream';
import { requireBuiltin as require } from './builtin.js';

const builtin = {
  fs: require('node:fs') as typeof import('node:fs'),
  os: () => require('node:os') as typeof import('node:os'),
  stream: () => require('node:stream') as typeof import('node:stream'),
};
const { closeSync, createReadStream, openSync, readSync, unlinkSync, writeSync } = builtin.fs;

/** `fs.readSync`, shared with the reader of fd 0 so the form module loads node:fs once, cheaply. */
export const readFdSync = readSync;

const liveTempFiles = new Set<string>();
let exitHookInstalled = false;
let counter = 0;

function removeLeftovers(): void {
  for (const path of liveTempFiles) {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
  liveTempFiles.clear();
}

function createTempFile(dir: string): { fd: number; path: string } {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', removeLeftovers);
  }
  for (let attempt = 0; ; attempt++) {
    const path = `${dir.replace(/[\\/]$/, '')}/tsgi-upload-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 10)}`;
    try {
      const fd = openSync(path, 'wx+', 0o600);
      liveTempFiles.add(path);
      return { fd, path };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 20) throw error;
    }
  }
}

export interface UploadFileOptions {
  /** Bytes kept in memory before the data moves to a temporary file. Default 64 KiB. */
  memoryThreshold?: number;
  /** Directory for temporary files. Default `os.tmpdir()`. */
  tempDir?: string;
}

/**
 * A part's content, readable like Python's `FieldStorage.file`: `read(size)`, `seek()`,
 * `tell()`, plus `bytes()`, `stream()` and `path` (the temporary file, when there is one).
 */
export class UploadFile {
  readonly #threshold: number;
  readonly #tempDir: string | undefined;
  #chunks: Buffer[] | null = [];
  #memory: Buffer | null = null;
  #fd: number | null = null;
  #path: string | null = null;
  #size = 0;
  #position = 0;
  #closed = false;

  constructor(options: UploadFileOptions = {}) {
    this.#threshold = options.memoryThreshold ?? 64 * 1024;
    this.#tempDir = options.tempDir;
  }

  /** Number of bytes held. */
  get size(): number {
    return this.#size;
  }

  /** The temporary file holding the data, or null while it is in memory. */
  get path(): string | null {
    return this.#path;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Appends bytes (copied: the caller may reuse its buffer). */
  write(data: Uint8Array): void {
    if (this.#closed) throw new Error('I/O operation on closed file');
    if (data.length === 0) return;
    if (this.#path !== null && this.#fd === null) this.#fd = openSync(this.#path, 'r+');
    if (this.#fd === null && this.#size + data.length > this.#threshold) this.#spill();
    if (this.#fd !== null) {
      let offset = 0;
      while (offset < data.length) offset += writeSync(this.#fd, data, offset, data.length - offset, this.#size + offset);
    } else {
      this.#memory = null;
      this.#chunks!.push(Buffer.from(data));
    }
    this.#size += data.length;
  }

  #spill(): void {
    const { fd, path } = createTempFile(this.#tempDir ?? builtin.os().tmpdir());
    this.#fd = fd;
    this.#path = path;
    let at = 0;
    for (const chunk of this.#chunks!) {
      let offset = 0;
      while (offset < chunk.length) offset += writeSync(fd, chunk, offset, chunk.length - offset, at + offset);
      at += chunk.length;
    }
    this.#chunks = null;
    this.#memory = null;
  }

  #inMemory(): Buffer {
    if (!this.#memory) {
      this.#memory = this.#chunks!.length === 1 ? this.#chunks![0]! : Buffer.concat(this.#chunks!);
      this.#chunks = [this.#memory];
    }
    return this.#memory;
  }

  /** Reads up to `size` bytes from the current position (all of the rest by default). */
  read(size = -1): Buffer {
    if (this.#closed) throw new Error('I/O operation on closed file');
    const available = Math.max(0, this.#size - this.#position);
    const n = size < 0 ? available : Math.min(size, available);
    const start = this.#position;
    this.#position += n;
    if (this.#path === null) return Buffer.from(this.#inMemory().subarray(start, start + n));
    const fd = this.#fd ?? openSync(this.#path, 'r');
    const out = Buffer.allocUnsafe(n);
    let done = 0;
    try {
      while (done < n) {
        const got = readSync(fd, out, done, n - done, start + done);
        if (got === 0) break;
        done += got;
      }
    } finally {
      if (fd !== this.#fd) closeSync(fd);
    }
    return done === n ? out : out.subarray(0, done);
  }

  /**
   * The content is complete: closes the temporary file's descriptor, so a form with many file
   * parts does not hold one per part (reads open it briefly; a later write reopens it).
   */
  finish(): void {
    if (this.#fd === null) return;
    const fd = this.#fd;
    this.#fd = null;
    closeSync(fd);
  }

  /** Moves the position: whence 0 from the start, 1 from here, 2 from the end. Returns it. */
  seek(offset: number, whence: 0 | 1 | 2 = 0): number {
    const base = whence === 0 ? 0 : whence === 1 ? this.#position : this.#size;
    this.#position = Math.max(0, base + offset);
    return this.#position;
  }

  tell(): number {
    return this.#position;
  }

  /** The whole content, whatever the position (which it leaves alone). */
  bytes(): Buffer {
    const saved = this.#position;
    this.#position = 0;
    try {
      return this.read();
    } finally {
      this.#position = saved;
    }
  }

  /** The whole content as a stream, without loading a spilled file into memory. */
  stream(): Readable {
    if (this.#closed) throw new Error('I/O operation on closed file');
    if (this.#path !== null) return createReadStream(this.#path, { start: 0, end: Math.max(0, this.#size - 1) });
    return builtin.stream().Readable.from([this.#inMemory()], { objectMode: false });
  }

  /** Frees the memory, closes and removes the temporary file. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#chunks = null;
    this.#memory = null;
    if (this.#fd !== null) {
      try {
        closeSync(this.#fd);
      } catch {
        // already closed
      }
      this.#fd = null;
    }
    if (this.#path !== null) {
      try {
        unlinkSync(this.#path);
      } catch {
        // removed by someone else
      }
      liveTempFiles.delete(this.#path);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
