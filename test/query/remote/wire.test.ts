/** The remote-read wire codecs against protobufjs (the reference encoder) and against themselves. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { remoteProto, decodeReadRequest, encodeReadRequest, readRequestProblem } from '../../../src/query/remote/read-proto.js';
import { STALE_NAN_LE, encodeQueryResult, encodeReadResponse, scanReadResponse } from '../../../src/query/remote/series-wire.js';
import { crc32c, decodeChunkedReadResponse, encodeChunkedReadResponse, frame, readFrames } from '../../../src/query/remote/chunked.js';
import { decodeXorChunk, encodeXorChunk } from '../../../src/query/remote/xor-chunk.js';
import { WireError } from '../../../src/query/remote/wire.js';

const ReadResponse = remoteProto.lookupType('prometheus.ReadResponse');

function reference(results: Array<Array<{ labels: Array<[string, string]>; samples: Array<[number, number]> }>>): Uint8Array {
  return ReadResponse.encode(ReadResponse.fromObject({
    results: results.map((series) => ({
      timeseries: series.map((s) => ({
        labels: s.labels.map(([name, value]) => ({ name, value })),
        samples: s.samples.map(([timestamp, value]) => ({ timestamp, value })),
      })),
    })),
  })).finish();
}

const seriesArb = fc.record({
  labels: fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 12, unit: 'binary' })), { maxLength: 5 }),
  samples: fc.array(fc.tuple(fc.integer({ min: -2e12, max: 4e12 }), fc.double()), { maxLength: 20 }),
});

test('scanReadResponse reads what protobufjs writes, and encodeReadResponse writes what protobufjs reads', () => {
  fc.assert(fc.property(fc.array(fc.array(seriesArb, { maxLength: 5 }), { minLength: 1, maxLength: 3 }), (results) => {
    const scanned = scanReadResponse(reference(results));
    assert.equal(scanned.length, results.length);
    scanned.forEach((table, qi) => {
      assert.equal(table.n, results[qi]!.length);
      for (let si = 0; si < table.n; si++) {
        const want = results[qi]![si]!;
        assert.deepEqual(table.labels(si), want.labels);
        const d = table.samples(si);
        assert.deepEqual(d.t, want.samples.map(([t]) => t));
        assert.deepEqual(d.v.map((v) => Object.is(v, -0) ? 0 : v), want.samples.map(([, v]) => Object.is(v, -0) ? 0 : v));
      }
    });
    // Raw pass-through and re-encoded samples both decode to the same message.
    const all = (f: (table: (typeof scanned)[number], i: number) => object) => scanned.map((table) => Array.from({ length: table.n }, (_, i) => ({ table, i, ...f(table, i) })));
    const passThrough = encodeReadResponse(all(() => ({})));
    const reencoded = encodeReadResponse(all((t, i) => ({ samples: t.samples(i) })));
    const a = ReadResponse.toObject(ReadResponse.decode(passThrough), { longs: Number });
    const b = ReadResponse.toObject(ReadResponse.decode(reencoded), { longs: Number, defaults: false });
    const c = ReadResponse.toObject(ReadResponse.decode(reference(results)), { longs: Number });
    assert.deepEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(c)));
    const norm = (o: unknown) => JSON.stringify(o, (_k, v) => (typeof v === 'number' && (v === 0 || Number.isNaN(v)) ? String(v) : v)).replaceAll(/"(value|timestamp)":"0",?/g, '');
    assert.equal(norm(b).replaceAll(',}', '}'), norm(c).replaceAll(',}', '}'));
  }), { numRuns: 200 });
});

test('encodeQueryResult round-trips labels and samples; replica labels are cut from key and output', () => {
  const [t] = scanReadResponse(encodeQueryResult([
    { labels: [['__name__', 'up'], ['job', 'é'], ['replica', '1']], samples: { t: [1, -5, 1700000000000], v: [1, NaN, -0.5] } },
    { labels: [['__name__', 'up'], ['job', 'é'], ['replica', '0']], samples: { t: [2], v: [3] } },
  ]), ['replica']);
  assert.deepEqual(t!.labels(0), [['__name__', 'up'], ['job', 'é']]);
  assert.deepEqual(t!.labels(0, true), [['__name__', 'up'], ['job', 'é'], ['replica', '1']]);
  assert.equal(t!.key(0), t!.key(1));
  const d = t!.samples(0);
  assert.deepEqual(d.t, [1, -5, 1700000000000]);
  assert.ok(Number.isNaN(d.v[1]));
  const [s0, s1] = t!.lastSampleRange(0);
  assert.ok(s1 > s0 && s1 === t!.samplesRange(0)[1]);
  const [again] = scanReadResponse(encodeReadResponse([[{ table: t!, i: 0, range: [s0, s1] }]]));
  assert.deepEqual(again!.labels(0, true), [['__name__', 'up'], ['job', 'é']]);
  assert.deepEqual(again!.samples(0).t, [1700000000000]);
});

test('a label value that begins with U+FEFF keeps it (not taken off as a byte order mark)', () => {
  const [t] = scanReadResponse(encodeQueryResult([{ labels: [['__name__', 'up'], ['job', '\ufeffj']], samples: { t: [1], v: [1] } }]));
  assert.deepEqual(t!.labels(0), [['__name__', 'up'], ['job', '\ufeffj']]);
  const [ref] = scanReadResponse(reference([[{ labels: [['a', '\ufeff']], samples: [[1, 1]] }]]));
  assert.deepEqual(ref!.labels(0), [['a', '\ufeff']]);
});

test('a series whose fields are interleaved (legal protobuf, not what Prometheus writes) is read the same', () => {
  const Ts = remoteProto.lookupType('prometheus.TimeSeries');
  const label = (n: string, v: string) => Buffer.concat([Buffer.from([0x0a]), Buffer.from(remoteProto.lookupType('prometheus.Label').encode({ name: n, value: v }).finish()).length < 128 ? Buffer.from([remoteProto.lookupType('prometheus.Label').encode({ name: n, value: v }).finish().length]) : Buffer.alloc(0), Buffer.from(remoteProto.lookupType('prometheus.Label').encode({ name: n, value: v }).finish())]);
  const sample = (t: number, v: number) => { const b = Buffer.from(remoteProto.lookupType('prometheus.Sample').encode({ timestamp: t, value: v }).finish()); return Buffer.concat([Buffer.from([0x12, b.length]), b]); };
  const series = Buffer.concat([sample(1000, 1), label('__name__', 'x'), sample(2000, 2), label('replica', 'a'), label('z', 'q')]);
  assert.deepEqual(Ts.toObject(Ts.decode(series), { longs: Number }).labels.length, 3);
  const response = Buffer.concat([Buffer.from([0x0a, series.length + 2, 0x0a, series.length]), series]);
  const [t] = scanReadResponse(response, ['replica']);
  assert.deepEqual(t!.labels(0), [['__name__', 'x'], ['z', 'q']]);
  assert.deepEqual(t!.samples(0), { t: [1000, 2000], v: [1, 2] });
});

test('truncated or malformed responses are errors, not silent partial reads', () => {
  const good = reference([[{ labels: [['a', 'b']], samples: [[1000, 1]] }]]);
  for (let cut = 1; cut < good.length; cut++) {
    assert.throws(() => scanReadResponse(good.subarray(0, cut)), WireError, `cut at ${cut}`);
  }
  assert.throws(() => scanReadResponse(Buffer.from('this is not protobuf at all')), WireError);
});

test('ReadRequest round-trips through encodeReadRequest and decodeReadRequest', () => {
  const req = {
    queries: [{ startMs: 1000, endMs: 301000, matchers: [{ type: 'EQ' as const, name: '__name__', value: 'up' }, { type: 'NRE' as const, name: 'job', value: 'a|b' }], hints: { stepMs: 15000, func: 'rate', startMs: 1000, endMs: 301000, grouping: ['job'], by: true, rangeMs: 300000 } }],
    acceptedResponseTypes: [1, 0],
  };
  assert.deepEqual(decodeReadRequest(encodeReadRequest(req)), req);
});

test('crc32c is the Castagnoli CRC (check value of "123456789")', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
});

test('frames carry their messages and catch corruption', () => {
  const msgs = [Buffer.from('one'), Buffer.alloc(300, 7), Buffer.alloc(0)];
  const body = Buffer.concat(msgs.map(frame));
  assert.deepEqual(readFrames(body).map((m) => Buffer.from(m)), msgs);
  const bad = Buffer.from(body);
  bad[bad.length - 10]! ^= 1;
  assert.throws(() => readFrames(bad), /checksum/);
  assert.throws(() => readFrames(body.subarray(0, body.length - 1)), /truncated/);
});

const sampleArb = fc.array(fc.tuple(fc.integer({ min: 0, max: 100_000_000 }), fc.oneof(fc.double(), fc.integer({ min: -1000, max: 1000 }).map((i) => i / 4), fc.constant(0))), { minLength: 1, maxLength: 300 })
  .map((pairs) => {
    let t = 1_700_000_000_000 - 500_000;
    return { t: pairs.map(([d]) => (t += d % 7 === 0 ? d : d % 30000)), v: pairs.map(([, v]) => v) };
  });

test('XOR chunks round-trip every timestamp and every value bit for bit', () => {
  fc.assert(fc.property(sampleArb, (s) => {
    const d = decodeXorChunk(encodeXorChunk(s));
    assert.deepEqual(d.t, s.t);
    const bits = (v: number) => Buffer.from(new Float64Array([v]).buffer).toString('hex');
    assert.deepEqual(d.v.map(bits), s.v.map(bits));
  }), { numRuns: 300 });
});

test('ChunkedReadResponse round-trips', () => {
  const data = encodeXorChunk({ t: [1000, 2000], v: [1, 2] });
  const m = { queryIndex: 2, series: [{ labels: [['__name__', 'x']] as Array<[string, string]>, chunks: [{ minTimeMs: 1000, maxTimeMs: 2000, type: 1, data }] }] };
  const back = decodeChunkedReadResponse(encodeChunkedReadResponse(m));
  assert.equal(back.queryIndex, 2);
  assert.deepEqual(back.series[0]!.labels, [['__name__', 'x']]);
  assert.deepEqual(decodeXorChunk(back.series[0]!.chunks[0]!.data), { t: [1000, 2000], v: [1, 2] });
});

test('staleness markers keep their bit pattern through decoding, re-encoding and XOR chunks', () => {
  const samples = { t: [1000, 2000, 3000], v: [1, NaN, NaN], stale: [false, true, false] };
  const [table] = scanReadResponse(encodeQueryResult([{ labels: [['__name__', 'x']], samples }]));
  assert.ok(table!.buf(0).includes(STALE_NAN_LE), 'the marker\'s bytes are on the wire');
  const back = table!.samples(0);
  assert.deepEqual(back.stale, [false, true, false], 'a plain NaN is not a marker');
  const reencoded = encodeReadResponse([[{ table: table!, i: 0, samples: back }]]);
  assert.ok(reencoded.includes(STALE_NAN_LE));
  const x = decodeXorChunk(encodeXorChunk(back));
  assert.deepEqual(x.stale, [false, true, false]);
  assert.ok(Number.isNaN(x.v[2]));
});

test('a malformed sample makes the whole answer unreadable (the shard is then left out with a warning)', () => {
  const wrap = (b: number[]) => [0x0a, b.length, ...b];
  const label = [0x0a, 0x03, 0x0a, 0x01, 0x78]; // {x=""}
  const good = Buffer.from(wrap(wrap([...label, 0x12, 0x02, 0x10, 0x05])));
  assert.deepEqual(scanReadResponse(good)[0]!.samples(0), { t: [5], v: [0] }, 'a value of 0 is omitted on the wire');
  for (const sample of [[0x12, 0x03, 0x09, 0x00, 0x00], [0x12, 0x02, 0x10, 0x80], [0x12, 0x02, 0x0b, 0x00]]) {
    assert.throws(() => scanReadResponse(Buffer.from(wrap(wrap([...label, ...sample])))), WireError, JSON.stringify(sample));
  }
});

test('readRequestProblem: a regex Go refuses is named with its query and matcher; valid matchers pass', () => {
  const q = (matchers: Array<{ type: 'EQ' | 'NEQ' | 'RE' | 'NRE'; name: string; value: string }>) => ({ startMs: 0, endMs: 1, matchers });
  assert.equal(readRequestProblem({ queries: [q([{ type: 'RE', name: 'job', value: 'a|b.*' }, { type: 'EQ', name: 'x', value: '(' }])], acceptedResponseTypes: [0] }), undefined);
  assert.equal(
    readRequestProblem({ queries: [q([]), q([{ type: 'EQ', name: 'a', value: 'b' }, { type: 'NRE', name: 'job', value: '(?P<x' }])], acceptedResponseTypes: [0] }),
    'query 1, matcher 1 (job!~"(?P<x"): error parsing regexp: invalid named capture: `(?P<x)$`', // Go quotes the rest of the anchored pattern
  );
  assert.match(readRequestProblem({ queries: [q([{ type: 'RE', name: '__name__', value: 'a{1001}' }])], acceptedResponseTypes: [0] }) ?? '', /invalid repeat count: `\{1001\}`/);
});
