/** The remote-write codec (src/receive/write-wire.ts) against protobufjs encoding prompb's messages, and against itself. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { WriteRequestError, compareLabelNames, decodeWriteRequest, encodeWriteRequest, withTenantLabel, type WireSeries } from '../../src/receive/write-wire.js';

// prompb remote.proto and types.proto of Prometheus 2.42 (the WriteRequest side), gogoproto options left out.
const SCHEMA = `
syntax = "proto3";
package prometheus;
message WriteRequest {
  repeated TimeSeries timeseries = 1;
  reserved 2;
  repeated MetricMetadata metadata = 3;
}
message MetricMetadata {
  enum MetricType { UNKNOWN = 0; COUNTER = 1; GAUGE = 2; HISTOGRAM = 3; GAUGEHISTOGRAM = 4; SUMMARY = 5; INFO = 6; STATESET = 7; }
  MetricType type = 1;
  string metric_family_name = 2;
  string help = 4;
  string unit = 5;
}
message Sample { double value = 1; int64 timestamp = 2; }
message Exemplar { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
message Histogram {
  enum ResetHint { UNKNOWN = 0; YES = 1; NO = 2; GAUGE = 3; }
  oneof count { uint64 count_int = 1; double count_float = 2; }
  double sum = 3;
  sint32 schema = 4;
  double zero_threshold = 5;
  oneof zero_count { uint64 zero_count_int = 6; double zero_count_float = 7; }
  repeated BucketSpan negative_spans = 8;
  repeated sint64 negative_deltas = 9;
  repeated double negative_counts = 10;
  repeated BucketSpan positive_spans = 11;
  repeated sint64 positive_deltas = 12;
  repeated double positive_counts = 13;
  ResetHint reset_hint = 14;
  int64 timestamp = 15;
}
message BucketSpan { sint32 offset = 1; uint32 length = 2; }
message TimeSeries {
  repeated Label labels = 1;
  repeated Sample samples = 2;
  repeated Exemplar exemplars = 3;
  repeated Histogram histograms = 4;
}
message Label { string name = 1; string value = 2; }
`;
const root = protobuf.parse(SCHEMA, { keepCase: true }).root;
const WriteRequest = root.lookupType('prometheus.WriteRequest');
const TimeSeries = root.lookupType('prometheus.TimeSeries');
const MetricMetadata = root.lookupType('prometheus.MetricMetadata');

type Pair = [string, string];
interface Ts {
  labels: Pair[];
  samples: Array<{ value: number; timestamp: number }>;
  exemplars: Array<{ labels: Pair[]; value: number; timestamp: number }>;
  histograms?: object[];
}
interface Md {
  type: number;
  metric_family_name: string;
  help: string;
  unit: string;
}

const tsObject = (s: Ts) => ({
  labels: s.labels.map(([name, value]) => ({ name, value })),
  samples: s.samples,
  exemplars: s.exemplars.map((e) => ({ ...e, labels: e.labels.map(([name, value]) => ({ name, value })) })),
  histograms: s.histograms ?? [],
});
const encodeRef = (series: Ts[], metadata: Md[] = []): Buffer =>
  Buffer.from(WriteRequest.encode(WriteRequest.fromObject({ timeseries: series.map(tsObject), metadata })).finish());
/** The TimeSeries message without its labels: what `rest` must hold. */
const restRef = (s: Ts): Buffer => Buffer.from(TimeSeries.encode(TimeSeries.fromObject({ ...tsObject(s), labels: [] })).finish());
const utf8Order = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Label sets as Prometheus keeps them: names unique, non-empty, sorted by bytes; values non-empty. */
const labelsArb = fc
  .uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 10, unit: fc.constantFrom('a', 'b', 'z', '_', 'é', '😀', '\uffee', 'A') }), fc.string({ minLength: 1, maxLength: 24, unit: 'binary' })), { minLength: 1, maxLength: 8, selector: (l) => l[0] })
  .map((ls) => ls.sort((a, b) => utf8Order(a[0], b[0])) as Pair[]);
const sampleArb = fc.record({ value: fc.double(), timestamp: fc.integer({ min: -2e12, max: 4e12 }) });
const exemplarArb = fc.record({
  labels: fc.array(fc.tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 })), { maxLength: 3 }),
  value: fc.double(),
  timestamp: fc.integer({ min: 0, max: 4e12 }),
});
const seriesArb: fc.Arbitrary<Ts> = fc.record({ labels: labelsArb, samples: fc.array(sampleArb, { maxLength: 12 }), exemplars: fc.array(exemplarArb, { maxLength: 2 }) });
const metadataArb: fc.Arbitrary<Md> = fc.record({ type: fc.integer({ min: 0, max: 7 }), metric_family_name: fc.string({ maxLength: 10 }), help: fc.string({ maxLength: 30, unit: 'binary' }), unit: fc.string({ maxLength: 5 }) });

function errorOf(f: () => unknown): WriteRequestError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof WriteRequestError, `expected a WriteRequestError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a WriteRequestError, nothing was thrown');
}

const up: Ts = {
  labels: [['__name__', 'up'], ['instance', 'localhost:9090'], ['job', 'prometheus']],
  samples: [{ value: 1, timestamp: 1_700_000_000_000 }, { value: 0, timestamp: 1_700_000_015_000 }],
  exemplars: [],
};
const withExemplar: Ts = {
  labels: [['__name__', 'http_request_duration_seconds_bucket'], ['le', '0.5'], ['path', '/ünïcode']],
  samples: [{ value: 17, timestamp: 1_700_000_000_000 }],
  exemplars: [{ labels: [['trace_id', 'abc123']], value: 0.42, timestamp: 1_700_000_000_123 }],
};
const md: Md = { type: 1, metric_family_name: 'http_requests_total', help: 'Requests.', unit: '' };

test('decodes what protobufjs writes; samples, exemplars and metadata pass through byte-identical; encoding is byte-identical', () => {
  fc.assert(fc.property(fc.array(seriesArb, { maxLength: 6 }), fc.array(metadataArb, { maxLength: 3 }), (series, metadata) => {
    const ref = encodeRef(series, metadata);
    const req = decodeWriteRequest(ref);
    assert.equal(req.series.length, series.length);
    req.series.forEach((s, i) => {
      const want = series[i]!;
      assert.deepEqual(s.labels, want.labels);
      assert.equal(s.samples, want.samples.length);
      assert.equal(s.exemplars, want.exemplars.length);
      assert.equal(s.histograms, 0);
      assert.ok(Buffer.from(s.rest).equals(restRef(want)), `series ${i}: rest differs`);
    });
    assert.deepEqual(req.metadata.map((m) => Buffer.from(m).toString('hex')), metadata.map((m) => Buffer.from(MetricMetadata.encode(MetricMetadata.fromObject(m)).finish()).toString('hex')));
    // Re-encoded: the same bytes protobufjs writes (labels name then value, then the rest, then metadata).
    assert.ok(encodeWriteRequest(req.series, req.metadata).equals(ref));
  }), { numRuns: 300 });
});

test('exemplars and metadata of a typical request come through byte for byte, and protobufjs reads the re-encoding', () => {
  const ref = encodeRef([up, withExemplar], [md]);
  const req = decodeWriteRequest(new Uint8Array(ref)); // a plain Uint8Array works as well as a Buffer
  assert.deepEqual(req.series.map((s) => [s.samples, s.exemplars]), [[2, 0], [1, 1]]);
  assert.ok(Buffer.from(req.series[1]!.rest).equals(restRef(withExemplar)));
  req.series = req.series.map((s) => ({ ...s, labels: withTenantLabel(s.labels, 'tenant_id', 'team-a') }));
  const out = WriteRequest.toObject(WriteRequest.decode(encodeWriteRequest(req.series, req.metadata)), { longs: Number, enums: Number });
  assert.deepEqual(out.timeseries[1].labels, [
    { name: '__name__', value: 'http_request_duration_seconds_bucket' }, { name: 'le', value: '0.5' }, { name: 'path', value: '/ünïcode' }, { name: 'tenant_id', value: 'team-a' },
  ]);
  assert.deepEqual(out.timeseries[1].exemplars, [{ labels: [{ name: 'trace_id', value: 'abc123' }], value: 0.42, timestamp: 1_700_000_000_123 }]);
  assert.deepEqual(out.timeseries[0].samples.map((x: { timestamp: number; value?: number }) => ({ value: x.value ?? 0, timestamp: x.timestamp })), up.samples);
  assert.deepEqual(out.metadata, [{ type: 1, metric_family_name: 'http_requests_total', help: 'Requests.' }]);
});

test('property: decode(encode(x)) == x', () => {
  const xArb = fc.record({
    series: fc.array(seriesArb.map((s) => ({ labels: s.labels, rest: restRef(s), samples: s.samples.length, exemplars: s.exemplars.length, histograms: 0 })), { maxLength: 8 }),
    metadata: fc.array(metadataArb.map((m) => Buffer.from(MetricMetadata.encode(MetricMetadata.fromObject(m)).finish())), { maxLength: 3 }),
  });
  fc.assert(fc.property(xArb, (x) => {
    const back = decodeWriteRequest(encodeWriteRequest(x.series, x.metadata));
    assert.deepEqual(back.series.map((s) => ({ ...s, rest: Buffer.from(s.rest) })), x.series);
    assert.deepEqual(back.metadata.map((m) => Buffer.from(m)), x.metadata);
  }), { numRuns: 300 });
});

test('labels are read as Prometheus reads them: sorted by bytes, empty values dropped', () => {
  const req = decodeWriteRequest(encodeRef([{
    labels: [['job', 'x'], ['__name__', 'up'], ['empty', ''], ['\uffee', 'a'], ['😀', 'b'], ['a', 'c']],
    samples: [{ value: 1, timestamp: 1 }], exemplars: [],
  }]));
  // '😀' (F0 9F …) sorts after U+FFEE (EF BF AE) in bytes, although not in JavaScript's code units.
  assert.deepEqual(req.series[0]!.labels, [['__name__', 'up'], ['a', 'c'], ['job', 'x'], ['\uffee', 'a'], ['😀', 'b']]);
  // A label given twice, once with an empty value, is one label (Prometheus drops the empty one first).
  assert.deepEqual(decodeWriteRequest(encodeRef([{ labels: [['a', ''], ['a', 'x']], samples: [], exemplars: [] }])).series[0]!.labels, [['a', 'x']]);
  // Labels spread among the samples (legal protobuf): read the same, the rest gathered in order.
  const label = (n: string, v: string) => { const b = Buffer.from(root.lookupType('prometheus.Label').encode({ name: n, value: v }).finish()); return Buffer.concat([Buffer.from([0x0a, b.length]), b]); };
  const sample = (t: number, v: number) => { const b = Buffer.from(root.lookupType('prometheus.Sample').encode({ timestamp: t, value: v }).finish()); return Buffer.concat([Buffer.from([0x12, b.length]), b]); };
  const ts = Buffer.concat([sample(1, 1), label('__name__', 'x'), sample(2, 2), label('z', 'q'), sample(3, 3)]);
  const [s] = decodeWriteRequest(Buffer.concat([Buffer.from([0x0a, ts.length]), ts])).series;
  assert.deepEqual(s!.labels, [['__name__', 'x'], ['z', 'q']]);
  assert.equal(s!.samples, 3);
  assert.ok(Buffer.from(s!.rest).equals(Buffer.concat([sample(1, 1), sample(2, 2), sample(3, 3)])));
  // Unknown fields: kept in a series' rest, skipped at the top level (field 2 is reserved: Cortex's source).
  const unknown = Buffer.from([0x2a, 0x01, 0x00]); // TimeSeries field 5, 1 byte
  const ts2 = Buffer.concat([label('a', 'b'), unknown]);
  const withUnknown = Buffer.concat([Buffer.from([0x10, 0x01, 0x0a, ts2.length]), ts2]);
  const [u] = decodeWriteRequest(withUnknown).series;
  assert.ok(Buffer.from(u!.rest).equals(unknown));
  assert.equal(u!.samples, 0);
  // An empty request.
  assert.deepEqual(decodeWriteRequest(new Uint8Array(0)), { series: [], metadata: [] });
});

test('malformed requests: WriteRequestError saying what and where', () => {
  const ref = encodeRef([up, withExemplar], [md]);
  // Truncated anywhere: an error of this class, or a shorter valid request (cut between messages), never anything else.
  for (let n = 0; n < ref.length; n++) {
    try {
      decodeWriteRequest(ref.subarray(0, n));
    } catch (e) {
      assert.ok(e instanceof WriteRequestError, `cut at ${n}: ${String(e)}`);
    }
  }
  const one = encodeRef([up]);
  let e = errorOf(() => decodeWriteRequest(one.subarray(0, one.length - 3)));
  assert.match(e.message, /^series 0: length \d+ runs past the end of its message/);
  // A series cut inside its last sample (the series' own length made to fit).
  const ts = restRef(up).subarray(0, -3);
  const labels = TimeSeries.encode(TimeSeries.fromObject({ labels: up.labels.map(([name, value]) => ({ name, value })) })).finish();
  const body = Buffer.concat([labels, ts]);
  e = errorOf(() => decodeWriteRequest(Buffer.concat([Buffer.from([0x0a, body.length]), body])));
  assert.match(e.message, /^series 0, sample 1: length \d+ runs past the end of its message .*\(at byte \d+\)$/);
  assert.equal(e.series, 0);

  // Wrong wire types.
  assert.match(errorOf(() => decodeWriteRequest(Buffer.from([0x08, 0x01]))).message, /^request: field 1 \(timeseries\) has wire type 0 \(varint\), want 2 \(length-delimited\) \(at byte 0\)$/);
  assert.match(errorOf(() => decodeWriteRequest(Buffer.from([0x0a, 0x04, 0x0a, 0x02, 0x08, 0x01]))).message, /^series 0, label 0: field 1 \(name\) has wire type 0 \(varint\), want 2/);
  // A sample's value as a varint.
  assert.match(errorOf(() => decodeWriteRequest(Buffer.from([0x0a, 0x0b, 0x0a, 0x05, 0x0a, 0x01, 0x61, 0x12, 0x00, 0x12, 0x02, 0x08, 0x01]))).message,
    /^series 0, sample 0: field 1 \(value\) has wire type 0 \(varint\), want 1 \(fixed64\) \(at byte 11\)$/);
  // An exemplar's timestamp as fixed64, in the second series.
  const field = (tag: number, body: Uint8Array) => Buffer.concat([Buffer.from([tag, body.length]), body]);
  const tsBytes = (t: Ts) => Buffer.from(TimeSeries.encode(TimeSeries.fromObject(tsObject(t))).finish());
  const exemplar = Buffer.from([0x1a, 0x09, 0x19, 1, 2, 3, 4, 5, 6, 7, 8]);
  const req2 = Buffer.concat([field(0x0a, tsBytes(up)), field(0x0a, Buffer.concat([tsBytes({ ...withExemplar, exemplars: [] }), exemplar]))]);
  assert.match(errorOf(() => decodeWriteRequest(req2)).message, /^series 1, exemplar 0: field 3 \(timestamp\) has wire type 1 \(fixed64\), want 0 \(varint\)/);
  // Metadata with a string field as a varint.
  assert.match(errorOf(() => decodeWriteRequest(Buffer.from([0x1a, 0x02, 0x10, 0x01]))).message, /^request, metadata 0: field 2 \(metric_family_name\) has wire type 0/);
  // Field number 0, groups, and a varint of 11 bytes.
  assert.match(errorOf(() => decodeWriteRequest(Buffer.from([0x00, 0x00]))).message, /illegal field number 0/);
  assert.match(errorOf(() => decodeWriteRequest(Buffer.from([0x13, 0x14]))).message, /field 2: unsupported wire type 3 \(group start\)/);
  assert.match(errorOf(() => decodeWriteRequest(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).message, /varint longer than 10 bytes/);
  // A tag whose field number is past protobuf's largest (2^29 - 1).
  assert.match(errorOf(() => decodeWriteRequest(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x10, 0x00]))).message, /illegal field number 536870912/);
});

test('refused as Prometheus refuses (or should): histograms, duplicate and empty names, no labels, invalid UTF-8', () => {
  const hist: Ts = { labels: [['__name__', 'h']], samples: [], exemplars: [], histograms: [{ count_int: 3, sum: 1.5, schema: 0, timestamp: 1000, positive_spans: [{ offset: 0, length: 1 }], positive_deltas: [3] }] };
  const req = encodeRef([up, hist]);
  const e = errorOf(() => decodeWriteRequest(req));
  assert.match(e.message, /^series 1, histogram 0: native histograms are not supported yet \(at byte \d+\)$/);
  assert.equal(e.series, 1);
  const allowed = decodeWriteRequest(req, { allowHistograms: true });
  assert.equal(allowed.series[1]!.histograms, 1);
  assert.ok(Buffer.from(allowed.series[1]!.rest).equals(restRef(hist)));
  assert.ok(encodeWriteRequest(allowed.series, []).equals(req));

  const s = (labels: Pair[]) => encodeRef([up, { labels, samples: [{ value: 1, timestamp: 2 }], exemplars: [] }]);
  assert.match(errorOf(() => decodeWriteRequest(s([['a', '1'], ['a', '2']]))).message, /^series 1, label 1: label name "a" is not unique/);
  assert.match(errorOf(() => decodeWriteRequest(s([['b', '1'], ['a', '1'], ['b', '2']]))).message, /^series 1: label name "b" is not unique/);
  assert.match(errorOf(() => decodeWriteRequest(s([['', 'x']]))).message, /^series 1, label 0: empty label name \(with a value\)/);
  assert.match(errorOf(() => decodeWriteRequest(s([]))).message, /^series 1: no labels/);
  assert.match(errorOf(() => decodeWriteRequest(s([['a', '']]))).message, /^series 1: no labels/);
  const invalid = Buffer.from([0x0a, 0x08, 0x0a, 0x06, 0x0a, 0x01, 0x61, 0x12, 0x01, 0xff]);
  assert.match(errorOf(() => decodeWriteRequest(invalid)).message, /^series 0, label 0: label value is not valid UTF-8 \(at byte 9\)$/);
});

test('mutated requests: an error of this class, or what protobufjs reads, normalised as Prometheus reads it', () => {
  const base = encodeRef([up, withExemplar, { labels: [['__name__', 'x'], ['k', 'v'.repeat(200)]], samples: [{ value: -1.5, timestamp: -5 }], exemplars: [] }], [md]);
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
    const buf = Buffer.from(base);
    for (const [i, b] of edits) buf[i] = b;
    let ours;
    try {
      ours = decodeWriteRequest(buf);
    } catch (e) {
      assert.ok(e instanceof WriteRequestError, String(e));
      return;
    }
    let decoded;
    try {
      decoded = WriteRequest.decode(buf);
    } catch (e) {
      // protobufjs checks UTF-8 in every string; kvass checks it in series labels only and passes exemplar labels
      // and metadata through as bytes, as Prometheus (gogo) reads them without checking.
      if (/utf-8/i.test((e as Error).message)) return;
      throw e;
    }
    const theirs = WriteRequest.toObject(decoded, { longs: Number, arrays: true }) as { timeseries: Array<{ labels?: Array<{ name?: string; value?: string }>; samples?: unknown[]; exemplars?: unknown[] }>; metadata: unknown[] };
    assert.equal(ours.series.length, theirs.timeseries.length);
    assert.equal(ours.metadata.length, theirs.metadata.length);
    ours.series.forEach((s, i) => {
      const t = theirs.timeseries[i]!;
      const labels = (t.labels ?? []).map((l) => [l.name ?? '', l.value ?? ''] as Pair).filter(([, v]) => v !== '').sort((a, b) => utf8Order(a[0], b[0]));
      assert.deepEqual(s.labels, labels);
      assert.equal(s.samples, (t.samples ?? []).length);
      assert.equal(s.exemplars, (t.exemplars ?? []).length);
    });
  }), { numRuns: 2000 });
});

test('withTenantLabel adds the tenant in sorted place, keeps a matching one, refuses a different one', () => {
  const ls: Pair[] = [['__name__', 'up'], ['job', 'x'], ['zone', 'b']];
  assert.deepEqual(withTenantLabel(ls, 'tenant_id', 't'), [['__name__', 'up'], ['job', 'x'], ['tenant_id', 't'], ['zone', 'b']]);
  assert.deepEqual(withTenantLabel(ls, 'a', 't'), [['__name__', 'up'], ['a', 't'], ['job', 'x'], ['zone', 'b']]);
  assert.deepEqual(withTenantLabel(ls, 'A', 't'), [['A', 't'], ['__name__', 'up'], ['job', 'x'], ['zone', 'b']]);
  assert.deepEqual(withTenantLabel(ls, 'zz', 't'), [...ls, ['zz', 't']]);
  assert.deepEqual(withTenantLabel([], 'tenant_id', 't'), [['tenant_id', 't']]);
  assert.deepEqual(ls, [['__name__', 'up'], ['job', 'x'], ['zone', 'b']], 'the input is not changed');
  const same: Pair[] = [['__name__', 'up'], ['tenant_id', 'team-a']];
  assert.equal(withTenantLabel(same, 'tenant_id', 'team-a'), same, 'same value: the same array');
  const e = errorOf(() => withTenantLabel(same, 'tenant_id', 'team-b'));
  assert.match(e.message, /label tenant_id="team-a" conflicts with the tenant "team-b"/);
  // Byte order beyond the BMP: '😀' (F0…) after U+FFEE (EF…).
  assert.deepEqual(withTenantLabel([['\uffee', 'a'], ['😀', 'b']], '\uffef', 't').map(([n]) => n), ['\uffee', '\uffef', '😀']);
  assert.deepEqual(withTenantLabel([['\uffee', 'a'], ['😀', 'b']], '😁', 't').map(([n]) => n), ['\uffee', '😀', '😁']);
  assert.throws(() => withTenantLabel(ls, 'tenant_id', ''), RangeError);
  // Property: the result is sorted, has the tenant once, and all the other labels.
  fc.assert(fc.property(labelsArb, fc.string({ minLength: 1, maxLength: 4, unit: fc.constantFrom('a', 'z', '_', 'é', '😀') }), (labels, name) => {
    const existing = labels.find(([n]) => n === name);
    if (existing) {
      assert.equal(withTenantLabel(labels, name, existing[1]), labels);
      if (existing[1] !== 'other') assert.throws(() => withTenantLabel(labels, name, 'other'), WriteRequestError);
      return;
    }
    const out = withTenantLabel(labels, name, 'v');
    assert.equal(out.length, labels.length + 1);
    assert.deepEqual(out.filter(([n]) => n !== name), labels);
    for (let i = 1; i < out.length; i++) assert.ok(utf8Order(out[i - 1]![0], out[i]![0]) < 0);
  }));
});

test('compareLabelNames is UTF-8 byte order', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 6 }), (a, b) => {
    assert.equal(Math.sign(compareLabelNames(a, b)), Math.sign(utf8Order(a, b)));
  }), { numRuns: 2000 });
});

test('a WireSeries passes to encodeWriteRequest as it is (the router re-encodes the series it splits off)', () => {
  const req = decodeWriteRequest(encodeRef([up, withExemplar, up], [md]));
  const some: WireSeries[] = [req.series[2]!, req.series[1]!];
  const back = decodeWriteRequest(encodeWriteRequest(some, req.metadata));
  assert.deepEqual(back.series.map((s) => s.labels), [up.labels, withExemplar.labels]);
  assert.ok(Buffer.from(back.series[1]!.rest).equals(restRef(withExemplar)));
  assert.equal(back.metadata.length, 1);
});

test('label strings found again in the intern table are the right ones, past its size and across requests', () => {
  // 3 × 40,000 distinct ASCII values (more than the table's slots, so slots are shared and replaced), some long.
  const series = (round: number) => Array.from({ length: 40_000 }, (_, i) => ({
    labels: [['__name__', `m${i % 50}`], ['id', `v${(i * 7919 + round) % 40_000}`], ['k', i % 3 === 0 ? 'x'.repeat(60 + (i % 10)) + i : `w${i}`]] as Pair[],
    samples: [{ value: i, timestamp: round }],
    exemplars: [],
  }));
  for (const round of [0, 1, 0, 2]) {
    const want = series(round);
    const got = decodeWriteRequest(encodeRef(want)).series;
    for (let i = 0; i < want.length; i++) assert.deepEqual(got[i]!.labels, want[i]!.labels, `round ${round}, series ${i}`);
  }
});
