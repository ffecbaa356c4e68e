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
    const excess = st.load[s]! - st.budget;
    let chosen: number[];
    if (st.reliefOrder) {
      const asc = membersInOrder(st, s);
      if (asc.length < 2) continue;
      chosen = chooseReliefSetInOrder(asc, st.series, excess, st.budget);
    } else {
      const members = membersOf(st, s);
      if (members.length < 2) continue; // a lone oversized target: nothing to gain
      chosen = chooseReliefSet(members, st.series, st.hashes, excess, st.budget, st.hashKeys);
    }
    chosen.sort(bySizeDesc(st));
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
export function ascending(members: ArrayLike<number>, series: number[], hashes: string[], hashKeys?: Float64Array): number[] {
  const asc = bySeries(members, series);
  if (asc === null) return Array.from(members).sort(compareAsc(series, hashes));
  orderRunsByHash(asc, series, hashes, hashKeys);
  return asc;
}

/**
 * Shard s's targets in relief's order (series ascending, then hash), from the order the incremental planner keeps
 * (relief-order.ts), which is made here the first time. A shard this step placed targets on is ordered afresh and not
 * kept (the kept orders are phase 1's): placement keeps a shard within budget, so relief meets one only where an
 * oversized target went to an empty shard, alone.
 */
function membersInOrder(st: PlanState, s: number): ArrayLike<number> {
  const placed = st.placedOn![s] === true;
  const kept = placed ? null : st.reliefOrder!.of(s);
  if (kept !== null) return kept;
  const asc = ascending(membersOf(st, s), st.series, st.hashes, st.hashKeys);
  if (!placed) st.reliefOrder!.keep(s, asc);
  return asc;
}

/**
 * Keeps the order of every shard whose order is not kept and that this step placed no target on: called by the
 * incremental planner after relief in a plan that resolved one target in eight or more (its sidecars' first reports,
 * a restart). Why: the 1% cycles at 1M ordered the shards they first relieved (654 in the first, 108 in the second,
 * 19 in the third of a bench run), a sixth of the second one's profiled plan and most of the first one's; the kept
 * orders then follow each change as they do when relief made them.
 *
 * `byHash(s)`, where known: slots in ascending hash order among which are all of shard s's targets (the slots of the
 * shard's view, when this plan looked up every one: a new view, or one whose every entry changed). Then the order is
 * a counting sort by series of the view's slots whose normal copy is on s, stable, so hash order within each series,
 * with no comparison of hashes. At 1M, ordering all 784 shards by `ascending` (runs of equal series sorted by hash)
 * took 302–334 ms of the cycle in which the sidecars first report every target scraped, and 126 ms from the views.
 */
export function keepEveryReliefOrder(st: PlanState, byHash: (s: number) => ArrayLike<number> | undefined): void {
  const order = st.reliefOrder;
  if (!order) return;
  for (let s = 0; s < st.existing; s++) {
    if (st.placedOn![s] === true || order.isKept(s)) continue;
    const view = byHash(s);
    const asc = view === undefined ? null : bySeries(normalOn(st, s, view), st.series);
    order.keep(s, asc ?? ascending(membersOf(st, s), st.series, st.hashes, st.hashKeys));
  }
}

/** The slots of `list` whose normal copy is on shard s, in `list`'s order. */
function normalOn(st: PlanState, s: number, list: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let j = 0; j < list.length; j++) if (st.normal[list[j]!] === s) out.push(list[j]!);
  return out;
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

/**
 * Orders each run of equal series in `asc` by hash, in place, in one pair of scratch arrays: the incremental planner
 * orders every shard it first relieves (relief-order.ts), and two new typed arrays per run of each of 654 shards is
 * memory outside the heap, which V8 counts towards starting a collection of the whole heap (1–2 s at 1M).
 */
function orderRunsByHash(asc: number[], series: number[], hashes: string[], hashKeys?: Float64Array): void {
  for (let a = 0; a < asc.length; ) {
    let b = a + 1;
    while (b < asc.length && series[asc[b]!] === series[asc[a]!]) b++;
    const n = b - a;
    if (n > 1) {
      if (scratch.idx.length < n) scratch = { idx: new Int32Array(n * 2), keys: new Float64Array(n * 2) };
      const { idx, keys } = fillRun(scratch, asc, a, n, hashes, hashKeys);
      sortByHash(idx, keys, 0, n - 1, hashes);
      for (let j = 0; j < n; j++) asc[a + j] = idx[j]!;
    }
    a = b;
  }
}

/** orderRunsByHash's working arrays (one plan at a time runs in a process's thread). */
let scratch: Run = { idx: new Int32Array(1024), keys: new Float64Array(1024) };

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
  if (run === undefined) runs.set(a, (run = fillRun({ idx: new Int32Array(b - a), keys: new Float64Array(b - a) }, asc, a, b - a, hashes, hashKeys)));
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

/** Puts asc[a, a + n) in `run` (its arrays at least n long) with their order keys beside them; returns `run`. */
function fillRun(run: Run, asc: readonly number[], a: number, n: number, hashes: string[], hashKeys?: Float64Array): Run {
  const { idx, keys } = run;
  for (let j = 0; j < n; j++) idx[j] = asc[a + j]!;
  if (hashKeys) for (let j = 0; j < n; j++) keys[j] = hashKeys[idx[j]!]!;
  else for (let j = 0; j < n; j++) keys[j] = orderKey(hashes[idx[j]!]!);
  return run;
}

/** First position in `asc` (sorted by series ascending) from `from` whose series is above `value`. */
function firstAbove(asc: ArrayLike<number>, series: number[], value: number, from: number): number {
  let lo = from;
  let hi = asc.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (series[asc[mid]!]! > value) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** First position in `asc` (sorted by series ascending) whose series is >= need, from `from`. */
function lowerBound(asc: ArrayLike<number>, series: number[], need: number, from = 0, to = asc.length): number {
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
  const fast = bySeries(members, series);
  if (fast === null) return chooseAmongAscending(ascending(members, series, hashes), series, excess, budget, null);
  return chooseAmongSeriesOrder(fast, series, hashes, excess, budget, hashKeys);
}

/** chooseReliefSet of targets already in relief's order (series ascending, then hash), which it leaves as they are. */
export function chooseReliefSetInOrder(asc: ArrayLike<number>, series: number[], excess: number, budget: number): number[] {
  const L = asc.length;
  if (L === 0 || excess <= 0) return [];
  // singleReliefTarget's pick: the first (smallest series, then first hash) that covers the excess, if the largest is
  // within budget.
  if (series[asc[L - 1]!]! <= budget) {
    const p = lowerBound(asc, series, excess);
    if (p < L) return [asc[p]!];
  }
  return chooseAmongAscending(asc, series, excess, budget, null);
}

/**
 * chooseAmongAscending of targets by series only. Which positions are chosen depends on series alone (and the runs of
 * equal series are at the same places), so with a few targets chosen only their runs are ordered by hash (atOrdered).
 */
function chooseAmongSeriesOrder(asc: number[], series: number[], hashes: string[], excess: number, budget: number, hashKeys?: Float64Array): number[] {
  const runs = new Map<number, Run>();
  return chooseAmongAscending(asc, series, excess, budget, {
    at: (pos) => atOrdered(asc, series, hashes, pos, runs, hashKeys),
    orderAll: () => orderRunsByHash(asc, series, hashes, hashKeys),
  });
}

/**
 * The relief set (see chooseReliefSet) from `asc`, ascending by series. `byHash` null: `asc` is in relief's order
 * (series, then hash). Else runs of equal series are in no set order: `at(pos)` is the target at position `pos` of
 * the full order, and `orderAll` puts `asc` in it.
 */
function chooseAmongAscending(asc: ArrayLike<number>, series: number[], excess: number, budget: number, byHash: { at: (pos: number) => number; orderAll: () => void } | null): number[] {
  const at = (pos: number): number => (byHash ? byHash.at(pos) : asc[pos]!);
  const L = asc.length;
  const biggest = asc[L - 1]!;
  if (series[biggest]! > budget) {
    byHash?.orderAll();
    // The largest oversized target is the last one with the largest series and, among equals, the first hash.
    const keep = asc[lowerBound(asc, series, series[biggest]!)]!;
    return Array.from(asc).filter((i) => i !== keep);
  }
  let k = 0;
  let top = 0;
  while (k < L && top < excess) top += series[asc[L - 1 - k++]!]!;
  if (top < excess) {
    // cannot happen with every target within budget; move all as a fallback
    byHash?.orderAll();
    return Array.from(asc);
  }
  // k = 1 (the largest target, within budget, covers the excess) was answered by singleReliefTarget above.
  if (k === 2) {
    let best: [number, number] | null = null;
    let bestSum = Infinity;
    // Each p pairs with the first target that covers the rest (its bound, or the next if that is p itself); the first
    // p with the smallest sum wins. The rest of p's run of equal series pairs with the same bound (a bound starts a
    // run, so it is p only at a run's start) for the same sum: one p per run is looked at, and the bound, which only
    // falls as p rises, is searched below the last one. A walk of every p read the series of every target of each
    // relieved shard, scattered in memory.
    let bound = L;
    for (let p = 0; p < L; ) {
      const a = series[asc[p]!]!;
      bound = lowerBound(asc, series, excess - a, 0, bound);
      const q = bound === p ? p + 1 : bound;
      if (q < L && a + series[asc[q]!]! < bestSum) {
        bestSum = a + series[asc[q]!]!;
        best = [p, q];
      }
      p = firstAbove(asc, series, a, p + 1);
    }
    return [at(best![0]), at(best![1])];
  }
  // k >= 3: the k-1 largest, completed by the smallest target that reaches the excess, then swapped down. (The
  // swaps, too, depend on series and positions only; with many targets chosen every run is ordered instead.)
  const ordered = byHash === null || k > 8;
  if (byHash && k > 8) byHash.orderAll();
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
