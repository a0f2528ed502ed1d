/**
 * `node cgi.js DIR [SPAWNER]` serves DIR like `tsgi serve DIR --cgi [--cgi-spawner SPAWNER]` on
 * a free port and prints the port.
 * `node cgi.js --spawn-loop FILE SECONDS CONCURRENCY` is the floor: FILE spawned in a loop, no server.
 */
import { spawn } from 'node:child_process';
import { serveSite } from '../../src/commands/serve.js';
import { makeServer } from '../../src/frontends/http.js';

if (process.argv[2] === '--spawn-loop') {
  const [file, seconds, concurrency] = [process.argv[3]!, Number(process.argv[4]), Number(process.argv[5])];
  const env = { PATH: '/usr/local/bin:/usr/bin:/bin', GATEWAY_INTERFACE: 'CGI/1.1', REQUEST_METHOD: 'GET', QUERY_STRING: '' };
  const deadline = Date.now() + seconds * 1000;
  let done = 0;
  const once = () => new Promise<void>((resolve, reject) => {
    const child = spawn(file, [], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.on('data', () => {});
    child.on('error', reject);
    child.on('close', () => resolve());
  });
  const worker = async () => {
    while (Date.now() < deadline) {
      await once();
      done++;
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  process.stdout.write(`${done / ((Date.now() - started) / 1000)}\n`);
} else {
  const spawner = process.argv[3] as 'native' | 'python' | 'direct' | undefined;
  const site = serveSite({ dir: process.argv[2]!, cgiDirs: ['/cgi-bin'], ...(spawner ? { cgiSpawner: spawner } : {}) });
  const server = await makeServer('127.0.0.1', 0, site, { accessLog: false, errors: { write: () => {} } });
  process.on('SIGINT', () => process.exit(0));
  process.stdout.write(`${server.port}\n`);
}
