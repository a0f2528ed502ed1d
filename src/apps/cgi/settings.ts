/** Options resolved once per host, so each request does no option handling. */
import type { Application, Environ } from '../../types.js';
import {
  DEFAULT_BODY_LIMIT, DEFAULT_INHERIT, DEFAULT_MAX_REDIRECTS, DEFAULT_PATH, DEFAULT_TIMEOUT,
} from './options.js';
import type { CgiOptions, StderrSink } from './options.js';
import { nativeLauncher, nativeUnavailable } from '../../gateways/launch/native-launcher.js';
import { takeContainmentWarning } from '../../gateways/launch/containment.js';
import type { LauncherKind } from '../../gateways/launch/containment.js';
import { directLauncher } from '../../gateways/launch/process.js';
import type { Launcher } from '../../gateways/launch/process.js';
import { spawnerFor, spawnerPython } from '../../gateways/launch/spawner.js';
import { resolveRunAs } from '../../gateways/launch/user.js';
import type { RunAs } from '../../gateways/launch/user.js';

export interface HostSettings {
  env: Record<string, string>;
  requestEnv: ((environ: Environ) => Record<string, string>) | undefined;
  passEnv: string[];
  path: string;
  cwd: string | undefined;
  args: string[];
  isindexArgs: boolean;
  timeout: number;
  bodyLimit: number;
  runAs: RunAs | undefined;
  stderr: StderrSink;
  log: ((line: string) => void) | undefined;
  documentRoot: string | undefined;
  serverSoftware: string;
  dispatch: Application | undefined;
  maxRedirects: number;
  refuseFunctionValues: boolean;
  passAuthorization: boolean;
  nph: boolean;
  /** How scripts are started: the native addon or the spawner when available, else directly. */
  launcher: () => Launcher;
}

function chooseLauncher(mode: CgiOptions['spawner'], runAs: RunAs | undefined): () => Launcher {
  if (mode === 'direct') return () => directLauncher;
  if (mode === 'native') {
    const native = nativeLauncher();
    if (!native) throw new Error(`spawner: "native": ${nativeUnavailable()}`);
    return () => native;
  }
  if (mode === undefined || mode === 'auto') {
    const native = nativeLauncher();
    if (native) return () => native;
  }
  // Asked each time: a spawner that died is replaced on the next run.
  return () => {
    const spawner = spawnerFor(runAs);
    if (spawner) return spawner;
    if (mode === 'python') throw new Error('the CGI spawner needs /usr/bin/python3 (3.8 or later); use spawner: "direct" without it');
    return directLauncher;
  };
}

/** Which launcher `mode` starts scripts with on this machine (python: as long as one can be found). */
export function launcherKind(mode: CgiOptions['spawner']): LauncherKind {
  if (mode === 'direct') return 'direct';
  if (mode !== 'python' && nativeUnavailable() === undefined) return 'native';
  return spawnerPython() !== undefined ? 'python' : 'direct';
}

/** Which launcher `mode` starts scripts with on this machine, and why, for the start line. */
export function describeLauncher(mode: CgiOptions['spawner']): string {
  const kind = launcherKind(mode);
  const spawn = "Node's spawn (each script forks the whole server)";
  if (mode === 'direct') return `${spawn}, as --cgi-spawner direct asks`;
  const nativeProblem = mode === 'python' ? undefined : nativeUnavailable();
  if (kind === 'native') return 'the native launcher (built by npm install)';
  const why = nativeProblem === undefined ? 'as --cgi-spawner python asks' : `because ${nativeProblem}`;
  if (kind === 'python') return `the ${spawnerPython()} posix_spawn helper, ${why}`;
  return `${spawn}, ${why}, and no Python 3.8+ is installed for the posix_spawn helper`;
}

export function resolveSettings(options: CgiOptions, documentRoot: string | undefined): HostSettings {
  const runAs = resolveRunAs(options.user);
  // Once per process, for the first host whose launcher can lose track of a descendant.
  const warning = takeContainmentWarning(launcherKind(options.spawner));
  if (warning !== undefined) (options.log ?? ((line: string) => process.stderr.write(line + '\n')))(`tsgi: warning: ${warning}`);
  return {
    env: { ...options.env },
    requestEnv: options.requestEnv,
    passEnv: [...DEFAULT_INHERIT, ...(options.passEnv ?? [])],
    path: options.path ?? DEFAULT_PATH,
    cwd: options.cwd,
    args: [...(options.args ?? [])],
    isindexArgs: options.isindexArgs ?? false,
    timeout: options.timeout ?? DEFAULT_TIMEOUT,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    runAs,
    stderr: options.stderr ?? 'log',
    log: options.log,
    documentRoot: options.documentRoot ?? documentRoot,
    serverSoftware: options.serverSoftware ?? 'tsgi',
    dispatch: options.dispatch,
    maxRedirects: options.maxRedirects ?? DEFAULT_MAX_REDIRECTS,
    refuseFunctionValues: options.refuseFunctionValues ?? false,
    passAuthorization: options.passAuthorization ?? false,
    nph: options.nph ?? true,
    launcher: chooseLauncher(options.spawner, runAs),
  };
}

/** Writes one line to the host's log, or to the request's error stream. */
export function logLine(settings: Pick<HostSettings, 'log'>, environ: Environ, line: string): void {
  try {
    if (settings.log) settings.log(line);
    else environ['tsgi.errors'].write(line + '\n');
  } catch {
    // A broken log must not break the response.
  }
}
