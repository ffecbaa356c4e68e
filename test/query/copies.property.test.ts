/**
 * Properties of the merge of copies (fast-check): for random copies of one series (different phases, overlaps, ends,
 * gaps, the old shard's staleness marker, one or two replicas), the merged series never has a gap larger than the
 * largest gap of the union of the copies plus one interval, never two samples in one scrape slot, and reaches the
 * end of the union; copies of the same scrapes (a move within one replica) give every scrape slot exactly once; and
 * copies cut at a read's end, merged with that end, show the series wherever the whole copies do, where samples up to
 * the end can tell.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mergeCopies, type SeriesCopy } from '../../src/query/copies.js';
import type { Samples } from '../../src/query/remote/series-wire.js';

interface CopySpec {
  replica: number;
  /** Phase in ms within the interval (replicas), or 0 (copies of one replica scrape in step). */
  phase: number;
  first: number;
  last: number;
  /** Slots this copy missed. */
  missed: number[];
  /** A staleness marker one slot after its last sample (a shard that stopped scraping the target). */
  endsStale: boolean;
}

const INTERVALS = [1000, 5000, 15_000];

function copyOf(spec: CopySpec, interval: number, jitter: (slot: number, copy: number) => number, k: number): SeriesCopy {
  const s: Samples = { t: [], v: [], stale: [] };
  for (let slot = spec.first; slot <= spec.last; slot++) {
    if (spec.missed.includes(slot) && slot !== spec.first) continue;
    const t = slot * interval + spec.phase + jitter(slot, k);
    s.t.push(t);
    s.v.push(t); // a counter that grows with time
    s.stale!.push(false);
  }
  if (spec.endsStale) {
    s.t.push((spec.last + 1) * interval + spec.phase + jitter(spec.last + 1, k));
    s.v.push(Number.NaN);
    s.stale!.push(true);
  }
  return { samples: s, replica: `replica="${spec.replica}"` };
}

const spec = (replicas: number, samePhase: boolean) => fc.record({
  replica: fc.integer({ min: 0, max: replicas - 1 }),
  phase: samePhase ? fc.constant(0) : fc.integer({ min: 0, max: 999 }),
  first: fc.integer({ min: 0, max: 30 }),
  length: fc.integer({ min: 1, max: 30 }),
  missed: fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 4 }),
  endsStale: fc.boolean(),
}).map(({ length, ...r }): CopySpec => ({ ...r, last: r.first + length }));

const union = (copies: readonly SeriesCopy[]): number[] => [...new Set(copies.flatMap((c) => c.samples.t))].sort((a, b) => a - b);
const maxGap = (ts: readonly number[]): number => ts.reduce((m, t, i) => (i === 0 ? 0 : Math.max(m, t - ts[i - 1]!)), 0);

function checkCommon(copies: readonly SeriesCopy[], out: Samples, interval: number, slack: number): void {
  const all = union(copies);
  const inputs = new Set(all);
  for (let i = 0; i < out.t.length; i++) {
    assert.ok(inputs.has(out.t[i]!), `output sample at ${out.t[i]} is no input sample`);
    if (i > 0) {
      assert.ok(out.t[i]! - out.t[i - 1]! > interval / 2 - slack, `two samples in one scrape slot: ${out.t[i - 1]} and ${out.t[i]}`);
    }
    // A marker returned never hides a series that goes on: no copy has a real sample in the marker's slot after it.
    if (out.stale?.[i]) {
      const t0 = out.t[i]!;
      const real = copies.flatMap((c) => c.samples.t.filter((t, k) => !c.samples.stale?.[k] && t > t0 && t < t0 + interval / 2 - slack));
      assert.deepEqual(real, [], `a staleness marker at ${t0} returned where a copy goes on in its slot`);
    }
  }
  assert.ok(maxGap(out.t) <= maxGap(all) + interval + slack, `merged gap ${maxGap(out.t)} > union gap ${maxGap(all)} + ${interval}: ${out.t}`);
  assert.equal(out.t[0], all[0], 'the first sample of all is kept');
  // The end: the union's last sample, or one in the same slot (exactly half an interval apart is one slot, so two
  // such ties in a row put the union's last sample one interval after the merge's).
  assert.ok(out.t.at(-1)! >= all.at(-1)! - interval - slack, `the merge stops at ${out.t.at(-1)} before the union's end ${all.at(-1)}`);
}

const noiseOf = (jitter: number, seed: number) => (slot: number, k: number) => (jitter === 0 ? 0 : Math.abs((slot * 7919 + k * 104_729 + seed) % (2 * jitter + 1)) - jitter);

test('property: random copies over one or two replicas: no gap beyond the union\'s + one interval, one sample per slot at most, no marker hiding a copy that goes on', () => {
  const scenario = fc.record({
    interval: fc.constantFrom(...INTERVALS),
    replicas: fc.integer({ min: 1, max: 2 }),
    counter: fc.boolean(),
    jitterPerMille: fc.constantFrom(0, 0, 5),
    seed: fc.integer(),
  }).chain((h) => fc.record({
    h: fc.constant(h),
    specs: fc.array(spec(h.replicas, false), { minLength: 1, maxLength: 4 }),
  }));
  fc.assert(fc.property(scenario, ({ h, specs }) => {
    // Phases are spread over the whole interval (spec.phase is per mille of it); scheduling noise up to 0.5%.
    const jitter = Math.floor((h.jitterPerMille * h.interval) / 1000);
    // Two copies of one replica whose phases differ by half an interval, give or take the noise, are in the tie
    // region the rule documents (exactly half an interval apart is one slot): which of the two is kept there, and so
    // whether a real sample hides in a marker's slot, is left to the noise. Those draws are not judged here.
    const phaseMs = (sp: { phase: number }) => Math.floor((sp.phase * h.interval) / 1000);
    fc.pre(!specs.some((a, i) => specs.some((b, j) => j > i && a.replica === b.replica && Math.abs(Math.abs(phaseMs(a) - phaseMs(b)) - h.interval / 2) <= 2 * jitter)));
    const copies = specs.map((sp, k) => copyOf({ ...sp, phase: phaseMs(sp) }, h.interval, noiseOf(jitter, h.seed), k));
    const out = mergeCopies(copies, { counter: h.counter, fallbackIntervalMs: h.interval });
    checkCommon(copies, out, h.interval, 4 * jitter);
    // Values are a counter that grows with time: with or without the counter adjustment, it never goes down.
    const values = out.v.filter((_, i) => !out.stale?.[i]);
    for (let i = 1; i < values.length; i++) assert.ok(values[i]! >= values[i - 1]!, `the counter went down: ${values}`);
  }), { numRuns: 3000 });
});

test('property: one replica\'s shards scraping at their own phases (a move between pods): the common properties, every copy\'s samples reachable', () => {
  const scenario = fc.record({
    interval: fc.constantFrom(...INTERVALS),
    specs: fc.array(spec(1, false), { minLength: 2, maxLength: 3 }),
  });
  fc.assert(fc.property(scenario, ({ interval, specs }) => {
    const copies = specs.map((sp, k) => copyOf({ ...sp, phase: Math.floor((sp.phase * interval) / 1000) }, interval, () => 0, k));
    const out = mergeCopies(copies, { counter: false, fallbackIntervalMs: interval });
    checkCommon(copies, out, interval, 0);
  }), { numRuns: 3000 });
});

test('property: copies of the same scrapes (a move within one replica) give every scrape slot exactly once, a real sample where any copy has one, a monotonic counter', () => {
  const scenario = fc.record({
    interval: fc.constantFrom(...INTERVALS),
    jitter: fc.integer({ min: 0, max: 20 }), // ms of scheduling noise per scrape
    specs: fc.array(spec(1, true), { minLength: 1, maxLength: 4 }),
    seed: fc.integer(),
  });
  fc.assert(fc.property(scenario, ({ interval, jitter, specs, seed }) => {
    const copies = specs.map((sp, k) => copyOf(sp, interval, noiseOf(jitter, seed), k));
    const out = mergeCopies(copies, { counter: false, fallbackIntervalMs: interval });
    checkCommon(copies, out, interval, 2 * jitter);
    // Slots: real samples by slot, and slots that only have markers.
    const slotOf = (t: number) => Math.round(t / interval) || 0; // no -0
    const realSlots = new Set<number>();
    const anySlots = new Set<number>();
    for (const c of copies) c.samples.t.forEach((t, i) => {
      anySlots.add(slotOf(t));
      if (!c.samples.stale?.[i]) realSlots.add(slotOf(t));
    });
    const outSlots = out.t.map(slotOf);
    assert.deepEqual(outSlots, [...anySlots].sort((a, b) => a - b), 'every slot of the union once');
    out.t.forEach((t, i) => {
      if (realSlots.has(slotOf(t))) assert.ok(!out.stale?.[i], `a staleness marker at ${t} where a copy has a real sample`);
    });
    const values = out.v.filter((_, i) => !out.stale?.[i]);
    for (let i = 1; i < values.length; i++) assert.ok(values[i]! >= values[i - 1]!, 'the counter went down');
  }), { numRuns: 3000 });
});

/** Whether the series is there at `at` (no lookback limit): its latest sample at or before `at` is a real one. */
function aliveAt(s: Samples, at: number): boolean {
  let i = -1;
  while (i + 1 < s.t.length && s.t[i + 1]! <= at) i++;
  return i >= 0 && !s.stale?.[i];
}

test('property: a read that ends early (a query at or near now) shows the series wherever the whole data does', () => {
  const scenario = fc.record({
    interval: fc.constantFrom(...INTERVALS),
    replicas: fc.integer({ min: 1, max: 2 }),
    samePhase: fc.boolean(),
    endPerMille: fc.integer({ min: 0, max: 1000 }),
  }).chain((h) => fc.record({
    h: fc.constant(h),
    specs: fc.array(spec(h.replicas, h.samePhase), { minLength: 2, maxLength: 4 }),
  }));
  fc.assert(fc.property(scenario, ({ h, specs }) => {
    const phaseMs = (sp: { phase: number }) => Math.floor((sp.phase * h.interval) / 1000);
    // Copies of one replica half an interval apart: the tie region (see the first property), not judged.
    fc.pre(!specs.some((a, i) => specs.some((b, j) => j > i && a.replica === b.replica && Math.abs(Math.abs(phaseMs(a) - phaseMs(b)) - h.interval / 2) <= 1)));
    const copies = specs.map((sp, k) => copyOf({ ...sp, phase: phaseMs(sp) }, h.interval, () => 0, k));
    const all = union(copies);
    const end = all[0]! + Math.floor(((all.at(-1)! - all[0]!) * h.endPerMille) / 1000);
    const cut = copies.map((c): SeriesCopy => {
      const n = c.samples.t.filter((t) => t <= end).length;
      return { replica: c.replica, samples: { t: c.samples.t.slice(0, n), v: c.samples.v.slice(0, n), ...(c.samples.stale ? { stale: c.samples.stale.slice(0, n) } : {}) } };
    });
    // Draws where only samples after the end tell whether the series goes on are not judged:
    // - a copy that goes on after the end but whose last real sample in the read is more than an interval and a half
    //   before it missed its scrape just before the end: in the read it looks like a copy whose Prometheus stopped
    //   without writing markers, and the rule keeps the other copy's marker then (slots.ts goesOnPastEnd);
    // - a copy whose first sample comes within an interval after the end, with none in the read, may stand for a
    //   marker just before the end (a hand-over with no overlap: kvass's transfers overlap, the new shard scraping
    //   before the old one stops).
    fc.pre(!copies.some((c) => {
      const real = c.samples.t.filter((_, i) => !c.samples.stale?.[i]);
      const lastInRead = real.filter((t) => t <= end).at(-1);
      const nextAfter = real.find((t) => t > end);
      if (nextAfter === undefined) return false;
      return lastInRead === undefined ? nextAfter <= end + h.interval : lastInRead + 1.5 * h.interval < end;
    }));
    const whole = mergeCopies(copies, { counter: false, fallbackIntervalMs: h.interval });
    const read = mergeCopies(cut, { counter: false, fallbackIntervalMs: h.interval, endMs: end });
    for (const at of [...all.filter((t) => t <= end), end]) {
      if (aliveAt(whole, at)) assert.ok(aliveAt(read, at), `at ${at}, a read ending at ${end} does not show the series the whole data shows: ${read.t}${read.stale ? ` stale ${read.stale}` : ''}; whole ${whole.t}`);
    }
  }), { numRuns: 3000 });
});
