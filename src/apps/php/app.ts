/**
 * `phpApp`: a PHP site as one Application, what Caddy's `php_fastcgi` does. Scripts go to a
 * FastCGI responder (a php-fpm pool at `address`, or php-cgi children tsgi starts itself with
 * `spawn`); every other file is served by tsgi's static file server, PHP source never.
 */
import { realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Application, Body, Environ, StartResponse } from '../../types.js';
import type { FastCgiClient, FastCgiClientOptions } from '../../gateways/fastcgi/client.js';
import type { Upstream } from '../../gateways/upstream.js';
import { makeForwarder } from '../fastcgi.js';
import type { ForwardingApplication } from '../fastcgi.js';
import { Refusal, rawPathProblem } from '../safe-path.js';
import { staticFiles } from '../static.js';
import { textResponse } from '../text-response.js';
import { routePhp } from './route.js';
import type { PhpRouteSettings } from './route.js';
import { spawnPhpCgi } from './spawn.js';
import type { PhpSpawnOptions } from './spawn.js';

export interface PhpAppOptions {
  /** The document root: scripts and static files. */
  root: string;
  /** A running php-fpm pool: `HOST:PORT` or a unix socket path. Give this or `spawn`. */
  address?: string | Upstream;
  /** Start php-cgi children (`true` for the defaults). Give this or `address`. */
  spawn?: PhpSpawnOptions | true;
  /** Scripts tried for a folder. Default ["index.php"]. */
  index?: string[];
  /** Where a path that names no file goes. Default "/index.php" (used when it exists); false for 404. */
  frontController?: string | false;
  /** Static folders are listed when they have no index. Default false. */
  listing?: boolean;
  /** Extra variables for every script. */
  env?: Record<string, string>;
  /** Pass the Authorization header to PHP ($_SERVER['PHP_AUTH_USER']). Default true, as php-fpm behind nginx or Caddy gets it. */
  passAuthorization?: boolean;
  bodyLimit?: number;
  client?: FastCgiClient;
  clientOptions?: FastCgiClientOptions;
  log?: (line: string) => void;
}

export function phpApp(options: PhpAppOptions): ForwardingApplication {
  const root = realpathSync(resolve(options.root));
  if (!statSync(root).isDirectory()) throw new Error(`PHP document root ${root} is not a folder`);
  if ((options.address === undefined) === (options.spawn === undefined)) {
    throw new TypeError('phpApp: give either address (a running php-fpm) or spawn (tsgi starts php-cgi), not both or neither');
  }
  const frontController = options.frontController ?? '/index.php';
  if (frontController !== false && !frontController.startsWith('/')) throw new TypeError(`phpApp: frontController ${JSON.stringify(frontController)} must start with /`);
  const route: PhpRouteSettings = { root, index: options.index ?? ['index.php'], frontController };
  const upstream = options.address ?? spawnPhpCgi(options.spawn === true ? {} : options.spawn!, options.log);
  const forwarder = makeForwarder({
    address: upstream,
    client: options.client,
    clientOptions: options.clientOptions,
    documentRoot: root,
    env: options.env,
    passAuthorization: options.passAuthorization ?? true,
    bodyLimit: options.bodyLimit,
    log: options.log,
  });
  const files: Application = staticFiles({ root, index: [], listing: options.listing ?? false });

  const app = ((environ: Environ, startResponse: StartResponse): Body | Promise<Body> => {
    const base = environ.SCRIPT_NAME || '';
    const found = rawPathProblem(environ) ?? routePhp(route, base, environ.PATH_INFO || '');
    if (found instanceof Refusal) {
      if (found.status !== 404) {
        const line = `php: ${environ.REQUEST_METHOD} ${base + (environ.PATH_INFO || '')} refused (${found.status}): ${found.reason}`;
        if (options.log) options.log(line);
        else environ['tsgi.errors'].write(line + '\n');
      }
      return textResponse(startResponse, found.status, found.status === 404 ? 'Not Found' : found.reason);
    }
    if (found.kind === 'static') return files(environ, startResponse);
    if (found.kind === 'redirect') {
      const query = environ.QUERY_STRING ? `?${environ.QUERY_STRING}` : '';
      return textResponse(startResponse, 308, `See ${found.location}`, [['Location', encodeURI(found.location) + query]]);
    }
    return forwarder.forward(environ, startResponse, found.location);
  }) as ForwardingApplication;
  app.close = () => forwarder.close();
  return app;
}
