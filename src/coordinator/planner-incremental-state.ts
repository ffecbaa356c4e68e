/**
 * Phase 1 of the planner (planner-state.ts `resolveCopies`), kept up to date target by target instead of
 * recomputed: which copy of each target counts, and what each counted copy adds to its shard (load, count,
 * transfers in flight). The incremental planner (planner-incremental.ts) tells it which targets changed (a
 * series, a copy on a shard, a shard's readiness); it undoes their old contribution and applies the new one,
 * with exactly the rules of `resolveCopies`, so that the result equals a full phase 1 (sums are of integers,
 * hence exact in any order: `inexactSeries` lists the series that are not, and the caller then plans in full).
 *
 * Keys are every hash that is discovered or on some shard's record (a copy of an undiscovered target is
 * ignored by the planner, but it must be known when the target is discovered later). A key has a slot: arrays
 * indexed by slot hold its data; a freed slot has normal = incoming = -1 and is reused.
 */
import type { PlannerShard } from './planner.js';
import { orderKey } from './sorted-keys.js';
import { SlotFlags } from './slot-set.js';
import { HashIndex } from './hash-index.js';
import { grown } from './columns.js';
import { ReliefOrder, type OrderKeys } from './relief-order.js';

/** Largest series for which the incremental planner keeps sums exact (with fewer than 2^21 keys: < 2^52). */
const MAX_EXACT_SERIES = 2 ** 31;
export const MAX_EXACT_KEYS = 2 ** 21;

export function sanitizeSeries(s: number): number {
  return Number.isFinite(s) && s > 0 ? s : 0;
}

export function exactSeries(s: number): boolean {
  return Number.isInteger(s) && s <= MAX_EXACT_SERIES;
}

interface LiveCopy {
  shard: number;
  transfer: boolean;
  scrapes: number;
}

export class ResolvedCopies {
  /** Each key's slot: typed arrays, not a Map (hash-index.ts says why). */
  readonly slotOf = new HashIndex();
  hashes: string[] = [];
  series: number[] = [];
  discovered = new Uint8Array(0);
  /** Per slot: one shard whose record holds the key (-1: none); further ones in `moreHolders`. */
  holder = new Int32Array(0);
  readonly moreHolders = new Map<number, number[]>();
  /** Phase-1 result per slot (as PlanState.normal / incoming / lostFrom). */
  normal = new Int32Array(0);
  incoming = new Int32Array(0);
  lostFrom = new Int32Array(0);
  /** The series the slot's contribution was made with (to undo it; the key of its place in relief's order). */
  private counted = new Float64Array(0);
  private readonly freeSlots: number[] = [];

  /** Per shard: as PlanState.load / count, transfers in flight touching it, and findDrainingShard's counters. */
  load: number[] = [];
  count: number[] = [];
  busyCount: number[] = [];
  incomingTo: number[] = [];
  normalNotMoving: number[] = [];

  /** Slots with no counted copy; completed transfers; lone in_transfer copies of expired shards; leftovers. */
  readonly toPlace = new SlotFlags();
  readonly completed = new SlotFlags();
  readonly reassignedLone = new SlotFlags();
  readonly leftovers = new SlotFlags();
  /** Discovered slots whose series is over maxSeries. */
  readonly oversized = new SlotFlags();
  /** Discovered slots whose series is not exact (see `exactSeries`): then the caller plans in full. */
  readonly inexactSeries = new SlotFlags();

  /** Set before `resolve` by the caller: the current input and its per-shard flags. */
  shards: PlannerShard[] = [];
  live: boolean[] = [];
  ready: boolean[] = [];
  maxShards = 0;
  budget = 0;
  transferMinScrapes = 0;
  private readonly reportedLoad = new Map<number, number>();

  get capacity(): number {
    return this.hashes.length;
  }

  /** Per slot, its hash's order key (sorted-keys.ts): relief compares these before the strings. */
  hashKeys = new Float64Array(0);

  /** Per shard, its normal copies in relief's order, for the shards relief ordered (relief-order.ts). */
  readonly reliefOrder = new ReliefOrder();
  /** What the kept orders compare: this state's columns as they are now (they are replaced as they grow). */
  private readonly orderKeys: OrderKeys = (() => {
    const self = this;
    return {
      get counted() {
        return self.counted;
      },
      get hashKeys() {
        return self.hashKeys;
      },
      get hashes() {
        return self.hashes;
      },
    };
  })();

  slot(hash: string): number {
    let i = this.slotOf.get(hash);
    if (i !== undefined) return i;
    i = this.freeSlots.pop();
    if (i === undefined) {
      i = this.hashes.length;
      if (i >= this.normal.length) this.grow(Math.max(1024, i * 2));
      this.hashes.push(hash);
      this.series.push(0);
    } else this.hashes[i] = hash;
    this.hashKeys[i] = orderKey(hash);
    this.slotOf.set(hash, i);
    return i;
  }

  /**
   * Room for `keys` slots without growing, before a call that gives most of them (a first plan, a restart's): the
   * arrays and the index are made once at their size, not doubled from 1,024 with every key copied at each step.
   */
  reserve(keys: number): void {
    if (keys <= this.normal.length) return;
    // A power of two, and at least doubled, as slot() grows: a count a little larger each call must not copy every
    // array each call, and a list of a million must leave room for the few new targets of the next cycles (sized to
    // the count, the arrays were full after the first plan, and the first 1% cycle doubled them all).
    this.grow(Math.max(2 ** Math.ceil(Math.log2(keys)), this.normal.length * 2));
    this.slotOf.reserve(keys);
  }

  private grow(size: number): void {
    this.holder = grown(this.holder, size, -1);
    this.normal = grown(this.normal, size, -1);
    this.incoming = grown(this.incoming, size, -1);
    this.lostFrom = grown(this.lostFrom, size, -1);
    this.discovered = grown(this.discovered, size);
    this.hashKeys = grown(this.hashKeys, size);
    this.counted = grown(this.counted, size);
  }

  /** Frees the slot of a key neither discovered nor on any record (its contribution must be undone). */
  release(i: number): void {
    if (this.discovered[i] || this.holder[i]! >= 0) return;
    this.slotOf.delete(this.hashes[i]!);
    this.hashes[i] = '';
    this.series[i] = 0;
    this.lostFrom[i] = -1;
    this.freeSlots.push(i);
  }

  addHolder(i: number, s: number): void {
    if (this.holder[i]! < 0) this.holder[i] = s;
    else {
      const more = this.moreHolders.get(i);
      if (more) more.push(s);
      else this.moreHolders.set(i, [s]);
    }
  }

  removeHolder(i: number, s: number): void {
    const more = this.moreHolders.get(i);
    if (this.holder[i] === s) this.holder[i] = more?.pop() ?? -1;
    else if (more) more.splice(more.indexOf(s), 1);
    if (more && more.length === 0) this.moreHolders.delete(i);
  }

  /** Shard count seen by the per-shard arrays (grown before changes, cut after). */
  resizeShards(n: number): void {
    for (const a of [this.load, this.count, this.busyCount, this.incomingTo, this.normalNotMoving]) {
      while (a.length < n) a.push(0);
      a.length = n;
    }
  }

  setSeries(i: number, series: number, discovered: boolean): void {
    this.series[i] = series;
    this.discovered[i] = discovered ? 1 : 0;
    if (discovered && series > this.budget) this.oversized.add(i);
    else this.oversized.delete(i);
    if (discovered && !exactSeries(series)) this.inexactSeries.add(i);
    else this.inexactSeries.delete(i);
  }

  /**
   * Phase 1 anew for one slot: undo what it counted, decide again from the current records and flags. The shards'
   * kept orders are told when its normal copy moved or is counted with another series.
   */
  resolve(i: number): void {
    const wasOn = this.normal[i]!;
    const wasCounted = this.counted[i]!;
    this.decide(i);
    const order = this.reliefOrder;
    if (!order.any) return;
    const on = this.normal[i]!;
    if (on === wasOn && this.counted[i] === wasCounted) return;
    if (wasOn >= 0) order.remove(wasOn, i, wasCounted, this.orderKeys);
    if (on >= 0) order.insert(on, i, this.counted[i]!, this.orderKeys);
  }

  private decide(i: number): void {
    this.undo(i);
    if (!this.discovered[i]) return;
    const copies = this.copiesOf(i);
    if (copies.length === 0) {
      this.toPlace.add(i);
      return;
    }
    if (copies.length === 1) {
      const c = copies[0]!;
      if (c.transfer && this.lostFrom[i]! >= 0) this.reassignedLone.add(i);
      this.holdNormal(i, c.shard);
      return;
    }
    const normals = copies.filter((c) => !c.transfer);
    if (copies.length === 2 && normals.length === 1) {
      const source = normals[0]!.shard;
      const target = copies.find((c) => c.transfer)!;
      const isExcess = (s: number) => s >= this.maxShards;
      if (isExcess(target.shard) && !isExcess(source)) this.holdNormal(i, source);
      else if (this.ready[target.shard] && target.scrapes >= this.transferMinScrapes) {
        this.holdNormal(i, target.shard);
        this.completed.add(i);
      } else {
        this.holdNormal(i, source);
        this.incoming[i] = target.shard;
        this.load[target.shard]! += this.series[i]!;
        this.count[target.shard]!++;
        this.normalNotMoving[source]!--;
        this.incomingTo[target.shard]!++;
        this.busyCount[source]!++;
        this.busyCount[target.shard]!++;
      }
      return;
    }
    this.leftovers.add(i);
    let best = copies[0]!.shard;
    for (let k = 1; k < copies.length; k++) if (this.betterKeeper(copies[k]!.shard, best)) best = copies[k]!.shard;
    this.holdNormal(i, best);
  }

  /** To call once the input's records and series are applied, before `resolve` (reported loads are memoized). */
  beginResolution(): void {
    this.reportedLoad.clear();
  }

  /** The live copies in ascending shard order; sets lostFrom from the expired ones (as resolveCopies). */
  private copiesOf(i: number): LiveCopy[] {
    const hash = this.hashes[i]!;
    const first = this.holder[i]!;
    const more = this.moreHolders.get(i);
    const holders = more ? [first, ...more].sort((a, b) => a - b) : first >= 0 ? [first] : [];
    const out: LiveCopy[] = [];
    let lostAsNormal = false;
    this.lostFrom[i] = -1;
    for (const s of holders) {
      const v = this.shards[s]!.targets.get(hash)!;
      if (!this.live[s]) {
        const asNormal = v.state !== 'in_transfer';
        if (this.lostFrom[i]! < 0 || (asNormal && !lostAsNormal)) {
          this.lostFrom[i] = s;
          lostAsNormal = asNormal;
        }
        continue;
      }
      out.push({ shard: s, transfer: v.state === 'in_transfer', scrapes: v.scrapes });
    }
    return out;
  }

  private betterKeeper(a: number, b: number): boolean {
    const isExcess = (s: number) => s >= this.maxShards;
    if (isExcess(a) !== isExcess(b)) return !isExcess(a);
    if (this.ready[a] !== this.ready[b]) return this.ready[a]!;
    const la = this.reportedLoadOf(a);
    const lb = this.reportedLoadOf(b);
    if (la !== lb) return la < lb;
    return a < b;
  }

  /** resolveCopies's reportedLoad: series of the discovered keys on a live shard's record. */
  private reportedLoadOf(s: number): number {
    let l = this.reportedLoad.get(s);
    if (l !== undefined) return l;
    l = 0;
    for (const hash of this.shards[s]!.targets.hashes) {
      const i = this.slotOf.get(hash);
      if (i !== undefined && this.discovered[i]) l += this.series[i]!;
    }
    this.reportedLoad.set(s, l);
    return l;
  }

  private holdNormal(i: number, s: number): void {
    this.normal[i] = s;
    this.counted[i] = this.series[i]!;
    this.load[s]! += this.series[i]!;
    this.count[s]!++;
    this.normalNotMoving[s]!++;
  }

  private undo(i: number): void {
    const n = this.normal[i]!;
    const t = this.incoming[i]!;
    const size = this.counted[i]!;
    if (n >= 0) {
      this.load[n]! -= size;
      this.count[n]!--;
      if (t < 0) this.normalNotMoving[n]!--;
      else this.busyCount[n]!--;
    }
    if (t >= 0) {
      this.load[t]! -= size;
      this.count[t]!--;
      this.incomingTo[t]!--;
      this.busyCount[t]!--;
    }
    this.normal[i] = -1;
    this.incoming[i] = -1;
    this.counted[i] = 0;
    this.toPlace.delete(i);
    this.completed.delete(i);
    this.reassignedLone.delete(i);
    this.leftovers.delete(i);
  }
}
