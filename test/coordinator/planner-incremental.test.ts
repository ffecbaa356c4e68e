/**
 * IncrementalPlanner against the reference planAssignments: random sequences of changes, and at every step the
 * incremental output must be the full plan's, down to the order of every list and of every record's keys
 * (compared as JSON). The simulated sidecars apply the output (or lag a step), count scrapes (or not, so that
 * records repeat), and the input reuses the previous array and record objects for what did not change, as the
 * change-detection contract allows; changes make new objects. In half the runs the target list is changed in
 * place and its changes told, as sizing.ts does (a new array when a hash is listed twice or the order is turned
 * round). Events: targets new, gone, grown, shrunk,
 * listed twice, not integers (the full-plan fallback), not valid numbers, listed in another order; shards dying (with or without a known time), coming
 * back, new shards starting not ready; stray copies (leftover duplicates, undiscovered keys, lone in_transfer
 * copies); time passing across the grace and idle thresholds; option changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { planAssignments, ShardTargets, type PlannerInput, type PlannerOptions, type PlannerOutput, type PlannerShard, type PlannerTarget, type ShardTargetView } from '../../src/coordinator/planner.js';
import { IncrementalPlanner } from '../../src/coordinator/planner-incremental.js';
import { AssignmentRecords } from '../../src/coordinator/planner-incremental-output.js';

const GRACE = 60_000;
const IDLE = 120_000;

type Event =
  | { kind: 'add'; sizes: number[] }
  | { kind: 'remove'; pick: number }
  | { kind: 'resize'; pick: number; size: number }
  | { kind: 'duplicate'; pick: number; size: number }
  | { kind: 'fraction'; pick: number }
  | { kind: 'reorder' }
  | { kind: 'die'; pick: number; unknownSince: boolean }
  | { kind: 'revive'; pick: number }
  | { kind: 'stray'; pick: number; shards: number[]; inTransfer: boolean; scrapes: number; undiscovered: boolean }
  | { kind: 'options'; change: Partial<PlannerOptions> };

interface SimShard {
  ready: boolean;
  notReadySinceMs: number | null;
  idleSinceMs: number | null;
  targets: PlannerShard['targets'];
  startsIn: number;
}

interface Sim {
  nowMs: number;
  nextId: number;
  series: Map<string, number>;
  duplicates: Map<string, number>;
  targetsArray: PlannerTarget[] | null;
  /** Runs in which the target list is changed in place and its changes told, as sizing.ts does. */
  inPlace: boolean;
  /** That list and each hash's position in it; null: make a new one (told whole). */
  place: { list: PlannerTarget[]; at: Map<string, number> } | null;
  shards: SimShard[];
  shardObjects: PlannerShard[];
  options: PlannerOptions;
  newShardDelay: number;
}

const sizeArb = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 400 }) },
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 1300 }) },
  { weight: 1, arbitrary: fc.constantFrom(-5, Number.NaN, Infinity) },
);
const eventArb: fc.Arbitrary<Event> = fc.oneof(
  { weight: 9, arbitrary: fc.record({ kind: fc.constant('add' as const), sizes: fc.array(sizeArb, { minLength: 1, maxLength: 6 }) }) },
  { weight: 9, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 9, arbitrary: fc.record({ kind: fc.constant('resize' as const), pick: fc.nat(), size: sizeArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), pick: fc.nat(), size: sizeArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('fraction' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reorder' as const) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('die' as const), pick: fc.nat(), unknownSince: fc.boolean() }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('revive' as const), pick: fc.nat() }) },
  { weight: 8, arbitrary: fc.record({
    kind: fc.constant('stray' as const), pick: fc.nat(), shards: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
    inTransfer: fc.boolean(), scrapes: fc.nat({ max: 3 }), undiscovered: fc.boolean(),
  }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('options' as const), change: fc.oneof(
    fc.record({ maxSeries: fc.integer({ min: 600, max: 1500 }) }),
    fc.record({ maxShards: fc.integer({ min: 1, max: 10 }) }),
    fc.record({ minShards: fc.integer({ min: 0, max: 4 }) }),
    fc.record({ hysteresis: fc.constantFrom(0, 0.1, 0.25) }),
    fc.record({ transferMinScrapes: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ maxIdleTimeMs: fc.constantFrom(0, IDLE) }),
  ) }) },
);
const stepArb = fc.record({
  events: fc.array(eventArb, { maxLength: 3 }),
  waitMs: fc.constantFrom(0, 1_000, 15_000, GRACE - 1, GRACE, IDLE, GRACE + IDLE),
  apply: fc.integer({ min: 0, max: 5 }),
  scrape: fc.boolean(),
});

function pickShard(sim: Sim, pick: number): SimShard | undefined {
  return sim.shards[pick % Math.max(1, sim.shards.length)];
}

function applyEvent(sim: Sim, e: Event): void {
  const hashes = [...sim.series.keys()].sort();
  const picked = hashes.length ? hashes[('pick' in e ? e.pick : 0) % hashes.length] : undefined;
  switch (e.kind) {
    case 'add':
      for (const s of e.sizes) sim.series.set(`t${String(sim.nextId++).padStart(4, '0')}`, s);
      break;
    case 'remove':
      if (picked) sim.series.delete(picked);
      break;
    case 'resize':
      if (picked) sim.series.set(picked, e.size);
      break;
    case 'duplicate':
      if (picked) sim.duplicates.set(picked, e.size);
      break;
    case 'reorder':
      sim.series = new Map([...sim.series].reverse());
      sim.place = null;
      break;
    case 'fraction':
      if (picked) sim.series.set(picked, (sim.series.get(picked) ?? 0) + 0.5);
      break;
    case 'die': {
      const s = pickShard(sim, e.pick);
      if (s && s.ready) Object.assign(s, { ready: false, notReadySinceMs: e.unknownSince ? null : sim.nowMs });
      break;
    }
    case 'revive': {
      const s = pickShard(sim, e.pick);
      if (s && !s.ready) Object.assign(s, { ready: true, notReadySinceMs: null, startsIn: 0 });
      break;
    }
    case 'stray': {
      const hash = e.undiscovered || !picked ? `gone${e.pick % 5}` : picked;
      for (const [k, pick] of e.shards.entries()) {
        const s = pickShard(sim, pick);
        const state = e.inTransfer && k === 0 ? 'in_transfer' : 'normal';
        if (s) s.targets = s.targets.edited([[hash, { state, scrapes: e.scrapes }]]);
      }
      break;
    }
    case 'options':
      sim.options = { ...sim.options, ...e.change };
      return;
  }
  if (e.kind !== 'die' && e.kind !== 'revive' && e.kind !== 'stray') sim.targetsArray = null;
}

/** The planner's input; unchanged parts are the previous objects. */
function inputOf(sim: Sim): PlannerInput {
  const listedTwice = [...sim.duplicates.keys()].some((h) => sim.series.has(h));
  if (sim.inPlace && !listedTwice) {
    const shards = shardsOf(sim);
    if (sim.place) {
      const targetChanges = changeInPlace(sim.place, sim.series);
      return { nowMs: sim.nowMs, targets: sim.place.list, shards, options: sim.options, targetChanges };
    }
    const list = [...sim.series].map(([hash, series]) => ({ hash, series }));
    sim.place = { list, at: new Map(list.map((t, k) => [t.hash, k])) };
    return { nowMs: sim.nowMs, targets: list, shards, options: sim.options };
  }
  sim.place = null;
  if (!sim.targetsArray) {
    sim.targetsArray = [...sim.series].map(([hash, series]) => ({ hash, series }));
    for (const [hash, series] of sim.duplicates) if (sim.series.has(hash)) sim.targetsArray.push({ hash, series });
  }
  return { nowMs: sim.nowMs, targets: sim.targetsArray, shards: shardsOf(sim), options: sim.options };
}

/** The list changed in place to hold `series` (a removed entry's place taken by the last one), and its changes. */
function changeInPlace(place: { list: PlannerTarget[]; at: Map<string, number> }, series: ReadonlyMap<string, number>): NonNullable<PlannerInput['targetChanges']> {
  const { list, at } = place;
  const hashes = new Set<string>();
  for (const [hash, size] of series) {
    const k = at.get(hash);
    if (k === undefined) {
      at.set(hash, list.length);
      list.push({ hash, series: size });
    } else if (!Object.is(list[k]!.series, size)) list[k] = { hash, series: size };
    else continue;
    hashes.add(hash);
  }
  for (const hash of [...at.keys()]) {
    if (series.has(hash)) continue;
    const k = at.get(hash)!;
    at.delete(hash);
    const last = list.pop()!;
    if (k < list.length) {
      list[k] = last;
      at.set(last.hash, k);
    }
    hashes.add(hash);
  }
  return { hashes, entry: (h) => { const k = at.get(h); return k === undefined ? undefined : list[k]; } };
}

function shardsOf(sim: Sim): PlannerShard[] {
  sim.shardObjects = sim.shards.map((s, id) => {
    const before = sim.shardObjects[id];
    const same = before && before.ready === s.ready && before.notReadySinceMs === s.notReadySinceMs
      && before.idleSinceMs === s.idleSinceMs && before.targets === s.targets;
    if (same) return before;
    const shard: PlannerShard = { id, ready: s.ready, notReadySinceMs: s.notReadySinceMs, targets: s.targets, idleSinceMs: s.idleSinceMs };
    // Every other shard says where its record changed (PlannerShard.changedFrom), as the coordinator does.
    if (before && before.targets !== s.targets && id % 2 === 0) {
      const keys = [...new Set([...before.targets.hashes, ...s.targets.hashes])].filter((h) => !sameEntry(before.targets.get(h), s.targets.get(h)));
      shard.changedFrom = { from: before.targets, keys };
    }
    return shard;
  });
  return sim.shardObjects;
}

function sameEntry(a: ShardTargetView | undefined, b: ShardTargetView | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.state === b.state && a.scrapes === b.scrapes);
}

function sameRecord(a: PlannerShard['targets'], b: PlannerShard['targets']): boolean {
  return a.size === b.size && a.hashes.every((h, i) => b.hashes[i] === h && sameEntry(a.viewAt(i), b.viewAt(i)));
}

/** Sidecars and the shard manager act on the output (`apply` 0: nobody does this step; 1: only every other shard). */
function applyOutput(sim: Sim, out: PlannerOutput, apply: number, scrape: boolean): void {
  if (apply === 0) return;
  sim.shards = sim.shards.slice(0, Math.max(out.desiredShards, 0));
  for (let id = sim.shards.length; id < out.desiredShards; id++) {
    const ready = sim.newShardDelay === 0;
    sim.shards.push({ ready, notReadySinceMs: ready ? null : sim.nowMs, idleSinceMs: null, targets: ShardTargets.EMPTY, startsIn: sim.newShardDelay });
  }
  sim.shards.forEach((s, id) => {
    if (!s.ready && s.startsIn > 0 && --s.startsIn === 0) Object.assign(s, { ready: true, notReadySinceMs: null });
    if (!s.ready || (apply === 1 && id % 2 === 1)) return;
    const next = ShardTargets.of([...(out.assignments[id]?.entries() ?? [])].map(([hash, state]) => {
      const prior = s.targets.get(hash);
      return [hash, { state, scrapes: (prior?.state === state ? prior.scrapes : 0) + (scrape ? 1 : 0) }] as const;
    }));
    if (!sameRecord(next, s.targets)) s.targets = next;
    s.idleSinceMs = s.targets.size === 0 ? (s.idleSinceMs ?? sim.nowMs) : null;
  });
}

/** Per target, the shards whose record gained or lost it, by comparing two record lists. */
function compareRecords(prev: PlannerOutput['assignments'], next: PlannerOutput['assignments']): Map<string, { added: number[]; removed: number[] }> {
  const out = new Map<string, { added: number[]; removed: number[] }>();
  const entry = (h: string) => out.get(h) ?? out.set(h, { added: [], removed: [] }).get(h)!;
  for (let i = 0; i < Math.max(prev.length, next.length); i++) {
    const a = prev[i]?.toObject() ?? {};
    const b = next[i]?.toObject() ?? {};
    for (const h of Object.keys(b)) if (!Object.hasOwn(a, h)) entry(h).added.push(i);
    for (const h of Object.keys(a)) if (!Object.hasOwn(b, h)) entry(h).removed.push(i);
  }
  return out;
}

function sortedChanges(m: ReadonlyMap<string, { added: readonly number[]; removed: readonly number[] }>): Array<[string, number[], number[]]> {
  return [...m].map(([h, c]): [string, number[], number[]] => [h, [...c.added].sort(), [...c.removed].sort()]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

test('IncrementalPlanner equals planAssignments at every step of random change sequences, and reports its record changes', () => {
  const calls = { reused: 0, incremental: 0, full: 0, listByChanges: 0 };
  const reliefOrders = { read: 0, lost: 0 };
  let changesTold = 0;
  fc.assert(
    fc.property(
      fc.array(sizeArb, { maxLength: 30 }),
      fc.integer({ min: 0, max: 5 }),
      fc.integer({ min: 0, max: 2 }),
      fc.array(stepArb, { minLength: 1, maxLength: 25 }),
      fc.boolean(),
      (sizes, shardCount, newShardDelay, steps, inPlace) => {
        const options: PlannerOptions = {
          maxSeries: 1000, minShards: 1, maxShards: 8, maxIdleTimeMs: IDLE, notReadyGraceMs: GRACE, transferMinScrapes: 2, hysteresis: 0.1,
        };
        const sim: Sim = {
          nowMs: 50_000_000, nextId: 0, series: new Map(), duplicates: new Map(), targetsArray: null, inPlace, place: null, shards: [], shardObjects: [], options, newShardDelay,
        };
        for (const s of sizes) sim.series.set(`t${String(sim.nextId++).padStart(4, '0')}`, s);
        for (let id = 0; id < shardCount; id++) sim.shards.push({ ready: true, notReadySinceMs: null, idleSinceMs: sim.nowMs, targets: ShardTargets.EMPTY, startsIn: 0 });
        const planner = new IncrementalPlanner();
        let previous: PlannerOutput['assignments'] = [];
        for (const [k, step] of steps.entries()) {
          for (const e of step.events) applyEvent(sim, e);
          const input = inputOf(sim);
          const full = planAssignments(input);
          const inc = planner.plan(input);
          assert.equal(JSON.stringify(inc), JSON.stringify(full), `step ${k}`);
          // The record changes the planner reports are the ones a comparison of the records finds.
          const told = planner.changesSince(previous);
          if (told) {
            changesTold++;
            assert.deepEqual(sortedChanges(told.byTarget), sortedChanges(compareRecords(previous, inc.assignments)), `changes at step ${k}`);
            // Per shard: the previous record with the removals, then the set, applied is the new record.
            inc.assignments.forEach((rec, s) => {
              const c = told.byShard.get(s);
              if (!c) return assert.ok(rec === previous[s] || (rec.size === 0 && (previous[s]?.size ?? 0) === 0), `shard ${s} unchanged at step ${k}`);
              const applied: Record<string, string> = previous[s]?.toObject() ?? {};
              for (const h of c.removed) delete applied[h];
              for (const [h, state] of c.set) applied[h] = state;
              assert.deepEqual(applied, rec.toObject(), `shard ${s}'s change at step ${k}`);
            });
          }
          previous = inc.assignments;
          applyOutput(sim, full, step.apply, step.scrape);
          sim.nowMs += step.waitMs;
        }
        for (const k of ['reused', 'incremental', 'full', 'listByChanges'] as const) calls[k] += planner.stats[k];
        reliefOrders.read += planner.stats.reliefOrders.read;
        reliefOrders.lost += planner.stats.reliefOrders.lost;
      },
    ),
    { numRuns: 4000 },
  );
  // Most calls must take the incremental paths (not the fallback), or the comparison proves little.
  assert.ok(calls.incremental + calls.reused > 1.5 * calls.full, JSON.stringify(calls));
  assert.ok(calls.reused > 100, JSON.stringify(calls));
  assert.ok(calls.listByChanges > 3000, `the list read by its changes in ${calls.listByChanges} calls`);
  assert.ok(changesTold > 10_000, `record changes reported in ${changesTold} calls`);
  // Relief read shards from the orders the planner keeps (relief-order.ts), which followed every change.
  assert.ok(reliefOrders.read > 1000, `shards relieved from a kept order: ${reliefOrders.read}`);
  assert.equal(reliefOrders.lost, 0, 'kept orders forgotten because a change was not told');
});

test('an unchanged input returns the previous output, until a grace or idle threshold is crossed', () => {
  const options: PlannerOptions = {
    maxSeries: 1000, minShards: 1, maxShards: 8, maxIdleTimeMs: IDLE, notReadyGraceMs: GRACE, transferMinScrapes: 2, hysteresis: 0.1,
  };
  const nowMs = 10_000_000;
  const targets = [{ hash: 'a', series: 400 }, { hash: 'b', series: 300 }];
  const shards: PlannerShard[] = [
    { id: 0, ready: true, notReadySinceMs: null, targets: ShardTargets.of({ a: { state: 'normal', scrapes: 3 } }), idleSinceMs: null },
    { id: 1, ready: false, notReadySinceMs: nowMs, targets: ShardTargets.of({ b: { state: 'normal', scrapes: 3 } }), idleSinceMs: null },
    { id: 2, ready: true, notReadySinceMs: null, targets: ShardTargets.EMPTY, idleSinceMs: nowMs },
  ];
  const planner = new IncrementalPlanner();
  const check = (at: number) => {
    const input = { nowMs: at, targets, shards, options };
    assert.equal(JSON.stringify(planner.plan(input)), JSON.stringify(planAssignments(input)), `at +${at - nowMs} ms`);
  };
  check(nowMs);
  check(nowMs + 1_000);
  assert.equal(planner.stats.reused, 1);
  check(nowMs + GRACE); // shard 1 expires: b is placed anew
  assert.equal(planner.stats.reused, 1);
  assert.ok(planner.stats.lastResolved >= 1);
  check(nowMs + GRACE + 1);
  assert.equal(planner.stats.reused, 2);
  check(nowMs + IDLE); // shard 2 idle long enough
  check(nowMs + GRACE + IDLE); // shard 1 expired long enough
  check(nowMs + GRACE + IDLE + 1);
  assert.equal(planner.stats.reused, 3);
});

test('the output records hand over what a build changed once, and keep no reference to it; from nothing, none are listed', () => {
  const records = new AssignmentRecords();
  const hashes = ['a', 'b', 'c'];
  const out = records.build(Int32Array.from([0, 1, 0]), Int32Array.from([-1, -1, 1]), hashes, 2);
  assert.deepEqual(out.map((r) => r.toObject()), [{ a: 'normal', c: 'normal' }, { b: 'normal', c: 'in_transfer' }]);
  assert.equal(records.takeChanges(), null, 'from empty records every target changed: not listed (compare the records)');
  const next = records.build(Int32Array.from([0, 1, 1]), Int32Array.from([-1, -1, -1]), hashes, 2);
  const taken = records.takeChanges();
  assert.deepEqual([...taken!.byTarget], [['c', { added: [], removed: [0] }]]);
  assert.deepEqual([...taken!.byShard.keys()].sort(), [0, 1], 'shard 1 keeps c in another state');
  assert.deepEqual(taken!.from, out, 'against the records before that build');
  assert.equal(records.takeChanges(), null, 'taken once');
  records.build(Int32Array.from([0, 0, 1]), Int32Array.from([-1, -1, 0]), hashes, 2);
  const third = records.takeChanges();
  assert.deepEqual([...third!.byTarget].sort(), [['b', { added: [0], removed: [1] }], ['c', { added: [0], removed: [] }]]);
  assert.deepEqual(third!.from, next);
});

test('records made from nothing are made from a view that holds exactly the plan\'s targets and states; any other view is not taken', () => {
  const hashes = ['a', 'b', 'c', 'd'];
  // Shard 0: a, c and d normal; shard 1: b normal, and d in transfer to it.
  const normal = Int32Array.from([0, 1, 0, 0]);
  const incoming = Int32Array.from([-1, -1, -1, 1]);
  const want = [{ a: 'normal', c: 'normal', d: 'normal' }, { b: 'normal', d: 'in_transfer' }];
  const view = (entries: Array<[string, ShardTargetView['state']]>) => ShardTargets.of(entries.map(([h, state]) => [h, { state, scrapes: 0 }] as const));
  const build = (views: Parameters<AssignmentRecords['build']>[5]) => {
    const records = new AssignmentRecords();
    return { out: records.build(normal, incoming, hashes, 2, null, views), fromViews: records.fromViews };
  };

  const v0 = view([['a', 'normal'], ['c', 'normal'], ['d', 'normal']]);
  const v1 = view([['b', 'normal'], ['d', 'in_transfer']]);
  const taken = build([{ view: v0, slots: Int32Array.from([0, 2, 3]) }, { view: v1, slots: Int32Array.from([1, 3]) }]);
  assert.deepEqual(taken.out.map((r) => r.toObject()), want);
  assert.equal(taken.fromViews, 2, 'both records made from the views');

  const notTaken: Array<[string, NonNullable<Parameters<AssignmentRecords['build']>[5]>[number]]> = [
    ['a state other than the plan\'s', { view: view([['b', 'normal'], ['d', 'normal']]), slots: Int32Array.from([1, 3]) }],
    ['a target fewer', { view: view([['b', 'normal']]), slots: Int32Array.from([1]) }],
    ['a target more', { view: view([['a', 'normal'], ['b', 'normal'], ['d', 'in_transfer']]), slots: Int32Array.from([0, 1, 3]) }],
    ['slots of other hashes (slotted before the slots were given again)', { view: view([['b', 'normal'], ['e', 'in_transfer']]), slots: Int32Array.from([1, 3]) }],
  ];
  for (const [what, v] of notTaken) {
    const { out, fromViews } = build([undefined, v]);
    assert.deepEqual(out.map((r) => r.toObject()), want, what);
    assert.equal(fromViews, 0, what);
  }
});

test('a slot given to another hash gets that hash\'s order key: relief breaks a tie by the new hash', () => {
  const options: PlannerOptions = {
    maxSeries: 100, minShards: 1, maxShards: 8, maxIdleTimeMs: 0, notReadyGraceMs: GRACE, transferMinScrapes: 2, hysteresis: 0.1,
  };
  const held = (hashes: string[]) => ShardTargets.of(Object.fromEntries(hashes.map((h) => [h, { state: 'normal' as const, scrapes: 3 }])));
  const planner = new IncrementalPlanner();
  const step = (targets: PlannerTarget[], onShard0: string[]) => {
    const input: PlannerInput = {
      nowMs: 1_000_000, targets, options,
      shards: [
        { id: 0, ready: true, notReadySinceMs: null, targets: held(onShard0), idleSinceMs: null },
        { id: 1, ready: true, notReadySinceMs: null, targets: ShardTargets.EMPTY, idleSinceMs: null },
      ],
    };
    const out = planner.plan(input);
    assert.equal(JSON.stringify(out), JSON.stringify(planAssignments(input)));
    return out;
  };
  step([{ hash: 'zz', series: 30 }, { hash: 'mm', series: 30 }, { hash: 'nn', series: 30 }], ['zz', 'mm', 'nn']);
  step([{ hash: 'mm', series: 30 }, { hash: 'nn', series: 30 }], ['mm', 'nn']); // zz gone: its slot is freed
  // aa takes zz's slot. Shard 0 is 20 over budget; any one of its targets covers that: the first hash, aa, moves.
  const out = step([{ hash: 'mm', series: 40 }, { hash: 'nn', series: 40 }, { hash: 'aa', series: 40 }], ['mm', 'nn', 'aa']);
  assert.deepEqual(out.moves.map((m) => m.hash), ['aa']);
});

test('after a plan that resolved most targets, every shard is kept in relief\'s order: the next change relieves shards from kept orders, making none', () => {
  const options: PlannerOptions = {
    maxSeries: 1000, minShards: 1, maxShards: 8, maxIdleTimeMs: 0, notReadyGraceMs: GRACE, transferMinScrapes: 2, hysteresis: 0.1,
  };
  const hashesOn = (s: number) => Array.from({ length: 10 }, (_, k) => `s${s}t${k}`);
  const shards: PlannerShard[] = Array.from({ length: 8 }, (_, s) => ({
    id: s, ready: true, notReadySinceMs: null, idleSinceMs: null,
    targets: ShardTargets.of(Object.fromEntries(hashesOn(s).map((h) => [h, { state: 'normal' as const, scrapes: 3 }]))),
  }));
  const planner = new IncrementalPlanner();
  const step = (targets: PlannerTarget[]) => {
    const input: PlannerInput = { nowMs: 1_000_000, targets, options, shards };
    const out = planner.plan(input);
    assert.equal(JSON.stringify(out), JSON.stringify(planAssignments(input)));
    return out;
  };
  // Every shard holds 800 series of a budget of 1000: relief has nothing to do, and orders no shard of its own.
  step(shards.flatMap((_, s) => hashesOn(s).map((hash) => ({ hash, series: 80 }))));
  assert.deepEqual(planner.stats.reliefOrders, { read: 0, lost: 0, made: 8 });
  // One target each on shards 0 to 3 grows to 300: those four shards are over budget, and each sends a target away.
  const out = step(shards.flatMap((_, s) => hashesOn(s).map((hash, k) => ({ hash, series: s < 4 && k === 0 ? 300 : 80 }))));
  assert.equal(out.moves.length, 4);
  assert.deepEqual(planner.stats.reliefOrders, { read: 4, lost: 0, made: 8 });
});
