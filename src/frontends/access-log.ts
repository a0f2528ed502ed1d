/**
 * Access-log lines (Common Log Format, Apache's combined format, or JSON lines) and the
 * buffered writer that keeps them off the request path: one write per batch, not per request.
 */
import { appendFileSync, closeSync, openSync, writeSync } from 'node:fs';
import type { Environ } from '../types.js';

export type AccessLogFormat = 'common' | 'combined' | 'json';
export const ACCESS_LOG_FORMATS: readonly AccessLogFormat[] = ['common', 'combined', 'json'];

export interface AccessLogOptions {
  /** Where lines go: a file path (opened for appending) or `-` for stderr (default). */
  file?: string;
  /** Line shape (default `common`). */
  format?: AccessLogFormat;
  /** Receives each line instead of a file; called once per request, without batching. */
  write?: (line: string) => void;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
let cachedSecond = -1;
let cachedStamp = '';
let cachedIso = '';

/** `[21/Nov/2026:20:10:00 +0000]` and its ISO form, recomputed at most once a second: they are on every request's path. */
function refreshStamps(now: number): void {
  const second = Math.floor(now / 1000);
  if (second === cachedSecond) return;
  const d = new Date(second * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  cachedStamp = `[${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000]`;
  cachedIso = d.toISOString().replace('.000Z', 'Z');
  cachedSecond = second;
}

// Request lines and headers come from clients: quotes and controls are escaped so a log line stays one line.
const NEEDS_ESCAPE = /[\x00-\x1f\x7f"\\]/;
const ESCAPED = /[\x00-\x1f\x7f"\\]/g;
function clean(text: string): string {
  // Most lines have nothing to escape: a test is cheaper than a replace that finds nothing.
  if (!NEEDS_ESCAPE.test(text)) return text;
  return text.replace(ESCAPED, (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

export type LoggedRequest = Pick<Environ, 'REQUEST_METHOD' | 'REQUEST_URI' | 'PATH_INFO' | 'SERVER_PROTOCOL' | 'REMOTE_ADDR' | 'REMOTE_USER'>
  & { HTTP_REFERER?: string | undefined; HTTP_USER_AGENT?: string | undefined };

// A log line per request must stay a line one reads: a refused 9,000-character URL is cut, with its length said.
const LOGGED_URI_LENGTH = 2048;

function loggedUri(environ: LoggedRequest): string {
  const uri = environ.REQUEST_URI ?? environ.PATH_INFO;
  return uri.length <= LOGGED_URI_LENGTH ? uri : `${uri.slice(0, LOGGED_URI_LENGTH)}...(${uri.length} characters)`;
}

/** The request line as the client sent it, or undefined when none was read (a timeout, a garbled request). */
function requestLine(environ: LoggedRequest): string | undefined {
  if (!environ.REQUEST_METHOD) return undefined;
  return `${environ.REQUEST_METHOD} ${loggedUri(environ)} ${environ.SERVER_PROTOCOL}`;
}

export function commonLogLine(environ: LoggedRequest, status: number, bytes: number, now = Date.now()): string {
  refreshStamps(now);
  const user = environ.REMOTE_USER ? clean(environ.REMOTE_USER) : '-';
  const request = requestLine(environ);
  return `${environ.REMOTE_ADDR || '-'} - ${user} ${cachedStamp} "${request === undefined ? '-' : clean(request)}" ${status} ${bytes > 0 ? bytes : '-'}`;
}

/** Apache's combined format: the common line, then the quoted Referer and User-Agent. */
export function combinedLogLine(environ: LoggedRequest, status: number, bytes: number, now = Date.now()): string {
  const referer = environ.HTTP_REFERER ? clean(environ.HTTP_REFERER) : '-';
  const agent = environ.HTTP_USER_AGENT ? clean(environ.HTTP_USER_AGENT) : '-';
  return `${commonLogLine(environ, status, bytes, now)} "${referer}" "${agent}"`;
}

/** One JSON object per line; fields a request did not have are null. */
export function jsonLogLine(environ: LoggedRequest, status: number, bytes: number, now = Date.now()): string {
  refreshStamps(now);
  return JSON.stringify({
    time: cachedIso,
    remote_addr: environ.REMOTE_ADDR || null,
    remote_user: environ.REMOTE_USER || null,
    request: requestLine(environ) ?? null,
    method: environ.REQUEST_METHOD || null,
    uri: environ.REQUEST_METHOD ? loggedUri(environ) : null,
    protocol: environ.REQUEST_METHOD ? environ.SERVER_PROTOCOL : null,
    status,
    bytes,
    referer: environ.HTTP_REFERER ?? null,
    user_agent: environ.HTTP_USER_AGENT ?? null,
  });
}

const FORMATTERS: Record<AccessLogFormat, (environ: LoggedRequest, status: number, bytes: number) => string> = {
  common: commonLogLine,
  combined: combinedLogLine,
  json: jsonLogLine,
};

export interface AccessLog {
  /** Formats and queues one request's line. */
  log(environ: LoggedRequest, status: number, bytes: number): void;
  /** Writes what is queued, synchronously. */
  flush(): void;
  /** Flushes and lets go of the file and the timer. */
  close(): void;
}

/** Lines wait at most this long; nginx's `flush=` plays the same part. */
export const FLUSH_INTERVAL_MS = 1_000;
/** A batch this large is written at once rather than waiting for the timer. */
const BATCH_BYTES = 64 * 1024;

/** The writers alive in this process, flushed together when it exits, however it exits. */
const open = new Set<AccessLog>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' runs on process.exit() (the signal drain), on a normal end and after an uncaught
  // exception has been reported: only synchronous writes get out then, which these are.
  process.on('exit', () => {
    for (const log of open) log.flush();
  });
}

/**
 * Opens an access log: a file appended to (`-` is stderr), in batches written once a second,
 * once 64 KiB wait, on close() and when the process exits. A `write` function gets every line
 * as it happens instead. Throws when the file cannot be opened.
 */
export function openAccessLog(options: AccessLogOptions = {}): AccessLog {
  const format = options.format ?? 'common';
  const formatter = FORMATTERS[format];
  if (!formatter) throw new Error(`access log format must be one of ${ACCESS_LOG_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  const sink = options.write;
  if (sink) {
    return { log: (environ, status, bytes) => sink(formatter(environ, status, bytes)), flush() {}, close() {} };
  }
  const file = options.file ?? '-';
  const fd = file === '-' ? 2 : openSync(file, 'a', 0o644);
  // Lines are copied into one buffer as they come: strings kept for a batch would outlive
  // the young generation and make every garbage collection copy them.
  const batch = Buffer.allocUnsafe(BATCH_BYTES);
  let filled = 0;
  let timer: NodeJS.Timeout | undefined;
  let failed = false;
  let closed = false;
  /** Synchronous, so the batch buffer is free again once it returns. */
  const write = (bytes: Buffer): void => {
    try {
      writeAll(fd, bytes);
    } catch (error) {
      // A full disk or a closed stderr must not take the server down with it; say so once.
      if (failed) return;
      failed = true;
      try {
        writeSync(2, `tsgi: cannot write the access log ${file === '-' ? 'to stderr' : file}: ${(error as Error).message}\n`);
      } catch {
        // stderr is gone too: nowhere left to tell.
      }
    }
  };
  const log: AccessLog = {
    log(environ, status, bytes) {
      if (closed) {
        // A straggler after close(): rare, so written alone rather than lost.
        const line = formatter(environ, status, bytes) + '\n';
        if (fd === 2) writeAll(2, Buffer.from(line));
        else appendFileSync(file, line);
        return;
      }
      const line = formatter(environ, status, bytes) + '\n';
      // Three bytes of UTF-8 at most per UTF-16 unit: check the worst case before copying.
      if (filled + line.length * 3 > BATCH_BYTES) {
        log.flush();
        if (line.length * 3 > BATCH_BYTES) {
          write(Buffer.from(line));
          return;
        }
      }
      filled += batch.write(line, filled);
      if (timer === undefined) {
        timer = setTimeout(log.flush, FLUSH_INTERVAL_MS);
        timer.unref();
      }
    },
    flush() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      if (filled === 0) return;
      const text = batch.subarray(0, filled);
      filled = 0;
      write(text);
    },
    close() {
      if (closed) return;
      log.flush();
      closed = true;
      open.delete(log);
      if (fd !== 2) closeSync(fd);
    },
  };
  open.add(log);
  installExitHook();
  return log;
}

/** writeSync until every byte is out; a full non-blocking pipe (EAGAIN) is retried rather than dropped. */
function writeAll(fd: number, bytes: Buffer): void {
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}
