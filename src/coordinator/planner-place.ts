/**
 * Placement: best fit of targets on ready shards, packing of what fits nowhere into new shards, and the
 * draining of shards at or above maxShards. See planner.ts for the rules.
 */
import { beginTransfer, bySizeDesc, membersOf, openShard, placeNormal, type PlanState } from './planner-state.js';
import { FitIndex } from './fit-index.js';
import { placementOrder } from './placement-order.js';

/** Whether shard r can take a target of this size. */
export type Fit = (st: PlanState, r: number, size: number) => boolean;

/** Placement of a target nobody scrapes: the full budget. */
export const withinBudget: Fit = (st, r, size) => st.load[r]! + size <= st.budget;

/** A move of a scraped target: receivers holding targets keep the hysteresis margin; an empty one is like a new shard. */
export const withinMargin: Fit = (st, r, size) => (st.count[r] === 0 ? size <= st.budget : st.load[r]! + size <= st.relaxed);

/**
 * Best fit among the existing receivers (ready, below maxShards), never `exclude` nor the shard being emptied:
 * the one with the least room left after taking the target; ties to the lowest id. -1 when none fits.
 */
export function bestFit(st: PlanState, size: number, fits: Fit, exclude = -1, upTo = st.existing): number {
  let best = -1;
  let bestRoom = Infinity;
  for (let r = 0; r < upTo; r++) {
    if (!st.receiver[r] || r === exclude || r === st.drainingShard || !fits(st, r, size)) continue;
    const room = st.budget - st.load[r]! - size;
    if (room < bestRoom) {
      best = r;
      bestRoom = room;
    }
  }
  return best;
}

/** The lowest-id existing receiver with no target at all (for an oversized target), or -1. */
export function emptyReceiver(st: PlanState, exclude = -1, upTo = st.existing): number {
  for (let r = 0; r < upTo; r++) {
    if (st.receiver[r] && r !== exclude && st.count[r] === 0) return r;
  }
  return -1;
}

function noteReassigned(st: PlanState, i: number, to: number): void {
  const from = st.lostFrom[i]!;
  if (from >= 0) st.reassigned.push({ hash: st.hashes[i]!, from, to });
}

/**
 * Phase 2: targets on no counted shard, biggest first, onto existing ready shards within the budget. The
 * shard being emptied is the last resort before a new shard. What fits nowhere waits in `overflow`.
 */
export function placeNewTargets(st: PlanState): void {
  const order = placementOrder(st, st.toPlace);
  const index = fitIndexFor(st, order);
  for (const i of order) {
    const size = st.series[i]!;
    let r: number;
    if (size > st.budget) {
      r = emptyReceiver(st);
    } else {
      r = index ? index.best(size, st.budget) : bestFit(st, size, withinBudget);
      if (r < 0 && st.drainingShard >= 0 && withinBudget(st, st.drainingShard, size)) r = st.drainingShard;
    }
    if (r < 0) {
      st.overflow.push(i);
      continue;
    }
    placeNormal(st, i, r);
    index?.grew(r);
    noteReassigned(st, i, r);
  }
}

/** Targets × shards from which phase 2 finds the best fit by binary search (fit-index.ts) rather than a scan. */
const FIT_INDEX_FROM = 1_000_000;

/** bestFit's candidates in phase 2 as a FitIndex, when there are many targets to place and it is exact for them. */
function fitIndexFor(st: PlanState, order: readonly number[]): FitIndex | null {
  if (order.length * st.existing < FIT_INDEX_FROM) return null;
  const candidates: number[] = [];
  for (let r = 0; r < st.existing; r++) if (st.receiver[r] && r !== st.drainingShard) candidates.push(r);
  return FitIndex.exactFor(st.load, candidates, st.series, st.budget, order) ? new FitIndex(st.load, candidates) : null;
}

/** Best fit among the shards opened by this step, within the budget, or -1. */
function bestFitNew(st: PlanState, size: number): number {
  let best = -1;
  let bestRoom = Infinity;
  for (let r = st.existing; r < st.existing + st.opened; r++) {
    const room = st.budget - st.load[r]! - size;
    if (room >= 0 && room < bestRoom) {
      best = r;
      bestRoom = room;
    }
  }
  return best;
}

/**
 * Phase 4 (scale-up): overflow targets, then relief moves that fit no existing shard, packed by best fit into
 * as few new shards as possible (an oversized target opens one of its own). Beyond maxShards a target is
 * `unplaced` and a relief move is not made.
 */
export function packIntoNewShards(st: PlanState): void {
  const index = newShardIndexFor(st);
  const fitNew = (size: number): number => (size > st.budget ? -1 : index ? index.best(size, st.budget) : bestFitNew(st, size));
  const open = (): number => {
    const r = openShard(st);
    if (r >= 0) index?.add(r);
    return r;
  };
  for (const i of st.overflow) {
    let r = fitNew(st.series[i]!);
    if (r < 0) r = open();
    if (r < 0) {
      st.unplaced.push(st.hashes[i]!);
      continue;
    }
    placeNormal(st, i, r);
    index?.grew(r);
    noteReassigned(st, i, r);
  }
  const bySize = bySizeDesc(st);
  const relief = st.reliefOverflow.slice().sort((a, b) => bySize(a.idx, b.idx));
  for (const { idx } of relief) {
    let r = fitNew(st.series[idx]!);
    if (r < 0) r = open();
    if (r < 0) continue;
    beginTransfer(st, idx, r, 'overload');
    index?.grew(r);
  }
}

/**
 * From this many targets to pack, phase 4 finds the best new shard by binary search: bestFitNew scans every shard
 * opened so far for each, and the shards opened grow with the targets (900,000 targets packed into 784 new shards
 * scanned 350 million times, 0.5–0.9 s of a cycle).
 */
const PACK_INDEX_FROM = 1000;

/** bestFitNew's candidates (the shards opened by this step, and those opened later: `add`) as a FitIndex, or null. */
function newShardIndexFor(st: PlanState): FitIndex | null {
  const toPack = st.overflow.length + st.reliefOverflow.length;
  if (toPack < PACK_INDEX_FROM) return null;
  const opened = Array.from({ length: st.opened }, (_, k) => st.existing + k);
  const targets = [...st.overflow, ...st.reliefOverflow.map((m) => m.idx)];
  return FitIndex.exactFor(st.load, opened, st.series, st.budget, targets) ? new FitIndex(st.load, opened) : null;
}

/**
 * Shards at or above maxShards (it was lowered): every target not already moving is transferred to a ready
 * shard below, within the budget; what fits nowhere stays on its shard and is listed `unplaced`.
 */
export function drainExcessShards(st: PlanState): void {
  for (let s = Math.max(0, st.maxShards); s < st.existing; s++) {
    const members = Array.from(membersOf(st, s)).filter((i) => st.incoming[i]! < 0).sort(bySizeDesc(st));
    for (const i of members) {
      const size = st.series[i]!;
      const r = size > st.budget ? emptyReceiver(st) : bestFit(st, size, withinBudget);
      if (r < 0) st.unplaced.push(st.hashes[i]!);
      else beginTransfer(st, i, r, 'scale-down');
    }
  }
}
