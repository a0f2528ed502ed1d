/**
 * The adding machine: sums every `operand` in the query string, exactly (big integers too),
 * and answers in plain text.
 *   ?operand=1&operand=2&operand=39  →  1 + 2 + 39 = 42
 * A value that is not an integer gets 400 and a message naming it; blank values are skipped,
 * as Python's cgi module skips blank fields.
 *
 * As a CGI script: examples/site/cgi-bin/adder.js
 */
import type { Application } from '../../src/types.js';

const INTEGER = /^[+-]?\d+$/;

export interface AdderResult {
  /** False when an operand was not an integer (the request was bad). */
  ok: boolean;
  text: string;
}

/** The adding machine's answer for a query string. */
export function addOperands(query: string): AdderResult {
  const operands = new URLSearchParams(query).getAll('operand').map((value) => value.trim()).filter((value) => value !== '');
  if (operands.length === 0) {
    return { ok: true, text: 'Nothing to add. Put the numbers in the query, one operand each: ?operand=1&operand=2\n' };
  }
  const bad = operands.filter((value) => !INTEGER.test(value));
  if (bad.length > 0) {
    const list = bad.map((value) => JSON.stringify(value)).join(', ');
    return { ok: false, text: `Cannot add ${list}: ${bad.length > 1 ? 'they are not integers' : 'it is not an integer'}. Every operand must be a whole number like 42 or -7.\n` };
  }
  const numbers = operands.map((value) => BigInt(value));
  const sum = numbers.reduce((total, n) => total + n, 0n);
  const expression = numbers.map((n, i) => (i === 0 ? String(n) : n < 0n ? `- ${-n}` : `+ ${n}`)).join(' ');
  return { ok: true, text: `${expression} = ${sum}\n` };
}

export const adder: Application = (environ, startResponse) => {
  const result = addOperands(environ.QUERY_STRING);
  startResponse(result.ok ? '200 OK' : '400 Bad Request', [['Content-Type', 'text/plain; charset=utf-8']]);
  return [result.text];
};
