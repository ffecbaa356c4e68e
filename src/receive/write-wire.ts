/**
 * Prometheus remote write 1.0 on the wire, as the router needs it: a (decompressed) `WriteRequest` is decoded into
 * its series' labels (strings, for the tenant label and the hashring) and, per series, the rest of the TimeSeries
 * message as bytes (samples and exemplars, never decoded into objects), which the router copies through unchanged
 * when it re-encodes the series it sends to each ingestor.
 *
 * Field numbers (prompb remote.proto and types.proto, Prometheus 2.42): WriteRequest.timeseries = 1 (field 2 is
 * reserved), metadata = 3; TimeSeries.labels = 1, samples = 2, exemplars = 3, histograms = 4; Label.name = 1,
 * value = 2; Sample.value = 1 (double), timestamp = 2 (int64); Exemplar.labels = 1, value = 2 (double),
 * timestamp = 3 (int64); MetricMetadata.type = 1 (enum), metric_family_name = 2, help = 4, unit = 5.
 *
 * What is checked, and why (every refusal is a WriteRequestError, which the router answers with 400):
 * - The protobuf itself, all of it, as Prometheus's generated (gogo) decoder checks it: truncation, lengths past
 *   their message, a known field with the wrong wire type, field number 0, wire types 3, 4 (groups), 6 and 7; also
 *   field numbers above 2^29 - 1, which protobuf forbids (gogo lets them through, protobufjs does not). Samples, exemplars (and their labels) and metadata are checked too although they pass through as bytes, so that
 *   an ingestor never gets a body it would refuse. Unknown fields are skipped as protobuf allows: inside a
 *   TimeSeries they stay in its `rest` and pass through; inside a Label or at the WriteRequest's top level they are
 *   dropped (those messages are re-encoded).
 * - Labels are read as Prometheus 2.42's receiver reads them (storage/remote/codec.go labelProtosToLabels, then
 *   tsdb/head_append.go Append): a label with an empty value is dropped (Prometheus's `WithoutEmpty`: an empty value
 *   is the same as no label), and the labels are sorted by name in byte order (Go's string order; Prometheus's
 *   own client always sends them sorted, so this is only a check in practice). Within one Label message the last
 *   occurrence of a field wins, as protobuf merges scalars.
 * - Refused where Prometheus refuses the series (it answers 500 there, which the remote-write client retries
 *   forever; Thanos's ingestor answers 409 for the same series): a label name given twice (after empty values are
 *   dropped: Prometheus's `label name "x" is not unique`), and a series left with no labels (`empty labelset`).
 * - Refused although Prometheus 2.42 accepts it: a label with an empty name and a non-empty value (Thanos's
 *   ErrEmptyLabels; Prometheus would store a nameless label), and a label name or value that is not valid UTF-8
 *   (kvass decodes labels to strings, and will not rewrite them silently; Prometheus's scraper never produces such
 *   labels). Exemplar labels and metadata strings pass through as bytes and are not checked for UTF-8.
 * - Not checked, as neither Prometheus 2.42 nor Thanos checks it on remote write: that `__name__` is present, that
 *   label names match [a-zA-Z_][a-zA-Z0-9_]*, sample order and values.
 * - Native histograms (TimeSeries field 4) are refused with the series' index unless `allowHistograms` (then they
 *   are counted, checked only as length-delimited fields, and pass through in `rest`).
 *
 * Speed: one pass over the request with no object per sample; per series, one array of label pairs and one view of
 * the rest of its message. ASCII label strings (the usual case) are found again in an intern table (see
 * labelString) rather than made anew for every series of every request.
 */
import { compareUtf8 } from '../prom/labels.js';
import { WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, varintSize } from '../query/remote/wire.js';

/** A malformed or refused WriteRequest; the message says what and where (series index, field, byte offset). */
export class WriteRequestError extends Error {
  constructor(message: string, readonly series?: number, readonly offset?: number) {
    super(message);
    this.name = 'WriteRequestError';
  }
}

export interface WireSeries {
  /**
   * Label pairs as Prometheus reads them: sorted by name (UTF-8 byte order), without labels whose value is empty,
   * names unique and non-empty. For a series from Prometheus's client, exactly the labels in the order received.
   */
  labels: Array<[string, string]>;
  /**
   * The TimeSeries message's fields other than its labels (samples, exemplars, histograms when allowed, unknown
   * fields), as bytes in the order received: a view into the request buffer (which it keeps alive) when they are
   * contiguous, as Prometheus writes them (labels first); a copy otherwise. Written back unchanged by
   * encodeWriteRequest.
   */
  rest: Uint8Array;
  /** Count of samples. */
  samples: number;
  /** Count of exemplars. */
  exemplars: number;
  /** Count of native histograms (always 0 unless decoded with `allowHistograms`). */
  histograms: number;
}

export interface WireWriteRequest {
  series: WireSeries[];
  /** The MetricMetadata messages' bytes, in order (views into the request buffer), checked, passed through. */
  metadata: Uint8Array[];
}

export interface DecodeOptions {
  /** Count native histograms and pass them through instead of refusing the request (default false). */
  allowHistograms?: boolean;
}

/** A series to encode: labels (written in the order given) and the rest of its TimeSeries message as bytes. */
export interface OutSeries {
  readonly labels: ReadonlyArray<readonly [string, string]>;
  readonly rest: Uint8Array;
}

const EMPTY = new Uint8Array(0);
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

declare module 'node:buffer' {
  interface Buffer {
    /** Node's native latin1 decoding of [start, end) (what toString('latin1', …) calls, without its checks). */
    latin1Slice(start: number, end: number): string;
    /** Node's native latin1 encoding of `s` at `offset` (what write(s, offset, 'latin1') calls). */
    latin1Write(s: string, offset: number, length: number): number;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding. The cursor and the error context are module state: decoding is synchronous and allocates nothing per
// field. `what`/`part` name the part being read for error messages.

let p = 0;
let seriesIx = -1;
let what = '';
let part = -1;

function fail(message: string, at = p): never {
  let where = seriesIx >= 0 ? `series ${seriesIx}` : 'request';
  if (what) where += part >= 0 ? `, ${what} ${part}` : `, ${what}`;
  throw new WriteRequestError(`${where}: ${message} (at byte ${at})`, seriesIx >= 0 ? seriesIx : undefined, at);
}

/** A varint as a number (exact below 2^53; tags and lengths). */
function uvarint(buf: Uint8Array, end: number): number {
  if (p < end) {
    const b = buf[p]!;
    if (b < 0x80) {
      p++;
      return b;
    }
  }
  const start = p;
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (p >= end) fail('truncated varint', start);
    const b = buf[p++]!;
    v += (b & 0x7f) * mul;
    if (b < 0x80) return v;
    mul *= 128;
  }
  return fail('varint longer than 10 bytes', start);
}

function skipVarint(buf: Uint8Array, end: number): void {
  const start = p;
  for (let i = 0; i < 10; i++) {
    if (p >= end) fail('truncated varint', start);
    if (buf[p++]! < 0x80) return;
  }
  fail('varint longer than 10 bytes', start);
}

/** The length of a length-delimited field; leaves p at its first byte. */
function length(buf: Uint8Array, end: number): number {
  const at = p;
  const n = uvarint(buf, end);
  if (n > end - p) fail(`length ${n} runs past the end of its message (${end - p} bytes left)`, at);
  return n;
}

const WIRE_NAMES = ['varint', 'fixed64', 'length-delimited', 'group start', 'group end', 'fixed32'];
const wireName = (wt: number): string => WIRE_NAMES[wt] ?? `unknown wire type ${wt}`;

/** Skips a field of an unknown number (its tag read, at `at`). */
function skipField(buf: Uint8Array, end: number, tag: number, at: number): void {
  const wt = tag % 8;
  if (tag < 8) fail(`illegal field number 0 (wire type ${wt})`, at);
  if (tag >= 2 ** 32) fail(`illegal field number ${Math.floor(tag / 8)} (above protobuf's 2^29 - 1)`, at);
  switch (wt) {
    case WIRE_VARINT:
      skipVarint(buf, end);
      return;
    case WIRE_FIXED64:
      if (end - p < 8) fail('truncated fixed64', at);
      p += 8;
      return;
    case WIRE_LEN: {
      const n = length(buf, end); // moves p: not `p += length(…)`, which would add to the old p
      p += n;
      return;
    }
    case WIRE_FIXED32:
      if (end - p < 4) fail('truncated fixed32', at);
      p += 4;
      return;
    default:
      fail(`field ${Math.floor(tag / 8)}: unsupported wire type ${wt} (${wireName(wt)})`, at);
  }
}

function wrongType(field: string, tag: number, want: number, at: number): never {
  return fail(`field ${Math.floor(tag / 8)} (${field}) has wire type ${tag % 8} (${wireName(tag % 8)}), want ${want} (${wireName(want)})`, at);
}

/**
 * Checks the fields in [p, end) against `types` (per field number, its wire type; fields not listed are skipped).
 * Length-delimited fields listed in `nested` are checked as Label messages. Leaves p at end.
 */
function checkMessage(buf: Uint8Array, end: number, names: readonly string[], types: readonly number[], nested = 0): void {
  while (p < end) {
    const at = p;
    const tag = uvarint(buf, end);
    const field = Math.floor(tag / 8);
    const want = field < types.length ? types[field]! : -1;
    if (want < 0) {
      skipField(buf, end, tag, at);
      continue;
    }
    if (tag % 8 !== want) wrongType(names[field]!, tag, want, at);
    if (want === WIRE_LEN) {
      const n = length(buf, end);
      const bodyEnd = p + n;
      if (field === nested) checkMessage(buf, bodyEnd, LABEL_NAMES, LABEL_TYPES);
      p = bodyEnd;
    } else skipField(buf, end, tag, at);
  }
}

const LABEL_NAMES = ['', 'name', 'value'];
const LABEL_TYPES = [-1, WIRE_LEN, WIRE_LEN];
const SAMPLE_NAMES = ['', 'value', 'timestamp'];
const SAMPLE_TYPES = [-1, WIRE_FIXED64, WIRE_VARINT];
const EXEMPLAR_NAMES = ['', 'labels', 'value', 'timestamp'];
const EXEMPLAR_TYPES = [-1, WIRE_LEN, WIRE_FIXED64, WIRE_VARINT];
const METADATA_NAMES = ['', 'type', 'metric_family_name', '', 'help', 'unit'];
const METADATA_TYPES = [-1, WIRE_VARINT, WIRE_LEN, -1, WIRE_LEN, WIRE_LEN];

/** Checks one Sample message [p, end): the layout Prometheus writes inline, anything else field by field. */
function checkSample(buf: Uint8Array, end: number): void {
  let q = p;
  // value: 0x09 + 8 bytes; timestamp: 0x10 + varint; either left out when zero, in either order.
  while (q < end) {
    const t = buf[q]!;
    if (t === 0x09 && end - q >= 9) q += 9;
    else if (t === 0x10) {
      const stop = Math.min(end, q + 11);
      q++;
      while (q < stop && buf[q]! >= 0x80) q++;
      if (q >= stop) {
        q = -1; // truncated or too long: the general loop says which
        break;
      }
      q++;
    } else break;
  }
  if (q === end) {
    p = end;
    return;
  }
  checkMessage(buf, end, SAMPLE_NAMES, SAMPLE_TYPES);
}

/** Order of name bytes [a0, a1) against [b0, b1) (Go's string comparison). */
function compareBytes(buf: Uint8Array, a0: number, a1: number, b0: number, b1: number): number {
  const n = Math.min(a1 - a0, b1 - b0);
  for (let i = 0; i < n; i++) {
    const d = buf[a0 + i]! - buf[b0 + i]!;
    if (d !== 0) return d;
  }
  return a1 - a0 - (b1 - b0);
}

// Label strings repeat from request to request (names always, most values too: a series comes back every scrape
// interval), and making a string costs more than finding it again. ASCII strings up to INTERN_MAX bytes are looked
// up by a hash of their bytes in a direct-mapped table (a slot keeps the last string that hashed there; a hit is
// checked byte for byte), so that a repeated label costs a hash and a comparison and allocates nothing. The table
// holds at most INTERN_SLOTS strings of INTERN_MAX bytes (a few MB), across requests.
const INTERN_BITS = 15;
const INTERN_SLOTS = 1 << INTERN_BITS;
const INTERN_MAX = 64;
const interned: string[] = new Array<string>(INTERN_SLOTS).fill('');

/** A label string: ASCII through the intern table (or sliced, when long), anything else by a strict UTF-8 decoder. */
function labelString(buf: Buffer, start: number, end: number, field: string): string {
  const n = end - start;
  if (n > INTERN_MAX) {
    for (let i = start; i < end; i++) if (buf[i]! >= 0x80) return utf8String(buf, start, end, field);
    return buf.latin1Slice(start, end);
  }
  let h = 0x811c9dc5;
  let high = 0;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    high |= b;
    h = Math.imul(h ^ b, 0x01000193);
  }
  if (high >= 0x80) return utf8String(buf, start, end, field);
  const slot = (h ^ (h >>> INTERN_BITS)) & (INTERN_SLOTS - 1);
  const c = interned[slot]!;
  if (c.length === n) {
    let i = 0;
    while (i < n && c.charCodeAt(i) === buf[start + i]) i++;
    if (i === n) return c;
  }
  const s = buf.latin1Slice(start, end);
  interned[slot] = s;
  return s;
}

function utf8String(buf: Buffer, start: number, end: number, field: string): string {
  try {
    return utf8Strict.decode(buf.subarray(start, end));
  } catch {
    return fail(`label ${field} is not valid UTF-8`, start);
  }
}

/** UTF-8 byte order of two strings (the ground floor's compareUtf8, under the name this module's callers use). */
export const compareLabelNames = compareUtf8;

const byName = (a: [string, string], b: [string, string]): number => compareLabelNames(a[0], b[0]);

/** Decodes one TimeSeries message [p, end). */
function decodeSeries(buf: Buffer, end: number, allowHistograms: boolean): WireSeries {
  const labels: Array<[string, string]> = [];
  let samples = 0;
  let exemplars = 0;
  let histograms = 0;
  // The rest: one range [r0, r1) while contiguous; further ranges in `more`.
  let r0 = -1;
  let r1 = -1;
  let more: number[] | undefined;
  // Name bytes of the last label kept, for the order and uniqueness checks on bytes.
  let pn0 = 0;
  let pn1 = 0;
  let sorted = true;
  let labelIx = 0;
  while (p < end) {
    const at = p;
    const tag = uvarint(buf, end);
    if (tag === 0x0a) {
      // Label
      what = 'label';
      part = labelIx++;
      const n = length(buf, end);
      const q = p;
      const bodyEnd = q + n;
      let n0 = 0, n1 = 0, v0 = 0, v1 = 0;
      // The usual layout inline: name then value, one-byte lengths; anything else field by field.
      let fast = false;
      if (n >= 4 && buf[q] === 0x0a) {
        const nl = buf[q + 1]!;
        if (nl < 128 && q + 4 + nl <= bodyEnd && buf[q + 2 + nl] === 0x12) {
          const vl = buf[q + 3 + nl]!;
          if (vl < 128 && q + 4 + nl + vl === bodyEnd) {
            n0 = q + 2;
            n1 = n0 + nl;
            v0 = n1 + 2;
            v1 = bodyEnd;
            fast = true;
          }
        }
      }
      if (!fast) {
        n0 = n1 = v0 = v1 = q;
        while (p < bodyEnd) {
          const fat = p;
          const t = uvarint(buf, bodyEnd);
          if (t === 0x0a || t === 0x12) {
            const m = length(buf, bodyEnd);
            if (t === 0x0a) (n0 = p), (n1 = p + m);
            else (v0 = p), (v1 = p + m);
            p += m;
          } else {
            const f = Math.floor(t / 8);
            if (f === 1 || f === 2) wrongType(LABEL_NAMES[f]!, t, WIRE_LEN, fat);
            skipField(buf, bodyEnd, t, fat);
          }
        }
      }
      p = bodyEnd;
      if (v1 === v0) continue; // an empty value: no label, as Prometheus reads it
      if (n1 === n0) fail('empty label name (with a value)', q);
      if (labels.length > 0) {
        const c = compareBytes(buf, n0, n1, pn0, pn1);
        if (c === 0) fail(`label name ${JSON.stringify(labelString(buf, n0, n1, 'name'))} is not unique`, q);
        if (c < 0) sorted = false;
      }
      pn0 = n0;
      pn1 = n1;
      labels.push([labelString(buf, n0, n1, 'name'), labelString(buf, v0, v1, 'value')]);
      continue;
    }
    if (tag === 0x12) {
      // Sample
      what = 'sample';
      part = samples++;
      const n = length(buf, end);
      checkSample(buf, p + n);
      // The samples that follow, as Prometheus writes them (0x12, a one-byte length), without leaving the loop.
      while (p + 1 < end && buf[p] === 0x12 && buf[p + 1]! < 128) {
        const sampleEnd = p + 2 + buf[p + 1]!;
        if (sampleEnd > end) break;
        part = samples++;
        p += 2;
        checkSample(buf, sampleEnd);
      }
    } else if (tag === 0x1a) {
      what = 'exemplar';
      part = exemplars++;
      const n = length(buf, end);
      checkMessage(buf, p + n, EXEMPLAR_NAMES, EXEMPLAR_TYPES, 1);
    } else if (tag === 0x22) {
      what = 'histogram';
      part = histograms++;
      if (!allowHistograms) fail('native histograms are not supported yet', at);
      const n = length(buf, end);
      p += n;
    } else {
      what = '';
      part = -1;
      const field = Math.floor(tag / 8);
      if (field >= 1 && field <= 4) wrongType(SERIES_FIELDS[field]!, tag, WIRE_LEN, at);
      skipField(buf, end, tag, at);
    }
    if (at === r1) r1 = p;
    else if (r0 < 0) (r0 = at), (r1 = p);
    else (more ??= []).push(at, p);
  }
  what = '';
  part = -1;
  if (labels.length === 0) fail('no labels (Prometheus refuses an empty label set)', end);
  if (!sorted) {
    labels.sort(byName);
    for (let i = 1; i < labels.length; i++) {
      if (labels[i]![0] === labels[i - 1]![0]) fail(`label name ${JSON.stringify(labels[i]![0])} is not unique`, end);
    }
  }
  let rest: Uint8Array = EMPTY;
  if (more) {
    let n = r1 - r0;
    for (let i = 0; i < more.length; i += 2) n += more[i + 1]! - more[i]!;
    rest = new Uint8Array(n);
    rest.set(buf.subarray(r0, r1), 0);
    let o = r1 - r0;
    for (let i = 0; i < more.length; i += 2) {
      rest.set(buf.subarray(more[i]!, more[i + 1]!), o);
      o += more[i + 1]! - more[i]!;
    }
  } else if (r0 >= 0) rest = new Uint8Array(buf.buffer, buf.byteOffset + r0, r1 - r0); // cheaper than Buffer's subarray
  return { labels, rest, samples, exemplars, histograms };
}

const SERIES_FIELDS = ['', 'labels', 'samples', 'exemplars', 'histograms'];

/**
 * Decodes a decompressed WriteRequest. Throws WriteRequestError, naming the series, part and byte, on malformed
 * input and on what Prometheus's receiver refuses (see the file's comment).
 */
export function decodeWriteRequest(input: Uint8Array, options: DecodeOptions = {}): WireWriteRequest {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const allowHistograms = options.allowHistograms === true;
  const end = buf.length;
  const series: WireSeries[] = [];
  const metadata: Uint8Array[] = [];
  p = 0;
  seriesIx = -1;
  what = '';
  part = -1;
  try {
    while (p < end) {
      const at = p;
      const tag = uvarint(buf, end);
      if (tag === 0x0a) {
        seriesIx = series.length;
        const n = length(buf, end);
        series.push(decodeSeries(buf, p + n, allowHistograms));
        seriesIx = -1;
      } else if (tag === 0x1a) {
        what = 'metadata';
        part = metadata.length;
        const n = length(buf, end);
        const m0 = p;
        checkMessage(buf, p + n, METADATA_NAMES, METADATA_TYPES);
        metadata.push(buf.subarray(m0, p));
        what = '';
        part = -1;
      } else {
        const field = Math.floor(tag / 8);
        if (field === 1) wrongType('timeseries', tag, WIRE_LEN, at);
        if (field === 3) wrongType('metadata', tag, WIRE_LEN, at);
        skipField(buf, end, tag, at);
      }
    }
  } finally {
    seriesIx = -1;
    what = '';
    part = -1;
  }
  return { series, metadata };
}

// ---------------------------------------------------------------------------------------------------------------
// The tenant label.

/**
 * Sets (or checks) the tenant label of a series whose labels are sorted (as decodeWriteRequest returns them):
 * returns a new array with [name, value] in its sorted place, or `labels` itself when it already has name=value.
 * Throws WriteRequestError when the series has `name` with another value: a series' tenant label is never rewritten.
 */
export function withTenantLabel(labels: Array<[string, string]>, name: string, value: string): Array<[string, string]> {
  if (name === '' || value === '') throw new RangeError(`tenant label needs a name and a value (got ${JSON.stringify(name)}=${JSON.stringify(value)})`);
  const n = labels.length;
  let i = 0;
  for (; i < n; i++) {
    const l = labels[i]!;
    const c = compareLabelNames(l[0], name);
    if (c < 0) continue;
    if (c === 0) {
      if (l[1] === value) return labels;
      throw new WriteRequestError(`label ${name}=${JSON.stringify(l[1])} conflicts with the tenant ${JSON.stringify(value)} (a series' tenant label is never rewritten)`);
    }
    break;
  }
  const out = new Array<[string, string]>(n + 1);
  for (let k = 0; k < i; k++) out[k] = labels[k]!;
  out[i] = [name, value];
  for (let k = i; k < n; k++) out[k + 1] = labels[k]!;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding.

/** UTF-8 length of a string as Buffer writes it (a lone surrogate becomes U+FFFD, 3 bytes). */
function utf8Length(s: string): number {
  const len = s.length;
  let n = len;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < len && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a pair: 2 code units, 4 bytes
      i++;
    } else n += 2;
  }
  return n;
}

let sizes = new Int32Array(1024);

/** Writes a string field (tag, length, UTF-8 bytes) of `bytes` bytes; returns the new position. */
function writeString(out: Buffer, pos: number, tag: number, s: string, bytes: number): number {
  out[pos++] = tag;
  if (bytes < 128) out[pos++] = bytes;
  else {
    let v = bytes;
    while (v >= 128) {
      out[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    out[pos++] = v;
  }
  if (bytes === s.length) {
    // ASCII
    if (bytes < 16) for (let i = 0; i < bytes; i++) out[pos + i] = s.charCodeAt(i);
    else out.latin1Write(s, pos, bytes);
  } else out.write(s, pos, bytes, 'utf8');
  return pos + bytes;
}

function writeVarint(out: Buffer, pos: number, v: number): number {
  while (v >= 128) {
    out[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[pos++] = v;
  return pos;
}

/**
 * Encodes a WriteRequest: per series, its labels (in the order given; empty names and values left out, as
 * Prometheus's encoder leaves out empty strings), then its `rest` bytes unchanged; then the metadata messages'
 * bytes unchanged.
 */
export function encodeWriteRequest(series: ReadonlyArray<OutSeries>, metadata: ReadonlyArray<Uint8Array> = []): Buffer {
  // Sizes first: per label, name and value byte lengths and the Label message's length; per series, its length.
  const ns = series.length;
  let nLabels = 0;
  for (let i = 0; i < ns; i++) nLabels += series[i]!.labels.length;
  const need = 3 * nLabels + ns;
  if (sizes.length < need) sizes = new Int32Array(Math.max(need, sizes.length * 2));
  const sz = sizes;
  let total = 0;
  let k = 0;
  for (let i = 0; i < ns; i++) {
    const s = series[i]!;
    const labels = s.labels;
    const sk = k++;
    let len = s.rest.length;
    for (let j = 0; j < labels.length; j++) {
      const l = labels[j]!;
      const nb = utf8Length(l[0]);
      const vb = utf8Length(l[1]);
      const lm = (nb > 0 ? 1 + varintSize(nb) + nb : 0) + (vb > 0 ? 1 + varintSize(vb) + vb : 0);
      sz[k++] = nb;
      sz[k++] = vb;
      sz[k++] = lm;
      len += 1 + varintSize(lm) + lm;
    }
    sz[sk] = len;
    total += 1 + varintSize(len) + len;
  }
  for (const m of metadata) total += 1 + varintSize(m.length) + m.length;

  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  k = 0;
  for (let i = 0; i < ns; i++) {
    const s = series[i]!;
    const labels = s.labels;
    out[pos++] = 0x0a;
    pos = writeVarint(out, pos, sz[k++]!);
    for (let j = 0; j < labels.length; j++) {
      const l = labels[j]!;
      const nb = sz[k++]!;
      const vb = sz[k++]!;
      out[pos++] = 0x0a;
      pos = writeVarint(out, pos, sz[k++]!);
      if (nb > 0) pos = writeString(out, pos, 0x0a, l[0], nb);
      if (vb > 0) pos = writeString(out, pos, 0x12, l[1], vb);
    }
    out.set(s.rest, pos);
    pos += s.rest.length;
  }
  for (const m of metadata) {
    out[pos++] = 0x1a;
    pos = writeVarint(out, pos, m.length);
    out.set(m, pos);
    pos += m.length;
  }
  if (pos !== total) throw new Error(`encodeWriteRequest: wrote ${pos} bytes, expected ${total}`);
  return out;
}
