/**
 * The planner's working state and its first phase: which copy of each target counts (transfers, their
 * completion, leftover duplicates, shards past their not-ready grace). Targets are numbered in input order;
 * per-target data lives in arrays indexed by that number, per-shard data in arrays indexed by shard id (new
 * shards opened by this step are appended). See planner.ts for the rules.
 */
import type { PlannerInput, PlannerMove, PlannerOptions, PlannerShard, TargetState } from './planner.js';
import type { ReliefOrder } from './relief-order.js';

/**
 * The planner's rules of time for one shard, in one place for the full plan and the incremental planner (which
 * re-plans when one of them flips). Live: ready, or not ready for less than the grace.
 */
export function isLiveShard(sh: PlannerShard, nowMs: number, options: PlannerOptions): boolean {
  return sh.ready || nowMs - (sh.notReadySinceMs ?? nowMs) < options.notReadyGraceMs;
}

/** Not ready for the grace and the idle time: removable once its assignment is empty. */
export function isExpiredLongEnough(sh: PlannerShard, nowMs: number, options: PlannerOptions): boolean {
  return sh.notReadySinceMs !== null && nowMs - sh.notReadySinceMs >= options.notReadyGraceMs + options.maxIdleTimeMs;
}

/** Idle (no target, by its own report) for the idle time. */
export function isIdleLongEnough(sh: PlannerShard, nowMs: number, options: PlannerOptions): boolean {
  return sh.idleSinceMs !== null && nowMs - sh.idleSinceMs >= options.maxIdleTimeMs;
}

export interface PlanState {
  readonly input: PlannerInput;
  readonly nowMs: number;
  /** maxSeries. */
  readonly budget: number;
  /** maxSeries * (1 - hysteresis): what a receiver that already holds targets may reach through a move. */
  readonly relaxed: number;
  /** Shards in the input. */
  readonly existing: number;
  readonly maxShards: number;

  readonly hashes: string[];
  /** Per target, its hash's order key (sorted-keys.ts orderKey), where kept (the incremental planner's state). */
  readonly hashKeys?: Float64Array;
  readonly series: number[];
  /** Per target: the shard holding its normal copy, or -1. */
  readonly normal: Int32Array;
  /** Per target: the shard holding its in_transfer copy (a transfer in flight), or -1. */
  readonly incoming: Int32Array;
  /**
   * Where given, every target whose `normal` or `incoming` a phase wrote is appended (holdNormal, beginTransfer: the
   * only writers): the incremental planner rebuilds the records at these and the targets it resolved again, not at
   * every target. Null in the full plan.
   */
  readonly touched: number[] | null;
  /** Per target: the lowest-id expired shard that held it (one holding it as normal first), or -1. */
  readonly lostFrom: Int32Array;

  /** Per shard: series of every copy on it (both copies of a transfer count). */
  readonly load: number[];
  /** Per shard: copies on it. */
  readonly count: number[];
  /** Per input shard: ready and below maxShards, so it may receive targets. */
  readonly receiver: boolean[];
  readonly ready: boolean[];
  /** Per input shard: ready, or not ready within its grace (its copies count). */
  readonly live: boolean[];
  /** Per shard: a transfer from or to it is in flight (no relief off it). */
  readonly busy: boolean[];
  /** The highest shard while it is being emptied for scale-down (a last-resort receiver), or -1. */
  drainingShard: number;
  /** New shards opened by this step (ids existing, existing+1, …). */
  opened: number;
  /** Per shard, the targets whose normal copy is on it: built by the second `membersOf`, then kept up to date. */
  membersByShard: ShardMembers | null;
  /**
   * The incremental planner's kept orders of the shards' targets for relief (relief-order.ts): phase 1's, so with
   * `placedOn`, per shard, whether this step's phases gave a target a normal copy on it (holdNormal; a flag, not a
   * list: the plan that places a million targets sets it a million times). Null in the full plan.
   */
  readonly reliefOrder: Pick<ReliefOrder, 'of' | 'keep' | 'isKept'> | null;
  readonly placedOn: boolean[] | null;
  /** Calls of `membersOf` in this step. */
  memberQueries: number;

  /** Targets on no counted shard, to be placed (input order). */
  readonly toPlace: number[];
  /** Targets to place that fit no existing shard (first-fit-decreasing order). */
  readonly overflow: number[];
  /** Relief moves that fit no existing shard: target and source. */
  readonly reliefOverflow: Array<{ idx: number; from: number }>;

  readonly moves: PlannerMove[];
  readonly reassigned: Array<{ hash: string; from: number; to: number }>;
  readonly completed: string[];
  readonly unplaced: string[];
}

interface Copy {
  shard: number;
  state: TargetState;
  scrapes: number;
}

function sanitizeSeries(s: number): number {
  return Number.isFinite(s) && s > 0 ? s : 0;
}

/** Builds the state and decides, per target, which copies count (phase 1). */
export function resolveCopies(input: PlannerInput): PlanState {
  const { options, shards, nowMs } = input;
  const n = shards.length;
  const budget = options.maxSeries;
  const hysteresis = Math.min(Math.max(options.hysteresis, 0), 1);

  const hashes: string[] = [];
  const series: number[] = [];
  const idxOf = new Map<string, number>();
  for (const t of input.targets) {
    const s = sanitizeSeries(t.series);
    const i = idxOf.get(t.hash);
    if (i === undefined) {
      idxOf.set(t.hash, hashes.length);
      hashes.push(t.hash);
      series.push(s);
    } else if (s > series[i]!) series[i] = s;
  }
  const T = hashes.length;

  const ready: boolean[] = [];
  const live: boolean[] = [];
  const receiver: boolean[] = [];
  for (let s = 0; s < n; s++) {
    const sh = shards[s]!;
    ready.push(sh.ready);
    live.push(isLiveShard(sh, nowMs, options));
    receiver.push(sh.ready && s < options.maxShards);
  }

  // Gather the counted copies. Most targets have one: it lives in the typed arrays; targets with more keep
  // all of theirs in `extra`.
  const firstShard = new Int32Array(T).fill(-1);
  const firstTransfer = new Uint8Array(T);
  const firstScrapes = new Float64Array(T);
  const extra = new Map<number, Copy[]>();
  const lostFrom = new Int32Array(T).fill(-1);
  const lostAsNormal = new Uint8Array(T);
  const reportedLoad: number[] = new Array<number>(n).fill(0);
  for (let s = 0; s < n; s++) {
    const view = shards[s]!.targets;
    for (let k = 0; k < view.size; k++) {
      const i = idxOf.get(view.hashes[k]!);
      if (i === undefined) continue;
      const v = view.viewAt(k);
      if (!live[s]) {
        const asNormal = v.state !== 'in_transfer';
        if (lostFrom[i]! < 0 || (asNormal && !lostAsNormal[i])) {
          lostFrom[i] = s;
          lostAsNormal[i] = asNormal ? 1 : 0;
        }
        continue;
      }
      reportedLoad[s]! += series[i]!;
      const state: TargetState = v.state === 'in_transfer' ? 'in_transfer' : 'normal';
      if (firstShard[i]! < 0) {
        firstShard[i] = s;
        firstTransfer[i] = state === 'in_transfer' ? 1 : 0;
        firstScrapes[i] = v.scrapes;
      } else {
        let list = extra.get(i);
        if (!list) {
          list = [{ shard: firstShard[i]!, state: firstTransfer[i] ? 'in_transfer' : 'normal', scrapes: firstScrapes[i]! }];
          extra.set(i, list);
        }
        list.push({ shard: s, state, scrapes: v.scrapes });
      }
    }
  }

  const st: PlanState = {
    input, nowMs, budget, relaxed: budget * (1 - hysteresis), existing: n, maxShards: options.maxShards,
    hashes, series,
    normal: new Int32Array(T).fill(-1), incoming: new Int32Array(T).fill(-1), lostFrom,
    load: new Array<number>(n).fill(0), count: new Array<number>(n).fill(0), receiver, ready, live,
    busy: new Array<boolean>(n).fill(false), drainingShard: -1, opened: 0, membersByShard: null, memberQueries: 0, touched: null, reliefOrder: null, placedOn: null,
    toPlace: [], overflow: [], reliefOverflow: [],
    moves: [], reassigned: [], completed: [], unplaced: [],
  };

  const minScrapes = options.transferMinScrapes;
  const isExcess = (s: number) => s >= options.maxShards;
  for (let i = 0; i < T; i++) {
    const list = extra.get(i);
    if (!list) {
      const s = firstShard[i]!;
      if (s < 0) {
        st.toPlace.push(i);
        continue;
      }
      // A lone in_transfer copy is the only one scraping: it becomes normal.
      if (firstTransfer[i] && lostFrom[i]! >= 0) st.reassigned.push({ hash: hashes[i]!, from: lostFrom[i]!, to: s });
      holdNormal(st, i, s);
      continue;
    }
    const normals = list.filter((c) => c.state === 'normal');
    if (list.length === 2 && normals.length === 1) {
      const source = normals[0]!.shard;
      const target = list.find((c) => c.state === 'in_transfer')!;
      if (isExcess(target.shard) && !isExcess(source)) {
        holdNormal(st, i, source);
      } else if (ready[target.shard] && target.scrapes >= minScrapes) {
        holdNormal(st, i, target.shard);
        st.completed.push(hashes[i]!);
      } else {
        holdNormal(st, i, source);
        st.incoming[i] = target.shard;
        st.load[target.shard]! += series[i]!;
        st.count[target.shard]!++;
        st.busy[source] = true;
        st.busy[target.shard] = true;
      }
      continue;
    }
    // Leftover duplicates: keep the best copy.
    let best = list[0]!.shard;
    for (let k = 1; k < list.length; k++) {
      const s = list[k]!.shard;
      if (betterKeeper(s, best)) best = s;
    }
    holdNormal(st, i, best);
  }

  function betterKeeper(a: number, b: number): boolean {
    if (isExcess(a) !== isExcess(b)) return !isExcess(a);
    if (ready[a] !== ready[b]) return ready[a]!;
    if (reportedLoad[a] !== reportedLoad[b]) return reportedLoad[a]! < reportedLoad[b]!;
    return a < b;
  }

  st.reassigned.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0)); // decided in input order above
  st.drainingShard = findDrainingShard(st);
  return st;
}

function holdNormal(st: PlanState, i: number, s: number): void {
  st.normal[i] = s;
  st.touched?.push(i);
  st.membersByShard?.add(s, i);
  if (st.placedOn) st.placedOn[s] = true;
  st.load[s]! += st.series[i]!;
  st.count[s]!++;
}

/**
 * The highest shard (below maxShards) whose every copy is the source of a transfer in flight is being
 * emptied for scale-down: relief never empties a shard (it keeps at least one target within budget), so this
 * pattern comes only from scale-down.
 */
function findDrainingShard(st: PlanState): number {
  const h = st.existing - 1;
  if (h < 0 || h >= st.maxShards || !st.receiver[h] || st.count[h] === 0) return -1;
  for (let i = 0; i < st.hashes.length; i++) {
    if (st.incoming[i] === h) return -1;
    if (st.normal[i] === h && st.incoming[i]! < 0) return -1;
  }
  return h;
}

/**
 * Per shard, the targets whose normal copy is on it, in no set order: every reader orders them by series and hash
 * (bySizeDesc) or picks among them by series, then hash (chooseReliefSet), so no decision depends on it (a test
 * checks relief's). One scan of every target for the first call; from the second (relief may ask for many shards),
 * an index built once per step (ShardMembers), whose list is handed over as it is: read only, and copied by a reader
 * that sorts it (a copy per relieved shard was 13 MB of a profiled 1% round's allocation at 1M).
 */
export function membersOf(st: PlanState, shard: number): Int32Array {
  if (st.memberQueries++ === 0) {
    const out: number[] = [];
    for (let i = 0; i < st.normal.length; i++) if (st.normal[i] === shard) out.push(i);
    // A typed array as the index's lists are: relief's loops then see one kind of array.
    return Int32Array.from(out);
  }
  if (!st.membersByShard) st.membersByShard = ShardMembers.of(st.normal);
  return st.membersByShard.of(shard);
}

/**
 * Every shard's targets in one array, shard after shard, each shard's in ascending order, and where each shard's
 * targets begin; targets a phase puts on a shard afterwards (holdNormal) in a list of that shard's own.
 *
 * Why one array: relief asks for nearly every shard's targets when a change grows most shards (1% of targets grown
 * by half, at 1M on 784 shards). An array per shard, filled target by target, was 69 ms of a profiled round of 1%
 * cycles, most of it in writes to 784 arrays apart in the heap; here they go to one typed array, at 784 cursors.
 */
export class ShardMembers {
  private readonly later = new Map<number, number[]>();
  private constructor(private readonly begin: Int32Array, private readonly all: Int32Array) {}

  static of(normal: Int32Array): ShardMembers {
    let shards = 0;
    for (let i = 0; i < normal.length; i++) if (normal[i]! >= shards) shards = normal[i]! + 1;
    // begin[s + 1] counts shard s's targets first; summed, begin[s] is where shard s's targets begin.
    const begin = new Int32Array(shards + 1);
    for (let i = 0; i < normal.length; i++) if (normal[i]! >= 0) begin[normal[i]! + 1]!++;
    for (let s = 0; s < shards; s++) begin[s + 1]! += begin[s]!;
    const all = new Int32Array(begin[shards]!);
    const cursor = begin.slice(0, shards);
    for (let i = 0; i < normal.length; i++) {
      const s = normal[i]!;
      if (s >= 0) all[cursor[s]!++] = i;
    }
    return new ShardMembers(begin, all);
  }

  /** The shard's targets: those indexed, then those added since. */
  of(shard: number): Int32Array {
    const indexed = shard + 1 < this.begin.length ? this.all.subarray(this.begin[shard]!, this.begin[shard + 1]!) : EMPTY;
    const added = this.later.get(shard);
    if (added === undefined) return indexed;
    const out = new Int32Array(indexed.length + added.length);
    out.set(indexed);
    out.set(added, indexed.length);
    return out;
  }

  add(shard: number, i: number): void {
    const added = this.later.get(shard);
    if (added === undefined) this.later.set(shard, [i]);
    else added.push(i);
  }
}

const EMPTY = new Int32Array(0);

/**
 * Sort order of placement: series descending, then hash ascending. With the hashes' order keys (sorted-keys.ts
 * orderKey) at hand, ties of series are told apart by those numbers first: targets fall mostly into runs of equal
 * series, and reading two hash strings per comparison made 900,000 targets take 1.0–1.9 s, against 0.4–0.7 s (a
 * throw-away script). Phase 2's whole list is put in this order without a comparator (placement-order.ts).
 */
export function bySizeDesc(st: PlanState): (a: number, b: number) => number {
  const { series, hashes, hashKeys } = st;
  const byHash = (a: number, b: number): number => (hashes[a]! < hashes[b]! ? -1 : hashes[a]! > hashes[b]! ? 1 : 0);
  if (hashKeys === undefined) return (a, b) => series[b]! - series[a]! || byHash(a, b);
  return (a, b) => series[b]! - series[a]! || hashKeys[a]! - hashKeys[b]! || byHash(a, b);
}

/** Opens the next new shard, or returns -1 when maxShards forbids it. */
export function openShard(st: PlanState): number {
  const id = st.existing + st.opened;
  if (id >= st.maxShards) return -1;
  st.opened++;
  st.load.push(0);
  st.count.push(0);
  st.busy.push(false);
  return id;
}

export function beginTransfer(st: PlanState, i: number, to: number, reason: PlannerMove['reason']): void {
  const from = st.normal[i]!;
  st.incoming[i] = to;
  st.touched?.push(i);
  st.load[to]! += st.series[i]!;
  st.count[to]!++;
  st.busy[from] = true;
  st.busy[to] = true;
  st.moves.push({ hash: st.hashes[i]!, from, to, reason });
}

export function placeNormal(st: PlanState, i: number, s: number): void {
  holdNormal(st, i, s);
}
