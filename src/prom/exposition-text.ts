/**
 * Byte-level scanning of one entry of the Prometheus text format 0.0.4, following Prometheus 2.42's promlex.l
 * and promparse.go. An entry is one line, or several when a label value holds raw newlines (the lexer allows
 * them: `\"(\\.|[^\\"])*\"`). Facts of 2.42 (checked against the binary, see test/prom/exposition.test.ts)
 * kept here because they decide whether a scrape fails or what the series is:
 * - spaces and tabs may separate any two tokens; in a label set the comma is optional and may trail; `{}` is fine;
 * - blanks before a metric name become part of the name (the parser cuts the name from the entry's start), which
 *   Prometheus then refuses as an invalid metric name; a line of blanks is a blank line;
 * - a NUL byte where a line starts, or inside a `#comment` without a blank after the `#`, is the lexer's end of
 *   data: Prometheus stops there without an error;
 * - `# TYPE` takes the rest of the line after one separator byte and must name counter, gauge, histogram, summary
 *   or untyped (`# TYPE a counter ` fails); a `# HELP` text must be valid UTF-8; other `#` lines are comments;
 * - timestamps are digits only (int64).
 * Messages follow Prometheus's; the caller adds the line number.
 */
import * as shared from './exposition-scan.js';
import type { ScannedEntry } from './exposition-scan.js';

// V8 reads an imported binding through its module cell at every use, which cost a third of the scanning
// speed in these loops (measured: 1.9 -> 3.0 million lines/s); module-level constants are folded instead.
const {
  BACKSLASH, CHARS, COMMA, DIGIT, END_OF_DATA, EQUAL, HASH, INCOMPLETE, LABEL_CHAR, LABEL_START, LBRACE,
  METRIC_CHAR, METRIC_START, NL, OTHER, QUOTE, RBRACE, SAMPLE, SP, TAB, TEXT_VALUE_END, IN_VALUE_SPECIAL,
  addLabel, fail, fitsInt64, floatError, labelToken, latin1, quoteBytes, validUtf8,
} = shared;

function textTimestampToken(c: number): string {
  if (c === NL) return '"LINEBREAK"';
  return CHARS[c]! & DIGIT ? '"TIMESTAMP"' : '"INVALID"';
}

/** One entry of the text format starting at p; the region is described in exposition-scan.ts. */
export function scanText(b: Uint8Array, view: DataView, p: number, limit: number, e: ScannedEntry): number {
  const lineStart = p;
  let c = b[p]!;
  while (c === SP || c === TAB) c = b[++p]!;
  e.lines = 1;
  if (c === NL) {
    e.next = p + 1;
    return OTHER;
  }
  if (c === HASH) return scanTextComment(b, p, e);
  if ((CHARS[c]! & METRIC_START) === 0) {
    if (c === 0) return END_OF_DATA;
    return fail(e, 0, '"INVALID" is not a valid start token');
  }
  // promparse.go cuts the metric name from where the entry starts, so leading blanks are part of the name
  // (which then fails Prometheus's name check, unless metric_relabel_configs drop the sample first).
  let canonical = p === lineStart;
  e.nameStart = lineStart;
  do c = b[++p]!;
  while (CHARS[c]! & METRIC_CHAR);
  e.nameEnd = p;
  let escaped = false;
  let n = 0;
  let nl = 0; // raw newlines met inside label values
  while (c === SP || c === TAB) c = b[++p]!;
  if (c === LBRACE) {
    if (p !== e.nameEnd) canonical = false;
    c = b[++p]!;
    // promparse.go's parseLVals: the comma between labels is optional, a trailing one is fine.
    let comma = false;
    for (;;) {
      if (c === SP || c === TAB) {
        canonical = false;
        do c = b[++p]!;
        while (c === SP || c === TAB);
      }
      if (c === RBRACE) {
        if (n === 0 || comma) canonical = false; // `{}` or a trailing comma
        break;
      }
      if ((CHARS[c]! & LABEL_START) === 0) return fail(e, nl, 'expected label name, got ' + labelToken(c));
      if (n > 0 && !comma) canonical = false;
      const ns = p;
      do c = b[++p]!;
      while (CHARS[c]! & LABEL_CHAR);
      const ne = p;
      if (c === SP || c === TAB) {
        canonical = false;
        do c = b[++p]!;
        while (c === SP || c === TAB);
      }
      if (c !== EQUAL) return fail(e, nl, 'expected equal, got ' + labelToken(c));
      c = b[++p]!;
      if (c === SP || c === TAB) {
        canonical = false;
        do c = b[++p]!;
        while (c === SP || c === TAB);
      }
      if (c !== QUOTE) return fail(e, nl, 'expected label value, got "INVALID"');
      const vs = ++p;
      let high = 0;
      // Four bytes a step while none of them is `"`, `\\`, a newline or above 0x7f (SWAR zero-byte tests,
      // exact), then byte by byte; view reads b.
      while (p + 4 <= limit) {
        const w = view.getInt32(p, true);
        const quote = w ^ 0x22222222;
        const backslash = w ^ 0x5c5c5c5c;
        const newline = w ^ 0x0a0a0a0a;
        const zero =
          ((quote - 0x01010101) & ~quote) | ((backslash - 0x01010101) & ~backslash) | ((newline - 0x01010101) & ~newline);
        if (((zero | w) & 0x80808080) !== 0) break;
        p += 4;
      }
      for (;; p++) {
        c = b[p]!;
        if ((CHARS[c]! & IN_VALUE_SPECIAL) === 0) continue; // one test for the bytes that need none
        if (c === QUOTE) break;
        if (c === BACKSLASH) {
          const d = b[p + 1]!;
          // `\\.` takes any byte but a newline; b[p + 1] is in the region because b[p] is not the last newline.
          if (d === NL) return fail(e, nl, 'expected label value, got "INVALID"');
          escaped = true;
          high |= d;
          p++;
        } else if (c === NL) {
          if (p >= limit) return INCOMPLETE;
          nl++;
          escaped = true;
        } else {
          high |= c;
        }
      }
      const ve = p;
      c = b[++p]!;
      if (high & 0x80 && !validUtf8(b, vs, ve)) return fail(e, nl, 'invalid UTF-8 label value');
      canonical = addLabel(b, e, n, ns, ne, vs, ve, canonical && !escaped);
      n++;
      if (c === SP || c === TAB) {
        canonical = false;
        do c = b[++p]!;
        while (c === SP || c === TAB);
      }
      comma = c === COMMA;
      if (comma) c = b[++p]!;
    }
    c = b[++p]!;
    e.seriesEnd = p;
    while (c === SP || c === TAB) c = b[++p]!;
  } else {
    e.seriesEnd = e.nameEnd;
  }
  if (c === NL || c === LBRACE) {
    return fail(e, nl, 'expected value after metric, got ' + (c === LBRACE ? '"BOPEN"' : '"INVALID"'));
  }
  // The value token ends at a blank, a newline or `{`. Its plain form (digits and at most one point) is
  // recognised on the way, so that only other forms take floatError's full check.
  const vs = p;
  let odd = 0; // a point counts 1, any other byte but a digit 2
  for (;;) {
    const k = CHARS[c]!;
    if ((k & DIGIT) === 0) {
      if (k & TEXT_VALUE_END) break;
      odd += c === 0x2e ? 1 : 2;
    }
    c = b[++p]!;
  }
  if (odd > 1 || p - vs === odd || p - vs >= 300) {
    const bad = floatError(b, vs, p);
    if (bad !== null) return fail(e, nl, bad);
  }
  while (c === SP || c === TAB) c = b[++p]!;
  if (c !== NL) {
    if ((CHARS[c]! & DIGIT) === 0) return fail(e, nl, 'expected timestamp or new record, got ' + textTimestampToken(c));
    const ts = p;
    do c = b[++p]!;
    while (CHARS[c]! & DIGIT);
    if (!fitsInt64(b, ts, p)) return fail(e, nl, `strconv.ParseInt: parsing ${quoteBytes(b, ts, p)}: value out of range`);
    while (c === SP || c === TAB) c = b[++p]!;
    if (c !== NL) return fail(e, nl, 'expected next entry after timestamp, got ' + textTimestampToken(c));
  }
  e.next = p + 1;
  e.lines = 1 + nl;
  e.labelCount = n;
  e.canonical = canonical;
  e.escaped = escaped;
  return SAMPLE;
}

const TEXT_TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** `#…` in the text format: a comment, or HELP/TYPE when `#`, blanks, the keyword and a blank start the line. */
function scanTextComment(b: Uint8Array, p: number, e: ScannedEntry): number {
  let q = p + 1;
  let c = b[q]!;
  if (c !== SP && c !== TAB) {
    // promlex's `#` rule reads the comment in its first state, where a NUL byte is the end of the data.
    while (c !== NL) {
      if (c === 0) return END_OF_DATA;
      c = b[++q]!;
    }
    e.next = q + 1;
    return OTHER;
  }
  do c = b[++q]!;
  while (c === SP || c === TAB);
  const keyword =
    c === 0x48 && b[q + 1] === 0x45 && b[q + 2] === 0x4c && b[q + 3] === 0x50 ? 'HELP' :
    c === 0x54 && b[q + 1] === 0x59 && b[q + 2] === 0x50 && b[q + 3] === 0x45 ? 'TYPE' : '';
  if (keyword !== '' && (b[q + 4] === SP || b[q + 4] === TAB)) {
    q += 4;
    do c = b[++q]!;
    while (c === SP || c === TAB);
    if ((CHARS[c]! & METRIC_START) === 0) return fail(e, 0, `expected metric name after ${keyword}, got "INVALID"`);
    do c = b[++q]!;
    while (CHARS[c]! & METRIC_CHAR);
    const nameEnd = q;
    let blank = true;
    while (c !== NL) {
      if (c !== SP && c !== TAB) blank = false;
      c = b[++q]!;
    }
    // The lexer's `{C}*` takes the rest of the line and the parser drops its first byte; a rest of blanks
    // only lexes as whitespace instead, leaving an empty text.
    const textStart = blank ? q : nameEnd + 1;
    e.next = q + 1;
    if (keyword === 'TYPE') {
      const type = latin1(b, textStart, q);
      if (!TEXT_TYPES.has(type)) return fail(e, 0, `invalid metric type ${quoteBytes(b, textStart, q)}`);
    } else if (!validUtf8(b, textStart, q)) {
      return fail(e, 0, 'help text is not a valid utf8 string');
    }
    return OTHER;
  }
  while (c !== NL) c = b[++q]!;
  e.next = q + 1;
  return OTHER;
}
