/** How a command-line program of tsgi's reports the error that ended it: one line unless it is a bug. */
import { UsageError } from './args.js';

/** Writes `error` to stderr as `program: message` and sets the exit code: 2 for usage, 1 otherwise. */
export function reportFailure(program: string, error: unknown): void {
  if (error instanceof UsageError) {
    process.stderr.write(`${program}: ${error.message}\n`);
    process.exitCode = 2;
  } else if (error instanceof Error && 'syscall' in error) {
    // A refused system call (port in use, unknown host) is the machine's answer, not a bug: no stack trace.
    process.stderr.write(`${program}: ${error.message}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`${program}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
