/**
 * Best fit by binary search, for placing many targets at once (planner-place.ts: phase 2 over the existing shards,
 * phase 4 over the new ones, added as they open).
 *
 * Why. bestFit scans every shard for each target: a first placement of 900,000 targets on 784 empty shards made 700
 * million steps of that scan (2 s of one cycle). Best fit within the budget is the shard with the least room left,
 * ties to the lowest id; with the shards kept in order of load (ties: highest id first), the shards a size fits are a
 * prefix of that order (load + size <= budget grows with the load), and the best one is the prefix's last.
 *
 * Exact only where room is: bestFit compares `budget - load - size`, which orders shards as their loads do only when
 * no rounding happens. So the index is for safe integers only (every load, size and the budget, and their sums below
 * 2^53; series are counts), and the caller checks that first (`exactFor`).
 */
import { grown } from './columns.js';

export class FitIndex {
  /** The shards, by load ascending, then id descending: the first `n` entries. */
  private order: Int32Array;
  private n: number;
  /** Per shard id, its position in `order`; -1 (or beyond its end): not a candidate. */
  private at: Int32Array;

  /**
   * `shards`: the candidate ids; `load` is read as it changes (tell `grew` after each change, `add` for a new
   * candidate).
   */
  constructor(private readonly load: ArrayLike<number>, shards: readonly number[]) {
    const ids = [...shards].sort((a, b) => load[a]! - load[b]! || b - a);
    this.order = Int32Array.from(ids);
    this.n = ids.length;
    this.at = new Int32Array(load.length).fill(-1);
    for (let p = 0; p < ids.length; p++) this.at[ids[p]!] = p;
  }

  /** Shard `r` (not a candidate yet: a shard just opened) becomes one, at its load. */
  add(r: number): void {
    if (r >= this.at.length) this.at = grown(this.at, Math.max(r + 1, 2 * this.at.length), -1);
    if (this.n === this.order.length) this.order = grown(this.order, Math.max(16, 2 * this.n));
    const { order, at, load } = this;
    const l = load[r]!;
    // Its place: after every shard with less load, and after those with the same load and a higher id.
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = order[mid]!;
      if (load[m]! < l || (load[m] === l && m > r)) lo = mid + 1;
      else hi = mid;
    }
    for (let p = this.n; p > lo; p--) {
      order[p] = order[p - 1]!;
      at[order[p]!] = p;
    }
    order[lo] = r;
    at[r] = lo;
    this.n++;
  }

  /**
   * Whether the index answers as bestFit would for these sizes (`sizes[i]` for each i of `which`; every one when not
   * given): every value a safe integer, and the budget plus the loads plus every size still exact.
   */
  static exactFor(load: ArrayLike<number>, shards: readonly number[], sizes: ArrayLike<number>, budget: number, which?: readonly number[]): boolean {
    let sum = Math.abs(budget);
    if (!Number.isSafeInteger(budget)) return false;
    for (const s of shards) {
      const l = load[s]!;
      if (!Number.isSafeInteger(l)) return false;
      sum += Math.abs(l);
    }
    const n = which ? which.length : sizes.length;
    for (let k = 0; k < n; k++) {
      const size = sizes[which ? which[k]! : k]!;
      if (!Number.isSafeInteger(size)) return false;
      sum += Math.abs(size);
    }
    return sum <= Number.MAX_SAFE_INTEGER;
  }

  /** The candidate with the least room left after taking `size` within `budget` (ties: lowest id), or -1. */
  best(size: number, budget: number): number {
    const { order, load } = this;
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (load[order[mid]!]! + size <= budget) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? -1 : order[lo - 1]!;
  }

  /** Shard `r`'s load grew: it moves up the order. */
  grew(r: number): void {
    const { order, at, load } = this;
    if (r >= at.length) return;
    let p = at[r]!;
    if (p < 0) return;
    const l = load[r]!;
    while (p + 1 < this.n) {
      const next = order[p + 1]!;
      if (load[next]! > l || (load[next] === l && next < r)) break;
      order[p] = next;
      at[next] = p;
      p++;
    }
    order[p] = r;
    at[r] = p;
  }
}
