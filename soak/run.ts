/**
 * `npm run soak`: the fault and load scenarios, one after another, each against the servers
 * it concerns; prints every figure as it comes and exits 1 if an invariant did not hold.
 * `node dist/soak/run.js slowloris uploads` runs those whose name contains an argument.
 * Every process a scenario starts is stopped in its finally block, and by an exit hook if the
 * run dies anyway.
 */
import { loadavg } from 'node:os';
import { Report } from './report.js';
import { scenarios } from './scenarios.js';

const filters = process.argv.slice(2);
const chosen = scenarios.filter(({ name }) => filters.length === 0 || filters.some((filter) => name.includes(filter)));
if (chosen.length === 0) {
  console.error(`no scenario matches ${filters.join(' ')} (scenarios: ${scenarios.map(({ name }) => name).join(', ')})`);
  process.exit(2);
}
const load = () => loadavg().map((value) => value.toFixed(2)).join(' ');
console.log(`tsgi soak: ${chosen.map(({ name }) => name).join(', ')}`);
console.log(`Figures are taken on this machine as it is (load average ${load()}): other work lowers them; the checks are counts and ratios with margins.`);
const failed: string[] = [];
const started = Date.now();
for (const scenario of chosen) {
  console.log(`\n## ${scenario.name}: ${scenario.title}`);
  const report = new Report((line) => console.log(line));
  const began = Date.now();
  try {
    await scenario.full(report);
  } catch (error) {
    report.check(false, `the scenario ran to its end (${(error as Error).stack ?? String(error)})`);
  }
  console.log(`  (${((Date.now() - began) / 1000).toFixed(0)} s, load average ${load()})`);
  for (const failure of report.failures) failed.push(`${scenario.name}: ${failure.what}`);
}
console.log(`\n${failed.length === 0 ? 'all checks held' : `${failed.length} check(s) failed:\n  ${failed.join('\n  ')}`} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
process.exit(failed.length === 0 ? 0 : 1);
