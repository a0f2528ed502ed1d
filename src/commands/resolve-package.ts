/**
 * Finds the file a package name stands for, from a folder: what `import('my-package')` would
 * load from a module in that folder. `tsgi run my-package` needs it because a dynamic import
 * resolves from tsgi's own files, which a global or npx install keeps far from the project.
 * Node 20 offers no resolve-from-a-folder for ES modules (import.meta.resolve takes no parent
 * unflagged, and require.resolve applies `require` conditions), so this follows the package.json
 * rules for ES imports: `exports` with the `import`, `node` and `default` conditions, else `main`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

const CONDITIONS = ['import', 'node', 'default'];

export class PackageResolutionError extends Error {}

interface Manifest {
  main?: string;
  exports?: unknown;
}

/** Splits `@scope/name/sub/path` into the package name and its `./sub/path` subpath. */
export function splitSpecifier(specifier: string): { name: string; subpath: string } {
  const parts = specifier.split('/');
  const length = specifier.startsWith('@') ? 2 : 1;
  const rest = parts.slice(length).join('/');
  return { name: parts.slice(0, length).join('/'), subpath: rest ? `./${rest}` : '.' };
}

/** The package folder for `name` in the node_modules folders from `fromDir` upwards, if any. */
export function findPackageDir(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

function pickCondition(target: unknown): string | undefined {
  if (typeof target === 'string') return target;
  if (Array.isArray(target)) {
    for (const entry of target) {
      const picked = pickCondition(entry);
      if (picked !== undefined) return picked;
    }
    return undefined;
  }
  if (typeof target === 'object' && target !== null) {
    for (const [condition, value] of Object.entries(target)) {
      if (!CONDITIONS.includes(condition)) continue;
      const picked = pickCondition(value);
      if (picked !== undefined) return picked;
    }
  }
  return undefined;
}

function exportTarget(exportsField: unknown, subpath: string): string | undefined {
  const isSubpathMap = typeof exportsField === 'object' && exportsField !== null && !Array.isArray(exportsField)
    && Object.keys(exportsField).some((key) => key.startsWith('.'));
  const map = (isSubpathMap ? exportsField : { '.': exportsField }) as Record<string, unknown>;
  if (subpath in map) return pickCondition(map[subpath]);
  for (const [key, value] of Object.entries(map)) {
    const star = key.indexOf('*');
    if (star < 0) continue;
    const prefix = key.slice(0, star);
    const suffix = key.slice(star + 1);
    if (subpath.startsWith(prefix) && subpath.endsWith(suffix) && subpath.length >= key.length - 1) {
      const picked = pickCondition(value);
      return picked?.replaceAll('*', subpath.slice(prefix.length, subpath.length - suffix.length));
    }
  }
  return undefined;
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

/** A `main` or subpath without `exports`: the file, or with .js, or its folder's index.js, as Node tries them. */
function legacyFile(packageDir: string, relative: string): string | undefined {
  const base = join(packageDir, relative);
  return [base, `${base}.js`, join(base, 'index.js')].find(isFile);
}

/**
 * The file `specifier` (a package name, maybe with a subpath) loads from `fromDir`, undefined
 * when no node_modules above `fromDir` holds the package.
 */
export function resolvePackage(specifier: string, fromDir: string): string | undefined {
  const { name, subpath } = splitSpecifier(specifier);
  const packageDir = findPackageDir(name, fromDir);
  if (packageDir === undefined) return undefined;
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as Manifest;
  } catch (error) {
    throw new PackageResolutionError(`${join(packageDir, 'package.json')} is not valid JSON: ${(error as Error).message}`);
  }
  if (manifest.exports !== undefined && manifest.exports !== null) {
    const target = exportTarget(manifest.exports, subpath);
    if (target === undefined) throw new PackageResolutionError(`package ${name} (${packageDir}) exports no "${subpath}" for import`);
    return join(packageDir, target);
  }
  const file = legacyFile(packageDir, subpath === '.' ? (manifest.main ?? 'index.js') : subpath);
  if (file === undefined) throw new PackageResolutionError(`package ${name} (${packageDir}) has no file for "${subpath}" (no exports field; main is ${JSON.stringify(manifest.main ?? 'index.js')})`);
  return file;
}
