/** Turns a TSGI environ into an RFC 3875 §4 process environment, built clean (never the server's own). */
import type { Environ } from '../../types.js';

export interface ScriptLocation {
  /** The script's URL path, percent-decoded, without PATH_INFO. */
  scriptName: string;
  pathInfo: string;
  /** Absolute file name of the program. */
  filename: string;
}

export interface EnvironmentSettings {
  path: string;
  inheritEnv: readonly string[];
  env: Record<string, string>;
  documentRoot: string | undefined;
  serverSoftware: string;
  refuseFunctionValues: boolean;
  passAuthorization: boolean;
}

// Request headers that must not reach a script under their HTTP_ names.
const WITHHELD = new Set([
  'HTTP_PROXY', // httpoxy (CVE-2016-5386): clients would take it for the outbound proxy
  'HTTP_CONTENT_TYPE', // given as CONTENT_TYPE
  'HTTP_CONTENT_LENGTH', // given as CONTENT_LENGTH
  'HTTP_CONNECTION', 'HTTP_KEEP_ALIVE', 'HTTP_TRANSFER_ENCODING', 'HTTP_TE', 'HTTP_TRAILER', 'HTTP_UPGRADE',
  'HTTP_PROXY_AUTHORIZATION', 'HTTP_PROXY_CONNECTION',
]);

const NAME_PATTERN = /^HTTP_[A-Z0-9_]+$/;
// Header variable names repeat from request to request: each is checked once.
const validNames = new Set<string>();

function basicUser(authorization: string): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(0, colon);
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

function joinPath(root: string, pathInfo: string): string {
  return root.replace(/\/+$/, '') + pathInfo;
}

function str(environ: Environ, key: string): string | undefined {
  const value = environ[key];
  return typeof value === 'string' ? value : undefined;
}

/**
 * The child's environment; `contentLength` is CONTENT_LENGTH to announce, undefined without a
 * body. `dropped` names what was withheld and why, for the log. Values carrying NUL cannot be
 * passed to exec and are dropped too.
 */
export function buildEnvironment(environ: Environ, where: ScriptLocation, settings: EnvironmentSettings, contentLength: number | undefined): { env: Record<string, string>; dropped: string[] } {
  const env: Record<string, string> = { PATH: settings.path };
  const dropped: string[] = [];
  for (const name of settings.inheritEnv) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }

  env.GATEWAY_INTERFACE = 'CGI/1.1';
  env.SERVER_SOFTWARE = str(environ, 'SERVER_SOFTWARE') || settings.serverSoftware;
  env.SERVER_NAME = environ.SERVER_NAME;
  env.SERVER_PORT = environ.SERVER_PORT;
  env.SERVER_PROTOCOL = environ.SERVER_PROTOCOL;
  env.REQUEST_METHOD = environ.REQUEST_METHOD;
  env.QUERY_STRING = requestBytes(environ.QUERY_STRING ?? '');
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
  env.REQUEST_URI = requestBytes(str(environ, 'REQUEST_URI') ?? requestTarget(environ));
  // php-cgi refuses to run without it (its force-cgi-redirect guard).
  env.REDIRECT_STATUS = str(environ, 'REDIRECT_STATUS') ?? '200';
  if (environ['tsgi.url_scheme'] === 'https') env.HTTPS = 'on';
  const contentType = str(environ, 'CONTENT_TYPE');
  if (contentType) env.CONTENT_TYPE = requestBytes(contentType);
  if (contentLength !== undefined) env.CONTENT_LENGTH = String(contentLength);

  const authorization = str(environ, 'HTTP_AUTHORIZATION');
  if (str(environ, 'AUTH_TYPE')) env.AUTH_TYPE = str(environ, 'AUTH_TYPE')!;
  else if (authorization) env.AUTH_TYPE = authorization.trim().split(/\s+/, 1)[0]!;
  const user = str(environ, 'REMOTE_USER') ?? (authorization ? basicUser(authorization) : undefined);
  if (user !== undefined) env.REMOTE_USER = user;

  for (const key of Object.keys(environ)) {
    if (!key.startsWith('HTTP_')) continue;
    const value = str(environ, key);
    if (value === undefined) continue;
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
    env[key] = requestBytes(value);
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
  return { env, dropped };
}

function encodePath(path: string): string {
  return path.split('/').map((part) => encodeURIComponent(part)).join('/');
}

/** The request target, rebuilt when the front end gave no REQUEST_URI (RFC 3875 §3.3). */
function requestTarget(environ: Environ): string {
  const path = encodePath((environ.SCRIPT_NAME || '') + (environ.PATH_INFO || '')) || '/';
  return environ.QUERY_STRING ? `${path}?${environ.QUERY_STRING}` : path;
}
