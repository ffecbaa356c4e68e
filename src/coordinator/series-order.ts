/**
 * Targets ordered by series, then by hash: the planner's one total order (planner-state.ts bySizeDesc, descending;
 * relief's ascending), in the two parts both of its users need without a comparator.
 *
 * Why not the comparator. A first placement sorts every target (900,000 took 1.5 s by comparator, each comparison
 * a call reading two targets' series and order keys at random places in million-slot arrays), and a change touching
 * most shards sorts every relieved shard's targets. Series are counts spanning little (a few hundred values for a
 * million targets), so a counting sort puts them in runs of equal series in two passes; a run is then ordered (or
 * only the rank asked selected) by the hashes' order keys (sorted-keys.ts orderKey), copied beside it into a typed
 * array, with the strings compared only where the keys tie. Hashes are distinct, so the order is a total one and
 * any way of sorting gives the comparator's result.
 */

/** The span of `list`'s series, or null unless every one is a safe integer (a count) spanning less than 4 × its length. */
export function countableSpan(list: ArrayLike<number>, series: readonly number[]): { min: number; max: number } | null {
  let min = Infinity;
  let max = -Infinity;
  for (let j = 0; j < list.length; j++) {
    const v = series[list[j]!]!;
    if (!Number.isSafeInteger(v)) return null;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return list.length > 0 && max - min < 4 * list.length ? { min, max } : null;
}

/**
 * Where each run of equal series starts, for a counting sort of `list` over its span (countableSpan): run b holds
 * the series min + b (ascending) or max − b (descending); `starts[b]` is its first position, `starts[b + 1]` its end.
 */
export function seriesRunStarts(list: ArrayLike<number>, series: readonly number[], span: { min: number; max: number }, descending: boolean): Int32Array {
  const { min, max } = span;
  const starts = new Int32Array(max - min + 2);
  for (let j = 0; j < list.length; j++) starts[(descending ? max - series[list[j]!]! : series[list[j]!]! - min) + 1]!++;
  for (let b = 1; b < starts.length; b++) starts[b]! += starts[b - 1]!;
  return starts;
}

/** Runs of at most this many are ordered by insertion. */
const SHORT_RUN = 16;

/**
 * One Hoare partition step of idx[lo..hi] (keys beside it) around the target `pivot` by hash (key, then string
 * where keys tie): afterwards everything at or before `j` is at most it and everything from `i` on at least it.
 * Returns [i, j], j < i.
 */
function partitionByHash(idx: Int32Array, keys: Float64Array, lo: number, hi: number, pivot: number, hashes: readonly string[]): [number, number] {
  const pk = keys[pivot]!;
  const ph = hashes[idx[pivot]!]!;
  let i = lo;
  let j = hi;
  do {
    while (keys[i]! < pk || (keys[i] === pk && hashes[idx[i]!]! < ph)) i++;
    while (pk < keys[j]! || (keys[j] === pk && ph < hashes[idx[j]!]!)) j--;
    if (i <= j) {
      const t = idx[i]!;
      idx[i] = idx[j]!;
      idx[j] = t;
      const k = keys[i]!;
      keys[i] = keys[j]!;
      keys[j] = k;
      i++;
      j--;
    }
  } while (i <= j);
  return [i, j];
}

/** Orders idx[lo..hi] (keys beside it) by hash. A quicksort, the smaller side by recursion: a shallow stack. */
export function sortByHash(idx: Int32Array, keys: Float64Array, lo: number, hi: number, hashes: readonly string[]): void {
  while (hi - lo >= SHORT_RUN) {
    const [i, j] = partitionByHash(idx, keys, lo, hi, (lo + hi) >>> 1, hashes);
    if (j - lo < hi - i) {
      sortByHash(idx, keys, lo, j, hashes);
      lo = i;
    } else {
      sortByHash(idx, keys, i, hi, hashes);
      hi = j;
    }
  }
  for (let p = lo + 1; p <= hi; p++) {
    const k = keys[p]!;
    const x = idx[p]!;
    const h = hashes[x]!;
    let q = p - 1;
    while (q >= lo && (keys[q]! > k || (keys[q] === k && hashes[idx[q]!]! > h))) {
      keys[q + 1] = keys[q]!;
      idx[q + 1] = idx[q]!;
      q--;
    }
    keys[q + 1] = k;
    idx[q + 1] = x;
  }
}

/**
 * The target of rank `k` of idx ordered by hash, permuting idx and keys (C. A. R. Hoare's FIND, as Wirth writes it):
 * about 2–3 comparisons per target instead of a sort's log2(n). Any permutation left behind still answers the next
 * rank asked.
 */
export function selectByHash(idx: Int32Array, keys: Float64Array, k: number, hashes: readonly string[]): number {
  let lo = 0;
  let hi = idx.length - 1;
  while (lo < hi) {
    const [i, j] = partitionByHash(idx, keys, lo, hi, k, hashes);
    if (j < k) lo = i;
    if (k < i) hi = j;
  }
  return idx[k]!;
}
