/**
 * `/federate` bodies written byte for byte as Prometheus 2.42 writes them, for series the caller has gathered
 * (the latest non-stale sample of each, in storage order). A Prometheus federating from kvass must not be able to
 * tell it from a Prometheus, so this follows the code Prometheus 2.42 runs rather than the format's spec:
 * web/federate.go, prometheus/common v0.39 expfmt, client_model v0.3.0, golang/protobuf v1.5.2's text marshaler,
 * and Go 1.19's sort and strconv (the Debian binary is built with go1.19.8). Facts taken from them:
 *
 * - Order: federate.go sorts the series with `sort.Sort(byName)`, which in Go 1.19 is pdqsort, not stable: series
 *   of one name may come out in another order than storage's. goSort below makes the same comparisons and swaps
 *   as Go's, so the order is Prometheus's for the same input order. (On input already ordered by name pdqsort
 *   changes nothing; storage order differs from name order only when a label name sorts before `__name__`, as
 *   upper-case names do.)
 * - One metric family per run of one name, `untyped`, no HELP. Labels with an empty value are skipped, `__name__`
 *   is not a label, a series without a name is skipped. Then the external labels, and `instance=""` when they
 *   have no `instance` (federate.go adds it so that the scraping Prometheus does not add its own), are appended in
 *   name order, each unless the series has a non-empty value for it; then the timestamp and the value.
 * - Text: `# TYPE name untyped`, then `name{a="v",…} value timestamp` (there is always a label: instance); `\`,
 *   `"` and a newline in a value are escaped, nothing else; values as expfmt's writeFloat (see formatTextValue).
 * - Protobuf: varint-length-delimited MetricFamily messages (metrics.proto field numbers in SCHEMA); protobuf
 *   text and compact text as golang/protobuf's MarshalTextString and CompactTextString, each family followed by
 *   a newline (expfmt writes them with Fprintln).
 * - Negotiation: expfmt.Negotiate, with goautoneg's Accept parsing and its (unstable) sort by q.
 *
 * Checked byte for byte against the Debian prometheus 2.42 binary (test/query/federate.test.ts). Not done here:
 * native histograms (FederatedSample holds a float; Prometheus's text output skips them anyway), and the gzip or
 * deflate Prometheus applies when Accept-Encoding asks (util/httputil.CompressionHandler), the HTTP layer's job.
 */
import protobuf from 'protobufjs';
import { compareLabelNames, compareUtf8 } from '../prom/labels.js';
import { goSort, swapIn } from './go-sort.js';
import { END_OF_DATA, FAILED, INCOMPLETE, SAMPLE, ScannedEntry, latin1 } from '../prom/exposition-scan.js';
import { unescapeValue } from '../prom/exposition-labels.js';
import { scanText } from '../prom/exposition-text.js';

export interface FederatedSample {
  /** Sorted by name (bytewise), `__name__` included. */
  labels: Array<[string, string]>;
  /** Milliseconds. */
  t: number;
  v: number;
}

export type FederationFormat = 'text' | 'protobuf-delimited' | 'protobuf-text' | 'protobuf-compact';

const PROTO_TYPE = 'application/vnd.google.protobuf';
const PROTO_PROTOCOL = 'io.prometheus.client.MetricFamily';

/** expfmt's Fmt* constants: the Content-Type of each format. */
export const FEDERATION_CONTENT_TYPES: Readonly<Record<FederationFormat, string>> = {
  'text': 'text/plain; version=0.0.4; charset=utf-8',
  'protobuf-delimited': `${PROTO_TYPE}; proto=${PROTO_PROTOCOL}; encoding=delimited`,
  'protobuf-text': `${PROTO_TYPE}; proto=${PROTO_PROTOCOL}; encoding=text`,
  'protobuf-compact': `${PROTO_TYPE}; proto=${PROTO_PROTOCOL}; encoding=compact-text`,
};

// ---------------------------------------------------------------------------------------------------------------
// Negotiation

/**
 * expfmt.Negotiate (common v0.39): the first Accept clause, in goautoneg's order, that names the protobuf type
 * with `proto=io.prometheus.client.MetricFamily` and a known encoding, or `text/plain` with no version or
 * 0.0.4; text when none does. Go reads only the first Accept header line: pass that one, not Node's join of all.
 */
export function negotiateFormat(accept: string | undefined): FederationFormat {
  for (const c of parseAccept(accept ?? '')) {
    if (`${c.type}/${c.subType}` === PROTO_TYPE && c.params.get('proto') === PROTO_PROTOCOL) {
      switch (c.params.get('encoding')) {
        case 'delimited':
          return 'protobuf-delimited';
        case 'text':
          return 'protobuf-text';
        case 'compact-text':
          return 'protobuf-compact';
      }
    }
    const version = c.params.get('version') ?? '';
    if (c.type === 'text' && c.subType === 'plain' && (version === '0.0.4' || version === '')) return 'text';
  }
  return 'text';
}

interface AcceptClause {
  type: string;
  subType: string;
  q: number;
  params: Map<string, string>;
}

/** Go's strings.Trim(s, " "): spaces only, not tabs. */
const trimSpaces = (s: string): string => s.replace(/^ +| +$/g, '');

/**
 * goautoneg.ParseAccept: clauses split at `,` and `;` (no quoting), a media range needs one `/` (or is `*`), a
 * q that Go's ParseFloat(s, 32) refuses (`q= 0.5`) is 0, q=0 is not excluded, names and values are case-sensitive.
 * Then sort.Sort with its Less, which is not a strict weak order; goSort reproduces what Go does with it.
 */
function parseAccept(header: string): AcceptClause[] {
  const clauses: AcceptClause[] = [];
  for (const rawPart of header.split(',')) {
    const [mediaRange, ...params] = trimSpaces(rawPart).split(';');
    const sp = mediaRange!.split('/');
    const type = trimSpaces(sp[0]!);
    let subType: string;
    if (sp.length === 1 && type === '*') subType = '*';
    else if (sp.length === 2) subType = trimSpaces(sp[1]!);
    else continue;
    const clause: AcceptClause = { type, subType, q: 1, params: new Map() };
    for (const param of params) {
      const eq = param.indexOf('=');
      if (eq < 0) continue;
      const token = trimSpaces(param.slice(0, eq));
      if (token === 'q') clause.q = Math.fround(parseGoFloat(param.slice(eq + 1)) ?? 0);
      else clause.params.set(token, trimSpaces(param.slice(eq + 1)));
    }
    clauses.push(clause);
  }
  goSort(clauses.length, {
    less: (i, j) => {
      const a = clauses[i]!;
      const b = clauses[j]!;
      return a.q > b.q || (a.type !== '*' && b.type === '*') || (a.subType !== '*' && b.subType === '*');
    },
    swap: (i, j) => swapIn(clauses, i, j),
  });
  return clauses;
}

/**
 * Go's strconv.ParseFloat syntax (undefined when it refuses): `inf`/`infinity` with an optional sign and `nan`,
 * in any case; decimal or hexadecimal (`0x1.8p-3`, exponent required) mantissas; `_` between digits. The value is
 * JavaScript's rounding of the same number (for bitSize 32 Go rounds once to float32, Math.fround after this
 * rounds twice: a difference only for decimal strings within half a float64 ulp of a float32 halfway point).
 */
export function parseGoFloat(s: string): number | undefined {
  const special = /^([+-]?)(?:inf|infinity)$/i.exec(s);
  if (special) return special[1] === '-' ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  const hex = /^([+-]?)0[xX]([0-9a-fA-F_]*)(?:\.([0-9a-fA-F_]*))?[pP]([+-]?[0-9][0-9_]*)$/.exec(s);
  if (hex) {
    const int = hex[2]!.replace(/_/g, '');
    const frac = (hex[3] ?? '').replace(/_/g, '');
    if (int + frac === '' || !underscoresOk(s)) return undefined;
    const mantissa = Number(BigInt(`0x${int}${frac}`));
    const value = mantissa === 0 ? 0 : mantissa * 2 ** (Number(hex[4]!.replace(/_/g, '')) - 4 * frac.length);
    return hex[1] === '-' ? -value : value;
  }
  const decimal = /^[+-]?([0-9_]*)(?:\.([0-9_]*))?(?:[eE][+-]?[0-9][0-9_]*)?$/.exec(s);
  if (!decimal || !/[0-9]/.test(decimal[1]! + (decimal[2] ?? '')) || !underscoresOk(s)) return undefined;
  return Number(s.replace(/_/g, ''));
}

/** strconv's underscoreOK: every `_` sits between two digits (a base prefix counts as a digit). */
function underscoresOk(s: string): boolean {
  if (!s.includes('_')) return true;
  let body = /^[+-]/.test(s) ? s.slice(1) : s;
  let saw = '^';
  let hex = false;
  if (/^0[bBoOxX]/.test(body)) {
    saw = '0';
    hex = /^0[xX]/.test(body);
    body = body.slice(2);
  }
  for (const c of body) {
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) saw = '0';
    else if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
    } else {
      if (saw === '_') return false;
      saw = '!';
    }
  }
  return saw !== '_';
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering

interface FederatedMetric {
  labels: Array<[string, string]>;
  t: number;
  v: number;
}

interface MetricFamily {
  name: string;
  metrics: FederatedMetric[];
}

/**
 * The body of Prometheus 2.42's /federate for these series (the latest non-stale sample of each series that
 * matched, ordered as Prometheus's storage returns them: by label set) and its Content-Type.
 */
export function renderFederation(
  series: readonly FederatedSample[],
  externalLabels: Readonly<Record<string, string>>,
  format: FederationFormat,
): { contentType: string; body: Buffer } {
  const families = federationFamilies(series, externalLabels);
  const body =
    format === 'text' ? textBody(families) :
    format === 'protobuf-delimited' ? delimitedBody(families) :
    protoTextBody(families, format === 'protobuf-compact');
  return { contentType: FEDERATION_CONTENT_TYPES[format], body };
}

/** federate.go's loop over the sorted vector: families, and each metric's labels with the external ones. */
function federationFamilies(series: readonly FederatedSample[], externalLabels: Readonly<Record<string, string>>): MetricFamily[] {
  const vec = series.slice();
  // labels.Get: the first `__name__`, "" when there is none.
  const names = vec.map((s) => s.labels.find(([n]) => n === '__name__')?.[1] ?? '');
  goSort(vec.length, {
    less: (i, j) => compareUtf8(names[i]!, names[j]!) < 0,
    swap: (i, j) => {
      swapIn(vec, i, j);
      swapIn(names, i, j);
    },
  });

  const external = new Map(Object.entries(externalLabels));
  if (!external.has('instance')) external.set('instance', '');
  const externalNames = [...external.keys()].sort(compareUtf8);

  const families: MetricFamily[] = [];
  let family: MetricFamily | undefined;
  for (const s of vec) {
    const labels: Array<[string, string]> = [];
    const own = new Set<string>();
    let named = false;
    for (const [name, value] of s.labels) {
      if (value === '') continue; // unset; also keeps `__name__=""` from naming a family
      if (name === '__name__') {
        named = true;
        if (family?.name !== value) {
          family = { name: value, metrics: [] };
          families.push(family);
        }
        continue;
      }
      labels.push([name, value]);
      if (external.has(name)) own.add(name);
    }
    if (!named) continue;
    for (const name of externalNames) if (!own.has(name)) labels.push([name, external.get(name)!]);
    family!.metrics.push({ labels, t: s.t, v: s.v });
  }
  return families;
}

/** Collects a large body in pieces: one string for all of it could pass V8's string length limit. */
class Chunks {
  private pieces: Buffer[] = [];
  private text = '';
  add(s: string): void {
    this.text += s;
    if (this.text.length > 1 << 20) this.flush();
  }
  finish(): Buffer {
    this.flush();
    return Buffer.concat(this.pieces);
  }
  private flush(): void {
    this.pieces.push(Buffer.from(this.text, 'utf8'));
    this.text = '';
  }
}

function textBody(families: readonly MetricFamily[]): Buffer {
  const out = new Chunks();
  for (const { name, metrics } of families) {
    out.add(`# TYPE ${name} untyped\n`);
    for (const m of metrics) {
      let line = name;
      if (m.labels.length > 0) line += `{${m.labels.map(([n, v]) => `${n}="${escapeLabelValue(v)}"`).join(',')}}`;
      out.add(`${line} ${formatTextValue(m.v)} ${m.t}\n`);
    }
  }
  return out.finish();
}

/** expfmt's quotedEscaper: `\`, newline and `"` escaped; nothing else (a tab or a CR stays raw). */
function escapeLabelValue(v: string): string {
  return /[\\\n"]/.test(v) ? v.replace(/[\\\n"]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`)) : v;
}

/** expfmt's writeFloat: 1, 0 (also -0), -1, NaN, +Inf, -Inf by hand, anything else as formatGoFloat. */
export function formatTextValue(f: number): string {
  if (f === 1) return '1';
  if (f === 0) return '0';
  if (f === -1) return '-1';
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  return formatGoFloat(f);
}

/**
 * strconv.FormatFloat(f, 'g', -1, 64) for a finite f (also fmt's %v). The digits are the shortest that read back
 * as f, which JavaScript computes too (Ryu in Go, V8's shortest dtoa: the same digits); only the layout is Go's:
 * ftoa.go's formatDigits uses %e when the decimal exponent x (f = d.ddd × 10^x) is < -4 or, since "if precision
 * was the shortest possible, use precision 6 for this decision", x >= 6 — so 123456 but 1.234567e+06, 0.0001 but
 * 1e-05; the exponent has a sign and at least two digits; -0 is "-0".
 */
export function formatGoFloat(f: number): string {
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const sign = f < 0 ? '-' : '';
  const [mantissa, exponent] = Math.abs(f).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const x = Number(exponent);
  if (x < -4 || x >= 6) {
    const abs = Math.abs(x);
    return `${sign}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${x < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
  }
  if (x < 0) return `${sign}0.${'0'.repeat(-x - 1)}${digits}`;
  if (digits.length <= x + 1) return sign + digits + '0'.repeat(x + 1 - digits.length);
  return `${sign}${digits.slice(0, x + 1)}.${digits.slice(x + 1)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Protobuf

/** client_model v0.3.0's metrics.proto, the fields federation writes (a decoder skips the others). */
const SCHEMA = `
syntax = "proto2";
package io.prometheus.client;
message LabelPair { optional string name = 1; optional string value = 2; }
enum MetricType { COUNTER = 0; GAUGE = 1; SUMMARY = 2; UNTYPED = 3; HISTOGRAM = 4; GAUGE_HISTOGRAM = 5; }
message Untyped { optional double value = 1; }
message Metric {
  repeated LabelPair label = 1;
  optional Untyped untyped = 5;
  optional int64 timestamp_ms = 6;
}
message MetricFamily {
  optional string name = 1;
  optional string help = 2;
  optional MetricType type = 3;
  repeated Metric metric = 4;
}
`;

/** The parsed schema: encoding here, and decoding a protobuf /federate answer (io.prometheus.client.MetricFamily). */
export const federationProto = protobuf.parse(SCHEMA, { keepCase: true }).root;
const MetricFamilyType = federationProto.lookupType('io.prometheus.client.MetricFamily');
const UNTYPED = 3;

function delimitedBody(families: readonly MetricFamily[]): Buffer {
  const w = protobuf.Writer.create();
  for (const { name, metrics } of families) {
    // proto2 fields that are set are written even when empty or zero, as Go writes them (instance="", value 0).
    MetricFamilyType.encodeDelimited({
      name,
      type: UNTYPED,
      metric: metrics.map((m) => ({
        label: m.labels.map(([n, v]) => ({ name: n, value: v })),
        untyped: { value: goNaN(m.v) },
        timestamp_ms: m.t,
      })),
    }, w);
  }
  return Buffer.from(w.finish());
}

const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);
scratchWords[0] = 1;
scratchWords[1] = 0x7ff80000;
/** Go's math.NaN() (bits 0x7ff8000000000001): what Prometheus stores for a scraped or parsed `NaN`. */
const GO_NAN = scratch[0]!;

/**
 * The NaN Prometheus would write for v. JavaScript's own NaN (0x7ff8000000000000) is one no Go code produces and
 * what any NaN becomes in a JS array of doubles, so it stands for Go's math.NaN(); another payload, which V8
 * keeps through typed arrays and protobufjs's writer, is written as it is (a rule's 0/0 is 0xfff8000000000000).
 */
function goNaN(v: number): number {
  if (v === v) return v;
  scratch[0] = v;
  return scratchWords[0] === 0 && scratchWords[1] === 0x7ff80000 ? GO_NAN : v;
}

/**
 * golang/protobuf v1.5.2's text marshaler (MarshalTextString; compact: CompactTextString): fields in .proto
 * declaration order (label, untyped, timestamp_ms), `name: value`, messages in `<…>`, two spaces of indent; the
 * compact form writes a space for every newline but the one after `<`, and none after `:`. Then Fprintln's newline.
 */
function protoTextBody(families: readonly MetricFamily[], compact: boolean): Buffer {
  const out = new Chunks();
  const [colon, nl] = compact ? [':', ' '] : [': ', '\n'];
  const indent = (depth: number): string => (compact ? '' : '  '.repeat(depth));
  const open = (depth: number, field: string): string => `${indent(depth)}${field}${colon}<${compact ? '' : '\n'}`;
  const close = (depth: number): string => `${indent(depth)}>${nl}`;
  for (const { name, metrics } of families) {
    out.add(`name${colon}${quoteProtoText(name)}${nl}type${colon}UNTYPED${nl}`);
    for (const m of metrics) {
      let s = open(0, 'metric');
      for (const [n, v] of m.labels) {
        s += `${open(1, 'label')}${indent(2)}name${colon}${quoteProtoText(n)}${nl}${indent(2)}value${colon}${quoteProtoText(v)}${nl}${close(1)}`;
      }
      s += `${open(1, 'untyped')}${indent(2)}value${colon}${protoTextDouble(m.v)}${nl}${close(1)}`;
      s += `${indent(1)}timestamp_ms${colon}${m.t}${nl}${close(0)}`;
      out.add(s);
    }
    out.add('\n');
  }
  return out.finish();
}

/** The text marshaler's writeQuotedString: byte by byte; \n \r \t \" \\; other bytes outside 0x20–0x7e as \ooo. */
function quoteProtoText(s: string): string {
  if (/^[\x20\x21\x23-\x5b\x5d-\x7e]*$/.test(s)) return `"${s}"`;
  let out = '"';
  for (const c of Buffer.from(s, 'utf8')) {
    if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += `\\${c.toString(8).padStart(3, '0')}`;
  }
  return `${out}"`;
}

/** A double in the text marshaler: inf, -inf, nan, else fmt's %v (formatGoFloat; -0 stays "-0"). */
function protoTextDouble(f: number): string {
  if (Number.isNaN(f)) return 'nan';
  if (f === Infinity) return 'inf';
  if (f === -Infinity) return '-inf';
  return formatGoFloat(f);
}

// ---------------------------------------------------------------------------------------------------------------
// Reading a /federate text answer

/**
 * The samples of a text-format /federate answer (another Prometheus's; kvass's global querier's for its rule
 * results), in the order written. Lines are scanned as Prometheus 2.42's text parser scans them (scanText);
 * labels come back sorted by name with `__name__`, without those whose value is empty (an empty value is no
 * label: federate.go writes `instance=""` only so that the scraper adds no instance). Every sample must carry a
 * timestamp, as federation's do. Throws with the line number on anything Prometheus would refuse.
 */
export function parseFederationText(text: string): FederatedSample[] {
  const b = Buffer.from(text.endsWith('\n') ? text : `${text}\n`, 'utf8');
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  const limit = b.length - 1; // the last newline: scanText's region ends there
  const e = new ScannedEntry();
  const out: FederatedSample[] = [];
  let line = 1;
  for (let pos = 0; pos <= limit; pos = e.next) {
    const r = scanText(b, view, pos, limit, e);
    if (r === FAILED) throw new Error(`federation text, line ${line + e.errorLine}: ${e.error}`);
    if (r === INCOMPLETE) throw new Error(`federation text, line ${line}: a label value is not closed`);
    if (r === END_OF_DATA) break;
    if (r === SAMPLE) out.push(scannedSample(b, e, line));
    line += e.lines;
  }
  return out;
}

function scannedSample(b: Buffer, e: ScannedEntry, line: number): FederatedSample {
  const fail = (why: string): never => {
    throw new Error(`federation text, line ${line}: ${why}`);
  };
  const name = b.toString('utf8', e.nameStart, e.nameEnd);
  if (/^[ \t]/.test(name)) fail(`invalid metric name ${JSON.stringify(name)}`);
  const labels: Array<[string, string]> = [['__name__', name]];
  const offs = e.labels;
  for (let k = 0; k < e.labelCount; k++) {
    const value = b.toString('utf8', offs[4 * k + 2]!, offs[4 * k + 3]!);
    labels.push([latin1(b, offs[4 * k]!, offs[4 * k + 1]!), e.escaped ? unescapeValue(value) : value]);
  }
  labels.sort((x, y) => compareLabelNames(x[0], y[0]));
  for (let k = 1; k < labels.length; k++) {
    if (labels[k]![0] === labels[k - 1]![0]) fail(`label name "${labels[k]![0]}" is not unique`);
  }
  // The value and the timestamp follow the series, separated by blanks (scanText has checked their syntax).
  let p = e.seriesEnd;
  const skipBlanks = (): void => {
    while (b[p] === 0x20 || b[p] === 0x09) p++;
  };
  skipBlanks();
  const vs = p;
  while (b[p] !== 0x20 && b[p] !== 0x09 && b[p] !== 0x0a && b[p] !== 0x7b) p++;
  const v = parseGoFloat(latin1(b, vs, p)) ?? fail(`invalid value ${JSON.stringify(latin1(b, vs, p))}`);
  skipBlanks();
  if (b[p] === 0x0a) fail('sample without a timestamp');
  const ts = p;
  while (b[p]! >= 0x30 && b[p]! <= 0x39) p++;
  return { labels: labels.filter(([, value]) => value !== ''), t: Number(latin1(b, ts, p)), v };
}
