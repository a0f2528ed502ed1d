/**
 * The RFC 3875 §4.1 meta-variables for a request, built clean from the environ: the one builder
 * behind both the CGI host (a child's process environment) and the FastCGI client (PARAMS).
 */
import type { Environ } from '../types.js';

export interface ScriptLocation {
  /** The script's URL path, percent-decoded, without PATH_INFO. */
  scriptName: string;
  pathInfo: string;
  /** Absolute file name of the program (empty when a responder finds its script itself). */
  filename: string;
}

export interface VariableSettings {
  /** Extra variables, set last (they win over the request's). */
  env: Record<string, string>;
  documentRoot: string | undefined;
  serverSoftware: string;
  /** Drops values that start like a bash function definition (Shellshock). */
  refuseFunctionValues: boolean;
  /** Passes HTTP_AUTHORIZATION on; otherwise only AUTH_TYPE and REMOTE_USER reach the script. */
  passAuthorization: boolean;
}

/** How a request's latin-1 text becomes a variable's value: as it is, or re-read for a child process. */
export type ValueText = (value: string) => string;

// Request headers that must not reach a script under their HTTP_ names, and are worth a log line.
const WITHHELD = new Set([
  'HTTP_PROXY', // httpoxy (CVE-2016-5386): clients would take it for the outbound proxy
  'HTTP_PROXY_AUTHORIZATION', 'HTTP_PROXY_CONNECTION',
]);
// The connection's own headers, and the body's, given as CONTENT_TYPE and CONTENT_LENGTH: never
// a script's business, and every chunked upload has one, so they go without a word.
const NOT_FOR_SCRIPTS = new Set([
  'HTTP_CONTENT_TYPE', 'HTTP_CONTENT_LENGTH',
  'HTTP_CONNECTION', 'HTTP_KEEP_ALIVE', 'HTTP_TRANSFER_ENCODING', 'HTTP_TE', 'HTTP_TRAILER', 'HTTP_UPGRADE',
]);

const NAME_PATTERN = /^HTTP_[A-Z0-9_]+$/;
// Header variable names repeat from request to request: each is checked once.
const validNames = new Set<string>();

function joinPath(root: string, pathInfo: string): string {
  return root.replace(/\/+$/, '') + pathInfo;
}

function str(environ: Environ, key: string): string | undefined {
  const value = environ[key];
  return typeof value === 'string' ? value : undefined;
}

const asIs: ValueText = (value) => value;

/**
 * Adds the request's variables to `target`; `contentLength` is CONTENT_LENGTH to announce,
 * undefined without a body. Returns what was withheld and why, for the log. Values carrying
 * NUL cannot be passed to exec (nor safely to a C responder) and are dropped too.
 */
export function addCgiVariables(
  target: Record<string, string>, environ: Environ, where: ScriptLocation, settings: VariableSettings,
  contentLength: number | undefined, text: ValueText = asIs,
): string[] {
  const env = target;
  const dropped: string[] = [];
  env.GATEWAY_INTERFACE = 'CGI/1.1';
  env.SERVER_SOFTWARE = str(environ, 'SERVER_SOFTWARE') || settings.serverSoftware;
  env.SERVER_NAME = environ.SERVER_NAME;
  env.SERVER_PORT = environ.SERVER_PORT;
  env.SERVER_PROTOCOL = environ.SERVER_PROTOCOL;
  env.REQUEST_METHOD = environ.REQUEST_METHOD;
  env.QUERY_STRING = text(environ.QUERY_STRING ?? '');
  env.SCRIPT_NAME = where.scriptName;
  env.PATH_INFO = where.pathInfo;
  env.SCRIPT_FILENAME = where.filename;
  if (where.pathInfo && settings.documentRoot) env.PATH_TRANSLATED = joinPath(settings.documentRoot, where.pathInfo);
  if (settings.documentRoot) env.DOCUMENT_ROOT = settings.documentRoot;
  const remoteAddr = str(environ, 'REMOTE_ADDR');
  if (remoteAddr) {
    env.REMOTE_ADDR = remoteAddr;
    env.REMOTE_HOST = str(environ, 'REMOTE_HOST') || remoteAddr;
  }
  const remotePort = str(environ, 'REMOTE_PORT');
  if (remotePort) env.REMOTE_PORT = remotePort;
  env.REQUEST_URI = text(str(environ, 'REQUEST_URI') ?? requestTarget(environ));
  // php-cgi refuses to run without it (its force-cgi-redirect guard).
  env.REDIRECT_STATUS = str(environ, 'REDIRECT_STATUS') ?? '200';
  if (environ['tsgi.url_scheme'] === 'https') env.HTTPS = 'on';
  const contentType = str(environ, 'CONTENT_TYPE');
  if (contentType) env.CONTENT_TYPE = text(contentType);
  if (contentLength !== undefined) env.CONTENT_LENGTH = String(contentLength);

  // Only what checked the credentials may say who the user is: an auth layer in front
  // (basicAuth) or the web server's own params. A client's Authorization header never does.
  const authType = str(environ, 'AUTH_TYPE');
  if (authType) env.AUTH_TYPE = authType;
  const user = str(environ, 'REMOTE_USER');
  if (user !== undefined) env.REMOTE_USER = user;

  for (const key of Object.keys(environ)) {
    if (!key.startsWith('HTTP_')) continue;
    const value = str(environ, key);
    if (value === undefined) continue;
    if (NOT_FOR_SCRIPTS.has(key)) continue;
    if (WITHHELD.has(key) || (key === 'HTTP_AUTHORIZATION' && !settings.passAuthorization)) {
      dropped.push(`${key} (withheld)`);
      continue;
    }
    if (!validNames.has(key)) {
      if (!NAME_PATTERN.test(key)) {
        dropped.push(`${key} (not a valid variable name)`);
        continue;
      }
      if (validNames.size < 1000) validNames.add(key);
    }
    env[key] = text(value);
  }
  for (const key in settings.env) env[key] = settings.env[key]!;

  for (const key in env) {
    const value = env[key]!;
    if (value.includes('\0') || key.includes('=') || key.includes('\0')) {
      delete env[key];
      dropped.push(`${key} (contains NUL or '=')`);
    } else if (settings.refuseFunctionValues && value.startsWith('() {')) {
      delete env[key];
      dropped.push(`${key} (looks like a shell function)`);
    }
  }
  return dropped;
}

function encodePath(path: string): string {
  return path.split('/').map((part) => encodeURIComponent(part)).join('/');
}

/** The request target, rebuilt when the front end gave no REQUEST_URI (RFC 3875 §3.3). */
function requestTarget(environ: Environ): string {
  const path = encodePath((environ.SCRIPT_NAME || '') + (environ.PATH_INFO || '')) || '/';
  return environ.QUERY_STRING ? `${path}?${environ.QUERY_STRING}` : path;
}
