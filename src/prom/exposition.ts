/**
 * Counting the series a scrape gives Prometheus 2.42, from the response body as it streams through the scrape
 * proxy: samples (scrape_samples_scraped), samples kept by metric_relabel_configs
 * (scrape_samples_post_metric_relabeling), and unique series after the target labels and the rules.
 *
 * Two paths give the same answer:
 * - fast (no metric_relabel_configs): the target labels are the same on every series, so distinct scraped label
 *   sets are distinct series; the scraped series text, when already canonical (sorted names, no escapes, no
 *   blanks: what client libraries write), is its own key. Only a series carrying a target label name (or a
 *   `__name__` label) takes the exact path, because honor_labels or the `exported_` renaming can make two
 *   scraped sets one series.
 * - exact: the scraped labels, then scrape.go's mutateSampleLabels, then relabel(), then a key of the result.
 * Keys are canonical texts (exposition-labels.ts) counted exactly, not hashed away (exposition-keyset.ts); they
 * live for one scrape and end() drops them. Only an unfinished last line is held between chunks, never the body.
 *
 * When `error` is set, Prometheus stores nothing for the scrape (it rolls the append back); the counts are then
 * what came before the error, for the proxy's information.
 */
import { END_OF_DATA, FAILED, INCOMPLETE, OTHER, SAMPLE, ScannedEntry } from './exposition-scan.js';
import * as text from './exposition-text.js';
import * as openMetrics from './exposition-openmetrics.js';
import { formatLabels, mutateSampleLabels, SeriesKeys, TargetLabels, textKeyOf } from './exposition-labels.js';
import { ByteKeySet } from './exposition-keyset.js';
import { isValidLabelName, type Labels } from './labels.js';
import { relabel, type RelabelConfig } from './relabel.js';

export interface SeriesCountOptions {
  /** true when the response Content-Type is application/openmetrics-text */
  openMetrics: boolean;
  honorLabels: boolean;
  /** The target's final labels WITHOUT names starting with "__" (what Prometheus attaches to every series: job, instance, ...). */
  targetLabels: Labels;
  metricRelabelConfigs: readonly RelabelConfig[];
  /** Stop counting (not parsing errors) after this many decompressed bytes; 0 = no limit. Mirrors body_size_limit. */
  bodySizeLimit?: number;
}

export interface SeriesCount {
  /** Sample lines seen (Prometheus's scrape_samples_scraped). */
  samples: number;
  /** Samples kept by metric_relabel_configs (scrape_samples_post_metric_relabeling). */
  samplesPostRelabel: number;
  /** UNIQUE series after target labels + metric_relabel_configs. */
  series: number;
  /** Decompressed body bytes seen: every byte pushed, also past an error or the body size limit. */
  bytes: number;
  /** First parse error ("line 12: expected value after metric, got ..."), or "body size limit exceeded". */
  error?: string;
}

// Module-level constants, not imported bindings, in the per-line loop (see exposition-text.ts).
const { scanText } = text;
const { scanOpenMetrics } = openMetrics;
const NL = 10;
const SP = 32;
const TAB = 9;
const NEWLINE = Buffer.from('\n');
const EMPTY = Buffer.alloc(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer, EMPTY.byteOffset, 0);
const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export class SeriesCounter {
  private readonly openMetrics: boolean;
  private readonly honorLabels: boolean;
  private readonly target: TargetLabels;
  private readonly rules: readonly RelabelConfig[];
  private readonly bodySizeLimit: number;
  private readonly entry = new ScannedEntry();
  /** A view of the buffer being scanned, for ByteKeySet. */
  private view: DataView = EMPTY_VIEW;
  private readonly keys = new SeriesKeys();
  private readonly keySet = new ByteKeySet();
  /** The unfinished end of the data so far (from a line start), in carry[0..carryLength). */
  private carry: Buffer = EMPTY;
  private carryLength = 0;
  /** Line number of the next entry. */
  private line = 1;
  private samples = 0;
  private kept = 0;
  private bytes = 0;
  private error: string | undefined;
  /** Nothing more is parsed: an error, the text format's NUL, OpenMetrics's `# EOF`, or the body size limit. */
  private stopped = false;
  private eof = false;
  private result: SeriesCount | undefined;

  constructor(opts: SeriesCountOptions) {
    this.openMetrics = opts.openMetrics;
    this.honorLabels = opts.honorLabels;
    this.target = new TargetLabels(opts.targetLabels);
    this.rules = opts.metricRelabelConfigs;
    this.bodySizeLimit = opts.bodySizeLimit ?? 0;
  }

  /** Takes the next piece of the decompressed body; pieces may split lines and UTF-8 characters anywhere. */
  push(chunk: Uint8Array): void {
    if (this.result !== undefined) throw new Error('SeriesCounter.push() after end()');
    const before = this.bytes;
    this.bytes += chunk.length;
    // Prometheus reads at most body_size_limit bytes and fails the scrape when it got that many.
    const over = this.bodySizeLimit > 0 && this.bytes >= this.bodySizeLimit && before < this.bodySizeLimit;
    const data = over ? chunk.subarray(0, this.bodySizeLimit - before) : chunk;
    if (!this.stopped) this.feed(asBuffer(data));
    else if (this.eof && data.length > 0) this.fail(this.line, 'unexpected data after # EOF');
    if (over) {
      // The body limit fails the scrape before any parsing in Prometheus, so it wins over a parse error.
      this.error = 'body size limit exceeded';
      this.stop();
    }
  }

  /** Finishes (a last line without "\n" counts, as Prometheus appends one) and gives the figures; idempotent. */
  end(): SeriesCount {
    if (this.result !== undefined) return this.result;
    if (!this.stopped) this.finish();
    this.result = { samples: this.samples, samplesPostRelabel: this.kept, series: this.keySet.distinct(), bytes: this.bytes };
    if (this.error !== undefined) this.result.error = this.error;
    this.keySet.clear();
    this.stop();
    return this.result;
  }

  private feed(data: Buffer): void {
    if (data.length === 0) return;
    const last = data.lastIndexOf(NL);
    if (this.carryLength === 0) {
      if (last >= 0) {
        const pos = this.scan(data, 0, last, data.length);
        if (pos < data.length && !this.stopped) this.append(data.subarray(pos));
      } else {
        this.append(data);
      }
      return;
    }
    // A line is unfinished: join it with the new data. Without a newline nothing can end, so the data is only
    // kept (a long line costs one copy per chunk, not a scan per chunk).
    this.append(data);
    if (last < 0) return;
    const end = this.carryLength;
    const pos = this.scan(this.carry, 0, end - data.length + last, end);
    if (this.stopped) return;
    this.carry.copyWithin(0, pos, end);
    this.carryLength = end - pos;
  }

  private append(data: Uint8Array): void {
    const need = this.carryLength + data.length;
    if (need > this.carry.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, 2 * this.carry.length, 64 * 1024));
      this.carry.copy(grown, 0, 0, this.carryLength);
      this.carry = grown;
    }
    this.carry.set(data, this.carryLength);
    this.carryLength = need;
  }

  /** Scans entries of b from pos while they end by b[limit] (a newline); returns where unscanned data starts. */
  private scan(b: Buffer, pos: number, limit: number, end: number): number {
    this.view = new DataView(b.buffer, b.byteOffset, b.length);
    const next = this.scanEntries(b, pos, limit, end);
    this.view = EMPTY_VIEW; // not to keep the piece alive
    return next;
  }

  private scanEntries(b: Buffer, pos: number, limit: number, end: number): number {
    const e = this.entry;
    const openMetrics = this.openMetrics;
    while (pos <= limit) {
      const r = openMetrics ? scanOpenMetrics(b, pos, e) : scanText(b, this.view, pos, limit, e);
      if (r === SAMPLE) {
        this.sample(b, e);
        if (this.stopped) return end;
      } else if (r !== OTHER) {
        if (r === INCOMPLETE) return pos;
        if (r === FAILED) {
          this.fail(this.line + e.errorLine, e.error);
        } else if (r === END_OF_DATA) {
          this.stop();
          if (openMetrics) {
            this.eof = true;
            this.line += e.lines;
            if (e.next < end) this.fail(this.line, 'unexpected data after # EOF');
          }
        }
        return end;
      }
      this.line += e.lines;
      pos = e.next;
    }
    return pos;
  }

  private sample(b: Buffer, e: ScannedEntry): void {
    this.samples++;
    if (this.rules.length > 0) {
      this.relabeledSample(b, e);
      return;
    }
    const offs = e.labels;
    const target = this.target;
    // Blanks before the name make it invalid (see exposition-text.ts); the exact path reports it.
    let exact = b[e.nameStart] === SP || b[e.nameStart] === TAB;
    for (let k = 0; k < e.labelCount && !exact; k++) exact = target.watches(b, offs[4 * k]!, offs[4 * k + 1]!);
    if (exact) {
      const key = this.exactKey(b, e);
      if (key === null) return;
      this.keySet.addText(key);
    } else if (e.canonical) {
      this.keySet.add(this.view, e.nameStart, e.seriesEnd);
    } else {
      const length = this.keys.keyOf(b, e);
      if (length < 0) {
        this.fail(this.line, `label name "${this.keys.duplicate}" is not unique`);
        return;
      }
      this.keySet.add(this.keys.outView, 0, length);
    }
    this.kept++;
  }

  /**
   * The key of a series whose scraped labels include a target label name, in the fast path's key space: a
   * series without collision has every target label, so fast keys leave them out; a final set that lacks one
   * (honor_labels kept a scraped value) cannot be such a series, and gets a key of its own kind (a NUL first).
   */
  private exactKey(b: Buffer, e: ScannedEntry): string | null {
    const scraped = this.keys.labelsOf(b, e);
    if (scraped === null) {
      this.fail(this.line, `label name "${this.keys.duplicate}" is not unique`);
      return null;
    }
    const final = mutateSampleLabels(scraped, this.target, this.honorLabels);
    if (!METRIC_NAME_RE.test(final.__name__!)) {
      this.fail(this.line, `invalid metric name or label names: ${formatLabels(final)}`);
      return null;
    }
    if (this.target.includedIn(final)) return textKeyOf(final, this.target.labels);
    return '\u0000' + textKeyOf(final, null);
  }

  private relabeledSample(b: Buffer, e: ScannedEntry): void {
    const scraped = this.keys.labelsOf(b, e);
    if (scraped === null) {
      this.fail(this.line, `label name "${this.keys.duplicate}" is not unique`);
      return;
    }
    const input = mutateSampleLabels(scraped, this.target, this.honorLabels);
    const final = relabel(input, this.rules);
    if (final === null) return;
    const names = Object.keys(final);
    if (names.length === 0) return; // an empty set is how Prometheus marks a dropped sample
    // scrape.go checks what the rules made before appending. Label names the rules did not make are valid
    // already (the scanner's and the target's); the metric name may not be (blanks before it).
    const name = Object.hasOwn(final, '__name__') ? final.__name__! : '';
    if (name === '') {
      this.fail(this.line, 'missing metric name (__name__ label)');
      return;
    }
    if (!METRIC_NAME_RE.test(name) || !names.every((n) => Object.hasOwn(input, n) || isValidLabelName(n))) {
      this.fail(this.line, `invalid metric name or label names: ${formatLabels(final)}`);
      return;
    }
    this.kept++;
    this.keySet.addText(textKeyOf(final, null));
  }

  /** The end of the body: the last line, and for OpenMetrics the `# EOF` check. */
  private finish(): void {
    const n = this.carryLength;
    if (n > 0) this.append(NEWLINE);
    if (this.openMetrics) {
      // A last line without a newline: `# EOF` is fine, a line Prometheus cannot lex is its error, and anything
      // else ends without `# EOF` (a sample there is not counted: Prometheus fails before taking it).
      if (n > 0) {
        const r = scanOpenMetrics(this.carry, 0, this.entry);
        if (r === FAILED) this.fail(this.line, this.entry.error);
        else if (r === END_OF_DATA && this.entry.next === n + 1) this.eof = true; // `# EOF` and the newline added
        else if (r === END_OF_DATA) this.fail(this.line, 'unexpected data after # EOF');
      }
      if (!this.eof) this.fail(this.line, 'data does not end with # EOF');
      return;
    }
    if (n === 0) return;
    // NewPromParser appends a newline to the body, so a last line without one is a line.
    const pos = this.scan(this.carry, 0, n, n + 1);
    if (!this.stopped && pos <= n) this.fail(this.line, 'expected label value, got "INVALID"'); // a value never closed
  }

  private fail(line: number, message: string): void {
    this.error ??= `line ${line}: ${message}`;
    this.stop();
  }

  private stop(): void {
    this.stopped = true;
    this.carry = EMPTY;
    this.carryLength = 0;
  }
}

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * Whether Prometheus 2.42 parses a response with this Content-Type as OpenMetrics (textparse.New): the media
 * type of Go's mime.ParseMediaType is application/openmetrics-text. Anything else, a missing header, or a header
 * Go cannot parse (Prometheus then falls back) means the text format. Protobuf is left out: 2.42 asks for it
 * only with native histograms enabled.
 */
export function isOpenMetrics(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semi = contentType.indexOf(';');
  const base = semi < 0 ? contentType : contentType.slice(0, semi);
  if (base.trim().toLowerCase() !== 'application/openmetrics-text') return false;
  return semi < 0 || mediaParamsValid(contentType.slice(semi));
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;
const SPACES = /^[\s]*/;

/** Go's mime.ParseMediaType parameter loop: `; name=token` or `; name="quoted"`, a trailing `;` allowed, no repeats. */
function mediaParamsValid(v: string): boolean {
  const seen = new Set<string>();
  let rest = v;
  for (;;) {
    rest = rest.replace(SPACES, '');
    if (rest === '') return true;
    if (rest[0] !== ';') return false;
    let r = rest.slice(1).replace(SPACES, '');
    const name = TOKEN.exec(r)?.[0];
    if (name === undefined) return r.trim() === ''; // a trailing semicolon is not an error
    r = r.slice(name.length).replace(SPACES, '');
    if (r[0] !== '=') return false;
    r = r.slice(1).replace(SPACES, '');
    if (r[0] === '"') {
      const close = quotedEnd(r);
      if (close < 0) return false;
      r = r.slice(close + 1);
    } else {
      const value = TOKEN.exec(r)?.[0];
      if (value === undefined) return false;
      r = r.slice(value.length);
    }
    const key = name.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    rest = r;
  }
}

/** Index of the closing quote of a quoted-string starting at s[0], or -1 (Go's consumeValue). */
function quotedEnd(s: string): number {
  for (let i = 1; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"') return i;
    if (c === '\\' && i + 1 < s.length && '()<>@,;:\\"/[]?='.includes(s[i + 1]!)) i++;
    else if (c === '\r' || c === '\n') return -1;
  }
  return -1;
}
