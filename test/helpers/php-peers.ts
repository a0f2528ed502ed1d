/** Real PHP for the interop tests: php-fpm with a pool of its own on a unix socket, and a document root of PHP fixtures. */
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stopProcessGroup } from './process-group.js';
import { isRoot, tempDir, waitForPort } from './fastcgi-peers.js';
import { fromRoot } from './paths.js';

export const PHP_FPM = ['/usr/sbin/php-fpm8.2', '/usr/sbin/php-fpm'].find((path) => existsSync(path));
export const PHP_CGI = ['/usr/bin/php-cgi8.2', '/usr/bin/php-cgi'].find((path) => existsSync(path));

export interface PhpFpm {
  socket: string;
  /** php-fpm's own log (errors, worker exits). */
  log(): string;
  /** Kills the master and its workers, as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same socket. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** php-fpm in the foreground with a static pool of `children` workers. */
export async function startPhpFpm(options: { children?: number } = {}): Promise<PhpFpm> {
  if (!PHP_FPM) throw new Error('php-fpm is not installed (apt-get install php8.2-fpm)');
  const dir = tempDir('php-fpm');
  chmodSync(dir, 0o755);
  const socket = join(dir, 'php.sock');
  const conf = `[global]
error_log = ${dir}/fpm.log
daemonize = no
[www]
${isRoot ? 'user = nobody\ngroup = nogroup\n' : ''}listen = ${socket}
listen.mode = 0666
pm = static
pm.max_children = ${options.children ?? 2}
catch_workers_output = yes
clear_env = yes
php_admin_value[session.save_path] = ${dir}
php_admin_value[upload_max_filesize] = 64M
php_admin_value[post_max_size] = 64M
php_admin_value[output_buffering] = 0
`;
  writeFileSync(join(dir, 'fpm.conf'), conf);
  chmodSync(dir, 0o1777);
  const output: string[] = [];
  let child = spawn(PHP_FPM, ['-F', '-y', join(dir, 'fpm.conf'), ...(isRoot ? ['-R'] : [])], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let exited: Promise<void>;
  const watch = () => {
    child.stdout!.on('data', (data: Buffer) => output.push(data.toString()));
    child.stderr!.on('data', (data: Buffer) => output.push(data.toString()));
    exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  };
  watch();
  await waitForPort(socket, child, 'php-fpm');
  const fpm: PhpFpm = {
    socket,
    log: () => output.join(''),
    async kill() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone already
      }
      await exited;
    },
    async restart() {
      child = spawn(PHP_FPM!, ['-F', '-y', join(dir, 'fpm.conf'), ...(isRoot ? ['-R'] : [])], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      watch();
      await waitForPort(socket, child, 'php-fpm');
    },
    async stop() {
      await stopProcessGroup(child, exited, 3000);
    },
  };
  return fpm;
}

/** A copy of test/fixtures/php, readable by the user php runs as. */
export function phpSite(): string {
  const dir = tempDir('php-site');
  cpSync(fromRoot('test', 'fixtures', 'php'), dir, { recursive: true });
  chmodSync(dir, 0o755);
  return dir;
}
