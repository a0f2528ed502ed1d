/**
 * Seeded fuzz of the CGI host and static files behind a real HTTP server (`tsgi serve`'s
 * site: CGI folders mounted over static files). Request paths built from traversal shapes
 * must never run a program outside the CGI folders, never serve a file outside the document
 * root or a CGI script's source, and only get statuses from a fixed set. Random script header
 * blocks (written by a script whose output is the request body) must never produce a broken
 * or split response, nor an unexpected error in the server.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cgiHost } from '../../src/apps/cgi-host.js';
import { mount } from '../../src/apps/mount.js';
import { staticFiles } from '../../src/apps/static.js';
import { makeServer } from '../../src/frontends/http.js';
import type { HttpServer } from '../../src/frontends/http.js';
import type { Application } from '../../src/types.js';
import { copyFixtures } from '../helpers/cgihost-fixtures.js';
import type { FixtureSite } from '../helpers/cgihost-fixtures.js';
import { rng } from '../helpers/form-random.js';
import { rawExchange } from '../helpers/http-client.js';
import { parseResponses } from '../helpers/http-response-check.js';

const SEED = 20261121;
const PATH_CASES = 4000;
const HEAD_CASES = 900;

const SECRET = 'TOP-SECRET-CANARY';
const SOURCE = 'SCRIPT-SOURCE-CANARY';

let site: FixtureSite;
let outside: string;
let server: HttpServer;
const errors: string[] = [];

/** A script that leaves a marker file when it runs: none of these may ever run. */
function trap(file: string, marker: string): void {
  writeFileSync(file, `#!/bin/sh\n: > "${marker}"\nprintf 'Content-Type: text/plain\\n\\n%s-RAN\\n' TRAP\n`, { mode: 0o755 });
  chmodSync(file, 0o755);
}

before(async () => {
  site = copyFixtures();
  outside = mkdtempSync(join(tmpdir(), 'tsgi-cgi-fuzz-outside-'));
  chmodSync(outside, 0o755);
  writeFileSync(join(outside, 'secret.txt'), SECRET + '\n', { mode: 0o644 });
  trap(join(outside, 'run-me.sh'), join(site.scratch, 'ran-outside'));
  trap(join(site.dir, 'docroot-exec.sh'), join(site.scratch, 'ran-docroot'));
  trap(join(site.dir, 'docs', 'doc-exec.sh'), join(site.scratch, 'ran-docs'));
  writeFileSync(join(site.cgiBin, 'canary.sh'), `#!/bin/sh\n# ${SOURCE}\nprintf 'Content-Type: text/plain\\n\\n%s-RAN\\n' CANARY\n`, { mode: 0o755 });
  chmodSync(join(site.cgiBin, 'canary.sh'), 0o755);
  symlinkSync(join(outside, 'run-me.sh'), join(site.cgiBin, 'link-out.sh'));
  symlinkSync(join('..', 'docroot-exec.sh'), join(site.cgiBin, 'link-doc.sh'));
  symlinkSync(outside, join(site.cgiBin, 'outdir'));
  symlinkSync(join(outside, 'secret.txt'), join(site.dir, 'docs', 'link-secret.txt'));
  symlinkSync(outside, join(site.dir, 'docs', 'outdir'));
  symlinkSync(join('..', 'cgi-bin'), join(site.dir, 'docs', 'scripts'));
  mkdirSync(join(site.dir, 'docs', 'nested'));

  const log = (line: string) => void errors.push(line);
  const cgiDirs = ['/cgi-bin', '/htbin'];
  const routes: [string, Application][] = cgiDirs.map((dir) => [dir, cgiHost({ root: join(site.dir, dir), documentRoot: site.dir, timeout: 10_000, log, stderr: 'ignore' })]);
  routes.push(['', staticFiles({ root: site.dir, hide: cgiDirs })]);
  server = await makeServer('127.0.0.1', 0, mount(routes), { accessLog: false, errors: { write: (text: string) => void errors.push(text) } });
});

after(async () => {
  await server?.close();
  site?.remove();
  if (outside) rmSync(outside, { recursive: true, force: true });
});

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

const PREFIXES = ['/cgi-bin', '/htbin', '', '/docs', '/CGI-BIN', '/cgi-bin.', '/cgi-bin%2f', '/./cgi-bin', '//cgi-bin', '/cgi%2dbin', '/%63gi-bin', '/docs/scripts', '/cgi-bin/sub'];
const DOTS = [
  '..', '%2e%2e', '%2E%2e', '.%2e', '%2e.', '%252e%252e', '%%32%65%%32%65', '..%2f', '..%5c', '..\\', '%2e%2e%5c', '.', '%2e', '',
  '..;', '..%00', '%00', '..%20', '..%09', '...', '%c0%ae%c0%ae', '%u002e%u002e', '.. ', '..%ff', '%2e%2e%2f%2e%2e',
];
const NAMES = [
  'env.sh', 'hello.pl', 'plain.txt', 'canary.sh', 'secret.txt', 'run-me.sh', 'docroot-exec.sh', 'doc-exec.sh', 'link-out.sh',
  'link-doc.sh', 'outdir', 'link-secret.txt', 'etc', 'passwd', 'index.html', 'docs', 'readme.txt', 'cgi-bin', 'htbin', 'hi.sh',
  'sub', 'deep.sh', 'scripts', 'nested', 'canary.sh.', 'canary.sh%20', 'canary.sh%00.txt', 'canary.sh::$DATA', 'canary.sh/',
  'CANARY.SH', 'env.sh%3f', 'canary%2esh',
];
const SEPARATORS = ['/', '/', '/', '%2f', '%2F', '\\', '%5c', '//', '/./', '%252f'];
const QUERIES = ['', '', '', '?-s', '?a=1', '?-d+auto_prepend_file=/etc/passwd', '?%2e%2e', '?x#frag'];

/** A request target built from traversal pieces; sometimes one character is then mangled. */
function randomTarget(random: () => number): string {
  // About half the targets are tame (plain separators, no dot segments), so the fuzz also reaches files and scripts.
  const wild = random() < 0.5;
  let target = wild || random() < 0.3 ? pick(random, PREFIXES) : pick(random, PREFIXES.slice(0, 4));
  const parts = 1 + Math.floor(random() * (wild ? 6 : 2));
  for (let i = 0; i < parts; i++) {
    target += wild ? pick(random, SEPARATORS) : '/';
    const roll = random();
    if (wild && roll < 0.4) target += pick(random, DOTS);
    else if (roll < 0.55) target += basename(outside);
    else if (roll < 0.6) target += basename(site.dir);
    else target += pick(random, NAMES);
  }
  if (random() < 0.1) target = target.replace(/[./]/, (ch) => (ch === '.' ? '%2e' : '%2f'));
  // Byte-level mutation: a stray character where the pieces join.
  if (random() < 0.15) {
    const at = Math.floor(random() * (target.length + 1));
    target = target.slice(0, at) + pick(random, ['%', '.', '/', '\\', '%2', ';', '#', '~', '%7e', '*', ':', '@']) + target.slice(at);
  }
  if (random() < 0.05) target = 'http://127.0.0.1' + (target.startsWith('/') ? target : '/' + target);
  if (!target.startsWith('/') && !target.startsWith('http')) target = '/' + target;
  return target + pick(random, QUERIES);
}

/** Statuses a path request may get: success, redirect, not modified, and the refusals. */
const PATH_STATUSES = new Set([200, 301, 302, 304, 400, 403, 404, 405, 414]);

function markers(): string[] {
  return readdirSync(site.scratch).filter((name) => name.startsWith('ran-'));
}

describe('CGI host and static files: fuzzed request paths', () => {
  it(`never runs or serves what lies outside, in ${PATH_CASES} seeded requests`, async () => {
    const random = rng(SEED);
    const counts = new Map<number, number>();
    let ranInside = 0;
    const targets = Array.from({ length: PATH_CASES }, () => randomTarget(random));
    // Four at a time: fast enough, and scripts overlap as they would in a real server.
    for (let i = 0; i < targets.length; i += 4) {
      await Promise.all(targets.slice(i, i + 4).map(async (target) => {
        const method = target.length % 7 === 0 ? 'POST' : 'GET';
        const body = method === 'POST' ? 'Content-Length: 3\r\n\r\nabc' : '\r\n';
        const raw = await rawExchange(server.port, `${method} ${target} HTTP/1.1\r\nHost: fuzz.test\r\nConnection: close\r\n${body}`, 5000);
        const data = Buffer.from(raw, 'latin1');
        const parsed = parseResponses(data, { headMayOmitBody: false, closed: true });
        assert.equal(parsed.problem, undefined, `${target}: ${parsed.problem}`);
        assert.equal(parsed.statuses.length, 1, `${target}: ${parsed.statuses.length} responses`);
        const status = parsed.statuses[0]!;
        counts.set(status, (counts.get(status) ?? 0) + 1);
        assert.ok(PATH_STATUSES.has(status), `${target}: status ${status}\n${raw.slice(0, 400)}`);
        assert.ok(!raw.includes(SECRET), `${target}: served the secret outside the root`);
        assert.ok(!raw.includes(SOURCE), `${target}: served a CGI script's source`);
        assert.ok(!raw.includes('TRAP-RAN'), `${target}: ran a program outside the CGI folders`);
        assert.ok(!raw.includes('root:x:0:0'), `${target}: served /etc/passwd`);
        if (raw.includes('CANARY-RAN')) ranInside++;
      }));
      assert.deepEqual(markers(), [], `a program outside the CGI folders ran (after ${targets.slice(i, i + 4).join(' ')})`);
    }
    assert.ok(!errors.some((line) => line.includes('error in application')), errors.join('\n'));
    // The fuzz reaches the scripts it may run, or it proves nothing.
    assert.ok(ranInside > 0, 'no request ever ran canary.sh');
    assert.ok((counts.get(200) ?? 0) > 10 && (counts.get(404) ?? 0) > 20 && (counts.get(400) ?? 0) > 20, JSON.stringify([...counts]));
    process.stdout.write(`# cgi-host fuzz paths: ${PATH_CASES} requests, seed ${SEED}, statuses ${JSON.stringify(Object.fromEntries([...counts].sort()))}, canary ran ${ranInside}\n`);
  });
});

const LINE_ENDS = ['\n', '\r\n', '\n', '\r\n', '\r', '\n\r'];
const STATUS_VALUES = ['200', '200 OK', '204', '304 Not Modified', '404 Gone', '418 Teapot', '100', '101 Switching', '199', '600', '999 x', '99', '2000', '20x', '', ' 302 Found', '302\rX: y', '500 \x85oops'];
const LOCATIONS = [
  '/cgi-bin/env.sh', '/cgi-bin/env.sh?x=1', '/index.html', '/docs/', '//evil.example/', 'http://evil.example/x', '/cgi-bin/output-body.sh',
  '/%2e%2e/%2e%2e/etc/passwd', '/\\evil.example', '/cgi-bin/%2f..', '/cgi-bin/missing.sh', 'javascript:alert(1)', '/a\rSet-Cookie: x=1', '',
  '/cgi-bin/redirect-loop.sh', '/docs/link-secret.txt', '/cgi-bin/canary.sh/%2e%2e/%2e%2e/docroot-exec.sh', '/%00',
];

function headerLine(random: () => number): string {
  switch (Math.floor(random() * 20)) {
    case 0: case 1: case 2: return `Content-Type: ${pick(random, ['text/plain', 'text/html; charset=utf-8', '', 'a\x00b', 'x/y\r\nInjected: 1'])}`;
    case 3: case 4: return `Status: ${pick(random, STATUS_VALUES)}`;
    case 5: case 6: return `Location: ${pick(random, LOCATIONS)}`;
    case 7: return `Content-Length: ${pick(random, ['0', '3', '5', '-1', '1e3', '18446744073709551616', ' 4', '4, 4', ''])}`;
    case 8: return pick(random, ['Transfer-Encoding: chunked', 'Connection: close', 'Connection: keep-alive', 'Keep-Alive: timeout=99', 'Upgrade: h2c', 'Trailer: X', 'TE: trailers', 'Proxy-Authenticate: x']);
    case 9: return pick(random, [' folded continuation', '\tfolded: value', 'no colon here', ': empty name', 'Bad Name: x', 'X-A : spaced', 'HTTP/1.1 200 OK', 'X\x00Y: nul']);
    case 10: return `X-Long: ${'v'.repeat(Math.floor(random() * 80_000))}`;
    case 11: return `Set-Cookie: id=${Math.floor(random() * 1e6)}; Path=/`;
    case 12: return `X-Bytes: ${String.fromCharCode(...Array.from({ length: 8 }, () => Math.floor(random() * 256)))}`;
    case 13: return pick(random, ['Date: yesterday', 'Server: evil', 'Content-Encoding: gzip', 'X-Content-Type-Options: nosniff', 'Status: 200', 'Location: /a']);
    default: return `X-F${Math.floor(random() * 100)}: ${pick(random, ['a', 'b c', 'é', '\x7f', 'a\rb', 'a\nb'])}`;
  }
}

/** A whole script output: random header lines, a terminator (or none), and a body that may pretend to be a second response. */
function randomOutput(random: () => number): Buffer {
  const lines = Array.from({ length: Math.floor(random() * 7) }, () => headerLine(random));
  // Half the blocks start out valid, so the fuzz reaches what happens after a good head too.
  if (random() < 0.5) lines.unshift('Content-Type: text/plain');
  let text = lines.map((line) => line + pick(random, LINE_ENDS)).join('');
  if (random() < 0.9) text += pick(random, LINE_ENDS);
  const roll = random();
  if (roll < 0.3) text += 'body';
  else if (roll < 0.5) text += '\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsmug!';
  else if (roll < 0.6) text += 'x'.repeat(Math.floor(random() * 300_000));
  const bytes = Buffer.from(text, 'latin1');
  // Some outputs get a few bytes flipped at random places.
  if (random() < 0.2) for (let i = 0, n = 1 + Math.floor(random() * 4); i < n && bytes.length > 0; i++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
  return bytes;
}

describe('CGI host: fuzzed script header blocks', () => {
  it(`never sends a broken or split response, in ${HEAD_CASES} seeded script outputs`, async () => {
    const random = rng(SEED + 1);
    const counts = new Map<string, number>();
    const before = errors.length;
    for (let i = 0; i < HEAD_CASES; i += 3) {
      await Promise.all(Array.from({ length: Math.min(3, HEAD_CASES - i) }, () => randomOutput(random)).map(async (output) => {
        // The fuzzed response, then a plain request on the same connection: a split response would answer it.
        const request = Buffer.concat([
          Buffer.from(`POST /cgi-bin/output-body.sh HTTP/1.1\r\nHost: fuzz.test\r\nContent-Length: ${output.length}\r\n\r\n`, 'latin1'),
          output,
          Buffer.from('GET /docs/readme.txt HTTP/1.1\r\nHost: fuzz.test\r\nConnection: close\r\n\r\n', 'latin1'),
        ]);
        const raw = await rawExchange(server.port, request, 5000);
        const data = Buffer.from(raw, 'latin1');
        const parsed = parseResponses(data, { headMayOmitBody: false, closed: true });
        const what = JSON.stringify(output.subarray(0, 300).toString('latin1'));
        // A response cut short is how a failure after the head shows; anything else must be well formed.
        assert.ok(parsed.problem === undefined || parsed.incomplete, `${what}: ${parsed.problem}\n${raw.slice(0, 600)}`);
        assert.ok(parsed.statuses.length >= 1 && parsed.statuses.length <= 2, `${what}: ${parsed.statuses.length} responses`);
        const first = parsed.statuses[0]!;
        assert.ok(first >= 200 && first <= 599, `${what}: status ${first}`);
        if (parsed.statuses.length === 2) {
          assert.equal(parsed.statuses[1], 200, `${what}: second response ${parsed.statuses[1]}`);
          assert.ok(raw.endsWith(readme), `${what}: the second response is not the readme`);
        }
        const outcome = `${first}${parsed.incomplete ? ' cut' : ''}${parsed.statuses.length === 1 && !parsed.incomplete ? ' closed' : ''}`;
        counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
      }));
    }
    // After the head went out a bad response can only be cut: the engine logs the host's 502 as an error then.
    const unexpected = errors.slice(before).filter((line) => line.includes('error in application') && !line.includes('Bad Gateway: the CGI script'));
    assert.deepEqual(unexpected, []);
    assert.ok((counts.get('200') ?? 0) > 10 && (counts.get('502') ?? 0) > 10, JSON.stringify([...counts]));
    assert.deepEqual(markers(), []);
    process.stdout.write(`# cgi-host fuzz heads: ${HEAD_CASES} outputs, seed ${SEED + 1}, outcomes ${JSON.stringify(Object.fromEntries([...counts].sort()))}\n`);
  });
});

const readme = 'plain text file\n';
