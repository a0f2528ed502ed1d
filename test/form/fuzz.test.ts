/**
 * Fuzzing with a fixed seed and bounded iteration counts: chunk splits never change a result,
 * and random or mutated bodies give a result or a FormError — nothing else, in bounded time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FieldStorage, FormError, MultipartParser } from '../../src/form/index.js';
import { staticCases, type FormCase } from '../helpers/form-corpus.js';
import { dumpForm, normalize, runCase } from '../helpers/form-dump.js';
import { randomSplit, rng } from '../helpers/form-random.js';

const formCases = staticCases().filter((c): c is FormCase => c.kind === 'form');

async function runSplit(c: FormCase, chunks: Uint8Array[]): Promise<unknown> {
  try {
    const form = await FieldStorage.from({ ...c.environ, 'tsgi.input': chunks }, { ...(c.options ?? {}), memoryThreshold: 1000 });
    try {
      return normalize(dumpForm(form));
    } finally {
      form.close();
    }
  } catch (error) {
    return { error: true, formError: error instanceof FormError };
  }
}

function expected(c: FormCase): unknown {
  const dump = runCase(c);
  return 'error' in dump ? { error: true, formError: dump['error'] !== undefined && String(dump['error']).startsWith('FormError') } : normalize(dump);
}

const MUTATIONS = [
  (b: Buffer, r: () => number) => { const i = Math.floor(r() * b.length); b[i] = Math.floor(r() * 256); return b; },
  (b: Buffer, r: () => number) => b.subarray(0, Math.floor(r() * b.length)),
  (b: Buffer, r: () => number) => { const i = Math.floor(r() * b.length); return Buffer.concat([b.subarray(0, i), Buffer.from(['\r', '\n', '\r\n', '--', '"', ';', ':'][Math.floor(r() * 7)]!), b.subarray(i)]); },
  (b: Buffer, r: () => number) => { const i = Math.floor(r() * b.length); const j = Math.min(b.length, i + Math.floor(r() * 40)); return Buffer.concat([b.subarray(0, j), b.subarray(i)]); },
  (b: Buffer, r: () => number) => { const i = Math.floor(r() * b.length); return Buffer.concat([b.subarray(0, i), b.subarray(i + 1 + Math.floor(r() * 20))]); },
];

describe('fuzzing', () => {
  it('gives identical results under random chunk splits', async () => {
    const random = rng(0x5eed);
    for (const c of formCases) {
      const want = expected(c);
      for (let round = 0; round < 12; round++) {
        const got = await runSplit(c, randomSplit(c.body, random, c.body.length > 50_000 ? 40 : 12));
        assert.deepEqual(got, want, `${c.id} round ${round}`);
      }
    }
  });

  it('answers mutated bodies with a result or a FormError, the same for any split', async () => {
    const random = rng(0xbad5eed);
    const seeds = formCases.filter((c) => c.body.length < 20_000 && c.environ['CONTENT_TYPE']?.startsWith('multipart/'));
    let errors = 0;
    let results = 0;
    for (let round = 0; round < 600; round++) {
      const seed = seeds[Math.floor(random() * seeds.length)]!;
      let body = Buffer.from(seed.body);
      const count = 1 + Math.floor(random() * 4);
      for (let m = 0; m < count; m++) body = Buffer.from(MUTATIONS[Math.floor(random() * MUTATIONS.length)]!(body, random));
      const mutated: FormCase = { ...seed, id: `${seed.id}~${round}`, body, environ: { ...seed.environ, CONTENT_LENGTH: String(body.length) } };
      const whole = await runSplit(mutated, [body]);
      if ((whole as { error?: boolean }).error) {
        assert.equal((whole as { formError: boolean }).formError, true, `${mutated.id}: not a FormError`);
        errors++;
      } else {
        results++;
      }
      assert.deepEqual(await runSplit(mutated, randomSplit(body, random)), whole, mutated.id);
    }
    assert.ok(errors > 10 && results > 10, `errors ${errors}, results ${results}`);
  });

  it('survives random bytes in every parser state', () => {
    const random = rng(42);
    const alphabet = Buffer.from('--b\r\n:;="\\ \tContent-Disposition: form-data; name="x"\r\n\r\n');
    for (let round = 0; round < 2000; round++) {
      const length = Math.floor(random() * 300);
      const body = Buffer.alloc(length);
      for (let i = 0; i < length; i++) body[i] = random() < 0.8 ? alphabet[Math.floor(random() * alphabet.length)]! : Math.floor(random() * 256);
      let data = 0;
      const parser = new MultipartParser('b', { onPartData: (d) => { data += d.length; } }, { maxParts: 50, maxHeaderSize: 200 });
      try {
        for (const chunk of randomSplit(body, random)) parser.write(chunk);
        parser.end();
        assert.ok(parser.done === 1 || parser.done === -1);
      } catch (error) {
        assert.ok(error instanceof FormError, `round ${round}: ${String(error)}`);
      }
      assert.ok(data <= length);
    }
  });
});
