#!/usr/bin/env node
/** The `tsgi` executable: dispatches to one command module per subcommand. */
import { UsageError } from './commands/args.js';

const help = `Usage: tsgi COMMAND [options]

Commands:
  run MODULE[:EXPORT]   serve a TSGI application
  serve [DIR]           serve a folder of static files, and CGI scripts with --cgi

Run "tsgi COMMAND --help" for a command's options.
`;

type Command = (argv: string[]) => Promise<void>;

const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./commands/run.js')).runCommand,
  serve: async () => (await import('./commands/serve.js')).serveCommand,
};

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help);
    return;
  }
  const load = commands[name];
  if (!load) throw new UsageError(`unknown command "${name}" (try: ${Object.keys(commands).join(', ')})`);
  await (await load())(rest);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`tsgi: ${error.message}\n`);
    process.exitCode = 2;
  } else if (error instanceof Error && 'syscall' in error) {
    // A refused system call (port in use, unknown host) is the machine's answer, not a bug: no stack trace.
    process.stderr.write(`tsgi: ${error.message}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`tsgi: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
  // A --workers worker's channel to its supervisor would keep it alive, neither serving nor dead, so never replaced.
  // The supervisor is told why first: it gives up, with this reason, on an application that cannot start.
  if (process.connected) {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
    process.send!({ tsgi: 'start-failed', reason }, () => process.exit());
  }
});
