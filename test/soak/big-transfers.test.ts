import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Report } from '../../soak/report.js';
import { bigTransfers, SHORT } from '../../soak/big-transfers.js';

// The soak scenario at reduced scale (npm run soak runs it in full): the same invariants.
it('keeps every process under 100 MB RSS through a large upload and a large response under --workers 2', async () => {
  const lines: string[] = [];
  const report = new Report((line) => lines.push(line));
  await bigTransfers(report, SHORT);
  assert.equal(report.checks.length > 0, true);
  assert.deepEqual(report.failures, [], lines.join('\n'));
});
