/** `tsgi run MODULE[:EXPORT]`: serve one application. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CompileError, CompilerMissing, compiledModule } from '../typescript/compiled-module.js';
import { isTypeScript } from '../typescript/files.js';
import { PackageResolutionError, resolvePackage } from './resolve-package.js';
import { adapt, ADAPTERS, isServable, NotAnApplication, type Adapted, type AdapterName } from './adapt.js';
import { parseCommandLine, parsePort, UsageError } from './args.js';
import { isWorker, workerId } from './worker-process.js';
import { gatewayHelp, gatewayOptions, gatewayOptionSpec, startServing, supervise } from './serving.js';

export const runHelp = `Usage: tsgi run MODULE[:EXPORT] [options]

Serve the application exported by MODULE: a file path (./app.js, ./app.ts, /srv/app.js)
or a package name, found in node_modules from the current folder upwards. A .ts, .mts or
.cts file is compiled with esbuild, with the local files it imports, and kept compiled in
a cache until one of them changes; types are not checked (run tsc --noEmit for that).
EXPORT defaults to the default export, then "app", then "application".
A TSGI app runs as it is; a Fetch handler or an object with a fetch method (Hono)
goes through fromFetchHandler, an Express, Connect or Koa app or an http.Server
through fromNodeListener.

Options:
  --adapter WAY   how to call the export when its shape does not tell: tsgi,
                  fetch ((request) => Response), node ((req, res) listener),
                  or auto (default)
  --bind ADDR     address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --port N        port to listen on (default: PORT from the environment, else 8000;
                  0 picks a free one)
${gatewayHelp(18)}  -h, --help      show this help
`;

const FALLBACK_EXPORTS = ['default', 'app', 'application'];

/** The URL of package `name` as a module in `cwd` would import it, or an error that says where to look instead. */
function packageUrl(name: string, cwd: string, exportName: string | undefined): string {
  let file: string | undefined;
  try {
    file = resolvePackage(name, cwd);
  } catch (error) {
    if (error instanceof PackageResolutionError) throw new UsageError(error.message);
    throw error;
  }
  if (file !== undefined) return pathToFileURL(file).href;
  const suffix = exportName !== undefined ? `:${exportName}` : '';
  const local = ['', '.js', '.mjs', '.cjs', '.ts', '.mts', '.cts'].map((extension) => name + extension).find((candidate) => existsSync(resolve(cwd, candidate)));
  // `tsgi run hello:app` is gunicorn's module:variable habit: a file needs ./ to be told from a package.
  const hint = local !== undefined ? `; for the file ${resolve(cwd, local)}, run: tsgi run ./${local}${suffix}` : '; a file path starts with ./ or /';
  throw new UsageError(`cannot find package "${name}" in node_modules from ${cwd} upwards${hint}`);
}

/**
 * Where a syntax error is, as " at /app/lib.js:3" and the line with a caret. Node 20 keeps
 * the place out of the error object for ES modules and prints it only for an uncaught error,
 * so a child node imports the same URL uncaught. Nothing of the graph runs: ES modules are all
 * parsed before any evaluates, and the parse is what fails.
 */
function syntaxErrorPlace(error: unknown, url: string): string {
  if (!(error instanceof SyntaxError)) return '';
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(url)})`], { encoding: 'utf8', timeout: 10_000 });
  const report = /^(file:\/\/\S+):(\d+)\n(.*)\n(\s*\^+)/m.exec(child.stderr ?? '');
  if (!report) return '';
  return ` at ${fileURLToPath(report[1]!)}:${report[2]}\n  ${report[3]}\n  ${report[4]}`;
}

/**
 * The URL of the compiled module for a TypeScript file. Node's source maps go on first, so that
 * stack traces from the module name its .ts lines: a server pays that once, at start-up.
 */
async function compiledUrl(path: string, modulePart: string): Promise<string> {
  process.setSourceMapsEnabled(true);
  try {
    return pathToFileURL(await compiledModule(path)).href;
  } catch (error) {
    if (error instanceof CompileError) throw new UsageError(`cannot compile ${modulePart}:\n${error.message}`);
    if (error instanceof CompilerMissing) throw new UsageError(error.message);
    throw error;
  }
}

/** `file:line:column` of the first frame of `error`'s stack outside Node's own code. */
function firstFrame(error: unknown): string | undefined {
  const stack = error instanceof Error && typeof error.stack === 'string' ? error.stack : '';
  for (const line of stack.split('\n').slice(1)) {
    const match = /^\s*at (?:.*? \()?((?:file:\/\/)?\/[^()]*?):(\d+):(\d+)\)?$/.exec(line);
    if (match) return `${match[1]!.startsWith('file:') ? fileURLToPath(match[1]!) : match[1]}:${match[2]}:${match[3]}`;
  }
  return undefined;
}

/** Imports MODULE and picks the application out of it, with errors that say what to fix. */
export async function loadApplication(spec: string, cwd = process.cwd(), adapter: AdapterName = 'auto'): Promise<Adapted> {
  const colon = spec.lastIndexOf(':');
  const hasExport = colon > 0 && !/^[a-zA-Z]:[\\/]/.test(spec) && !spec.slice(colon + 1).includes('/');
  const modulePart = hasExport ? spec.slice(0, colon) : spec;
  const exportName = hasExport ? spec.slice(colon + 1) : undefined;
  const looksLikePath = modulePart.startsWith('.') || modulePart.startsWith('/') || /\.[cm]?[jt]s$/.test(modulePart);
  const path = resolve(cwd, modulePart);
  if (looksLikePath && !existsSync(path)) throw new UsageError(`module ${modulePart} not found (looked for ${path})`);
  const typescript = looksLikePath && isTypeScript(path);
  const url = typescript ? await compiledUrl(path, modulePart) : looksLikePath ? pathToFileURL(path).href : packageUrl(modulePart, cwd, exportName);
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    if (/\.[cm]?ts$/.test(url) && (error as NodeJS.ErrnoException).code === 'ERR_UNKNOWN_FILE_EXTENSION') {
      throw new UsageError(`module ${modulePart} leads to TypeScript (${url}), which Node cannot load from a package: build the package (tsc), or name the .ts file by its path`);
    }
    // The message alone hides where a module failed: a TypeScript one's first frame says it, a
    // JavaScript syntax error's place comes from a child import.
    const where = typescript ? firstFrame(error) : undefined;
    throw new UsageError(`cannot load module ${modulePart}: ${(error as Error).message}${where ? ` (at ${where})` : syntaxErrorPlace(error, url)}`);
  }
  const names = exportName ? [exportName] : FALLBACK_EXPORTS;
  // A CommonJS module arrives as { default: module.exports, ...its named exports }: an
  // `exports.app` is also found inside the default export when Node could not list it.
  const candidates: [string, unknown][] = names.map((name) => [name, loaded[name]]);
  const cjsExports = loaded.default;
  if (typeof cjsExports === 'object' && cjsExports !== null) {
    for (const name of names) if (name !== 'default') candidates.push([name, (cjsExports as Record<string, unknown>)[name]]);
  }
  const defined = candidates.filter(([, value]) => value !== undefined);
  if (defined.length === 0) {
    const available = Object.keys(loaded).join(', ') || 'nothing';
    throw new UsageError(`module ${modulePart} has no export ${names.map((n) => `"${n}"`).join(' or ')} (it exports: ${available})`);
  }
  const [found, value] = (adapter === 'auto' && defined.find(([, candidate]) => isServable(candidate))) || defined[0]!;
  try {
    return adapt(value, `export "${found}" of ${modulePart}`, adapter);
  } catch (error) {
    if (error instanceof NotAnApplication) throw new UsageError(error.message);
    throw error;
  }
}

/** The folder --reload watches by default: the module file's, or the current one for a package. */
function moduleFolder(spec: string): string {
  const modulePart = spec.replace(/:[^:/\\]*$/, '');
  return modulePart.startsWith('.') || modulePart.startsWith('/') || /\.[cm]?[jt]s$/.test(modulePart) ? dirname(resolve(modulePart)) : process.cwd();
}

export async function runCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(argv, {
    bind: { type: 'string' },
    port: { type: 'string' },
    adapter: { type: 'string' },
    ...gatewayOptionSpec,
  }, 'tsgi run --help');
  if (values.help) {
    process.stdout.write(runHelp);
    return;
  }
  if (positionals.length !== 1) throw new UsageError('tsgi run takes exactly one MODULE[:EXPORT]');
  const adapter = values.adapter ?? 'auto';
  if (!(ADAPTERS as readonly string[]).includes(adapter)) throw new UsageError(`--adapter must be one of ${ADAPTERS.join(', ')}, got ${JSON.stringify(adapter)}`);
  const options = {
    ...(values.reload ? { reload: values['reload-dir']?.map((folder) => resolve(folder)) ?? [moduleFolder(positionals[0]!)] } : {}),
    bind: values.bind ?? '127.0.0.1',
    port: parsePort(values.port, 8000),
    ...gatewayOptions(values),
  };
  // The supervisor of --reload never loads the application: only its workers do, each the code of its time.
  if (options.reload !== undefined && !isWorker()) {
    await supervise(options);
    return;
  }
  const { app, how, adapted } = await loadApplication(positionals[0]!, process.cwd(), adapter as AdapterName);
  if (adapted && (!isWorker() || workerId() === 1)) process.stderr.write(`tsgi: serving ${how}\n`);
  await startServing(app, options);
}
