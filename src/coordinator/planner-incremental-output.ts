/**
 * The output records of the incremental planner: per shard, the full desired target set, hashes in ascending
 * order, as planner.ts `buildAssignments` makes them. Only the records of shards whose content changed since
 * the previous output are rebuilt; the others are the previous objects (outputs are read-only).
 *
 * Changes are found by comparing, slot by slot, the final normal / in_transfer shard of each key with the
 * previous output's: at the slots the planner says may differ when it knows them (those it resolved again and
 * those the phases wrote, now and in the last build), else at every slot. A changed shard's record is rebuilt
 * from its previous sorted keys and states: removed keys and new states are located by binary search, new keys
 * are sorted and merged, so the rebuild is a copy of two arrays with the changes merged in, and no lookup
 * (sorted-keys.ts says why a record is not an object keyed by hash). From nothing (a restart), a shard whose
 * view already holds what the plan gives it gets a record of the view's keys, already sorted (`fromView`).
 */
import { AssignmentRecord, stateCode } from './assignment-record.js';
import type { TargetState } from './planner.js';
import type { ShardTargets } from './shard-targets.js';
import type { SlotSet } from './slot-set.js';
import { grown } from './columns.js';

/** What a shard's record lost (`removed`) and got or kept in another state (`set`, applied after the removals). */
export interface ShardChanges {
  removed: string[];
  set: Array<[string, TargetState]>;
}

/** Per target whose holders changed between two outputs: the shards that got it and the ones that lost it. */
export type RecordChanges = Map<string, { added: number[]; removed: number[] }>;

/** A shard's view (what its sidecars report) and the slot of each of its hashes, by position. */
export interface SlottedView {
  view: ShardTargets;
  slots: Int32Array;
}

/** What one build changed: the records before it, and its changes per target and per shard. */
export interface BuildChanges {
  from: AssignmentRecord[];
  byTarget: RecordChanges;
  byShard: ReadonlyMap<number, ShardChanges>;
}

export class AssignmentRecords {
  /** Per slot, as in the previous output: shard of the normal copy, of the in_transfer copy, the key. */
  private normal = new Int32Array(0);
  private incoming = new Int32Array(0);
  private hashOf: string[] = [];
  /** Per shard: previous record. */
  private records: AssignmentRecord[] = [];
  /**
   * What the last build changed: per target, the shards whose record gained or lost it, against `changedFrom` (the
   * records before that build). Null when unknown (a record beyond the new length still held targets).
   */
  private lastChanges: RecordChanges | null = null;
  /** The same, per shard whose record was rebuilt. */
  private lastShardChanges: ReadonlyMap<number, ShardChanges> = new Map();
  private changedFrom: readonly AssignmentRecord[] = [];
  /** The slots the last build's phases wrote (its `changed.touched`); null when unknown (then every slot is compared). */
  private lastTouched: number[] | null = null;
  /** How many records the last build made from the shards' views (`fromView`). */
  fromViews = 0;

  /**
   * What the last build changed (see `lastChanges`), handed over once: the records keep no reference to it, so the
   * changes of a build that touched every target (a restart) are not held until the next change.
   */
  takeChanges(): BuildChanges | null {
    const taken = this.lastChanges && { from: this.changedFrom.slice(), byTarget: this.lastChanges, byShard: this.lastShardChanges };
    this.lastChanges = null;
    this.lastShardChanges = new Map();
    this.changedFrom = [];
    return taken;
  }

  /**
   * The records for the final per-slot shards of a plan; `length` shards (empty records beyond the used ones).
   * `changed`, where known: the slots whose phase-1 result may differ from the last build's (`resolved`) and those
   * the phases wrote (`touched`). The final shards can differ from the last build's only there or where the last
   * build's phases wrote: only those slots are compared (at 1M targets, comparing every slot was 60–100 ms of a
   * cycle that changed a few thousand). Null: every slot is compared.
   * `views`, per shard where known: see `fromView`.
   */
  build(
    finalNormal: Int32Array, finalIncoming: Int32Array, hashes: readonly string[], length: number,
    changed: { resolved: SlotSet; touched: number[] } | null = null, views: ReadonlyArray<SlottedView | undefined> = [],
  ): AssignmentRecord[] {
    const cap = finalNormal.length;
    if (this.normal.length < cap) this.grow(cap);
    const slots = changed && slotsToCompare(changed.resolved, changed.touched, this.lastTouched, cap);
    this.lastTouched = changed?.touched ?? null;
    const changes = new Map<number, ShardChanges>();
    const of = (s: number): ShardChanges => {
      let c = changes.get(s);
      if (!c) changes.set(s, (c = { removed: [], set: [] }));
      return c;
    };
    // From records that are all empty (a planner's first plan, as after a restart; or every target gone before) every
    // target is a change: none are handed over (null: compare the records), which at 1M cost seconds and 0.8 GB.
    const fromNothing = this.records.every((r) => r.size === 0);
    // From nothing, the targets are counted per shard and listed; the records are made below, from the views where
    // they match and else from the targets listed.
    const counts = fromNothing ? new Int32Array(length) : null;
    const listed = fromNothing ? new Int32Array(slots ? slots.length : cap) : null;
    let nListed = 0;
    const byHash: RecordChanges = new Map();
    const holder = (hash: string) => byHash.get(hash) ?? byHash.set(hash, { added: [], removed: [] }).get(hash)!;
    const visits = slots ? slots.length : cap;
    for (let k = 0; k < visits; k++) {
      // A slot listed twice is compared once: after the first visit it equals the final.
      const i = slots ? slots[k]! : k;
      const pn = this.normal[i]!;
      const pt = this.incoming[i]!;
      const fn = finalNormal[i]!;
      const ft = finalIncoming[i]!;
      const hash = hashes[i]!;
      if (pn === fn && pt === ft && (this.hashOf[i] === hash || (pn < 0 && pt < 0))) continue;
      if (counts) {
        // No record holds a target (a previous shard is one past the records' end: nothing to remove).
        if (fn >= 0 && fn < length) counts[fn]!++;
        if (ft >= 0 && ft < length) counts[ft]!++;
        listed![nListed++] = i;
      } else {
        if (pn >= 0) of(pn).removed.push(this.hashOf[i]!);
        if (pt >= 0) of(pt).removed.push(this.hashOf[i]!);
        if (fn >= 0) of(fn).set.push([hash, 'normal']);
        if (ft >= 0) of(ft).set.push([hash, 'in_transfer']);
        if (pn >= 0) holder(this.hashOf[i]!).removed.push(pn);
        if (pt >= 0) holder(this.hashOf[i]!).removed.push(pt);
        if (fn >= 0) holder(hash).added.push(fn);
        if (ft >= 0) holder(hash).added.push(ft);
      }
      this.normal[i] = fn;
      this.incoming[i] = ft;
      this.hashOf[i] = hash;
    }
    // A shard that kept a target in another state neither got nor lost it.
    for (const [hash, c] of byHash) {
      const added = c.added.filter((s) => !c.removed.includes(s));
      const removed = c.removed.filter((s) => !c.added.includes(s));
      if (added.length === 0 && removed.length === 0) byHash.delete(hash);
      else byHash.set(hash, { added, removed });
    }
    const made = counts ? recordsFromViews(counts, listed!.subarray(0, nListed), finalNormal, finalIncoming, hashes, views, of) : [];
    this.fromViews = made.reduce((n, r) => n + (r ? 1 : 0), 0);
    let cutHeld = false;
    for (let s = length; s < this.records.length; s++) if (this.records[s]!.size > 0) cutHeld = true;
    this.lastChanges = cutHeld || fromNothing ? null : byHash;
    this.lastShardChanges = changes;
    this.changedFrom = this.records;
    const out: AssignmentRecord[] = [];
    for (let s = 0; s < length; s++) {
      const before = this.records[s];
      const change = changes.get(s);
      out.push(made[s] ?? (before && !change ? before : rebuild(before ?? AssignmentRecord.EMPTY, change ?? { removed: [], set: [] })));
    }
    this.records = out;
    return out.slice();
  }

  private grow(min: number): void {
    const size = Math.max(1024, min * 2);
    this.normal = grown(this.normal, size, -1);
    this.incoming = grown(this.incoming, size, -1);
  }
}

/** A shard's record anew: its previous keys and states with removals, new states and new keys merged in ascending order. */
function rebuild(before: AssignmentRecord, change: ShardChanges): AssignmentRecord {
  const edits: Array<readonly [string, TargetState | undefined]> = change.removed.map((k) => [k, undefined]);
  for (const e of change.set) edits.push(e);
  return before.edited(edits);
}

/**
 * From nothing: per shard with targets (`counts`), its record made from its view where that matches (`fromView`);
 * the other shards' targets, collected from `listed` (the slots that changed), go to their changes (`of`).
 */
function recordsFromViews(
  counts: Int32Array, listed: Int32Array, finalNormal: Int32Array, finalIncoming: Int32Array, hashes: readonly string[],
  views: ReadonlyArray<SlottedView | undefined>, of: (s: number) => ShardChanges,
): Array<AssignmentRecord | undefined> {
  const length = counts.length;
  const made: Array<AssignmentRecord | undefined> = [];
  const collect = new Uint8Array(length);
  let collecting = false;
  for (let s = 0; s < length; s++) {
    if (counts[s] === 0) continue;
    made[s] = fromView(views[s], s, counts[s]!, finalNormal, finalIncoming, hashes);
    if (made[s] !== undefined) continue;
    collect[s] = 1;
    collecting = true;
  }
  for (let k = 0; collecting && k < listed.length; k++) {
    const i = listed[k]!;
    const fn = finalNormal[i]!;
    const ft = finalIncoming[i]!;
    if (fn >= 0 && fn < length && collect[fn]) of(fn).set.push([hashes[i]!, 'normal']);
    if (ft >= 0 && ft < length && collect[ft]) of(ft).set.push([hashes[i]!, 'in_transfer']);
  }
  return made;
}

/**
 * Shard `s`'s record made of its view's keys and states, when the view holds exactly the targets the plan gives the
 * shard (`count` of them), in the plan's states; else undefined. Why: after a restart every record is made from
 * nothing, and for nearly every shard the plan is what its sidecars report. Sorting a thousand keys per shard
 * (and a pair allocated per target) was most of a 3.3 s records step at 1M targets; the view's keys are sorted
 * already. The slots are checked against the hashes, so a view slotted before a slot was given to another hash
 * is not taken.
 */
function fromView(v: SlottedView | undefined, s: number, count: number, finalNormal: Int32Array, finalIncoming: Int32Array, hashes: readonly string[]): AssignmentRecord | undefined {
  if (v === undefined || v.view.size !== count || v.slots.length !== count) return undefined;
  const view = v.view;
  const keys = view.hashes;
  // A copy of the keys, not the view's array. At 1M, the restart's push step (it walks every record's keys) took
  // 1.2–2.4 s with records built as before, 3.0–3.9 s in four runs sharing the views' arrays, 2.3–3.4 s in three
  // with a copy: the copy is the smaller risk, and why that step is slower at all was not found (README).
  const out = new Array<string>(count);
  const codes = new Uint8Array(count);
  for (let p = 0; p < count; p++) {
    const i = v.slots[p]!;
    if (hashes[i] !== keys[p]) return undefined;
    const code = stateCode(view.viewAt(p).state);
    if ((code === 0 ? finalNormal[i] : finalIncoming[i]) !== s) return undefined;
    out[p] = keys[p]!;
    codes[p] = code;
  }
  // Each of the view's `count` distinct targets is on the shard in its state, and the shard has `count` targets.
  return new AssignmentRecord(out, codes);
}

/**
 * The slots to compare, ascending (the order of a full scan, so the changes come out in the same order), or null
 * (compare every slot) when the last build's writes are unknown or the slots are many enough that a scan is cheaper.
 */
function slotsToCompare(resolved: SlotSet, touched: readonly number[], lastTouched: readonly number[] | null, cap: number): Int32Array | null {
  if (lastTouched === null) return null;
  const n = resolved.size + touched.length + lastTouched.length;
  if (n > cap / 8) return null;
  const out = new Int32Array(n);
  let k = 0;
  for (let j = 0; j < resolved.size; j++) out[k++] = resolved.at(j);
  for (const i of touched) out[k++] = i;
  for (const i of lastTouched) out[k++] = i;
  return out.sort();
}
