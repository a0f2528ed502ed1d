/**
 * nginx in front of: tsgi's FastCGI front end (1 and 2 workers), node-fastcgi 2.0, and
 * tsgi's HTTP front end through proxy_pass. Hello world (50 connections) and a 1 MB POST
 * (8 connections), measured with wrk through nginx. One nginx worker; keep-alive to
 * every upstream. Prints req/s and ratios to node-fastcgi and to the proxy_pass path.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startNginx, startTsgi, tempDir, waitForPort, type Peer } from '../test/helpers/fastcgi-peers.js';
import { load, table } from './load.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const cli = here('../src/cli.js');
const app = here('./servers/fastcgi-app.js');
const nodeFastcgi = here('./servers/node-fastcgi.js');
const seconds = Number(process.env.BENCH_SECONDS ?? 3);

const scratch = tempDir('bench');
const postScript = join(scratch, 'post.lua');
writeFileSync(postScript, `wrk.method = "POST"\nwrk.body = string.rep("x", 1048576)\nwrk.headers["Content-Type"] = "application/octet-stream"\n`);

interface Backend {
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** CPU seconds (user + system) used so far by a process and its children (workers), from /proc. */
function cpuSeconds(pid: number): number {
  const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
  let ticks = 0;
  for (const id of [pid, ...children]) {
    try {
      const fields = readFileSync(`/proc/${id}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited meanwhile
    }
  }
  return ticks / 100;
}

const fastcgiLocation = (upstream: string) => `
    location / {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_NAME "";
      fastcgi_param PATH_INFO $uri;
      fastcgi_keep_conn on;
      fastcgi_pass ${upstream};
    }`;
const proxyLocation = (upstream: string) => `
    location / {
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://${upstream};
    }`;

async function startNodeFastcgi(port: number): Promise<Backend> {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const child = spawn(process.execPath, [nodeFastcgi, String(port)], { stdio: 'inherit', env });
  await waitForPort(port, child, 'node-fastcgi');
  return {
    child,
    stop: () => new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    }),
  };
}

const scenarios: { name: string; start(port: number): Promise<Backend>; location: (upstream: string) => string }[] = [
  { name: 'tsgi FastCGI', start: (port) => startTsgi(['run', app, '--fastcgi', `127.0.0.1:${port}`], port, cli), location: fastcgiLocation },
  { name: 'tsgi FastCGI --workers 2', start: (port) => startTsgi(['run', app, '--fastcgi', `127.0.0.1:${port}`, '--workers', '2'], port, cli), location: fastcgiLocation },
  { name: 'node-fastcgi', start: startNodeFastcgi, location: fastcgiLocation },
  { name: 'tsgi HTTP via proxy_pass', start: (port) => startTsgi(['run', app, '--port', String(port), '--no-access-log'], port, cli), location: proxyLocation },
  { name: 'tsgi HTTP --workers 2 via proxy_pass', start: (port) => startTsgi(['run', app, '--port', String(port), '--no-access-log', '--workers', '2'], port, cli), location: proxyLocation },
];

const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
// BENCH_ONLY=text keeps the scenarios whose name contains it (for quick comparisons while tuning).
const only = process.env.BENCH_ONLY;
if (only) scenarios.splice(0, scenarios.length, ...scenarios.filter(({ name }) => name.includes(only)));
const best = { hello: new Map<string, number>(), post: new Map<string, number>() };
/** Backend and nginx CPU milliseconds per hello-world request, lowest round: a figure that other load on the machine disturbs less than req/s. */
const cpu = new Map<string, { backend: number; nginx: number }>();
const keep = (map: Map<string, number>, name: string, value: number) => map.set(name, Math.max(map.get(name) ?? 0, value));

// Rounds alternate the order so that no scenario always runs on a warmer (or busier) machine; the best round counts.
for (let round = 0; round < rounds; round++) {
  for (const scenario of round % 2 === 0 ? scenarios : [...scenarios].reverse()) {
    const port = await freePort();
    const backend = await scenario.start(port);
    let nginx: Peer | undefined;
    try {
      // Request bodies up to 2 MB stay in nginx memory: the POST figures measure the backends, not the disk.
      nginx = await startNginx(scenario.location('backend'), `upstream backend { server 127.0.0.1:${port}; keepalive 64; }\n  client_body_buffer_size 2m;`);
      const url = `http://127.0.0.1:${nginx.port}/`;
      await load(url, 1); // warm-up
      process.stderr.write(`  round ${round + 1}: ${scenario.name}\n`);
      const before = [cpuSeconds(backend.child.pid!), cpuSeconds(nginx.child.pid!)];
      const rate = (await load(url, seconds, 50)).requestsPerSecond;
      const requests = rate * seconds;
      const used = { backend: ((cpuSeconds(backend.child.pid!) - before[0]!) * 1000) / requests, nginx: ((cpuSeconds(nginx.child.pid!) - before[1]!) * 1000) / requests };
      const known = cpu.get(scenario.name);
      if (!known || used.backend + used.nginx < known.backend + known.nginx) cpu.set(scenario.name, used);
      keep(best.hello, scenario.name, rate);
      keep(best.post, scenario.name, (await load(url, seconds, 8, postScript)).requestsPerSecond);
    } finally {
      await nginx?.stop();
      await backend.stop();
    }
  }
}
rmSync(scratch, { recursive: true, force: true });
const hello = scenarios.map(({ name }): [string, number] => [name, best.hello.get(name)!]);
const post = scenarios.map(({ name }): [string, number] => [name, best.post.get(name)!]);

console.log(`nginx -> backend, wrk, best of ${rounds} x ${seconds}s; hello world with 50 connections`);
table(hello, 'node-fastcgi');
console.log('  ratios to proxy_pass:');
table(hello.filter(([name]) => !name.includes('node-fastcgi')), 'tsgi HTTP via proxy_pass');
console.log('  CPU per hello-world request (backend + nginx), microseconds:');
for (const { name } of scenarios) {
  const used = cpu.get(name)!;
  console.log(`  ${name.padEnd(36)} ${(used.backend * 1000).toFixed(0).padStart(5)} + ${(used.nginx * 1000).toFixed(0).padStart(4)} = ${((used.backend + used.nginx) * 1000).toFixed(0).padStart(5)}`);
}
console.log(`1 MB POST with 8 connections`);
table(post, 'node-fastcgi');
console.log('  ratios to proxy_pass:');
table(post.filter(([name]) => !name.includes('node-fastcgi')), 'tsgi HTTP via proxy_pass');
