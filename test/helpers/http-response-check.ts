/** A strict reader of raw HTTP/1.1 response streams, for tests that must tell well-formed from broken. */

export interface ParsedStream {
  statuses: number[];
  /** Why the bytes are not a sequence of well-formed responses; undefined when they are. */
  problem?: string;
  /** The bytes end in the middle of a response. */
  incomplete?: boolean;
}

const STATUS_LINE = /^HTTP\/1\.1 ([1-5]\d\d) [\t\x20-\x7e\x80-\xff]*$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+): ?([\t\x20-\x7e\x80-\xff]*)$/;

/**
 * Splits `data` into responses. `headMayOmitBody`: a request in the stream was HEAD, so a
 * response with a Content-Length may legitimately carry no body. `closed`: the server closed
 * the connection, which is what ends a response without length.
 */
export function parseResponses(data: Buffer, options: { headMayOmitBody: boolean; closed: boolean }): ParsedStream {
  const statuses: number[] = [];
  let pos = 0;
  while (pos < data.length) {
    const headEnd = data.indexOf('\r\n\r\n', pos, 'latin1');
    if (headEnd < 0) return { statuses, incomplete: true, problem: `no end of head in ${JSON.stringify(data.subarray(pos, pos + 200).toString('latin1'))}` };
    const lines = data.subarray(pos, headEnd).toString('latin1').split('\r\n');
    const statusMatch = STATUS_LINE.exec(lines[0]!);
    if (!statusMatch) return { statuses, problem: `bad status line ${JSON.stringify(lines[0])}` };
    const status = Number(statusMatch[1]);
    statuses.push(status);
    const headers = new Map<string, string[]>();
    for (const line of lines.slice(1)) {
      const match = HEADER_LINE.exec(line);
      if (!match) return { statuses, problem: `bad header line ${JSON.stringify(line)}` };
      const name = match[1]!.toLowerCase();
      headers.set(name, [...(headers.get(name) ?? []), match[2]!]);
    }
    pos = headEnd + 4;
    if (status < 200 || status === 204 || status === 304) continue;
    const lengths = headers.get('content-length') ?? [];
    const encodings = headers.get('transfer-encoding') ?? [];
    if (lengths.length > 1) return { statuses, problem: `${lengths.length} Content-Length headers` };
    if (lengths.length === 1 && encodings.length > 0) return { statuses, problem: 'both Content-Length and Transfer-Encoding' };
    if (lengths.length === 1) {
      if (!/^\d+$/.test(lengths[0]!)) return { statuses, problem: `bad Content-Length ${lengths[0]}` };
      const length = Number(lengths[0]);
      const bodyless = options.headMayOmitBody && (pos === data.length || data.subarray(pos, pos + 9).toString('latin1') === 'HTTP/1.1 ');
      if (bodyless) continue;
      if (pos + length > data.length) return { statuses, incomplete: true, problem: `body of ${data.length - pos} of ${length} bytes` };
      pos += length;
      continue;
    }
    if (encodings.length > 0) {
      if (encodings.join(',').trim().toLowerCase() !== 'chunked') return { statuses, problem: `unexpected Transfer-Encoding ${encodings.join(',')}` };
      if (options.headMayOmitBody && (pos === data.length || data.subarray(pos, pos + 9).toString('latin1') === 'HTTP/1.1 ')) continue;
      for (;;) {
        const lineEnd = data.indexOf('\r\n', pos, 'latin1');
        if (lineEnd < 0) return { statuses, incomplete: true, problem: 'chunk size line cut short' };
        const size = data.subarray(pos, lineEnd).toString('latin1');
        if (!/^[0-9a-f]+$/i.test(size)) return { statuses, problem: `bad chunk size ${JSON.stringify(size)}` };
        const length = parseInt(size, 16);
        pos = lineEnd + 2;
        if (pos + length + 2 > data.length) return { statuses, incomplete: true, problem: 'chunk cut short' };
        if (data.subarray(pos + length, pos + length + 2).toString('latin1') !== '\r\n') return { statuses, problem: 'chunk without CRLF' };
        pos += length + 2;
        if (length === 0) break;
      }
      continue;
    }
    // No length at all: the body runs to the end of the connection (HEAD answers have none).
    if (options.headMayOmitBody && (pos === data.length || data.subarray(pos, pos + 9).toString('latin1') === 'HTTP/1.1 ')) continue;
    if (!options.closed) return { statuses, incomplete: true, problem: 'response without length on a connection still open' };
    pos = data.length;
  }
  return { statuses };
}
