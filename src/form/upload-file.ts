/**
 * Where a part's bytes live: in memory up to a threshold, then in a temporary file that has no
 * name: it is unlinked as soon as it is opened, so a crash (even SIGKILL) leaves nothing on
 * disk. The spilled parts of one form share one such file and one descriptor. A part whose
 * `path` is asked for gets a named copy of its own, removed by `close()` (or at exit).
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
  for (let attempt = 0; ; attempt++) {
    const path = `${dir.replace(/[\\/]$/, '')}/tsgi-upload-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 10)}`;
    try {
      return { fd: openSync(path, 'wx+', 0o600), path };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 20) throw error;
    }
  }
}

/** A named temporary file, removed by its owner's close() or when the process exits. */
function createNamedTempFile(dir: string): { fd: number; path: string } {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', removeLeftovers);
  }
  const file = createTempFile(dir);
  liveTempFiles.add(file.path);
  return file;
}

function writeAll(fd: number, data: Uint8Array, position: number): void {
  let offset = 0;
  while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset, position + offset);
}

/** Reads `length` bytes at `position` (fewer only at the end of the file). */
function readAt(fd: number, length: number, position: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const got = readSync(fd, out, done, length - done, position + done);
    if (got === 0) break;
    done += got;
  }
  return done === length ? out : out.subarray(0, done);
}

const COPY_BLOCK = 1024 * 1024;

/**
 * One unlinked temporary file that the spilled parts of a form share: each part holds a run of
 * bytes in it, and the form holds one descriptor however many parts spill. Opened on the first
 * spill; closed (and so freed by the kernel) once no part uses it.
 */
export class TempStore {
  #fd: number | null = null;
  #end = 0;
  #users = 0;

  constructor(private readonly dir: string | undefined) {}

  /** Takes a share in the file, opening it on first use. */
  acquire(): number {
    if (this.#fd === null) {
      const { fd, path } = createTempFile(this.dir ?? builtin.os().tmpdir());
      // The name lives for microseconds: from here on only the descriptor reaches the bytes.
      unlinkSync(path);
      this.#fd = fd;
      this.#end = 0;
    }
    this.#users++;
    return this.#fd;
  }

  release(): void {
    if (--this.#users > 0 || this.#fd === null) return;
    closeSync(this.#fd);
    this.#fd = null;
  }

  /** Where the next run of bytes starts: runs are only ever appended. */
  get end(): number {
    return this.#end;
  }

  set end(value: number) {
    this.#end = Math.max(this.#end, value);
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
 * `tell()`, plus `bytes()`, `stream()` and `path` (a named file, made when asked for).
 */
export class UploadFile {
  readonly #threshold: number;
  readonly #tempDir: string | undefined;
  /** Shared with the other parts of the form; a file made on its own gets one of its own. */
  readonly #store: TempStore;
  #chunks: Buffer[] | null = [];
  #memory: Buffer | null = null;
  /** The store's descriptor while this file's bytes are in it, from `#start` on. */
  #stored: number | null = null;
  #start = 0;
  /** Once `path` was asked for: the named file, and its descriptor while it is being written. */
  #path: string | null = null;
  #fd: number | null = null;
  #size = 0;
  #position = 0;
  #closed = false;

  constructor(options: UploadFileOptions = {}, store?: TempStore) {
    this.#threshold = options.memoryThreshold ?? 64 * 1024;
    this.#tempDir = options.tempDir;
    this.#store = store ?? new TempStore(options.tempDir);
  }

  /** Number of bytes held. */
  get size(): number {
    return this.#size;
  }

  /**
   * A named temporary file holding the data, or null while it is in memory. The spilled data
   * has no name (so a crash leaves nothing behind): the first time this is read, it is copied
   * to a file of its own, `0600` in `tempDir`, which `close()` (or the process's exit) removes.
   */
  get path(): string | null {
    if (this.#stored !== null && !this.#closed) this.#moveToNamedFile();
    return this.#path;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Appends bytes (copied: the caller may reuse its buffer). */
  write(data: Uint8Array): void {
    if (this.#closed) throw new Error('I/O operation on closed file');
    if (data.length === 0) return;
    if (this.#path !== null) {
      this.#fd ??= openSync(this.#path, 'r+');
      writeAll(this.#fd, data, this.#size);
    } else {
      if (this.#stored === null && this.#size + data.length > this.#threshold) this.#spill();
      if (this.#stored !== null) this.#append(data);
      else {
        this.#memory = null;
        this.#chunks!.push(Buffer.from(data));
      }
    }
    this.#size += data.length;
  }

  #spill(): void {
    this.#stored = this.#store.acquire();
    this.#start = this.#store.end;
    let at = this.#start;
    for (const chunk of this.#chunks!) {
      writeAll(this.#stored, chunk, at);
      at += chunk.length;
    }
    this.#store.end = at;
    this.#chunks = null;
    this.#memory = null;
  }

  /** Runs are appended: a file that is no longer the last in the store moves to the end first. */
  #append(data: Uint8Array): void {
    const fd = this.#stored!;
    if (this.#start + this.#size !== this.#store.end) {
      const from = this.#start;
      this.#start = this.#store.end;
      this.#copyStored(fd, from, this.#start);
      this.#store.end = this.#start + this.#size;
    }
    writeAll(fd, data, this.#start + this.#size);
    this.#store.end = this.#start + this.#size + data.length;
  }

  /** Copies this file's stored bytes from `from` in the store to `to` in `target`. */
  #copyStored(target: number, from: number, to: number): void {
    for (let done = 0; done < this.#size;) {
      const block = readAt(this.#stored!, Math.min(COPY_BLOCK, this.#size - done), from + done);
      if (block.length === 0) throw new Error('the temporary file is shorter than its contents');
      writeAll(target, block, to + done);
      done += block.length;
    }
  }

  #moveToNamedFile(): void {
    const { fd, path } = createNamedTempFile(this.#tempDir ?? builtin.os().tmpdir());
    try {
      this.#copyStored(fd, this.#start, 0);
    } catch (error) {
      closeSync(fd);
      unlinkSync(path);
      liveTempFiles.delete(path);
      throw error;
    }
    closeSync(fd);
    this.#path = path;
    this.#stored = null;
    this.#store.release();
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
    if (this.#stored !== null) return readAt(this.#stored, n, this.#start + start);
    if (this.#path === null) return Buffer.from(this.#inMemory().subarray(start, start + n));
    const fd = this.#fd ?? openSync(this.#path, 'r');
    try {
      return readAt(fd, n, start);
    } finally {
      if (fd !== this.#fd) closeSync(fd);
    }
  }

  /**
   * The content is complete. A named file's descriptor is closed, so a form with many such
   * parts does not hold one per part (reads open it briefly; a later write reopens it). Spilled
   * parts share their form's one descriptor.
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
    if (this.#stored !== null) {
      if (this.#size === 0) return builtin.stream().Readable.from([], { objectMode: false });
      // The stream holds a share of the store, so its descriptor outlives a close() mid-read.
      const fd = this.#store.acquire();
      const stream = createReadStream('', { fd, autoClose: false, start: this.#start, end: this.#start + this.#size - 1 });
      stream.once('close', () => this.#store.release());
      return stream;
    }
    if (this.#path !== null) return createReadStream(this.#path, { start: 0, end: Math.max(0, this.#size - 1) });
    return builtin.stream().Readable.from([this.#inMemory()], { objectMode: false });
  }

  /** Frees the memory, gives up its share of the store, removes its named file. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#chunks = null;
    this.#memory = null;
    if (this.#stored !== null) {
      this.#stored = null;
      this.#store.release();
    }
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
