/**
 * What the exposition scanners share (exposition-text.ts, exposition-openmetrics.ts): the entry they fill, the
 * result codes, byte classes, and the value checks Prometheus 2.42 applies while parsing. The scanners never
 * look at a byte past a newline except inside a text-format label value, so a region that ends with a newline
 * needs no other bounds check: they read the region [pos, limit] where b[limit] is '\n'.
 */

export const SAMPLE = 1;
/** A blank line, a comment, HELP, TYPE or UNIT. */
export const OTHER = 2;
/** Text: a NUL byte where a line starts; OpenMetrics: `# EOF` (entry.next is after it). */
export const END_OF_DATA = 3;
/** Text: a label value runs past the last newline of the region; scan again with more data. */
export const INCOMPLETE = 4;
export const FAILED = 5;

/** What a scan found; one instance is reused for every entry. */
export class ScannedEntry {
  /** Where the next entry starts. */
  next = 0;
  /** Newlines consumed: the one that ends the entry plus raw newlines inside text-format label values. */
  lines = 1;
  nameStart = 0;
  nameEnd = 0;
  /** End of the series text: after the `}`, or after the name when there are no braces. */
  seriesEnd = 0;
  labelCount = 0;
  /** Four per label: name start, name end, value start, value end (between the quotes, still escaped). */
  labels = new Int32Array(128);
  /**
   * The series text as written is the canonical key (see exposition-labels.ts): no braces without labels, no
   * blanks, no trailing comma, no empty value, no escape or raw newline, names strictly ascending.
   */
  canonical = true;
  /** Some label value holds an escape sequence or a raw newline: values must be unescaped to be read. */
  escaped = false;
  error = '';
  /** Newlines inside the entry before the error. */
  errorLine = 0;
}

export const NL = 10;
export const SP = 32;
export const TAB = 9;
export const HASH = 35;
export const QUOTE = 34;
export const BACKSLASH = 92;
export const LBRACE = 123;
export const RBRACE = 125;
export const COMMA = 44;
export const EQUAL = 61;

export const LABEL_CHAR = 1; // [a-zA-Z0-9_]
export const METRIC_CHAR = 2; // [a-zA-Z0-9_:]
export const LABEL_START = 4; // [a-zA-Z_]
export const METRIC_START = 8; // [a-zA-Z_:]
export const DIGIT = 16;
/** Ends a text-format value token: [ \t\n{]. */
export const TEXT_VALUE_END = 32;
/** Needs a look inside a quoted label value: `"`, `\`, a newline, a byte of a multi-byte UTF-8 character. */
export const IN_VALUE_SPECIAL = 64;

export const CHARS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  const letter = /[a-zA-Z_]/.test(ch);
  const digit = c >= 0x30 && c <= 0x39;
  CHARS[c] =
    (letter || digit ? LABEL_CHAR | METRIC_CHAR : 0) |
    (ch === ':' ? METRIC_CHAR | METRIC_START : 0) |
    (letter ? LABEL_START | METRIC_START : 0) |
    (digit ? DIGIT : 0) |
    (ch === ' ' || ch === '\t' || ch === '\n' || ch === '{' ? TEXT_VALUE_END : 0) |
    (ch === '"' || ch === '\\' || ch === '\n' || c >= 0x80 ? IN_VALUE_SPECIAL : 0);
}

export function fail(e: ScannedEntry, line: number, message: string): number {
  e.error = message;
  e.errorLine = line;
  return FAILED;
}

/** The name of the token the label-set lexers (both formats) produce for byte c, for messages. */
export function labelToken(c: number): string {
  if (c === RBRACE) return '"BCLOSE"';
  if (c === EQUAL) return '"EQUAL"';
  if (c === COMMA) return '"COMMA"';
  if (CHARS[c]! & LABEL_START) return '"LNAME"';
  return '"INVALID"';
}

/**
 * Stores a label's offsets and keeps `canonical` honest: an empty or escaped value, or a name not after the
 * previous one, means the series text is not the key. Returns whether the text can still be the key.
 */
export function addLabel(
  b: Uint8Array,
  e: ScannedEntry,
  n: number,
  ns: number,
  ne: number,
  vs: number,
  ve: number,
  canonical: boolean,
): boolean {
  let offs = e.labels;
  if (4 * n + 4 > offs.length) {
    const grown = new Int32Array(offs.length * 2);
    grown.set(offs);
    e.labels = offs = grown;
  }
  offs[4 * n] = ns;
  offs[4 * n + 1] = ne;
  offs[4 * n + 2] = vs;
  offs[4 * n + 3] = ve;
  if (!canonical || vs === ve) return false;
  if (n === 0) return true;
  const previous = offs[4 * n - 4]!;
  const d = b[previous]! - b[ns]!; // names nearly always differ in their first byte
  return d !== 0 ? d < 0 : compareBytes(b, previous, offs[4 * n - 3]!, ns, ne) < 0;
}

/** Byte order of b[as..ae) and b[bs..be): Prometheus orders label names by their bytes. */
export function compareBytes(b: Uint8Array, as: number, ae: number, bs: number, be: number): number {
  const n = Math.min(ae - as, be - bs);
  for (let i = 0; i < n; i++) {
    const d = b[as + i]! - b[bs + i]!;
    if (d !== 0) return d;
  }
  return ae - as - (be - bs);
}

/**
 * null when Go's strconv.ParseFloat, behind textparse's parseFloat, accepts b[s..e), else its error: an
 * optional sign then `inf`/`infinity` in any case, or `nan` (no sign), or decimal digits with at most one point
 * and an optional exponent; out of range (±Inf after rounding) is an error, underflow is not.
 */
export function floatError(b: Uint8Array, s: number, e: number): string | null {
  let i = s;
  let c = b[i]!;
  if (c === 0x2b || c === 0x2d) c = b[++i]!;
  const lower = c | 0x20;
  if (lower === 0x69 /* i */ || (lower === 0x6e /* n */ && i === s)) {
    const word = latin1(b, i, e).toLowerCase();
    if (word === 'inf' || word === 'infinity' || (word === 'nan' && i === s)) return null;
    return floatSyntaxError(b, s, e);
  }
  let digits = 0;
  let point = false;
  for (; i < e; i++) {
    c = b[i]!;
    if (CHARS[c]! & DIGIT) digits++;
    else if (c === 0x2e && !point) point = true;
    else break;
  }
  if (digits === 0) return floatSyntaxError(b, s, e);
  if (i < e) {
    if ((c | 0x20) !== 0x65) return floatSyntaxError(b, s, e);
    c = b[++i]!;
    if (c === 0x2b || c === 0x2d) i++;
    const expStart = i;
    while (i < e && CHARS[b[i]!]! & DIGIT) i++;
    if (i === expStart || i !== e) return floatSyntaxError(b, s, e);
    if (i - expStart <= 2 && digits < 200) return null; // below 1e299
  } else if (digits < 300) {
    return null;
  }
  // JavaScript rounds decimal strings to the nearest double as Go does, so both overflow on the same inputs.
  if (Number.isFinite(Number(latin1(b, s, e)))) return null;
  return `strconv.ParseFloat: parsing ${quoteBytes(b, s, e)}: value out of range`;
}

function floatSyntaxError(b: Uint8Array, s: number, e: number): string {
  for (let i = s; i < e; i++) {
    const c = b[i]!;
    if (c === 0x70 || c === 0x50 || c === 0x5f) return 'unsupported character in float';
  }
  return `strconv.ParseFloat: parsing ${quoteBytes(b, s, e)}: invalid syntax`;
}

/** An OpenMetrics timestamp: a float that is neither NaN nor infinite; `what` is the message otherwise. */
export function timestampError(b: Uint8Array, s: number, e: number, what: string): string | null {
  const bad = floatError(b, s, e);
  if (bad !== null) return bad;
  let i = s;
  if (b[i] === 0x2b || b[i] === 0x2d) i++;
  const first = b[i]! | 0x20;
  return first === 0x69 || first === 0x6e ? what : null; // inf, infinity, nan: the only non-finite floats
}

/** strconv.ParseInt(s, 10, 64) for a run of digits. */
export function fitsInt64(b: Uint8Array, s: number, e: number): boolean {
  if (e - s < 19) return true;
  while (s < e - 1 && b[s] === 0x30) s++;
  if (e - s !== 19) return e - s < 19;
  return latin1(b, s, e) <= '9223372036854775807';
}

/** Go's utf8.Valid: no overlong forms, no surrogates, nothing above U+10FFFF. */
export function validUtf8(b: Uint8Array, s: number, e: number): boolean {
  let i = s;
  while (i < e) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c < 0xc2) return false;
    if (c < 0xe0) {
      if (i + 1 >= e || (b[i + 1]! & 0xc0) !== 0x80) return false;
      i += 2;
      continue;
    }
    if (c < 0xf0) {
      if (i + 2 >= e) return false;
      const c1 = b[i + 1]!;
      if (c === 0xe0 ? c1 < 0xa0 || c1 > 0xbf : c === 0xed ? c1 < 0x80 || c1 > 0x9f : (c1 & 0xc0) !== 0x80) return false;
      if ((b[i + 2]! & 0xc0) !== 0x80) return false;
      i += 3;
      continue;
    }
    if (c < 0xf5) {
      if (i + 3 >= e) return false;
      const c1 = b[i + 1]!;
      if (c === 0xf0 ? c1 < 0x90 || c1 > 0xbf : c === 0xf4 ? c1 < 0x80 || c1 > 0x8f : (c1 & 0xc0) !== 0x80) return false;
      if ((b[i + 2]! & 0xc0) !== 0x80 || (b[i + 3]! & 0xc0) !== 0x80) return false;
      i += 4;
      continue;
    }
    return false;
  }
  return true;
}

/** Bytes as a one-byte-per-char string (for short ASCII tokens in checks and messages). */
export function latin1(b: Uint8Array, s: number, e: number): string {
  if (e - s > 32) return Buffer.from(b.buffer, b.byteOffset + s, e - s).toString('latin1');
  let out = '';
  for (let i = s; i < e; i++) out += String.fromCharCode(b[i]!);
  return out;
}

/** Go's %q of some bytes, near enough for messages (invalid UTF-8 shows as U+FFFD). */
export function quoteBytes(b: Uint8Array, s: number, e: number): string {
  return JSON.stringify(Buffer.from(b.buffer, b.byteOffset + s, e - s).toString('utf8'));
}

const GO_ESCAPES: Readonly<Record<number, string>> = {
  7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 34: '\\"', 92: '\\\\',
};

/** Go's %q of string(byte): the byte as the code point U+00XX. */
export function goQuoteByte(c: number): string {
  const escape = GO_ESCAPES[c];
  if (escape !== undefined) return `"${escape}"`;
  if (c < 0x20 || c === 0x7f) return `"\\x${c.toString(16).padStart(2, '0')}"`;
  if ((c >= 0x80 && c < 0xa0) || c === 0xad) return `"\\u00${c.toString(16)}"`;
  return `"${String.fromCharCode(c)}"`;
}
