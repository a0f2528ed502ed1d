/** Turns a TSGI environ into an RFC 3875 §4 process environment, built clean (never the server's own). */
import type { Environ } from '../../types.js';
import { addCgiVariables } from '../../gateways/cgi-variables.js';
import type { ScriptLocation, VariableSettings } from '../../gateways/cgi-variables.js';

export type { ScriptLocation } from '../../gateways/cgi-variables.js';

/** Where a CGI host found a script, and the interpreter that runs it when it is not itself a program. */
export interface ProgramLocation extends ScriptLocation {
  /** Runs as `interpreter filename` (lighttpd's cgi.assign), so the script need not be executable. */
  interpreter?: string;
  /** A TypeScript file: runs as `node COMPILED`, the module tsgi compiled from it; it need not be executable either. */
  typescript?: boolean;
}

export interface EnvironmentSettings extends VariableSettings {
  path: string;
  passEnv: readonly string[];
  requestEnv?: ((environ: Environ) => Record<string, string>) | undefined;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Request bytes (header values, the query) sit in the environ as latin-1 text, and a child's
 * environment is written as UTF-8: bytes that are valid UTF-8 are turned into that text so
 * the script gets them unchanged. Other bytes cannot pass through Node's spawn as they are.
 */
function requestBytes(value: string): string {
  if (!/[\x80-\xff]/.test(value) || /[^\x00-\xff]/.test(value)) return value;
  try {
    return strictUtf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}

/**
 * The child's environment: PATH, the inherited names, then the request's variables.
 * `dropped` names what was withheld and why, for the log.
 */
export function buildEnvironment(environ: Environ, where: ScriptLocation, settings: EnvironmentSettings, contentLength: number | undefined): { env: Record<string, string>; dropped: string[] } {
  const env = baseEnvironment(settings);
  const dropped = addCgiVariables(env, environ, where, settings, contentLength, requestBytes);
  if (settings.requestEnv) {
    for (const [name, value] of Object.entries(settings.requestEnv(environ))) {
      if (!(name in settings.env)) env[name] = value;
    }
  }
  return { env, dropped };
}

/** What every script's environment starts from: PATH and the names it may inherit from the server's. */
export function baseEnvironment(settings: Pick<EnvironmentSettings, 'path' | 'passEnv'>): Record<string, string> {
  const env: Record<string, string> = { PATH: settings.path };
  for (const name of settings.passEnv) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}
