import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Report } from '../../soak/report.js';
import { abortedUploads, SHORT } from '../../soak/aborted-uploads.js';

// The soak scenario at reduced scale (npm run soak runs it in full): the same invariants.
it('leaves no temp file, descriptor or zombie after uploads aborted at random points, RSS bounded', async () => {
  const lines: string[] = [];
  const report = new Report((line) => lines.push(line));
  await abortedUploads(report, SHORT);
  assert.equal(report.checks.length > 0, true);
  assert.deepEqual(report.failures, [], lines.join('\n'));
});
