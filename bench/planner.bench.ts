/**
 * Time per plan of the coordinator's planner (src/coordinator/planner.ts) for 10k targets on 20 shards and
 * 100k targets on 100 shards: the steady state (nothing changed: the common case, every cycle), after a
 * change (1% of targets gone, 1% new, 1% grown by half so that some shards need relief), after a shard died
 * (past its grace: its targets are placed anew), and the first placement of everything from one empty shard.
 * Target sizes are pseudo-random (fixed seed) between 100 and 1900 series; maxSeries is set so that the
 * shards are about 85% full.
 */
import { planAssignments, ShardTargets, targetView, type PlannerInput, type PlannerOutput, type PlannerShard, type PlannerTarget } from '../src/coordinator/planner.js';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hashOf(i: number): string {
  return (BigInt(i) * 0x9e3779b97f4a7c15n & 0xffffffffffffffffn).toString(16).padStart(16, '0');
}

export function emptyShard(id: number, nowMs: number): PlannerShard {
  return { id, ready: true, notReadySinceMs: null, targets: ShardTargets.EMPTY, idleSinceMs: nowMs };
}

/** The shards as the sidecars report them after applying `out` (every target scraped a few times). */
export function shardsAfter(out: PlannerOutput, nowMs: number): PlannerShard[] {
  const shards: PlannerShard[] = [];
  for (let id = 0; id < out.desiredShards; id++) {
    const record = out.assignments[id];
    const targets = record ? ShardTargets.fromViews(record.keys, record.keys.map((_, i) => targetView(record.stateAt(i), 5))) : ShardTargets.EMPTY;
    shards.push({ id, ready: true, notReadySinceMs: null, targets, idleSinceMs: targets.size > 0 ? null : nowMs });
  }
  return shards;
}

/** Median milliseconds per plan over `runs` runs (after one warm-up), and the last output. */
function time(input: PlannerInput, runs: number): { ms: number; out: PlannerOutput } {
  let out = planAssignments(input);
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    out = planAssignments(input);
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return { ms: samples[samples.length >> 1]!, out };
}

/**
 * The planner's workload, shared with coordinator-scale.bench.ts: targets of 100–1900 series (seeded by the
 * count), a budget that fills `shardCount` shards to ~85%, and `changed()`: 1% gone, 1% new, 1% grown ×1.5.
 */
export function plannerWorkload(targetCount: number, shardCount: number): {
  targets: PlannerTarget[]; nowMs: number; options: PlannerInput['options']; changed: () => PlannerTarget[];
} {
  const rand = prng(targetCount);
  const targets: PlannerTarget[] = [];
  let total = 0;
  for (let i = 0; i < targetCount; i++) {
    const series = 100 + Math.floor(rand() * 1800);
    targets.push({ hash: hashOf(i), series });
    total += series;
  }
  const options = {
    maxSeries: Math.ceil(total / (shardCount * 0.85)), minShards: 1, maxShards: 10 * shardCount, maxIdleTimeMs: 600_000,
    notReadyGraceMs: 120_000, transferMinScrapes: 2, hysteresis: 0.1,
  };
  const changed = (): PlannerTarget[] => {
    const out = targets.filter((_, i) => i % 100 !== 0).map((t, i) => (i % 100 === 1 ? { ...t, series: Math.round(t.series * 1.5) } : t));
    for (let i = 0; i < targetCount / 100; i++) out.push({ hash: hashOf(targetCount + i), series: 100 + Math.floor(rand() * 1800) });
    return out;
  };
  return { targets, nowMs: 1_000_000_000, options, changed };
}

function scenario(targetCount: number, shardCount: number, runs: number): Array<Record<string, string | number>> {
  const { targets, nowMs, options, changed: changedTargets } = plannerWorkload(targetCount, shardCount);
  const rows: Array<Record<string, string | number>> = [];
  const row = (name: string, input: PlannerInput, r: { ms: number; out: PlannerOutput }) => rows.push({
    scenario: name, targets: input.targets.length, shards: input.shards.length, 'ms/plan': Number(r.ms.toFixed(2)),
    desiredShards: r.out.desiredShards, moves: r.out.moves.length, reassigned: r.out.reassigned.length,
  });

  const spread = Array.from({ length: shardCount }, (_, id) => emptyShard(id, nowMs));
  const first = planAssignments({ nowMs, targets, shards: spread, options });
  const steady: PlannerInput = { nowMs, targets, shards: shardsAfter(first, nowMs), options };
  row('steady state (unchanged input)', steady, time(steady, runs));

  const change: PlannerInput = { ...steady, targets: changedTargets() };
  row('change: 1% gone, 1% new, 1% grown x1.5', change, time(change, runs));

  const dead = steady.shards.map((s, id) => (id === 3 ? { ...s, ready: false, notReadySinceMs: nowMs - 300_000 } : s));
  const died: PlannerInput = { ...steady, shards: dead };
  row('one shard dead past its grace', died, time(died, runs));

  const fresh: PlannerInput = { nowMs, targets, shards: [emptyShard(0, nowMs)], options };
  row('first placement from one empty shard', fresh, time(fresh, runs));
  return rows;
}

export function run(): Array<Record<string, string | number>> {
  return [...scenario(10_000, 20, 21), ...scenario(100_000, 100, 9)];
}

if (process.argv[1]?.endsWith('planner.bench.js')) console.table(run());
