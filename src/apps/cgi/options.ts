/** Options shared by cgiHost and cgiScript, and their safe defaults. */
import type { Application, Environ } from '../../types.js';

/** Where a script's stderr lines go: the request's log (default), the server's own stderr, nowhere, or a function. */
export type StderrSink = 'log' | 'inherit' | 'ignore' | ((line: string, script: string) => void);

export interface CgiOptions {
  /** Extra variables for every script; they win over everything else (last wins). */
  env?: Record<string, string>;
  /** Names of the server's own environment variables a script may see (besides PATH). */
  passEnv?: string[];
  /** PATH for scripts. Default `/usr/local/bin:/usr/bin:/bin`. */
  path?: string;
  /** Working directory; default the script's own folder (RFC 3875 §7.2). */
  cwd?: string;
  /** Fixed command-line arguments. */
  args?: string[];
  /**
   * RFC 3875 §4.4 "isindex" argv: a query without `=` becomes `+`-split words. Off by default;
   * when on, a query with any word starting with `-` gives no arguments at all (CVE-2012-1823).
   */
  isindexArgs?: boolean;
  /** Wall-clock limit per script run in milliseconds; the process group is killed (504). Default 120 000. */
  timeout?: number;
  /** Largest request body in bytes (413 beyond it). Default 1 GiB. */
  bodyLimit?: number;
  /**
   * User to run scripts as: a name, a uid, or null to run as the server's own user.
   * Default: `nobody` when the server runs as root, else the server's user.
   */
  user?: string | number | null;
  /** Where stderr goes. */
  stderr?: StderrSink;
  /**
   * Variables for one request's script, read from its environ, set after the CGI variables
   * and before `env`. scriptFilenameHost passes the web server's own FastCGI params this way,
   * as fcgiwrap does (`fastcgi_param GIT_PROJECT_ROOT /srv/git;`).
   */
  requestEnv?: (environ: Environ) => Record<string, string>;
  /** Where the host's own messages go; default the request's `tsgi.errors`. */
  log?: (line: string) => void;
  /** The value of DOCUMENT_ROOT and the base of PATH_TRANSLATED. */
  documentRoot?: string;
  /** SERVER_SOFTWARE when the front end gives none. */
  serverSoftware?: string;
  /**
   * The application a local redirect (`Location: /path` without Status) is re-dispatched to,
   * as a GET, usually the whole site. Default: this host, when the path lies under its mount.
   */
  dispatch?: Application;
  /** Most local redirects one request may follow. Default 10. */
  maxRedirects?: number;
  /** Drop variables whose value starts with `() {` (bash function import, Shellshock). Default false. */
  refuseFunctionValues?: boolean;
  /** Pass HTTP_AUTHORIZATION to scripts (RFC 3875 §4.1.18 advises against it). Default false. */
  passAuthorization?: boolean;
  /** Treat scripts whose name starts with `nph-` as non-parsed-header scripts. Default true. */
  nph?: boolean;
  /**
   * How scripts are started. 'auto' (default): the native addon when `npm install` built it,
   * else a small Python helper (posix_spawn) when /usr/bin/python3 3.8+ exists, else directly.
   * 'native', 'python': only that one (an error at startup when it is missing); 'direct':
   * Node's own spawn, which forks the whole server per script. See docs/cgi-host.md.
   */
  spawner?: 'auto' | 'native' | 'python' | 'direct';
  /**
   * File extensions (".js", ".mjs", ".py") whose scripts are kept running as FastCGI children
   * instead of started per request: the script gets a listening socket on fd 0, as
   * `runCgi(app)` (and fcgi_stdio, CGI::Fast) recognise. Default none.
   */
  persistent?: string[];
  /** Children per persistent script, started as requests need them. Default: the number of cores. */
  persistentChildren?: number;
  /** Requests a persistent child serves before it is replaced; 0 for no limit. Default 0. */
  persistentMaxRequests?: number;
}

export const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';
export const DEFAULT_TIMEOUT = 120_000;
export const DEFAULT_BODY_LIMIT = 1024 ** 3;
export const DEFAULT_MAX_REDIRECTS = 10;
// The dynamic loader's variables: a script that cannot find its libraries fails in confusing ways.
export const DEFAULT_INHERIT = ['LD_LIBRARY_PATH', 'TZ'];
