/**
 * CGI host throughput and memory. One run, side by side, on a trivial sh CGI script:
 * `tsgi serve --cgi` (its native launcher, and its Python helper for comparison) vs
 * `python3 -m http.server --cgi` vs lighttpd mod_cgi, and the floor: the same script spawned
 * in a loop by a small process with no server. Then the server's
 * peak RSS while a 1 GB response and a 1 GB upload pass through the host.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, ftruncateSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeUnavailable } from '../src/gateways/launch/native-launcher.js';
import { load, startServerProcess, stopProcess } from './load.js';

const serverFile = fileURLToPath(new URL('./servers/cgi.js', import.meta.url));
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
// Each server starts fresh every round: a warm-up long enough for V8 to have compiled the
// hot path, as it has in a server that has been up a while (the C servers need none). A fresh
// tsgi climbs from about 1400 to 2000 req/s over its first 5 s (10 000 requests) here.
const warmup = Number(process.env.BENCH_WARMUP ?? 5);

const site = mkdtempSync(join(tmpdir(), 'tsgi-cgi-bench-'));
chmodSync(site, 0o755);
mkdirSync(join(site, 'cgi-bin'));
const script = (name: string, body: string) => {
  writeFileSync(join(site, 'cgi-bin', name), body);
  chmodSync(join(site, 'cgi-bin', name), 0o755);
};
script('hello.sh', '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nhello\\n"\n');
script('gigabyte.sh', '#!/bin/sh\nprintf "Content-Type: application/octet-stream\\n\\n"\nexec head -c 1073741824 /dev/zero\n');
script('sink.sh', '#!/bin/sh\nbytes=$(wc -c)\nprintf "Content-Type: text/plain\\n\\n%s\\n" "$bytes"\n');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createServer().listen(port, '127.0.0.1', () => socket.close(() => resolve(false)));
      socket.on('error', () => resolve(true));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

type Started = { port: number; child: ChildProcess };
const cleanEnv = () => {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
};

const servers: Record<string, () => Promise<Started>> = {
  'tsgi serve --cgi': () => startServerProcess(serverFile, [site]),
  'tsgi serve --cgi --cgi-spawner python': () => startServerProcess(serverFile, [site, 'python']),
  'python3 -m http.server --cgi': async () => {
    const port = await freePort();
    const child = spawn('/usr/bin/python3', ['-W', 'ignore', '-m', 'http.server', '--cgi', '-b', '127.0.0.1', '-d', site, String(port)], { stdio: 'ignore', env: cleanEnv() });
    await waitForPort(port);
    return { port, child };
  },
  'lighttpd mod_cgi': async () => {
    const port = await freePort();
    const conf = join(site, 'lighttpd.conf');
    writeFileSync(conf, [
      `server.document-root = "${site}"`, `server.port = ${port}`, 'server.bind = "127.0.0.1"',
      'server.modules = ("mod_cgi")', `server.errorlog = "${join(site, 'lighttpd.log')}"`,
      '$HTTP["url"] =~ "^/cgi-bin/" { cgi.assign = ("" => "") }',
    ].join('\n') + '\n');
    const child = spawn('lighttpd', ['-D', '-f', conf], { stdio: 'ignore' });
    await waitForPort(port);
    return { port, child };
  },
};

// The cheapest way to run the script: posix_spawn (vfork) from a small process, output to /dev/null.
const POSIX_SPAWN_LOOP = `
import os, sys, time
file, seconds, concurrency = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
actions = [(os.POSIX_SPAWN_OPEN, 1, '/dev/null', os.O_WRONLY, 0)]
env = {'PATH': '/usr/bin:/bin', 'GATEWAY_INTERFACE': 'CGI/1.1', 'REQUEST_METHOD': 'GET', 'QUERY_STRING': ''}
deadline = time.time() + seconds
started, running, done = time.time(), 0, 0
while True:
    while running < concurrency and time.time() < deadline:
        os.posix_spawn(file, [file], env, file_actions=actions)
        running += 1
    if running == 0:
        break
    os.wait()
    running -= 1
    done += 1
print(done / (time.time() - started))
`;

function floor(kind: 'node' | 'posix_spawn', concurrency: number): number {
  const file = join(site, 'cgi-bin', 'hello.sh');
  const out = kind === 'node'
    ? spawnSync(process.execPath, [serverFile, '--spawn-loop', file, String(seconds), String(concurrency)], { encoding: 'utf8', env: cleanEnv() })
    : spawnSync('/usr/bin/python3', ['-c', POSIX_SPAWN_LOOP, file, String(seconds), String(concurrency)], { encoding: 'utf8' });
  return Number(out.stdout.trim());
}

// Every round's figure is kept: the best shows each server least disturbed by the rest of a
// shared machine, the median how it does typically.
const results = new Map<string, number[]>();
const record = (name: string, value: number) => results.set(name, [...(results.get(name) ?? []), value]);
const available = Object.keys(servers).filter((name) => name !== 'lighttpd mod_cgi' || spawnSync('lighttpd', ['-v']).error === undefined);
let tool = '';
try {
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? available : [...available].reverse();
    for (const name of order) {
      const { port, child } = await servers[name]!();
      try {
        const url = `http://127.0.0.1:${port}/cgi-bin/hello.sh`;
        await load(url, warmup, connections);
        const result = await load(url, seconds, connections);
        tool = result.tool;
        record(name, result.requestsPerSecond);
      } finally {
        await stopProcess(child);
      }
    }
    for (const kind of ['node', 'posix_spawn'] as const) {
      const name = `floor: ${kind} loop, no server (${connections} at once)`;
      record(name, floor(kind, connections));
    }
  }

  const best = (name: string) => Math.max(...results.get(name)!);
  const median = (name: string) => {
    const sorted = [...results.get(name)!].sort((a, b) => a - b);
    return sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  };
  const nodeFloor = `floor: node loop, no server (${connections} at once)`;
  const spawnFloor = `floor: posix_spawn loop, no server (${connections} at once)`;
  for (const [label, pick] of [['best', best], ['median', median]] as const) {
    console.log(`trivial sh CGI script, ${tool}, ${connections} connections, ${label} of ${rounds} x ${seconds}s after ${warmup}s of warm-up`);
    for (const name of results.keys()) {
      const value = pick(name);
      const ratios = `${(value / pick(nodeFloor)).toFixed(2)}x node floor  ${(value / pick(spawnFloor)).toFixed(2)}x posix_spawn floor  ${(value / pick('tsgi serve --cgi')).toFixed(2)}x tsgi`;
      console.log(`  ${name.padEnd(48)} ${value.toFixed(0).padStart(6)} req/s   ${ratios}`);
    }
  }

  console.log(`tsgi serve --cgi started scripts with ${nativeUnavailable() === undefined ? 'its native launcher' : `its fallback launcher (${nativeUnavailable()})`}`);
  console.log('\nserver peak RSS (VmHWM) while 1 GB passes through the host');
  const { port, child } = await startServerProcess(serverFile, [site]);
  try {
    const status = () => readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status())![1]) / 1024;
    console.log(`  idle                    RSS ${kb('VmRSS').toFixed(0)} MB`);
    const started = Date.now();
    const download = spawnSync('curl', ['-sS', '-o', '/dev/null', '-w', '%{size_download}', `http://127.0.0.1:${port}/cgi-bin/gigabyte.sh`], { encoding: 'utf8' });
    const downloadSeconds = (Date.now() - started) / 1000;
    console.log(`  1 GB response           peak ${kb('VmHWM').toFixed(0)} MB   (${download.stdout} bytes, ${(1024 / downloadSeconds).toFixed(0)} MB/s)`);
    const bigFile = join(site, 'upload.bin');
    const fd = openSync(bigFile, 'w');
    ftruncateSync(fd, 1024 ** 3);
    closeSync(fd);
    const upStarted = Date.now();
    const upload = spawnSync('curl', ['-sS', '-T', bigFile, `http://127.0.0.1:${port}/cgi-bin/sink.sh`], { encoding: 'utf8' });
    const uploadSeconds = (Date.now() - upStarted) / 1000;
    console.log(`  1 GB upload             peak ${kb('VmHWM').toFixed(0)} MB   (script counted ${upload.stdout.trim()} bytes, ${(1024 / uploadSeconds).toFixed(0)} MB/s)`);
  } finally {
    await stopProcess(child);
  }
} finally {
  rmSync(site, { recursive: true, force: true });
}
