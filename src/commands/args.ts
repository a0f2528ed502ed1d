/** Command-line parsing shared by the commands: node:util's parseArgs with errors worded for people. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface ParsedCommandLine<T extends OptionSpec> {
  values: { [K in keyof T]?: T[K]['type'] extends 'string' ? string : boolean } & { help?: boolean };
  positionals: string[];
}

export function parseCommandLine<T extends OptionSpec>(argv: string[], options: T): ParsedCommandLine<T> {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true }) as ParsedCommandLine<T>;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function parsePort(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new UsageError(`--port must be a number from 0 to 65535, got ${JSON.stringify(text)}`);
  return port;
}

export function parseWorkers(text: string | undefined): number {
  if (text === undefined) return 1;
  if (!/^[1-9]\d{0,3}$/.test(text)) throw new UsageError(`--workers must be a whole number from 1 to 9999, got ${JSON.stringify(text)}`);
  return Number(text);
}
