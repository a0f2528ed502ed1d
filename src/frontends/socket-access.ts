/**
 * Who may connect to a unix socket a gateway server creates. The socket is made with the
 * process's umask, so one created by root is `srwxr-xr-x root`: the web server's workers
 * (nginx as www-data) cannot connect and answer 502. By default the socket is opened to every
 * local user, as a port on 127.0.0.1 is; with a group it is opened to that group only.
 */
import { chmodSync, chownSync, readFileSync } from 'node:fs';

export interface SocketAccess {
  /** The socket file's mode. Default 0o666, or 0o660 with `socketGroup`. */
  socketMode?: number;
  /** A group name or gid that owns the socket (the web server's, e.g. www-data). */
  socketGroup?: string | number;
}

function groupId(group: string | number): number {
  if (typeof group === 'number') return group;
  if (/^\d+$/.test(group)) return Number(group);
  let text = '';
  try {
    text = readFileSync('/etc/group', 'utf8');
  } catch {
    // no group file: the name cannot be found
  }
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined) return Number(gid);
  }
  throw new Error(`socket group ${JSON.stringify(group)}: no such group in /etc/group`);
}

/** Checks the options up front, before anything listens. */
export function checkSocketAccess(access: SocketAccess): void {
  if (access.socketMode !== undefined && (!Number.isInteger(access.socketMode) || access.socketMode < 0 || access.socketMode > 0o777)) {
    throw new RangeError(`socket mode must be an octal permission like 660, got ${access.socketMode.toString(8)}`);
  }
  if (access.socketGroup !== undefined) groupId(access.socketGroup);
}

export function applySocketAccess(path: string, access: SocketAccess): void {
  const mode = access.socketMode ?? (access.socketGroup !== undefined ? 0o660 : 0o666);
  if (access.socketGroup !== undefined) chownSync(path, -1, groupId(access.socketGroup));
  chmodSync(path, mode);
}
