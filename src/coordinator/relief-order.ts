/**
 * Per shard, its targets in relief's order (series ascending, then hash), kept from plan to plan as targets come, go
 * and change size: the incremental planner's (planner-incremental-state.ts keeps them; planner-relief.ts reads them).
 *
 * Why: relief (phase 3) picks, for each shard over budget, the fewest and smallest targets that bring it back, and a
 * change that grows 1% of targets puts most shards over budget at once (654 of 784 in a 1% cycle at 1M). Gathering
 * each one's targets and ordering them anew (counted by series, then selected by hash in the runs a choice falls in)
 * was half of that plan (48 of 88 ms in a profiled cycle). In order, the usual single target is a binary search and
 * any other choice a walk of an array; keeping the order costs a binary search and a short copy per target that
 * comes, goes or changes size on a kept shard.
 *
 * Ordered by hash within runs of equal series too: kept by series only (runs in no set order), a removal had to walk
 * its run (shards are packed largest first, so a shard's targets fall into a few long runs) and relief to select in
 * them. In a script at 1M, phase 1 and the phases of a 1% plan took 67 ms so, 31 ms in full order, 77 ms with no kept
 * order (all three before relief's two-target choice took one step per run). Ordering a shard fully the first time
 * costs more: about 0.1 ms a shard, 0.1 s more in the plan that first relieves 654.
 *
 * A shard is kept once relief first orders it (`keep`), or after a plan that resolved many targets (planner-relief.ts
 * keepEveryReliefOrder): the change cycles after it relieve shards from kept orders only. Entries are compared by the
 * series each was counted with (the caller's `counted`, set while the target is on the shard), then by the hash's
 * order key, then by the hash: the order of planner-relief.ts `ascending`. The caller tells a slot's removal with the
 * series it was counted with on the shard it leaves, which may differ from what it holds now.
 */

/** What entries are compared by, per slot: the caller's arrays, which it may replace as they grow. */
export interface OrderKeys {
  readonly counted: ArrayLike<number>;
  readonly hashKeys: ArrayLike<number>;
  readonly hashes: readonly string[];
}

export class ReliefOrder {
  /** Per shard: its slots in order at the start (the rest is room to grow), or null when not kept. */
  private lists: Array<Int32Array | null> = [];
  private lengths: number[] = [];
  /** Shards whose order is kept. */
  private kept = 0;
  /** Orders forgotten because a slot to remove was not where its key said (none while callers tell every change). */
  lost = 0;
  /** Orders read while kept (`of`): for tests, which must see kept orders followed and used. */
  reads = 0;
  /** Orders made and kept (`keep`): for tests, which must see a change cycle after a bulk plan make none. */
  made = 0;

  /** Whether any shard's order is kept (else nothing needs telling). */
  get any(): boolean {
    return this.kept > 0;
  }

  /** Whether shard s's order is kept (not counted as a read). */
  isKept(s: number): boolean {
    return (this.lists[s] ?? null) !== null;
  }

  /** Shard s's slots in order (read only, until the next change), or null when not kept. */
  of(s: number): Int32Array | null {
    const list = this.lists[s];
    if (!list) return null;
    this.reads++;
    return list.subarray(0, this.lengths[s]!);
  }

  /** Keeps `asc`, shard s's slots in order, from now on (copied). */
  keep(s: number, asc: ArrayLike<number>): void {
    while (this.lists.length <= s) {
      this.lists.push(null);
      this.lengths.push(0);
    }
    if (this.lists[s] === null) this.kept++;
    this.made++;
    const list = new Int32Array(Math.max(16, asc.length + (asc.length >> 2)));
    for (let j = 0; j < asc.length; j++) list[j] = asc[j]!;
    this.lists[s] = list;
    this.lengths[s] = asc.length;
  }

  /** Forgets every shard's order (a change too large to follow target by target: relief orders them again). */
  clear(): void {
    this.lists = [];
    this.lengths = [];
    this.kept = 0;
  }

  /** Slot i, counted with `size`, left shard s (nothing when s is not kept). */
  remove(s: number, i: number, size: number, keys: OrderKeys): void {
    const list = this.lists[s];
    if (!list) return;
    const n = this.lengths[s]!;
    const p = this.position(list, n, i, size, keys);
    if (p >= n || list[p] !== i) {
      // Not where its key says (a caller that did not tell a change): the order is not trusted any more, and relief
      // orders the shard again. Counted, so that tests see it.
      this.forget(s);
      this.lost++;
      return;
    }
    list.copyWithin(p, p + 1, n);
    this.lengths[s] = n - 1;
  }

  /** Slot i, counted with `size`, came to shard s (nothing when s is not kept). */
  insert(s: number, i: number, size: number, keys: OrderKeys): void {
    let list = this.lists[s];
    if (!list) return;
    const n = this.lengths[s]!;
    const p = this.position(list, n, i, size, keys);
    if (n === list.length) {
      const longer = new Int32Array(n * 2);
      longer.set(list);
      this.lists[s] = list = longer;
    }
    list.copyWithin(p + 1, p, n);
    list[p] = i;
    this.lengths[s] = n + 1;
  }

  private forget(s: number): void {
    this.lists[s] = null;
    this.lengths[s] = 0;
    this.kept--;
  }

  /**
   * The first position in list[0, n) whose entry does not come before slot i counted with `size`: slot i's own place
   * when the list holds it (whatever it is counted with now, as on a removal).
   */
  private position(list: Int32Array, n: number, i: number, size: number, keys: OrderKeys): number {
    const { counted, hashKeys, hashes } = keys;
    const key = hashKeys[i]!;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const x = list[mid]!;
      const before = x !== i && (counted[x]! < size || (counted[x] === size && (hashKeys[x]! < key || (hashKeys[x] === key && hashes[x]! < hashes[i]!))));
      if (before) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
