/** `tsgi run MODULE[:EXPORT]`: serve one application. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Application } from '../types.js';
import { parseCommandLine, parsePort, UsageError } from './args.js';
import { gatewayHelp, gatewayOptions, gatewayOptionSpec, startServing } from './serving.js';

export const runHelp = `Usage: tsgi run MODULE[:EXPORT] [options]

Serve the TSGI application exported by MODULE (a file path or package name).
EXPORT defaults to the default export, then "app", then "application".

Options:
  --bind ADDR     address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --port N        port to listen on (default 8000; 0 picks a free one)
${gatewayHelp(18)}  -h, --help      show this help
`;

const FALLBACK_EXPORTS = ['default', 'app', 'application'];

/** Imports MODULE and picks the application out of it, with errors that say what to fix. */
export async function loadApplication(spec: string, cwd = process.cwd()): Promise<Application> {
  const colon = spec.lastIndexOf(':');
  const hasExport = colon > 0 && !/^[a-zA-Z]:[\\/]/.test(spec) && !spec.slice(colon + 1).includes('/');
  const modulePart = hasExport ? spec.slice(0, colon) : spec;
  const exportName = hasExport ? spec.slice(colon + 1) : undefined;
  const looksLikePath = modulePart.startsWith('.') || modulePart.startsWith('/') || /\.[cm]?js$/.test(modulePart);
  const path = resolve(cwd, modulePart);
  if (looksLikePath && !existsSync(path)) throw new UsageError(`module ${modulePart} not found (looked for ${path})`);
  if (/\.[cm]?ts$/.test(modulePart)) {
    throw new UsageError(`module ${modulePart} is TypeScript: build it first (tsc) and run the .js file`);
  }
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(looksLikePath ? pathToFileURL(path).href : modulePart)) as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`cannot load module ${modulePart}: ${(error as Error).message}`);
  }
  const names = exportName ? [exportName] : FALLBACK_EXPORTS;
  const found = names.find((name) => loaded[name] !== undefined);
  if (!found) {
    const available = Object.keys(loaded).join(', ') || 'nothing';
    throw new UsageError(`module ${modulePart} has no export ${names.map((n) => `"${n}"`).join(' or ')} (it exports: ${available})`);
  }
  const app = loaded[found];
  if (typeof app !== 'function') throw new UsageError(`export "${found}" of ${modulePart} is a ${typeof app}, not an application function`);
  return app as Application;
}

export async function runCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(argv, {
    bind: { type: 'string' },
    port: { type: 'string' },
    ...gatewayOptionSpec,
  });
  if (values.help) {
    process.stdout.write(runHelp);
    return;
  }
  if (positionals.length !== 1) throw new UsageError('tsgi run takes exactly one MODULE[:EXPORT]');
  const app = await loadApplication(positionals[0]!);
  await startServing(app, {
    bind: values.bind ?? '127.0.0.1',
    port: parsePort(values.port, 8000),
    ...gatewayOptions(values),
  });
}
