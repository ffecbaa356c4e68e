/**
 * The planner: one pure, deterministic step of target placement. The coordinator calls it every cycle with
 * what discovery says must be scraped, what each shard reports it scrapes, and the time; it returns the full
 * desired target set of every shard and the shard count. No clock, I/O or randomness: the same input gives the
 * same output, whatever the order of `targets` or of the keys of each shard's `targets` record (every choice is
 * made in a sorted order; output records list their hashes in ascending order). This is the reference plan:
 * planner-incremental.ts returns exactly the same output at a cost that follows what changed between calls.
 *
 * A step, in order (the helpers named are in planner-*.ts):
 *  1. Copies (`resolveCopies`). Targets no longer discovered vanish from every shard. Per target, the copies on
 *     ready shards and on not-ready shards within their grace count; copies on a shard not ready for longer than
 *     `notReadyGraceMs` do not (its assignment becomes empty). A normal copy plus one `in_transfer` copy is a
 *     transfer: it completes when the receiver is ready and reports `scrapes >= transferMinScrapes` (the
 *     source's copy goes, the receiver's becomes normal). Anything else with several copies is a leftover
 *     (crash, restored store): one copy stays, as normal. A lone `in_transfer` copy becomes normal.
 *  2. Placement of targets on no counted shard: new ones, and those of expired shards (`reassigned`),
 *     first-fit-decreasing order (series desc, hash asc), best fit on ready shards within `maxSeries`.
 *  3. Relief of over-budget ready shards without transfers in flight: the fewest targets (then fewest series)
 *     that bring the shard back within `maxSeries` move, as transfers, to shards that stay within
 *     `maxSeries * (1 - hysteresis)`.
 *  4. Scale-up: what fit no existing shard is packed (best fit) into as few new shards as possible, new and
 *     reassigned targets first, relief moves after; `maxShards` bounds it (beyond: `unplaced`, or no move).
 *  5. Scale-down: removal of the highest shards once empty and idle long enough; emptying the highest shard
 *     when the system is quiet and all its targets fit elsewhere with the hysteresis margin.
 *
 * Choices where the issue is silent (what an operator would expect):
 *  - Input targets with the same hash are one target with the larger series; a series that is negative or not
 *    a finite number counts as 0.
 *  - A not-ready shard with `notReadySinceMs === null` is treated as having just become not ready (its targets
 *    stay for the grace): not knowing since when is no reason to move them at once.
 *  - Leftover duplicates: the kept copy is on a shard below `maxShards` first, then a ready shard, then the
 *    lower load (load as reported, every counted copy included), then the lowest id. Equal loads are resolved
 *    too (Kvass keeps both copies forever).
 *  - A transfer whose source shard expired leaves the receiver as the only copy: it becomes normal and is
 *    listed in `reassigned` (from the dead shard), since the dead shard no longer scrapes it. A transfer whose
 *    receiver expired, or sits at or above `maxShards`, is dropped (the source keeps the target).
 *  - Transfers complete only when the receiver is ready (a not-ready receiver's scrape count is stale); the
 *    source may be not ready (within grace): the receiver already scrapes.
 *  - "Empty" receivers: a shard with no target at all takes any target within `maxSeries`, in relief and
 *    scale-down too, exactly as a new shard would; the hysteresis margin is for shards that already hold
 *    targets. New shards are filled up to `maxSeries`.
 *  - An oversized target (series > `maxSeries`) goes to an empty ready shard (lowest id) or to a new shard; if
 *    it grows on a shard with others, relief moves the others off (the oversized target keeps the shard; moving
 *    it would double-scrape the biggest target and still leave it alone on a shard). If one shard holds several
 *    oversized targets, the largest stays. `oversized` lists every discovered oversized target in each step.
 *  - Relief set: fewest targets exactly; among those, fewest series exactly when one or two targets suffice,
 *    otherwise the largest-first set improved by swapping each chosen target for the smallest sufficient one.
 *    A relief move that fits nowhere and cannot get a new shard is not made (the target stays where it is
 *    scraped; it is not `unplaced`).
 *  - A shard being emptied for scale-down (the highest shard, every target of which is the source of a
 *    transfer) takes new targets only when no other ready shard can, and no relief moves.
 *  - Emptying for scale-down also waits until every shard is ready (capacity is uncertain otherwise).
 *    Several empty highest shards idle long enough are removed in one step. A not-ready highest shard past its
 *    grace has an empty assignment and is removable once `notReadyGraceMs + maxIdleTimeMs` have passed since it
 *    stopped being ready. Removal only happens in a step that opens no new shard. Empty-and-idle is judged on
 *    the shard's reported view (no target in it, `idleSinceMs` old enough) and on the output (no target).
 *  - `maxShards` below the current shard count: `desiredShards` is `maxShards` (rule 7), and the shards at and
 *    above it are drained: each of their targets is transferred (reason 'scale-down') to a ready shard below,
 *    within `maxSeries`; what fits nowhere stays and is listed in `unplaced`. Their assignments keep the source
 *    copies, so the caller must remove a shard only once its assignment is empty (Kvass deletes them undrained).
 *  - `minShards > maxShards`: `maxShards` wins. Padding shards added for `minShards` start empty; overflow
 *    targets are packed into them first (they are the next ids).
 *  - List orders: `completed`, `oversized`, `unplaced` by hash; `moves` and `reassigned` in decision order
 *    (itself a sorted order).
 */
import { resolveCopies, type PlanState } from './planner-state.js';
import { placeNewTargets, packIntoNewShards, drainExcessShards } from './planner-place.js';
import { relieveOverloadedShards, scaleDown } from './planner-relief.js';
import type { TargetState } from '../shard/contract.js';
import { AssignmentRecord, stateCode } from './assignment-record.js';
import { ShardTargets, targetView, type ShardTargetView } from './shard-targets.js';

export type { TargetState };
export { AssignmentRecord, ShardTargets, targetView };
export type { ShardTargetView };

/** Every target that must be scraped now (from discovery); `series` already includes Prometheus's own per-target series. */
export interface PlannerTarget {
  hash: string;
  series: number;
}

export interface PlannerShard {
  /** Ordinal; shards are 0..n-1 in the input, in order. */
  id: number;
  /** Its status could be read this cycle (for all replicas). */
  ready: boolean;
  /** When it stopped being ready (or was created and has not been ready yet); null when ready. */
  notReadySinceMs: number | null;
  /** What it scrapes now (last known view if not ready). */
  targets: ShardTargets;
  /** Since when it has had no target (reported by its sidecar); null if it has targets. */
  idleSinceMs: number | null;
  /**
   * Optional, read by the incremental planner only: `targets` is `from` except, at most, at `keys`. Then a view
   * that follows the previous one is compared at those keys instead of at all of them.
   */
  changedFrom?: { from: ShardTargets; keys: Iterable<string> };
}

export interface PlannerOptions {
  /** Per-shard budget: sum of the series of the targets on a shard (both copies of a transfer count on both shards). */
  maxSeries: number;
  minShards: number;
  maxShards: number;
  /** 0 disables scale-down. */
  maxIdleTimeMs: number;
  /** A not-ready shard keeps its targets this long before they move. */
  notReadyGraceMs: number;
  /** A transfer completes when the receiver reports at least this many successful scrapes. */
  transferMinScrapes: number;
  /** Receivers of moves must stay within maxSeries * (1 - hysteresis), so that nothing ping-pongs. */
  hysteresis: number;
}

export interface PlannerInput {
  nowMs: number;
  targets: PlannerTarget[];
  shards: PlannerShard[];
  options: PlannerOptions;
  /**
   * Optional, read by the incremental planner only: `targets` is the array of its previous call, changed in place
   * at these hashes only (see TargetListChanges). Then the list is not read, only the changed entries.
   */
  targetChanges?: TargetListChanges;
}

/**
 * What changed in a target list that its owner changes in place (sizing.ts): each hash is in the list at most
 * once, and `entry`, asked for a hash of `hashes`, is its entry now (undefined: gone). A list changed in place must
 * always come with its changes.
 */
export interface TargetListChanges {
  hashes: Iterable<string>;
  entry(hash: string): PlannerTarget | undefined;
}

export interface PlannerMove {
  hash: string;
  from: number;
  to: number;
  reason: 'overload' | 'scale-down';
}

export interface PlannerOutput {
  /** Index = shard id; length = max(shards.length, desiredShards); the full desired target set of each shard. */
  assignments: AssignmentRecord[];
  desiredShards: number;
  /** Transfers begun in this step. */
  moves: PlannerMove[];
  /** Targets taken off a shard not ready for longer than the grace (placed anew, no transfer). */
  reassigned: Array<{ hash: string; from: number; to: number }>;
  /** Transfers finished in this step. */
  completed: string[];
  /** Targets bigger than maxSeries (each on a shard of its own). */
  oversized: string[];
  /** Targets that could not be placed in this step (maxShards stops a scale-up). */
  unplaced: string[];
}

export function planAssignments(input: PlannerInput): PlannerOutput {
  const st = resolveCopies(input);
  placeNewTargets(st);
  drainExcessShards(st);
  relieveOverloadedShards(st);
  packIntoNewShards(st);
  const shardCount = scaleDown(st);
  const { minShards, maxShards } = input.options;
  const desiredShards = Math.min(maxShards, Math.max(minShards, shardCount));
  return {
    assignments: buildAssignments(st, Math.max(st.existing, desiredShards)),
    desiredShards,
    moves: st.moves,
    reassigned: st.reassigned,
    completed: st.completed.sort(),
    oversized: oversizedTargets(st),
    unplaced: st.unplaced.sort(),
  };
}

/** Each shard's record, hashes in ascending order (sorted per shard: cheaper than one global sort). */
function buildAssignments(st: PlanState, length: number): AssignmentRecord[] {
  const hashes: string[][] = [];
  const inTransfer: Array<Set<string> | undefined> = [];
  for (let s = 0; s < length; s++) hashes.push([]);
  for (let i = 0; i < st.hashes.length; i++) {
    const n = st.normal[i]!;
    if (n >= 0) hashes[n]!.push(st.hashes[i]!);
    const t = st.incoming[i]!;
    if (t >= 0) {
      hashes[t]!.push(st.hashes[i]!);
      (inTransfer[t] ??= new Set()).add(st.hashes[i]!);
    }
  }
  return hashes.map((list, s) => {
    const moving = inTransfer[s];
    const keys = list.sort();
    const codes = new Uint8Array(keys.length);
    if (moving) keys.forEach((h, i) => (codes[i] = stateCode(moving.has(h) ? 'in_transfer' : 'normal')));
    return new AssignmentRecord(keys, codes);
  });
}

function oversizedTargets(st: PlanState): string[] {
  const out: string[] = [];
  for (let i = 0; i < st.hashes.length; i++) if (st.series[i]! > st.budget) out.push(st.hashes[i]!);
  return out.sort();
}
