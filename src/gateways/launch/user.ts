/** Finds the uid/gid scripts run as; running as root without a usable target user is refused. */
import { readFileSync } from 'node:fs';

export interface RunAs {
  name: string;
  uid: number;
  gid: number;
}

/** Why scripts cannot run as the user asked for; `reason` leaves out how that user was given. */
export class RunAsError extends Error {
  constructor(readonly user: string | number, readonly reason: string, hint = '') {
    super(`CGI scripts cannot run as ${JSON.stringify(user)}: ${reason}${hint}`);
  }
}

function passwdEntries(): string[][] {
  try {
    return readFileSync('/etc/passwd', 'latin1').split('\n').filter((line) => line && !line.startsWith('#')).map((line) => line.split(':'));
  } catch {
    return [];
  }
}

function lookup(user: string | number): RunAs | undefined {
  for (const fields of passwdEntries()) {
    const [name, , uid, gid] = fields;
    if (name === undefined || uid === undefined || gid === undefined) continue;
    if (typeof user === 'string' ? name === user : Number(uid) === user) return { name, uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

/**
 * The identity to spawn scripts with, or undefined to keep the server's. Throws when the
 * drop cannot happen: a privilege drop that silently fails is worse than none (Python's bug).
 */
export function resolveRunAs(user: string | number | null | undefined): RunAs | undefined {
  const getuid = process.getuid?.bind(process);
  if (!getuid) return undefined;
  const self = getuid();
  if (user === null) return undefined;
  if (user === undefined) {
    if (self !== 0) return undefined;
    user = 'nobody';
  }
  const found = lookup(user);
  if (!found) {
    if (typeof user === 'number') return { name: String(user), uid: user, gid: user };
    throw new RunAsError(user, 'no such user in /etc/passwd', " (pass the user option, or user: null to run them as the server's own user)");
  }
  if (self !== 0 && found.uid !== self) {
    throw new RunAsError(found.name, `only root may switch users, and the server runs as uid ${self}`);
  }
  return found.uid === self ? undefined : found;
}
