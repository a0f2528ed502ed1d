/**
 * Compiles a TypeScript module and the local files it imports into one JavaScript module with
 * esbuild, types stripped and not checked (that is `tsc --noEmit`'s job). One file because a
 * module costs a CGI script ~0.4 ms to load and a loader hook ~29 ms to start (docs/cgi-scripts.md).
 * Packages stay outside: each import of one is rewritten to the file it resolves to from the
 * source, so the compiled module runs from any folder and shares the packages' instances with
 * everything else that imports them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Esbuild from 'esbuild';
import { isTypeScript, moduleFormat } from './files.js';

/** esbuild is an optional dependency: an install without it still serves built JavaScript. */
export class CompilerMissing extends Error {}

/** The source does not compile; the message names file:line:column and shows the line. */
export class CompileError extends Error {}

export interface Transpiled {
  /** The module, without a sourceMappingURL comment. */
  code: string;
  /** Its source map, sources as absolute file URLs. */
  map: { version: number; sources: string[]; mappings: string; names?: string[]; sourcesContent?: unknown };
  /** Every file read: the source, the local files bundled with it, the package files it imports. */
  inputs: string[];
}

/** What tsgi uses of esbuild's API. */
type EsbuildApi = Pick<typeof Esbuild, 'build' | 'stop'>;

let esbuild: Promise<EsbuildApi> | undefined;

function loadEsbuild(): Promise<EsbuildApi> {
  esbuild ??= import('esbuild').then((module) => module.default, (error: NodeJS.ErrnoException) => {
    esbuild = undefined;
    if (error.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new CompilerMissing('running TypeScript needs esbuild, an optional dependency of tsgi that is not installed here: run "npm install esbuild", or build with tsc and run the .js');
  });
  return esbuild!;
}

/** Ends esbuild's service process if one was started and `idle()` still says so; the next compile starts another. */
export async function stopCompiler(idle: () => boolean = () => true): Promise<void> {
  const api = await esbuild?.catch(() => undefined);
  // Asked again after the await, in the same tick as the stop: a compile begun meanwhile is not cut off.
  if (api && idle()) await api.stop();
}

const TARGET = 'node20.19';

/** `file:line:column: text`, the line, and a caret under the column. */
function describe(message: Esbuild.Message, cwd: string): string {
  const where = message.location;
  if (!where) return message.text;
  const file = where.file ? resolve(cwd, where.file) : '<input>';
  const text = `${file}:${where.line}:${where.column + 1}: ${message.text}`;
  if (!where.lineText) return text;
  const gutter = `${where.line} | `;
  return `${text}\n  ${gutter}${where.lineText}\n  ${' '.repeat(gutter.length - 2)}| ${' '.repeat(where.column)}^`;
}

function isBuildFailure(error: unknown): error is Esbuild.BuildFailure {
  return error instanceof Error && Array.isArray((error as Partial<Esbuild.BuildFailure>).errors);
}

const INSIDE_PACKAGES = `${sep}node_modules${sep}`;

/** True when `specifier` names a package installed in a node_modules folder from `dir` upwards. */
function isInstalledPackage(specifier: string, dir: string): boolean {
  const parts = specifier.split('/');
  const name = parts.slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(join(current, 'node_modules', name, 'package.json'))) return true;
    if (dirname(current) === current) return false;
  }
}

/**
 * Packages become imports of their files; `import.meta` in a bundled file stays that file's.
 * Without the second, `new URL('./page.html', import.meta.url)` in a library would point into
 * the cache. Only files that mention import.meta pay for the extra compile that does it.
 */
function localBundle(api: EsbuildApi, externals: Set<string>): Esbuild.Plugin {
  return {
    name: 'tsgi',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === 'tsgi' || isBuiltin(args.path)) return undefined;
        const found = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, with: args.with, pluginData: 'tsgi' });
        // Left to Node when esbuild cannot find it: an optional package may be missing, and Node says so better at run time.
        if (found.errors.length > 0 || !found.path) return { path: args.path, external: true };
        // A package (also one linked into node_modules from elsewhere) stays a package, unless it
        // is TypeScript source Node could not load; a path alias (tsconfig paths, #imports) is local code.
        const isPackage = !args.path.startsWith('#') && isInstalledPackage(args.path, args.resolveDir);
        if (isPackage ? isTypeScript(found.path) : !found.path.includes(INSIDE_PACKAGES)) return { path: found.path };
        externals.add(found.path);
        return { path: found.path, external: true };
      });
      build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta')) return undefined;
        try {
          const result = await api.build({
            entryPoints: [args.path],
            bundle: false,
            write: false,
            outfile: `${args.path}.js`,
            platform: 'node',
            target: TARGET,
            charset: 'utf8',
            sourcemap: 'inline',
            sourcesContent: false,
            logLevel: 'silent',
            define: {
              'import.meta.url': JSON.stringify(pathToFileURL(args.path).href),
              'import.meta.filename': JSON.stringify(args.path),
              'import.meta.dirname': JSON.stringify(dirname(args.path)),
            },
          });
          return { contents: result.outputFiles[0]!.text, loader: 'js', resolveDir: dirname(args.path) };
        } catch (error) {
          if (isBuildFailure(error)) return { errors: error.errors };
          throw error;
        }
      });
    },
  };
}

/**
 * Compiles `source` as it would run from `outDir`; `banner` goes first (it may not change the
 * line count of the code after it: the source map accounts for it).
 */
export async function transpile(source: string, banner: string): Promise<Transpiled> {
  const api = await loadEsbuild();
  const cwd = dirname(source);
  const format = moduleFormat(source);
  const outfile = join(cwd, `compiled.${format === 'cjs' ? 'cjs' : 'mjs'}`);
  const externals = new Set<string>();
  let result: Esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    result = await api.build({
      entryPoints: [source],
      absWorkingDir: cwd,
      bundle: true,
      format,
      platform: 'node',
      target: TARGET,
      // Node picks `main` and the import/require conditions, never a bundler's `module`.
      mainFields: ['main'],
      conditions: [],
      charset: 'utf8',
      write: false,
      outfile,
      sourcemap: 'external',
      sourcesContent: false,
      metafile: true,
      logLevel: 'silent',
      banner: { js: banner },
      plugins: [localBundle(api, externals)],
    });
  } catch (error) {
    if (isBuildFailure(error)) throw new CompileError(error.errors.map((message) => describe(message, cwd)).join('\n'));
    throw error;
  }
  const js = result.outputFiles.find((file) => !file.path.endsWith('.map'))!.text;
  const map = JSON.parse(result.outputFiles.find((file) => file.path.endsWith('.map'))!.text) as Transpiled['map'];
  map.sources = map.sources.map((name) => pathToFileURL(resolve(dirname(outfile), name)).href);
  const local = Object.keys(result.metafile.inputs).map((name) => resolve(cwd, name));
  const inputs = [source, ...local.filter((file) => file !== source), ...externals];
  // A #! line may only be the first line, and the cache key goes there.
  const code = js.replace(/\/\/# sourceMappingURL=\S+\s*$/, '').replace(/^#!/, '//');
  return { code, map, inputs };
}
