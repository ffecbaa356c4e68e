/**
 * Samples on the remote-read wire: the Sample message (value = 1, a double; timestamp = 2, an int64; either left out
 * when zero), decoded into arrays and written back, with Prometheus's staleness marker kept apart (its NaN bit
 * pattern does not survive JavaScript arrays). Also the TimeSeries and QueryResult writers used by tests and benches.
 */
import { WIRE_FIXED64, WIRE_VARINT, WireError, WireReader, WireWriter, varintSize } from './wire.js';

/** Decoded samples of one series, in time order. */
export interface Samples {
  t: number[];
  v: number[];
  /**
   * Indices whose value is Prometheus's staleness marker (the NaN with bits 0x7ff0000000000002), set only when there
   * is one: JavaScript arrays do not keep a NaN's bit pattern, so the marker is carried beside the value.
   */
  stale?: boolean[];
}

/** The staleness marker's bytes as protobuf writes a double (little-endian). */
export const STALE_NAN_LE = Buffer.from([0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);

export function isStale(s: Samples, i: number): boolean {
  return s.stale !== undefined && s.stale[i] === true;
}

/** Appends a sample (keeping the stale flags aligned when there are any). */
export function pushSample(out: Samples, t: number, v: number, stale: boolean): void {
  if (stale && !out.stale) out.stale = new Array<boolean>(out.t.length).fill(false);
  out.t.push(t);
  out.v.push(v);
  if (out.stale) out.stale.push(stale);
}

/** The last sample of `s` alone. */
export function lastSample(s: Samples): Samples {
  const n = s.t.length;
  if (n <= 1) return s;
  const out: Samples = { t: [s.t[n - 1]!], v: [s.v[n - 1]!] };
  if (isStale(s, n - 1)) out.stale = [true];
  return out;
}

/**
 * Decodes sample fields in [start, end) (a samples region; with `anyFields`, a whole series message whose other
 * fields are skipped).
 */
export function decodeSamples(buf: Uint8Array, start: number, end: number, out: Samples = { t: [], v: [] }, anyFields = false): Samples {
  const r = new WireReader(buf, start, end);
  while (r.pos < end) {
    const fast = decodeUsualSample(buf, r.view, r.pos, end, out);
    if (fast > 0) {
      r.pos = fast;
      continue;
    }
    const tag = r.uint32();
    if (tag !== 0x12) {
      if (!anyFields) throw new WireError(`unexpected field in samples (tag ${tag})`);
      r.skip(tag & 7);
      continue;
    }
    const n = r.len();
    const e = r.pos + n;
    let t = 0;
    let v = 0;
    let stale = false;
    while (r.pos < e) {
      const ft = r.uint32();
      if (ft === ((1 << 3) | WIRE_FIXED64)) {
        stale = r.pos + 8 <= e && buf[r.pos] === 0x02 && buf[r.pos + 7] === 0x7f && buf[r.pos + 6] === 0xf0 && buf[r.pos + 1] === 0 && buf[r.pos + 2] === 0 && buf[r.pos + 3] === 0 && buf[r.pos + 4] === 0 && buf[r.pos + 5] === 0;
        v = r.double();
      } else if (ft === ((2 << 3) | WIRE_VARINT)) t = r.int64();
      else r.skip(ft & 7);
    }
    if (r.pos !== e) throw new WireError('sample overruns');
    pushSample(out, t, v, stale);
  }
  return out;
}

const isStaleAt = (buf: Uint8Array, p: number): boolean =>
  buf[p] === 0x02 && buf[p + 7] === 0x7f && buf[p + 6] === 0xf0 && buf[p + 1] === 0 && buf[p + 2] === 0 && buf[p + 3] === 0 && buf[p + 4] === 0 && buf[p + 5] === 0;

/**
 * One sample field laid out as Prometheus writes it (tag 0x12, a one-byte length, then 0x09 + 8 bytes of value,
 * left out when 0, then 0x10 + a non-negative timestamp varint of at most 7 bytes, exact in a double) decoded without the reader;
 * returns the position after it, or 0 for anything else (the general loop then reads it field by field).
 */
function decodeUsualSample(buf: Uint8Array, view: DataView, p: number, end: number, out: Samples): number {
  if (buf[p] !== 0x12 || p + 1 >= end) return 0;
  const n = buf[p + 1]!;
  const e = p + 2 + n;
  if (n >= 128 || e > end) return 0;
  let q = p + 2;
  let v = 0;
  let stale = false;
  if (buf[q] === 0x09) {
    if (q + 9 > e) return 0;
    stale = isStaleAt(buf, q + 1);
    v = view.getFloat64(q + 1, true);
    q += 9;
  }
  if (buf[q] !== 0x10) return 0;
  q++;
  let t = 0;
  let scale = 1;
  for (let k = 0; ; k++) {
    if (q >= e || k === 7) return 0;
    const b = buf[q++]!;
    t += (b & 0x7f) * scale;
    if (b < 0x80) break;
    scale *= 128;
  }
  if (q !== e) return 0;
  pushSample(out, t, v, stale);
  return e;
}

const sampleBodySize = (t: number): number => 9 + 1 + (t < 0 ? 10 : varintSize(t));

export function samplesSize(s: Samples): number {
  let n = 0;
  for (let i = 0; i < s.t.length; i++) {
    const b = sampleBodySize(s.t[i]!);
    n += 1 + varintSize(b) + b;
  }
  return n;
}

export function writeSamples(w: WireWriter, s: Samples): void {
  for (let i = 0; i < s.t.length; i++) {
    w.byte(0x12);
    w.uvarint(sampleBodySize(s.t[i]!));
    w.byte(0x09);
    if (isStale(s, i)) w.bytes(STALE_NAN_LE);
    else w.double(s.v[i]!);
    w.byte(0x10);
    w.int64(s.t[i]!);
  }
}

/** The label pairs of a TimeSeries message, as Prometheus writes them (name then value). */
function writeLabels(w: WireWriter, labels: ReadonlyArray<readonly [string, string]>): void {
  for (const [name, value] of labels) {
    const nb = Buffer.byteLength(name);
    const vb = Buffer.byteLength(value);
    w.byte(0x0a);
    w.uvarint(1 + varintSize(nb) + nb + 1 + varintSize(vb) + vb);
    w.byte(0x0a);
    w.string(name);
    w.byte(0x12);
    w.string(value);
  }
}

/** A TimeSeries message: labels then samples, as Prometheus writes it. */
export function encodeSeries(labels: ReadonlyArray<readonly [string, string]>, samples: Samples): Buffer {
  const w = new WireWriter(64 + samplesSize(samples));
  writeLabels(w, labels);
  writeSamples(w, samples);
  return w.finish();
}

/** A ReadResponse with one query result of the given series (tests and benchmarks). */
export function encodeQueryResult(series: ReadonlyArray<{ labels: ReadonlyArray<readonly [string, string]>; samples: Samples }>): Buffer {
  const parts = series.map((s) => encodeSeries(s.labels, s.samples));
  const body = parts.reduce((n, p) => n + 1 + varintSize(p.length) + p.length, 0);
  const w = new WireWriter(body + 12);
  w.byte(0x0a);
  w.uvarint(body);
  for (const p of parts) {
    w.byte(0x0a);
    w.uvarint(p.length);
    w.bytes(p);
  }
  return w.finish();
}
