/** The gateway's pure parts: when one sample per series is enough, and Prometheus's label-set order. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needsLastSampleOnly } from '../../src/query/gateway.js';
import { mergeAnswers, sortSeries } from '../../src/query/merge.js';
import { encodeQueryResult, scanReadResponse } from '../../src/query/remote/series-wire.js';
import type { ReadQuery } from '../../src/query/remote/read-proto.js';

const L = 300_000;
const q = (start: number, end: number, hints?: Partial<NonNullable<ReadQuery['hints']>>): ReadQuery => ({
  startMs: start, endMs: end, matchers: [],
  hints: hints ? { stepMs: 0, func: '', startMs: start, endMs: end, grouping: [], by: false, rangeMs: 0, ...hints } : undefined,
});

test('one sample per series only for an instant selector of exactly the querier\'s lookback', () => {
  assert.equal(needsLastSampleOnly(q(1000, 1000 + L, {}), L), true, 'count(x) at one time');
  assert.equal(needsLastSampleOnly(q(1000, 1000 + L, { func: 'timestamp' }), L), true, 'timestamp(x) reads the last sample too');
  assert.equal(needsLastSampleOnly(q(1000, 1000 + L, {}), NaN), false, 'a client that does not say its lookback');
  assert.equal(needsLastSampleOnly(q(1000, 1000 + L), L), false, 'no hints');
  assert.equal(needsLastSampleOnly(q(1000, 1000 + L, { rangeMs: 60_000 }), L), false, 'a range selector');
  assert.equal(needsLastSampleOnly(q(1000, 1000 + L, { stepMs: 15_000 }), L), false, 'a range query');
  assert.equal(needsLastSampleOnly(q(1000, 1000 + L, { func: 'series' }), L), false, 'the series API');
  // x[10m:1m] in an instant query: the selector's window is the subquery range plus the lookback.
  assert.equal(needsLastSampleOnly(q(1000, 1000 + 600_000 + L, {}), L), false, 'inside a subquery');
  // Another selector of the same query needs more: the query window is wider than the selector's.
  const wide = q(1000, 1000 + L, {});
  wide.startMs -= 60_000;
  assert.equal(needsLastSampleOnly(wide, L), false, 'query window wider than the selector');
});

test('sortSeries: Prometheus\'s label-set order (name then value, bytewise UTF-8, a prefix first)', () => {
  const inOrder: Array<Array<[string, string]>> = [
    [['B', 'x']], // 'B' (0x42) before 'a' (0x61)
    [['a', '1']],
    [['a', '1'], ['b', '2']], // a longer set after its prefix
    [['a', '10']],
    [['a', 'z']],
    [['a', '\u00e9']], // é: c3 a9
    [['a', '\uffee']], // ef bf ae
    [['a', '\u{1F600}']], // f0 9f 98 80, though its first UTF-16 unit (0xd83d) is below 0xffee
  ];
  // Two shards, each answering in some other order, with a replica label to drop.
  const shuffled = inOrder.map((l, k) => ({ l, k })).sort((a, b) => ((a.k * 5) % 8) - ((b.k * 5) % 8));
  const table = (part: typeof shuffled, r: string) => scanReadResponse(encodeQueryResult(part.map(({ l }) => ({ labels: [...l, ['replica', r]].sort((x, y) => (x[0] < y[0] ? -1 : 1)) as Array<[string, string]>, samples: { t: [1], v: [1] } }))), ['replica'])[0]!;
  const out = sortSeries(mergeAnswers([table(shuffled.slice(0, 4), '0'), table(shuffled.slice(4), '1')], { counter: false, fallbackIntervalMs: 0 }));
  assert.deepEqual(out.map((o) => o.table.labels(o.i)), inOrder);
});
