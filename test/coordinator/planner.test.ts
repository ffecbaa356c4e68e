/**
 * The planner by example: Kvass's coordinator cases (kvass-internals.md §7, translated to a per-target series
 * budget), the demo of the seeds, and one case per rule and per choice documented in src/coordinator/planner.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  planAssignments, ShardTargets, type PlannerInput, type PlannerOptions, type PlannerOutput, type PlannerShard, type TargetState,
} from '../../src/coordinator/planner.js';
import { ascending, chooseReliefSet, chooseReliefSetInOrder } from '../../src/coordinator/planner-relief.js';
import { orderKey } from '../../src/coordinator/sorted-keys.js';
import { ShardMembers } from '../../src/coordinator/planner-state.js';

/** The records of a plan as objects keyed by hash, to compare with literals. */
function objects(records: PlannerOutput['assignments']): Array<Record<string, TargetState>> {
  return records.map((r) => r.toObject());
}

const NOW = 1_000_000;
const OPTIONS: PlannerOptions = {
  maxSeries: 1000, minShards: 1, maxShards: 1000, maxIdleTimeMs: 0, notReadyGraceMs: 120_000, transferMinScrapes: 2, hysteresis: 0.1,
};

/** A shard from `hash: state[:scrapes]` shorthands ('n' normal, 't' in_transfer; scrapes default 5). */
function shard(id: number, targets: Record<string, string> = {}, extra: Partial<PlannerShard> = {}): PlannerShard {
  const view = ShardTargets.of(Object.entries(targets).map(([hash, spec]) => {
    const [state, scrapes] = spec.split(':');
    return [hash, { state: state === 't' ? 'in_transfer' : 'normal', scrapes: scrapes === undefined ? 5 : Number(scrapes) }] as const;
  }));
  const empty = view.size === 0;
  return { id, ready: true, notReadySinceMs: null, targets: view, idleSinceMs: empty ? NOW : null, ...extra };
}

function input(targets: Record<string, number>, shards: PlannerShard[], options: Partial<PlannerOptions> = {}, nowMs = NOW): PlannerInput {
  return { nowMs, targets: Object.entries(targets).map(([hash, series]) => ({ hash, series })), shards, options: { ...OPTIONS, ...options } };
}

const N = 'normal' as const;
const T = 'in_transfer' as const;

function loads(out: PlannerOutput, series: Record<string, number>): number[] {
  return out.assignments.map((a) => a.keys.reduce((sum, h) => sum + series[h]!, 0));
}

// --- Kvass coordinator cases ---

test('kvass: a target no longer discovered is removed from its shard', () => {
  const out = planAssignments(input({}, [shard(0, { 1: 'n' })]));
  assert.deepEqual(objects(out.assignments), [{}]);
  assert.equal(out.desiredShards, 1);
});

test('kvass: assign new target normally', () => {
  const out = planAssignments(input({ 1: 10 }, [shard(0)]));
  assert.deepEqual(objects(out.assignments), [{ 1: N }]);
  assert.equal(out.desiredShards, 1);
  assert.deepEqual([out.moves, out.unplaced, out.oversized], [[], [], []]);
});

test('kvass: need scale up with maxShards 0 leaves the target unplaced', () => {
  const out = planAssignments(input({ 1: 10 }, [], { minShards: 0, maxShards: 0 }));
  assert.equal(out.desiredShards, 0);
  assert.deepEqual(objects(out.assignments), []);
  assert.deepEqual(out.unplaced, ['1']);
});

test('kvass: need scale up opens shard 0 for the target', () => {
  const out = planAssignments(input({ 1: 10 }, [], { minShards: 0 }));
  assert.equal(out.desiredShards, 1);
  assert.deepEqual(objects(out.assignments), [{ 1: N }]);
});

test('kvass: overload with no space scales up and begins the transfer to the new shard', () => {
  const out = planAssignments(input({ a: 600, b: 600 }, [shard(0, { a: 'n', b: 'n' })]));
  assert.equal(out.desiredShards, 2);
  assert.deepEqual(objects(out.assignments), [{ a: N, b: N }, { a: T }]);
  assert.deepEqual(out.moves, [{ hash: 'a', from: 0, to: 1, reason: 'overload' }]);
});

test('kvass: overload, transfer begin (to the other shard)', () => {
  const out = planAssignments(input({ a: 600, b: 600 }, [shard(0, { a: 'n', b: 'n' }), shard(1)]));
  assert.equal(out.desiredShards, 2);
  assert.deepEqual(objects(out.assignments), [{ a: N, b: N }, { a: T }]);
  assert.deepEqual(out.moves, [{ hash: 'a', from: 0, to: 1, reason: 'overload' }]);
});

test('kvass: overload, transfer end once the receiver has scraped enough', () => {
  const waiting = planAssignments(input({ a: 600, b: 600 }, [shard(0, { a: 'n', b: 'n' }), shard(1, { a: 't:1' })]));
  assert.deepEqual(objects(waiting.assignments), [{ a: N, b: N }, { a: T }], 'one scrape is not enough');
  assert.deepEqual([waiting.moves, waiting.completed], [[], []], 'and no new move off a shard with a transfer in flight');
  const done = planAssignments(input({ a: 600, b: 600 }, [shard(0, { a: 'n', b: 'n' }), shard(1, { a: 't:2' })]));
  assert.deepEqual(objects(done.assignments), [{ b: N }, { a: N }]);
  assert.deepEqual(done.completed, ['a']);
  assert.equal(done.desiredShards, 2);
});

test('kvass: removable, transfer begin (the highest shard is emptied)', () => {
  const out = planAssignments(input({ 1: 100 }, [shard(0), shard(1, { 1: 'n' })], { maxIdleTimeMs: 1000 }));
  assert.deepEqual(objects(out.assignments), [{ 1: T }, { 1: N }]);
  assert.deepEqual(out.moves, [{ hash: '1', from: 1, to: 0, reason: 'scale-down' }]);
  assert.equal(out.desiredShards, 2);
});

test('kvass: transfer end, begin idle', () => {
  const out = planAssignments(input({ 1: 100 }, [shard(0, { 1: 't:2' }), shard(1, { 1: 'n' })], { maxIdleTimeMs: 1000 }));
  assert.deepEqual(objects(out.assignments), [{ 1: N }, {}]);
  assert.deepEqual(out.completed, ['1']);
  assert.equal(out.desiredShards, 2);
});

test('kvass: transfer end, shard removed once idle for maxIdleTime', () => {
  const young = planAssignments(input({ 1: 100 }, [shard(0, { 1: 'n' }), shard(1, {}, { idleSinceMs: NOW - 500 })], { maxIdleTimeMs: 1000 }));
  assert.equal(young.desiredShards, 2);
  const out = planAssignments(input({ 1: 100 }, [shard(0, { 1: 'n' }), shard(1, {}, { idleSinceMs: NOW - 3000 })], { maxIdleTimeMs: 1000 }));
  assert.equal(out.desiredShards, 1);
  assert.deepEqual(objects(out.assignments), [{ 1: N }, {}]);
});

// --- the seeds' demo ---

/** Feeds an output back as the next input, as the sidecars would: every assigned target scraped once more. */
function feedBack(prev: PlannerInput, out: PlannerOutput, stepMs: number): PlannerInput {
  const nowMs = prev.nowMs + stepMs;
  const shards: PlannerShard[] = [];
  for (let id = 0; id < out.desiredShards; id++) {
    const before = prev.shards[id];
    const targets = ShardTargets.of([...(out.assignments[id]?.entries() ?? [])].map(([hash, state]) => [hash, { state, scrapes: (before?.targets.get(hash)?.scrapes ?? 0) + 1 }] as const));
    const empty = targets.size === 0;
    shards.push({ id, ready: true, notReadySinceMs: null, targets, idleSinceMs: empty ? (before?.idleSinceMs ?? nowMs) : null });
  }
  return { ...prev, nowMs, shards };
}

test('demo: 6 targets of 10045+5 series, maxSeries 30000, one empty shard: 3 shards, 2 targets each, then stable', () => {
  const series: Record<string, number> = {};
  for (let i = 0; i < 6; i++) series[`pod-${i}`] = 10045 + 5;
  let inp = input(series, [shard(0)], { maxSeries: 30000, maxIdleTimeMs: 300_000 });
  const out = planAssignments(inp);
  assert.equal(out.desiredShards, 3);
  assert.deepEqual(out.assignments.map((a) => a.size), [2, 2, 2]);
  assert.deepEqual(out.moves, []);
  let last = out;
  for (let step = 0; step < 10; step++) {
    inp = feedBack(inp, last, 60_000);
    last = planAssignments(inp);
    assert.deepEqual(objects(last.assignments), objects(out.assignments), `step ${step}`);
    assert.equal(last.desiredShards, 3);
    assert.deepEqual(last.moves, []);
  }
});

// --- placement (rule 2) and scale-up (rule 3) ---

test('placement: best fit (least room left), biggest first, ties to the lowest id', () => {
  // loads 500, 800, 300: 250 goes where it leaves the least room (shard 0: 250 left); then 150 to shard 1 (50 left).
  const shards = [shard(0, { x: 'n' }), shard(1, { y: 'n' }), shard(2, { z: 'n' })];
  const out = planAssignments(input({ x: 500, y: 800, z: 300, small: 150, big: 250 }, shards));
  assert.deepEqual(objects(out.assignments), [{ x: N, big: N }, { y: N, small: N }, { z: N }]);
  const tie = planAssignments(input({ x: 500, y: 500, t: 100 }, [shard(0, { x: 'n' }), shard(1, { y: 'n' })]));
  assert.deepEqual(objects(tie.assignments), [{ x: N, t: N }, { y: N }]);
});

test('scale-up: what fits nowhere is packed into as few new shards as possible, bounded by maxShards', () => {
  const targets = { a: 900, b: 700, c: 600, d: 400, e: 300, f: 100 };
  const out = planAssignments(input(targets, [shard(0, { a: 'n' })]));
  // a keeps shard 0 (+f: 1000). b+e (1000), c+d (1000): two new shards, each full.
  assert.deepEqual(objects(out.assignments), [{ a: N, f: N }, { b: N, e: N }, { c: N, d: N }]);
  assert.equal(out.desiredShards, 3);
  const capped = planAssignments(input(targets, [shard(0, { a: 'n' })], { maxShards: 2 }));
  assert.equal(capped.desiredShards, 2);
  assert.deepEqual(capped.unplaced, ['c', 'd']);
  assert.deepEqual(objects(capped.assignments), [{ a: N, f: N }, { b: N, e: N }]);
});

test('placement on a thousand shards (the best fit by binary search): the shards best fit decreasing gives by scan', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1000, maxLength: 1100 }), (sizes) => {
    const targets: Record<string, number> = {};
    sizes.forEach((size, k) => (targets[`t${String(k).padStart(4, '0')}`] = size));
    const shards = Array.from({ length: 1000 }, (_, r) => shard(r));
    const out = planAssignments(input(targets, shards, { maxShards: 10_000 }));
    const order = Object.keys(targets).sort((a, b) => targets[b]! - targets[a]! || (a < b ? -1 : 1));
    const want: string[][] = shards.map(() => []);
    const load = shards.map(() => 0);
    for (const h of order) {
      let best = -1;
      for (let r = 0; r < load.length; r++) if (load[r]! + targets[h]! <= 1000 && (best < 0 || load[r]! > load[best]!)) best = r;
      load[best]! += targets[h]!;
      want[best]!.push(h);
    }
    const got = objects(out.assignments).map((a) => Object.keys(a).sort());
    for (let r = 0; r < want.length; r++) assert.deepEqual(got[r] ?? [], want[r]!.sort(), `shard ${r}`);
  }), { numRuns: 10 });
});

test('scale-up with thousands to pack (the best new shard by binary search): the shards best fit decreasing gives by scan', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1000, maxLength: 1300 }), (sizes) => {
    // Shard 0 is full, so every target is packed into new shards.
    const targets: Record<string, number> = { full: 1000 };
    sizes.forEach((size, k) => (targets[`t${String(k).padStart(4, '0')}`] = size));
    const out = planAssignments(input(targets, [shard(0, { full: 'n' })], { maxShards: 10_000 }));
    // The reference: biggest first (then hash), each into the new shard with the least room left (ties: lowest id), or a new one.
    const order = Object.keys(targets).filter((h) => h !== 'full').sort((a, b) => targets[b]! - targets[a]! || (a < b ? -1 : 1));
    const want: string[][] = [['full']];
    const load: number[] = [1000];
    for (const h of order) {
      let best = -1;
      for (let r = 1; r < load.length; r++) if (load[r]! + targets[h]! <= 1000 && (best < 0 || load[r]! > load[best]!)) best = r;
      if (best < 0) {
        best = load.push(0) - 1;
        want.push([]);
      }
      load[best]! += targets[h]!;
      want[best]!.push(h);
    }
    assert.equal(out.desiredShards, want.length);
    assert.deepEqual(objects(out.assignments).map((a) => Object.keys(a).sort()), want.map((w) => w.sort()));
  }), { numRuns: 30 });
});

test('scale-up: an oversized target gets a shard of its own (an empty existing one first) and is listed', () => {
  const out = planAssignments(input({ huge: 5000, a: 100 }, [shard(0, { a: 'n' })]));
  assert.deepEqual(objects(out.assignments), [{ a: N }, { huge: N }]);
  assert.deepEqual(out.oversized, ['huge']);
  const reuse = planAssignments(input({ huge: 5000, a: 100 }, [shard(0, { a: 'n' }), shard(1)]));
  assert.deepEqual(objects(reuse.assignments), [{ a: N }, { huge: N }]);
  assert.equal(reuse.desiredShards, 2);
  const steady = planAssignments(input({ huge: 5000, a: 100 }, [shard(0, { a: 'n' }), shard(1, { huge: 'n' })]));
  assert.deepEqual([steady.moves, steady.oversized], [[], ['huge']], 'alone on its shard: nothing to relieve');
});

test('scale-up: minShards pads with empty shards; maxShards wins over minShards', () => {
  const out = planAssignments(input({ a: 10 }, [shard(0)], { minShards: 3 }));
  assert.equal(out.desiredShards, 3);
  assert.deepEqual(objects(out.assignments), [{ a: N }, {}, {}]);
  assert.equal(planAssignments(input({}, [], { minShards: 3, maxShards: 2 })).desiredShards, 2);
});

test('the issue\'s bound ceil(total/maxSeries)+1 cannot hold for targets up to half the budget: 14 targets of 34% need 7 shards', () => {
  const targets: Record<string, number> = {};
  for (let i = 0; i < 14; i++) targets[`t${String(i).padStart(2, '0')}`] = 34;
  const out = planAssignments(input(targets, [shard(0)], { maxSeries: 100 }));
  // No three fit in 100, so 7 shards is optimal, while ceil(476/100)+1 = 6. The property tests check 2*total/maxSeries.
  assert.equal(out.desiredShards, 7);
  assert.ok(out.desiredShards > Math.ceil(476 / 100) + 1);
});

// --- relief (rule 4) ---

test('relief: moves the fewest targets, then the fewest series, to a receiver that keeps the hysteresis margin', () => {
  // shard 0: 300+300+250+200 = 1050, 50 over: one target suffices, the smallest that does is 200.
  // shard 1 at 650: 650+200 = 850 <= 900 (margin) -> receiver. shard 2 at 750: 950 > 900 -> not a receiver.
  const shards = [shard(0, { a: 'n', b: 'n', c: 'n', d: 'n' }), shard(1, { x: 'n' }), shard(2, { y: 'n' })];
  const out = planAssignments(input({ a: 300, b: 300, c: 250, d: 200, x: 650, y: 750 }, shards));
  assert.deepEqual(out.moves, [{ hash: 'd', from: 0, to: 1, reason: 'overload' }]);
  assert.deepEqual(objects(out.assignments), [{ a: N, b: N, c: N, d: N }, { x: N, d: T }, { y: N }]);
});

test('relief: the margin sends a move to a new shard rather than fill a receiver to the brim', () => {
  const shards = [shard(0, { a: 'n', b: 'n' }), shard(1, { x: 'n' })];
  const out = planAssignments(input({ a: 600, b: 500, x: 450 }, shards));
  // b (500) would bring shard 1 to 950 > 900: a new shard.
  assert.deepEqual(out.moves, [{ hash: 'b', from: 0, to: 2, reason: 'overload' }]);
  assert.equal(out.desiredShards, 3);
});

test('relief: the member index lists each shard\'s targets in ascending order, then those a phase put there after it', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: -1, max: 6 }), { maxLength: 60 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 8 }), fc.nat(100)), { maxLength: 5 }), (normal, added) => {
    const index = ShardMembers.of(Int32Array.from(normal));
    for (const [s, i] of added) index.add(s, i);
    for (let s = 0; s <= 8; s++) {
      const want = [...normal.flatMap((t, i) => (t === s ? [i] : [])), ...added.filter(([t]) => t === s).map(([, i]) => i)];
      assert.deepEqual(Array.from(index.of(s)), want, `shard ${s}`);
    }
  }), { numRuns: 500 });
});

/** Relief tests' hashes: distinct, in an order unlike the targets', with `prefix` (a long one makes the order keys tie). */
function reliefHashes(count: number, seed: number, prefix: string): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String((i * 7919 + seed) % 1009).padStart(4, '0')}-${i}`);
}

/** Targets 0..count-1 in an order from `seed`; equal keys descending with `reverseTies`, else ascending. */
function mixedOrder(count: number, seed: number, reverseTies: boolean): number[] {
  return Array.from({ length: count }, (_, i) => i).sort((a, b) => ((a * 31 + seed) % 17) - ((b * 31 + seed) % 17) || (reverseTies ? b - a : 0));
}

test('relief: the set selection (fewest targets, then fewest series)', () => {
  const series = [10, 9, 6, 5, 40, 40, 40, 1];
  const hashes = series.map((_, i) => `h${i}`);
  const pick = (members: number[], excess: number) => chooseReliefSet(members, series, hashes, excess, 100).map((i) => series[i]).sort((a, b) => a - b);
  assert.deepEqual(pick([0, 1, 2, 3], 9), [9]);
  assert.deepEqual(pick([0, 1, 2, 3], 15), [5, 10]); // 2 targets needed; 6+9 = 15 too, 5+10 is found first
  assert.deepEqual(pick([0, 1, 2, 3], 12), [5, 9]); // exact: 5+9 = 14 beats 6+9 and 10+5 = 15
  assert.deepEqual(pick([0, 1, 2, 3, 7], 24), [5, 9, 10]); // three needed; 10+9+5 = 24 exactly
  assert.deepEqual(pick([4, 5, 6, 7], 81), [1, 40, 40]); // three needed, the third the smallest that suffices
  // An oversized target keeps the shard: everything else moves.
  assert.deepEqual(chooseReliefSet([0, 1, 4], series, hashes, 50, 30).map((i) => series[i]).sort((a, b) => a - b), [9, 10]);
});

test('relief: targets ordered by series then hash, integer series or not, whatever the order of members', () => {
  fc.assert(fc.property(
    fc.array(fc.oneof(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 2 ** 34 }), fc.double({ min: 0, max: 10, noNaN: true })), { minLength: 0, maxLength: 40 }),
    fc.integer({ min: 0, max: 1000 }),
    (series, seed) => {
      const hashes = reliefHashes(series.length, seed, 'h');
      const members = mixedOrder(series.length, seed, false);
      const want = members.slice().sort((a, b) => series[a]! - series[b]! || (hashes[a]! < hashes[b]! ? -1 : 1));
      assert.deepEqual(ascending(members, series, hashes), want);
    },
  ), { numRuns: 3000 });
});

test('relief: integer series (ordered as numbers, runs by hash where chosen) choose exactly as the comparator order does', () => {
  // Halving every series, the excess and the budget changes no decision (every comparison is of sums against them,
  // and halves of integers are exact); with one odd series the halves are not all integers, which takes the
  // comparator path: the two paths are compared on the same question.
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 6, max: 12 }), fc.integer({ min: 0, max: 1000 }),
    (sizes, excess, budget, seed) => {
      const series = [...sizes, 1];
      // Half the time the hashes share their first 6 characters: the order keys tie, the strings decide.
      const hashes = reliefHashes(series.length, seed, seed % 2 ? 'h' : 'shared');
      const members = mixedOrder(series.length, seed, false);
      const halves = series.map((v) => v / 2);
      // One side with the hashes' order keys given, as the incremental planner gives them, in a third of the runs.
      const keys = seed % 3 === 0 ? Float64Array.from(hashes, orderKey) : undefined;
      assert.deepEqual(chooseReliefSet(members, series, hashes, excess, budget, keys), chooseReliefSet(members, halves, hashes, excess / 2, budget / 2));
    },
  ), { numRuns: 5000 });
});

test('relief: the set chosen does not depend on the order of the shard\'s targets (the planner hands them over in none)', () => {
  // Sizes from a few values, so that runs of equal series are long and chosen from by hash; budgets from below the
  // largest (an oversized target) to above the sum; any excess, so that one, two or many targets are chosen.
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 80 }), fc.integer({ min: 3, max: 60 }),
    fc.integer({ min: 0, max: 1000 }), fc.boolean(),
    (sizes, excess, budget, seed, keyed) => {
      const hashes = reliefHashes(sizes.length, seed, seed % 2 ? 'h' : 'shared');
      const keys = keyed ? Float64Array.from(hashes, orderKey) : undefined;
      const members = sizes.map((_, i) => i);
      const shuffled = mixedOrder(members.length, seed, true);
      assert.deepEqual(chooseReliefSet(shuffled, sizes, hashes, excess, budget, keys), chooseReliefSet(members, sizes, hashes, excess, budget, keys));
    },
  ), { numRuns: 3000 });
});

test('relief: from the targets already in its order (as the incremental planner keeps them), the set chosen from them in any order', () => {
  // As above: few sizes (long runs of equal series), any budget and excess; hashes whose order keys tie half the time.
  let single = 0;
  let several = 0;
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 80 }), fc.integer({ min: 3, max: 60 }),
    fc.integer({ min: 0, max: 1000 }),
    (sizes, excess, budget, seed) => {
      const hashes = reliefHashes(sizes.length, seed, seed % 2 ? 'h' : 'shared');
      const keys = Float64Array.from(hashes, orderKey);
      const members = mixedOrder(sizes.length, seed, true);
      const asc = Int32Array.from(ascending(members, sizes, hashes, keys));
      const before = asc.slice();
      const got = chooseReliefSetInOrder(asc, sizes, excess, budget);
      assert.deepEqual(got, chooseReliefSet(members, sizes, hashes, excess, budget, keys));
      assert.deepEqual(asc, before, 'the kept order is left as it was');
      if (got.length === 1) single++;
      else if (got.length > 1) several++;
    },
  ), { numRuns: 3000 });
  assert.ok(single > 300 && several > 300, `one target chosen ${single} times, several ${several}`);
});

test('relief: two targets are the pair a walk of every target finds (the least sum, then the first in order), whatever the runs of equal series', () => {
  // The reference: for every p of the order, its partner the first target that covers the rest (not p itself); the
  // first p with the least sum wins. Relief looks at one p per run of equal series.
  const walk = (asc: number[], series: number[], excess: number): number[] => {
    let best: number[] = [];
    let bestSum = Infinity;
    for (let p = 0; p < asc.length; p++) {
      let q = asc.findIndex((i) => series[i]! >= excess - series[asc[p]!]!);
      if (q === p) q++;
      if (q < 0 || q >= asc.length) continue;
      const sum = series[asc[p]!]! + series[asc[q]!]!;
      if (sum < bestSum) [best, bestSum] = [[asc[p]!, asc[q]!], sum];
    }
    return best;
  };
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 2, maxLength: 40 }), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 0, max: 1000 }),
    (sizes, extra, seed) => {
      const sorted = [...sizes].sort((a, b) => b - a);
      // More than the largest covers, no more than the two largest do: two targets are chosen.
      const excess = sorted[0]! + 1 + ((extra - 1) % sorted[1]!);
      const hashes = reliefHashes(sizes.length, seed, seed % 2 ? 'h' : 'shared');
      const keys = Float64Array.from(hashes, orderKey);
      const members = mixedOrder(sizes.length, seed, true);
      const asc = ascending(members, sizes, hashes, keys);
      const want = walk(asc, sizes, excess);
      assert.equal(want.length, 2);
      assert.deepEqual(chooseReliefSetInOrder(asc, sizes, excess, 100), want);
      assert.deepEqual(chooseReliefSet(members, sizes, hashes, excess, 100, keys), want);
      // And no pair covers the excess with fewer series.
      let least = Infinity;
      for (let a = 0; a < sizes.length; a++) for (let b = a + 1; b < sizes.length; b++) if (sizes[a]! + sizes[b]! >= excess) least = Math.min(least, sizes[a]! + sizes[b]!);
      assert.equal(sizes[want[0]!]! + sizes[want[1]!]!, least);
    },
  ), { numRuns: 3000 });
});

test('relief: when one target within budget covers the excess, it is the smallest that does (then the first hash), whatever the order of members', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 14 }), fc.integer({ min: 0, max: 1000 }),
    (sizes, excess, seed) => {
      const hashes = reliefHashes(sizes.length, seed, 'h');
      const members = mixedOrder(sizes.length, seed, false);
      const got = chooseReliefSet(members, sizes, hashes, excess, 12, seed % 2 ? Float64Array.from(hashes, orderKey) : undefined);
      const covering = members.filter((i) => sizes[i]! >= excess);
      if (covering.length === 0) {
        assert.ok(got.length >= 2 || got.length === members.length, `no single target covers ${excess}: ${got.length} chosen`);
        return;
      }
      const want = covering.reduce((a, b) => (sizes[b]! < sizes[a]! || (sizes[b] === sizes[a] && hashes[b]! < hashes[a]!) ? b : a));
      assert.deepEqual(got, [want]);
    },
  ), { numRuns: 2000 });
});

test('relief: an oversized target that grew on a shard keeps it and the others move away', () => {
  const out = planAssignments(input({ big: 1500, a: 100, b: 50 }, [shard(0, { big: 'n', a: 'n', b: 'n' }), shard(1)]));
  assert.deepEqual(out.moves.map((m) => [m.hash, m.to]), [['a', 1], ['b', 1]]);
  assert.deepEqual(out.oversized, ['big']);
});

test('relief: no new move off a shard while a transfer to it is in flight', () => {
  const shards = [shard(0, { a: 'n', b: 'n', c: 't:0' }), shard(1), shard(2, { c: 'n' })];
  const out = planAssignments(input({ a: 600, b: 600, c: 10 }, shards));
  assert.deepEqual(out.moves, []);
  assert.deepEqual(objects(out.assignments), [{ a: N, b: N, c: T }, {}, { c: N }]);
});

// --- transfers and duplicates (rule 5) ---

test('duplicates: two normal copies keep the one on the lower load; equal loads keep the lowest id', () => {
  const lower = planAssignments(input({ d: 10, x: 500 }, [shard(0, { d: 'n', x: 'n' }), shard(1, { d: 'n' })]));
  assert.deepEqual(objects(lower.assignments), [{ x: N }, { d: N }]);
  const tie = planAssignments(input({ d: 10 }, [shard(0, { d: 'n' }), shard(1, { d: 'n' })]));
  assert.deepEqual(objects(tie.assignments), [{ d: N }, {}]);
  const twoInTransfer = planAssignments(input({ d: 10 }, [shard(0, { d: 't' }), shard(1, { d: 't' })]));
  assert.deepEqual(objects(twoInTransfer.assignments), [{ d: N }, {}]);
  assert.deepEqual(twoInTransfer.completed, []);
});

test('duplicates: a lone in_transfer copy becomes normal', () => {
  const out = planAssignments(input({ d: 10 }, [shard(0), shard(1, { d: 't:0' })]));
  assert.deepEqual(objects(out.assignments), [{}, { d: N }]);
});

test('transfers: a not-ready receiver cannot complete; a not-ready source does not stop completion', () => {
  const down = { ready: false, notReadySinceMs: NOW - 1000 };
  const receiverDown = planAssignments(input({ a: 10 }, [shard(0, { a: 'n' }), shard(1, { a: 't:9' }, down)]));
  assert.deepEqual(objects(receiverDown.assignments), [{ a: N }, { a: T }]);
  const sourceDown = planAssignments(input({ a: 10 }, [shard(0, { a: 'n' }, down), shard(1, { a: 't:2' })]));
  assert.deepEqual(objects(sourceDown.assignments), [{}, { a: N }]);
  assert.deepEqual(sourceDown.completed, ['a']);
});

// --- not-ready shards (rule 8) ---

test('not ready within the grace: its targets stay and it gets no new ones', () => {
  const down = shard(0, { a: 'n' }, { ready: false, notReadySinceMs: NOW - 60_000 });
  const out = planAssignments(input({ a: 10, b: 10 }, [down, shard(1)]));
  assert.deepEqual(objects(out.assignments), [{ a: N }, { b: N }]);
  assert.deepEqual(out.reassigned, []);
});

test('not ready past the grace: its targets are placed anew (reassigned) and its assignment is empty; it stays', () => {
  const down = shard(0, { a: 'n', b: 'n' }, { ready: false, notReadySinceMs: NOW - 200_000 });
  const out = planAssignments(input({ a: 600, b: 300, c: 500 }, [down, shard(1, { c: 'n' })]));
  // a (600) fits no ready shard: a new one; b (300) joins c. In decision order: b first, a at scale-up.
  assert.deepEqual(objects(out.assignments), [{}, { b: N, c: N }, { a: N }]);
  assert.deepEqual(out.reassigned, [{ hash: 'b', from: 0, to: 1 }, { hash: 'a', from: 0, to: 2 }]);
  assert.equal(out.desiredShards, 3);
});

test('not ready past the grace, transfer source dead: the receiver keeps the target (listed as reassigned)', () => {
  const dead = shard(0, { a: 'n' }, { ready: false, notReadySinceMs: NOW - 200_000 });
  const out = planAssignments(input({ a: 10 }, [dead, shard(1, { a: 't:0' })]));
  assert.deepEqual(objects(out.assignments), [{}, { a: N }]);
  assert.deepEqual(out.reassigned, [{ hash: 'a', from: 0, to: 1 }]);
});

test('a shard that comes back with copies placed elsewhere meanwhile: one copy is kept (lower load)', () => {
  const out = planAssignments(input({ a: 10, b: 20 }, [shard(0, { a: 'n', b: 'n' }), shard(1, { a: 'n' })]));
  assert.deepEqual(objects(out.assignments), [{ b: N }, { a: N }]);
});

test('not ready with no since-time: treated as just stopped (its targets stay for the grace)', () => {
  const out = planAssignments(input({ a: 10 }, [shard(0, { a: 'n' }, { ready: false }), shard(1)]));
  assert.deepEqual(objects(out.assignments), [{ a: N }, {}]);
});

// --- scale-down (rule 6) ---

test('scale-down: emptying waits until every shard is ready', () => {
  const shards = [shard(0, { a: 'n' }, { ready: false, notReadySinceMs: NOW - 1000 }), shard(1), shard(2, { b: 'n' })];
  assert.deepEqual(planAssignments(input({ a: 10, b: 10 }, shards, { maxIdleTimeMs: 1000 })).moves, []);
});

test('scale-down: not while a target is new this step, not below minShards, not without the margin', () => {
  const opts = { maxIdleTimeMs: 1000 };
  const withNew = planAssignments(input({ 1: 100, 2: 50 }, [shard(0), shard(1, { 1: 'n' })], opts));
  assert.deepEqual(objects(withNew.assignments), [{}, { 1: N, 2: N }], 'the new target joins the fuller shard; nothing moves');
  assert.deepEqual(withNew.moves, []);
  const next = planAssignments(input({ 1: 100, 2: 50 }, [shard(0), shard(1, { 1: 'n', 2: 'n' })], opts));
  assert.deepEqual(next.moves.map((m) => m.reason), ['scale-down', 'scale-down'], 'the next quiet step empties it');
  const atMin = planAssignments(input({ 1: 100 }, [shard(0, { 0: 'n' }), shard(1, { 1: 'n' })], { ...opts, minShards: 2 }));
  assert.deepEqual(atMin.moves, []);
  // shard 0 at 850: +100 = 950 > 900 (margin): shard 1 stays.
  const noMargin = planAssignments(input({ 0: 850, 1: 100 }, [shard(0, { 0: 'n' }), shard(1, { 1: 'n' })], opts));
  assert.deepEqual(noMargin.moves, []);
  const disabled = planAssignments(input({ 1: 100 }, [shard(0), shard(1, { 1: 'n' })]));
  assert.deepEqual(disabled.moves, []);
});

test('scale-down: only the highest shard is emptied, all its targets at once (best fit)', () => {
  const shards = [shard(0, { a: 'n' }), shard(1, { b: 'n' }), shard(2, { c: 'n', d: 'n' })];
  const out = planAssignments(input({ a: 100, b: 500, c: 200, d: 150 }, shards, { maxIdleTimeMs: 1000 }));
  assert.deepEqual(out.moves, [
    { hash: 'c', from: 2, to: 1, reason: 'scale-down' },
    { hash: 'd', from: 2, to: 1, reason: 'scale-down' },
  ]);
  assert.equal(out.desiredShards, 3);
});

test('scale-down: an empty idle highest shard is removed even while others are busy; a new target avoids the draining shard', () => {
  const busy = [shard(0, { a: 'n', b: 'n' }), shard(1, { a: 't:0' }), shard(2, {}, { idleSinceMs: NOW - 5000 })];
  const out = planAssignments(input({ a: 100, b: 100 }, busy, { maxIdleTimeMs: 1000 }));
  assert.equal(out.desiredShards, 2);
  // shard 1 is being emptied (all its copies are transfer sources): a new target goes to shard 0, not to it.
  const draining = [shard(0, { a: 't:0' }), shard(1, { a: 'n' })];
  const placed = planAssignments(input({ a: 100, n: 10 }, draining, { maxIdleTimeMs: 1000 }));
  assert.deepEqual(objects(placed.assignments), [{ a: T, n: N }, { a: N }]);
});

test('scale-down: a not-ready highest shard past grace and idle time is removed; within grace it is kept', () => {
  const opts = { maxIdleTimeMs: 10_000 };
  const gone = shard(1, { a: 'n' }, { ready: false, notReadySinceMs: NOW - 200_000 });
  const out = planAssignments(input({ a: 10 }, [shard(0), gone], opts));
  assert.deepEqual(objects(out.assignments), [{ a: N }, {}]);
  assert.equal(out.desiredShards, 1);
  const recent = shard(1, {}, { ready: false, notReadySinceMs: NOW - 1000, idleSinceMs: null });
  assert.equal(planAssignments(input({}, [shard(0), recent], opts)).desiredShards, 2);
});

// --- maxShards lowered ---

test('maxShards below the shard count: desiredShards is maxShards; the shards above are drained by transfers', () => {
  const out = planAssignments(input({ a: 100, b: 100, c: 950 }, [shard(0, { a: 'n' }), shard(1, { b: 'n' }), shard(2, { c: 'n' })], { maxShards: 1 }));
  assert.equal(out.desiredShards, 1);
  assert.deepEqual(out.moves, [{ hash: 'b', from: 1, to: 0, reason: 'scale-down' }]);
  assert.deepEqual(out.unplaced, ['c']);
  assert.deepEqual(objects(out.assignments), [{ a: N, b: T }, { b: N }, { c: N }]);
});

test('maxShards below the shard count: a transfer towards a shard above it is dropped, then drained', () => {
  const out = planAssignments(input({ a: 100 }, [shard(0, { a: 'n' }), shard(1, { a: 't:9' })], { maxShards: 1 }));
  assert.deepEqual(objects(out.assignments), [{ a: N }, {}]);
  assert.deepEqual([out.completed, out.moves], [[], []]);
});

// --- stability and determinism (rules 1, 9) ---

test('an unchanged settled input moves nothing and returns the current state', () => {
  const shards = [shard(0, { a: 'n', b: 'n' }), shard(1, { c: 'n' })];
  const inp = input({ a: 400, b: 400, c: 700 }, shards, { maxIdleTimeMs: 1000 });
  const out = planAssignments(inp);
  assert.deepEqual(objects(out.assignments), [{ a: N, b: N }, { c: N }]);
  assert.deepEqual([out.moves, out.reassigned, out.completed, out.unplaced], [[], [], [], []]);
  assert.equal(out.desiredShards, 2);
});

test('the output does not depend on the order of targets (a shard view\'s keys are in order by construction)', () => {
  const series: Record<string, number> = {};
  for (let i = 0; i < 40; i++) series[`h${(i * 7919) % 101}`] = 50 + ((i * 37) % 200);
  const hashes = Object.keys(series);
  const shards = [shard(0, Object.fromEntries(hashes.slice(0, 10).map((h) => [h, 'n']))), shard(1)];
  const a = planAssignments(input(series, shards));
  const reversed: PlannerInput = {
    ...input(series, shards),
    targets: hashes.slice().reverse().map((hash) => ({ hash, series: series[hash]! })),
  };
  const b = planAssignments(reversed);
  assert.deepEqual(b, a);
  assert.deepEqual(JSON.stringify(b), JSON.stringify(a), 'even the key order of the output');
  const normalSeries = a.assignments.flatMap((s) => [...s.entries()].filter(([, st]) => st === N).map(([h]) => series[h]!));
  assert.equal(normalSeries.reduce((x, y) => x + y, 0), Object.values(series).reduce((x, y) => x + y, 0), 'every target once as normal');
  const transferSeries = a.moves.reduce((sum, m) => sum + series[m.hash]!, 0);
  assert.equal(loads(a, series).reduce((x, y) => x + y, 0), normalSeries.reduce((x, y) => x + y, 0) + transferSeries);
});

test('states in the output are only normal and in_transfer', () => {
  const out = planAssignments(input({ a: 600, b: 600 }, [shard(0, { a: 'n', b: 'n' })]));
  const states = new Set<TargetState>(out.assignments.flatMap((a) => Object.values(a.toObject())));
  assert.deepEqual([...states].sort(), ['in_transfer', 'normal']);
});
