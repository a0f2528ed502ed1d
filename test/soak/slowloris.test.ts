import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Report } from '../../soak/report.js';
import { slowloris, SHORT } from '../../soak/slowloris.js';

// The soak scenario at reduced scale (npm run soak runs it in full): the same invariants.
it('keeps 80 % of the honest rate under 1,000 slowloris connections (tsgi run, tsgi serve --cgi, nginx + FastCGI workers)', async () => {
  const lines: string[] = [];
  const report = new Report((line) => lines.push(line));
  await slowloris(report, SHORT);
  assert.equal(report.checks.length > 0, true);
  assert.deepEqual(report.failures, [], lines.join('\n'));
});
