/** The placed targets (src/coordinator/placed.ts): counts per target from a plan's records, kept up to date, and their holders. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PlacedTargets } from '../../src/coordinator/placed.js';
import { holderChanges } from '../helpers/holder-changes.js';

// Up to five records over eight targets: a target in none, one, or several (a transfer; three and more too).
const recordsArb = fc.array(fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'), { maxLength: 8 }).map((ks) => ({ keys: ks.sort() })), { maxLength: 5 });

/** The holders of each key as a Map built in the obvious way: ordinals ascending. */
function holdersModel(records: ReadonlyArray<{ keys: readonly string[] }>): Map<string, number[]> {
  const m = new Map<string, number[]>();
  records.forEach((r, i) => r.keys.forEach((k) => (m.get(k) ?? m.set(k, []).get(k)!).push(i)));
  return m;
}

function counts(p: PlacedTargets, keys: readonly string[]): Record<string, number> {
  return Object.fromEntries(keys.map((k) => [k, p.holding(k)]));
}

const ALL = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

test('counted from records: each target with the records holding it, those in two or more in transfer, and their holders', () => {
  fc.assert(fc.property(recordsArb, (records) => {
    const model = holdersModel(records);
    const p = new PlacedTargets();
    p.fromRecords(records);
    assert.deepEqual(counts(p, ALL), Object.fromEntries(ALL.map((k) => [k, model.get(k)?.length ?? 0])));
    assert.equal(p.size, model.size);
    assert.deepEqual([...p.inTransfer].sort(), [...model].filter(([, o]) => o.length > 1).map(([k]) => k).sort());
    const told = new Map<string, number[]>();
    p.holdersIn(records).forEach((ordinals, hash) => {
      assert.ok(!told.has(hash), `${hash} told once`);
      told.set(hash, typeof ordinals === 'number' ? [ordinals] : [...ordinals]);
    });
    assert.deepEqual([...told].sort(), [...model].sort());
    for (const k of ALL) assert.equal(p.holdersIn(records).has(k), model.has(k));
  }), { numRuns: 1000 });
});

test('kept up to date from the changes between two plans, the counts equal those made afresh', () => {
  fc.assert(fc.property(recordsArb, recordsArb, (before, after) => {
    const p = new PlacedTargets();
    p.fromRecords(before);
    p.applyChanges(holderChanges(holdersModel(before), holdersModel(after)));
    const fresh = new PlacedTargets();
    fresh.fromRecords(after);
    assert.deepEqual(counts(p, ALL), counts(fresh, ALL));
    assert.equal(p.size, fresh.size);
    assert.deepEqual([...p.inTransfer].sort(), [...fresh.inTransfer].sort());
  }), { numRuns: 1000 });
});
