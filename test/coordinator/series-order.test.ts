/** The shared parts of ordering targets by series then hash (src/coordinator/series-order.ts), against comparators. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { countableSpan, selectByHash, seriesRunStarts, sortByHash } from '../../src/coordinator/series-order.js';
import { orderKey } from '../../src/coordinator/sorted-keys.js';

// Hashes sharing their first six characters often: their order keys tie and the strings decide.
const hashArb = fc.tuple(fc.constantFrom('00000a', '00000b', 'ffffff'), fc.stringMatching(/^[0-9a-f]{0,8}$/)).map(([p, s]) => p + s);
const byHash = (hashes: readonly string[]) => (a: number, b: number): number => (hashes[a]! < hashes[b]! ? -1 : hashes[a]! > hashes[b]! ? 1 : 0);

test('sortByHash orders any slice as the comparator on the strings; selectByHash finds every rank', () => {
  fc.assert(fc.property(fc.uniqueArray(hashArb, { minLength: 1, maxLength: 200 }), fc.nat(), fc.nat(), (hashes, x, y) => {
    const n = hashes.length;
    const idx = Int32Array.from(hashes.map((_, i) => i).reverse());
    const keys = Float64Array.from(idx, (i) => orderKey(hashes[i]!));
    const [lo, hi] = [Math.min(x % n, y % n), Math.max(x % n, y % n)];
    const want = [...idx.slice(0, lo), ...[...idx.slice(lo, hi + 1)].sort(byHash(hashes)), ...idx.slice(hi + 1)];
    sortByHash(idx, keys, lo, hi, hashes);
    assert.deepEqual([...idx], want);
    assert.deepEqual([...keys], want.map((i) => orderKey(hashes[i]!)), 'the keys moved with their targets');
    const sorted = hashes.map((_, i) => i).sort(byHash(hashes));
    const run = Int32Array.from(hashes.map((_, i) => i));
    const runKeys = Float64Array.from(run, (i) => orderKey(hashes[i]!));
    // Ranks asked in any order over one working copy, as relief asks them.
    for (const k of [x % n, y % n, 0, n - 1, (x + y) % n]) assert.equal(selectByHash(run, runKeys, k, hashes), sorted[k]);
  }), { numRuns: 1000 });
});

test('countableSpan: counts spanning less than four times the list; seriesRunStarts: each run\'s start, either direction', () => {
  assert.deepEqual(countableSpan([0, 1, 2], [5, 7, 5]), { min: 5, max: 7 });
  assert.equal(countableSpan([0, 1], [0, 8]), null, 'a span of 8 for 2 targets');
  assert.equal(countableSpan([0, 1], [1, 1.5]), null);
  assert.equal(countableSpan([], []), null);
  fc.assert(fc.property(fc.array(fc.integer({ min: -5, max: 20 }), { minLength: 7, maxLength: 60 }), fc.boolean(), (series, descending) => {
    const list = series.map((_, i) => i);
    const span = countableSpan(list, series);
    if (span === null) return;
    const starts = seriesRunStarts(list, series, span, descending);
    const order = list.slice().sort((a, b) => (descending ? series[b]! - series[a]! : series[a]! - series[b]!));
    for (let b = 0; b <= span.max - span.min; b++) {
      const v: number = descending ? span.max - b : span.min + b;
      const run: number[] = [];
      order.forEach((i, p) => series[i] === v && run.push(p));
      assert.equal(starts[b + 1]! - starts[b]!, run.length, `run of ${v}`);
      if (run.length > 0) assert.equal(starts[b], run[0]);
    }
  }), { numRuns: 500 });
});
