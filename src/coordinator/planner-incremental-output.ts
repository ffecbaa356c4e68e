/**
 * The output records of the incremental planner: per shard, the full desired target set, hashes in ascending
 * order, as planner.ts `buildAssignments` makes them. Only the records of shards whose content changed since
 * the previous output are rebuilt; the others are the previous objects (outputs are read-only).
 *
 * Changes are found by comparing, slot by slot, the final normal / in_transfer shard of each key with the
 * previous output's (two typed-array scans). A changed shard's record is rebuilt from its previous sorted keys
 * and states: removed keys and new states are located by binary search, new keys are sorted and merged, so the
 * rebuild is a copy of two arrays with the changes merged in, and no lookup (sorted-keys.ts says why a record
 * is not an object keyed by hash).
 */
import { AssignmentRecord } from './assignment-record.js';
import type { TargetState } from './planner.js';

/** What a shard's record lost (`removed`) and got or kept in another state (`set`, applied after the removals). */
export interface ShardChanges {
  removed: string[];
  set: Array<[string, TargetState]>;
}

/** Per target whose holders changed between two outputs: the shards that got it and the ones that lost it. */
export type RecordChanges = Map<string, { added: number[]; removed: number[] }>;

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

  /** The records for the final per-slot shards of a plan; `length` shards (empty records beyond the used ones). */
  build(finalNormal: Int32Array, finalIncoming: Int32Array, hashes: readonly string[], length: number): AssignmentRecord[] {
    const cap = finalNormal.length;
    if (this.normal.length < cap) this.grow(cap);
    const changes = new Map<number, ShardChanges>();
    const of = (s: number): ShardChanges => {
      let c = changes.get(s);
      if (!c) changes.set(s, (c = { removed: [], set: [] }));
      return c;
    };
    // From records that are all empty (a planner's first plan, as after a restart; or every target gone before) every
    // target is a change: none are handed over (null: compare the records), which at 1M cost seconds and 0.8 GB.
    const fromNothing = this.records.every((r) => r.size === 0);
    const byHash: RecordChanges = new Map();
    const holder = (hash: string) => byHash.get(hash) ?? byHash.set(hash, { added: [], removed: [] }).get(hash)!;
    for (let i = 0; i < cap; i++) {
      const pn = this.normal[i]!;
      const pt = this.incoming[i]!;
      const fn = finalNormal[i]!;
      const ft = finalIncoming[i]!;
      const hash = hashes[i]!;
      if (pn === fn && pt === ft && (this.hashOf[i] === hash || (pn < 0 && pt < 0))) continue;
      if (pn >= 0) of(pn).removed.push(this.hashOf[i]!);
      if (pt >= 0) of(pt).removed.push(this.hashOf[i]!);
      if (fn >= 0) of(fn).set.push([hash, 'normal']);
      if (ft >= 0) of(ft).set.push([hash, 'in_transfer']);
      if (!fromNothing) {
        for (const s of [pn, pt]) if (s >= 0) holder(this.hashOf[i]!).removed.push(s);
        for (const s of [fn, ft]) if (s >= 0) holder(hash).added.push(s);
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
    let cutHeld = false;
    for (let s = length; s < this.records.length; s++) if (this.records[s]!.size > 0) cutHeld = true;
    this.lastChanges = cutHeld || fromNothing ? null : byHash;
    this.lastShardChanges = changes;
    this.changedFrom = this.records;
    const out: AssignmentRecord[] = [];
    for (let s = 0; s < length; s++) {
      const before = this.records[s];
      const change = changes.get(s);
      out.push(before && !change ? before : rebuild(before ?? AssignmentRecord.EMPTY, change ?? { removed: [], set: [] }));
    }
    this.records = out;
    return out.slice();
  }

  private grow(min: number): void {
    const size = Math.max(1024, min * 2);
    const n = new Int32Array(size).fill(-1);
    n.set(this.normal);
    const t = new Int32Array(size).fill(-1);
    t.set(this.incoming);
    this.normal = n;
    this.incoming = t;
  }
}

/** A shard's record anew: its previous keys and states with removals, new states and new keys merged in ascending order. */
function rebuild(before: AssignmentRecord, change: ShardChanges): AssignmentRecord {
  const edits: Array<readonly [string, TargetState | undefined]> = change.removed.map((k) => [k, undefined]);
  for (const e of change.set) edits.push(e);
  return before.edited(edits);
}
