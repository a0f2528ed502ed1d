/**
 * Runs every benchmark (dist/bench/*.bench.js), or those whose name contains an argument,
 * one after another in child processes so one benchmark's heap never skews the next.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((name) => name.endsWith('.bench.js'))
  .filter((name) => filters.length === 0 || filters.some((f) => name.includes(f)))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matches ${filters.join(' ')}`);
  process.exit(2);
}
let failed = 0;
for (const file of files) {
  console.log(`\n## ${file.replace(/\.bench\.js$/, '')}`);
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS; // adds ~100 ms to every node start here (DESIGN.md)
  const result = spawnSync(process.execPath, [join(here, file)], { stdio: 'inherit', env });
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
