/** Thanos's penalty deduplication and the merge of shard answers, on hand-worked cases. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dedupSamples, isCounterFunc } from '../../src/query/dedup.js';
import { mergeAnswers } from '../../src/query/merge.js';
import { encodeQueryResult, scanReadResponse, type OutSeries, type Samples, type SeriesTable } from '../../src/prom/remote/series-wire.js';

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

test('a gap in one copy is filled from the other after the penalty (worked by hand from the algorithm)', () => {
  const a = s(sec(0, 10, 20, 60, 70));
  const b = s(sec(5, 15, 25, 35, 45, 55, 65, 75));
  // after 20 s the penalty on b is 2×10 s, so b is sought from 40 s: 45 s; a then carries a 50 s penalty.
  assert.deepEqual(dedupSamples([a, b], false).t, [0, 10, 20, 45, 55, 65, 75].map((x) => x * 1000));
});

test('a copy that ends early hands over to the other', () => {
  const a = s(sec(0, 10, 20));
  const b = s(sec(1, 11, 21, 31, 41));
  const out = dedupSamples([a, b], false).t.map((t) => t / 1000);
  assert.deepEqual(out, [0, 10, 20, 41]); // 31 falls within b's penalty of 2×10 s after 20 s... from 21 s on: 31 < 20+1+20
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
  const out = mergeAnswers([shard0, shard1], false, stats).map(read).sort((x, y) => x.labels.localeCompare(y.labels));
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
  const out = mergeAnswers([one, two], false, stats).map((o) => read(o).labels).sort();
  assert.deepEqual(out, ['a=1', 'a=1,b=2', 'a=10']);
  assert.equal(stats.deduplicated, 0);
});

test('mergeAnswers with lastOnly keeps each series\' last sample', () => {
  const out = mergeAnswers([table([[[['x', '1']], s(sec(0, 10, 20))]]), table([[[['y', '1']], s(sec(5))]])], false, undefined, true).map(read);
  assert.deepEqual(out, [{ labels: 'x=1', t: [20_000] }, { labels: 'y=1', t: [5000] }]);
});

test('a staleness marker chosen by the dedup stays a marker', () => {
  const a: Samples = { t: [0, 10_000, 20_000], v: [1, 2, NaN], stale: [false, false, true] };
  const b: Samples = { t: [1000, 11_000], v: [1, 2] };
  const out = dedupSamples([a, b], false);
  assert.deepEqual(out.t, [0, 10_000, 20_000]);
  assert.deepEqual(out.stale, [false, false, true]);
});
