import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeParams, encodeGetValuesResult, encodeParams, encodeRecord, encodeStream, encodeUnknownType, ProtocolError,
  RecordReader, RecordType, streamRecords,
} from '../../../src/frontends/fastcgi/records.js';
import { watchConcat } from '../../helpers/concat-watch.js';

function readAll(data: Buffer, pieceSize = data.length): [number, number, Buffer][] {
  const reader = new RecordReader();
  const out: [number, number, Buffer][] = [];
  for (let offset = 0; offset < data.length; offset += pieceSize) {
    reader.push(data.subarray(offset, offset + pieceSize), (type, id, content) => out.push([type, id, Buffer.from(content)]));
  }
  assert.equal(reader.partial, false);
  return out;
}

function decodeAll(data: Buffer): [string, string][] {
  const pairs: [string, string][] = [];
  decodeParams(data, (name, value) => pairs.push([name, value]));
  return pairs;
}

describe('FastCGI records', () => {
  it('writes an 8-byte header and pads the content to a multiple of 8', () => {
    const record = encodeRecord(RecordType.Stdout, 0x1234, Buffer.from('hello'));
    assert.deepEqual([...record.subarray(0, 8)], [1, 6, 0x12, 0x34, 0, 5, 3, 0]);
    assert.equal(record.length, 16);
    assert.equal(record.subarray(8, 13).toString(), 'hello');
  });

  it('reads records back whatever way the bytes are split', () => {
    const stream = Buffer.concat([
      encodeRecord(RecordType.Params, 1, Buffer.from('abc')),
      encodeRecord(RecordType.Stdin, 2, Buffer.alloc(70000 % 65536, 7)),
      encodeRecord(RecordType.Stdin, 1),
    ]);
    for (const size of [1, 3, 7, 8, 9, 100, stream.length]) {
      const records = readAll(stream, size);
      assert.deepEqual(records.map(([type, id, content]) => [type, id, content.length]), [[4, 1, 3], [5, 2, 4464], [5, 1, 0]]);
    }
  });

  it('reads a record trickled in one byte at a time with work linear in its size (it was quadratic: minutes of CPU for 64 KiB)', () => {
    const record = encodeRecord(RecordType.Stdin, 1, Buffer.alloc(4_096, 7));
    // Counts the buffers Buffer.concat walks: the reader used to walk every piece so far on every push.
    const watch = watchConcat();
    let records: [number, number, Buffer][];
    try {
      records = readAll(record, 1);
    } finally {
      watch.stop();
    }
    assert.equal(records.length, 1);
    assert.deepEqual(records[0]![2], Buffer.alloc(4_096, 7));
    assert.ok(watch.buffers <= 3 * record.length, `Buffer.concat walked ${watch.buffers} buffers for ${record.length} pieces`);
  });

  it('streamContent hands on stream records in pieces, the same bytes in the same order, whatever the split', () => {
    // Records of every kind, stream ones long and short, empty ones, padding.
    const records: Buffer[] = [
      encodeRecord(RecordType.BeginRequest, 1, Buffer.from([0, 1, 1, 0, 0, 0, 0, 0])),
      encodeStream(RecordType.Params, 1, [Buffer.alloc(300, 'p')]),
      encodeStream(RecordType.Params, 1, [], { close: true }),
      encodeStream(RecordType.Stdin, 1, [Buffer.alloc(150_001, 's')]),
      encodeRecord(RecordType.GetValues, 0, Buffer.from([9, 0, ...Buffer.from('FCGI_MPXS_CONNS')])),
      encodeStream(RecordType.Stdin, 2, [Buffer.from('x')]),
      encodeRecord(RecordType.AbortRequest, 2),
      encodeStream(RecordType.Stdin, 1, [], { close: true }),
    ];
    const wire = Buffer.concat(records);
    /** Joins consecutive pieces of one stream: what a reader of that stream sees. */
    const streams = (events: [number, number, Buffer][]) => {
      const out: [number, number, string][] = [];
      for (const [type, id, content] of events) {
        const last = out[out.length - 1];
        const stream = type === RecordType.Params || type === RecordType.Stdin;
        if (stream && content.length > 0 && last && last[0] === type && last[1] === id && last[2] !== '') last[2] += content.toString('latin1');
        else out.push([type, id, content.toString('latin1')]);
      }
      return out;
    };
    const expected = streams(readAll(wire));
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 200; round++) {
      const reader = new RecordReader({ streamContent: true });
      const events: [number, number, Buffer][] = [];
      const largest = [1, 3, 8, 100, 5000, 70_000][round % 6]!;
      for (let offset = 0; offset < wire.length;) {
        const size = 1 + Math.floor(random() * largest);
        reader.push(wire.subarray(offset, offset + size), (type, id, content) => events.push([type, id, Buffer.from(content)]));
        offset += size;
      }
      assert.equal(reader.partial, false);
      assert.deepEqual(streams(events), expected, `round ${round}, pieces up to ${largest} bytes`);
      // An empty content is only ever the end of a stream, never a piece.
      assert.equal(events.filter(([, , content]) => content.length === 0).length, expected.filter(([, , text]) => text === '').length);
    }
  });

  it('streamContent copies no stream data, however the records are split', () => {
    const wire = encodeStream(RecordType.Stdin, 1, [Buffer.alloc(1024 * 1024, 3)]);
    const watch = watchConcat();
    let received = 0;
    try {
      const reader = new RecordReader({ streamContent: true });
      for (let offset = 0; offset < wire.length; offset += 40_000 + (offset % 7)) {
        reader.push(wire.subarray(offset, offset + 40_000 + (offset % 7)), (_, __, content) => (received += content.length));
      }
    } finally {
      watch.stop();
    }
    assert.equal(received, 1024 * 1024);
    assert.ok(watch.bytes <= 8 * 20, `Buffer.concat made ${watch.bytes} bytes`);
  });

  it('refuses a record whose version is not 1', () => {
    const bad = encodeRecord(RecordType.Stdin, 1, Buffer.from('x'));
    bad[0] = 2;
    assert.throws(() => new RecordReader().push(bad, () => {}), (error) => error instanceof ProtocolError && /version 2/.test(error.message));
  });

  it('splits a stream at 65,535 bytes and ends it with an empty record and END_REQUEST', () => {
    const data = Buffer.alloc(140000, 1);
    const head = Buffer.from('Status: 200 OK\r\n\r\n');
    const encoded = encodeStream(RecordType.Stdout, 3, [head, data], { endRequest: { appStatus: 0, protocolStatus: 0 } });
    const records = readAll(encoded);
    assert.deepEqual(records.map(([type, , content]) => [type, content.length]), [
      [6, 65535], [6, 65535], [6, head.length + data.length - 131070], [6, 0], [3, 8],
    ]);
    assert.deepEqual(Buffer.concat(records.slice(0, 3).map((r) => r[2])), Buffer.concat([head, data]));
    assert.equal(encoded.length % 8, 0);
  });

  it('streamRecords writes the same bytes as encodeStream, the data as slices of itself', () => {
    const data = Buffer.alloc(200_000);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    const head = Buffer.from('Status: 200 OK\r\n\r\n');
    const cases: [Uint8Array[], Parameters<typeof encodeStream>[3]][] = [
      [[head, data], { endRequest: { appStatus: 0, protocolStatus: 0 } }],
      [[data.subarray(0, 65535)], {}],
      [[data.subarray(0, 65536)], { close: true }],
      [[head, data.subarray(0, 7)], {}],
      [[], { endRequest: { appStatus: 3, protocolStatus: 0 } }],
      [[head, data.subarray(0, 70_000), data.subarray(70_000, 70_001), data.subarray(70_001)], {}],
    ];
    for (const [pieces, options] of cases) {
      const vector = streamRecords(RecordType.Stdout, 5, pieces, options);
      assert.deepEqual(Buffer.concat(vector), encodeStream(RecordType.Stdout, 5, pieces, options));
      // Not copied: what carries the data is the caller's memory.
      const carried = vector.filter((piece) => piece.buffer === data.buffer).reduce((sum, piece) => sum + piece.length, 0);
      assert.equal(carried, pieces.filter((piece) => piece.buffer === data.buffer).reduce((sum, piece) => sum + piece.length, 0));
    }
  });

  it('encodes name and value lengths in 1 byte below 128 and 4 bytes from 128 on', () => {
    const short = encodeParams([['A', 'b']]);
    assert.deepEqual([...short], [1, 1, 65, 98]);
    const long = encodeParams([['N', 'v'.repeat(128)]]);
    assert.deepEqual([...long.subarray(0, 5)], [1, 0x80, 0, 0, 128]);
    const pairs: [string, string][] = [['SHORT', ''], ['X'.repeat(200), 'y'.repeat(70000)], ['LATIN', '\xe9']];
    assert.deepEqual(decodeAll(encodeParams(pairs)), pairs);
    assert.deepEqual([...encodeParams([['N', 'v'.repeat(70000)]]).subarray(0, 6)], [1, 0x80, 0x01, 0x11, 0x70, 0x4e]);
    // A record of variables (what the client sends) encodes as its entries do.
    assert.deepEqual(encodeParams(Object.fromEntries(pairs)), encodeParams(pairs));
    assert.deepEqual(encodeParams(new Map(pairs)), encodeParams(pairs));
  });

  it('refuses a name or value that is not a string rather than sending a block its lengths contradict', () => {
    // From JavaScript a variable may come as a number or undefined: its length would be read as 0 or NaN.
    assert.throws(() => encodeParams({ CONTENT_LENGTH: 5 } as unknown as Record<string, string>), TypeError);
    assert.throws(() => encodeParams([['A', undefined]] as unknown as [string, string][]), TypeError);
    assert.throws(() => encodeParams([[7, 'x']] as unknown as [string, string][]), TypeError);
  });

  it('encodes only the own variables of a record, as its entries do', () => {
    const inherited = Object.assign(Object.create({ INHERITED: 'no' }) as Record<string, string>, { OWN: 'yes' });
    assert.deepEqual(decodeAll(encodeParams(inherited)), [['OWN', 'yes']]);
  });

  it('rejects a pair that overruns the params or is cut inside its length', () => {
    assert.throws(() => decodeAll(Buffer.from([5, 1, 65])), /overruns/);
    assert.throws(() => decodeAll(Buffer.from([0x80, 0, 1])), /truncated/);
  });

  it('answers GET_VALUES with only the known names asked for', () => {
    const query = encodeParams([['FCGI_MPXS_CONNS', ''], ['FCGI_UNKNOWN', ''], ['FCGI_MAX_REQS', '']]);
    const [[type, id, content]] = readAll(encodeGetValuesResult(query, { FCGI_MAX_CONNS: 10, FCGI_MAX_REQS: 640, FCGI_MPXS_CONNS: 1 })) as [[number, number, Buffer]];
    assert.equal(type, RecordType.GetValuesResult);
    assert.equal(id, 0);
    assert.deepEqual(decodeAll(content), [['FCGI_MPXS_CONNS', '1'], ['FCGI_MAX_REQS', '640']]);
  });

  it('echoes the type byte in UNKNOWN_TYPE', () => {
    const [[type, , content]] = readAll(encodeUnknownType(42)) as [[number, number, Buffer]];
    assert.equal(type, RecordType.UnknownType);
    assert.deepEqual([...content], [42, 0, 0, 0, 0, 0, 0, 0]);
  });
});
