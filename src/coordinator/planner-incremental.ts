/**
 * The planner, incrementally: `IncrementalPlanner.plan(input)` returns exactly what `planAssignments(input)`
 * returns (planner.ts stays the reference), at a cost that follows what changed since the previous call.
 *
 * Why this shape. A full plan at 1M targets spends ~95% of its time in two places that depend on every target:
 * phase 1 (`resolveCopies`: which copy of each target counts) and building the output records. Phases 2-5
 * (placement, relief, scale-up, scale-down) are cheap once phase 1 is known: they touch the targets to place
 * or move, and scan typed arrays. So phase 1 is kept up to date per target (planner-incremental-state.ts),
 * phases 2-5 are the very functions of the full plan run on a copy of it, and the output records are rebuilt
 * only for the shards whose content changed (the others are the previous records). Re-implementing phases 2-5
 * incrementally would have saved a few ms at the risk of departing from the reference.
 *
 * Time. The plan depends on `nowMs` only through three per-shard booleans: live (ready, or not ready within
 * its grace), "expired long enough to remove" and "idle long enough to remove" (planner-relief.ts
 * `isRemovable`). They are recomputed each call (O(shards)) with the same expressions; a shard whose liveness
 * or readiness flips has its targets resolved again. When neither the input nor these booleans changed, the
 * previous output is returned as it is.
 *
 * Change detection contract (what makes an unchanged cycle cost almost nothing at 1M):
 *  - `input.targets`: with `targetChanges` and the same array as in the previous call, only the changed hashes
 *    are read (its owner changes it in place: sizing.ts). Else the same array object means unchanged, and another
 *    array is compared entry by entry, aligned with the previous one by hash (O(targets); an entry whose hash is the
 *    one at the aligned position needs no map lookup). Never change an array in place without telling its changes,
 *    nor an entry after passing it.
 *  - each shard's `targets` record: the same object means unchanged; another object is compared key by key
 *    (O(its keys)). Never mutate a record after passing it. The shards' other fields are read every call.
 *  - options: compared by value; any change starts over (a full build, as costly as a full plan).
 *  - the output's records may be the previous output's objects: treat every output as read-only.
 * Exactness of sums: loads are kept by adding and subtracting series, which equals the full plan's sums only
 * when they are exact; with a series that is not an integer (or absurdly large), every call is a full plan.
 */
import { planAssignments, ShardTargets, type AssignmentRecord, type PlannerInput, type PlannerOptions, type PlannerOutput, type PlannerShard, type TargetListChanges } from './planner.js';
import { isExpiredLongEnough, isIdleLongEnough, isLiveShard, type PlanState } from './planner-state.js';
import { drainExcessShards, packIntoNewShards, placeNewTargets } from './planner-place.js';
import { keepEveryReliefOrder, relieveOverloadedShards, scaleDown } from './planner-relief.js';
import { AssignmentRecords, type BuildChanges, type SlottedView } from './planner-incremental-output.js';
import { ResolvedCopies, MAX_EXACT_KEYS, sanitizeSeries } from './planner-incremental-state.js';
import { SlotSet } from './slot-set.js';
import { grown } from './columns.js';

const NO_TARGETS = ShardTargets.EMPTY;

/** What the previous call saw and returned. */
interface Previous {
  input: PlannerInput;
  /** A copy: the caller's options object may be changed in place. */
  options: PlannerOptions;
  output: PlannerOutput;
  live: boolean[];
  ready: boolean[];
  /** isRemovable's time conditions per shard: expired long enough, idle long enough. */
  expiredLongEnough: boolean[];
  idleLongEnough: boolean[];
}

export interface IncrementalPlannerStats {
  /** Calls answered with the previous output (nothing changed). */
  reused: number;
  /** Calls that resolved targets again and ran phases 2-5. */
  incremental: number;
  /** Calls that started over (first call, options changed) or fell back to planAssignments (inexact series). */
  full: number;
  /** Calls that read only the target list's changes (PlannerInput.targetChanges), not the whole list. */
  listByChanges: number;
  /** Targets resolved again in the last call. */
  lastResolved: number;
  /** Milliseconds of the last call: change detection, phase 1 for the changed targets, phases 2-5, records. */
  lastMs: { detect: number; resolve: number; phases: number; records: number };
  /**
   * Relief's kept orders (relief-order.ts): shards relieved from one (read), orders forgotten because a change
   * was not told to them (lost: none while the state follows every change), and orders made (made: a shard ordered
   * for the first time, or again after a bulk change).
   */
  reliefOrders: { read: number; lost: number; made: number };
}

export class IncrementalPlanner {
  private copies = new ResolvedCopies();
  private prev: Previous | null = null;
  private records = new AssignmentRecords();
  private seenGen = new Int32Array(0);
  private seenSeries = new Float64Array(0);
  private gen = 0;
  /**
   * The last target list compared whole: hash and slot per position, and per slot its (last) position in it. Kept
   * as hashes, not as the list: the list may have been changed in place since.
   */
  private prevHashes: string[] = [];
  private prevSlots = new Int32Array(0);
  private prevPosition = new Int32Array(0);
  /**
   * Per shard view whose every hash this call looked up (diffRecord, diffKeys: a new view, or one whose every entry
   * changed), the slot of each of its hashes, for the records and relief's orders of the same call (AssignmentRecords,
   * keepEveryReliefOrder); emptied when the call is done with them.
   */
  private readonly viewSlots = new Map<ShardTargets, Int32Array>();
  /** The slots a call resolves again (its changes); empty between calls. */
  private readonly dirty = new SlotSet();
  readonly stats: IncrementalPlannerStats = {
    reused: 0, incremental: 0, full: 0, listByChanges: 0, lastResolved: 0, lastMs: { detect: 0, resolve: 0, phases: 0, records: 0 },
    reliefOrders: { read: 0, lost: 0, made: 0 },
  };

  plan(input: PlannerInput): PlannerOutput {
    const { options, shards, nowMs } = input;
    let prev = this.prev;
    this.prev = null; // until this call completes: if it throws, the next one starts over
    if (!prev || !sameOptions(prev.options, options)) {
      this.startOver(options);
      prev = null;
      this.stats.full++;
    }
    const c = this.copies;
    const prevShards = prev?.input.shards ?? [];
    const n = shards.length;
    const live: boolean[] = [];
    const ready: boolean[] = [];
    const expiredLongEnough: boolean[] = [];
    const idleLongEnough: boolean[] = [];
    for (let s = 0; s < n; s++) {
      const sh = shards[s]!;
      ready.push(sh.ready);
      live.push(isLiveShard(sh, nowMs, options));
      expiredLongEnough.push(isExpiredLongEnough(sh, nowMs, options));
      idleLongEnough.push(isIdleLongEnough(sh, nowMs, options));
    }

    const t0 = performance.now();
    this.viewSlots.clear(); // of a call that threw
    const dirty = this.dirty;
    dirty.clear(); // after a call that threw
    c.resizeShards(Math.max(n, prevShards.length));
    c.reserve(Math.max(input.targets.length, keysOnShards(shards)));
    for (let s = 0; s < Math.max(n, prevShards.length); s++) {
      const before = prevShards[s]?.targets ?? NO_TARGETS;
      const now = shards[s]?.targets ?? NO_TARGETS;
      if (before === now) continue;
      const hint = shards[s]?.changedFrom;
      if (hint !== undefined && hint.from === before) this.diffKeys(s, before, now, hint.keys, dirty);
      else this.diffRecord(s, before, now, dirty);
    }
    let flagsChanged = n !== prevShards.length;
    for (let s = 0; s < Math.min(n, prevShards.length); s++) {
      if (live[s] === prev!.live[s] && ready[s] === prev!.ready[s]) continue;
      flagsChanged = true;
      for (const hash of shards[s]!.targets.hashes) dirty.add(c.slot(hash));
    }
    if (prev !== null && input.targetChanges !== undefined && input.targets === prev.input.targets) {
      this.applyTargetChanges(input.targetChanges, dirty);
      this.stats.listByChanges++;
    }
    else if (input.targets !== prev?.input.targets) this.diffTargets(input, dirty);
    if (c.inexactSeries.size > 0 || c.capacity >= MAX_EXACT_KEYS) {
      // The state is not kept exact: the next call starts over (this.prev stays null).
      this.stats.full++;
      this.changes = null;
      this.loadsKept = false;
      dirty.clear();
      return planAssignments(input);
    }

    const t1 = performance.now();
    c.shards = shards;
    c.live = live;
    c.ready = ready;
    c.beginResolution();
    const { reads, lost, made } = c.reliefOrder;
    if (dirty.size > 0) for (const i of c.leftovers) dirty.add(i);
    // A change of more than one target in eight (and of over 4,096): ordering the relieved shards again costs less
    // than following it. After such a change, every shard's order is made anew (runPhases).
    const bulk = dirty.size * 8 > c.capacity;
    if (bulk && dirty.size > 4096) c.reliefOrder.clear();
    for (let k = 0; k < dirty.size; k++) c.resolve(dirty.at(k));
    for (let k = 0; k < dirty.size; k++) c.release(dirty.at(k));
    c.resizeShards(n);
    this.stats.lastResolved = dirty.size;
    this.stats.lastMs = { detect: t1 - t0, resolve: performance.now() - t1, phases: 0, records: 0 };

    const reuse = prev !== null && dirty.size === 0 && !flagsChanged
      && sameFlags(expiredLongEnough, prev.expiredLongEnough) && sameFlags(idleLongEnough, prev.idleLongEnough);
    const output = reuse ? copyOutput(prev!.output) : this.runPhases(input, live, ready, dirty, bulk);
    this.stats.reliefOrders.read += c.reliefOrder.reads - reads;
    this.stats.reliefOrders.lost += c.reliefOrder.lost - lost;
    this.stats.reliefOrders.made += c.reliefOrder.made - made;
    if (reuse) this.changes = { from: prev!.output.assignments, byTarget: new Map(), byShard: new Map() };
    else this.changes = this.records.takeChanges();
    this.loadsKept = true;
    if (reuse) this.stats.reused++;
    else if (prev) this.stats.incremental++;
    this.prev = { input, options: { ...options }, output: copyOutput(output), live, ready, expiredLongEnough, idleLongEnough };
    dirty.clear(); // not held between calls
    return output;
  }

  /**
   * Series on shard `s` as the last call found it, before its moves (the copies that count, as the plan sums them);
   * undefined when that call fell back to the full plan (the per-shard sums were not kept up to date).
   */
  loadBefore(s: number): number | undefined {
    return this.loadsKept ? this.copies.load[s] ?? 0 : undefined;
  }

  /** Whether the last call kept the per-shard sums (it did not fall back to the full plan). */
  private loadsKept = false;

  /** What the last call changed in the records, and the records it changed. */
  private changes: BuildChanges | null = null;

  /**
   * What the last call's output changed in the records, if `previous` is the record list of the call before (the
   * same record objects); otherwise null (compare the records instead). `byTarget`: per target, the shards whose
   * record gained or lost it; `byShard`: per shard whose record changed, what it lost and got (a shard not in it
   * has the same record).
   */
  changesSince(previous: PlannerOutput['assignments']): Omit<BuildChanges, 'from'> | null {
    const c = this.changes;
    if (!c) return null;
    const n = Math.max(previous.length, c.from.length);
    for (let s = 0; s < n; s++) {
      const a = previous[s];
      const b = c.from[s];
      if (a !== b && !(isEmpty(a) && isEmpty(b))) return null;
    }
    return c;
  }

  private startOver(options: PlannerOptions): void {
    this.copies = new ResolvedCopies();
    this.copies.budget = options.maxSeries;
    this.copies.maxShards = options.maxShards;
    this.copies.transferMinScrapes = options.transferMinScrapes;
    this.records = new AssignmentRecords();
    this.seenGen = new Int32Array(0);
    this.seenSeries = new Float64Array(0);
    this.prevHashes = [];
    this.prevSlots = new Int32Array(0);
    this.prevPosition = new Int32Array(0);
  }

  /**
   * A shard's view replaced: keys added, removed, or with another state or scrape count are dirty (a merge walk).
   * When the walk looked up the slot of every key of the new view (a new view, or one whose every entry changed), it
   * keeps them in the view's order (`viewSlots`): the records made from views and relief's orders made after a bulk
   * change read them (keepEveryReliefOrder).
   */
  private diffRecord(s: number, before: PlannerShard['targets'], now: PlannerShard['targets'], dirty: SlotSet): void {
    const c = this.copies;
    const a = before.hashes;
    const b = now.hashes;
    const slots = b.length > 0 ? new Int32Array(b.length) : null;
    let filled = 0;
    let x = 0;
    let y = 0;
    while (x < a.length || y < b.length) {
      const ka = a[x];
      const kb = b[y];
      if (ka === kb) {
        const old = before.viewAt(x++);
        const v = now.viewAt(y++);
        if (old !== v && (old.state !== v.state || old.scrapes !== v.scrapes)) {
          const i = c.slot(kb!);
          dirty.add(i);
          slots![y - 1] = i;
          filled++;
        }
      } else if (kb === undefined || (ka !== undefined && ka < kb)) {
        const i = c.slot(ka!);
        c.removeHolder(i, s);
        dirty.add(i);
        x++;
      } else {
        const i = c.slot(kb);
        c.addHolder(i, s);
        dirty.add(i);
        slots![y++] = i;
        filled++;
      }
    }
    if (slots && filled === b.length) this.viewSlots.set(now, slots);
  }

  /**
   * A shard's view replaced by one that differs from it at most at `keys` (PlannerShard.changedFrom). When the keys
   * cover the new view (every entry changed: a shard's targets first scraped), the slots are kept in the view's order
   * as diffRecord keeps them.
   */
  private diffKeys(s: number, before: PlannerShard['targets'], now: PlannerShard['targets'], keys: Iterable<string>, dirty: SlotSet): void {
    const c = this.copies;
    const distinct = new Set(keys);
    const slots = now.size > 0 && distinct.size >= now.size ? new Int32Array(now.size) : null;
    let filled = 0;
    for (const hash of distinct) {
      const old = before.get(hash);
      const p = now.indexOf(hash);
      const v = p >= 0 ? now.viewAt(p) : undefined;
      if (old === v) continue;
      const i = c.slot(hash);
      if (slots && p >= 0) {
        slots[p] = i;
        filled++;
      }
      if (old === undefined) c.addHolder(i, s);
      else if (v === undefined) c.removeHolder(i, s);
      else if (old.state === v.state && old.scrapes === v.scrapes) continue;
      dirty.add(i);
    }
    if (slots && filled === now.size) this.viewSlots.set(now, slots);
  }

  /** The target list changed in place at `changes.hashes` (one entry per hash): those are dirty if they differ. */
  private applyTargetChanges(changes: TargetListChanges, dirty: SlotSet): void {
    const c = this.copies;
    // A gone target's slot may be given to another hash: the last whole list's slots no longer hold.
    this.prevHashes = [];
    this.prevSlots = new Int32Array(0);
    for (const hash of changes.hashes) {
      const t = changes.entry(hash);
      if (t === undefined) {
        const i = c.slotOf.get(hash);
        if (i === undefined || !c.discovered[i]) continue;
        c.setSeries(i, 0, false);
        dirty.add(i);
        continue;
      }
      const i = c.slot(hash);
      const size = sanitizeSeries(t.series);
      if (c.discovered[i] && c.series[i] === size) continue;
      c.setSeries(i, size, true);
      dirty.add(i);
    }
  }

  /**
   * A new target list: the largest series per hash (as resolveCopies); new, gone and resized targets are dirty.
   * Most entries have the hash of the aligned position in the last list compared: their slot is known without a
   * map lookup; after a mismatch, the lookup's slot tells where to align again.
   */
  private diffTargets(input: PlannerInput, dirty: SlotSet): void {
    const c = this.copies;
    const gen = ++this.gen;
    const list = input.targets;
    const previous = this.prevHashes;
    const hashes = new Array<string>(list.length);
    const slots = new Int32Array(list.length);
    let p = 0;
    if (this.seenGen.length < list.length) this.growSeen(list.length);
    for (let k = 0; k < list.length; k++) {
      const t = list[k]!;
      const size = sanitizeSeries(t.series);
      let i: number;
      if (previous[p] === t.hash) i = this.prevSlots[p++]!;
      else {
        i = c.slot(t.hash);
        const at = i < this.prevPosition.length ? this.prevPosition[i]! : -1;
        if (at >= 0 && at < previous.length && this.prevSlots[at] === i) p = at + 1;
      }
      hashes[k] = t.hash;
      slots[k] = i;
      if (i >= this.seenGen.length) this.growSeen(c.capacity);
      if (this.seenGen[i] !== gen) {
        this.seenGen[i] = gen;
        this.seenSeries[i] = size;
      } else if (size > this.seenSeries[i]!) this.seenSeries[i] = size;
    }
    if (this.seenGen.length < c.capacity) this.growSeen(c.capacity);
    for (let i = 0; i < c.capacity; i++) {
      if (this.seenGen[i] === gen) {
        if (!c.discovered[i] || c.series[i] !== this.seenSeries[i]) {
          c.setSeries(i, this.seenSeries[i]!, true);
          dirty.add(i);
        }
      } else if (c.discovered[i]) {
        c.setSeries(i, 0, false);
        dirty.add(i);
      }
    }
    this.prevHashes = hashes;
    this.prevSlots = slots;
    for (let k = 0; k < slots.length; k++) this.prevPosition[slots[k]!] = k;
  }

  private growSeen(min: number): void {
    const size = Math.max(1024, min * 2);
    this.seenGen = grown(this.seenGen, size);
    this.seenSeries = grown(this.seenSeries, size);
    this.prevPosition = grown(this.prevPosition, size, -1);
  }

  /**
   * Phases 2-5 of planAssignments on a copy of the resolved phase 1, then the output. `bulk`: phase 1 resolved one
   * target in eight or more, and every shard not kept in relief's order is ordered (keepEveryReliefOrder).
   */
  private runPhases(input: PlannerInput, live: boolean[], ready: boolean[], resolved: SlotSet, bulk: boolean): PlannerOutput {
    const c = this.copies;
    const { options } = input;
    const n = input.shards.length;
    const cap = c.capacity;
    const budget = options.maxSeries;
    const hysteresis = Math.min(Math.max(options.hysteresis, 0), 1);
    const receiver = ready.map((r, s) => r && s < options.maxShards);
    const st: PlanState = {
      input, nowMs: input.nowMs, budget, relaxed: budget * (1 - hysteresis), existing: n, maxShards: options.maxShards,
      hashes: c.hashes, hashKeys: c.hashKeys, series: c.series,
      normal: c.normal.slice(0, cap), incoming: c.incoming.slice(0, cap), lostFrom: c.lostFrom,
      load: c.load.slice(), count: c.count.slice(), receiver, ready, live,
      busy: c.busyCount.map((b) => b > 0), drainingShard: -1, opened: 0, membersByShard: null, memberQueries: 0, touched: [],
      reliefOrder: c.reliefOrder, placedOn: [],
      toPlace: c.toPlace.toArray(), overflow: [], reliefOverflow: [],
      moves: [], reassigned: [], completed: c.completed.toArray().map((i) => c.hashes[i]!), unplaced: [],
    };
    for (const i of c.reassignedLone) st.reassigned.push({ hash: c.hashes[i]!, from: c.lostFrom[i]!, to: c.normal[i]! });
    st.reassigned.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
    const h = n - 1; // findDrainingShard, from the counters
    if (h >= 0 && h < st.maxShards && receiver[h] && c.count[h] !== 0 && c.incomingTo[h] === 0 && c.normalNotMoving[h] === 0) st.drainingShard = h;

    const t0 = performance.now();
    placeNewTargets(st);
    drainExcessShards(st);
    relieveOverloadedShards(st);
    if (bulk) keepEveryReliefOrder(st, (s) => this.viewSlots.get(input.shards[s]!.targets));
    packIntoNewShards(st);
    const shardCount = scaleDown(st);
    const desiredShards = Math.min(options.maxShards, Math.max(options.minShards, shardCount));
    const t1 = performance.now();
    const views = input.shards.map((sh): SlottedView | undefined => {
      const slots = this.viewSlots.get(sh.targets);
      return slots && { view: sh.targets, slots };
    });
    const assignments = this.records.build(st.normal, st.incoming, st.hashes, Math.max(n, desiredShards), { resolved, touched: st.touched! }, views);
    this.viewSlots.clear();
    this.stats.lastMs.phases = t1 - t0;
    this.stats.lastMs.records = performance.now() - t1;
    return {
      assignments,
      desiredShards,
      moves: st.moves,
      reassigned: st.reassigned,
      completed: st.completed.sort(),
      oversized: c.oversized.toArray().map((i) => c.hashes[i]!).sort(),
      unplaced: st.unplaced.sort(),
    };
  }
}

/**
 * The keys of the shards' records, counted with repeats (a target on two records counts twice): no fewer than the
 * slots they take.
 */
function keysOnShards(shards: readonly PlannerShard[]): number {
  let keys = 0;
  for (const sh of shards) keys += sh.targets.size;
  return keys;
}

function isEmpty(record: AssignmentRecord | undefined): boolean {
  return record === undefined || record.size === 0;
}

function sameOptions(a: PlannerOptions, b: PlannerOptions): boolean {
  return (Object.is(a.maxSeries, b.maxSeries) && Object.is(a.minShards, b.minShards) && Object.is(a.maxShards, b.maxShards)
    && Object.is(a.maxIdleTimeMs, b.maxIdleTimeMs) && Object.is(a.notReadyGraceMs, b.notReadyGraceMs)
    && Object.is(a.transferMinScrapes, b.transferMinScrapes) && Object.is(a.hysteresis, b.hysteresis));
}

function sameFlags(a: boolean[], b: boolean[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A fresh top-level output (lists copied; records shared, read-only). */
function copyOutput(o: PlannerOutput): PlannerOutput {
  return {
    assignments: o.assignments.slice(), desiredShards: o.desiredShards, moves: o.moves.map((m) => ({ ...m })),
    reassigned: o.reassigned.map((r) => ({ ...r })), completed: o.completed.slice(), oversized: o.oversized.slice(), unplaced: o.unplaced.slice(),
  };
}
