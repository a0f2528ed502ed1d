/**
 * Persistent CGI scripts (`persistent: ['.js']`, `tsgi serve --cgi --persistent .js`): each
 * such script is started by a FastCGI process manager on first use and kept warm, so a script
 * that calls `runCgi(app)` serves request after request; the others still run per request.
 * A TypeScript script's children run `node COMPILED`, the module tsgi's cache holds for it;
 * when the cache compiles it again (the source or a file it imports changed), the process
 * manager replaces them between requests, so the next request runs the new code.
 */
import { statSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import { HttpError } from '../../handler.js';
import type { Body, Chunk, Environ, StartResponse } from '../../types.js';
import { FastCgiClient } from '../../gateways/fastcgi/client.js';
import { FastCgiProcessManager } from '../../gateways/fastcgi/process-manager.js';
import type { ChildProgram } from '../../gateways/fastcgi/process-manager.js';
import { makeForwarder } from '../fastcgi.js';
import type { Forwarder } from '../fastcgi.js';
import { textResponse } from '../text-response.js';
import { baseEnvironment } from './environment.js';
import type { ProgramLocation } from './environment.js';
import type { CgiOptions } from './options.js';
import { logLine } from './settings.js';
import type { HostSettings } from './settings.js';
import { typescriptProgram } from './typescript.js';

export interface PersistentScripts {
  handles(filename: string): boolean;
  forward(environ: Environ, startResponse: StartResponse, where: ProgramLocation): Body;
  close(): Promise<void>;
}

interface KeptScript {
  manager: FastCgiProcessManager;
  forwarder: Forwarder;
  /** For a TypeScript script, which compile of it the children run: the compiled file's inode and mtime. */
  build?: string;
}

/** A compiled file is replaced whole by each compile (a rename): a new inode, a new mtime. */
function buildOf(file: string): string | undefined {
  const info = statSync(file, { throwIfNoEntry: false });
  return info ? `${info.ino}:${info.mtimeMs}` : undefined;
}

export function persistentScripts(settings: HostSettings, options: CgiOptions): PersistentScripts | undefined {
  const extensions = (options.persistent ?? []).map((ext) => (ext.startsWith('.') ? ext : '.' + ext).toLowerCase());
  if (extensions.length === 0) return undefined;
  const client = new FastCgiClient({ log: settings.log });
  const scripts = new Map<string, KeptScript>();
  // The process environment a per-request run would get, less the request's own variables.
  const processEnv = (): Record<string, string> => ({ ...baseEnvironment(settings), ...settings.env });
  const scriptFor = (filename: string, program: ChildProgram): KeptScript => {
    let script = scripts.get(filename);
    if (!script) {
      const manager = new FastCgiProcessManager({
        ...program,
        env: processEnv(),
        cwd: settings.cwd ?? dirname(filename),
        user: settings.runAs?.uid ?? null,
        children: options.persistentChildren,
        maxRequests: options.persistentMaxRequests,
        name: filename,
        log: settings.log,
      });
      const forwarder = makeForwarder({
        address: manager,
        client,
        documentRoot: settings.documentRoot,
        env: settings.env,
        passAuthorization: settings.passAuthorization,
        bodyLimit: settings.bodyLimit,
        serverSoftware: settings.serverSoftware,
        log: settings.log,
      });
      script = { manager, forwarder };
      scripts.set(filename, script);
    }
    return script;
  };

  /** Forwards to the children running `compiled`, replacing those that run an older compile. */
  const forwardCompiled = (environ: Environ, startResponse: StartResponse, where: ProgramLocation, compiled: string): Body => {
    const program = { command: process.execPath, args: [compiled, ...settings.args] };
    const script = scriptFor(where.filename, program);
    const build = buildOf(compiled);
    if (script.build === undefined) {
      script.build = build;
    } else if (build !== script.build) {
      script.build = build;
      script.manager.renew(program);
      logLine(settings, environ, `cgi ${where.scriptName}: compiled again: its children are replaced, between requests`);
    }
    return script.forwarder.forward(environ, startResponse, where);
  };

  const forwardTypeScript = (environ: Environ, startResponse: StartResponse, where: ProgramLocation): Body => {
    const log = (message: string) => logLine(settings, environ, `cgi ${where.scriptName}: ${message}`);
    let compiling: string | Promise<string>;
    try {
      compiling = typescriptProgram(where, settings, log);
    } catch (error) {
      if (error instanceof HttpError) return textResponse(startResponse, error.status, error.message);
      throw error;
    }
    // Up to date, the common case: no generator in between.
    if (typeof compiling === 'string') return forwardCompiled(environ, startResponse, where, compiling);
    let inner: Body | undefined;
    let closed = false;
    return {
      async *[Symbol.asyncIterator](): AsyncGenerator<Chunk, void, undefined> {
        let compiled: string;
        try {
          compiled = await compiling;
        } catch (error) {
          // Answered as a script run per request is: 502, the place of the mistake in the log.
          if (error instanceof HttpError) return yield* textResponse(startResponse, error.status, error.message) as Chunk[];
          throw error;
        }
        if (closed) return;
        inner = forwardCompiled(environ, startResponse, where, compiled);
        yield* inner as AsyncIterable<Chunk>;
      },
      close: () => {
        closed = true;
        return inner?.close?.();
      },
    };
  };

  return {
    handles: (filename) => extensions.includes(extname(filename).toLowerCase()),
    forward: (environ, startResponse, where) => where.typescript
      ? forwardTypeScript(environ, startResponse, where)
      : scriptFor(where.filename, { command: where.filename, args: settings.args }).forwarder.forward(environ, startResponse, where),
    async close() {
      await Promise.all([...scripts.values()].map((script) => script.forwarder.close()));
      scripts.clear();
      client.close();
    },
  };
}
