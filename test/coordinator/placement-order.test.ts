/** Placement order by counting sort and order keys (src/coordinator/placement-order.ts) is the comparator's order. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { placementOrder } from '../../src/coordinator/placement-order.js';
import { bySizeDesc, type PlanState } from '../../src/coordinator/planner-state.js';
import { orderKey } from '../../src/coordinator/sorted-keys.js';

// Hashes sharing their first six characters often (their order keys tie: the strings decide), and series from a few
// values (long runs of equal series, sorted by the quicksort rather than by insertion).
const hashArb = fc.tuple(fc.constantFrom('00000a', '00000b', 'ffffff', 'a1b2c3'), fc.stringMatching(/^[0-9a-f]{0,10}$/)).map(([p, s]) => p + s);
const sizesOf = (values: fc.Arbitrary<number>) => fc.array(values, { minLength: 400, maxLength: 400 });
const sizesArb = fc.oneof(
  sizesOf(fc.integer({ min: 50, max: 53 })),
  sizesOf(fc.integer({ min: 0, max: 300 })),
  // Too wide a span, or not all integers: the comparator.
  sizesOf(fc.integer({ min: 0, max: 100_000 })),
  sizesOf(fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom(0.5, 2 ** 53))),
);

test('the targets come in the order of bySizeDesc (series descending, then hash), whichever way they are sorted', () => {
  fc.assert(fc.property(fc.uniqueArray(hashArb, { minLength: 40, maxLength: 400, size: 'max' }), sizesArb, fc.boolean(), (hashes, sizes, keyed) => {
    const series = hashes.map((_, i) => sizes[i]!);
    const hashKeys = keyed ? Float64Array.from(hashes, orderKey) : undefined;
    const st = { series, hashes, hashKeys } as unknown as PlanState;
    // A subset, in no particular order: the targets to place.
    const list = hashes.map((_, i) => i).filter((i) => i % 3 !== 1).reverse();
    assert.deepEqual(placementOrder(st, list), list.slice().sort(bySizeDesc(st)));
  }), { numRuns: 1000 });
});
