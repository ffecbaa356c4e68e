/**
 * The series payload of a remote-read SAMPLES response (ReadResponse → QueryResult → TimeSeries), scanned into a
 * flat table of byte offsets without building an object per series or label: a series the gateway does not change
 * is written back by copying its label and sample bytes. 100k series scan in tens of milliseconds.
 *
 * Field numbers (prompb): ReadResponse.results = 1; QueryResult.timeseries = 1; TimeSeries.labels = 1,
 * samples = 2, exemplars = 3, histograms = 4; Label.name = 1, value = 2; Sample.value = 1 (double),
 * timestamp = 2 (int64).
 *
 * Prometheus writes a series' labels first, then its samples. A series laid out otherwise (legal protobuf) is
 * re-encoded that way into a side buffer when scanned, so the rest of the code sees one layout.
 */
import { WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, WireError, WireReader, WireWriter, varintSize } from './wire.js';
import { decodeSamples, encodeSeries, samplesSize, writeSamples, type Samples } from './samples.js';

export * from './samples.js';

// Per series, FIELDS int32s: buffer index, labels [start, end), cut [start, end) (a replica label's field, left out
// of the key and the output), samples [start, end), flags, start of the last sample field.
const FIELDS = 9;
const BUF = 0, L0 = 1, L1 = 2, C0 = 3, C1 = 4, S0 = 5, S1 = 6, FLAGS = 7, LAST = 8;
const FLAG_HISTOGRAMS = 1;

// ignoreBOM: a label name or value may begin with U+FEFF, which a decoder otherwise takes off as a byte order mark.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

declare module 'node:buffer' {
  interface Buffer {
    /** Node's native latin1 decoding of [start, end) (what toString('latin1', …) calls, without its checks). */
    latin1Slice(start: number, end: number): string;
  }
}

/** A reusable buffer for sortKey(). */
export interface SortScratch {
  buf: Buffer;
}

/** The series of one query result. */
export class SeriesTable {
  /** Buffer views (Buffer's native latin1 slicing and copying, without a view per call). */
  readonly bufs: Buffer[];
  data: Int32Array;
  n = 0;
  /** Series with more than one replica label: their further cut ranges. */
  readonly extraCuts = new Map<number, number[]>();

  constructor(buf: Uint8Array, readonly replicaNames: readonly Uint8Array[], capacity = 64) {
    this.bufs = [asBuffer(buf)];
    this.data = new Int32Array(capacity * FIELDS);
  }

  /** @internal */
  push(buf: number, l0: number, l1: number, c0: number, c1: number, s0: number, s1: number, flags: number, last: number): number {
    if ((this.n + 1) * FIELDS > this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    const d = this.data;
    const b = this.n * FIELDS;
    d[b + BUF] = buf; d[b + L0] = l0; d[b + L1] = l1; d[b + C0] = c0; d[b + C1] = c1; d[b + S0] = s0; d[b + S1] = s1; d[b + FLAGS] = flags; d[b + LAST] = last;
    return this.n++;
  }

  buf(i: number): Buffer {
    return this.bufs[this.data[i * FIELDS + BUF]!]!;
  }

  hasHistograms(i: number): boolean {
    return (this.data[i * FIELDS + FLAGS]! & FLAG_HISTOGRAMS) !== 0;
  }

  /**
   * A string whose order (JavaScript's, by code unit) is Prometheus's label-set order for the kept labels: each
   * name and value as latin1 of its UTF-8 bytes, each followed by a 0 byte (below every other byte, so a prefix
   * sorts first). Only a 0 byte inside a value could order differently; Prometheus sorts what it reads anyway.
   */
  sortKey(i: number, scratch: SortScratch): string {
    const buf = this.buf(i);
    const ranges = this.keptRanges(i);
    let n = 0;
    const put = (from: number, to: number): void => {
      if (n + to - from + 1 > scratch.buf.length) {
        const bigger = Buffer.allocUnsafe(Math.max(scratch.buf.length * 2, n + to - from + 1));
        scratch.buf.copy(bigger, 0, 0, n);
        scratch.buf = bigger;
      }
      const out = scratch.buf;
      for (let k = from; k < to; k++) out[n++] = buf[k]!;
      out[n++] = 0;
    };
    for (let j = 0; j < ranges.length; j += 2) {
      let p = ranges[j]!;
      const end = ranges[j + 1]!;
      while (p < end) {
        // The usual layout (one-byte lengths, name then value) inline; anything else through the reader.
        const q = p + 2;
        const len = buf[p + 1]!;
        const nl = buf[q + 1]!;
        const vl = buf[q + 3 + nl]!;
        if (buf[p] === 0x0a && len < 128 && buf[q] === 0x0a && nl < 128 && buf[q + 2 + nl] === 0x12 && vl < 128 && q + 4 + nl + vl === q + len) {
          put(q + 2, q + 2 + nl);
          put(q + 4 + nl, q + 4 + nl + vl);
          p = q + len;
          continue;
        }
        const r = new WireReader(buf, p, end);
        r.uint32();
        const labelLen = r.len();
        const labelEnd = r.pos + labelLen;
        while (r.pos < labelEnd) {
          const tag = r.uint32();
          if (tag !== 0x0a && tag !== 0x12) {
            r.skip(tag & 7);
            continue;
          }
          const m = r.len();
          put(r.pos, r.pos + m);
          r.pos += m;
        }
        p = labelEnd;
      }
    }
    return scratch.buf.latin1Slice(0, n);
  }

  /** [start, end) ranges of the label fields that are kept (replica labels cut out). */
  keptRanges(i: number): number[] {
    const d = this.data;
    const b = i * FIELDS;
    const extra = this.extraCuts.size > 0 ? this.extraCuts.get(i) : undefined;
    if (d[b + C0] === d[b + C1] && !extra) return [d[b + L0]!, d[b + L1]!];
    const cuts = [d[b + C0]!, d[b + C1]!, ...(extra ?? [])];
    const out: number[] = [];
    let from = d[b + L0]!;
    for (let k = 0; k < cuts.length; k += 2) {
      if (cuts[k] === cuts[k + 1]) continue;
      if (cuts[k]! > from) out.push(from, cuts[k]!);
      from = cuts[k + 1]!;
    }
    if (d[b + L1]! > from) out.push(from, d[b + L1]!);
    return out;
  }

  /** Identity of the series without its replica labels: its label bytes (protobuf is canonical here) as latin1. */
  key(i: number): string {
    const d = this.data;
    const b = i * FIELDS;
    const buf = this.bufs[d[b + BUF]!]!;
    if (d[b + C0] === d[b + C1] && (this.extraCuts.size === 0 || !this.extraCuts.has(i))) return buf.latin1Slice(d[b + L0]!, d[b + L1]!);
    const r = this.keptRanges(i);
    let k = '';
    for (let j = 0; j < r.length; j += 2) k += buf.latin1Slice(r[j]!, r[j + 1]!);
    return k;
  }

  /**
   * The series' replica label fields (the cut ranges) as latin1 of their bytes, in label order: '' when it has none.
   * Two copies with the same key come from the same replica.
   */
  replicaKey(i: number): string {
    const d = this.data;
    const b = i * FIELDS;
    if (d[b + C0] === d[b + C1]) return '';
    const buf = this.buf(i);
    let k = buf.latin1Slice(d[b + C0]!, d[b + C1]!);
    const extra = this.extraCuts.size > 0 ? this.extraCuts.get(i) : undefined;
    if (extra) for (let j = 0; j < extra.length; j += 2) k += buf.latin1Slice(extra[j]!, extra[j + 1]!);
    return k;
  }

  /** Label pairs, replica labels left out unless `all`. */
  labels(i: number, all = false): Array<[string, string]> {
    const d = this.data;
    const b = i * FIELDS;
    const buf = this.buf(i);
    const ranges = all ? [d[b + L0]!, d[b + L1]!] : this.keptRanges(i);
    const out: Array<[string, string]> = [];
    for (let j = 0; j < ranges.length; j += 2) collectLabels(buf, ranges[j]!, ranges[j + 1]!, out);
    return out;
  }

  samplesRange(i: number): [number, number] {
    return [this.data[i * FIELDS + S0]!, this.data[i * FIELDS + S1]!];
  }

  samples(i: number, out: Samples = { t: [], v: [] }): Samples {
    const [s0, s1] = this.samplesRange(i);
    return decodeSamples(this.buf(i), s0, s1, out);
  }

  /** [start, end) of the last sample field (empty range when there is none). */
  lastSampleRange(i: number): [number, number] {
    return [this.data[i * FIELDS + LAST]!, this.data[i * FIELDS + S1]!];
  }
}

function isReplicaName(buf: Uint8Array, start: number, end: number, names: readonly Uint8Array[]): boolean {
  outer: for (const name of names) {
    if (end - start !== name.length) continue;
    for (let k = 0; k < name.length; k++) if (buf[start + k] !== name[k]) continue outer;
    return true;
  }
  return false;
}

/** Name bytes [start, end) of the label message whose body is [pos, end). */
function labelNameRange(r: WireReader, end: number): [number, number] {
  let ns = 0;
  let ne = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    if ((tag >>> 3 === 1 || tag >>> 3 === 2) && (tag & 7) === WIRE_LEN) {
      const n = r.len();
      if (tag >>> 3 === 1) {
        ns = r.pos;
        ne = r.pos + n;
      }
      r.pos += n;
    } else r.skip(tag & 7);
  }
  if (r.pos !== end) throw new WireError('label message overruns');
  return [ns, ne];
}

/** Throws WireError unless [start, end) is a well-formed Sample message (unknown fields are allowed, as protobuf allows). */
function checkSample(buf: Uint8Array, start: number, end: number): void {
  const r = new WireReader(buf, start, end);
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_FIXED64)) r.double();
    else if (tag === ((2 << 3) | WIRE_VARINT)) r.int64();
    else r.skip(tag & 7);
  }
  if (r.pos !== end) throw new WireError('sample overruns its message');
}

/** Scans one TimeSeries message [start, end) into the table. */
function scanSeries(t: SeriesTable, r: WireReader, end: number): void {
  const start = r.pos;
  let l0 = -1, l1 = -1, s0 = -1, s1 = -1, c0 = 0, c1 = 0, flags = 0, last = -1;
  let canonical = true;
  let extra: number[] | undefined;
  let lastField = 0;
  while (r.pos < end) {
    const fieldStart = r.pos;
    const tag = r.uint32();
    const field = tag >>> 3;
    const wt = tag & 7;
    if (field === 1 && wt === WIRE_LEN) {
      const n = r.len();
      const bodyEnd = r.pos + n;
      if (bodyEnd > end) throw new WireError('label runs past its series');
      if (l0 < 0) l0 = fieldStart;
      else if (l1 !== fieldStart) canonical = false;
      // Fast path for the usual layout (name then value, one-byte lengths); labelNameRange handles any other.
      const buf = r.buf;
      const q = r.pos;
      let ns: number;
      let ne: number;
      if (n >= 4 && buf[q] === 0x0a && buf[q + 1]! < 128 && buf[q + 2 + buf[q + 1]!] === 0x12 && q + 4 + buf[q + 1]! + buf[q + 3 + buf[q + 1]!]! === bodyEnd && buf[q + 3 + buf[q + 1]!]! < 128) {
        ns = q + 2;
        ne = ns + buf[q + 1]!;
        r.pos = bodyEnd;
      } else [ns, ne] = labelNameRange(r, bodyEnd);
      l1 = bodyEnd;
      if (t.replicaNames.length > 0 && isReplicaName(r.buf, ns, ne, t.replicaNames)) {
        if (c0 === c1) {
          c0 = fieldStart;
          c1 = bodyEnd;
        } else (extra ??= []).push(fieldStart, bodyEnd);
      }
    } else if (field === 2 && wt === WIRE_LEN) {
      const n = r.len();
      if (s0 < 0) s0 = fieldStart;
      else if (s1 !== fieldStart) canonical = false;
      last = fieldStart;
      checkSample(r.buf, r.pos, r.pos + n);
      r.pos += n;
      // The samples that follow, checked and walked without method calls when laid out as Prometheus writes them
      // (tag 0x12, a one-byte length, then 0x09 + 8 bytes and 0x10 + a varint, either omitted when zero); anything
      // else goes back to the general loop, which checks it field by field.
      const buf = r.buf;
      let p = r.pos;
      fast: while (p + 1 < end && buf[p] === 0x12 && buf[p + 1]! < 128) {
        const sampleEnd = p + 2 + buf[p + 1]!;
        if (sampleEnd > end) break;
        let q = p + 2;
        while (q < sampleEnd) {
          if (buf[q] === 0x09) q += 9;
          else if (buf[q] === 0x10) {
            const varintEnd = Math.min(sampleEnd, q + 11);
            q++;
            while (q < varintEnd && buf[q]! >= 0x80) q++;
            q++;
          } else break fast;
        }
        if (q !== sampleEnd) break;
        last = p;
        p = sampleEnd;
      }
      r.pos = p;
      s1 = r.pos;
      if (lastField !== 1 && lastField !== 2 && lastField !== 0) canonical = false;
    } else {
      if (field === 4) flags |= FLAG_HISTOGRAMS;
      r.skip(wt);
    }
    if (field === 1 && lastField === 2) canonical = false;
    lastField = field;
    if (r.pos > end) throw new WireError('series field runs past its message');
  }
  if (l0 < 0) l0 = l1 = start;
  if (s0 < 0) s0 = s1 = last = l1;
  if (canonical) {
    const i = t.push(0, l0, l1, c0, c1, s0, s1, flags, last);
    if (extra) t.extraCuts.set(i, extra);
    return;
  }
  // Fields interleaved: re-encode labels-then-samples into a buffer of its own and scan that.
  const own = encodeSeries(collectLabels(r.buf, start, end), decodeSamples(r.buf, start, end, { t: [], v: [] }, true));
  const tmp = new SeriesTable(own, t.replicaNames);
  scanSeries(tmp, new WireReader(own), own.length);
  const d = tmp.data;
  const bi = t.bufs.push(asBuffer(own)) - 1;
  const i = t.push(bi, d[L0]!, d[L1]!, d[C0]!, d[C1]!, d[S0]!, d[S1]!, flags, d[LAST]!);
  const ec = tmp.extraCuts.get(0);
  if (ec) t.extraCuts.set(i, ec);
}

/** The label fields (tag 1) among the fields in [start, end), decoded; other fields are skipped. */
function collectLabels(buf: Uint8Array, start: number, end: number, out: Array<[string, string]> = []): Array<[string, string]> {
  const r = new WireReader(buf, start, end);
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag !== 0x0a) {
      r.skip(tag & 7);
      continue;
    }
    const labelLen = r.len();
    const e = r.pos + labelLen;
    let name = '';
    let value = '';
    while (r.pos < e) {
      const t2 = r.uint32();
      if (t2 === 0x0a || t2 === 0x12) {
        const n = r.len();
        const s = decoder.decode(buf.subarray(r.pos, r.pos + n));
        r.pos += n;
        if (t2 === 0x0a) name = s;
        else value = s;
      } else r.skip(t2 & 7);
    }
    out.push([name, value]);
  }
  return out;
}

/** Scans a decompressed ReadResponse: one table per query result. Throws WireError on malformed input. */
export function scanReadResponse(buf: Uint8Array, replicaLabels: readonly string[] = []): SeriesTable[] {
  const names = replicaLabels.map((n) => new TextEncoder().encode(n));
  const r = new WireReader(buf);
  const results: SeriesTable[] = [];
  while (!r.done()) {
    const tag = r.uint32();
    if (tag !== 0x0a) {
      r.skip(tag & 7);
      continue;
    }
    const n = r.len();
    const resultEnd = r.pos + n;
    const table = new SeriesTable(buf, names, Math.max(64, n >>> 8));
    while (r.pos < resultEnd) {
      const t = r.uint32();
      if (t === 0x0a) {
        const len = r.len();
        scanSeries(table, r, r.pos + len);
      } else r.skip(t & 7);
    }
    if (r.pos !== resultEnd) throw new WireError('query result overruns');
    results.push(table);
  }
  return results;
}

/** One series to write: labels (kept ranges) from a table, samples raw from it, from `range`, or given decoded. */
export interface OutSeries {
  table: SeriesTable;
  i: number;
  /** Samples to write instead of the series' own. */
  samples?: Samples;
  /** A sub-range of the series' sample bytes to write instead of all of them (e.g. its last sample). */
  range?: [number, number];
}

/** Encodes a ReadResponse (uncompressed) with one QueryResult per element of `results`. */
export function encodeReadResponse(results: OutSeries[][]): Buffer {
  const sizes: number[][] = [];
  const resultSizes: number[] = [];
  const kept: number[][][] = [];
  let total = 0;
  for (const series of results) {
    const ss: number[] = [];
    const ks: number[][] = [];
    let rs = 0;
    for (const o of series) {
      const k = o.table.keptRanges(o.i);
      let n = 0;
      for (let j = 0; j < k.length; j += 2) n += k[j + 1]! - k[j]!;
      if (o.samples) n += samplesSize(o.samples);
      else {
        const [s0, s1] = o.range ?? o.table.samplesRange(o.i);
        n += s1 - s0;
      }
      ss.push(n);
      ks.push(k);
      rs += 1 + varintSize(n) + n;
    }
    sizes.push(ss);
    kept.push(ks);
    resultSizes.push(rs);
    total += 1 + varintSize(rs) + rs;
  }
  const w = new WireWriter(total);
  results.forEach((series, qi) => {
    w.byte(0x0a);
    w.uvarint(resultSizes[qi]!);
    series.forEach((o, si) => {
      const buf = o.table.buf(o.i);
      w.byte(0x0a);
      w.uvarint(sizes[qi]![si]!);
      const k = kept[qi]![si]!;
      for (let j = 0; j < k.length; j += 2) w.bytes(buf, k[j]!, k[j + 1]!);
      if (o.samples) writeSamples(w, o.samples);
      else {
        const [s0, s1] = o.range ?? o.table.samplesRange(o.i);
        w.bytes(buf, s0, s1);
      }
    });
  });
  return w.finish();
}
