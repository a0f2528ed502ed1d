/**
 * What a process knows of being a --workers worker: its number, and the listening socket its
 * supervisor holds for it (shared-listener.ts). The supervisor says both in the environment;
 * claimWorkerRole() takes them out first thing, so that nothing the application starts takes
 * itself for a worker. (Nor does it inherit the socket: Node marks every descriptor it
 * inherits above stderr close-on-exec as it starts.)
 */

export const WORKER_VARIABLE = 'TSGI_WORKER';
export const FD_VARIABLE = 'TSGI_LISTEN_FD';
export const ADDRESS_VARIABLE = 'TSGI_LISTEN_ADDRESS';

let id: number | undefined;
let inherited: { fd: number; address: string } | undefined;

/** Called first thing by the CLI, in every process. */
export function claimWorkerRole(): void {
  const number = process.env[WORKER_VARIABLE];
  const fd = process.env[FD_VARIABLE];
  const address = process.env[ADDRESS_VARIABLE];
  for (const name of [WORKER_VARIABLE, FD_VARIABLE, ADDRESS_VARIABLE]) delete process.env[name];
  // Only a child with a channel to its supervisor is a worker, not a program that happened to inherit the variables.
  if (number === undefined || !/^\d+$/.test(number) || !process.connected) return;
  id = Number(number);
  if (fd !== undefined && address !== undefined && /^\d+$/.test(fd)) inherited = { fd: Number(fd), address };
  // The supervisor is gone (killed): finish what is in flight and stop, as SIGTERM does,
  // rather than serve on unsupervised (a node:cluster worker exits then too).
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

/** This worker's number (1 for the first the supervisor started), or undefined outside --workers. */
export function workerId(): number | undefined {
  return id;
}

export function isWorker(): boolean {
  return id !== undefined;
}

/** The socket this worker's supervisor holds, or undefined: the worker listens by itself (node:cluster shares it). */
export function sharedListener(): { fd: number; address: string } | undefined {
  return inherited;
}
