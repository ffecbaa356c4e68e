/**
 * A coordinator cycle's cost at 100k and 1M pod targets (issue 16): how much of it follows change. Pod-shaped
 * groups and the 10-rule pipeline of targets.bench.ts, one group per pod, held by a fake discovery that versions
 * each job as DiscoveryManager does. Measured, beside the coordinator's behaviour before population.ts ("today":
 * jobTargets over every group of every job, every cycle):
 *   (a) first full population (discovery groups → populated targets), time and targets/s;
 *   (b) a cycle with nothing changed: full re-population vs the incremental one;
 *   (c) a cycle with 1% of groups changed (a third gone, a third new, a third with new content);
 *   (d) heap after GC per target: the discovered groups, today's populated result, the incremental cache;
 *   and the planner, full (planAssignments) and incremental (IncrementalPlanner), with nothing changed and with
 *   1% of targets changed (100k targets / 100 shards, 1M / 1000 shards).
 * Sizes: KVASS_SCALE="100000,1000000" (the default); parts: KVASS_PARTS="population,planner" (the default). 1M needs about 6 GB of heap: run node with
 * --max-old-space-size=8192 --expose-gc (without gc the memory rows say so).
 */
import { parseConfig, type ScrapeConfig } from '../src/config/config.js';
import { compactGroup, type TargetGroup } from '../src/discovery/types.js';
import { GroupChangeLog, type GroupChanges } from '../src/discovery/change-log.js';
import { Population, type GroupSource, type PopulationResult } from '../src/coordinator/population.js';
import { planAssignments, ShardTargets, type PlannerInput, type PlannerOutput } from '../src/coordinator/planner.js';
import { IncrementalPlanner } from '../src/coordinator/planner-incremental.js';
import { jobDefaults, jobTargets, type DroppedTarget, type Target } from '../src/target/populate.js';
import { makeGroups, PIPELINE } from './targets.bench.js';
import { emptyShard, plannerWorkload, shardsAfter } from './planner.bench.js';

type Row = Record<string, string | number>;

/** One job's groups by source, compact as the Kubernetes discoverer emits them, versioned and with their changes logged as DiscoveryManager does (bumped on every change). */
export class BenchSource implements GroupSource {
  readonly bySource = new Map<string, TargetGroup>();
  private v = 1;
  private readonly log = new GroupChangeLog();
  constructor(readonly job: string) {}
  changesSince(job: string, version: number): GroupChanges | undefined {
    const changes = job === this.job ? this.log.since(version) : undefined;
    return changes && { changes, group: (source) => this.bySource.get(source) };
  }
  groups(job: string): TargetGroup[] {
    if (job !== this.job) return [];
    // As DiscoveryManager.groups: an array of the right length, filled (growing one by push cost more).
    const out = new Array<TargetGroup>(this.bySource.size);
    let k = 0;
    for (const g of this.bySource.values()) out[k++] = g;
    return out;
  }
  version(): number {
    return this.v;
  }
  emit(g: TargetGroup): void {
    if (g.targets.length === 0) this.bySource.delete(g.source);
    else this.bySource.set(g.source, compactGroup(g));
    this.log.record(++this.v, [g]);
  }
}

/** The coordinator's collectTargets before population.ts. */
function today(scs: ScrapeConfig[], src: GroupSource): PopulationResult {
  const targets = new Map<string, Target>();
  const dropped: DroppedTarget[] = [];
  for (const sc of scs) {
    const res = jobTargets(src.groups(sc.jobName), jobDefaults(sc));
    // No problems kept, as then: sizing checked the labels itself.
    for (const t of res.active) if (!targets.has(t.hash)) targets.set(t.hash, t);
    for (const d of res.dropped) dropped.push(d);
  }
  return { targets, problems: new Map(), dropped };
}

function heap(): number {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

function ms(t0: number): number {
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

function populationScenario(n: number): Row[] {
  const rows: Row[] = [];
  const scs = parseConfig(PIPELINE, 'bench.yml', '/tmp').scrapeConfigs;
  const job = scs[0]!.jobName;
  const src = new BenchSource(job);
  const h00 = heap();
  for (let from = 0; from < n; from += 50_000) for (const g of makeGroups(from, Math.min(50_000, n - from))) src.emit(g);
  const h0 = heap();
  const gcNote = globalThis.gc ? '' : ' (no --expose-gc: rough)';
  const label = n.toLocaleString('en');

  // (a) first full population, on groups never relabeled before (cold relabel caches, as at start).
  let pop: Population | null = new Population();
  let t0 = performance.now();
  let res = pop.update(scs, src);
  const first = ms(t0);
  const active = res.targets.size;
  rows.push({ bench: `${label}: (a) first full population (incremental's first pass)`, ms: Math.round(first), 'targets/s': Math.round(n / (first / 1000)), active, dropped: res.dropped.length });
  const h1 = heap();

  // (b) nothing changed: incremental (median of 9), then today's full re-population (warm, as every cycle).
  const inc: number[] = [];
  for (let i = 0; i < 9; i++) {
    t0 = performance.now();
    res = pop.update(scs, src);
    inc.push(ms(t0));
  }
  rows.push({ bench: `${label}: (b) nothing changed, incremental`, ms: r2(median(inc)), relabeled: pop.stats.groupsRelabeled });
  const runsToday = n >= 1_000_000 ? 1 : 3;
  const full: number[] = [];
  let kept: PopulationResult | null = null;
  for (let i = 0; i < runsToday; i++) {
    kept = null;
    t0 = performance.now();
    kept = today(scs, src);
    full.push(ms(t0));
  }
  rows.push({ bench: `${label}: (b) nothing changed, today (full re-population)`, ms: Math.round(median(full)), 'targets/s': Math.round(n / (median(full) / 1000)) });
  const h2 = heap();
  if (kept!.targets.size !== active) throw new Error('today and incremental disagree on the target count');
  kept = null;

  // (c) 1% of groups changed: a third gone, a third new, a third with new content (another pod phase and node).
  const changes = Math.max(3, Math.round(n / 100));
  const apply = (round: number) => {
    for (let k = 0; k < changes / 3; k++) {
      const i = (k * 300 + round * 7) % n;
      src.emit({ source: `pod/${i}`, targets: [], labels: {} });
      const [added] = makeGroups(n + round * changes + k, 1);
      src.emit(added!);
      const j = (i + 100) % n;
      const old = src.bySource.get(`pod/${j}`);
      if (old) src.emit({ source: old.source, targets: old.targets, labels: { ...old.labels, __meta_kubernetes_pod_node_name: `node-moved-${round}` } });
    }
  };
  const incC: number[] = [];
  let relabeled = 0;
  for (let round = 1; round <= 5; round++) {
    apply(round);
    t0 = performance.now();
    res = pop.update(scs, src);
    incC.push(ms(t0));
    relabeled = pop.stats.groupsRelabeled;
  }
  rows.push({ bench: `${label}: (c) 1% of groups changed, incremental`, ms: r2(median(incC)), relabeled });
  apply(6);
  t0 = performance.now();
  let check: PopulationResult | null = today(scs, src);
  const fullC = ms(t0);
  res = pop.update(scs, src);
  if (check.targets.size !== res.targets.size || check.dropped.length !== res.dropped.length) throw new Error('today and incremental disagree after changes');
  rows.push({ bench: `${label}: (c) 1% of groups changed, today (full re-population)`, ms: Math.round(fullC) });

  // (d) heap after GC per target. What is left without the population is relabeling's per-group-labels cache
  // (relabel.ts, a WeakMap on the groups' label objects): held today as well, as long as the groups live.
  check = null;
  pop = null;
  res = null as unknown as PopulationResult;
  const h3 = heap();
  const per = (bytes: number): number => Math.round(bytes / n);
  rows.push({ bench: `${label}: (d) heap/target, discovered groups${gcNote}`, bytes: per(h0 - h00) });
  rows.push({ bench: `${label}: (d) heap/target, relabel caches on group labels (today too)${gcNote}`, bytes: per(h3 - h0) });
  rows.push({ bench: `${label}: (d) heap/target, today's populated result (one cycle's)${gcNote}`, bytes: per(h2 - h1) });
  rows.push({ bench: `${label}: (d) heap/target, incremental population (cache + result)${gcNote}`, bytes: per(h1 - h3) });
  rows.push({ bench: `${label}: (d) heap/target, all held: today / incremental${gcNote}`, bytes: `${per(h0 - h00 + h3 - h0 + h2 - h1)} / ${per(h1 - h00)}` });
  return rows;
}

/**
 * The planner as the coordinator calls it every cycle, as in planner.bench.ts (sizes 100–1900 series, shards
 * ~85% full): planAssignments (the full plan) beside IncrementalPlanner, (1) with nothing changed (the same
 * target list and shard records, a later nowMs; then the same content in new objects, as a coordinator that
 * rebuilds its input every cycle passes it; and its first plans: placing every target from empty shards, and from the
 * shards holding them, as after a restart), (2) with 1% of targets gone, 1% new and 1% grown by half (a new
 * target list; the incremental planner alternates between the two lists, so every timed call is such a
 * change). Each incremental output is checked against the full plan's. Medians; a GC before each sample.
 */
function plannerScenario(targetCount: number, shardCount: number): Row[] {
  const { targets, nowMs, options, changed: changedList } = plannerWorkload(targetCount, shardCount);
  const empty = Array.from({ length: shardCount }, (_, id) => emptyShard(id, nowMs));
  let t0 = performance.now();
  const first: PlannerOutput = planAssignments({ nowMs, targets, shards: empty, options });
  const firstMs = ms(t0);
  const steady: PlannerInput = { nowMs, targets, shards: shardsAfter(first, nowMs), options };
  const changed: PlannerInput = { ...steady, targets: changedList() };
  const big = targetCount >= 1_000_000;
  const label = `${targetCount.toLocaleString('en')} targets / ${shardCount} shards`;
  const timed = (runs: number, f: (r: number) => unknown): number => {
    const samples: number[] = [];
    for (let r = 0; r < runs; r++) {
      globalThis.gc?.(); // the garbage of earlier samples is not charged to this one
      t0 = performance.now();
      f(r);
      samples.push(ms(t0));
    }
    return median(samples);
  };

  const same = (a: PlannerOutput, b: PlannerOutput, what: string) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`incremental and full plans differ: ${what}`);
  };
  // The incremental planner placing every target at once (a coordinator's first plan), checked against the full one;
  // in a function of its own, so that its state is let go before the timings below.
  const incPlacing = ((): number => {
    const placing = new IncrementalPlanner();
    const start = performance.now();
    const placed = placing.plan({ nowMs, targets, shards: empty, options });
    const took = ms(start);
    same(placed, first, 'first placement');
    return took;
  })();
  planAssignments(steady);
  const fullSteady = timed(big ? 3 : 7, () => planAssignments(steady));
  const fullChanged = timed(big ? 3 : 7, () => planAssignments(changed));
  const planner = new IncrementalPlanner();
  t0 = performance.now();
  same(planner.plan(steady), planAssignments(steady), 'first plan');
  const incFirst = ms(t0);
  const incSteady = timed(9, (r) => planner.plan({ ...steady, nowMs: nowMs + 1 + r }));
  same(planner.plan({ ...steady, nowMs: nowMs + 10 }), planAssignments(steady), 'nothing changed');
  const rebuilt = (): PlannerInput => ({ ...steady, targets: targets.map((t) => ({ ...t })), shards: steady.shards.map((sh) => ({ ...sh, targets: ShardTargets.of(sh.targets.entries()) })) });
  const fresh = Array.from({ length: 3 }, rebuilt);
  const incFresh = timed(3, (r) => planner.plan(fresh[r]!));
  const incChanged = timed(big ? 6 : 10, (r) => planner.plan(r % 2 === 0 ? changed : steady));
  same(planner.plan(changed), planAssignments(changed), '1% changed');
  const row = (what: string, full: number | string, incremental: number, extra: Row = {}): Row => ({ bench: `planner, ${label}: ${what}`, 'full ms': typeof full === 'number' ? r2(full) : full, 'incremental ms': r2(incremental), ...extra });
  return [
    row('nothing changed (same objects, later nowMs)', fullSteady, incSteady, { 'first plan ms': Math.round(firstMs), 'incremental first ms': Math.round(incFirst), 'incremental placement ms': Math.round(incPlacing) }),
    row('nothing changed, input rebuilt as new objects', fullSteady, incFresh),
    row('1% gone, 1% new, 1% grown x1.5', fullChanged, incChanged, { moves: planAssignments(changed).moves.length }),
  ];
}

export function run(): Row[] {
  const sizes = (process.env.KVASS_SCALE ?? '100000,1000000').split(',').map(Number).filter((x) => x > 0);
  const rows: Row[] = [];
  const parts = (process.env.KVASS_PARTS ?? 'population,planner').split(',');
  if (parts.includes('population')) populationScenario(20_000); // warm-up (JIT)
  for (const n of sizes) {
    if (parts.includes('population')) rows.push(...populationScenario(n));
    if (parts.includes('planner')) rows.push(...plannerScenario(n, Math.max(1, Math.round(n / 1000))));
  }
  return rows;
}
