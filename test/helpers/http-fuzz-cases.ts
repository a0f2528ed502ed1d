/**
 * Random and mutated raw HTTP requests for the front-end fuzz test, from a seeded generator
 * so a failing case can be replayed by its number.
 */
import { rng } from './form-random.js';

export interface FuzzCase {
  bytes: Buffer;
  /** Close the socket after sending this many bytes, without waiting for an answer. */
  cutAfter?: number;
  /** Send the request, then shut down the write side. */
  halfClose?: boolean;
}

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (random: Random, below: number) => Math.floor(random() * below);

const METHODS = ['GET', 'POST', 'PUT', 'HEAD', 'OPTIONS', 'DELETE', 'PATCH', 'get', 'G ET', 'CONNECT', 'TRACE', 'PRI', 'X'.repeat(40), ''];
const TARGETS = [
  '/', '/a/b?c=d', '/caf%C3%A9', '/%C3%28', '/%00', '/%2F%2f', '/%', '/%zz', '/a?b?c#frag', '*', 'http://host.test', 'http://host.test?q=1',
  'http://host.test/x/y?z', 'HTTPS://h:1/p', 'host.test:443', '//double', '/sp ace', '/tab\tx', '/\x7f', '/\x80\xff', '/' + 'u'.repeat(9000),
  '/' + 'v'.repeat(17_000), '', '/../../etc/passwd', '/a;b=c',
];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/0.9', 'HTTP/2.0', 'HTTP/1.2', 'HTTP/9.9', 'http/1.1', 'HTTP/1.1 ', 'HTTP/11', ''];
// Well-formed lines first: the first GOOD_HEADERS entries keep a request acceptable, so that enough cases reach the app.
const GOOD_HEADERS = 12;
const HEADER_LINES = [
  'Proxy: http://evil.test', 'X_Forwarded_For: 6.6.6.6', 'X-Forwarded-For: 1.2.3.4', 'Content_Length: 5', 'Cookie: a=1',
  'Cookie: b=2', 'Connection: close', 'Connection: keep-alive', 'Expect: 100-continue', 'Content-Type: text/plain', 'Accept: */*',
  'X-Empty:', 'Host: a', 'Host: ', 'Host: x\r\nHost: y', 'Connection: upgrade', 'Upgrade: websocket', 'Expect: something-else',
  ' leading-space: x', 'Bad Name: x', 'NoColon', 'X-Folded: a\r\n  continued', 'X-Ctl: a\x01b',
  'X-Nul: a\x00b', 'X-Del: \x7f', 'X-High: \xe9\xff', 'X-Bare-LF: a\nX-Other: b', 'X-Bare-CR: a\rb', 'X-Big: ' + 'b'.repeat(20_000),
  'Transfer-Encoding: chunked', 'Transfer-Encoding: identity', 'Transfer-Encoding: gzip, chunked', 'Transfer-Encoding: chunked, gzip',
  'Transfer-Encoding: xchunked', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked', 'Content-Length: 0', 'Content-Length: 5',
  'Content-Length: -1', 'Content-Length: 99999999999999999999999', 'Content-Length: 5\r\nContent-Length: 5',
  'Content-Length: 5\r\nContent-Length: 6', 'Content-Length: +5', 'Content-Length: 0x10', 'Content-Length: 5, 5', 'Content-Length:  7 ',
  'Content-Length: 100000',
];
const CHUNKED_BODIES = [
  '5\r\nhello\r\n0\r\n\r\n', '0\r\n\r\n', 'zz\r\nhello\r\n0\r\n\r\n', '-1\r\nx\r\n0\r\n\r\n', 'ffffffffffffffffff\r\nx\r\n0\r\n\r\n',
  '5;ext=1\r\nhello\r\n0\r\n\r\n', '5;' + 'e'.repeat(20_000) + '\r\nhello\r\n0\r\n\r\n', '5\r\nhelloXX0\r\n\r\n', '5\nhello\n0\n\n',
  '3\r\nabc\r\n0\r\nTrailer: t\r\n\r\n', '5\r\nhel', '10000\r\n' + 'x'.repeat(0x10000) + '\r\n0\r\n\r\n', ' 5\r\nhello\r\n0\r\n\r\n',
];
const BODIES = ['', 'hello', 'hell', 'hello world', 'x'.repeat(70_000), '\x00\xff\r\n'];

function requestText(random: Random): string {
  const method = random() < 0.8 ? pick(random, ['GET', 'POST', 'PUT', 'HEAD']) : pick(random, METHODS);
  const target = random() < 0.6 ? pick(random, TARGETS.slice(0, 5)) : pick(random, TARGETS);
  const version = random() < 0.85 ? pick(random, ['HTTP/1.1', 'HTTP/1.0']) : pick(random, VERSIONS);
  const lines = [`${method} ${target} ${version}`];
  if (random() < 0.9) lines.push('Host: fuzz.test');
  const extra = int(random, 5);
  for (let i = 0; i < extra; i++) lines.push(random() < 0.7 ? pick(random, HEADER_LINES.slice(0, GOOD_HEADERS)) : pick(random, HEADER_LINES));
  const chunked = random() < 0.25;
  if (chunked) lines.push('Transfer-Encoding: chunked');
  const body = chunked ? pick(random, CHUNKED_BODIES) : pick(random, BODIES);
  if (!chunked && body.length > 0 && random() < 0.9) lines.push(`Content-Length: ${body.length}`);
  let text = lines.join('\r\n') + '\r\n\r\n' + body;
  if (random() < 0.2) text += 'GET /next HTTP/1.1\r\nHost: fuzz.test\r\n\r\n';
  return text;
}

function mutate(random: Random, bytes: Buffer): Buffer {
  const out = [...bytes];
  const rounds = 1 + int(random, 4);
  for (let r = 0; r < rounds && out.length > 0; r++) {
    const at = int(random, out.length);
    switch (int(random, 6)) {
      case 0: out[at] = int(random, 256); break;
      case 1: out.splice(at, 0, pick(random, [0x0d, 0x0a, 0x00, 0x20, 0x09, 0x3a, 0x7f, 0xff, 0x25])); break;
      case 2: out.splice(at, 1 + int(random, 8)); break;
      case 3: out.splice(at, 0, ...out.slice(at, at + 1 + int(random, 32))); break;
      case 4: out.length = at; break;
      default: out[at] = out[at]! ^ (1 << int(random, 8));
    }
  }
  return Buffer.from(out);
}

/** Case `index` of the run seeded with `seed`: the same pair always gives the same case. */
export function fuzzCase(seed: number, index: number): FuzzCase {
  const random = rng(seed * 1_000_003 + index);
  let bytes: Buffer = Buffer.from(requestText(random), 'latin1');
  if (random() < 0.3) bytes = mutate(random, bytes);
  const fate = random();
  if (fate < 0.08) return { bytes, cutAfter: int(random, bytes.length + 1) };
  if (fate < 0.12) return { bytes, halfClose: true };
  return { bytes };
}
