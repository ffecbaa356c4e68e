/** SlotSet against a Set<number> over random adds, look-ups and clears: same members, same order, same size. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SlotSet } from '../../src/coordinator/slot-set.js';

type Op = { add: number } | { has: number } | { clear: true };

const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.nat(5000).map((add) => ({ add })), weight: 8 },
  { arbitrary: fc.nat(6000).map((has) => ({ has })), weight: 3 },
  { arbitrary: fc.constant({ clear: true as const }), weight: 1 },
);

test('SlotSet holds what a Set<number> holds, in the order added, across clears and growth', () => {
  fc.assert(fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
    const s = new SlotSet();
    const model = new Set<number>();
    for (const o of ops) {
      if ('add' in o) {
        s.add(o.add);
        model.add(o.add);
      } else if ('has' in o) assert.equal(s.has(o.has), model.has(o.has));
      else {
        s.clear();
        model.clear();
      }
      assert.equal(s.size, model.size);
    }
    const byPosition = Array.from({ length: s.size }, (_, k) => s.at(k));
    assert.deepEqual(byPosition, [...model]);
    assert.deepEqual([...s], [...model]);
    for (const i of model) assert.ok(s.has(i));
  }), { numRuns: 1000 });
});

test('SlotSet: a slot added while iterating by position is visited, as in a Set', () => {
  const s = new SlotSet();
  s.add(3);
  const seen: number[] = [];
  for (let k = 0; k < s.size; k++) {
    const i = s.at(k);
    seen.push(i);
    if (i < 6) s.add(i + 1);
  }
  assert.deepEqual(seen, [3, 4, 5, 6]);
});
