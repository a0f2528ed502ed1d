/**
 * What each launcher can do about a script's descendants (issue 14), in words for the start
 * line, and the one warning tsgi gives when a descendant that left the script's session may
 * outlive it:
 * - native: each run starts inside a cgroup of its own (native/cgroup.c), or without cgroup
 *   rights each script is a child subreaper and a kill walks its tree and session in /proc;
 * - python: each run starts inside a cgroup of its own, in a folder delegated to the helper
 *   (spawner-source.ts), or a kill walks the script's tree and session in /proc;
 * - direct: each script is moved into a cgroup of its own once spawn returns (Node has no hook
 *   before the exec), and a kill also walks its tree and session in /proc.
 */
import { nativeContainment } from './native-launcher.js';
import { runCgroups } from './run-cgroups.js';

export type LauncherKind = 'native' | 'python' | 'direct';

/** How a kill reaches what a script started, for the start line. */
export function describeContainment(kind: LauncherKind): string {
  if (kind === 'native') {
    const native = nativeContainment();
    if (native === undefined) return '';
    return native.kind === 'cgroup'
      ? 'each run in a cgroup of its own'
      : `no cgroups (${native.detail}): each script a child subreaper, a kill finds what it started in /proc`;
  }
  const { folder, unavailable } = runCgroups();
  if (folder !== undefined) return kind === 'python' ? 'each run in a cgroup of its own' : 'each script moved into a cgroup of its own as it starts';
  return `no cgroups (${unavailable}): a kill finds what a script started in /proc`;
}

/** The warning for a launcher that can lose track of a descendant, or undefined. */
export function containmentWarning(kind: LauncherKind): string | undefined {
  if (kind === 'native') return undefined;
  const { unavailable } = runCgroups();
  if (unavailable === undefined) return undefined;
  const launcher = kind === 'python' ? 'the Python helper' : "Node's spawn";
  return `scripts start with ${launcher} and no cgroup can be made for them (${unavailable}): a descendant that leaves its script's session and is orphaned (setsid and a double fork) may outlive the script, its time limit and its client`;
}

let warned = false;

/** The containment warning, once per process; undefined when given already or not needed. */
export function takeContainmentWarning(kind: LauncherKind): string | undefined {
  if (warned) return undefined;
  const warning = containmentWarning(kind);
  if (warning !== undefined) warned = true;
  return warning;
}
