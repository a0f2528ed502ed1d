/**
 * Killing what a script started without a cgroup, for the launchers that cannot start a script
 * as a subreaper (Node's spawn, the Python helper): whatever /proc says is in its tree (parent
 * links) or in its session. That reaches a `setsid` child while the script runs, and an orphan
 * of a double fork, which keeps the session; only a process that did both escapes. The same
 * method as native/descendants.c: what each look finds is stopped (SIGSTOP) before the next,
 * so nothing forks away between the look and the kill.
 */
import { readdirSync, readFileSync } from 'node:fs';

interface Entry {
  pid: number;
  ppid: number;
  sid: number;
}

const MAX_ROUNDS = 8;

function readEntry(pid: number): Entry | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(fields[1]), sid: Number(fields[3]) };
  } catch {
    return undefined;
  }
}

function scan(): Entry[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const entries: Entry[] = [];
  for (const name of names) {
    const code = name.charCodeAt(0);
    if (code < 48 || code > 57) continue;
    const entry = readEntry(Number(name));
    if (entry) entries.push(entry);
  }
  return entries;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone already, or not ours to signal.
  }
}

/** The pids in `root`'s tree or session that are not in `known`. */
function members(root: number, known: Set<number>): number[] {
  const entries = scan();
  const marked = new Set<number>();
  for (const entry of entries) if (entry.pid === root || entry.sid === root || known.has(entry.pid)) marked.add(entry.pid);
  // Down the tree, a level per pass.
  for (let changed = true; changed;) {
    changed = false;
    for (const entry of entries) {
      if (!marked.has(entry.pid) && marked.has(entry.ppid)) {
        marked.add(entry.pid);
        changed = true;
      }
    }
  }
  return [...marked].filter((pid) => !known.has(pid));
}

/** SIGKILL to `root`, its process group, and every process in its tree or its session. */
export function killDescendants(root: number): void {
  if (!(root > 1)) return;
  const stopped = new Set<number>();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const found = members(root, stopped);
    if (found.length === 0) break;
    for (const pid of found) {
      stopped.add(pid);
      signal(pid, 'SIGSTOP');
    }
  }
  for (const pid of stopped) signal(pid, 'SIGKILL');
  signal(-root, 'SIGKILL');
  signal(root, 'SIGKILL');
}
