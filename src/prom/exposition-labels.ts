/**
 * Series identity for counting scraped series: canonical keys, and the target labels Prometheus 2.42 attaches
 * to every scraped series (scrape.go's mutateSampleLabels).
 *
 * The canonical key of a series is the UTF-8 of its exposition text as Prometheus would write it,
 * `name{a="v",b="w"}`: labels in byte order of their names, empty values left out (Prometheus stores an empty
 * value as an absent label), values escaped with `\\`, `\"` and `\n` only, no braces when no label is left.
 * Two series share a key exactly when they have the same labels, and the scraped text, when already canonical
 * (what client libraries write), is its own key without any decoding.
 */
import { compareBytes, latin1, type ScannedEntry } from './exposition-scan.js';
import { compareLabelNames, type Labels } from './labels.js';

const BACKSLASH = 92;
const NL = 10;
const QUOTE = 34;
const N = 0x6e;
const METRIC_NAME = '__name__';

/** Builds keys and label sets from a scanned entry; reuses its buffers. */
export class SeriesKeys {
  /** Where keyOf writes a key, and a view of it for ByteKeySet. */
  out = Buffer.allocUnsafeSlow(4096);
  outView: DataView = new DataView(this.out.buffer, this.out.byteOffset, this.out.length);
  /** Label indexes in name order, for keyOf. */
  private readonly order: number[] = [];
  /** After a null result: the label name given twice with values (Prometheus: `label name "x" is not unique`). */
  duplicate = '';

  /**
   * Writes the key of a scanned series in any form to `out` (sorted, unescaped and re-escaped, empty values
   * left out) and returns its length, or -1 when a label name appears twice with values.
   */
  keyOf(b: Buffer, e: ScannedEntry): number {
    const offs = e.labels;
    const order = this.order;
    let n = 0;
    let size = e.nameEnd - e.nameStart + 2;
    for (let k = 0; k < e.labelCount; k++) {
      const valueLength = offs[4 * k + 3]! - offs[4 * k + 2]!;
      if (valueLength === 0) continue;
      size += offs[4 * k + 1]! - offs[4 * k]! + 4 + 2 * valueLength; // re-escaping at most doubles a value
      // Insertion sort by name: label sets are small, and a comparator closure costs more than it sorts.
      let i = n++;
      for (; i > 0; i--) {
        const before = order[i - 1]!;
        if (compareBytes(b, offs[4 * before]!, offs[4 * before + 1]!, offs[4 * k]!, offs[4 * k + 1]!) <= 0) break;
        order[i] = before;
      }
      order[i] = k;
    }
    for (let i = 1; i < n; i++) {
      const x = order[i - 1]!;
      const y = order[i]!;
      if (compareBytes(b, offs[4 * x]!, offs[4 * x + 1]!, offs[4 * y]!, offs[4 * y + 1]!) === 0) {
        this.duplicate = latin1(b, offs[4 * y]!, offs[4 * y + 1]!);
        return -1;
      }
    }
    if (size > this.out.length) {
      this.out = Buffer.allocUnsafeSlow(Math.max(size, 2 * this.out.length));
      this.outView = new DataView(this.out.buffer, this.out.byteOffset, this.out.length);
    }
    const out = this.out;
    // Byte loops, not Buffer.copy: the pieces are short and a native call costs more than copying them.
    let o = copy(b, e.nameStart, e.nameEnd, out, 0);
    for (let i = 0; i < n; i++) {
      const k = order[i]!;
      out[o++] = i === 0 ? 0x7b : 0x2c; // { or ,
      o = copy(b, offs[4 * k]!, offs[4 * k + 1]!, out, o);
      out[o++] = 0x3d; // =
      out[o++] = QUOTE;
      const vs = offs[4 * k + 2]!;
      const ve = offs[4 * k + 3]!;
      o = e.escaped ? writeCanonicalValue(b, vs, ve, out, o) : copy(b, vs, ve, out, o);
      out[o++] = QUOTE;
    }
    if (n > 0) out[o++] = 0x7d; // }
    return o;
  }

  /**
   * The scraped label set as Prometheus's parser gives it: `__name__` and every label, empty values kept
   * (they still count as present for honor_labels). null when a name appears twice with values.
   */
  labelsOf(b: Buffer, e: ScannedEntry): Labels | null {
    const out: Labels = { [METRIC_NAME]: latin1(b, e.nameStart, e.nameEnd) };
    const offs = e.labels;
    for (let k = 0; k < e.labelCount; k++) {
      const name = latin1(b, offs[4 * k]!, offs[4 * k + 1]!);
      let value = b.toString('utf8', offs[4 * k + 2]!, offs[4 * k + 3]!);
      if (e.escaped) value = unescapeValue(value);
      const previous = Object.hasOwn(out, name) ? out[name]! : undefined;
      if (previous !== undefined && previous !== '' && value !== '') {
        this.duplicate = name;
        return null;
      }
      if (previous === undefined || previous === '') put(out, name, value);
    }
    return out;
  }
}

/**
 * The value of a label value as written: textparse's replacer turns `\\`, `\"`, `\n` into `\`, `"`, a newline
 * and leaves any other backslash pair as it is. A raw newline (text format) is already itself.
 */
export function unescapeValue(raw: string): string {
  if (raw.indexOf('\\') < 0) return raw;
  return raw.replace(/\\(.)/gs, (pair, c: string) => (c === '\\' ? '\\' : c === '"' ? '"' : c === 'n' ? '\n' : pair));
}

/** Copies b[s..e) to out at o; returns the end in out. */
function copy(b: Uint8Array, s: number, e: number, out: Uint8Array, o: number): number {
  for (let i = s; i < e; i++) out[o++] = b[i]!;
  return o;
}

/** A raw value b[s..e) written as the canonical key writes values: unescaped, then escaped again. */
function writeCanonicalValue(b: Uint8Array, s: number, e: number, out: Uint8Array, o: number): number {
  for (let i = s; i < e; ) {
    const c = b[i]!;
    if (c === BACKSLASH) {
      const d = b[i + 1]!;
      out[o++] = BACKSLASH;
      if (d === BACKSLASH || d === QUOTE || d === N) out[o++] = d;
      else {
        // A backslash the replacer keeps, then an ordinary byte.
        out[o++] = BACKSLASH;
        out[o++] = d;
      }
      i += 2;
    } else if (c === NL) {
      out[o++] = BACKSLASH;
      out[o++] = N;
      i++;
    } else {
      out[o++] = c;
      i++;
    }
  }
  return o;
}

/** Sets a label even when it is named `__proto__` (a valid label name). */
function put(out: Labels, name: string, value: string): void {
  if (name === '__proto__') Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  else out[name] = value;
}

function escapeValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : '\\' + c)) : v;
}

/**
 * The canonical text of a label set (a JavaScript string, not a byte key), leaving out names in `omit`.
 * The set must have a `__name__`.
 */
export function textKeyOf(labels: Labels, omit: Labels | null): string {
  const names = Object.keys(labels)
    .filter((k) => k !== METRIC_NAME && labels[k] !== '' && !(omit !== null && Object.hasOwn(omit, k)))
    .sort(compareNames);
  let s = labels[METRIC_NAME]!;
  for (let i = 0; i < names.length; i++) s += (i === 0 ? '{' : ',') + names[i] + '="' + escapeValue(labels[names[i]!]!) + '"';
  return names.length > 0 ? s + '}' : s;
}

/**
 * Label names in byte order, as compareLabelNames but without encoding them: valid names are ASCII, where
 * UTF-16 order is byte order (a name made invalid by labelmap only fails the scrape, whatever its place).
 */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Prometheus's labels.String() for messages: `{a="1", b="2"}` (values quoted near enough to Go's %q). */
export function formatLabels(labels: Labels): string {
  const names = Object.keys(labels).sort(compareLabelNames);
  return '{' + names.map((n) => `${n}=${JSON.stringify(labels[n])}`).join(', ') + '}';
}

/** A target's labels prepared for mutateSampleLabels and for spotting scraped names that collide with them. */
export class TargetLabels {
  /** Names in Prometheus order (labels.Labels.Range). */
  readonly names: readonly string[];
  readonly labels: Labels;
  /** Bit set over (first byte, length mod 32) of the names to look at closely: the target's and `__name__`. */
  private readonly table = new Uint8Array(256 * 32);
  private readonly watched: readonly Buffer[];

  constructor(labels: Labels) {
    const kept: Labels = {};
    // Prometheus attaches no reserved (`__`) label and no empty one.
    for (const k of Object.keys(labels).sort(compareLabelNames)) {
      if (!k.startsWith('__') && labels[k] !== '') kept[k] = labels[k]!;
    }
    this.labels = kept;
    this.names = Object.keys(kept);
    this.watched = [...this.names, METRIC_NAME].map((n) => Buffer.from(n, 'latin1'));
    for (const w of this.watched) this.table[(w[0]! << 5) | (w.length & 31)] = 1;
  }

  /**
   * Whether the scraped label name b[s..e) is a target label name or `__name__`: such a series needs the exact
   * path, because the target labels can turn two scraped label sets into one series.
   */
  watches(b: Uint8Array, s: number, e: number): boolean {
    if (this.table[(b[s]! << 5) | ((e - s) & 31)] === 0) return false;
    for (const w of this.watched) {
      if (w.length !== e - s) continue;
      let i = 0;
      while (i < w.length && w[i] === b[s + i]) i++;
      if (i === w.length) return true;
    }
    return false;
  }

  /** Whether `final` holds every target label with the target's value. */
  includedIn(final: Labels): boolean {
    for (const n of this.names) if (final[n] !== this.labels[n]) return false;
    return true;
  }
}

/**
 * scrape.go's mutateSampleLabels before metric_relabel_configs. honor_labels: a target label is added only when
 * the scraped set lacks the name (an empty scraped value counts as present). Otherwise the target labels are set,
 * and each scraped label they displace with a non-empty value is kept as `exported_<name>`, shortest names
 * first, prefixing again while the name is taken by a scraped label (empty or not), a target label or an earlier
 * rename. The result still holds the scraped empty values.
 */
export function mutateSampleLabels(scraped: Labels, target: TargetLabels, honor: boolean): Labels {
  // Object.assign, not a spread: V8 makes every later property store on a spread copy slow (measured 7 µs).
  // Object.assign sets `__proto__` through the prototype setter, so that label is copied apart.
  const out: Labels = Object.assign({}, scraped);
  if (Object.hasOwn(scraped, '__proto__')) put(out, '__proto__', scraped['__proto__']!);
  if (honor) {
    for (const n of target.names) if (!Object.hasOwn(scraped, n)) out[n] = target.labels[n]!;
    return out;
  }
  const conflicts: Array<{ name: string; value: string }> = [];
  for (const n of target.names) {
    const v = scraped[n];
    if (v !== undefined && v !== '') conflicts.push({ name: n, value: v });
    out[n] = target.labels[n]!;
  }
  if (conflicts.length === 0) return out;
  conflicts.sort((a, b) => a.name.length - b.name.length); // stable, as Go's sort.SliceStable
  for (let i = 0; i < conflicts.length; i++) {
    let name = conflicts[i]!.name;
    for (;;) {
      name = 'exported_' + name;
      const renamedBefore = conflicts.slice(0, i).some((c) => c.name === name);
      if (!Object.hasOwn(scraped, name) && !Object.hasOwn(target.labels, name) && !renamedBefore) break;
    }
    conflicts[i]!.name = name;
  }
  for (const c of conflicts) out[c.name] = c.value;
  return out;
}
