/**
 * HashIndex against a Map<string, number> over random sets (after a look-up or not), deletes, look-ups, room made
 * for more keys (reserve) and clears, with keys that are target hashes (16 lower-case hex digits) and keys that are
 * not (upper case, shorter, longer, other characters), through growth past its first table and shrinking back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HashIndex } from '../../src/coordinator/hash-index.js';

/** Keys from a small pool, so that sets, deletes and look-ups meet; most are hashes, some are near misses. */
function keyOf(n: number): string {
  const hex = (n * 2654435761 >>> 0).toString(16).padStart(8, '0') + (n * 40503 >>> 0).toString(16).padStart(8, '0');
  switch (n % 11) {
    case 0: return hex.toUpperCase();
    case 1: return hex.slice(0, 15);
    case 2: return hex + '0';
    case 3: return hex.slice(0, 15) + 'g';
    case 4: return `t${n}`;
    default: return hex;
  }
}

type Op = { getSet: [number, number, number] } | { set: [number, number] } | { del: number } | { get: number } | { setRun: [number, number] } | { delRun: [number, number] } | { reserve: number } | { clear: true };

const op: fc.Arbitrary<Op> = fc.oneof(
  // The planner's way: a look-up, then (when it missed) a set, maybe with another key deleted or set in between.
  { arbitrary: fc.tuple(fc.nat(3000), fc.nat(3000), fc.nat(2 ** 31 - 2)).map((getSet) => ({ getSet })), weight: 6 },
  { arbitrary: fc.tuple(fc.nat(3000), fc.nat(2 ** 31 - 2)).map((set) => ({ set })), weight: 6 },
  { arbitrary: fc.nat(3000).map((del) => ({ del })), weight: 4 },
  { arbitrary: fc.nat(3500).map((get) => ({ get })), weight: 4 },
  // Runs: past the first table's 1024 buckets, and most of it taken out again (the table shrinks).
  { arbitrary: fc.tuple(fc.nat(3000), fc.integer({ min: 1, max: 1500 })).map((setRun) => ({ setRun })), weight: 1 },
  { arbitrary: fc.tuple(fc.nat(3000), fc.integer({ min: 1, max: 1500 })).map((delRun) => ({ delRun })), weight: 1 },
  { arbitrary: fc.nat(4000).map((reserve) => ({ reserve })), weight: 1 },
  { arbitrary: fc.constant({ clear: true as const }), weight: 1 },
);

test('HashIndex holds what a Map<string, number> holds, for hash keys and any others, through growth, room made ahead and shrinking', () => {
  // Draws that grew past 1,000 keys (12–25 of the 300 in 20 trials of the generator alone): at least 5 asked, as a
  // count of steps (31–85 in the same trials) failed a run at 50.
  let bigRuns = 0;
  fc.assert(fc.property(fc.array(op, { maxLength: 120 }), fc.constantFrom(16, 1024), (ops, minBuckets) => {
    let big = false;
    const ix = new HashIndex(minBuckets);
    const model = new Map<string, number>();
    for (const o of ops) {
      if ('getSet' in o) {
        const [n, m, v] = o.getSet;
        assert.equal(ix.get(keyOf(n)), model.get(keyOf(n)));
        if (m % 4 === 0) assert.equal(ix.delete(keyOf(m)), model.delete(keyOf(m)));
        else if (m % 4 === 1) (ix.set(keyOf(m), v), model.set(keyOf(m), v));
        // Room made for up to 3,000 keys between the miss and its set: the table may be made anew in between.
        else if (m % 4 === 3) ix.reserve(m);
        ix.set(keyOf(n), v);
        model.set(keyOf(n), v);
      } else if ('set' in o) {
        ix.set(keyOf(o.set[0]), o.set[1]);
        model.set(keyOf(o.set[0]), o.set[1]);
      } else if ('del' in o) assert.equal(ix.delete(keyOf(o.del)), model.delete(keyOf(o.del)));
      else if ('get' in o) assert.equal(ix.get(keyOf(o.get)), model.get(keyOf(o.get)));
      else if ('setRun' in o) {
        for (let n = o.setRun[0]; n < o.setRun[0] + o.setRun[1]; n++) (ix.set(keyOf(n), n), model.set(keyOf(n), n));
      } else if ('delRun' in o) {
        for (let n = o.delRun[0]; n < o.delRun[0] + o.delRun[1]; n++) assert.equal(ix.delete(keyOf(n)), model.delete(keyOf(n)));
      } else if ('reserve' in o) ix.reserve(o.reserve);
      else {
        ix.clear();
        model.clear();
      }
      assert.equal(ix.size, model.size);
      if (model.size > 1000) big = true;
    }
    if (big) bigRuns++;
    for (const [k, v] of model) assert.equal(ix.get(k), v, k);
    for (let n = 0; n < 4500; n += 7) assert.equal(ix.get(keyOf(n)) !== undefined, model.has(keyOf(n)), keyOf(n));
  }), { numRuns: 300 });
  assert.ok(bigRuns >= 5, `indexes past 1,000 keys were drawn (${bigRuns} of 300 runs)`);
});

test('HashIndex: every key stays found while the others are deleted one by one, in any order (runs that wrap the table)', () => {
  // 600 keys in the first table's 1024 buckets: long runs, some across its end. After each delete, every key is checked.
  const keys = Array.from({ length: 600 }, (_, n) => keyOf(n * 11 + 5));
  const orders = [keys.map((_, v) => v), keys.map((_, v) => keys.length - 1 - v), keys.map((_, v) => (v * 277) % keys.length)];
  for (const order of orders) {
    const ix = new HashIndex();
    keys.forEach((k, v) => ix.set(k, v));
    const gone = new Set<number>();
    for (const d of order) {
      assert.ok(ix.delete(keys[d]!));
      gone.add(d);
      keys.forEach((k, v) => assert.equal(ix.get(k), gone.has(v) ? undefined : v, `${k} after deleting ${keys[d]}`));
    }
    assert.equal(ix.size, 0);
  }
});

test('HashIndex: a key with a character that is not a hex digit is not read as the hash it would spell', () => {
  const ix = new HashIndex();
  ix.set('aaaaaaaaaaaaaab0', 1);
  ix.set('aaaaaaaaaaaaaaag', 2); // "g" as a digit worth 16 would spell …ab0
  ix.set('AAAAAAAAAAAAAAB0', 3);
  assert.deepEqual(['aaaaaaaaaaaaaab0', 'aaaaaaaaaaaaaaag', 'AAAAAAAAAAAAAAB0', 'aaaaaaaaaaaaaab'].map((k) => ix.get(k)), [1, 2, 3, undefined]);
  assert.equal(ix.size, 3);
});

test('HashIndex: a set after a look-up that missed finds the key, also with other keys deleted or added in between', () => {
  const keys = Array.from({ length: 2000 }, (_, n) => keyOf(n * 11 + 5));
  // A table of 16 buckets at first: keys collide, and an add between lands in the bucket the look-up ended at.
  for (const between of ['delete', 'add'] as const) {
    const ix = new HashIndex(16);
    const model = new Map<string, number>();
    keys.slice(0, 600).forEach((k, v) => (ix.set(k, v), model.set(k, v)));
    for (let t = 0; t < 40; t++) {
      const k = keys[600 + t]!;
      assert.equal(ix.get(k), undefined);
      // Deletes take keys out of runs (and shrink the table past its bound); adds fill buckets (and grow it).
      for (let j = 0; j < 30; j++) {
        const other = keys[(t * 30 + j) % 600 + (between === 'add' ? 1000 : 0)]!;
        if (between === 'delete') (ix.delete(other), model.delete(other));
        else (ix.set(other, j), model.set(other, j));
      }
      ix.set(k, 7_000 + t);
      model.set(k, 7_000 + t);
      for (const [key, v] of model) assert.equal(ix.get(key), v, `${key} (${between}, trial ${t})`);
    }
  }
});
