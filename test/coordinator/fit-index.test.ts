/** Best fit by binary search (src/coordinator/fit-index.ts) chooses as the planner's scan (bestFit) does. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FitIndex } from '../../src/coordinator/fit-index.js';
import { bestFit, withinBudget } from '../../src/coordinator/planner-place.js';
import type { PlanState } from '../../src/coordinator/planner-state.js';

test('placing sizes one after another, the index picks the shard bestFit picks each time (least room left, ties to the lowest id)', () => {
  const shardArb = fc.record({ load: fc.integer({ min: 0, max: 120 }), receiver: fc.boolean() });
  fc.assert(fc.property(
    fc.array(shardArb, { minLength: 1, maxLength: 12 }), fc.integer({ min: -1, max: 11 }), fc.integer({ min: 40, max: 200 }),
    // Few distinct sizes and loads: ties of load, and of room, are common.
    fc.array(fc.constantFrom(1, 5, 10, 20, 40, 60), { minLength: 1, maxLength: 60 }),
    (shards, draining, budget, sizes) => {
      const load = shards.map((s) => s.load);
      const st = { load, budget, receiver: shards.map((s) => s.receiver), drainingShard: draining < shards.length ? draining : -1, existing: shards.length } as unknown as PlanState;
      const candidates = shards.flatMap((s, r) => (s.receiver && r !== st.drainingShard ? [r] : []));
      assert.ok(FitIndex.exactFor(load, candidates, sizes, budget));
      const index = new FitIndex(load, candidates);
      for (const size of sizes) {
        const want = bestFit(st, size, withinBudget);
        assert.equal(index.best(size, budget), want, `size ${size}, loads ${load.join(',')}`);
        if (want < 0) continue;
        load[want] += size;
        index.grew(want);
      }
    },
  ), { numRuns: 2000 });
});

test('shards added as they open (phase 4\'s new shards): the index still picks what bestFit picks', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 0, max: 120 }), { maxLength: 6 }), fc.integer({ min: 40, max: 200 }),
    // Each step: a size to place, and whether a shard opens first anyway (then ties of load with empty shards occur).
    fc.array(fc.tuple(fc.constantFrom(1, 5, 10, 20, 40, 60), fc.boolean()), { minLength: 1, maxLength: 80 }),
    (loads, budget, steps) => {
      const load = [...loads];
      const st = { load, budget, receiver: load.map(() => true), drainingShard: -1, existing: load.length } as unknown as PlanState;
      const index = new FitIndex(load, load.map((_, r) => r));
      const open = (): number => {
        const r = load.push(0) - 1;
        (st.receiver as boolean[]).push(true);
        (st as { existing: number }).existing++;
        index.add(r);
        return r;
      };
      for (const [size, opens] of steps) {
        if (opens) open();
        let want = bestFit(st, size, withinBudget);
        assert.equal(index.best(size, budget), want, `size ${size}, loads ${load.join(',')}`);
        if (want < 0) want = open();
        load[want] += size;
        index.grew(want);
      }
    },
  ), { numRuns: 2000 });
});

test('the index is only offered for safe integers: a fractional load, size or budget, or a sum beyond 2^53, is refused', () => {
  assert.equal(FitIndex.exactFor([1, 2], [0, 1], [3], 10), true);
  assert.equal(FitIndex.exactFor([1, 2.5], [0, 1], [3], 10), false);
  assert.equal(FitIndex.exactFor([1, 2], [0, 1], [0.5], 10), false);
  assert.equal(FitIndex.exactFor([1, 2], [0, 1], [3], 10.5), false);
  assert.equal(FitIndex.exactFor([Number.MAX_SAFE_INTEGER - 5, 2], [0, 1], [3], 10), false);
  // A shard that is not a candidate is not read.
  assert.equal(FitIndex.exactFor([1, 2.5], [0], [3], 10), true);
  // With `which`, only the sizes of those targets are read (the planner's series by slot, the targets to place).
  assert.equal(FitIndex.exactFor([1, 2], [0, 1], [3, 0.5, 4], 10, [2, 0]), true);
  assert.equal(FitIndex.exactFor([1, 2], [0, 1], [3, 0.5, 4], 10, [2, 1]), false);
});
