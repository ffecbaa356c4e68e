/** A label set: name → value. Plain objects keep JSON output and look-ups simple; order carries no meaning. */
export type Labels = Record<string, string>;

export const ADDRESS_LABEL = '__address__';
export const SCHEME_LABEL = '__scheme__';
export const METRICS_PATH_LABEL = '__metrics_path__';
export const SCRAPE_INTERVAL_LABEL = '__scrape_interval__';
export const SCRAPE_TIMEOUT_LABEL = '__scrape_timeout__';
export const PARAM_LABEL_PREFIX = '__param_';
export const META_LABEL_PREFIX = '__meta_';
export const RESERVED_LABEL_PREFIX = '__';
export const JOB_LABEL = 'job';
export const INSTANCE_LABEL = 'instance';

const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Whether two name lists are equal entry by entry (label names are internalized: mostly a pointer comparison each). */
export function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Prometheus's model.LabelName.IsValid (the legacy, pre-UTF-8 rule that 2.42 applies). */
export function isValidLabelName(name: string): boolean {
  return LABEL_NAME_RE.test(name);
}

/** Prometheus's model.LabelValue.IsValid: the value must be valid UTF-8 (no lone surrogates in JS terms). */
export function isValidLabelValue(value: string): boolean {
  return value.isWellFormed();
}

/**
 * Strings in Go's order (the bytes of their UTF-8), without encoding them: UTF-16 code units order everything but
 * surrogates as code points do, and code point order is UTF-8 order, so surrogates (code points above U+FFFF) are
 * moved above U+E000..U+FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  return unit >= 0xe000 ? unit - 0x800 : unit >= 0xd800 ? unit + 0x2000 : unit;
}

/** Label names in Prometheus order: byte order of their UTF-8 encoding. */
export const compareLabelNames = compareUtf8;

/** A copy with keys in Prometheus order, for stable output and hashing. */
export function sortedLabels(labels: Labels): Labels {
  const out: Labels = {};
  for (const k of Object.keys(labels).sort(compareLabelNames)) out[k] = labels[k]!;
  return out;
}

/** The labels without reserved (`__`-prefixed) names: what Prometheus stores and shows as a target's labels. */
export function publicLabels(labels: Labels): Labels {
  const out: Labels = {};
  for (const k of Object.keys(labels).sort(compareLabelNames)) {
    if (!k.startsWith(RESERVED_LABEL_PREFIX)) out[k] = labels[k]!;
  }
  return out;
}

/** Prometheus's labels.Compare over sorted pairs: label by label, name then value; a set before the longer sets it begins. */
export function compareLabelSets(a: ReadonlyArray<readonly [string, string]>, b: ReadonlyArray<readonly [string, string]>): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareUtf8(a[i]![0], b[i]![0]) || compareUtf8(a[i]![1], b[i]![1]);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}
