/**
 * Where compiled TypeScript is kept, in order of preference: the file's own package
 * (`node_modules/.cache/tsgi`, where babel and ava keep theirs, so a project's cache goes
 * away with its node_modules), the user's cache folder, then a folder of the user's own under
 * the temp dir, which is what still works on a read-only checkout.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

export interface CacheFolder {
  path: string;
  /** Mode for the folders this creates (the leaf, and parents it had to make). */
  mode: number;
  /** Under a shared temp dir another user could have made it first: trusted only if it is ours and only we can write to it. */
  mustOwn: boolean;
}

export interface CacheOptions {
  /**
   * Compiled files will be run by another user (CGI scripts run as nobody when tsgi runs as root):
   * leave out the user's own cache, which sits in a home folder others cannot enter.
   */
  forOtherUser?: boolean;
}

/** The folder holding the nearest package.json above `dir`, if any. */
function packageFolder(dir: string): string | undefined {
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(join(current, 'package.json'))) return current;
    if (dirname(current) === current) return undefined;
  }
}

function userCache(): string | undefined {
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'tsgi');
  let home: string;
  try {
    home = homedir();
  } catch {
    return undefined;
  }
  return home ? join(home, '.cache', 'tsgi') : undefined;
}

/** The folders to look in and write to for `source`, best first. */
export function cacheFolders(source: string, options: CacheOptions = {}): CacheFolder[] {
  const folders: CacheFolder[] = [];
  const pkg = packageFolder(dirname(source));
  // A package without node_modules gets none made for it: only the cache is tsgi's to create.
  if (pkg !== undefined && existsSync(join(pkg, 'node_modules'))) folders.push({ path: join(pkg, 'node_modules', '.cache', 'tsgi'), mode: 0o755, mustOwn: false });
  if (!options.forOtherUser) {
    const user = userCache();
    if (user !== undefined) folders.push({ path: user, mode: 0o700, mustOwn: false });
  }
  // 0711: the user scripts run as can open a file it knows the name of, nobody else can list or add one.
  folders.push({ path: join(tmpdir(), `tsgi-cache-${process.getuid?.() ?? 'user'}`), mode: 0o711, mustOwn: true });
  return folders;
}

/** True when `folder` can be trusted for reading: it exists and, under the temp dir, is ours alone. */
export function trustedFolder(folder: CacheFolder): boolean {
  let info;
  try {
    info = lstatSync(folder.path);
  } catch {
    return false;
  }
  if (!info.isDirectory()) return false;
  if (!folder.mustOwn) return true;
  return info.uid === process.getuid?.() && (info.mode & 0o022) === 0;
}

/** Creates `folder` if needed; false when it cannot be made or is not to be trusted. */
export function prepareFolder(folder: CacheFolder): boolean {
  try {
    const first = mkdirSync(folder.path, { recursive: true, mode: folder.mode });
    // mkdir's mode passes through the umask: a script's user must still be able to reach the files.
    if (first !== undefined) {
      for (let dir = folder.path; dir.length >= first.length; dir = dirname(dir)) chmodSync(dir, folder.mode);
    }
  } catch {
    return false;
  }
  return trustedFolder(folder);
}
