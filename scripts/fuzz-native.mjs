#!/usr/bin/env node
/**
 * Coverage-guided fuzzing of the native launcher's value parsing with libFuzzer (clang's
 * -fsanitize=fuzzer, with AddressSanitizer and UBSan): `node scripts/fuzz-native.mjs [SECONDS]`.
 * Builds build/fuzz/env-block, runs it for SECONDS (default 60) on a corpus kept in
 * build/fuzz/corpus, and exits non-zero with the crashing input's path when it finds one.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(process.argv[2] ?? 60);
if (!Number.isFinite(seconds) || seconds <= 0) {
  console.error(`fuzz-native: SECONDS must be a positive number, got ${process.argv[2]}`);
  process.exit(2);
}
const out = join(root, 'build', 'fuzz');
const corpus = join(out, 'corpus');
mkdirSync(corpus, { recursive: true });
// Seeds: what the CGI host sends (NAME=value entries each ended by NUL), and the edges.
const seeds = { typical: 'PATH=/usr/bin\0GATEWAY_INTERFACE=CGI/1.1\0QUERY_STRING=a=1\0', empty: '', unended: 'A=1\0B=2', nuls: '\0\0\0' };
for (const [name, text] of Object.entries(seeds)) writeFileSync(join(corpus, `seed-${name}`), text);

const binary = join(out, 'env-block');
const build = spawnSync('clang', ['-g', '-O1', '-fsanitize=fuzzer,address,undefined', '-fno-sanitize-recover=all',
  join(root, 'native', 'env-block.c'), join(root, 'native', 'fuzz', 'env-block-fuzz.c'), '-o', binary], { encoding: 'utf8' });
if (build.error || build.status !== 0) {
  console.error(`fuzz-native: building with clang failed (apt-get install clang): ${build.error?.message ?? build.stderr}`);
  process.exit(2);
}
const run = spawnSync(binary, [`-max_total_time=${seconds}`, '-max_len=4096', `-artifact_prefix=${out}/`, '-print_final_stats=1', corpus], { encoding: 'utf8' });
const stats = /stat::number_of_executed_units:\s*(\d+)/.exec(run.stderr)?.[1];
const coverage = /cov: (\d+)/g;
let edges;
for (let match; (match = coverage.exec(run.stderr));) edges = match[1];
if (run.status !== 0) {
  const crash = /Test unit written to (\S+)/.exec(run.stderr)?.[1];
  console.error(run.stderr.split('\n').slice(-40).join('\n'));
  console.error(`fuzz-native: env-block FAILED after ${stats ?? '?'} runs${crash ? `; the input is in ${crash}` : ''}`);
  process.exit(1);
}
console.log(`fuzz-native: env-block: ${stats} runs in ${seconds} s, ${edges ?? '?'} coverage edges, no crash`);
