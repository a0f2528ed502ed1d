/**
 * Persistent CGI scripts (`persistent: ['.js']`, `tsgi serve --cgi --persistent .js`): each
 * such script is started by a FastCGI process manager on first use and kept warm, so a script
 * that calls `runCgi(app)` serves request after request; the others still run per request.
 */
import { dirname, extname } from 'node:path';
import type { Body, Environ, StartResponse } from '../../types.js';
import type { ScriptLocation } from '../../gateways/cgi-variables.js';
import { FastCgiClient } from '../../gateways/fastcgi/client.js';
import { FastCgiProcessManager } from '../../gateways/fastcgi/process-manager.js';
import { makeForwarder } from '../fastcgi.js';
import type { Forwarder } from '../fastcgi.js';
import { isTypeScript } from '../../typescript/files.js';
import { baseEnvironment } from './environment.js';
import type { CgiOptions } from './options.js';
import type { HostSettings } from './settings.js';

export interface PersistentScripts {
  handles(filename: string): boolean;
  forward(environ: Environ, startResponse: StartResponse, where: ScriptLocation): Body;
  close(): Promise<void>;
}

export function persistentScripts(settings: HostSettings, options: CgiOptions): PersistentScripts | undefined {
  const extensions = (options.persistent ?? []).map((ext) => (ext.startsWith('.') ? ext : '.' + ext).toLowerCase());
  if (extensions.length === 0) return undefined;
  const typescript = extensions.find((ext) => isTypeScript('x' + ext));
  // Their FastCGI children would be started as programs, not through node on the compiled module.
  if (typescript !== undefined) throw new Error(`persistent: TypeScript scripts (${typescript}) are not kept running; build them to .js and list .js`);
  const client = new FastCgiClient({ log: settings.log });
  const scripts = new Map<string, Forwarder>();
  // The process environment a per-request run would get, less the request's own variables.
  const processEnv = (): Record<string, string> => ({ ...baseEnvironment(settings), ...settings.env });
  const forwarderFor = (filename: string): Forwarder => {
    let forwarder = scripts.get(filename);
    if (!forwarder) {
      const manager = new FastCgiProcessManager({
        command: filename,
        args: settings.args,
        env: processEnv(),
        cwd: settings.cwd ?? dirname(filename),
        user: settings.runAs?.uid ?? null,
        children: options.persistentChildren,
        maxRequests: options.persistentMaxRequests,
        name: filename,
        log: settings.log,
      });
      forwarder = makeForwarder({
        address: manager,
        client,
        documentRoot: settings.documentRoot,
        env: settings.env,
        passAuthorization: settings.passAuthorization,
        bodyLimit: settings.bodyLimit,
        serverSoftware: settings.serverSoftware,
        log: settings.log,
      });
      scripts.set(filename, forwarder);
    }
    return forwarder;
  };
  return {
    handles: (filename) => extensions.includes(extname(filename).toLowerCase()),
    forward: (environ, startResponse, where) => forwarderFor(where.filename).forward(environ, startResponse, where),
    async close() {
      await Promise.all([...scripts.values()].map((forwarder) => forwarder.close()));
      scripts.clear();
      client.close();
    },
  };
}
