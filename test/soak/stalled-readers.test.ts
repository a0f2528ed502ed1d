import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Report } from '../../soak/report.js';
import { stalledReaders, SHORT } from '../../soak/stalled-readers.js';

// The soak scenario at reduced scale (npm run soak runs it in full): the same invariants.
it('lets go of clients that stop reading mid-response, and of their CGI scripts, within the send timeout', async () => {
  const lines: string[] = [];
  const report = new Report((line) => lines.push(line));
  await stalledReaders(report, SHORT);
  assert.equal(report.checks.length > 0, true);
  assert.deepEqual(report.failures, [], lines.join('\n'));
});
