#!/usr/bin/env node
// The file npm links as the `tsgi` command. It is committed, not built, because npm links a
// bin only if its file exists when the package is installed: pointing `bin` at dist/ left
// `npx tsgi` in a fresh clone with no link ("tsgi: not found") even after the build.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/src/cli.js', import.meta.url);
if (existsSync(cli)) {
  await import(cli.href);
} else {
  const root = fileURLToPath(new URL('..', import.meta.url));
  process.stderr.write(`tsgi: not built yet: run "npm run build" in ${root}\n`);
  process.exitCode = 1;
}
