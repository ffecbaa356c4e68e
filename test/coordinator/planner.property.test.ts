/**
 * The planner under random event sequences (targets added, removed, growing, shrinking; shards dying and
 * coming back; time passing), with the sidecars simulated by feeding each output back as the next input:
 * every ready shard takes its assignment and reports one more successful scrape per assigned target; a
 * not-ready shard keeps its last view; new shards may start not ready; shards above desiredShards go.
 *
 * Properties: (a) no step puts a shard over budget by giving it something, and after settling no shard is
 * over budget; (b) every target is on exactly one shard, or on two during a transfer (one normal, one
 * in_transfer), or unplaced only when maxShards stops a scale-up; (c) bounds on the shard count (the issue's
 * ceil(total/maxSeries)+1 cannot hold, see planner.test.ts; these are the bounds best fit guarantees);
 * (d) a settled input moves nothing and returns itself; (e) determinism, independent of input order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  planAssignments, ShardTargets, type PlannerInput, type PlannerOptions, type PlannerOutput, type PlannerShard, type TargetState,
} from '../../src/coordinator/planner.js';

const BUDGET = 1000;
const STEP_MS = 15_000;

type Event =
  | { kind: 'add'; sizes: number[] }
  | { kind: 'remove'; pick: number }
  | { kind: 'resize'; pick: number; size: number }
  | { kind: 'die'; pick: number }
  | { kind: 'revive'; pick: number }
  | { kind: 'wait' };

interface Sim {
  nowMs: number;
  nextId: number;
  series: Map<string, number>;
  shards: PlannerShard[];
  options: PlannerOptions;
  /** Steps a new shard stays not ready. */
  newShardDelay: number;
  pendingReady: Map<number, number>;
}

function newSim(options: PlannerOptions, sizes: number[], shardCount: number, newShardDelay: number, chaos: Array<[number, number, boolean]>): Sim {
  const sim: Sim = { nowMs: 10_000_000, nextId: 0, series: new Map(), shards: [], options, newShardDelay, pendingReady: new Map() };
  for (const s of sizes) addTarget(sim, s);
  for (let id = 0; id < shardCount; id++) sim.shards.push({ id, ready: true, notReadySinceMs: null, targets: ShardTargets.EMPTY, idleSinceMs: sim.nowMs });
  // Leftovers of a crash: copies anywhere, in any state.
  const hashes = [...sim.series.keys()];
  for (const [t, s, inTransfer] of chaos) {
    if (hashes.length === 0 || shardCount === 0) break;
    const shard = sim.shards[s % shardCount]!;
    shard.targets = shard.targets.edited([[hashes[t % hashes.length]!, { state: inTransfer ? 'in_transfer' : 'normal', scrapes: t % 3 }]]);
    shard.idleSinceMs = null;
  }
  return sim;
}

function addTarget(sim: Sim, size: number): void {
  sim.series.set(`t${String(sim.nextId++).padStart(4, '0')}`, size);
}

function applyEvent(sim: Sim, e: Event): void {
  const hashes = [...sim.series.keys()].sort();
  switch (e.kind) {
    case 'add': for (const s of e.sizes) addTarget(sim, s); break;
    case 'remove': if (hashes.length) sim.series.delete(hashes[e.pick % hashes.length]!); break;
    case 'resize': if (hashes.length) sim.series.set(hashes[e.pick % hashes.length]!, e.size); break;
    case 'die': {
      const s = sim.shards[e.pick % Math.max(1, sim.shards.length)];
      if (s && s.ready) Object.assign(s, { ready: false, notReadySinceMs: sim.nowMs });
      break;
    }
    case 'revive': {
      const s = sim.shards[e.pick % Math.max(1, sim.shards.length)];
      if (s && !s.ready && !sim.pendingReady.has(s.id)) Object.assign(s, { ready: true, notReadySinceMs: null });
      break;
    }
    case 'wait': break;
  }
}

function inputOf(sim: Sim): PlannerInput {
  return {
    nowMs: sim.nowMs,
    targets: [...sim.series].map(([hash, series]) => ({ hash, series })),
    shards: sim.shards.map((s) => ({ ...s })), // views are read-only: shared
    options: sim.options,
  };
}

/** The sidecars and the shard manager act on the output. */
function applyOutput(sim: Sim, out: PlannerOutput): void {
  sim.nowMs += STEP_MS;
  for (const [id, left] of sim.pendingReady) {
    if (left <= 1) {
      sim.pendingReady.delete(id);
      const s = sim.shards[id];
      if (s) Object.assign(s, { ready: true, notReadySinceMs: null });
    } else sim.pendingReady.set(id, left - 1);
  }
  sim.shards = sim.shards.slice(0, out.desiredShards);
  for (const id of [...sim.pendingReady.keys()]) if (id >= out.desiredShards) sim.pendingReady.delete(id);
  for (let id = sim.shards.length; id < out.desiredShards; id++) {
    const ready = sim.newShardDelay === 0;
    sim.shards.push({ id, ready, notReadySinceMs: ready ? null : sim.nowMs - STEP_MS, targets: ShardTargets.EMPTY, idleSinceMs: null });
    if (!ready) sim.pendingReady.set(id, sim.newShardDelay);
  }
  for (const s of sim.shards) {
    if (!s.ready) continue;
    const next = ShardTargets.of([...(out.assignments[s.id]?.entries() ?? [])].map(([hash, state]) => [hash, { state, scrapes: (s.targets.get(hash)?.scrapes ?? 0) + 1 }] as const));
    s.targets = next;
    s.idleSinceMs = next.size === 0 ? (s.idleSinceMs ?? sim.nowMs - STEP_MS) : null;
  }
}

function shardLoads(out: PlannerOutput, series: Map<string, number>, state?: TargetState): number[] {
  return out.assignments.map((a) => [...a.entries()].reduce((sum, [h, st]) => (state && st !== state ? sum : sum + series.get(h)!), 0));
}

/** (b), (a) per step, (e): checked on every step. */
function checkStep(sim: Sim, inp: PlannerInput, out: PlannerOutput): void {
  const { maxSeries, minShards, maxShards } = inp.options;
  assert.equal(out.assignments.length, Math.max(inp.shards.length, out.desiredShards));
  assert.ok(out.desiredShards >= Math.min(minShards, maxShards) && out.desiredShards <= maxShards, 'rule 7');
  for (let s = out.desiredShards; s < out.assignments.length; s++) assert.equal(out.assignments[s]!.size, 0, `removed shard ${s} is empty`);
  // (b) copies
  const normal = new Map<string, number>();
  const transfer = new Map<string, number>();
  out.assignments.forEach((a, s) => {
    for (const [h, st] of a.entries()) {
      assert.ok(sim.series.has(h), `${h} is not discovered but assigned to ${s}`);
      const m = st === 'normal' ? normal : transfer;
      assert.ok(!m.has(h), `${h} twice as ${st}`);
      m.set(h, s);
    }
  });
  const unplaced = new Set(out.unplaced);
  for (const h of sim.series.keys()) {
    if (unplaced.has(h)) {
      assert.ok(!normal.has(h) && !transfer.has(h), `${h} unplaced but assigned`);
      continue;
    }
    assert.ok(normal.has(h), `${h} has no normal copy`);
    if (transfer.has(h)) assert.notEqual(transfer.get(h), normal.get(h));
  }
  // (a) per step: a shard over budget after the step received nothing in it (unless it holds one oversized target).
  const loads = shardLoads(out, sim.series);
  loads.forEach((load, s) => {
    if (load <= maxSeries) return;
    const keys = [...out.assignments[s]!.keys];
    if (keys.length === 1 && sim.series.get(keys[0]!)! > maxSeries) return;
    const before = inp.shards[s]?.targets ?? ShardTargets.EMPTY;
    for (const h of keys) assert.ok(before.has(h), `shard ${s} over budget (${load}) yet given ${h}`);
  });
  // (e) determinism, whatever the order of targets (a view's keys are in order by construction)
  const copy: PlannerInput = {
    ...inp,
    targets: inp.targets.map((t) => ({ ...t })),
    shards: inp.shards.map((s) => ({ ...s, targets: ShardTargets.of([...s.targets.entries()].map(([h, v]) => [h, { ...v }] as const)) })),
  };
  assert.deepEqual(planAssignments(copy), out);
  const permuted: PlannerInput = {
    ...inp,
    targets: inp.targets.slice().reverse(),
  };
  assert.equal(JSON.stringify(planAssignments(permuted)), JSON.stringify(out));
}

function step(sim: Sim): { inp: PlannerInput; out: PlannerOutput } {
  const inp = inputOf(sim);
  const out = planAssignments(inp);
  checkStep(sim, inp, out);
  applyOutput(sim, out);
  return { inp, out };
}

function unchanged(inp: PlannerInput, out: PlannerOutput): boolean {
  if (out.desiredShards !== inp.shards.length || out.moves.length || out.completed.length || out.reassigned.length) return false;
  if (out.assignments.some((a) => [...a.entries()].some(([, st]) => st === 'in_transfer'))) return false; // a transfer still waits for scrapes
  return inp.shards.every((s, i) => {
    const want = Object.fromEntries([...s.targets.entries()].map(([h, v]) => [h, v.state]));
    return JSON.stringify(Object.entries(want).sort()) === JSON.stringify([...out.assignments[i]!.entries()].sort());
  });
}

/** Every shard back, then steps until the plan returns its input for longer than any timer; (d) at the end. */
function settle(sim: Sim): { inp: PlannerInput; out: PlannerOutput } {
  for (const s of sim.shards) if (!s.ready) Object.assign(s, { ready: true, notReadySinceMs: null });
  sim.pendingReady.clear();
  const quietSteps = Math.ceil((sim.options.maxIdleTimeMs + sim.options.notReadyGraceMs) / STEP_MS) + 2;
  let quiet = 0;
  for (let i = 0; i < 400; i++) {
    const r = step(sim);
    quiet = unchanged(r.inp, r.out) ? quiet + 1 : 0;
    if (quiet >= quietSteps) {
      // (d): the same input again gives the same output, equal to the input, moving nothing.
      assert.deepEqual(planAssignments(r.inp), r.out);
      assert.deepEqual([r.out.moves, r.out.reassigned, r.out.completed], [[], [], []]);
      return r;
    }
  }
  assert.fail('did not settle in 400 steps');
}

/** fc.assert, with the failing assertion's message in the error (node's reporter does not print `cause`). */
function check<T>(property: fc.IProperty<T>, params: fc.Parameters<T>): void {
  try {
    fc.assert(property, params);
  } catch (e) {
    const cause = (e as Error).cause;
    throw new Error(`${(e as Error).message}\nCause: ${cause instanceof Error ? cause.stack : String(cause)}`);
  }
}

const eventArb = (maxSize: number): fc.Arbitrary<Event> => fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('add' as const), sizes: fc.array(fc.integer({ min: 1, max: maxSize }), { minLength: 1, maxLength: 6 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('resize' as const), pick: fc.nat(), size: fc.integer({ min: 1, max: maxSize }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('die' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('revive' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'wait' as const }) },
);

const optionsArb = fc.record({
  maxSeries: fc.constant(BUDGET),
  minShards: fc.integer({ min: 0, max: 2 }),
  maxShards: fc.constant(1000),
  maxIdleTimeMs: fc.constantFrom(0, 45_000),
  notReadyGraceMs: fc.constantFrom(0, 30_000, 60_000),
  transferMinScrapes: fc.integer({ min: 0, max: 3 }),
  hysteresis: fc.constantFrom(0, 0.1, 0.25),
});

const scenarioArb = (maxSize: number) => fc.record({
  options: optionsArb,
  sizes: fc.array(fc.integer({ min: 1, max: maxSize }), { maxLength: 30 }),
  shardCount: fc.integer({ min: 0, max: 4 }),
  newShardDelay: fc.integer({ min: 0, max: 2 }),
  chaos: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { maxLength: 20 }),
  events: fc.array(eventArb(maxSize), { maxLength: 40 }),
});

type Scenario = ReturnType<typeof scenarioArb> extends fc.Arbitrary<infer T> ? T : never;

/** Starts the simulation, applies the scenario's events one planner step each, then settles it. */
function runScenario(sc: Scenario, options: PlannerOptions): { sim: Sim; out: PlannerOutput } {
  const sim = newSim(options, sc.sizes, sc.shardCount, sc.newShardDelay, sc.chaos);
  step(sim);
  for (const e of sc.events) {
    applyEvent(sim, e);
    step(sim);
  }
  return { sim, out: settle(sim).out };
}

test('property (a, b, d, e): random events, every step checked, then settled within budget and stable', () => {
  check(fc.property(scenarioArb(BUDGET), (sc) => {
    const { sim, out } = runScenario(sc, sc.options);
    // (a) settled: every target fits the budget, so no shard exceeds it; no transfer is left.
    for (const [s, load] of shardLoads(out, sim.series).entries()) assert.ok(load <= BUDGET, `shard ${s} at ${load}`);
    assert.equal(out.assignments.flatMap((a) => [...a.entries()].map(([, st]) => st)).filter((st) => st === 'in_transfer').length, 0);
    assert.deepEqual(out.unplaced, []);
  }), { numRuns: 300 });
});

test('property (c): targets up to half the budget, settled with scale-down on: shards <= max(minShards, ceil(total / (maxSeries*(1/2 - hysteresis))))', () => {
  check(fc.property(scenarioArb(BUDGET / 2), (sc) => {
    const options = { ...sc.options, maxIdleTimeMs: 45_000, hysteresis: Math.min(sc.options.hysteresis, 0.25) };
    const { sim, out } = runScenario(sc, options);
    const total = [...sim.series.values()].reduce((a, b) => a + b, 0);
    const bound = Math.max(options.minShards, Math.ceil(total / (BUDGET * (0.5 - options.hysteresis))));
    assert.ok(out.desiredShards <= bound, `${out.desiredShards} shards for ${total} series (bound ${bound})`);
  }), { numRuns: 200 });
});

test('property (c): targets up to half the budget arriving over time: at most one shard half empty, so shards <= max(1, ceil(2*total/maxSeries))', () => {
  const arrivals = fc.array(fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('add' as const), sizes: fc.array(fc.integer({ min: 1, max: BUDGET / 2 }), { minLength: 1, maxLength: 8 }) }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'wait' as const }) },
  ), { maxLength: 40 });
  check(fc.property(arrivals, fc.constantFrom(0, 45_000), fc.constantFrom(0, 0.1), (events, maxIdleTimeMs, hysteresis) => {
    const options: PlannerOptions = { maxSeries: BUDGET, minShards: 1, maxShards: 1000, maxIdleTimeMs, notReadyGraceMs: 60_000, transferMinScrapes: 2, hysteresis };
    const sim = newSim(options, [], 1, 0, []);
    for (const e of events) {
      applyEvent(sim, e);
      const { out } = step(sim);
      const total = [...sim.series.values()].reduce((a, b) => a + b, 0);
      const normalLoads = shardLoads(out, sim.series, 'normal').slice(0, out.desiredShards);
      assert.ok(normalLoads.filter((l) => l <= BUDGET / 2).length <= 1, `loads ${normalLoads}`);
      assert.ok(out.desiredShards <= Math.max(1, Math.ceil((2 * total) / BUDGET)), `${out.desiredShards} shards for ${total}`);
    }
  }), { numRuns: 300 });
});

test('property: oversized targets (up to twice the budget) are scraped, each alone on its shard once settled', () => {
  check(fc.property(scenarioArb(2 * BUDGET), (sc) => {
    const { sim, out } = runScenario(sc, sc.options);
    const oversized = [...sim.series].filter(([, s]) => s > BUDGET).map(([h]) => h).sort();
    assert.deepEqual(out.oversized, oversized);
    for (const [s, load] of shardLoads(out, sim.series).entries()) {
      const keys = [...out.assignments[s]!.keys];
      if (load > BUDGET) assert.ok(keys.length === 1 && oversized.includes(keys[0]!), `shard ${s} at ${load} with ${keys}`);
    }
  }), { numRuns: 200 });
});

test('property: with a small maxShards every target is placed once or listed unplaced, and no placement exceeds the budget', () => {
  check(fc.property(scenarioArb(BUDGET), fc.integer({ min: 1, max: 3 }), (sc, maxShards) => {
    const options = { ...sc.options, maxShards, minShards: Math.min(sc.options.minShards, maxShards) };
    const sim = newSim(options, sc.sizes, Math.min(sc.shardCount, maxShards), sc.newShardDelay, sc.chaos);
    step(sim);
    for (const e of sc.events) {
      applyEvent(sim, e);
      const { out } = step(sim);
      assert.ok(out.desiredShards <= maxShards);
    }
  }), { numRuns: 200 });
});
