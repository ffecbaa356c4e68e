/**
 * Moves of scraped targets: relief of over-budget shards (phase 3) and scale-down (phase 5). Every move is a
 * transfer. See planner.ts for the rules.
 */
import { bestFit, emptyReceiver, withinMargin } from './planner-place.js';
import { beginTransfer, bySizeDesc, isExpiredLongEnough, isIdleLongEnough, membersOf, type PlanState } from './planner-state.js';
import { countableSpan, selectByHash, seriesRunStarts, sortByHash } from './series-order.js';
import { orderKey } from './sorted-keys.js';

/**
 * Phase 3: each ready shard over budget, with no transfer in flight from or to it, sends the smallest set of
 * its targets that brings it back within budget to other shards (best fit, hysteresis margin). Moves that
 * fit no existing shard wait in `reliefOverflow` for new shards.
 */
export function relieveOverloadedShards(st: PlanState): void {
  const limit = Math.min(st.existing, st.maxShards);
  for (let s = 0; s < limit; s++) {
    if (!st.receiver[s] || st.busy[s] || s === st.drainingShard || st.load[s]! <= st.budget) continue;
    const members = membersOf(st, s);
    if (members.length < 2) continue; // a lone oversized target: nothing to gain
    const chosen = chooseReliefSet(members, st.series, st.hashes, st.load[s]! - st.budget, st.budget, st.hashKeys).sort(bySizeDesc(st));
    for (const i of chosen) {
      const size = st.series[i]!;
      const r = size > st.budget ? emptyReceiver(st, s) : bestFit(st, size, withinMargin, s);
      if (r < 0) st.reliefOverflow.push({ idx: i, from: s });
      else beginTransfer(st, i, r, 'overload');
    }
  }
}

function compareAsc(series: number[], hashes: string[]): (a: number, b: number) => number {
  return (a, b) => series[a]! - series[b]! || (hashes[a]! < hashes[b]! ? -1 : hashes[a]! > hashes[b]! ? 1 : 0);
}

const INDEX_BITS = 2 ** 20;

/**
 * `members` by series ascending, then hash: the order of compareAsc. Exported for tests.
 */
export function ascending(members: ArrayLike<number>, series: number[], hashes: string[]): number[] {
  const asc = bySeries(members, series);
  if (asc === null) return Array.from(members).sort(compareAsc(series, hashes));
  orderRunsByHash(asc, series, hashes);
  return asc;
}

/**
 * `members` by series ascending, equal series in `members`' order, without a comparator (series-order.ts): a counting
 * sort where the series are integers spanning little more than the number of targets (shards of similar targets,
 * the usual case), else keys series × 2^20 + position (exact below 2^53) sorted as numbers, which needs every series
 * an integer in [0, 2^32) and fewer than 2^20 members; null otherwise. A change touching most shards sorts each
 * relieved shard's targets.
 */
function bySeries(members: ArrayLike<number>, series: number[]): number[] | null {
  const L = members.length;
  const span = countableSpan(members, series);
  if (span !== null) {
    const starts = seriesRunStarts(members, series, span, false);
    const asc = new Array<number>(L);
    for (let j = 0; j < L; j++) {
      const i = members[j]!;
      asc[starts[series[i]! - span.min]!++] = i;
    }
    return asc;
  }
  if (L >= INDEX_BITS) return null;
  for (let j = 0; j < L; j++) {
    const v = series[members[j]!]!;
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** 32) return null;
  }
  const keys = new Float64Array(L);
  for (let j = 0; j < L; j++) keys[j] = series[members[j]!]! * INDEX_BITS + j;
  keys.sort();
  const asc = new Array<number>(L);
  for (let j = 0; j < L; j++) asc[j] = members[keys[j]! % INDEX_BITS]!;
  return asc;
}

/** Orders each run of equal series in `asc` by hash, in place. */
function orderRunsByHash(asc: number[], series: number[], hashes: string[], hashKeys?: Float64Array): void {
  for (let a = 0; a < asc.length; ) {
    let b = a + 1;
    while (b < asc.length && series[asc[b]!] === series[asc[a]!]) b++;
    if (b - a > 1) {
      const run = runOf(asc.slice(a, b), hashes, hashKeys);
      sortByHash(run.idx, run.keys, 0, b - a - 1, hashes);
      for (let j = a; j < b; j++) asc[j] = run.idx[j - a]!;
    }
    a = b;
  }
}

/**
 * The target at position `pos` of the fully ordered list (compareAsc), from `asc` ordered by series only: the same
 * runs of equal series at the same places, so it is the run's (pos − start)-th by hash. Selected, not sorted: a run
 * can hold most of a shard (targets of one size), and ordering a thousand hashes for each relieved shard was most of
 * relief's time. `runs` keeps each run's working copy (by start) for the next positions asked in it.
 */
function atOrdered(asc: number[], series: number[], hashes: string[], pos: number, runs: Map<number, Run>, hashKeys?: Float64Array): number {
  const v = series[asc[pos]!];
  let a = pos;
  while (a > 0 && series[asc[a - 1]!] === v) a--;
  let b = pos + 1;
  while (b < asc.length && series[asc[b]!] === v) b++;
  if (b - a === 1) return asc[pos]!;
  let run = runs.get(a);
  if (run === undefined) runs.set(a, (run = runOf(asc.slice(a, b), hashes, hashKeys)));
  return selectByHash(run.idx, run.keys, pos - a, hashes);
}

/**
 * A run of targets to order or select from by hash, with their hashes' order keys (sorted-keys.ts) beside them: the
 * planner's per-slot keys where it keeps them, else made from the hashes.
 */
interface Run {
  idx: Int32Array;
  keys: Float64Array;
}

function runOf(members: readonly number[], hashes: string[], hashKeys?: Float64Array): Run {
  const keys = new Float64Array(members.length);
  if (hashKeys) for (let j = 0; j < members.length; j++) keys[j] = hashKeys[members[j]!]!;
  else for (let j = 0; j < members.length; j++) keys[j] = orderKey(hashes[members[j]!]!);
  return { idx: Int32Array.from(members), keys };
}

/** First position in `asc` (sorted by series ascending) whose series is >= need, from `from`. */
function lowerBound(asc: number[], series: number[], need: number, from = 0, to = asc.length): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (series[asc[mid]!]! >= need) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The targets (numbers from `members`) to move off a shard `excess` series over budget: the fewest targets,
 * then the fewest series (exact for one or two targets; beyond, the largest-first set improved by swapping
 * each chosen target for the smallest one that still suffices). A shard holding an oversized target keeps its
 * largest oversized target and sends everything else away. Exported for tests.
 */
export function chooseReliefSet(members: ArrayLike<number>, series: number[], hashes: string[], excess: number, budget: number, hashKeys?: Float64Array): number[] {
  if (members.length === 0 || excess <= 0) return [];
  const one = singleReliefTarget(members, series, hashes, excess, budget, hashKeys);
  if (one >= 0) return [one];
  // Ordered by series only at first: which positions are chosen depends on series alone (and the runs of equal
  // series are at the same places), so with a few targets chosen only their runs are ordered by hash (atOrdered).
  const fast = bySeries(members, series);
  const asc = fast ?? ascending(members, series, hashes);
  const runs = new Map<number, Run>();
  const at = (pos: number): number => (fast ? atOrdered(asc, series, hashes, pos, runs, hashKeys) : asc[pos]!);
  const L = asc.length;
  const biggest = asc[L - 1]!;
  if (series[biggest]! > budget) {
    if (fast) orderRunsByHash(asc, series, hashes, hashKeys);
    // The largest oversized target is the last one with the largest series and, among equals, the first hash.
    const keep = asc[lowerBound(asc, series, series[biggest]!)]!;
    return asc.filter((i) => i !== keep);
  }
  let k = 0;
  let top = 0;
  while (k < L && top < excess) top += series[asc[L - 1 - k++]!]!;
  if (top < excess) {
    // cannot happen with every target within budget; move all as a fallback
    if (fast) orderRunsByHash(asc, series, hashes, hashKeys);
    return asc.slice();
  }
  // k = 1 (the largest target, within budget, covers the excess) was answered by singleReliefTarget above.
  if (k === 2) {
    let best: [number, number] | null = null;
    let bestSum = Infinity;
    // The partner's bound only falls as p rises (asc is ascending): walked down from the last one, not searched.
    let bound = lowerBound(asc, series, excess - series[asc[0]!]!);
    for (let p = 0; p < L; p++) {
      const a = series[asc[p]!]!;
      while (bound > 0 && series[asc[bound - 1]!]! >= excess - a) bound--;
      let q = bound;
      if (q === p) q++;
      if (q >= L) continue;
      const sum = a + series[asc[q]!]!;
      if (sum < bestSum) {
        bestSum = sum;
        best = [p, q];
      }
    }
    return [at(best![0]), at(best![1])];
  }
  // k >= 3: the k-1 largest, completed by the smallest target that reaches the excess, then swapped down. (The
  // swaps, too, depend on series and positions only; with many targets chosen every run is ordered instead.)
  const ordered = !fast || k > 8;
  if (fast && k > 8) orderRunsByHash(asc, series, hashes, hashKeys);
  const chosen = new Uint8Array(L);
  let sum = 0;
  for (let j = L - k + 1; j < L; j++) {
    chosen[j] = 1;
    sum += series[asc[j]!]!;
  }
  const c = lowerBound(asc, series, excess - sum, 0, L - k + 1);
  chosen[c] = 1;
  sum += series[asc[c]!]!;
  for (let j = L - 1; j >= 0; j--) {
    if (!chosen[j]) continue;
    const size = series[asc[j]!]!;
    const slack = sum - excess;
    for (let u = lowerBound(asc, series, size - slack); u < L && series[asc[u]!]! < size; u++) {
      if (chosen[u]) continue;
      chosen[j] = 0;
      chosen[u] = 1;
      sum -= size - series[asc[u]!]!;
      break;
    }
  }
  const out: number[] = [];
  for (let j = 0; j < L; j++) if (chosen[j]) out.push(ordered ? asc[j]! : at(j));
  return out;
}

/**
 * The commonest relief, found in one pass instead of a sort of the shard's targets (which a change touching
 * most shards would pay on each): when the largest target is within budget and alone covers the excess, the set is
 * the one smallest target that does (smallest series, then first hash: what the sorted walk picks). -1 otherwise.
 * An indexed loop, as in bySeries: relief is rare, so it often runs before V8 optimises it, and there each step of
 * for…of allocates a result object (10 MB in the first 1% cycle of one profiled run at a million targets).
 */
function singleReliefTarget(members: ArrayLike<number>, series: number[], hashes: string[], excess: number, budget: number, hashKeys?: Float64Array): number {
  let largest = Number.NEGATIVE_INFINITY;
  let pick = -1;
  for (let j = 0; j < members.length; j++) {
    const i = members[j]!;
    const size = series[i]!;
    if (size > largest) largest = size;
    if (size >= excess && (pick < 0 || size < series[pick]! || (size === series[pick]! && hashBelow(i, pick, hashes, hashKeys)))) pick = i;
  }
  return largest <= budget ? pick : -1;
}

/** hashes[a] < hashes[b], by their order keys where given and different. */
function hashBelow(a: number, b: number, hashes: string[], hashKeys?: Float64Array): boolean {
  if (hashKeys) {
    const ka = hashKeys[a]!;
    const kb = hashKeys[b]!;
    if (ka !== kb) return ka < kb;
  }
  return hashes[a]! < hashes[b]!;
}

/** Removable: no target in the output; empty and idle long enough by its own report, or expired for long. */
function isRemovable(st: PlanState, s: number): boolean {
  if (st.count[s] !== 0) return false;
  const { options } = st.input;
  const sh = st.input.shards[s]!;
  if (!st.live[s] && isExpiredLongEnough(sh, st.nowMs, options)) return true;
  return sh.targets.size === 0 && isIdleLongEnough(sh, st.nowMs, options);
}

/**
 * Phase 5: returns the shard count. Removes the highest shards while they are empty and idle long enough
 * (above minShards); then, if the step is quiet (nothing placed, unplaced or moving, every shard ready), empties
 * the highest shard when all its targets fit on the others with the hysteresis margin.
 */
export function scaleDown(st: PlanState): number {
  const { minShards, maxIdleTimeMs } = st.input.options;
  let d = st.existing + st.opened;
  if (maxIdleTimeMs <= 0 || st.opened > 0 || st.existing > st.maxShards) return d;
  while (d > minShards && isRemovable(st, d - 1)) d--;
  if (d <= minShards || st.moves.length > 0 || st.toPlace.length > 0 || st.unplaced.length > 0) return d;
  for (let s = 0; s < d; s++) if (!st.ready[s]) return d;
  for (let i = 0; i < st.incoming.length; i++) if (st.incoming[i]! >= 0) return d;
  const h = d - 1;
  if (st.count[h] === 0) return d;

  // Try the whole move on a scratch copy of the loads first: all or nothing.
  const members = Array.from(membersOf(st, h)).sort(bySizeDesc(st));
  const savedLoad = st.load.slice();
  const savedCount = st.count.slice();
  const plan: Array<[number, number]> = [];
  for (const i of members) {
    const size = st.series[i]!;
    const r = size > st.budget ? emptyReceiver(st, h, h) : bestFit(st, size, withinMargin, h, h);
    if (r < 0) break;
    st.load[r]! += size;
    st.count[r]!++;
    plan.push([i, r]);
  }
  for (let s = 0; s < savedLoad.length; s++) {
    st.load[s] = savedLoad[s]!;
    st.count[s] = savedCount[s]!;
  }
  if (plan.length === members.length) for (const [i, r] of plan) beginTransfer(st, i, r, 'scale-down');
  return d;
}
