/** Reading `tsgi serve`'s repeatable site flags into SiteOptions; each mistake is a UsageError naming the flag. */
import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAddress } from '../frontends/listen.js';
import { UsageError } from './args.js';
import type { AuthSetting, SiteOptions } from './site.js';

function urlPrefix(flag: string, text: string): string {
  if (!text.startsWith('/') || text.split('/').some((part) => part === '..' || part === '.')) {
    throw new UsageError(`${flag}: the URL prefix must be a path like /git, got ${JSON.stringify(text)}`);
  }
  return text === '/' ? '' : text.replace(/\/+$/, '');
}

/** A program that exists and may run, as an absolute path (relative ones against `base`). */
function executable(flag: string, path: string, base: string): string {
  const file = resolve(base, path);
  let isFile = false;
  try {
    isFile = statSync(file).isFile();
    accessSync(file, constants.X_OK);
  } catch {
    throw new UsageError(`${flag}: ${file} ${isFile ? 'is not executable' : 'is not a file'}`);
  }
  return file;
}

/** `--cgi-script PREFIX=PROGRAM`. */
export function parseCgiScripts(items: string[], base: string): NonNullable<SiteOptions['cgiScripts']> {
  const seen = new Set<string>();
  return items.map((item) => {
    const equals = item.indexOf('=');
    if (equals < 0) throw new UsageError(`--cgi-script takes PREFIX=PROGRAM, as in /git=/usr/lib/git-core/git-http-backend, got ${JSON.stringify(item)}`);
    const prefix = urlPrefix('--cgi-script', item.slice(0, equals));
    if (seen.has(prefix)) throw new UsageError(`--cgi-script: ${prefix || '/'} is given twice`);
    seen.add(prefix);
    return { prefix, program: executable(`--cgi-script ${item.slice(0, equals)}`, item.slice(equals + 1), base) };
  });
}

/** `--allow-program PATH`: a program, or a folder of them, that exists. */
export function parseAllowPrograms(items: string[], base: string): string[] {
  return items.map((item) => {
    const path = resolve(base, item);
    try {
      statSync(path);
    } catch {
      throw new UsageError(`--allow-program: ${path} does not exist`);
    }
    return path;
  });
}

/** `--cgi-ext EXT[=INTERPRETER]`. */
export function parseCgiExtensions(items: string[], base: string): NonNullable<SiteOptions['cgiExtensions']> {
  const extensions: Record<string, string | null> = {};
  for (const item of items) {
    const equals = item.indexOf('=');
    const name = equals < 0 ? item : item.slice(0, equals);
    const ext = name.startsWith('.') ? name : '.' + name;
    if (!/^\.[A-Za-z0-9_+-]+$/.test(ext)) throw new UsageError(`--cgi-ext takes an extension like .cgi or .php=/usr/bin/php-cgi, got ${JSON.stringify(item)}`);
    if (ext.toLowerCase() in extensions) throw new UsageError(`--cgi-ext: ${ext} is given twice`);
    extensions[ext.toLowerCase()] = equals < 0 ? null : executable(`--cgi-ext ${ext}`, item.slice(equals + 1), base);
  }
  return extensions;
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `--env NAME=VALUE`. */
export function parseEnv(items: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const item of items) {
    const equals = item.indexOf('=');
    const name = equals < 0 ? item : item.slice(0, equals);
    if (equals < 0 || !VARIABLE_NAME.test(name)) throw new UsageError(`--env takes NAME=VALUE, as in GITWEB_CONFIG=/etc/gitweb.conf, got ${JSON.stringify(item)}`);
    if (item.includes('\0')) throw new UsageError(`--env ${name}: a value cannot hold NUL`);
    env[name] = item.slice(equals + 1);
  }
  return env;
}

/** `--pass-env NAME`. */
export function parsePassEnv(items: string[]): string[] {
  for (const name of items) {
    if (!VARIABLE_NAME.test(name)) throw new UsageError(`--pass-env takes a variable name, as in LANG, got ${JSON.stringify(name)}`);
  }
  return items;
}

/** `--auth REALM:HTPASSWD_FILE[:PREFIX]`. */
export function parseAuth(items: string[], base: string): AuthSetting[] {
  const seen = new Set<string>();
  return items.map((item) => {
    const parts = item.split(':');
    if (parts.length < 2 || parts.length > 3 || parts[0] === '' || parts[1] === '') {
      throw new UsageError(`--auth takes REALM:HTPASSWD_FILE[:PREFIX], as in "Git:/srv/htpasswd:/git", got ${JSON.stringify(item)}`);
    }
    const prefix = parts.length === 3 ? urlPrefix('--auth', parts[2]!) : '';
    if (seen.has(prefix)) throw new UsageError(`--auth: ${prefix || 'the whole site'} is protected twice`);
    seen.add(prefix);
    const file = resolve(base, parts[1]!);
    try {
      if (!statSync(file).isFile()) throw new Error('not a file');
      accessSync(file, constants.R_OK);
    } catch {
      throw new UsageError(`--auth ${parts[0]}: ${file} is not a readable file (make one with: htpasswd -cB ${file} USER)`);
    }
    return { realm: parts[0]!, file, prefix };
  });
}

/** Reads `--persistent .js,.py`. */
export function parsePersistent(text: string): string[] {
  const extensions = text.split(',').map((part) => part.trim()).filter(Boolean);
  for (const ext of extensions) {
    if (!/^\.?[A-Za-z0-9_-]+$/.test(ext)) throw new UsageError(`--persistent takes extensions like .js or .py, got ${JSON.stringify(ext)}`);
  }
  if (extensions.length === 0) throw new UsageError('--persistent needs at least one extension, like .js');
  return extensions;
}

/** Reads `--php`: `spawn`, `spawn:N`, or a responder address. */
export function parsePhp(text: string): NonNullable<SiteOptions['php']> {
  const spawn = /^spawn(?::(.*))?$/.exec(text);
  if (spawn) {
    if (spawn[1] === undefined) return { spawn: undefined };
    if (!/^[1-9]\d*$/.test(spawn[1])) throw new UsageError(`--php spawn:N needs a whole number of children, got ${JSON.stringify(spawn[1])}`);
    return { spawn: Number(spawn[1]) };
  }
  try {
    const address = parseAddress(text);
    if (address.kind === 'fd') throw new TypeError('fd:N is for listening');
  } catch {
    throw new UsageError(`--php takes a php-fpm address (HOST:PORT or a unix socket path) or spawn[:N], got ${JSON.stringify(text)}`);
  }
  return { address: text };
}

export function parseCgiDirs(text: string | undefined): string[] {
  const dirs = (text ?? '/cgi-bin,/htbin').split(',').map((part) => part.trim()).filter(Boolean);
  for (const dir of dirs) {
    if (!dir.startsWith('/') || dir.split('/').includes('..')) throw new UsageError(`--cgi-dir entries must be URL paths like /cgi-bin, got ${JSON.stringify(dir)}`);
  }
  return dirs;
}
