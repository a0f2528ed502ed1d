/**
 * tsgi/form benchmark, one run:
 *  1. multipart throughput, one 100 MB file and 10,000 small fields, vs busboy and @fastify/busboy;
 *  2. urlencoded, vs URLSearchParams and fast-querystring (tsgi with its limits on);
 *  3. peak RSS while a 1 GB upload streams through FieldStorage (child process, body from a generator);
 *  4. import cost of tsgi/form in a fresh process, vs `node -e 0` and an empty ES module.
 * Goals (issue 4): >= 1.5x busboy on the large file, ahead on small fields, RSS < 64 MB, import < 5 ms.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FieldStorage, MultipartParser, parseQsl, UrlencodedParser } from '../src/form/index.js';

const require = createRequire(import.meta.url);
const MB = 1024 * 1024;
const CHUNK = 64 * 1024;
const BOUNDARY = '----WebKitFormBoundaryb3NlY3JldEJvdW5kYXJ5';
const CONTENT_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

interface Emitter {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  write(chunk: Uint8Array): boolean;
  end(): void;
}
interface Drainable { resume(): void }
type BusboyFactory = (options: { headers: Record<string, string>; limits?: Record<string, number> }) => Emitter;
const busboy = require('busboy') as BusboyFactory;
const FastifyBusboy = require('@fastify/busboy') as new (options: { headers: Record<string, string>; limits?: Record<string, number> }) => Emitter;
const fastQuerystring = require('fast-querystring') as { parse(text: string): Record<string, unknown> };

function chunked(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += CHUNK) out.push(body.subarray(i, i + CHUNK));
  return out;
}

function fileBody(size: number): Buffer {
  const head = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="upload"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const data = Buffer.allocUnsafe(size);
  let x = 12345;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    data.writeInt32LE(x | 0, i);
  }
  return Buffer.concat([head, data, Buffer.from(`\r\n--${BOUNDARY}--\r\n`)]);
}

function fieldsBody(count: number): Buffer {
  let text = '';
  for (let i = 0; i < count; i++) text += `--${BOUNDARY}\r\nContent-Disposition: form-data; name="field${i}"\r\n\r\nvalue number ${i}\r\n`;
  return Buffer.from(`${text}--${BOUNDARY}--\r\n`);
}

/**
 * Best time of each contender over `rounds`, in milliseconds. Rounds interleave the contenders
 * so that garbage one leaves behind, and load from elsewhere on the machine, hit them all alike.
 */
async function compare(rounds: number, contenders: Record<string, () => unknown>): Promise<Record<string, number>> {
  const best: Record<string, number> = {};
  for (const name of Object.keys(contenders)) best[name] = Infinity;
  for (let i = 0; i < rounds; i++) {
    for (const [name, run] of Object.entries(contenders)) {
      const start = process.hrtime.bigint();
      await run();
      best[name] = Math.min(best[name]!, Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  return best;
}

function tsgiParser(chunks: Buffer[], collectFields: boolean): void {
  let size = 0;
  let name: string | null = null;
  let pieces: Buffer[] = [];
  let value: string | null = null;
  const fields: [string | null, string][] = [];
  const parser = new MultipartParser(BOUNDARY, {
    onPartBegin: (info) => { name = info.name; pieces = []; value = null; },
    onPartData: (d, last) => {
      size += d.length;
      if (!collectFields) return;
      if (last && pieces.length === 0) value = d.toString('utf8'); // the whole part in one view: no copy
      else pieces.push(Buffer.from(d));
    },
    onPartEnd: () => { if (collectFields) fields.push([name, value ?? Buffer.concat(pieces).toString('utf8')]); },
  }, { maxParts: 20_000, maxFileSize: 200 * MB });
  for (const c of chunks) parser.write(c);
  parser.end();
  if (parser.done !== 1 || size === 0) throw new Error('tsgi parse failed');
}

async function tsgiFieldStorage(chunks: Buffer[], length: number): Promise<void> {
  const form = await FieldStorage.from(
    { REQUEST_METHOD: 'POST', CONTENT_TYPE, CONTENT_LENGTH: String(length), 'tsgi.input': chunks },
    { maxNumFields: 20_000 },
  );
  if (form.done !== 1) throw new Error('FieldStorage failed');
  form.close();
}

function peer(make: () => Emitter, finish: 'close' | 'finish', chunks: Buffer[], expectedFields: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const bb = make();
    let fields = 0;
    bb.on('file', (...args: unknown[]) => (args[1] as Drainable).resume());
    bb.on('field', () => fields++);
    bb.on('error', reject);
    bb.on(finish, () => (fields === expectedFields || expectedFields < 0 ? resolve() : reject(new Error(`${fields} fields`))));
    for (const c of chunks) bb.write(c);
    bb.end();
  });
}

const limits = { fields: 20_000, parts: 20_000, fileSize: 200 * MB };
const runBusboy = (chunks: Buffer[], fields = -1): Promise<void> =>
  peer(() => busboy({ headers: { 'content-type': CONTENT_TYPE }, limits }), 'close', chunks, fields);
const runFastify = (chunks: Buffer[], fields = -1): Promise<void> =>
  peer(() => new FastifyBusboy({ headers: { 'content-type': CONTENT_TYPE }, limits }), 'finish', chunks, fields);

function row(label: string, bytes: number, ms: number, reference?: number): void {
  const rate = bytes / MB / (ms / 1000);
  const ratio = reference === undefined ? '' : `  ${(reference / ms).toFixed(2)}x busboy`;
  console.log(`  ${label.padEnd(34)} ${ms.toFixed(1).padStart(8)} ms ${rate.toFixed(0).padStart(7)} MB/s${ratio}`);
}

async function large(): Promise<void> {
  const big = fileBody(100 * MB);
  const bigChunks = chunked(big);
  console.log(`multipart, one 100 MB file (${(big.length / MB).toFixed(1)} MB body, 64 KiB chunks)`);
  const large = await compare(9, {
    'busboy': () => runBusboy(bigChunks),
    '@fastify/busboy': () => runFastify(bigChunks),
    'tsgi MultipartParser': () => tsgiParser(bigChunks, false),
  });
  for (const [name, ms] of Object.entries(large)) row(name, big.length, ms, large['busboy']);
  const spill = await compare(3, { 'tsgi FieldStorage (spills to disk)': () => tsgiFieldStorage(bigChunks, big.length) });
  row('tsgi FieldStorage (spills to disk)', big.length, spill['tsgi FieldStorage (spills to disk)']!, large['busboy']);
}

async function small(): Promise<void> {
  const small = fieldsBody(10_000);
  const smallChunks = chunked(small);
  console.log(`multipart, 10,000 small fields (${(small.length / MB).toFixed(2)} MB body), field values as strings`);
  const fields = await compare(15, {
    'busboy': () => runBusboy(smallChunks, 10_000),
    '@fastify/busboy': () => runFastify(smallChunks, 10_000),
    'tsgi MultipartParser': () => tsgiParser(smallChunks, true),
    'tsgi FieldStorage': () => tsgiFieldStorage(smallChunks, small.length),
  });
  for (const [name, ms] of Object.entries(fields)) row(name, small.length, ms, fields['busboy']);
}

async function urlencoded(): Promise<void> {
  const pairs: string[] = [];
  for (let i = 0; i < 10_000; i++) pairs.push(`key${i}=${encodeURIComponent(`value ${i} é&x`).replace(/%20/g, '+')}`);
  const text = pairs.join('&');
  const bytes = Buffer.from(text);
  const chunks = chunked(bytes);
  console.log(`urlencoded, 10,000 pairs (${(bytes.length / 1024).toFixed(0)} KiB); tsgi with maxNumFields 20000, maxFieldSize 1 MiB, maxBodySize 16 MiB`);
  const times = await compare(25, {
    'URLSearchParams': () => { let n = 0; for (const _ of new URLSearchParams(bytes.toString('utf8'))) n++; if (n !== 10_000) throw new Error(); },
    'fast-querystring': () => { fastQuerystring.parse(bytes.toString('utf8')); },
    'tsgi parseQsl': () => { if (parseQsl(bytes.toString('utf8'), { maxNumFields: 20_000 }).length !== 10_000) throw new Error(); },
    'tsgi UrlencodedParser (streaming)': () => {
      let n = 0;
      const parser = new UrlencodedParser(() => n++, { maxNumFields: 20_000, maxFieldSize: MB, maxBodySize: 16 * MB });
      for (const c of chunks) parser.write(c);
      parser.end();
      if (n !== 10_000) throw new Error();
    },
  });
  const usp = times['URLSearchParams']!;
  const fqs = times['fast-querystring']!;
  const line = (label: string, ms: number): void =>
    console.log(`  ${label.padEnd(34)} ${ms.toFixed(2).padStart(8)} ms ${(bytes.length / MB / (ms / 1000)).toFixed(0).padStart(7)} MB/s  ${(usp / ms).toFixed(2)}x URLSearchParams  ${(fqs / ms).toFixed(2)}x fast-querystring`);
  for (const [name, ms] of Object.entries(times)) line(name, ms);
}

/**
 * Child process: streams a 1 GB upload of the given shape through FieldStorage and prints the
 * peak RSS. `fresh` yields a new 64 KiB buffer per chunk, as a socket does; otherwise one buffer
 * is reused, as the fd 0 reader of `new FieldStorage()` does.
 */
async function rssChild(shape: string, fresh: boolean): Promise<void> {
  const total = 1024 * MB;
  const block = Buffer.alloc(CHUNK, shape === 'crlf-start' ? 0x61 : 0x78);
  async function* body(): AsyncGenerator<Uint8Array> {
    yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="huge.bin"\r\n\r\n${shape === 'crlf-start' ? '\r\n' : ''}`);
    for (let sent = 0; sent < total; sent += CHUNK) yield fresh ? Buffer.from(block) : block;
    yield Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-bench-'));
  const baseline = process.memoryUsage.rss();
  const start = process.hrtime.bigint();
  try {
    const form = await FieldStorage.from({ REQUEST_METHOD: 'POST', CONTENT_TYPE, 'tsgi.input': body() },
      { maxBodySize: 2 * total, tempDir: dir });
    const size = (form.get('f') as FieldStorage).file!.size;
    form.close();
    if (size !== total + (shape === 'crlf-start' ? 2 : 0)) throw new Error(`got ${size} bytes`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(JSON.stringify({ peakRss: process.resourceUsage().maxRSS * 1024, baseline, ms }));
}

function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['NODE_EXTRA_CA_CERTS'];
  return env;
}

function rss(): void {
  console.log('1 GB upload through FieldStorage.from (generator input, file spilled to a temp file), peak RSS of the whole process');
  const self = fileURLToPath(import.meta.url);
  const runs = [
    ['no-newline', 'reuse', 'one part, no newline, reused buffer'],
    ['crlf-start', 'reuse', 'CRLF then no newline, reused buffer'],
    ['no-newline', 'fresh', 'one part, no newline, fresh buffers'],
  ] as const;
  for (const [shape, buffers, label] of runs) {
    const result = spawnSync(process.execPath, [self, '--rss', shape, buffers], { env: childEnv(), encoding: 'utf8' });
    if (result.status !== 0) throw new Error(result.stderr);
    const { peakRss, baseline, ms } = JSON.parse(result.stdout.trim().split('\n').pop()!) as { peakRss: number; baseline: number; ms: number };
    console.log(`  ${label.padEnd(38)} peak RSS ${(peakRss / MB).toFixed(1)} MB (node at start ${(baseline / MB).toFixed(1)} MB; goal < 64 MB), ${(1024 / (ms / 1000)).toFixed(0)} MB/s`);
  }
}

/**
 * A CGI script reading a 1 GB upload from fd 0 with `new FieldStorage()`: the parent pipes the
 * body in, the child prints its peak RSS.
 */
async function rssCgi(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-bench-cgi-'));
  const script = join(dir, 'script.mjs');
  const formUrl = new URL('../src/form/index.js', import.meta.url).href;
  writeFileSync(script, [
    `import { FieldStorage } from ${JSON.stringify(formUrl)};`,
    'const baseline = process.memoryUsage.rss();',
    `const form = new FieldStorage({ maxBodySize: 2 ** 31, tempDir: ${JSON.stringify(dir)} });`,
    "const size = form.get('f').file.size;",
    'form.close();',
    'console.log(JSON.stringify({ size, baseline, peakRss: process.resourceUsage().maxRSS * 1024 }));',
  ].join('\n'));
  const total = 1024 * MB;
  const head = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="huge.bin"\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  const env = { ...childEnv(), REQUEST_METHOD: 'POST', CONTENT_TYPE, CONTENT_LENGTH: String(head.length + total + tail.length) };
  const start = process.hrtime.bigint();
  try {
    const child = spawn(process.execPath, [script], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const block = Buffer.alloc(CHUNK, 0x78);
    const write = (data: Buffer): Promise<void> | void => {
      if (!child.stdin.write(data)) return new Promise((resolve) => child.stdin.once('drain', () => resolve()));
    };
    await write(head);
    for (let sent = 0; sent < total; sent += CHUNK) await write(block);
    await write(tail);
    child.stdin.end();
    if ((await exited) !== 0) throw new Error('CGI child failed');
    const { size, baseline, peakRss } = JSON.parse(out) as { size: number; baseline: number; peakRss: number };
    if (size !== total) throw new Error(`got ${size} bytes`);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    console.log(`  ${'CGI script, new FieldStorage() on fd 0'.padEnd(38)} peak RSS ${(peakRss / MB).toFixed(1)} MB (node at start ${(baseline / MB).toFixed(1)} MB; goal < 64 MB), ${(1024 / (ms / 1000)).toFixed(0)} MB/s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

function importCost(): void {
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-import-'));
  const formUrl = new URL('../src/form/index.js', import.meta.url).href;
  const empty = join(dir, 'empty.mjs');
  const form = join(dir, 'form.mjs');
  const timed = join(dir, 'timed.mjs');
  writeFileSync(empty, '');
  writeFileSync(form, `import ${JSON.stringify(formUrl)};\n`);
  writeFileSync(timed, `const t = performance.now(); await import(${JSON.stringify(formUrl)}); console.log(performance.now() - t);\n`);
  const env = childEnv();
  const wall = (args: string[]): number => {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { env });
    if (r.status !== 0) throw new Error(r.stderr.toString());
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  const base: number[] = [];
  const esm: number[] = [];
  const withForm: number[] = [];
  const inProcess: number[] = [];
  try {
    for (let i = 0; i < 21; i++) {
      base.push(wall(['-e', '0']));
      esm.push(wall([empty]));
      withForm.push(wall([form]));
      inProcess.push(Number(spawnSync(process.execPath, [timed], { env, encoding: 'utf8' }).stdout.trim()));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('import cost of tsgi/form (fresh process, median of 21)');
  console.log(`  node -e 0                          ${median(base).toFixed(1)} ms`);
  console.log(`  node empty.mjs                     ${median(esm).toFixed(1)} ms`);
  console.log(`  node form.mjs (imports tsgi/form)  ${median(withForm).toFixed(1)} ms  (+${(median(withForm) - median(base)).toFixed(1)} ms vs node -e 0, +${(median(withForm) - median(esm)).toFixed(1)} ms vs empty.mjs)`);
  console.log(`  await import('tsgi/form'), timed inside the process: ${median(inProcess).toFixed(2)} ms (goal < 5 ms)`);
}

/** Runs one scenario in a fresh process, so no contender inherits JIT state or heap from another scenario. */
function scenario(name: string): void {
  const result = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--scenario', name], { env: childEnv(), stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`scenario ${name} failed`);
}

const scenarios: Record<string, () => unknown> = { large, small, urlencoded };
if (process.argv[2] === '--rss') {
  await rssChild(process.argv[3]!, process.argv[4] === 'fresh');
} else if (process.argv[2] === '--scenario') {
  await scenarios[process.argv[3]!]!();
} else {
  console.log(`load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')} on ${(await import('node:os')).availableParallelism()} cores`);
  const only = process.env['FORM_BENCH'];
  for (const name of ['large', 'small', 'urlencoded']) if (!only || only.includes(name)) scenario(name);
  if (!only || only.includes('rss')) {
    rss();
    await rssCgi();
  }
  if (!only || only.includes('import')) importCost();
}
