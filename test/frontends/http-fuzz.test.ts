/**
 * Fuzzes the HTTP front end over real sockets with random and mutated raw requests: the server
 * must never crash, answer only with well-formed responses of expected statuses (or close),
 * raise no unhandled rejection or uncaught exception, and still serve a normal request after.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { makeServer, type HttpServer } from '../../src/frontends/http.js';
import type { Application } from '../../src/types.js';
import { fetchRaw } from '../helpers/http-client.js';
import { fuzzCase, type FuzzCase } from '../helpers/http-fuzz-cases.js';
import { parseResponses } from '../helpers/http-response-check.js';
import { collectingErrors } from '../helpers/recording-target.js';

// Fixed so every run tests the same cases; set TSGI_FUZZ_SEED / TSGI_FUZZ_CASES to explore further.
const SEED = Number(process.env.TSGI_FUZZ_SEED ?? 20261121);
const CASES = Number(process.env.TSGI_FUZZ_CASES ?? 3000);
const PARALLEL = 32;
const MAX_BODY = 65_536;
// 100 from Expect, 417 from an unknown expectation, 501/505 from what the front end does not do.
const EXPECTED_STATUSES = new Set([100, 200, 400, 408, 413, 414, 417, 431, 501, 505]);

/** Problems the echo app saw in the environ it was given (the server's side of the contract). */
const environProblems: string[] = [];

/** Reads the whole body and echoes what it saw; checks the environ on the way, without a validator. */
const echo: Application = async (environ, start) => {
  const note = (problem: string) => environProblems.push(`${problem} (${JSON.stringify(environ.REQUEST_URI)})`);
  if (environ.PATH_INFO !== '' && !environ.PATH_INFO.startsWith('/')) note(`PATH_INFO ${JSON.stringify(environ.PATH_INFO)}`);
  if (environ.SCRIPT_NAME !== '') note('SCRIPT_NAME not empty');
  if (environ.CONTENT_LENGTH !== undefined && !/^\d+$/.test(environ.CONTENT_LENGTH)) note(`CONTENT_LENGTH ${environ.CONTENT_LENGTH}`);
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(environ.REQUEST_METHOD)) note(`REQUEST_METHOD ${JSON.stringify(environ.REQUEST_METHOD)}`);
  if (!/^HTTP\/1\.[01]$/.test(environ.SERVER_PROTOCOL)) note(`SERVER_PROTOCOL ${environ.SERVER_PROTOCOL}`);
  for (const key of ['HTTP_PROXY', 'HTTP_CONTENT_LENGTH', 'HTTP_CONTENT_TYPE']) if (environ[key] !== undefined) note(`${key} set`);
  let size = 0;
  for await (const chunk of environ['tsgi.input']) size += chunk.length;
  if (environ.CONTENT_LENGTH !== undefined && size !== Number(environ.CONTENT_LENGTH)) note(`read ${size} of CONTENT_LENGTH ${environ.CONTENT_LENGTH}`);
  start('200 OK', [['Content-Type', 'application/json']]);
  return [JSON.stringify({ method: environ.REQUEST_METHOD, path: environ.PATH_INFO, query: environ.QUERY_STRING, size })];
};

interface Outcome {
  data: Buffer;
  closed: boolean;
}

/** Sends one case and collects the answer: until the server closes, or the answer is complete and goes quiet. */
function exchange(port: number, fuzz: FuzzCase): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    let closed = false;
    let settled = false;
    let quiet: NodeJS.Timeout | undefined;
    const started = Date.now();
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(quiet);
      clearInterval(cap);
      socket.destroy();
      resolve({ data: Buffer.concat(parts), closed });
    };
    const headMayOmitBody = fuzz.bytes.includes('HEAD');
    // Give up on a silent server after 300 ms (it may rightly wait for the rest of a request);
    // an answer that has started gets up to 5 s to complete, so a busy machine cannot fake a broken one.
    const cap = setInterval(() => {
      const data = Buffer.concat(parts);
      const partial = data.length > 0 && parseResponses(data, { headMayOmitBody, closed: false }).incomplete === true;
      if (Date.now() - started > (partial ? 5_000 : 300)) finish();
    }, 50);
    socket.on('connect', () => {
      if (fuzz.cutAfter !== undefined) {
        socket.write(fuzz.bytes.subarray(0, fuzz.cutAfter), () => finish());
        return;
      }
      socket.write(fuzz.bytes);
      if (fuzz.halfClose) socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      parts.push(chunk);
      clearTimeout(quiet);
      const parsed = parseResponses(Buffer.concat(parts), { headMayOmitBody, closed: false });
      if (parsed.problem === undefined) quiet = setTimeout(finish, 40);
    });
    socket.on('end', () => {
      closed = true;
      finish();
    });
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('error', () => {
      closed = true;
      finish();
    });
  });
}

describe('HTTP front end under fuzzed requests', () => {
  let server: HttpServer;
  const errors = collectingErrors();
  const processFaults: string[] = [];
  const onFault = (kind: string) => (error: unknown) => processFaults.push(`${kind}: ${error instanceof Error ? error.stack : String(error)}`);
  const onRejection = onFault('unhandled rejection');
  const onException = onFault('uncaught exception');
  const onWarning = (warning: Error) => processFaults.push(`warning: ${warning.name}: ${warning.message}`);

  before(async () => {
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);
    process.on('warning', onWarning);
    server = await makeServer('127.0.0.1', 0, echo, { accessLog: false, errors, maxBodySize: MAX_BODY });
  });
  after(async () => {
    await server.close();
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
    process.off('warning', onWarning);
  });

  it(`answers ${CASES} random and mutated requests with well-formed responses only`, async (t) => {
    const started = Date.now();
    const failures: string[] = [];
    const seen = new Map<number, number>();
    let next = 0;
    const worker = async () => {
      while (next < CASES) {
        const index = next++;
        const fuzz = fuzzCase(SEED, index);
        const outcome = await exchange(server.port, fuzz);
        if (fuzz.cutAfter !== undefined) continue;
        const parsed = parseResponses(outcome.data, { headMayOmitBody: fuzz.bytes.includes('HEAD'), closed: outcome.closed });
        for (const status of parsed.statuses) seen.set(status, (seen.get(status) ?? 0) + 1);
        const odd = parsed.statuses.filter((status) => !EXPECTED_STATUSES.has(status));
        if (parsed.problem !== undefined || odd.length > 0) {
          failures.push(`case ${index}: ${parsed.problem ?? `status ${odd.join(', ')}`}; sent ${JSON.stringify(fuzz.bytes.subarray(0, 300).toString('latin1'))}`);
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    const statuses = [...seen].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`).join(' ');
    t.diagnostic(`seed ${SEED}: ${CASES} cases in ${Date.now() - started} ms; statuses ${statuses}`);

    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} malformed or unexpected answers`);
    assert.deepEqual(processFaults, []);
    assert.deepEqual(environProblems.slice(0, 10), [], `${environProblems.length} environ problems`);
    assert.doesNotMatch(errors.text(), /TypeError|ERR_|Cannot|undefined/, 'the server logged an internal error');
    // The run must have reached the app and the main refusals, or it tested little.
    for (const status of [200, 400, 413]) assert.ok((seen.get(status) ?? 0) > 0, `no ${status} in ${JSON.stringify([...seen])}`);

    const res = await fetchRaw(`${server.url}/after?fuzz=1`);
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), { method: 'GET', path: '/after', query: 'fuzz=1', size: 0 });
  });
});
