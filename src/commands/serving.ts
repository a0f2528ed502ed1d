/** What every serving command shares: where to listen, over which protocol, in how many processes, and how to stop. */
import { readFileSync } from 'node:fs';
import { listenFastCgi } from '../frontends/fastcgi/index.js';
import { ACCESS_LOG_FORMATS, type AccessLogFormat, type AccessLogOptions } from '../frontends/access-log.js';
import { makeServer } from '../frontends/http.js';
import { parseAddress } from '../frontends/listen.js';
import { checkSocketAccess, type SocketAccess } from '../frontends/socket-access.js';
import { listenScgi } from '../frontends/scgi.js';
import type { Application } from '../types.js';
import { parseWorkers, UsageError } from './args.js';
import { superviseWorkers, type Listening } from './workers.js';
import { openSharedListener, sharedListenerUnavailable, type SharedListener } from './shared-listener.js';
import { isWorker, sharedListener, workerId } from './worker-process.js';
import { portOwner } from './port-owner.js';
import { watchForChanges } from './reload-watch.js';

export interface ServeOptions {
  bind: string;
  port: number;
  /** PEM certificate chain and key: serve HTTPS. */
  tls?: { cert: Buffer; key: Buffer };
  /** Access log (default true: Common Log Format on stderr). HTTP only: behind a web server, it keeps the log. */
  accessLog?: boolean | AccessLogOptions;
  /** Speak FastCGI at this address (`HOST:PORT`, a unix socket path, `fd:0`) instead of HTTP. */
  fastcgi?: string;
  /** Speak SCGI at this address instead of HTTP. */
  scgi?: string;
  /** Processes serving in parallel, under a supervisor that replaces a crashed one (--workers N); without, this process serves. */
  workers?: number;
  /** FastCGI/SCGI: where the application is mounted, when the web server sends the whole path as SCRIPT_NAME. */
  scriptName?: string;
  /** FastCGI/SCGI on a unix socket: who may connect. */
  socket?: SocketAccess;
  /** Files and folders whose changes restart the worker (--reload): a new one starts, the old one drains. */
  reload?: string[];
  /** Lines printed under the start line: what is served, and how. */
  details?: string[];
  /** Called after the server has drained on SIGINT/SIGTERM, before the process exits (to stop children the app started). */
  onClose?: () => Promise<void>;
}

/** The command-line options every serving command takes for the access log, FastCGI, SCGI and workers. */
export const gatewayOptionSpec = {
  'access-log': { type: 'string' },
  'access-log-format': { type: 'string' },
  'no-access-log': { type: 'boolean' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  fastcgi: { type: 'string' },
  scgi: { type: 'string' },
  'script-name': { type: 'string' },
  'socket-mode': { type: 'string' },
  'socket-group': { type: 'string' },
  workers: { type: 'string' },
  reload: { type: 'boolean' },
  'reload-dir': { type: 'string', multiple: true },
} as const;

/** Help lines for `gatewayOptionSpec`, with descriptions starting at `column`. */
export function gatewayHelp(column: number): string {
  const lines: [string, string][] = [
    ['--access-log FILE', 'append the access log to FILE ("-", the default, is stderr)'],
    ['--access-log-format F', `access log lines: ${ACCESS_LOG_FORMATS.join(', ')} (JSON lines); default common`],
    ['--no-access-log', 'do not log requests'],
    ['--tls-cert FILE', 'serve HTTPS with this PEM certificate (chain) ...'],
    ['--tls-key FILE', '... and its PEM private key'],
    ['--fastcgi ADDR', 'speak FastCGI instead of HTTP, at HOST:PORT, a unix socket path, or fd:0'],
    ['', '(the listening socket a web server hands to the programs it starts)'],
    ['--scgi ADDR', 'speak SCGI instead of HTTP, at HOST:PORT, a unix socket path, or fd:0'],
    ['--script-name P', 'FastCGI/SCGI: the mount point, when the web server sends the whole'],
    ['', 'path as SCRIPT_NAME ("" mounts at the root)'],
    ['--socket-mode M', 'FastCGI/SCGI on a unix socket: its mode, octal (default 666, 660'],
    ['', 'with --socket-group): the web server\'s workers must be able to connect'],
    ['--socket-group G', 'the group that owns the socket (the web server\'s, e.g. www-data)'],
    ['--reload', 'while developing: restart when a file of the application changes'],
    ['', '(requests in flight finish; an error keeps the old code serving)'],
    ['--reload-dir DIR', 'watch DIR for --reload (default: the application\'s folder); repeatable'],
    ['--workers N', 'serve from N processes under a supervisor that holds the socket'],
    ['', '(without: this one process serves); a crashed one is replaced,'],
    ['', 'SIGTERM drains them, SIGHUP replaces them one by one'],
  ];
  return lines.map(([flag, text]) => (flag.length > column - 3
    ? `  ${flag}\n  ${''.padEnd(column - 2)}${text}\n`
    : `  ${flag.padEnd(column - 2)}${text}\n`)).join('');
}

type GatewayValues = {
  'tls-cert'?: string; 'tls-key'?: string;
  'access-log'?: string; 'access-log-format'?: string; 'no-access-log'?: boolean; fastcgi?: string; scgi?: string; 'script-name'?: string;
  'socket-mode'?: string; 'socket-group'?: string; workers?: string; bind?: string; port?: string;
  reload?: boolean; 'reload-dir'?: string[];
};

function socketAccess(values: GatewayValues, gateway: string | undefined): SocketAccess {
  const mode = values['socket-mode'];
  const group = values['socket-group'];
  if (mode === undefined && group === undefined) return {};
  const address = values.fastcgi ?? values.scgi;
  if (gateway === undefined || address === undefined || !address.includes('/')) {
    throw new UsageError(`--socket-mode and --socket-group are for a unix socket: give --fastcgi or --scgi a socket path`);
  }
  if (mode !== undefined && !/^0?[0-7]{3}$/.test(mode)) throw new UsageError(`--socket-mode takes an octal mode like 660, got ${JSON.stringify(mode)}`);
  const access: SocketAccess = { ...(mode !== undefined ? { socketMode: parseInt(mode, 8) } : {}), ...(group !== undefined ? { socketGroup: group } : {}) };
  try {
    checkSocketAccess(access);
  } catch (error) {
    throw new UsageError(`--socket-group ${group}: ${(error as Error).message.replace(/^socket group "[^"]*": /, '')}`);
  }
  return access;
}

function accessLogOption(values: GatewayValues): boolean | AccessLogOptions {
  const file = values['access-log'];
  const format = values['access-log-format'];
  if (values['no-access-log']) {
    if (file !== undefined || format !== undefined) throw new UsageError('--no-access-log cannot go with --access-log or --access-log-format');
    return false;
  }
  if (format !== undefined && !(ACCESS_LOG_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--access-log-format must be one of ${ACCESS_LOG_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  }
  if (file === '') throw new UsageError('--access-log needs a file name, or "-" for stderr');
  if (file === undefined && format === undefined) return true;
  return { ...(file !== undefined ? { file } : {}), ...(format !== undefined ? { format: format as AccessLogFormat } : {}) };
}

function readPem(flag: string, file: string, marker: RegExp): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (error) {
    throw new UsageError(`--${flag} ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  if (!marker.test(pem.toString('latin1'))) throw new UsageError(`--${flag} ${file}: not a PEM file (no "-----BEGIN ..." line)`);
  return pem;
}

function tlsOption(values: GatewayValues, gateway: string | undefined): ServeOptions['tls'] {
  const cert = values['tls-cert'];
  const key = values['tls-key'];
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) throw new UsageError(`--${cert === undefined ? 'tls-key' : 'tls-cert'} needs --${cert === undefined ? 'tls-cert' : 'tls-key'} too`);
  if (gateway !== undefined) throw new UsageError(`--tls-cert and --tls-key are for HTTP: behind --${gateway} the web server holds the certificate`);
  return { cert: readPem('tls-cert', cert, /-----BEGIN CERTIFICATE-----/), key: readPem('tls-key', key, /-----BEGIN [A-Z ]*PRIVATE KEY-----/) };
}

/** The ServeOptions fields `gatewayOptionSpec` fills in. */
export function gatewayOptions(values: GatewayValues): Pick<ServeOptions, 'accessLog' | 'fastcgi' | 'scgi' | 'scriptName' | 'socket' | 'workers' | 'tls'> {
  const gateway = values.fastcgi !== undefined ? 'fastcgi' : values.scgi !== undefined ? 'scgi' : undefined;
  if (gateway !== undefined) {
    // --bind and --port place the HTTP listener; the gateway's address says all of its own.
    const httpOnly = (['bind', 'port'] as const).filter((name) => values[name] !== undefined);
    if (httpOnly.length > 0) {
      const host = values.bind ?? '127.0.0.1';
      const example = `${host.includes(':') ? `[${host}]` : host}:${values.port ?? '9000'}`;
      throw new UsageError(`${httpOnly.map((name) => `--${name}`).join(' and ')} ${httpOnly.length > 1 ? 'are' : 'is'} for HTTP and would be ignored with --${gateway}: put the address in it, as in --${gateway} ${example}`);
    }
  }
  const accessLog = accessLogOption(values);
  if (typeof accessLog === 'object' && gateway !== undefined) {
    throw new UsageError('--access-log and --access-log-format are for HTTP: behind --fastcgi or --scgi the web server keeps the log');
  }
  const tls = tlsOption(values, gateway);
  if (values['reload-dir'] !== undefined && !values.reload) throw new UsageError('--reload-dir needs --reload');
  return { ...(tls ? { tls } : {}), accessLog, fastcgi: values.fastcgi, scgi: values.scgi, scriptName: values['script-name'], socket: socketAccess(values, gateway), workers: parseWorkers(values.workers) };
}

export interface Serving {
  close(): Promise<void>;
}

/** Stops on SIGINT/SIGTERM: refuse new connections, finish what is in flight, then exit. */
function stopOnSignals(server: { close(): Promise<void> }, onClose: (() => Promise<void>) | undefined): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    // A worker is stopped by its supervisor, which has said why (stopping, or a SIGHUP reload).
    if (!isWorker()) process.stderr.write(`tsgi: ${signal}: finishing requests in flight, then stopping\n`);
    void server.close().then(() => onClose?.()).finally(() => process.exit(0));
  };
  // `on`, not `once`: a second signal (a terminal's SIGINT, then the primary's SIGTERM) must not kill the drain.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

// Said once: by the single process, or by the first worker rather than all N.
function detailLines(options: ServeOptions): string {
  if (!options.details?.length || (isWorker() && workerId() !== 1)) return '';
  return options.details.map((line) => `  ${line}\n`).join('');
}

/**
 * A listen error as what to do about it: who holds the port, or what a low port needs. Still
 * a refused system call (exit 1, no stack trace), not a usage mistake.
 */
export function listenProblem(error: NodeJS.ErrnoException, bind: string, port: number): Error | undefined {
  const refused = (message: string) => Object.assign(new Error(message), { code: error.code, syscall: error.syscall ?? 'listen' });
  const where = `${bind.includes(':') ? `[${bind}]` : bind}:${port}`;
  if (error.code === 'EADDRINUSE') {
    const owner = portOwner(port);
    return refused(`${where} is already in use${owner ? ` by ${owner}` : ''}: stop it, choose another --port, or use --port 0 for a free one`);
  }
  if (error.code === 'EACCES' && port > 0 && port < 1024) {
    return refused(`${where}: ports below 1024 need root or the CAP_NET_BIND_SERVICE capability; use a port from 1024 up (the default is 8000) and put a web server in front, or grant it: sudo setcap cap_net_bind_service=+ep ${process.execPath}`);
  }
  if (error.code === 'EADDRNOTAVAIL') return refused(`--bind ${bind}: this machine has no such address (127.0.0.1 for this machine only, 0.0.0.0 for every interface)`);
  return undefined;
}

/** --reload: the application runs in workers this process replaces when its files change. */
function superviseReloading(workers: number, paths: string[], listener: SharedListener | undefined): Serving {
  const say = (text: string) => process.stderr.write(`tsgi: ${text}\n`);
  say(`--reload: watching ${paths.join(', ')}`);
  // One failed start is enough to know: the next change may fix it, so wait for that, not retry.
  const pool = superviseWorkers(workers, {
    listener,
    maxFailedStarts: 1,
    waitAfterGivingUp: true,
    onGiveUp: () => say('the application could not start (its error is above); fix it and save, and tsgi tries again'),
  });
  const watching = watchForChanges(paths, (file) => {
    say(`${file} changed: restarting`);
    void pool.reload().then((replaced) => {
      if (replaced) say('restarted');
      else say('the new code could not start (its error is above); the old code keeps serving until the next change');
    });
  });
  return {
    close: async () => {
      watching.close();
      await pool.close();
    },
  };
}

/** The mistakes in `options` no listener can fix, as usage errors. */
function checkServeOptions(options: ServeOptions): void {
  if (options.fastcgi !== undefined && options.scgi !== undefined) throw new UsageError('choose one of --fastcgi and --scgi');
  const workers = options.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) throw new UsageError(`--workers must be a whole number of at least 1, got ${workers}`);
  const address = options.fastcgi ?? options.scgi;
  if (address === undefined && options.scriptName !== undefined) throw new UsageError('--script-name needs --fastcgi or --scgi');
  if (address !== undefined) {
    try {
      parseAddress(address);
    } catch (error) {
      throw new UsageError(`--${options.fastcgi !== undefined ? 'fastcgi' : 'scgi'}: ${(error as Error).message}`);
    }
  }
}

/**
 * In the primary of --workers or --reload: opens the socket the workers will share (so that a
 * mistake in the address fails here, once, rather than in every worker), then starts them.
 */
export async function supervise(options: ServeOptions): Promise<Serving> {
  checkServeOptions(options);
  const workers = options.workers ?? 1;
  const unavailable = sharedListenerUnavailable();
  let listener: SharedListener | undefined;
  if (unavailable === undefined) {
    const gateway = options.fastcgi ?? options.scgi;
    listener = await openSharedListener({ bind: options.bind, port: options.port, gateway, socket: options.socket })
      .catch((error: NodeJS.ErrnoException) => {
        throw (gateway === undefined ? listenProblem(error, options.bind, options.port) : undefined) ?? error;
      });
  } else if (options.workers !== undefined) {
    process.stderr.write(`tsgi: warning: ${unavailable}; so the workers share their socket through node:cluster, and connections may be refused while no worker runs\n`);
  }
  if (options.reload !== undefined) return superviseReloading(workers, options.reload, listener);
  process.stderr.write(`tsgi: starting ${workers} worker${workers === 1 ? '' : 's'}\n`);
  return superviseWorkers(workers, { listener });
}

/** Serves `app` until SIGINT/SIGTERM, then drains in-flight requests and exits. */
export async function startServing(app: Application, options: ServeOptions): Promise<Serving> {
  if (!isWorker() && (options.reload !== undefined || options.workers !== undefined)) return supervise(options);
  checkServeOptions(options);
  const workers = options.workers ?? 1;
  // In a worker of a supervisor that holds the socket: listen on it, under the name it was given.
  const shared = isWorker() ? sharedListener() : undefined;
  const listening = () => {
    if (isWorker()) process.send!({ tsgi: 'listening' } satisfies Listening);
  };
  const gateway = { multiprocess: workers > 1, scriptName: options.scriptName, ...options.socket };
  const where = isWorker() ? ` (worker ${process.pid})` : '';
  // A SIGHUP would end the process (a systemd ExecReload taking the service down); one
  // process has nothing to reload, so it says so and goes on. Workers leave it to the primary.
  process.on('SIGHUP', () => {
    if (!isWorker()) process.stderr.write('tsgi: SIGHUP ignored: a single process has nothing to reload (with --workers N, SIGHUP replaces the workers one by one)\n');
  });
  if (options.fastcgi !== undefined || options.scgi !== undefined) {
    const address = shared ? { kind: 'fd' as const, fd: shared.fd, name: shared.address } : (options.fastcgi ?? options.scgi)!;
    const server = options.fastcgi !== undefined
      ? await listenFastCgi(address, app, gateway)
      : await listenScgi(address, app, gateway);
    listening();
    process.stderr.write(`Serving ${options.fastcgi !== undefined ? 'FastCGI' : 'SCGI'} on ${server.address}${where} ...\n${detailLines(options)}`);
    stopOnSignals(server, options.onClose);
    return server;
  }
  const server = await makeServer(options.bind, options.port, app, { accessLog: options.accessLog ?? true, ...(options.tls ? { tls: options.tls } : {}), ...(shared ? { fd: shared.fd } : {}) })
    .catch((error: NodeJS.ErrnoException) => {
      throw listenProblem(error, options.bind, options.port) ?? error;
    });
  listening();
  stopOnSignals(server, options.onClose);
  process.stderr.write(`Serving ${options.tls ? 'HTTPS' : 'HTTP'} on ${server.host} port ${server.port} (${server.url}/)${where} ...\n${detailLines(options)}`);
  return server;
}
