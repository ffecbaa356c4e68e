/**
 * The planner's views of the shards, for the coordinator: what each shard's sidecars report (kept per shard and
 * handed over as the same object while it did not change, with where it changed when it did), what a shard is meant
 * to hold after a push, and the changes between two plans' records. Pure helpers over the contract's types; the
 * coordinator's loop keeps the state.
 */
import { REPORTED_SCRAPES, type AssignedTargetSpec, type AssignmentChange, type TargetState } from '../shard/contract.js';
import { ShardTargets, targetView, type AssignmentRecord, type PlannerOutput, type PlannerShard, type ShardTargetView } from './planner.js';
import type { RecordChanges, ShardChanges } from './planner-incremental-output.js';

export type { RecordChanges };
import { MirrorReader, type StatusSummary, type SidecarMirror } from './sidecar-mirror.js';

/**
 * Per ordinal, the planner's view of what the shard's sidecars (one per replica) report: per target its state and
 * the fewest successful scrapes of any replica, capped at REPORTED_SCRAPES (the planner only asks whether a
 * transfer's receiver reached 2). The same object as last cycle while no sidecar's version moved, or while what
 * moved leaves every entry as it was (health, series, errors, scrapes beyond the cap): then the planner sees an
 * unchanged shard without reading it. A new view is the last one with the changed entries merged in, and says where
 * it differs from it (PlannerShard.changedFrom).
 */
export class StatusViews {
  private readonly cache = new Map<number, { stamp: string; view: ShardTargets; mirrors: SidecarMirror[] }>();

  of(i: number, mirrors: SidecarMirror[]): { view: ShardTargets; changedFrom?: PlannerShard['changedFrom'] } {
    const versions = mirrors.map((m) => m.version);
    const stamp = versions.every((v) => v !== undefined) ? versions.join(' ') : undefined;
    const cached = this.cache.get(i);
    if (stamp !== undefined && cached?.stamp === stamp) return { view: cached.view };
    const sameSidecars = cached !== undefined && cached.mirrors.length === mirrors.length && cached.mirrors.every((m, k) => m === mirrors[k]);
    // What changed on the sidecars since the cached view was made: the keys at which the new view can differ. Taken
    // from every sidecar; gathered only for the cached view (another is built whole).
    const changed = new Set<string>();
    for (const m of mirrors) {
      const taken = m.takeChanged(MirrorReader.View);
      if (sameSidecars) for (const h of taken) changed.add(h);
    }
    const [first, ...others] = mirrors.map((m) => m.statuses);
    const entry = (st: StatusSummary): ShardTargetView => {
      let scrapes = st.scrapesSinceAssigned;
      for (const o of others) scrapes = Math.min(scrapes, o.get(st.hash)?.scrapesSinceAssigned ?? 0);
      return targetView(st.state, Math.min(scrapes, REPORTED_SCRAPES));
    };
    let view: ShardTargets;
    let changedFrom: PlannerShard['changedFrom'];
    if (sameSidecars) {
      // The cached view with the entries that differ: with scrapes capped, every entry is one of targetView's shared
      // objects, so `!==` finds them.
      const edits: Array<[string, ShardTargetView | undefined]> = [];
      for (const h of changed) {
        const st = first!.get(h);
        const now = st === undefined ? undefined : entry(st);
        if (cached.view.get(h) !== now) edits.push([h, now]);
      }
      view = edits.length === 0 ? cached.view : cached.view.edited(edits);
      if (view !== cached.view) changedFrom = { from: cached.view, keys: edits.map(([h]) => h) };
    } else {
      view = ShardTargets.ofMap(first!, entry);
    }
    if (stamp !== undefined) this.cache.set(i, { stamp, view, mirrors });
    else this.cache.delete(i);
    return changedFrom ? { view, changedFrom } : { view };
  }

  delete(i: number): void {
    this.cache.delete(i);
  }

  /** Forgets every view: the next ones are built whole (after the sidecars' changes were dropped). */
  clear(): void {
    this.cache.clear();
  }
}

/**
 * A sidecar's applied assignment, as the planner sees one: scrapes capped as StatusViews caps them, so that every
 * entry is a shared one (a view keeps any other entry apart, in a map: one per target of a settled shard).
 */
export function viewOf(statuses: ReadonlyMap<string, StatusSummary>): ShardTargets {
  return ShardTargets.ofMap(statuses, (st) => targetView(st.state, Math.min(st.scrapesSinceAssigned, REPORTED_SCRAPES)));
}

/** A shard's view, worked out on first use and kept. */
export type LazyView = () => ShardTargets;
export function lazyView(make: () => ShardTargets): LazyView {
  let view: ShardTargets | undefined;
  return () => (view ??= make());
}

/** The want a view was made for by meantView: a meant view of the same want is the same (meantView is idempotent). */
const meantFor = new WeakMap<object, object>();

/**
 * What a shard is meant to hold after a push (or while it starts): `want`, with the scrapes `view` reported for a
 * target in the same state (in any state with `anyState`: a shard that could not be read keeps its counts). Both
 * are ascending by hash: one merge walk, and the view shares the record's hashes.
 */
export function meantView(want: AssignmentRecord, view: ShardTargets, anyState = false): ShardTargets {
  if (meantFor.get(view) === want) return view;
  const hashes = want.keys;
  const have = view.hashes;
  const views = new Array<ShardTargetView>(hashes.length);
  let y = 0;
  for (let x = 0; x < hashes.length; x++) {
    const hash = hashes[x]!;
    const state = want.stateAt(x);
    // Skip the view's hashes below this one: the walk stops at the first that is not smaller.
    while (y < have.length && have[y]! < hash) y++;
    const v = y < have.length && have[y] === hash ? view.viewAt(y) : undefined;
    views[x] = v !== undefined && (anyState || v.state === state) ? (v.state === state ? v : targetView(state, v.scrapes)) : targetView(state, 0);
  }
  const out = ShardTargets.fromViews(hashes, views);
  meantFor.set(out, want);
  return out;
}

/** The planner's change to a shard's record as an AssignmentChange, or undefined when sending it whole is smaller. */
export function plannedChange(c: ShardChanges, base: string, spec: (hash: string, state: TargetState) => AssignedTargetSpec | undefined, size: number): AssignmentChange | undefined {
  const set = c.set.flatMap(([hash, state]) => spec(hash, state) ?? []);
  return set.length + c.removed.length < size ? { base, set, remove: c.removed } : undefined;
}


/**
 * Calls `f` with each (target, record) pair that differs between two plans' records: the record's ordinal, and
 * whether it gained the target or lost it. Records that are the same object are not read.
 */
function forEachRecordEdit(prev: PlannerOutput['assignments'], next: PlannerOutput['assignments'], f: (hash: string, record: number, gained: boolean) => void): void {
  for (let i = 0; i < Math.max(prev.length, next.length); i++) {
    const before = prev[i]?.keys ?? [];
    const after = next[i]?.keys ?? [];
    if (before === after) continue;
    // Both ascending: one merge walk.
    let a = 0;
    let b = 0;
    while (a < before.length || b < after.length) {
      const x = before[a];
      const y = after[b];
      if (x === y) {
        a++;
        b++;
      } else if (y === undefined || (x !== undefined && x < y)) {
        f(x!, i, false);
        a++;
      } else {
        f(y, i, true);
        b++;
      }
    }
  }
}

/**
 * How many (target, record) pairs differ between two plans' records, counted without recordChanges' map. When most
 * placed targets changed (a first placement), the coordinator counts and observes from the records whole instead: a
 * change per target, then a look-up or two for each, cost twice as much at 900,000 targets placed at once.
 */
export function recordEdits(prev: PlannerOutput['assignments'], next: PlannerOutput['assignments']): number {
  let edits = 0;
  forEachRecordEdit(prev, next, () => edits++);
  return edits;
}

/** What differs between two plans' records, per target: the records that gained it and those that lost it. */
export function recordChanges(prev: PlannerOutput['assignments'], next: PlannerOutput['assignments']): RecordChanges {
  const changes: RecordChanges = new Map();
  forEachRecordEdit(prev, next, (hash, i, gained) => {
    const c = changes.get(hash) ?? changes.set(hash, { added: [], removed: [] }).get(hash)!;
    (gained ? c.added : c.removed).push(i);
  });
  return changes;
}
