/**
 * Compiles and runs the TypeScript and JavaScript samples of the docs. Samples are written
 * inside the repository (under dist/), so `tsgi/...` imports resolve to this package through
 * the self-reference of package.json "exports", as they do in a project that installs tsgi.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { fromRoot } from './paths.js';

/** The project's compiler settings, emitting next to the sources. */
export function compilerOptions(): ts.CompilerOptions {
  const config = ts.readConfigFile(fromRoot('tsconfig.json'), (path) => ts.sys.readFile(path));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, fromRoot('.'));
  return { ...parsed.options, outDir: undefined, rootDir: undefined, declaration: false, sourceMap: false };
}

/** `file:line: message` for the diagnostics of `files` (others', in the package's own .d.ts say, are not the samples' fault). */
export function describeDiagnostics(diagnostics: readonly ts.Diagnostic[], files: readonly string[]): string[] {
  return diagnostics
    .filter((d) => d.file === undefined || files.includes(d.file.fileName))
    .map((d) => `${d.file ? `${d.file.fileName.replace(/.*\//, '')}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

/** Type-checks `files` together against the package, emitting nothing; returns the problems. */
export function typeCheck(files: readonly string[], options: ts.CompilerOptions = {}): string[] {
  const program = ts.createProgram(files, { ...compilerOptions(), ...options, noEmit: true });
  return describeDiagnostics(ts.getPreEmitDiagnostics(program), files);
}

/** A scratch folder inside the package (see above); `remove()` it when done. */
export function packageScratch(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(fromRoot('dist', `${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes a TypeScript sample as JavaScript (types stripped, shebang kept) to `dir/name.js`; returns the path. */
export function writeSample(dir: string, name: string, code: string): string {
  // transpileModule cannot see package.json's "type": "module", so NodeNext would emit CommonJS.
  const options = { ...compilerOptions(), module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler };
  const { outputText, diagnostics } = ts.transpileModule(code, { compilerOptions: options, reportDiagnostics: true, fileName: `${name}.ts` });
  const problems = describeDiagnostics(diagnostics ?? [], [`${name}.ts`]);
  if (problems.length > 0) throw new Error(`${name}: ${problems.join('\n')}`);
  const file = join(dir, `${name}.js`);
  writeFileSync(file, outputText, { mode: 0o755 });
  return file;
}

/** Writes a sample as writeSample does and imports it into the test's process. */
export async function importSample<T = Record<string, unknown>>(dir: string, name: string, code: string): Promise<T> {
  return (await import(pathToFileURL(writeSample(dir, name, code)).href)) as T;
}

export interface CgiRun {
  status: number | null;
  /** The header block, CRLF turned into LF, and the body, as the script wrote them. */
  head: string;
  body: Buffer;
  stdout: Buffer;
  stderr: string;
}

export interface CgiOptions {
  /** The request's variables, added to a few every server sets. */
  env?: Record<string, string>;
  stdin?: Buffer | string;
  /** Default: the script's folder, as RFC 3875 asks. */
  cwd?: string;
  /** Run the file itself, through its `#!` line, rather than `node FILE`. */
  direct?: boolean;
}

/** Runs `file` as a web server runs a CGI script: the request in its environment, the body on stdin. */
export function runCgiScript(file: string, options: CgiOptions = {}): Promise<CgiRun> {
  const base: Record<string, string> = {
    PATH: '/usr/local/bin:/usr/bin:/bin', GATEWAY_INTERFACE: 'CGI/1.1', SERVER_PROTOCOL: 'HTTP/1.1', SERVER_SOFTWARE: 'docs-test',
    SERVER_NAME: 'localhost', SERVER_PORT: '80', REQUEST_METHOD: 'GET', SCRIPT_NAME: '/cgi-bin/sample', PATH_INFO: '', QUERY_STRING: '',
    REMOTE_ADDR: '127.0.0.1',
  };
  const [command, args] = options.direct ? [file, []] : [process.execPath, [file]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...base, ...options.env }, cwd: options.cwd ?? join(file, '..'), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.stdin.on('error', () => {});
    child.stdin.end(options.stdin ?? '');
    child.once('close', (status) => {
      const stdout = Buffer.concat(out);
      const crlf = stdout.indexOf('\r\n\r\n');
      const [split, gap] = crlf >= 0 ? [crlf, 4] : [stdout.indexOf('\n\n'), 2];
      resolve({
        status, stdout, stderr: Buffer.concat(err).toString(),
        head: (split < 0 ? stdout.toString() : stdout.subarray(0, split).toString()).replace(/\r\n/g, '\n'),
        body: split < 0 ? Buffer.alloc(0) : stdout.subarray(split + gap),
      });
    });
  });
}
