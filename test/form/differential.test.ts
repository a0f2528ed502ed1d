/**
 * Differential tests: every body of the corpus is parsed by Python's own cgi module and by tsgi,
 * and the results are compared field by field. Cases marked `differs` are where tsgi departs
 * from Python on purpose; for those the test checks that the difference is really there.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { curlCases, staticCases, type Case } from '../helpers/form-corpus.js';
import { normalize, runCase, type Dump } from '../helpers/form-dump.js';

const root = new URL('../../../', import.meta.url);
const oracle = fileURLToPath(new URL('test/fixtures/form/cgi_dump.py', root));

function runPython(cases: Case[]): Record<string, Dump> {
  const input = JSON.stringify(cases.map((c) => ('body' in c ? { ...c, body: c.body.toString('base64') } : c)));
  const result = spawnSync('/usr/bin/python3', ['-W', 'ignore', oracle], { input, maxBuffer: 256 * 1024 * 1024 });
  assert.equal(result.status, 0, result.stderr.toString());
  return JSON.parse(result.stdout.toString()) as Record<string, Dump>;
}

describe('tsgi/form against Python cgi', () => {
  let cases: Case[] = [];
  let python: Record<string, Dump> = {};

  before(async () => {
    cases = [...staticCases(), ...(await curlCases())];
    python = runPython(cases);
  });

  it('covers curl, Chromium, edge and malformed bodies', () => {
    for (const prefix of ['curl-', 'chromium-', 'edge-', 'bad-', 'url-', 'qsl-', 'header-']) {
      assert.ok(cases.some((c) => c.id.startsWith(prefix)), `no ${prefix} case`);
    }
    assert.ok(cases.filter((c) => c.differs).length >= 3);
  });

  it('gives the same fields as Python for every case not marked as a deliberate difference', () => {
    const mismatches: string[] = [];
    for (const c of cases) {
      if (c.differs) continue;
      const ours = normalize(runCase(c));
      const theirs = normalize(python[c.id]!);
      try {
        assert.deepEqual(ours, theirs);
      } catch {
        mismatches.push(`${c.id}\n  tsgi:   ${JSON.stringify(runCase(c)).slice(0, 600)}\n  python: ${JSON.stringify(python[c.id]).slice(0, 600)}`);
      }
    }
    assert.deepEqual(mismatches, []);
  });

  it('differs from Python exactly where docs/form.md says it does', () => {
    for (const c of cases.filter((x) => x.differs)) {
      assert.notDeepEqual(normalize(runCase(c)), normalize(python[c.id]!), `${c.id} no longer differs: ${c.differs}`);
    }
  });

  it('raises a FormError, not Python’s silence, for the malformed bodies it refuses', () => {
    for (const id of ['bad-wrong-boundary', 'bad-header-without-colon', 'bad-empty-body']) {
      const ours = runCase(cases.find((c) => c.id === id)!);
      assert.match(String(ours['error']), /^FormError: /, id);
      assert.equal('error' in python[id]!, false, id);
    }
  });
});
