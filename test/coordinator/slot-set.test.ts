/**
 * SlotSet against a Set<number> over random adds, look-ups and clears: same members, same order, same size. SlotFlags
 * against a Set<number> over adds, deletes, look-ups, clears and runs of adds (past its short list): same members.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SlotFlags, SlotSet } from '../../src/coordinator/slot-set.js';

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

type FlagOp = { add: number } | { del: number } | { has: number } | { run: [number, number] } | { delRun: [number, number] } | { clear: true };

const flagOp: fc.Arbitrary<FlagOp> = fc.oneof(
  { arbitrary: fc.nat(400).map((add) => ({ add })), weight: 6 },
  { arbitrary: fc.nat(400).map((del) => ({ del })), weight: 4 },
  { arbitrary: fc.nat(500).map((has) => ({ has })), weight: 3 },
  // Runs of slots: many members at once (past the short list), and most of them taken out again.
  { arbitrary: fc.tuple(fc.nat(400), fc.integer({ min: 1, max: 200 })).map((run) => ({ run })), weight: 1 },
  { arbitrary: fc.tuple(fc.nat(400), fc.integer({ min: 1, max: 200 })).map((delRun) => ({ delRun })), weight: 1 },
  { arbitrary: fc.constant({ clear: true as const }), weight: 1 },
);

test('SlotFlags holds what a Set<number> holds across adds, deletes, clears, and growth past its short list', () => {
  let bigSeen = 0;
  fc.assert(fc.property(fc.array(flagOp, { maxLength: 300 }), (ops) => {
    const s = new SlotFlags();
    const model = new Set<number>();
    const check = () => {
      assert.equal(s.size, model.size);
      assert.deepEqual(s.toArray().sort((a, b) => a - b), [...model].sort((a, b) => a - b));
      assert.deepEqual([...s].sort((a, b) => a - b), [...model].sort((a, b) => a - b));
    };
    for (const o of ops) {
      if ('add' in o) {
        s.add(o.add);
        model.add(o.add);
      } else if ('del' in o) {
        s.delete(o.del);
        model.delete(o.del);
      } else if ('has' in o) assert.equal(s.has(o.has), model.has(o.has));
      else if ('run' in o) {
        for (let i = o.run[0]; i < o.run[0] + o.run[1]; i++) (s.add(i), model.add(i));
      } else if ('delRun' in o) {
        for (let i = o.delRun[0]; i < o.delRun[0] + o.delRun[1]; i++) (s.delete(i), model.delete(i));
      } else {
        s.clear();
        model.clear();
      }
      if (model.size > 64) bigSeen++;
      assert.equal(s.size, model.size);
    }
    check();
    for (const i of model) assert.ok(s.has(i));
  }), { numRuns: 1000 });
  assert.ok(bigSeen > 100, `sets past the short list were drawn (${bigSeen} steps)`);
});
