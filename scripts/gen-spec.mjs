#!/usr/bin/env node
// Regenerates the rule list of docs/SPEC.md from the `///` comments of src/validate.ts
// (Rack keeps SPEC and Lint together the same way). `npm run spec` writes the file;
// `node scripts/gen-spec.mjs --check` only says whether it is up to date.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BEGIN = '<!-- rules:begin (generated from src/validate.ts by `npm run spec`; edit the /// comments there) -->';
export const END = '<!-- rules:end -->';

const RULE_ITEM = /^- `([a-z]+\.[a-z0-9-]+)` /;
const RULE_CHECK = /\bfail\(\s*'([a-z]+\.[a-z0-9-]+)'/g;

/** The `///` comments of a source file as markdown, and the rule ids they define. */
export function extractRules(source) {
  const lines = [];
  const documented = [];
  for (const line of source.split('\n')) {
    const match = /^\s*\/\/\/(?: (.*))?$/.exec(line);
    if (!match) continue;
    const text = (match[1] ?? '').trimEnd();
    // A heading needs a blank line above it to stay a heading.
    if (text.startsWith('#') && lines.length > 0 && lines[lines.length - 1] !== '') lines.push('');
    lines.push(text);
    const rule = RULE_ITEM.exec(text);
    if (rule) documented.push(rule[1]);
  }
  const checked = new Set([...source.matchAll(RULE_CHECK)].map((m) => m[1]));
  const problems = [];
  const seen = new Set();
  for (const id of documented) {
    if (seen.has(id)) problems.push(`rule ${id} is documented twice`);
    seen.add(id);
    if (!checked.has(id)) problems.push(`rule ${id} is documented but no fail('${id}', …) enforces it`);
  }
  for (const id of checked) if (!seen.has(id)) problems.push(`fail('${id}', …) has no /// rule item documenting it`);
  const markdown = lines.join('\n').replace(/\n{3,}/g, '\n\n').trim() + '\n';
  return { markdown, ids: documented, problems };
}

/** The spec text with its generated section replaced by the rules of `source`. */
export function renderSpec(spec, source) {
  const { markdown, problems } = extractRules(source);
  if (problems.length > 0) throw new Error(`src/validate.ts:\n  ${problems.join('\n  ')}`);
  const begin = spec.indexOf(BEGIN);
  const end = spec.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`docs/SPEC.md has no ${BEGIN} … ${END} section`);
  return spec.slice(0, begin + BEGIN.length) + '\n\n' + markdown + '\n' + spec.slice(end);
}

function main() {
  const root = new URL('../', import.meta.url);
  const specPath = fileURLToPath(new URL('docs/SPEC.md', root));
  const source = readFileSync(new URL('src/validate.ts', root), 'utf8');
  const spec = readFileSync(specPath, 'utf8');
  const next = renderSpec(spec, source);
  if (process.argv.includes('--check')) {
    if (next !== spec) {
      console.error('docs/SPEC.md is out of date with src/validate.ts: run npm run spec');
      process.exit(1);
    }
    console.log('docs/SPEC.md is up to date');
    return;
  }
  if (next !== spec) writeFileSync(specPath, next);
  console.log(next !== spec ? 'docs/SPEC.md updated' : 'docs/SPEC.md is up to date');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
