/**
 * Byte-level scanning of one line of OpenMetrics 1.0, following Prometheus 2.42's openmetricslex.l and
 * openmetricsparse.go (facts checked against the binary, see test/prom/exposition.test.ts): exactly one space
 * between tokens and none inside label sets, no trailing comma, no blank lines, only `# HELP`/`# TYPE`/`# UNIT`/
 * `# EOF` comments (a HELP needs a space after the name), exemplars after ` # {` only on names ending in
 * `_total` or `_bucket`, float timestamps that are neither NaN nor infinite. Messages follow Prometheus's; the
 * caller adds the line number.
 */
import * as shared from './exposition-scan.js';
import type { ScannedEntry } from './exposition-scan.js';

// V8 reads an imported binding through its module cell at every use, which cost a third of the scanning
// speed in these loops (measured: 1.9 -> 3.0 million lines/s); module-level constants are folded instead.
const {
  BACKSLASH, CHARS, COMMA, END_OF_DATA, EQUAL, FAILED, HASH, LABEL_CHAR, LABEL_START, LBRACE, METRIC_CHAR,
  METRIC_START, NL, OTHER, QUOTE, RBRACE, SAMPLE, SP, addLabel, compareBytes, fail, floatError, goQuoteByte,
  labelToken, latin1, quoteBytes, timestampError, validUtf8,
} = shared;

const TOTAL = Buffer.from('_total');
const BUCKET = Buffer.from('_bucket');

/** openmetricsparse.go's message names the byte where lexing stopped. */
function invalidStart(e: ScannedEntry, c: number): number {
  return fail(e, 0, `"INVALID" ${goQuoteByte(c)} is not a valid start token`);
}

/** The token `{S}[^ \n]+` makes of the space at p and what follows, for messages. */
function tokenAfterSpace(b: Uint8Array, p: number): string {
  return b[p + 1] === SP || b[p + 1] === NL ? '"INVALID"' : '"TIMESTAMP"';
}

function endsWith(b: Uint8Array, s: number, e: number, suffix: Uint8Array): boolean {
  if (e - s < suffix.length) return false;
  for (let i = 0; i < suffix.length; i++) if (b[e - suffix.length + i] !== suffix[i]) return false;
  return true;
}

const OPENMETRICS_TYPES: ReadonlySet<string> = new Set([
  'counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown',
]);

/** One entry of OpenMetrics starting at p; the region is described in exposition-scan.ts. */
export function scanOpenMetrics(b: Uint8Array, p: number, e: ScannedEntry): number {
  let c = b[p]!;
  e.lines = 1;
  if (c === HASH) return scanOpenMetricsComment(b, p, e);
  if ((CHARS[c]! & METRIC_START) === 0) return invalidStart(e, c);
  e.nameStart = p;
  do c = b[++p]!;
  while (CHARS[c]! & METRIC_CHAR);
  e.nameEnd = p;
  e.seriesEnd = p;
  e.escaped = false;
  e.labelCount = 0;
  e.canonical = true;
  if (c === LBRACE) {
    p = scanOpenMetricsLabels(b, p + 1, e, true);
    if (p < 0) return FAILED;
    e.seriesEnd = p;
    c = b[p]!;
  }
  // `{S}[^ \n]+`: one space, then the value.
  if (c !== SP || b[p + 1] === SP || b[p + 1] === NL) {
    return fail(e, 0, 'expected value after metric, got ' + (c === LBRACE ? '"BOPEN"' : '"INVALID"'));
  }
  const vs = ++p;
  do c = b[++p]!;
  while (c !== SP && c !== NL);
  let bad = floatError(b, vs, p);
  if (bad !== null) return fail(e, 0, bad);
  let timestamp = false;
  while (c === SP) {
    if (b[p + 1] === HASH && b[p + 2] === SP && b[p + 3] === LBRACE) {
      if (!endsWith(b, e.nameStart, e.nameEnd, TOTAL) && !endsWith(b, e.nameStart, e.nameEnd, BUCKET)) {
        return fail(e, 0, `metric name ${latin1(b, e.nameStart, e.nameEnd)} does not support exemplars`);
      }
      p = scanExemplar(b, p + 4, e);
      if (p < 0) return FAILED;
      e.next = p;
      return SAMPLE;
    }
    if (timestamp) return fail(e, 0, 'expected next entry after timestamp, got ' + tokenAfterSpace(b, p));
    if (b[p + 1] === SP || b[p + 1] === NL) return fail(e, 0, 'expected timestamp or # symbol, got "INVALID"');
    const ts = ++p;
    do c = b[++p]!;
    while (c !== SP && c !== NL);
    bad = timestampError(b, ts, p, 'invalid timestamp');
    if (bad !== null) return fail(e, 0, bad);
    timestamp = true;
  }
  e.next = p + 1;
  return SAMPLE;
}

/**
 * A label set after its `{` (openmetricsparse.go's parseLVals): no blanks, no trailing comma. Returns the
 * position after the `}`, or -1 with the error in e. `store` keeps the labels (not for exemplars).
 */
function scanOpenMetricsLabels(b: Uint8Array, p: number, e: ScannedEntry, store: boolean): number {
  let c = b[p]!;
  let n = 0;
  let canonical = c !== RBRACE; // `{}` is not how the canonical key writes a series without labels
  let escaped = false;
  if (c !== RBRACE) {
    for (;;) {
      if ((CHARS[c]! & LABEL_START) === 0) {
        const expected = n === 0 ? 'expected label name or left brace' : 'expected label name';
        return failAt(e, `${expected}, got ${labelToken(c)}`);
      }
      const ns = p;
      do c = b[++p]!;
      while (CHARS[c]! & LABEL_CHAR);
      const ne = p;
      if (c !== EQUAL) return failAt(e, 'expected equal, got ' + labelToken(c));
      if (b[++p] !== QUOTE) return failAt(e, 'expected label value, got "INVALID"');
      const vs = ++p;
      let high = 0;
      for (;;) {
        c = b[p]!;
        if (c === QUOTE) break;
        if (c === BACKSLASH) {
          const d = b[p + 1]!;
          if (d === NL) return failAt(e, 'expected label value, got "INVALID"');
          escaped = true;
          high |= d;
          p += 2;
          continue;
        }
        if (c === NL) return failAt(e, 'expected label value, got "INVALID"');
        high |= c;
        p++;
      }
      const ve = p;
      c = b[++p]!;
      if (high & 0x80 && !validUtf8(b, vs, ve)) return failAt(e, 'invalid UTF-8 label value');
      if (store) canonical = addLabel(b, e, n, ns, ne, vs, ve, canonical && !escaped);
      n++;
      if (c === COMMA) {
        c = b[++p]!;
        if ((CHARS[c]! & LABEL_START) === 0) return failAt(e, 'expected label name, got ' + labelToken(c));
        continue;
      }
      if (c === RBRACE) break;
      if (CHARS[c]! & LABEL_START) return failAt(e, 'expected comma, got "LNAME"');
      return failAt(e, 'expected comma or left brace, got ' + labelToken(c));
    }
  }
  if (store) {
    e.labelCount = n;
    e.canonical = canonical;
    e.escaped = escaped;
  }
  return p + 1;
}

/** fail() for the OpenMetrics helpers that return a position: -1. */
function failAt(e: ScannedEntry, message: string): number {
  fail(e, 0, message);
  return -1;
}

/** An exemplar after ` # {`: labels, ` value`, optionally ` timestamp`, then the newline. Returns the next entry's start. */
function scanExemplar(b: Uint8Array, p: number, e: ScannedEntry): number {
  p = scanOpenMetricsLabels(b, p, e, false);
  if (p < 0) return -1;
  let c = b[p]!;
  if (c !== SP || b[p + 1] === SP || b[p + 1] === NL) return failAt(e, 'expected value after exemplar labels, got "INVALID"');
  const vs = ++p;
  do c = b[++p]!;
  while (c !== SP && c !== NL);
  const bad = floatError(b, vs, p);
  if (bad !== null) return failAt(e, bad);
  if (c === SP) {
    if (b[p + 1] === SP || b[p + 1] === NL) return failAt(e, 'expected timestamp or comment, got "INVALID"');
    const ts = ++p;
    do c = b[++p]!;
    while (c !== SP && c !== NL);
    const badTs = timestampError(b, ts, p, 'invalid exemplar timestamp');
    if (badTs !== null) return failAt(e, badTs);
    if (c !== NL) return failAt(e, 'expected next entry after exemplar timestamp, got ' + tokenAfterSpace(b, p));
  }
  return p + 1;
}

/** `# HELP`, `# TYPE`, `# UNIT` (one space each) or `# EOF`; nothing else starts with `#` in OpenMetrics. */
function scanOpenMetricsComment(b: Uint8Array, p: number, e: ScannedEntry): number {
  if (b[p + 1] !== SP) return invalidStart(e, b[p + 1]!);
  let q = p + 2;
  let c = b[q]!;
  const keyword =
    c === 0x48 && b[q + 1] === 0x45 && b[q + 2] === 0x4c && b[q + 3] === 0x50 ? 'HELP' :
    c === 0x54 && b[q + 1] === 0x59 && b[q + 2] === 0x50 && b[q + 3] === 0x45 ? 'TYPE' :
    c === 0x55 && b[q + 1] === 0x4e && b[q + 2] === 0x49 && b[q + 3] === 0x54 ? 'UNIT' : '';
  if (keyword === '' || b[q + 4] !== SP) {
    if (c === 0x45 && b[q + 1] === 0x4f && b[q + 2] === 0x46) {
      // `"EOF"\n?`: whatever follows must be the end of the data, which only the caller knows.
      q += 3;
      e.lines = b[q] === NL ? 1 : 0;
      e.next = b[q] === NL ? q + 1 : q;
      return END_OF_DATA;
    }
    return invalidStart(e, c);
  }
  q += 5;
  c = b[q]!;
  if ((CHARS[c]! & METRIC_START) === 0) return fail(e, 0, `expected metric name after ${keyword}, got "INVALID"`);
  const nameStart = q;
  do c = b[++q]!;
  while (CHARS[c]! & METRIC_CHAR);
  const nameEnd = q;
  if (c !== SP) return fail(e, 0, `expected text in ${keyword}`);
  do c = b[++q]!;
  while (c !== NL);
  e.next = q + 1;
  const textStart = nameEnd + 1;
  if (keyword === 'TYPE') {
    if (!OPENMETRICS_TYPES.has(latin1(b, textStart, q))) return fail(e, 0, `invalid metric type ${quoteBytes(b, textStart, q)}`);
  } else if (keyword === 'HELP') {
    if (!validUtf8(b, textStart, q)) return fail(e, 0, 'help text is not a valid utf8 string');
  } else {
    // A non-empty unit must end the metric name after an underscore.
    const unitLength = q - textStart;
    if (unitLength > 0) {
      const suffix = nameEnd - unitLength;
      if (suffix - 1 <= nameStart || b[suffix - 1] !== 0x5f || compareBytes(b, suffix, nameEnd, textStart, q) !== 0) {
        return fail(e, 0, `unit not a suffix of metric ${quoteBytes(b, nameStart, nameEnd)}`);
      }
    }
  }
  return OTHER;
}
