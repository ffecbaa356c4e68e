/** Stitching copies of the same scrapes (a target moving between shards), and the interval estimate, on hand-worked cases. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stitchCopies } from '../../src/query/stitch.js';
import { scrapeInterval } from '../../src/query/slots.js';
import type { Samples } from '../../src/query/remote/series-wire.js';

/** Samples at the given seconds; value = the time in seconds (a counter); `stale` seconds carry staleness markers. */
const at = (ts: number[], stale: number[] = []): Samples => {
  const out: Samples = { t: ts.map((t) => Math.round(t * 1000)), v: ts.map((t) => t) };
  if (stale.length > 0) out.stale = ts.map((t) => stale.includes(t));
  return out;
};
const secs = (s: Samples) => s.t.map((t) => t / 1000);
const staleAt = (s: Samples) => secs(s).filter((_, i) => s.stale?.[i] === true);

test('the issue\'s move: every scrape once, the old shard\'s staleness marker passed over', () => {
  // shard-0 scrapes up to :32 and writes its marker one slot later; shard-2 scrapes from :27 on (two slots of overlap).
  const old = at([7, 12, 17, 22, 27, 32, 37], [37]);
  const moved = at([27.002, 32.001, 37.003, 42, 47, 52, 57]);
  const out = stitchCopies([old, moved], 5000);
  assert.deepEqual(secs(out), [7, 12, 17, 22, 27, 32, 37.003, 42, 47, 52, 57]);
  assert.deepEqual(staleAt(out), []);
  assert.deepEqual(stitchCopies([moved, old], 5000).t.length, 11, 'the order of the copies does not matter');
});

test('a move between shards scraping at different phases: the old copy while it lasts, then the new one\'s next slot', () => {
  const old = at([0, 10, 20, 30]);
  const moved = at([26, 36, 46]);
  assert.deepEqual(secs(stitchCopies([old, moved], 10_000)), [0, 10, 20, 30, 36, 46]);
  // The new copy's phase is earlier: 34 s is the slot of 30 s; the marker at 40 s gives way to 44 s, a real sample in its slot.
  const early = at([24, 34, 44, 54]);
  const out = stitchCopies([at([0, 10, 20, 30, 40], [40]), early], 10_000);
  assert.deepEqual(secs(out), [0, 10, 20, 30, 44, 54]);
  assert.deepEqual(staleAt(out), []);
});

test('a late marker of the old shard gives way to the new shard\'s scrapes before it and in its slot', () => {
  // The old shard missed its scrape at 30 s and wrote its marker at 34 s; the new shard (other phase) has 27 and 37 s.
  const out = stitchCopies([at([0, 10, 20, 34], [34]), at([27, 37, 47, 57])], 10_000);
  assert.deepEqual(secs(out), [0, 10, 20, 27, 37, 47, 57]);
  assert.deepEqual(staleAt(out), []);
});

test('a marker a few ms after the old shard\'s last scrape (its scrape loop restarted by a reload) gives way to the new shard\'s next slot', () => {
  // The old shard's last scrape at 30 s came from the loop the reload restarted; the loop it replaced wrote its marker
  // at its own next tick, 3 ms later, and the restarted loop its own one slot later. The new shard goes on.
  const old = at([0, 10, 20, 30, 30.003, 40], [30.003, 40]);
  const moved = at([0.002, 10.001, 20.002, 30, 40.001, 50]);
  for (const copies of [[old, moved], [moved, old]]) {
    const out = stitchCopies(copies, 10_000);
    assert.deepEqual(staleAt(out), [], 'no marker: the series goes on');
    assert.equal(out.t.length, 6, `each slot once: ${secs(out)}`);
    assert.deepEqual(secs(out).slice(-2), [40.001, 50]);
  }
  // Where no copy goes on, the early marker is the end of the series, as on the shard.
  const ended = stitchCopies([old, at([0.002, 10.001, 20.002, 30])], 10_000);
  assert.deepEqual(staleAt(ended).slice(0, 1), [30.003]);
});

test('a scrape missed by the copy being read is taken from the other, and the walk stays there', () => {
  const a = at([0, 10, 30, 40]);
  const b = at([1, 11, 21, 31, 41]);
  assert.deepEqual(secs(stitchCopies([a, b], 10_000)), [0, 10, 21, 31, 41]);
});

test('a late scrape of the copy being read (within 1.5 intervals) is kept; the other copy is not interleaved', () => {
  const a = at([0, 10, 24, 30]);
  const b = at([5, 15, 25, 35]);
  // b's 35 s is in the slot of a's 30 s (half an interval after it): one scrape.
  assert.deepEqual(secs(stitchCopies([a, b], 10_000)), [0, 10, 24, 30]);
});

test('equal timestamps are one scrape; a marker and a real sample in one slot give the real sample', () => {
  assert.deepEqual(secs(stitchCopies([at([0, 10, 20]), at([0, 10, 20])], 10_000)), [0, 10, 20]);
  const out = stitchCopies([at([0, 10, 20], [20]), at([0, 10, 20])], 10_000);
  assert.deepEqual(staleAt(out), []);
  assert.equal(out.t.length, 3);
  // Both copies stale in a slot: the series ended there, the marker stays.
  const ended = stitchCopies([at([0, 10, 20], [20]), at([0, 10, 20.1], [20.1])], 10_000);
  assert.deepEqual(staleAt(ended), [20]);
});

test('a counter stays monotonic across the hand-over with no adjustment', () => {
  const out = stitchCopies([at([0, 15, 30, 45, 60], [60]), at([30.4, 45.4, 60.4, 75.4, 90.4])], 15_000);
  for (let i = 1; i < out.v.length; i++) assert.ok(out.v[i]! >= out.v[i - 1]!, `${out.v}`);
  assert.deepEqual(secs(out), [0, 15, 30, 45, 60.4, 75.4, 90.4]);
});

test('a read that ends before the new shard\'s next scrape: the old shard\'s marker is left out, not a hole at the end', () => {
  // The CI run's case (1 s interval): shard-0 scraped at .9 until 690.9 and wrote its marker at 691.9; shard-2 scrapes
  // at .3 from 688.3 on, so its 691.3 is the slot of 690.9 and its 692.3 lies past a read that ends at 692.
  const old = at([686.9, 687.9, 688.9, 689.9, 690.9, 691.9], [691.9]);
  const moved = at([688.3, 689.3, 690.3, 691.3]);
  for (const copies of [[old, moved], [moved, old]]) {
    const out = stitchCopies(copies, 1000, 692_000);
    assert.deepEqual(staleAt(out), [], `no marker at the read's end: ${secs(out)}`);
    assert.deepEqual(secs(out), [686.9, 687.9, 688.9, 689.9, 690.9]);
  }
  // The same read with its end unknown (the rule off), and a read long after: shard-2's data stopped without a marker
  // (its Prometheus down) where its next scrape was due inside the read; the old shard's marker ends the series.
  assert.deepEqual(staleAt(stitchCopies([old, moved], 1000)), [691.9]);
  assert.deepEqual(staleAt(stitchCopies([old, moved], 1000, 700_000)), [691.9]);
  // The read reaches shard-2's next scrape: it stands for the marker, as before.
  const later = stitchCopies([old, at([688.3, 689.3, 690.3, 691.3, 692.3])], 1000, 692_500);
  assert.deepEqual(secs(later).slice(-2), [690.9, 692.3]);
  assert.deepEqual(staleAt(later), []);
  // shard-2 also ended (its own marker in the read): the series ended, the markers stay.
  assert.deepEqual(staleAt(stitchCopies([old, at([688.3, 689.3, 690.3, 691.3, 692.3], [692.3])], 1000, 692_500)).length > 0, true);
});

test('interval unknown (0): only equal timestamps are one scrape', () => {
  assert.deepEqual(secs(stitchCopies([at([10]), at([12])], 0)), [10, 12]);
  assert.deepEqual(secs(stitchCopies([at([10]), at([10])], 0)), [10]);
  assert.deepEqual(secs(stitchCopies([at([12]), at([10])], 0)), [10, 12]);
});

test('one copy is itself; no copy is nothing', () => {
  const a = at([0, 10]);
  assert.equal(stitchCopies([a], 10_000), a);
  assert.deepEqual(stitchCopies([], 10_000), { t: [], v: [] });
});

test('scrapeInterval: the median spacing, robust to missed and late scrapes; 0 without two samples in a copy', () => {
  assert.equal(scrapeInterval([at([0, 15, 30, 45, 60])]), 15_000);
  assert.equal(scrapeInterval([at([0, 15, 45, 60, 75])]), 15_000, 'one missed scrape');
  assert.equal(scrapeInterval([at([0, 15, 31, 45, 60, 75])]), 15_000, 'one late scrape');
  assert.equal(scrapeInterval([at([0]), at([3])]), 0);
  assert.equal(scrapeInterval([at([0, 3]), at([0, 10, 20, 30])]), 10_000, 'a copy with more spacings outranks one with a single spacing');
  assert.equal(scrapeInterval([at([0, 60]), at([5, 20])]), 15_000, 'between single spacings, the smallest');
});
