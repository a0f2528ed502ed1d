/**
 * TypeScript CGI scripts: the host compiles a `.ts` script (and the local files it imports)
 * once, keeps the module in tsgi's cache, and runs `node COMPILED` for each request, so a
 * script needs neither a build step, a shebang, nor a loader that would start on every request.
 * While the source is unchanged a request costs a few stat calls, and no await.
 */
import { HttpError } from '../../handler.js';
import { CompileError, CompilerMissing, compiledModule } from '../../typescript/compiled-module.js';
import type { ProgramLocation } from './environment.js';
import type { HostSettings } from './settings.js';

// Asked once: process.getuid() costs a persistent script's request a few per cent (tsgi never changes its user).
const OWN_UID = process.getuid?.();

/** The node and module that run a TypeScript script, or an HttpError (502) with the reason logged. */
export function typescriptProgram(location: ProgramLocation, settings: HostSettings, log: (message: string) => void): string | Promise<string> {
  // Scripts that run as another user cannot read a cache in tsgi's home folder.
  const forOtherUser = settings.runAs !== undefined && settings.runAs.uid !== OWN_UID;
  let compiled: string | Promise<string>;
  try {
    compiled = compiledModule(location.filename, { forOtherUser });
  } catch (error) {
    throw failure(error, location, log);
  }
  return typeof compiled === 'string' ? compiled : compiled.catch((error: unknown) => { throw failure(error, location, log); });
}

function failure(error: unknown, location: ProgramLocation, log: (message: string) => void): unknown {
  if (!(error instanceof CompileError) && !(error instanceof CompilerMissing)) return error;
  const lines = error.message.split('\n');
  log(`could not be compiled: ${lines[0]}`);
  for (const line of lines.slice(1)) log(line);
  // The details stay in the log: they show source lines and paths.
  const why = error instanceof CompilerMissing ? 'esbuild, which compiles TypeScript, is not installed' : 'it has errors';
  return new HttpError(502, `Bad Gateway: the CGI script ${location.scriptName} could not be compiled: ${why} (see the server log).`);
}
