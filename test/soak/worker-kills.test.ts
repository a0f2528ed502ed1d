import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Report } from '../../soak/report.js';
import { workerKills, SHORT } from '../../soak/worker-kills.js';

// The soak scenario at reduced scale (npm run soak runs it in full): the same invariants.
it('answers right or 502 while a FastCGI worker is SIGKILLed every second behind nginx', async () => {
  const lines: string[] = [];
  const report = new Report((line) => lines.push(line));
  await workerKills(report, SHORT);
  assert.equal(report.checks.length > 0, true);
  assert.deepEqual(report.failures, [], lines.join('\n'));
});
