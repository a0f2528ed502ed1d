#!/usr/bin/env node
/** The `tsgi` executable: dispatches to one command module per subcommand. */
import { readFileSync } from 'node:fs';
import { UsageError } from './commands/args.js';
import { reportFailure } from './commands/failure.js';
import { claimWorkerRole } from './commands/worker-process.js';

// Before anything runs that could start a program: it must inherit neither a worker's role nor its socket.
claimWorkerRole();

const help = `Usage: tsgi COMMAND [options]

Commands:
  run MODULE[:EXPORT]   serve an application (TSGI, Fetch handler or Node listener)
  serve [DIR]           serve a folder of static files, and CGI scripts with --cgi

Options:
  -h, --help            show this help
  -V, --version         print tsgi's version

Run "tsgi COMMAND --help" for a command's options.
`;

type Command = (argv: string[]) => Promise<void>;

const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./commands/run.js')).runCommand,
  serve: async () => (await import('./commands/serve.js')).serveCommand,
};

/** The version in tsgi's own package.json: dist/src/cli.js sits two folders below it. */
function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    // Nothing asked for is a usage mistake (exit 2), as with git or npm, so a script that forgot its command fails.
    process.stderr.write(help);
    process.exitCode = 2;
    return;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help);
    return;
  }
  if (name === '--version' || name === '-V' || name === '-v') {
    process.stdout.write(`tsgi ${version()}\n`);
    return;
  }
  const load = commands[name];
  if (!load) {
    const what = name.startsWith('-') ? `unknown option "${name}"` : `unknown command "${name}"`;
    throw new UsageError(`${what} (commands: ${Object.keys(commands).join(', ')}; see tsgi --help)`);
  }
  await (await load())(rest);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  reportFailure('tsgi', error);
  // A --workers worker's channel to its supervisor would keep it alive, neither serving nor dead, so never replaced.
  // The supervisor is told why first: it gives up, with this reason, on an application that cannot start.
  if (process.connected) {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
    process.send!({ tsgi: 'start-failed', reason }, () => process.exit());
  }
});
