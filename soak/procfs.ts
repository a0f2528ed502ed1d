/**
 * What the kernel says about the processes under test, read from /proc: open descriptors,
 * resident memory, children and zombies. Counts, not timings: they hold on a busy machine.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface ProcessEntry {
  pid: number;
  ppid: number;
  /** R, S, D, Z, ... */
  state: string;
  comm: string;
  /** Clock ticks after boot: tells a process that started during a scenario from an older one. */
  startTicks: number;
}

/** Every process visible now (those that vanish while being read are left out). */
export function processTable(): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const entry = processEntry(Number(name));
    if (entry) entries.push(entry);
  }
  return entries;
}

export function processEntry(pid: number): ProcessEntry | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm may hold spaces and parentheses: the fields start after the last ')'.
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  return { pid, ppid: Number(fields[1]), state: fields[0]!, comm: stat.slice(stat.indexOf('(') + 1, close), startTicks: Number(fields[19]) };
}

/** The processes below `pid` (children, their children, ...), zombies included. */
export function descendants(pid: number, table = processTable()): ProcessEntry[] {
  const byParent = new Map<number, ProcessEntry[]>();
  for (const entry of table) {
    const siblings = byParent.get(entry.ppid);
    if (siblings) siblings.push(entry);
    else byParent.set(entry.ppid, [entry]);
  }
  const found: ProcessEntry[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of byParent.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/**
 * Zombies below `pids`: children the server has not reaped. (Orphans go to PID 1, which here
 * reaps nothing, and other work on the machine leaves its own there: the scenarios' scripts
 * exec their one program and leave no orphan, so only the server's own children count.)
 */
export function zombiesBelow(pids: number[], table = processTable()): ProcessEntry[] {
  const below = new Set(pids.flatMap((pid) => descendants(pid, table).map((entry) => entry.pid)));
  return table.filter((entry) => entry.state === 'Z' && below.has(entry.pid));
}

/** Open file descriptors of `pid`; 0 once it is gone. */
export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/**
 * Descriptors of `pid` other than those on run cgroups (/sys/fs/cgroup/...): the native
 * launcher keeps up to 128 empty ones for later runs, two descriptors each, by design.
 */
export function fdCountBesidesCgroups(pid: number): number {
  return fdTargets(pid).filter((target) => !target.startsWith('/sys/fs/cgroup/')).length;
}

/** Descriptors of `pid` on run cgroups (see fdCountBesidesCgroups). */
export function cgroupFdCount(pid: number): number {
  return fdTargets(pid).filter((target) => target.startsWith('/sys/fs/cgroup/')).length;
}

/** Where each descriptor of `pid` points (for a failure message: which kind leaked). */
export function fdTargets(pid: number): string[] {
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  return names.map((name) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${name}`);
    } catch {
      return '?';
    }
  });
}

/** A summary of fdTargets: "socket x3, pipe x2, /tmp/f (deleted) x1". */
export function fdSummary(pid: number): string {
  const counts = new Map<string, number>();
  for (const target of fdTargets(pid)) {
    // One kind per shape: socket:[123] is a socket, /sys/fs/cgroup/x/r17/cgroup.events a cgroup.events.
    const kind = target.replace(/:\[\d+\]$/, '').replace(/\d+/g, 'N');
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts].map(([kind, count]) => `${kind} x${count}`).join(', ');
}

/** Resident set size of `pid` in bytes (VmRSS); 0 once it is gone. */
export function rssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export const MB = 1024 * 1024;

export function megabytes(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

export interface TcpSocket {
  localPort: number;
  /** 0A listening, 01 established, ... (the kernel's hex state). */
  state: string;
  inode: number;
}

/** IPv4 TCP sockets with local port `port`, from /proc/net/tcp. */
export function tcpSockets(port: number): TcpSocket[] {
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const found: TcpSocket[] = [];
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10 || !fields[1]!.endsWith(hexPort)) continue;
    found.push({ localPort: port, state: fields[3]!, inode: Number(fields[9]) });
  }
  return found;
}

/** The inodes of the sockets `pid` has open. */
export function socketInodes(pid: number): Set<number> {
  const inodes = new Set<number>();
  for (const target of fdTargets(pid)) {
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match) inodes.add(Number(match[1]));
  }
  return inodes;
}

/** Connections on `port` that `pid` has accepted and not closed. */
export function acceptedConnections(pid: number, port: number): number {
  const inodes = socketInodes(pid);
  return tcpSockets(port).filter((socket) => socket.state !== '0A' && inodes.has(socket.inode)).length;
}

/**
 * Each connection to `port`, by the client's port: the response bytes on their way (what the
 * server's socket still has to send plus what the client's has received and not read; both
 * ends on loopback are listed), and whether the server still has its end open. The bytes grow
 * while the server's writes make progress, and stop growing once a client that stopped
 * reading has both buffers full.
 */
export function connectionsTo(port: number): Map<number, { bytes: number; open: boolean }> {
  const found = new Map<number, { bytes: number; open: boolean }>();
  const entry = (client: number) => {
    let connection = found.get(client);
    if (!connection) found.set(client, (connection = { bytes: 0, open: false }));
    return connection;
  };
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const local = parseInt(fields[1]!.split(':')[1]!, 16);
    const remote = parseInt(fields[2]!.split(':')[1]!, 16);
    const [tx, rx] = fields[4]!.split(':').map((hex) => parseInt(hex, 16)) as [number, number];
    if (local === port && remote !== 0) {
      // ESTABLISHED or CLOSE_WAIT: the server has not closed it. Once it has, its FIN counts in tx_queue: not progress.
      if (fields[3] === '01' || fields[3] === '08') {
        const connection = entry(remote);
        connection.bytes += tx;
        connection.open = true;
      }
    } else if (remote === port) {
      entry(local).bytes += rx;
    }
  }
  return found;
}
