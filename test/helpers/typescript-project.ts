/**
 * A throwaway TypeScript project for the tests of tsgi's compile cache: a folder every user can
 * read (CGI scripts run as nobody under root), a package.json, and node_modules/tsgi linked to
 * this repository, so `import ... from 'tsgi/cgi'` works as in a project that installed tsgi.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from './paths.js';

export interface Project {
  dir: string;
  /** The cache folder tsgi picks first for files in this project. */
  cache: string;
  path(name: string): string;
  /** Writes a file (folders made as needed); `later` moves its mtime ahead so a rewrite is always seen as one. */
  write(name: string, text: string, options?: { mode?: number; later?: boolean }): string;
  remove(): void;
}

export function makeProject(files: Record<string, string> = {}, options: { packageJson?: boolean; nodeModules?: boolean } = {}): Project {
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-ts-'));
  chmodSync(dir, 0o755);
  if (options.packageJson !== false) writeFileSync(join(dir, 'package.json'), '{"type":"module","private":true}\n');
  if (options.nodeModules !== false) {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(repoRoot.replace(/\/$/, ''), join(dir, 'node_modules', 'tsgi'));
  }
  const path = (name: string) => join(dir, name);
  const write = (name: string, text: string, writeOptions: { mode?: number; later?: boolean } = {}) => {
    const file = path(name);
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    const before = writeOptions.later ? statSync(file, { throwIfNoEntry: false }) : undefined;
    writeFileSync(file, text);
    chmodSync(file, writeOptions.mode ?? 0o644);
    // Same size and the same millisecond would look unchanged: a real edit is seconds apart.
    if (before) utimesSync(file, new Date(), new Date(before.mtimeMs + 2000));
    return file;
  };
  for (const [name, text] of Object.entries(files)) write(name, text);
  return {
    dir,
    cache: join(dir, 'node_modules', '.cache', 'tsgi'),
    path,
    write,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
