/**
 * Non-parsed-header scripts (RFC 3875 §5): their output is the whole HTTP response. A front
 * end that can hand its connection over offers `tsgi.raw_output` in the environ; without it
 * the host reads the script's status line and headers and re-sends them through startResponse.
 */
import { BadGateway } from '../../gateways/cgi-response.js';

/** The connection, taken over: bytes go to the client unmodified, and `end` closes it. */
export interface RawOutput {
  write(chunk: Uint8Array): void | Promise<void>;
  end(): void | Promise<void>;
}

export { RAW_OUTPUT_KEY } from '../../util.js';
export type TakeOver = () => RawOutput;

const STATUS_LINE = /^HTTP\/\d\.\d[ \t]+([1-9]\d\d)(?:[ \t]+(.*))?$/;

/** Splits an NPH head into its status and the CGI-style header block after the status line. */
export function splitNphHead(head: string): { status: string; headerBlock: string } {
  const newline = head.indexOf('\n');
  const first = (newline < 0 ? head : head.slice(0, newline)).replace(/\r$/, '');
  const match = STATUS_LINE.exec(first);
  if (!match) throw new BadGateway(`NPH script output does not start with an HTTP status line: ${JSON.stringify(first.slice(0, 80))}`);
  const code = Number(match[1]);
  if (code < 200 || code > 599) throw new BadGateway(`NPH status ${code} cannot end a response`);
  return { status: `${match[1]} ${match[2]?.trim() || 'Unknown'}`, headerBlock: newline < 0 ? '' : head.slice(newline + 1) };
}

export function isNphScript(filename: string): boolean {
  const base = filename.slice(filename.lastIndexOf('/') + 1);
  return base.startsWith('nph-');
}
