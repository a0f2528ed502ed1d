/**
 * Differential tests: every body of the corpus is parsed by Python's own cgi module and by tsgi,
 * and the results are compared field by field. Cases marked `differs` are where tsgi departs
 * from Python on purpose; for those the test checks that the difference is really there.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { CASE_CHARSETS, CASE_ERROR_MODES, curlCases, staticCases, type Case, type FormCase } from '../helpers/form-corpus.js';
import { normalize, runCase, runCaseInChunks, type Dump } from '../helpers/form-dump.js';

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
    for (const prefix of ['curl-', 'chromium-', 'edge-', 'bad-', 'url-', 'qsl-', 'header-', 'charset-', 'limit-']) {
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

  it('covers every charset x error mode in a part, a file name and a urlencoded body', () => {
    for (const encoding of CASE_CHARSETS) {
      for (const errors of CASE_ERROR_MODES) {
        for (const where of ['part', 'filename', 'url']) {
          assert.ok(cases.some((c) => c.id === `charset-${encoding}-${errors}-${where}`), `${encoding} ${errors} ${where}`);
        }
      }
    }
  });

  it('fails with the FormError code that stands for Python’s exception', () => {
    const codes: [RegExp, string][] = [
      [/^UnicodeDecodeError/, 'BAD_ENCODING'],
      [/Max number of fields exceeded/, 'TOO_MANY_FIELDS'],
      [/Maximum content length exceeded/, 'BODY_TOO_LARGE'],
      [/Invalid boundary/, 'BAD_BOUNDARY'],
      [/bad query field/, 'BAD_FIELD'],
    ];
    let checked = 0;
    for (const c of cases) {
      const theirs = python[c.id]!;
      if (c.differs || !('error' in theirs)) continue;
      const ours = runCase(c);
      const code = codes.find(([pattern]) => pattern.test(String(theirs['error'])))?.[1];
      assert.ok(code, `${c.id}: no FormError code stands for ${String(theirs['error'])}`);
      assert.equal(ours['code'], code, `${c.id}: ${String(ours['error'])} for ${String(theirs['error'])}`);
      checked++;
    }
    assert.ok(checked >= 20, `only ${checked} failing cases`);
  });

  it('gives the code of its own limits, naming the option', () => {
    for (const c of cases.filter((x): x is FormCase => x.kind === 'form' && x.code !== undefined)) {
      const ours = runCase(c);
      assert.equal(ours['code'], c.code, c.id);
      const option = Object.keys(c.options ?? {})[0]!;
      assert.match(String(ours['error']), new RegExp(`\\(${option}\\)`), c.id);
    }
  });

  it('gives Python’s fields for the charset cases wherever the body is split in two, and in 1-byte chunks', async () => {
    const mismatches: string[] = [];
    let runs = 0;
    for (const c of cases) {
      if (c.kind !== 'form' || !c.id.startsWith('charset-') || c.differs) continue;
      const theirs = normalize(python[c.id]!);
      const splits: Uint8Array[][] = [[...c.body].map((byte) => Uint8Array.of(byte))];
      for (let at = 1; at < c.body.length; at++) splits.push([c.body.subarray(0, at), c.body.subarray(at)]);
      for (const chunks of splits) {
        runs++;
        const ours = normalize(await runCaseInChunks(c, chunks));
        if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
          mismatches.push(`${c.id} split ${chunks.length === 2 ? `at ${chunks[0]!.length}` : 'in 1-byte chunks'}: ${JSON.stringify(ours).slice(0, 300)}`);
          break;
        }
      }
    }
    assert.deepEqual(mismatches, []);
    assert.ok(runs > 4000, `only ${runs} runs`);
  });

  it('raises a FormError, not Python’s silence, for the malformed bodies it refuses', () => {
    for (const id of ['bad-wrong-boundary', 'bad-header-without-colon', 'bad-empty-body']) {
      const ours = runCase(cases.find((c) => c.id === id)!);
      assert.match(String(ours['error']), /^FormError: /, id);
      assert.equal('error' in python[id]!, false, id);
    }
  });
});
