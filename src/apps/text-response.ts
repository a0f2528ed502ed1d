/** The short plain-text answers ready-made apps give when they refuse or fail a request. */
import { REASONS } from '../handler.js';
import type { Body, HeaderList, StartResponse } from '../types.js';

export function textResponse(startResponse: StartResponse, status: number, message: string, extra: HeaderList = []): Body {
  const body = Buffer.from(message + '\n', 'utf8');
  startResponse(`${status} ${REASONS[status] ?? 'Error'}`, [
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['Content-Length', String(body.length)],
    ...extra,
  ]);
  return [body];
}
