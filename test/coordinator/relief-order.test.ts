import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReliefOrder, type OrderKeys } from '../../src/coordinator/relief-order.js';
import { orderKey } from '../../src/coordinator/sorted-keys.js';

/** Slots 0..n-1, none on a shard yet, with hashes whose order keys tie in pairs (the strings decide). */
function slots(n: number): OrderKeys & { counted: number[] } {
  const hashes = Array.from({ length: n }, (_, i) => `shared${String((i * 37) % n).padStart(3, '0')}`);
  return { counted: new Array<number>(n).fill(0), hashKeys: Float64Array.from(hashes, orderKey), hashes };
}

/** Shard s's slots in relief's order (the series each is counted with, then hash), worked out from scratch. */
function expected(on: number[], keys: OrderKeys & { counted: number[] }, s: number): number[] {
  const mine = on.flatMap((shard, i) => (shard === s ? [i] : []));
  return mine.sort((a, b) => keys.counted[a]! - keys.counted[b]! || (keys.hashes[a]! < keys.hashes[b]! ? -1 : 1));
}

test('a kept order follows slots that come, go and are counted anew, as the order worked out from scratch', () => {
  const N = 24;
  const S = 3;
  // A step: slot i moves to shard `to` (-1: none) counted with `size`, as the planner's resolve tells it.
  const stepArb = fc.record({ i: fc.integer({ min: 0, max: N - 1 }), to: fc.integer({ min: -1, max: S - 1 }), size: fc.integer({ min: 1, max: 4 }) });
  let told = 0;
  fc.assert(fc.property(fc.array(stepArb, { minLength: 1, maxLength: 60 }), fc.integer({ min: 0, max: S - 1 }), fc.nat(20), (steps, keptShard, keepAt) => {
    const keys = slots(N);
    const on = new Array<number>(N).fill(-1);
    const order = new ReliefOrder();
    for (const [k, { i, to, size }] of steps.entries()) {
      // Kept from some step on, as relief keeps a shard's order the first time it relieves it.
      if (k === Math.min(keepAt, steps.length - 1)) order.keep(keptShard, expected(on, keys, keptShard));
      const from = on[i]!;
      const was = keys.counted[i]!;
      on[i] = to;
      keys.counted[i] = to >= 0 ? size : 0;
      if (from === to && keys.counted[i] === was) continue;
      if (from >= 0) order.remove(from, i, was, keys);
      if (to >= 0) order.insert(to, i, keys.counted[i]!, keys);
      if (from === keptShard || to === keptShard) told++;
    }
    assert.deepEqual(Array.from(order.of(keptShard) ?? []), expected(on, keys, keptShard));
    for (let s = 0; s < S; s++) if (s !== keptShard) assert.equal(order.of(s), null, 'a shard relief never ordered is not kept');
    assert.equal(order.lost, 0);
  }), { numRuns: 2000 });
  assert.ok(told > 2000, `changes told to the kept shard: ${told}`);
});

test('a kept order that is told of a slot it does not hold is forgotten, counted, and not kept further', () => {
  const keys = slots(4);
  keys.counted.splice(0, 4, 2, 1, 3, 1);
  const order = new ReliefOrder();
  order.keep(0, [1, 3, 0]);
  order.remove(0, 2, 3, keys); // slot 2 was never on shard 0
  assert.equal(order.lost, 1);
  assert.equal(order.of(0), null);
  assert.equal(order.any, false);
  order.insert(0, 2, 3, keys);
  assert.equal(order.of(0), null, 'not kept again until relief orders the shard anew');
});

test('clear forgets every kept order', () => {
  const keys = slots(3);
  const order = new ReliefOrder();
  order.keep(0, [0]);
  order.keep(2, [1, 2]);
  assert.equal(order.any, true);
  order.clear();
  assert.equal(order.any, false);
  assert.equal(order.of(2), null);
  order.insert(2, 0, 1, keys);
  assert.equal(order.of(2), null);
});

test('a kept order grows past the room it was made with and keeps every slot', () => {
  const keys = slots(60);
  const order = new ReliefOrder();
  keys.counted[0] = 5;
  keys.counted[1] = 1;
  order.keep(0, [1, 0]);
  for (let i = 2; i < 60; i++) {
    keys.counted[i] = i % 7;
    order.insert(0, i, keys.counted[i]!, keys);
  }
  const on = new Array<number>(60).fill(0);
  assert.deepEqual(Array.from(order.of(0)!), expected(on, keys, 0));
});
