/**
 * Telling a too-long request target from a too-large header block. Node counts the target
 * into maxHeaderSize and reports both as HPE_HEADER_OVERFLOW; only the bytes of the read that
 * overflowed, and where llhttp stopped in them, tell which line the overflow struck in.
 */

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;

/** RFC 9110 tchar: what a method or a header name is made of. */
function isTokenByte(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(byte));
}

/** Whether `line` opens like a request line: a method, one space, then "/", "*" or a scheme and ":". */
function opensRequestLine(line: Uint8Array): boolean {
  let i = 0;
  while (i < line.length && isTokenByte(line[i]!)) i++;
  if (i === 0 || line[i] !== SPACE) return false;
  const target = Buffer.from(line.buffer, line.byteOffset + i + 1, Math.min(line.length - i - 1, 64)).toString('latin1');
  return /^(?:[/*]|[a-z][a-z0-9+.-]*:)/i.test(target);
}

/**
 * Whether the overflow that stopped the parser at `stoppedAt` in `packet` struck in the request
 * line. llhttp stops where the piece that overflowed ends (a target at the space before the
 * version, a header name at ":", a value at CR) or at the end of the read.
 */
export function overflowedInRequestLine(packet: Uint8Array, stoppedAt: number): boolean {
  const end = Math.max(0, Math.min(stoppedAt, packet.length));
  const lineStart = end === 0 ? 0 : packet.lastIndexOf(LF, end - 1) + 1;
  const line = packet.subarray(lineStart, end);
  // The start of the line is in view: a request line's first word ends in a space, a header name's in ":".
  if (lineStart > 0 || opensRequestLine(line)) return opensRequestLine(line);
  // Only the middle of a long line is in view. A target ends at a space, a header value at CR.
  if (end < packet.length) return packet[end] === SPACE;
  // Still arriving: a target holds no whitespace, a value may. A value without any is taken for
  // a target: a long URL is the likelier of the two.
  return !line.includes(SPACE) && !line.includes(TAB);
}
