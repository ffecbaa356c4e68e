/** Replica deduplication (Thanos's penalty algorithm with kvass's gap rule) and the merge of shard answers, on hand-worked cases. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dedupSamples, isCounterFunc } from '../../src/query/dedup.js';
import { mergeAnswers } from '../../src/query/merge.js';
import { encodeQueryResult, scanReadResponse, type OutSeries, type Samples, type SeriesTable } from '../../src/query/remote/series-wire.js';

const s = (pairs: Array<[number, number]>): Samples => ({ t: pairs.map(([t]) => t), v: pairs.map(([, v]) => v) });
const sec = (...ts: number[]) => ts.map((t) => [t * 1000, t] as [number, number]);

test('identical copies give one copy', () => {
  const a = s(sec(0, 10, 20, 30));
  assert.deepEqual(dedupSamples([a, s(sec(0, 10, 20, 30))], false), a);
});

test('a copy scraped at another phase is not interleaved: the penalty keeps the sample rate', () => {
  const a = s(sec(0, 10, 20, 30, 40));
  const b = s(sec(5, 15, 25, 35, 45));
  assert.deepEqual(dedupSamples([a, b], false).t, [0, 10, 20, 30, 40].map((x) => x * 1000));
});

test('interval unknown: Thanos\'s steps, a gap in one copy is filled from the other after the penalty', () => {
  const a = s(sec(0, 10, 20, 60, 70));
  const b = s(sec(5, 15, 25, 35, 45, 55, 65, 75));
  // after 20 s the penalty on b is 2×10 s, so b is sought from 40 s: 45 s; a then carries a 50 s penalty.
  assert.deepEqual(dedupSamples([a, b], false).t, [0, 10, 20, 45, 55, 65, 75].map((x) => x * 1000));
});

test('interval unknown: Thanos\'s steps, a copy that ends early hands over past the penalty', () => {
  const a = s(sec(0, 10, 20));
  const b = s(sec(1, 11, 21, 31, 41));
  const out = dedupSamples([a, b], false).t.map((t) => t / 1000);
  assert.deepEqual(out, [0, 10, 20, 41]); // 31 falls within b's penalty of 2×10 s after 20 s: from 21 s on, 31 < 20+1+20
});

test('gap rule: a copy that ends hands over at the other\'s next scrape slot, not past the penalty', () => {
  const a = s(sec(0, 10, 20));
  const b = s(sec(1, 11, 21, 31, 41));
  // 21 s is within half an interval of 20 s (the same scrape); 31 s is the next slot.
  assert.deepEqual(dedupSamples([a, b], false, 10_000).t.map((t) => t / 1000), [0, 10, 20, 31, 41]);
  // 34 s: 24 s is the slot of 20 s. 26 s: more than half an interval after 20 s, a scrape of its own, taken.
  assert.deepEqual(dedupSamples([s(sec(0, 10, 20)), s(sec(4, 14, 24, 34))], false, 10_000).t.map((t) => t / 1000), [0, 10, 20, 34]);
  assert.deepEqual(dedupSamples([s(sec(0, 10, 20)), s(sec(4, 14, 26, 36))], false, 10_000).t.map((t) => t / 1000), [0, 10, 20, 26, 36]);
});

test('gap rule: a hole in the copy being read is filled from the other at once; back on the first copy only when the second has a hole', () => {
  const a = s(sec(0, 10, 20, 60, 70, 80, 90, 100));
  const b = s(sec(3, 13, 23, 33, 43, 53, 63, 73));
  // b from 33 s (23 s is the slot of 20 s); b read until it ends at 73 s (a's 60 and 70 s are past b's penalty), then
  // a from its next slot: 80 s, 7 s after 73 s.
  assert.deepEqual(dedupSamples([a, b], false, 10_000).t.map((t) => t / 1000), [0, 10, 20, 33, 43, 53, 63, 73, 80, 90, 100]);
});

test('gap rule: a copy whose next sample is within 1.5 intervals is not left, even with the other sample earlier', () => {
  const a = s(sec(0, 10, 20, 34, 44)); // one late scrape (14 s), not a hole
  const b = s(sec(5, 15, 25, 35, 45));
  assert.deepEqual(dedupSamples([a, b], false, 10_000).t.map((t) => t / 1000), [0, 10, 20, 34, 44]);
});

test('a replica\'s staleness marker gives way to the other replica\'s real sample in its slot', () => {
  const r0: Samples = { t: [0, 10_000, 20_000, 30_000, 40_000], v: [0, 1, 2, 3, NaN], stale: [false, false, false, false, true] };
  const r1 = s(sec(3, 13, 23, 33, 43, 53, 63));
  const out = dedupSamples([r0, r1], false, 10_000);
  assert.deepEqual(out.t.map((t) => t / 1000), [0, 10, 20, 30, 43, 53, 63]);
  assert.equal(out.stale, undefined);
  // Both replicas stale in that slot: the series ended, the marker stays.
  const r1ends: Samples = { t: [3000, 13_000, 23_000, 33_000, 43_000], v: [0, 1, 2, 3, NaN], stale: [false, false, false, false, true] };
  assert.deepEqual(dedupSamples([r0, r1ends], false, 10_000).stale?.at(-1), true);
});

test('a replica\'s marker a few ms after its last sample gives way to the other replica\'s next slot', () => {
  // Replica 0's loop restarted by a reload: the replaced loop's marker 3 ms after the last scrape, then its own.
  const r0: Samples = { t: [0, 10_000, 20_000, 30_000, 30_003, 40_000], v: [0, 1, 2, 3, NaN, NaN], stale: [false, false, false, false, true, true] };
  const r1 = s(sec(3, 13, 23, 33, 43, 53));
  const out = dedupSamples([r0, r1], false, 10_000);
  assert.deepEqual(out.t.map((t) => t / 1000), [0, 10, 20, 30, 43, 53]);
  assert.equal(out.stale, undefined);
});

test('a replica\'s marker where the read ends before the other replica\'s next scrape is left out', () => {
  // Replica 0 stopped at 30 s (marker at 40 s); replica 1's 33 s is the slot of 30 s, and its 43 s lies past the read's end.
  const r0: Samples = { t: [0, 10_000, 20_000, 30_000, 40_000], v: [0, 1, 2, 3, NaN], stale: [false, false, false, false, true] };
  const r1 = s(sec(3, 13, 23, 33));
  assert.deepEqual(dedupSamples([r0, r1], false, 10_000, 41_000).stale, undefined);
  assert.deepEqual(dedupSamples([r0, r1], false, 10_000, 41_000).t.map((t) => t / 1000), [0, 10, 20, 30]);
  // The read went on past replica 1's next scrape, which is not there: the marker stays (and with the end unknown).
  assert.deepEqual(dedupSamples([r0, r1], false, 10_000, 60_000).stale?.at(-1), true);
  assert.deepEqual(dedupSamples([r0, r1], false, 10_000).stale?.at(-1), true);
});

test('gap rule with three replicas: the earliest next slot of any other copy', () => {
  const a = s(sec(0, 10, 20));
  const b = s(sec(3, 13, 23, 33));
  const c = s(sec(2, 12, 22, 32, 42));
  // a ends after 20 s; b's 23 s and c's 22 s are its slot; c's 32 s is the earliest later slot, then c goes on.
  assert.deepEqual(dedupSamples([a, b, c], false, 10_000).t.map((t) => t / 1000), [0, 10, 20, 32, 42]);
});

test('counter adjustment: switching to a copy that restarted lower adds the difference', () => {
  const a = s([[0, 10], [10_000, 20], [20_000, 30]]);
  const b = s([[45_000, 5], [55_000, 15], [65_000, 25]]); // b restarted: lower values
  assert.deepEqual(dedupSamples([a, b], true).v, [10, 20, 30, 30, 40, 50]);
  assert.deepEqual(dedupSamples([a, b], false).v, [10, 20, 30, 5, 15, 25]);
  assert.ok(isCounterFunc('rate') && isCounterFunc('increase') && isCounterFunc('irate') && isCounterFunc('resets'));
  assert.ok(!isCounterFunc('sum') && !isCounterFunc(''));
});

test('properties: output is strictly increasing in time, every output sample is an input sample, one copy is itself', () => {
  const copy = fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), { maxLength: 40 }).map((ts) => ts.sort((x, y) => x - y).map((t) => [t * 100, t] as [number, number]));
  fc.assert(fc.property(fc.array(copy, { minLength: 1, maxLength: 4 }), (copies) => {
    const inputs = copies.map(s);
    const out = dedupSamples(inputs, false);
    for (let i = 1; i < out.t.length; i++) assert.ok(out.t[i]! > out.t[i - 1]!);
    const all = new Set(inputs.flatMap((c) => c.t));
    for (const t of out.t) assert.ok(all.has(t));
    // With one copy only, the output is that copy.
    if (inputs.length === 1) assert.deepEqual(out, inputs[0]);
    // The first sample of all is always kept (nothing precedes it to penalise).
    const first = Math.min(Infinity, ...inputs.map((c) => c.t[0] ?? Infinity));
    if (first !== Infinity) assert.equal(out.t[0], first);
  }), { numRuns: 300 });
});

const read = (o: OutSeries) => ({
  labels: o.table.labels(o.i).map(([n, v]) => `${n}=${v}`).join(','),
  t: o.samples?.t ?? (o.range ? o.table.samples(o.i).t.slice(-1) : o.table.samples(o.i).t),
});
const table = (series: Array<[Array<[string, string]>, Samples]>): SeriesTable => scanReadResponse(encodeQueryResult(series.map(([labels, samples]) => ({ labels, samples }))), ['replica'])[0]!;

test('mergeAnswers: replica labels dropped, copies merged, each series once', () => {
  const shard0 = table([
    [[['__name__', 'a'], ['replica', '0']], s(sec(0, 10))],
    [[['__name__', 'c'], ['replica', '0']], s(sec(0, 10))],
  ]);
  const shard1 = table([
    [[['__name__', 'b'], ['replica', '1']], s(sec(1, 11))],
    [[['__name__', 'a'], ['replica', '1']], s(sec(1, 11, 35))],
  ]);
  const stats = { series: 0, deduplicated: 0, histograms: 0 };
  const out = mergeAnswers([shard0, shard1], { counter: false, fallbackIntervalMs: 0 }, stats).map(read).sort((x, y) => x.labels.localeCompare(y.labels));
  assert.deepEqual(out, [
    { labels: '__name__=a', t: [0, 10_000, 35_000] },
    { labels: '__name__=b', t: [1000, 11_000] },
    { labels: '__name__=c', t: [0, 10_000] },
  ]);
  assert.deepEqual(stats, { series: 3, deduplicated: 1, histograms: 0 });
});

test('mergeAnswers: byte-identical copies are taken as they are; different label sets stay apart', () => {
  const one = table([[[['a', '1'], ['replica', 'x']], s(sec(0, 10))], [[['a', '1'], ['b', '2']], s(sec(0))]]);
  const two = table([[[['a', '1'], ['replica', 'y']], s(sec(0, 10))], [[['a', '10']], s(sec(0))]]);
  const stats = { series: 0, deduplicated: 0, histograms: 0 };
  const out = mergeAnswers([one, two], { counter: false, fallbackIntervalMs: 0 }, stats).map((o) => read(o).labels).sort();
  assert.deepEqual(out, ['a=1', 'a=1,b=2', 'a=10']);
  assert.equal(stats.deduplicated, 0);
});

test('mergeAnswers with lastOnly keeps each series\' last sample', () => {
  const out = mergeAnswers([table([[[['x', '1']], s(sec(0, 10, 20))]]), table([[[['y', '1']], s(sec(5))]])], { counter: false, fallbackIntervalMs: 0, lastOnly: true }).map(read);
  assert.deepEqual(out, [{ labels: 'x=1', t: [20_000] }, { labels: 'y=1', t: [5000] }]);
});

test('a staleness marker chosen by the dedup stays a marker', () => {
  const a: Samples = { t: [0, 10_000, 20_000], v: [1, 2, NaN], stale: [false, false, true] };
  const b: Samples = { t: [1000, 11_000], v: [1, 2] };
  const out = dedupSamples([a, b], false);
  assert.deepEqual(out.t, [0, 10_000, 20_000]);
  assert.deepEqual(out.stale, [false, false, true]);
});
