/**
 * Replica deduplication: Thanos's penalty algorithm (pkg/dedup), over decoded sample arrays, with one change.
 *
 * Replicas scrape the same targets at their own phases. At each step the copy with the earliest next sample wins;
 * the copy just returned seeks from the last timestamp + 1 ms, every other copy from there plus its penalty, twice
 * the gap before the sample that last won (5 s before any gap is known), so that merging copies scraped at different
 * phases does not raise the sample rate. When the query's function reads counters (rate, increase, irate, resets),
 * a switch to a copy whose value is below the last one returned adds the difference to that copy from then on
 * (Thanos's counter adjustment), so the switch is not read as a counter reset.
 *
 * The change: when the copy being read ends, or its next sample is more than 1.5 intervals away (it missed a
 * scrape: its Prometheus hung, restarted or lost a scrape), the other copies are read from their first sample more
 * than half an interval after the last one returned, not past the penalty. Thanos skips up to twice the last gap of
 * the other replica's samples there, so a replica that stops costs the view two to three intervals more than the
 * time it was really missing; here the gap in the view is at most the gap in the union of the replicas plus half an
 * interval. Other copies are never read within half an interval of the last sample (Thanos's first penalty, 5 s,
 * is less than that for longer intervals), and a staleness marker of one copy gives way to another copy's real
 * sample in its slot (slots.ts realSampleFor), or is left out where the read ends before that sample
 * (slots.ts goesOnPastEnd), as in the stitch.
 *
 * Also unlike Thanos's pairwise fold of iterators, this is one walk over N copies: penalties are kept per copy,
 * cursors never skip a sample for good (Thanos's seek can run past one it needed later), and the counter adjustment
 * is applied to the copy switched to only. With the interval unknown (0) there is no gap rule, no slot guard and no
 * marker rule: Thanos's steps in that walk.
 */
import { isStale, pushSample, type Samples } from './remote/samples.js';
import { goesOnPastEnd, markerSlot, realSampleFor } from './slots.js';

const INITIAL_PENALTY = 5000;

export function isCounterFunc(func: string): boolean {
  return func === 'increase' || func === 'rate' || func === 'irate' || func === 'resets';
}

/** Index of the first sample of `s` at or after index `from` whose time is at least `t`. */
function firstAtOrAfter(s: Samples, from: number, t: number): number {
  let i = from;
  while (i < s.t.length && s.t[i]! < t) i++;
  return i;
}

/**
 * Merges replica copies of one series, Thanos's penalty way with the rules above. `intervalMs`: the scrape interval
 * (slots.ts scrapeInterval, else a fallback); 0 when unknown (see above). `endMs`: the end of the read the copies
 * come from (Infinity: unknown). Ties go to the earlier copy, as in Thanos's fold.
 */
export function dedupSamples(copies: readonly Samples[], counter: boolean, intervalMs = 0, endMs = Number.POSITIVE_INFINITY): Samples {
  if (copies.length === 0) return { t: [], v: [] };
  if (copies.length === 1) return copies[0]!;
  const half = intervalMs / 2;
  const reach = intervalMs > 0 ? 1.5 * intervalMs : Number.POSITIVE_INFINITY;
  const n = copies.length;
  const pos = new Array<number>(n).fill(0);
  const penalty = new Array<number>(n).fill(0);
  const adjust = new Array<number>(n).fill(0);
  const out: Samples = { t: [], v: [] };
  let cur = -1;
  let lastT = Number.NEGATIVE_INFINITY;
  let lastV = 0;
  for (;;) {
    // Samples at or before the last one returned are behind every copy for good.
    for (let c = 0; c < n; c++) pos[c] = firstAtOrAfter(copies[c]!, pos[c]!, lastT + 1);
    const curGap = intervalMs > 0 && cur >= 0 && (pos[cur]! >= copies[cur]!.t.length || copies[cur]!.t[pos[cur]!]! > lastT + reach);
    let pick = -1;
    let pickAt = 0;
    let best = Number.POSITIVE_INFINITY;
    for (let c = 0; c < n; c++) {
      const s = copies[c]!;
      let from = pos[c]!;
      if (cur >= 0 && c !== cur) {
        // The copy read has a gap: the others from their next scrape slot; else past their penalty, and never in
        // the slot just returned (Thanos's first penalty, 5 s, is less than half of a longer interval).
        if (!curGap) from = firstAtOrAfter(s, from, lastT + 1 + penalty[c]!);
        while (from < s.t.length && s.t[from]! <= lastT + half) from++;
      }
      if (from < s.t.length && s.t[from]! < best) {
        best = s.t[from]!;
        pick = c;
        pickAt = from;
      }
    }
    if (pick < 0) break;
    // One replica's staleness marker where another replica goes on in that slot (the first one's target moved to
    // a shard that did not answer, say): the other replica's sample, as in the stitch.
    if (intervalMs > 0 && isStale(copies[pick]!, pickAt)) {
      const real = realSampleFor(copies, pos, pick, lastT + half, markerSlot(best, lastT, intervalMs) + half);
      if (real) {
        [pick, pickAt] = real;
        best = copies[pick]!.t[pickAt]!;
      } else if (goesOnPastEnd(copies, pick, lastT, intervalMs, endMs)) {
        pos[pick] = pickAt + 1;
        continue;
      }
    }
    const s = copies[pick]!;
    for (let c = 0; c < n; c++) if (c !== pick) penalty[c] = cur < 0 ? INITIAL_PENALTY : 2 * (best - lastT);
    penalty[pick] = 0;
    if (counter && cur >= 0 && pick !== cur && !isStale(s, pickAt)) {
      const v = s.v[pickAt]! + adjust[pick]!;
      if (lastV > v) adjust[pick]! += lastV - v;
    }
    const stale = isStale(s, pickAt);
    const v = s.v[pickAt]! + (stale ? 0 : adjust[pick]!);
    pushSample(out, best, v, stale);
    lastT = best;
    if (!stale) lastV = v;
    pos[pick] = pickAt + 1;
    cur = pick;
  }
  return out;
}
