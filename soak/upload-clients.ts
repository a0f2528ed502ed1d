/**
 * Multipart uploads that break off at a random point: in the headers, in the body (then a
 * FIN, or a reset), or once the answer has begun. Bodies are framed with Content-Length or
 * chunked (which the CGI host spools to a temporary file past 256 KiB).
 */
import { connect } from 'node:net';

export type Cut = 'headers' | 'body-fin' | 'body-reset' | 'response';

export interface UploadOutcome {
  cut: Cut;
  /** The server had not closed the connection 10 s after the client's FIN. */
  lingered: boolean;
  /** Bytes of the answer seen before the end (a 400 for a broken form, say). */
  answered: boolean;
}

const BOUNDARY = 'soak-boundary-7d1c';
const FILE = Buffer.alloc(768 * 1024, 'upload bytes ');
const CHUNK = 32 * 1024;

/** A multipart form holding a note and a file of `size` bytes, as slices (nothing copied). */
function formPieces(size: number): Buffer[] {
  return [
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n`
      + `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    FILE.subarray(0, size),
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ];
}

function chunked(pieces: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const piece of pieces) {
    for (let at = 0; at < piece.length; at += CHUNK) {
      const data = piece.subarray(at, at + CHUNK);
      out.push(Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n'));
    }
  }
  out.push(Buffer.from('0\r\n\r\n'));
  return out;
}

/** The first `length` bytes of `pieces`, as slices. */
function prefix(pieces: Buffer[], length: number): Buffer[] {
  const out: Buffer[] = [];
  let left = length;
  for (const piece of pieces) {
    if (left <= 0) break;
    out.push(piece.length <= left ? piece : piece.subarray(0, left));
    left -= piece.length;
  }
  return out;
}

function pick(random: () => number): Cut {
  const roll = random();
  return roll < 0.05 ? 'headers' : roll < 0.45 ? 'body-fin' : roll < 0.85 ? 'body-reset' : 'response';
}

/** One upload to `path` that breaks off as `random` decides. */
export function abortedUpload(port: number, path: string, random: () => number, chunkedShare = 0.5): Promise<UploadOutcome> {
  const isChunked = random() < chunkedShare;
  const size = Math.floor(random() * (isChunked ? FILE.length : 256 * 1024));
  const form = formPieces(size);
  const bodyLength = form.reduce((sum, piece) => sum + piece.length, 0);
  const head = Buffer.from(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\n`
    + (isChunked ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${bodyLength}\r\n`) + 'Connection: close\r\n\r\n');
  const body = isChunked ? chunked(form) : form;
  const total = body.reduce((sum, piece) => sum + piece.length, 0);
  const cut = pick(random);
  const sent = cut === 'headers' ? prefix([head], Math.floor(random() * head.length))
    : cut === 'response' ? [head, ...body]
    : [head, ...prefix(body, Math.floor(random() * total))];

  return new Promise((resolve) => {
    const outcome: UploadOutcome = { cut, lingered: false, answered: false };
    const socket = connect(port, '127.0.0.1');
    let linger: NodeJS.Timeout | undefined;
    socket.on('error', () => {});
    socket.once('close', () => {
      clearTimeout(linger);
      resolve(outcome);
    });
    socket.on('data', () => {
      outcome.answered = true;
      if (cut === 'response') socket.resetAndDestroy();
    });
    socket.once('connect', () => {
      for (const piece of sent.slice(0, -1)) socket.write(piece);
      socket.write(sent[sent.length - 1] ?? Buffer.alloc(0), () => {
        if (cut === 'body-reset') socket.resetAndDestroy();
        else if (cut === 'headers' || cut === 'body-fin') {
          socket.end();
          linger = setTimeout(() => {
            outcome.lingered = true;
            socket.destroy();
          }, 10_000);
        } else {
          // 'response': cut at the first byte of the answer; one that never comes is a linger too.
          linger = setTimeout(() => {
            outcome.lingered = true;
            socket.destroy();
          }, 10_000);
        }
      });
    });
  });
}

/** A deterministic random source (mulberry32), so a failing run can be repeated with its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
