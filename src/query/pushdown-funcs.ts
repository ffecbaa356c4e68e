/**
 * The functions the front door evaluates itself over complete vectors (functions.go, quantile.go of Prometheus
 * 2.42): sort/sort_desc, label_replace and histogram_quantile over classic buckets, one step at a time.
 */
import { isValidLabelName, type Labels } from '../prom/labels.js';
import { expandTemplate, Re2Regex } from '../prom/regex.js';
import { goSort, swapIn } from './go-sort.js';
import { parseGoFloat } from './pushdown-gomath.js';
import { checkNoDuplicates, EvalError, labelsKey, METRIC_NAME, withoutLabels, type EvalSample } from './pushdown-vector.js';

const BUCKET_LABEL = 'le';

// ---------------------------------------------------------------------------------------------------------
// sort, sort_desc, label_replace
// ---------------------------------------------------------------------------------------------------------

/** funcSort/funcSortDesc: Go's sort.Sort of sort.Reverse over the value heaps, so NaN ends up last. */
export function sortVector(vec: readonly EvalSample[], descending: boolean): EvalSample[] {
  const out = [...vec];
  const less = descending
    ? (i: number, j: number) => Number.isNaN(out[j]!.value) || out[j]!.value < out[i]!.value
    : (i: number, j: number) => Number.isNaN(out[j]!.value) || out[j]!.value > out[i]!.value;
  goSort(out.length, { less, swap: (i, j) => swapIn(out, i, j) });
  return out;
}

/** A compiled label_replace(v, dst, replacement, src, regex), validated as Prometheus does (EvalError). */
export function labelReplacer(dst: string, replacement: string, src: string, regex: string): (vec: readonly EvalSample[]) => EvalSample[] {
  let re: Re2Regex;
  try {
    re = Re2Regex.compile(regex);
  } catch {
    throw new EvalError(`invalid regular expression in label_replace(): ${regex}`);
  }
  if (!isValidLabelName(dst)) throw new EvalError(`invalid destination label name in label_replace(): ${dst}`);
  const template = re.template(replacement);
  return (vec) => {
    const out = vec.map((s): EvalSample => {
      const match = re.exec(s.metric[src] ?? '');
      if (match === null) return s;
      const res = expandTemplate(template, match);
      const metric = withoutLabels(s.metric, [dst]);
      if (res !== '') metric[dst] = res;
      return { metric, value: s.value };
    });
    return checkNoDuplicates(out) as EvalSample[];
  };
}

// ---------------------------------------------------------------------------------------------------------
// histogram_quantile over classic buckets (functions.go funcHistogramQuantile, quantile.go bucketQuantile)
// ---------------------------------------------------------------------------------------------------------

interface Bucket {
  upperBound: number;
  count: number;
}

/** Go's sort.Search: the smallest i in [0, n) with f(i), or n. */
function goSearch(n: number, f: (i: number) => boolean): number {
  let i = 0;
  let j = n;
  while (i < j) {
    const h = (i + j) >>> 1;
    if (!f(h)) i = h + 1;
    else j = h;
  }
  return i;
}

export function bucketQuantile(q: number, input: Bucket[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...input];
  goSort(sorted.length, { less: (i, j) => sorted[i]!.upperBound < sorted[j]!.upperBound, swap: (i, j) => swapIn(sorted, i, j) });
  if (sorted[sorted.length - 1]!.upperBound !== Infinity) return NaN;
  // coalesceBuckets: add the counts of equal upper bounds.
  const buckets: Bucket[] = [];
  for (const b of sorted) {
    const last = buckets[buckets.length - 1];
    if (last !== undefined && last.upperBound === b.upperBound) last.count += b.count;
    else buckets.push({ ...b });
  }
  // ensureMonotonic
  let max = buckets[0]!.count;
  for (let i = 1; i < buckets.length; i++) {
    if (buckets[i]!.count > max) max = buckets[i]!.count;
    else if (buckets[i]!.count < max) buckets[i]!.count = max;
  }
  if (buckets.length < 2) return NaN;
  const observations = buckets[buckets.length - 1]!.count;
  if (observations === 0) return NaN;
  let rank = q * observations;
  const b = goSearch(buckets.length - 1, (i) => buckets[i]!.count >= rank);
  if (b === buckets.length - 1) return buckets[buckets.length - 2]!.upperBound;
  if (b === 0 && buckets[0]!.upperBound <= 0) return buckets[0]!.upperBound;
  let bucketStart = 0;
  const bucketEnd = buckets[b]!.upperBound;
  let count = buckets[b]!.count;
  if (b > 0) {
    bucketStart = buckets[b - 1]!.upperBound;
    count -= buckets[b - 1]!.count;
    rank -= buckets[b - 1]!.count;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}

/** histogram_quantile(phi, vec): buckets grouped by their labels but `le` (the name included). */
export function histogramQuantile(phi: number, vec: readonly EvalSample[]): EvalSample[] {
  const groups = new Map<string, { metric: Labels; buckets: Bucket[] }>();
  for (const s of vec) {
    const le = s.metric[BUCKET_LABEL];
    const upperBound = le === undefined ? undefined : parseGoFloat(le);
    if (upperBound === undefined) continue; // no or malformed le: skipped
    const key = labelsKey(withoutLabels(s.metric, [BUCKET_LABEL]));
    let g = groups.get(key);
    if (g === undefined) {
      g = { metric: withoutLabels(s.metric, [METRIC_NAME, BUCKET_LABEL]), buckets: [] };
      groups.set(key, g);
    }
    g.buckets.push({ upperBound, count: s.value });
  }
  const out = [...groups.values()].map((g) => ({ metric: g.metric, value: bucketQuantile(phi, g.buckets) }));
  return checkNoDuplicates(out) as EvalSample[];
}

