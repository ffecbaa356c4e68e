/**
 * "What if the budget were N?": the pure planner run from nothing (no shard, every target placed anew with its last
 * measured size) with another per-shard budget, for the console. The running coordinator is not touched: this is a
 * separate call to the same planAssignments that the cycle uses, so the answer is what the planner would do.
 */
import { planAssignments, type PlannerOptions } from './planner.js';
import { shardId } from '../shard/types.js';

export interface WhatIf {
  budget: number;
  shards: number;
  placement: Array<{ shard: string; series: number; targets: number }>;
}

export function planFromNothing(targets: ReadonlyArray<{ hash: string; series: number }>, options: PlannerOptions, nowMs = Date.now()): WhatIf {
  const plan = planAssignments({ nowMs, targets: [...targets], shards: [], options });
  const size = new Map(targets.map((t) => [t.hash, t.series]));
  const placement = plan.assignments.slice(0, plan.desiredShards).map((a, i) => ({
    shard: shardId(i),
    series: a.keys.reduce((sum, h) => sum + (size.get(h) ?? 0), 0),
    targets: a.size,
  }));
  return { budget: options.maxSeries, shards: plan.desiredShards, placement };
}
