/**
 * PHP behind a web server, side by side in one run, each server fresh per round and the same
 * php-fpm pool behind every FastCGI path: `tsgi serve --php SOCKET` and `--php spawn` as a user
 * runs them (defaults: access log on), nginx -> php-fpm (upstream keepalive, fastcgi_keep_conn),
 * Caddy's php_fastcgi -> php-fpm, and php-cgi per request under `tsgi serve --cgi`. Pages: a
 * hello and a 1 MB response. Then a Node CGI hello script, per request vs `--persistent`.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startNginx, tempDir, waitForPort } from '../test/helpers/fastcgi-peers.js';
import { PHP_CGI, startPhpFpm } from '../test/helpers/php-peers.js';
import { load, stopProcess } from './load.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const warmup = Number(process.env.BENCH_WARMUP ?? 2);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const cgiModule = fileURLToPath(new URL('../src/frontends/cgi.js', import.meta.url));

const site = tempDir('php-bench');
chmodSync(site, 0o755);
writeFileSync(join(site, 'index.php'), '<?php echo "hello\\n";\n');
writeFileSync(join(site, 'mb.php'), '<?php echo str_repeat("x", 1048576);\n');
mkdirSync(join(site, 'cgi-bin'));
chmodSync(join(site, 'cgi-bin'), 0o755);
// php-cgi run per request, as a CGI script (the only way tsgi ran PHP before --php).
writeFileSync(join(site, 'cgi-bin', 'index.php'), `#!${PHP_CGI}\n<?php echo "hello\\n";\n`);
writeFileSync(join(site, 'cgi-bin', 'hello.mjs'), `#!/usr/bin/env node\nimport { runCgi } from ${JSON.stringify(cgiModule)};\nrunCgi((environ, start) => {\n  start('200 OK', [['Content-Type', 'text/plain']]);\n  return ['hello\\n'];\n});\n`);
chmodSync(join(site, 'cgi-bin', 'index.php'), 0o755);
chmodSync(join(site, 'cgi-bin', 'hello.mjs'), 0o755);

const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;

interface Running {
  port: number;
  stop(): Promise<void>;
}

async function tsgi(args: string[]): Promise<Running> {
  const port = await freePort();
  // As a user runs it: the access log on (to a file nobody reads, so the terminal costs nothing).
  const child: ChildProcess = spawn(process.execPath, [cli, 'serve', site, ...args, '--port', String(port)], { stdio: ['ignore', 'ignore', 'ignore'], env, detached: true });
  await waitForPort(port, child, 'tsgi');
  return {
    port,
    // SIGTERM, so that tsgi stops the php-cgi children it started (they sit in process groups
    // of their own, which a SIGKILL to tsgi's group would leave running).
    stop: async () => {
      const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function caddy(socket: string): Promise<Running> {
  const port = await freePort();
  const dir = tempDir('caddy');
  writeFileSync(join(dir, 'Caddyfile'), `{\n  admin off\n  auto_https off\n}\nhttp://127.0.0.1:${port} {\n  root * ${site}\n  php_fastcgi unix/${socket}\n  file_server\n}\n`);
  const child = spawn('caddy', ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], { stdio: 'ignore', env: { ...env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir } });
  await waitForPort(port, child, 'caddy');
  return {
    port,
    stop: async () => {
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function nginx(socket: string): Promise<Running> {
  const peer = await startNginx(`
    root ${site};
    location ~ \\.php$ {
      fastcgi_pass php;
      fastcgi_keep_conn on;
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
    }`, `upstream php { server unix:${socket}; keepalive 8; }`);
  return { port: peer.port, stop: () => peer.stop() };
}

const fpm = await startPhpFpm({ children: 8 });
const hasCaddy = spawnSync('caddy', ['version']).error === undefined;
const servers: [string, () => Promise<Running>][] = [
  ['tsgi serve --php SOCKET (php-fpm)', () => tsgi(['--php', fpm.socket])],
  ['tsgi serve --php spawn (php-cgi x cores)', () => tsgi(['--php', 'spawn'])],
  ['nginx -> php-fpm (keepalive)', () => nginx(fpm.socket)],
  ...(hasCaddy ? [['Caddy php_fastcgi -> php-fpm', () => caddy(fpm.socket)] as [string, () => Promise<Running>]] : []),
];

const results = new Map<string, number[]>();
const record = (name: string, value: number) => results.set(name, [...(results.get(name) ?? []), value]);
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
};

try {
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    for (const [name, start] of order) {
      const running = await start();
      try {
        for (const [page, path] of [['hello', '/index.php'], ['1 MB', '/mb.php']] as const) {
          const url = `http://127.0.0.1:${running.port}${path}`;
          await load(url, warmup, connections);
          record(`${page}|${name}`, (await load(url, seconds, connections)).requestsPerSecond);
        }
      } finally {
        await running.stop();
      }
    }
    // Process-per-request paths are slow enough that a short run measures them well.
    for (const [name, args, path] of [
      ['tsgi serve --cgi, php-cgi per request', ['--cgi'], '/cgi-bin/index.php'],
      ['Node CGI script per request', ['--cgi'], '/cgi-bin/hello.mjs'],
      ['Node CGI script, --persistent .mjs', ['--cgi', '--persistent', '.mjs'], '/cgi-bin/hello.mjs'],
    ] as const) {
      const running = await tsgi([...args]);
      try {
        const url = `http://127.0.0.1:${running.port}${path}`;
        await load(url, 1, connections);
        record(`cgi|${name}`, (await load(url, seconds, connections)).requestsPerSecond);
      } finally {
        await running.stop();
      }
    }
  }

  const figure = (key: string) => median(results.get(key) ?? [NaN]);
  for (const page of ['hello', '1 MB']) {
    console.log(`PHP ${page} page, wrk -c${connections}, median of ${rounds} x ${seconds}s after ${warmup}s warm-up, one php-fpm pool (8 static children)`);
    for (const [name] of servers) {
      const value = figure(`${page}|${name}`);
      const ratios = [`${(value / figure(`${page}|nginx -> php-fpm (keepalive)`)).toFixed(2)}x nginx`];
      if (hasCaddy) ratios.push(`${(value / figure(`${page}|Caddy php_fastcgi -> php-fpm`)).toFixed(2)}x Caddy`);
      console.log(`  ${name.padEnd(44)} ${value.toFixed(0).padStart(7)} req/s   ${ratios.join('  ')}`);
    }
  }
  console.log(`process per request vs kept warm (hello), median of ${rounds}`);
  const perRequest = figure('cgi|Node CGI script per request');
  for (const name of ['tsgi serve --cgi, php-cgi per request', 'Node CGI script per request', 'Node CGI script, --persistent .mjs']) {
    const value = figure(`cgi|${name}`);
    console.log(`  ${name.padEnd(44)} ${value.toFixed(0).padStart(7)} req/s   ${(value / perRequest).toFixed(1)}x Node per request`);
  }
} finally {
  await fpm.stop();
  rmSync(site, { recursive: true, force: true });
}
