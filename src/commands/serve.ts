/** `tsgi serve [DIR] [--cgi]`: static files and CGI programs, like `python -m http.server --cgi` and on to Apache's ScriptAlias and AddHandler. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CgiOptions } from '../apps/cgi-host.js';
import { checkPhp } from './php-check.js';
import { parseCommandLine, parsePort, UsageError } from './args.js';
import type { OptionSpec } from './args.js';
import { readConfigFile } from './config-file.js';
import { checkCgiFlags, serveFolder } from './serve-checks.js';
import {
  parseAllowPrograms, parseAuth, parseCgiDirs, parseCgiExtensions, parseCgiScripts, parseEnv, parsePassEnv, parsePersistent, parsePhp,
} from './serve-flags.js';
import { gatewayHelp, gatewayOptions, gatewayOptionSpec, startServing } from './serving.js';
import { openSite } from './site.js';
import { describeSite } from './site-description.js';
import type { Site, SiteOptions } from './site.js';

export { openSite, serveSite } from './site.js';
export type { Site, SiteOptions } from './site.js';

export const serveHelp = `Usage: tsgi serve [DIR] [options]

Serve the files in DIR (default: the current folder). With --cgi, executables in the
CGI folders (default /cgi-bin and /htbin below DIR) run as CGI scripts (RFC 3875)
instead of being served as files; a .ts file there runs through node, compiled by tsgi
(once, until it changes; types are not checked). When tsgi runs as root, scripts run as
"nobody".

Options:
  --cgi               run CGI scripts in the CGI folders
  --cgi-dir LIST      comma-separated CGI folders (default /cgi-bin,/htbin)
  --cgi-script PREFIX=PROGRAM
                      PROGRAM answers everything under PREFIX, the rest of the path
                      its PATH_INFO (Apache's ScriptAlias); repeatable
  --cgi-ext EXT[=INTERPRETER]
                      files ending in EXT anywhere under DIR run as CGI: executables
                      themselves (.cgi), or through INTERPRETER (.php=/usr/bin/php-cgi,
                      .py=/usr/bin/python3); .ts without INTERPRETER runs through node,
                      compiled by tsgi; index.EXT answers for its folder; repeatable
  --cgi-timeout SECS  time limit per script run (default 120)
  --cgi-user USER     user scripts run as when tsgi runs as root (default nobody)
  --env NAME=VALUE    set a variable for every script (GITWEB_CONFIG=...); repeatable
  --pass-env NAME     let scripts see tsgi's own variable NAME (LANG); repeatable
  --persistent EXTS   comma-separated extensions (.js,.ts,.py) of CGI scripts kept running
                      as FastCGI children instead of started per request (a script that
                      calls runCgi(app) serves both ways; a .ts one gets new children
                      when it is compiled again; see docs/php.md)
  --cgi-spawner WAY   how scripts start: native (the addon npm install builds), python
                      (a small posix_spawn helper), direct (Node's spawn), or auto
                      (default: the first of these that is available)
  --php ADDR          run .php files through a running php-fpm at HOST:PORT or a unix
                      socket path (index.php for folders, /index.php for paths that name
                      no file, PHP source never served)
  --php spawn[:N]     the same through N php-cgi children tsgi starts and keeps warm
                      (default N: the number of cores); php-cgi must be on PATH
  --auth REALM:HTPASSWD[:PREFIX]
                      ask for a user name and password under PREFIX (default: the whole
                      site), checked against an htpasswd file (bcrypt, apr1, SHA), which
                      is read again when it changes; scripts see REMOTE_USER; repeatable
  --allow-program PATH
                      with --fastcgi or --scgi behind a web server: PATH (a program, or a
                      folder of them) runs when the web server names it in SCRIPT_FILENAME,
                      as fcgiwrap does; requests naming none are the site's; repeatable
  --config FILE       read these settings from a JSON file, keys named as the options
                      ("cgi-script": ["/git=..."]); options given here win (see docs/sites.md)
  --bind ADDR         address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --port N            port to listen on (default: PORT from the environment, else 8000;
                      0 picks a free one)
${gatewayHelp(22)}  -h, --help          show this help
`;

const SERVE_OPTIONS = {
  cgi: { type: 'boolean' },
  'cgi-dir': { type: 'string' },
  'cgi-script': { type: 'string', multiple: true },
  'cgi-ext': { type: 'string', multiple: true },
  'cgi-timeout': { type: 'string' },
  'cgi-user': { type: 'string' },
  'cgi-spawner': { type: 'string' },
  env: { type: 'string', multiple: true },
  'pass-env': { type: 'string', multiple: true },
  persistent: { type: 'string' },
  php: { type: 'string' },
  auth: { type: 'string', multiple: true },
  'allow-program': { type: 'string', multiple: true },
  config: { type: 'string' },
  bind: { type: 'string' },
  port: { type: 'string' },
  ...gatewayOptionSpec,
} as const satisfies OptionSpec;

type ServeValues = ReturnType<typeof parseCommandLine<typeof SERVE_OPTIONS>>['values'];

const SPAWNERS = ['auto', 'native', 'python', 'direct'] as const;
// Single-valued settings that name files: in a config file they are relative to the file.
const FILE_SETTINGS = ['tls-cert', 'tls-key', 'access-log'] as const;
const LIST_SETTINGS = ['cgi-script', 'cgi-ext', 'env', 'pass-env', 'auth', 'allow-program'] as const;

interface Settings {
  values: ServeValues;
  dir: string | undefined;
  /** Each list setting's items with the folder their relative paths start from. */
  lists: Record<(typeof LIST_SETTINGS)[number], { items: string[]; base: string }[]>;
}

/** The command line over the config file: a flag given on the command line wins; list items from both add up. */
async function readSettings(argv: string[]): Promise<Settings | undefined> {
  const { values, positionals } = parseCommandLine(argv, SERVE_OPTIONS, 'tsgi serve --help');
  if (values.help) return undefined;
  if (positionals.length > 1) throw new UsageError('tsgi serve takes at most one DIR');
  const cwd = process.cwd();
  const lists = Object.fromEntries(LIST_SETTINGS.map((name) => [name, [{ items: values[name] ?? [], base: cwd }]])) as Settings['lists'];
  if (values.config === undefined) return { values, dir: positionals[0], lists };
  const file = await readConfigFile(values.config, SERVE_OPTIONS, ['dir']);
  if ('config' in file.values) throw new UsageError(`${values.config}: "config" cannot name another config file`);
  const merged: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(file.values)) {
    if (value === undefined || (LIST_SETTINGS as readonly string[]).includes(name)) continue;
    if (name === 'reload-dir') merged[name] = (value as string[]).map((folder) => resolve(file.baseDir, folder));
    else merged[name] = (FILE_SETTINGS as readonly string[]).includes(name) && value !== '-' ? resolve(file.baseDir, value as string) : value;
  }
  for (const name of LIST_SETTINGS) {
    const items = file.values[name];
    if (Array.isArray(items)) lists[name].unshift({ items, base: file.baseDir });
  }
  const dir = positionals[0] ?? (file.dir !== undefined ? resolve(file.baseDir, file.dir) : undefined);
  return { values: { ...merged, ...definedOnly(values) } as ServeValues, dir, lists };
}

function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function fromLists<T>(groups: { items: string[]; base: string }[], parse: (items: string[], base: string) => T[]): T[] {
  return groups.flatMap(({ items, base }) => parse(items, base));
}

/** The SiteOptions the settings describe; every mistake is a UsageError naming its option. */
function siteOptions(settings: Settings): SiteOptions {
  const { values, lists } = settings;
  const dir = serveFolder(settings.dir);
  const cgiDirs = values.cgi ? parseCgiDirs(values['cgi-dir']) : undefined;
  const cgiScripts = fromLists(lists['cgi-script'], parseCgiScripts);
  const prefixes = new Set<string>();
  for (const { prefix } of cgiScripts) {
    if (prefixes.has(prefix)) throw new UsageError(`--cgi-script: ${prefix || '/'} is given twice`);
    prefixes.add(prefix);
  }
  const cgiExtensions = Object.assign({}, ...lists['cgi-ext'].map(({ items, base }) => parseCgiExtensions(items, base))) as Record<string, string | null>;
  const env = Object.assign({}, ...lists.env.map(({ items }) => parseEnv(items))) as Record<string, string>;
  const passEnv = fromLists(lists['pass-env'], (items) => parsePassEnv(items));
  const auth = fromLists(lists.auth, parseAuth);
  const allowPrograms = fromLists(lists['allow-program'], parseAllowPrograms);
  if (allowPrograms.length > 0 && values.fastcgi === undefined && values.scgi === undefined) {
    throw new UsageError('--allow-program is for serving behind a web server that names the program: give --fastcgi or --scgi');
  }
  const runsScripts = values.cgi === true || cgiScripts.length > 0 || Object.keys(cgiExtensions).length > 0 || allowPrograms.length > 0;
  for (const warning of checkCgiFlags(values, dir, cgiDirs, runsScripts)) process.stderr.write(`tsgi: warning: ${warning}\n`);
  if (values.persistent !== undefined && !values.cgi) throw new UsageError('--persistent needs --cgi');
  if ((Object.keys(env).length > 0 || passEnv.length > 0) && !runsScripts && values.php === undefined) {
    throw new UsageError('--env and --pass-env are for scripts: give --cgi, --cgi-script, --cgi-ext or --php');
  }
  if (values.php !== undefined && Object.keys(cgiExtensions).includes('.php')) throw new UsageError('choose one of --php and --cgi-ext .php');
  const timeoutText = values['cgi-timeout'];
  if (timeoutText !== undefined && !/^\d+(\.\d+)?$/.test(timeoutText)) throw new UsageError(`--cgi-timeout must be a number of seconds, got ${JSON.stringify(timeoutText)}`);
  const spawner = values['cgi-spawner'];
  if (spawner !== undefined && !(SPAWNERS as readonly string[]).includes(spawner)) {
    throw new UsageError(`--cgi-spawner must be one of ${SPAWNERS.join(', ')}, got ${JSON.stringify(spawner)}`);
  }
  return {
    dir,
    ...(cgiDirs ? { cgiDirs } : {}),
    ...(cgiScripts.length > 0 ? { cgiScripts } : {}),
    ...(Object.keys(cgiExtensions).length > 0 ? { cgiExtensions } : {}),
    ...(Object.keys(env).length > 0 ? { env } : {}),
    ...(passEnv.length > 0 ? { passEnv } : {}),
    ...(auth.length > 0 ? { auth } : {}),
    ...(allowPrograms.length > 0 ? { allowPrograms } : {}),
    ...(timeoutText !== undefined ? { cgiTimeout: Number(timeoutText) } : {}),
    ...(values['cgi-user'] !== undefined ? { cgiUser: values['cgi-user'] } : {}),
    ...(spawner !== undefined ? { cgiSpawner: spawner as CgiOptions['spawner'] } : {}),
    ...(values.php !== undefined ? { php: parsePhp(values.php) } : {}),
    ...(values.persistent !== undefined ? { persistent: parsePersistent(values.persistent) } : {}),
  };
}

/**
 * What --reload watches by default: files and scripts are read fresh on every request, so
 * only what tsgi holds on to needs a restart: the config file, and persistent scripts.
 */
function reloadPaths(values: ServeValues, options: SiteOptions): string[] {
  if (values['reload-dir'] !== undefined) return values['reload-dir'].map((folder) => resolve(folder));
  const paths: string[] = [];
  if (values.config !== undefined) paths.push(resolve(values.config));
  if (options.persistent !== undefined) paths.push(...(options.cgiDirs ?? []).map((cgiDir) => resolve(options.dir, '.' + cgiDir)).filter((folder) => existsSync(folder)));
  return paths.length > 0 ? paths : [options.dir];
}

export async function serveCommand(argv: string[]): Promise<void> {
  const settings = await readSettings(argv);
  if (settings === undefined) {
    process.stdout.write(serveHelp);
    return;
  }
  const { values } = settings;
  const options = siteOptions(settings);
  const serving = gatewayOptions(values);
  const description = describeSite(options);
  for (const warning of description.warnings) process.stderr.write(`tsgi: warning: ${warning}\n`);
  let site: Site;
  try {
    site = openSite(options);
  } catch (error) {
    throw error instanceof UsageError ? error : new UsageError((error as Error).message);
  }
  if (values.php !== undefined) await checkPhp(values.php);
  await startServing(site.app, {
    ...(values.reload ? { reload: reloadPaths(values, options) } : {}),
    onClose: () => site.close(),
    bind: values.bind ?? '127.0.0.1',
    port: parsePort(values.port, 8000),
    details: description.lines,
    ...serving,
  });
}
