/** Command-line parsing shared by the commands: node:util's parseArgs with errors worded for people. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface ParsedCommandLine<T extends OptionSpec> {
  values: { [K in keyof T]?: T[K] extends { multiple: true } ? string[] : T[K]['type'] extends 'string' ? string : boolean } & { help?: boolean };
  positionals: string[];
}

/**
 * parseArgs with its errors reworded: parseArgs' own text is about its API ("place it at the
 * end of the command after '--'") and points nowhere; `help` names the command's help.
 */
export function parseCommandLine<T extends OptionSpec>(argv: string[], options: T, help = 'tsgi --help'): ParsedCommandLine<T> {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true }) as ParsedCommandLine<T>;
  } catch (error) {
    throw new UsageError(`${describeParseError(error as Error & { code?: string })} (see ${help})`);
  }
}

function describeParseError(error: Error & { code?: string }): string {
  const option = /'(-[^' ]+)/.exec(error.message)?.[1];
  if (option === undefined) return error.message;
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option}`;
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return /argument missing/.test(error.message) ? `${option} needs a value` : `${option} takes no value`;
  }
  return error.message;
}

/** The port from --port, else from PORT in the environment (as Heroku-style hosts set it), else `fallback`. */
export function parsePort(text: string | undefined, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const fromEnvironment = text === undefined && env.PORT !== undefined && env.PORT !== '';
  const given = fromEnvironment ? env.PORT : text;
  if (given === undefined) return fallback;
  const port = Number(given);
  if (!/^\d+$/.test(given) || port > 65535) {
    throw new UsageError(`${fromEnvironment ? 'PORT in the environment' : '--port'} must be a number from 0 to 65535, got ${JSON.stringify(given)}`);
  }
  return port;
}

/** --workers N; undefined without it (one process serves, with no supervisor). */
export function parseWorkers(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d{0,3}$/.test(text)) throw new UsageError(`--workers must be a whole number from 1 to 9999, got ${JSON.stringify(text)}`);
  return Number(text);
}
