/**
 * Targets in placement order (planner-state.ts bySizeDesc: series descending, then hash ascending), for the list
 * phase 2 sorts whole.
 *
 * Why not the comparator. A first placement sorts every target: 900,000 of them took 1.5 s, each comparison a call
 * reading two targets' series and order keys at random places in million-slot arrays. Series are counts spanning
 * little (a few hundred values for a million targets), so a counting sort puts them in runs of equal series in two
 * passes; each run is then ordered by the hashes' order keys (sorted-keys.ts orderKey), copied beside it into a typed
 * array, with the strings compared only where the keys tie. The order is a total one (hashes are distinct), so any
 * way of sorting gives the comparator's result; where series are not integers in a small span, or no order keys are
 * kept (the full planner), the comparator is used.
 */
import { bySizeDesc, type PlanState } from './planner-state.js';

/** Runs this short are ordered by insertion. */
const SHORT_RUN = 16;

export function placementOrder(st: PlanState, list: readonly number[]): number[] {
  const { series, hashKeys, hashes } = st;
  const L = list.length;
  const byComparator = (): number[] => list.slice().sort(bySizeDesc(st));
  if (hashKeys === undefined || L < SHORT_RUN) return byComparator();
  let min = Infinity;
  let max = -Infinity;
  for (let j = 0; j < L; j++) {
    const v = series[list[j]!]!;
    if (!Number.isSafeInteger(v)) return byComparator();
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (max - min >= 4 * L) return byComparator();
  // Counting sort, largest series first: run b holds the series max - b.
  const starts = new Int32Array(max - min + 2);
  for (let j = 0; j < L; j++) starts[max - series[list[j]!]! + 1]!++;
  for (let b = 1; b < starts.length; b++) starts[b]! += starts[b - 1]!;
  const ends = starts.slice(1);
  const fill = starts.slice(0, -1);
  // Each key read in the list's order (slots mostly ascending: memory read in order) and written where its target goes.
  const idx = new Int32Array(L);
  const keys = new Float64Array(L);
  for (let j = 0; j < L; j++) {
    const i = list[j]!;
    const p = fill[max - series[i]!]!++;
    idx[p] = i;
    keys[p] = hashKeys[i]!;
  }
  let a = 0;
  for (let b = 0; b < ends.length; b++) {
    const e = ends[b]!;
    if (e - a > 1) sortByHash(idx, keys, a, e - 1, hashes);
    a = e;
  }
  // Copied by a loop: Array.from of a typed array this long took 0.45 s in a cycle.
  const out = new Array<number>(L);
  for (let p = 0; p < L; p++) out[p] = idx[p]!;
  return out;
}

/** Orders idx[lo..hi] (and keys beside it) by hash: keys first, the strings where keys tie. A quicksort (Hoare). */
function sortByHash(idx: Int32Array, keys: Float64Array, lo: number, hi: number, hashes: readonly string[]): void {
  while (hi - lo >= SHORT_RUN) {
    const mid = (lo + hi) >>> 1;
    const pk = keys[mid]!;
    const ph = hashes[idx[mid]!]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (keys[i]! < pk || (keys[i] === pk && hashes[idx[i]!]! < ph)) i++;
      while (pk < keys[j]! || (keys[j] === pk && ph < hashes[idx[j]!]!)) j--;
      if (i <= j) {
        swap(idx, keys, i, j);
        i++;
        j--;
      }
    }
    // The smaller side by recursion, the larger by the loop: the stack stays shallow.
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

function swap(idx: Int32Array, keys: Float64Array, i: number, j: number): void {
  const t = idx[i]!;
  idx[i] = idx[j]!;
  idx[j] = t;
  const k = keys[i]!;
  keys[i] = keys[j]!;
  keys[j] = k;
}
