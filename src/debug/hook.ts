/**
 * The meeting point of runCgi and cgitb. runCgi must stay cheap to import, so it never loads
 * cgitb; cgitb.enable() registers itself here and runCgi asks whether anyone is listening.
 */
import type { Body, Environ, StartResponse } from '../types.js';

export interface CrashReporter {
  /** Answers an error raised before any header went out, through startResponse with excInfo. */
  respond(error: unknown, environ: Environ, startResponse: StartResponse): Body;
  /** Reports an error raised after output began, by writing straight to stdout. */
  reportAfterOutput(error: unknown): Promise<void>;
}

const KEY = Symbol.for('tsgi.cgitb.reporter');
type Holder = { [KEY]?: CrashReporter };

export function setCrashReporter(reporter: CrashReporter | undefined): void {
  (globalThis as Holder)[KEY] = reporter;
}

export function crashReporter(): CrashReporter | undefined {
  return (globalThis as Holder)[KEY];
}
