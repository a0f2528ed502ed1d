/**
 * A TypeScript module as a JavaScript file Node can run: compiled once, kept in a cache
 * folder, compiled again only when the source or a file it imports changes (path, mtime,
 * size). `tsgi run app.ts` imports the compiled file; the CGI host runs `node compiled.mjs`.
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { headerLine, isFresh, readKey, stampOf } from './cache-entry.js';
import type { CacheKey, Stamp } from './cache-entry.js';
import { cacheFolders, prepareFolder, trustedFolder } from './cache-folders.js';
import type { CacheOptions } from './cache-folders.js';
import { moduleFormat } from './files.js';
import { CompileError, stopCompiler, transpile } from './transpile.js';

export { CompileError, CompilerMissing } from './transpile.js';
export type { CacheOptions } from './cache-folders.js';

// Raise when what a compile writes changes, so older cache files are not reused.
const FORMAT = 1;
const MAPPER = fileURLToPath(new URL('./stack-trace.js', import.meta.url));

let compilerName: string | undefined;

/** This tsgi, its cache format, and where its stack mapper lives (compiled files name it). */
function compiler(): string {
  if (compilerName === undefined) {
    let version = 'unknown';
    try {
      version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      // A copy of tsgi without its package.json still compiles; its cache is keyed by the mapper path alone.
    }
    compilerName = `tsgi ${version} format ${FORMAT} ${MAPPER}`;
  }
  return compilerName;
}

/**
 * The compiled module's first statement: its stack traces are rewritten to the TypeScript
 * lines by stack-trace.ts, loaded the first time a trace names this file. Node's own
 * source-map support, when on (tsgi run turns it on), has mapped them already, and this
 * leaves them alone.
 */
function stackBanner(format: 'esm' | 'cjs'): string {
  const self = format === 'esm' ? 'import.meta.url' : '__filename';
  const load = format === 'esm' ? 'process.getBuiltinModule("node:module").createRequire(f)' : 'require';
  return `{const p=Error.prepareStackTrace,f=${self},m=${JSON.stringify(MAPPER)};`
    + 'Error.prepareStackTrace=function(e,s){'
    + 'const t=p?p.call(this,e,s):Error.prototype.toString.call(e)+s.map(c=>"\\n    at "+c).join("");'
    + `if(typeof t!=="string"||!t.includes(f))return t;try{return ${load}(m).mapStack(t,f)}catch{return t}}}`;
}

/** The cache file's name: readable, and one per source path, so a recompile replaces the old one. */
function cacheName(source: string): string {
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  return `${basename(source)}-${hash}.${moduleFormat(source) === 'cjs' ? 'cjs' : 'mjs'}`;
}

interface Known {
  file: string;
  key: CacheKey;
}

/** What this process found or wrote, by memoKey: a request then costs a stat of each input and no read. */
const known = new Map<string, Known>();

// A module compiled for another user's scripts lives elsewhere (not in a home folder).
const memoKey = (source: string, options: CacheOptions): string => (options.forOtherUser ? 'other:' : 'own:') + source;
const compiling = new Map<string, Promise<string>>();

function validKey(key: CacheKey | undefined, source: string): key is CacheKey {
  return key !== undefined && key.compiler === compiler() && key.inputs[0]?.[0] === source && isFresh(key);
}

/** The compiled file for `source` (an absolute path) if one is in the cache and up to date; no compile. */
export function freshCompiledModule(source: string, options: CacheOptions = {}): string | undefined {
  const memo = memoKey(source, options);
  const seen = known.get(memo);
  // The compiled file too: a cache folder deleted under a running server is written again.
  if (seen && isFresh(seen.key) && stampOf(seen.file)) return seen.file;
  known.delete(memo);
  const name = cacheName(source);
  for (const folder of cacheFolders(source, options)) {
    if (!trustedFolder(folder)) continue;
    const file = join(folder.path, name);
    const key = readKey(file);
    if (validKey(key, source)) {
      known.set(memo, { file, key });
      return file;
    }
  }
  return undefined;
}

/**
 * The compiled file for `source` (an absolute path), compiling it when the cache has no fresh
 * one; a plain string when nothing had to be done. Throws CompileError when the source has
 * mistakes, CompilerMissing without esbuild.
 */
export function compiledModule(source: string, options: CacheOptions = {}): string | Promise<string> {
  const fresh = freshCompiledModule(source, options);
  if (fresh !== undefined) return fresh;
  const memo = memoKey(source, options);
  let job = compiling.get(memo);
  if (!job) {
    job = compile(source, options).finally(() => {
      compiling.delete(memo);
      // esbuild's service process would idle until the next change: it starts again in ~10 ms when needed.
      if (compiling.size === 0) void stopCompiler(() => compiling.size === 0);
    });
    compiling.set(memo, job);
  }
  return job;
}

async function compile(source: string, options: CacheOptions): Promise<string> {
  // Taken before esbuild reads the file: an edit during the compile then makes the entry stale, not the edit invisible.
  const before = stampOf(source);
  if (!before) throw new CompileError(`${source}: no such file`);
  const { code, map, inputs } = await transpile(source, stackBanner(moduleFormat(source)));
  const stamps = [before, ...inputs.slice(1).map(stampOf).filter((stamp): stamp is Stamp => stamp !== undefined)];
  const key: CacheKey = { compiler: compiler(), inputs: stamps };
  // One line more at the top, the key: one more `;` in front of the mappings.
  const inline = Buffer.from(JSON.stringify({ ...map, mappings: ';' + map.mappings })).toString('base64');
  const text = `${headerLine(key)}${code}//# sourceMappingURL=data:application/json;base64,${inline}\n`;
  // Readable by whoever may read the source (a CGI script's user), by no one else.
  const mode = (statSync(source).mode & 0o644) | 0o600;
  const file = writeCache(source, text, mode, options);
  known.set(memoKey(source, options), { file, key });
  return file;
}

function writeInto(folder: string, name: string, text: string, mode: number): string {
  const file = join(folder, name);
  const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    writeFileSync(temporary, text, { mode });
    chmodSync(temporary, mode);
    // A rename replaces the file whole: a process reading the old one keeps reading the old one.
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  return file;
}

function writeCache(source: string, text: string, mode: number, options: CacheOptions): string {
  const name = cacheName(source);
  for (const folder of cacheFolders(source, options)) {
    if (!prepareFolder(folder)) continue;
    try {
      return writeInto(folder.path, name, text, mode);
    } catch {
      // Read-only, full, or not ours after all: the next folder.
    }
  }
  // Every folder refused (a temp folder someone else made first, say): one for this process alone.
  if (ownFolder === undefined) {
    ownFolder = mkdtempSync(join(tmpdir(), 'tsgi-cache-'));
    chmodSync(ownFolder, 0o711);
  }
  return writeInto(ownFolder, name, text, mode);
}

let ownFolder: string | undefined;
