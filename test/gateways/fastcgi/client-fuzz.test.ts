/**
 * Seeded fuzz of the FastCGI client's reply reader: a responder answers each request with a
 * valid reply, a mutated one (flipped, cut, inserted or repeated bytes, wrong ids, types and
 * lengths) or random bytes, under random socket splits, then hangs up or goes quiet. Every
 * request must end in time, with the exact body for an untouched reply and otherwise either a
 * whole response or a FastCgiGatewayError, never another exception, a crash or a hang; and the
 * client must still answer a clean request afterwards. TSGI_FUZZ_SEED / TSGI_FUZZ_CASES replay or widen it.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FastCgiClient } from '../../../src/gateways/fastcgi/client.js';
import { FastCgiGatewayError } from '../../../src/gateways/fastcgi/errors.js';
import { encodeEndRequest, encodeStream, RecordReader, RecordType } from '../../../src/frontends/fastcgi/records.js';
import { rng as random } from '../../helpers/form-random.js';

const SEED = Number(process.env.TSGI_FUZZ_SEED ?? 20261203);
const CASES = Number(process.env.TSGI_FUZZ_CASES ?? 250);
type Rng = () => number;
const int = (rng: Rng, n: number) => Math.floor(rng() * n);

function validReply(rng: Rng, body: Buffer): Buffer {
  const head = Buffer.from(`Status: 200 OK\r\nContent-Type: application/octet-stream\r\nX-Case: ${int(rng, 1000)}\r\n\r\n`, 'latin1');
  const stdout = Buffer.concat([head, body]);
  const parts: Buffer[] = [];
  for (let offset = 0; offset < stdout.length;) {
    const size = 1 + int(rng, 3000);
    parts.push(encodeStream(RecordType.Stdout, 1, [stdout.subarray(offset, offset + size)]));
    offset += size;
    if (int(rng, 4) === 0) parts.push(encodeStream(RecordType.Stderr, 1, [Buffer.from('note\n')]));
  }
  parts.push(encodeStream(RecordType.Stdout, 1, [], { close: true }), encodeEndRequest(1, 0, 0));
  return Buffer.concat(parts);
}

function mutate(rng: Rng, reply: Buffer): Buffer {
  let bytes = Buffer.from(reply);
  for (let n = 1 + int(rng, 4); n > 0; n--) {
    const at = int(rng, bytes.length);
    switch (int(rng, 6)) {
      case 0: bytes[at] = int(rng, 256); break;
      case 1: bytes = bytes.subarray(0, at); break;
      case 2: bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(Array.from({ length: 1 + int(rng, 20) }, () => int(rng, 256))), bytes.subarray(at)]); break;
      case 3: bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(Math.max(0, at - 16), at), bytes.subarray(at)]); break;
      case 4: bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + 1 + int(rng, 40)))]); break;
      default: bytes = Buffer.from(Array.from({ length: 8 + int(rng, 200) }, () => int(rng, 256)));
    }
  }
  return bytes;
}

interface Case {
  reply: Buffer;
  clean: boolean;
  body: Buffer;
  hangUp: boolean;
}

describe('FastCgiClient reply fuzz', () => {
  const cases: Case[] = [];
  const rng = random(SEED);
  for (let i = 0; i < CASES; i++) {
    const body = Buffer.from(Array.from({ length: int(rng, 9000) }, () => int(rng, 256)));
    const valid = validReply(rng, body);
    const clean = int(rng, 5) === 0;
    cases.push({ reply: clean ? valid : mutate(rng, valid), clean, body, hangUp: int(rng, 2) === 0 });
  }
  let address = '';
  // The case number travels in QUERY_STRING; the reply goes out in random pieces.
  const server = createServer();
  server.on('connection', (socket: Socket) => {
    socket.on('error', () => {});
    const reader = new RecordReader();
    let params: Buffer[] = [];
    let answered = false;
    socket.on('data', (data: Buffer) => {
      try {
        reader.push(data, (type, _id, content) => {
          if (type === RecordType.BeginRequest) {
            params = [];
            answered = false;
          }
          if (type !== RecordType.Params) return;
          if (content.length > 0) {
            params.push(Buffer.from(content));
            return;
          }
          if (answered) return;
          answered = true;
          const index = Number(/QUERY_STRING(\d+)/.exec(Buffer.concat(params).toString('latin1').replace(/[\x00-\x1f]/g, ''))![1]);
          const { reply, hangUp } = cases[index]!;
          const pieces: Buffer[] = [];
          const split = random(SEED + index);
          for (let offset = 0; offset < reply.length;) {
            const size = 1 + int(split, 2000);
            pieces.push(reply.subarray(offset, offset + size));
            offset += size;
          }
          const send = () => {
            const piece = pieces.shift();
            if (piece) {
              socket.write(piece);
              setImmediate(send);
            } else if (hangUp) socket.end();
          };
          send();
        });
      } catch {
        socket.destroy();
      }
    });
  });
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it(`ends every one of ${CASES} replies in time, with the right body or a gateway error (seed ${SEED})`, async () => {
    // A client, so a connection, per case: a mutated reply may go on after its END_REQUEST, and
    // what it sends then must not count against the next case (it would fail on a request id).
    // The short read timeout ends mutated replies that stall; an untouched one gets time to
    // spare, so a loaded machine's pause between two pieces cannot fail it.
    const newClient = (clean: boolean) => new FastCgiClient({ readTimeout: clean ? 5_000 : 150, log: () => {} });
    let clean = 0;
    let failed = 0;
    for (let start = 0; start < cases.length; start += 16) {
      await Promise.all(cases.slice(start, start + 16).map(async (fuzzCase, offset) => {
        const index = start + offset;
        const client = newClient(fuzzCase.clean);
        try {
          const response = await client.request(address, { params: { QUERY_STRING: String(index) }, stderr: () => {} });
          const parts: Buffer[] = [];
          for await (const chunk of response.body) parts.push(chunk);
          if (fuzzCase.clean) {
            assert.equal(response.status, '200 OK', `case ${index}`);
            assert.ok(Buffer.concat(parts).equals(fuzzCase.body), `case ${index}: the body differs`);
            clean++;
          }
        } catch (error) {
          assert.ok(error instanceof FastCgiGatewayError, `case ${index}: ${String(error)}`);
          assert.ok(!fuzzCase.clean, `case ${index} was untouched yet failed: ${error.message}`);
          failed++;
        } finally {
          client.close();
        }
      }));
    }
    assert.ok(clean > 0 && failed > 0, `clean ${clean}, failed ${failed}`);
  });
});
