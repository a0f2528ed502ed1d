/** Common Log Format lines, as Apache, nginx and http.server write them. */
import type { Environ } from '../types.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
let cachedSecond = -1;
let cachedStamp = '';

/** `[21/Nov/2026:20:10:00 +0000]`, recomputed at most once a second: it is on every request's path. */
function timestamp(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    const d = new Date(second * 1000);
    const pad = (n: number) => String(n).padStart(2, '0');
    cachedStamp = `[${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000]`;
    cachedSecond = second;
  }
  return cachedStamp;
}

// Request lines come from clients: quotes and controls are escaped so a log line stays one line.
function clean(text: string): string {
  return text.replace(/[\x00-\x1f\x7f"\\]/g, (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

export type LoggedRequest = Pick<Environ, 'REQUEST_METHOD' | 'REQUEST_URI' | 'PATH_INFO' | 'SERVER_PROTOCOL' | 'REMOTE_ADDR' | 'REMOTE_USER'>;

export function commonLogLine(environ: LoggedRequest, status: number, bytes: number): string {
  const user = environ.REMOTE_USER ? clean(environ.REMOTE_USER) : '-';
  const request = `${environ.REQUEST_METHOD} ${environ.REQUEST_URI ?? environ.PATH_INFO} ${environ.SERVER_PROTOCOL}`;
  return `${environ.REMOTE_ADDR ?? '-'} - ${user} ${timestamp()} "${clean(request)}" ${status} ${bytes > 0 ? bytes : '-'}`;
}
