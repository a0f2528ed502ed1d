/** The head of a CGI-style response, as FastCGI STDOUT and SCGI carry it: `Status:` line, headers, blank line. */
import type { HeaderList } from '../types.js';

export function cgiHead(status: number, reason: string, headers: HeaderList): Buffer {
  let text = `Status: ${status} ${reason}\r\n`;
  for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
  return Buffer.from(text + '\r\n', 'latin1');
}
