/**
 * Stitching copies of the same scrapes: one target scraped by two shards of one replica while it moves (or, later,
 * one received series written to several ingestors). The copies hold the same samples, each scrape slot once or
 * twice, so the merge is exact: every scrape slot once, nothing skipped, nothing doubled.
 *
 * The walk stays on the copy it reads (its samples are one Prometheus's scrapes, one per slot) while that copy's
 * next sample comes within 1.5 intervals. When it ends or has a gap, it goes on with the earliest sample of any copy
 * that lies more than half an interval after the last one returned: timestamps within half an interval are one
 * scrape. A staleness marker where another copy has a real sample after the last one returned and up to the
 * marker's slot (at least the next one: slots.ts markerSlot) is passed over for that sample (slots.ts realSampleFor):
 * it is what the old shard writes when it stops scraping a target the new shard goes on scraping, not the end of
 * the series. Where the read ends before that sample (a query at or near now, right after a move), a marker that
 * another copy's last sample outlives by design is left out (slots.ts goesOnPastEnd).
 * Counters need no adjustment: both copies read the same counter, and the walk never goes back in time.
 *
 * Why not Thanos's penalty algorithm here: it seeks the other copy past twice the last gap, so when the copy it read
 * ends by design (the old shard at the hand-over) the samples inside the penalty are lost: every move was a hole of
 * two to three intervals in the view.
 */
import { isStale, pushSample, type Samples } from './remote/samples.js';
import { firstAfter, goesOnPastEnd, markerSlot, realSampleFor } from './slots.js';

/**
 * Merges copies of the same scrapes into one series (see the header). `intervalMs`: the scrape interval
 * (slots.ts scrapeInterval, else a fallback); 0 when unknown: only equal timestamps are then one scrape. `endMs`:
 * the end of the read the copies come from (Infinity: unknown).
 */
export function stitchCopies(copies: readonly Samples[], intervalMs: number, endMs = Number.POSITIVE_INFINITY): Samples {
  if (copies.length === 1) return copies[0]!;
  const out: Samples = { t: [], v: [] };
  if (copies.length === 0) return out;
  const half = intervalMs / 2;
  const reach = intervalMs > 0 ? 1.5 * intervalMs : Number.POSITIVE_INFINITY;
  const pos = copies.map(() => 0);
  let cur = -1;
  let lastT = Number.NEGATIVE_INFINITY;
  for (;;) {
    let pick = -1;
    if (cur >= 0 && pos[cur]! < copies[cur]!.t.length && copies[cur]!.t[pos[cur]!]! <= lastT + reach) pick = cur;
    else {
      // The copy read ended or has a gap: the earliest sample of a later scrape, from any copy (ties: the one read).
      let best = Number.POSITIVE_INFINITY;
      for (let c = 0; c < copies.length; c++) {
        if (c !== cur) pos[c] = firstAfter(copies[c]!, pos[c]!, lastT + half);
        const i = pos[c]!;
        if (i < copies[c]!.t.length && (copies[c]!.t[i]! < best || (copies[c]!.t[i]! === best && c === cur))) {
          best = copies[c]!.t[i]!;
          pick = c;
        }
      }
      if (pick < 0) break;
    }
    if (isStale(copies[pick]!, pos[pick]!)) {
      const real = realSampleFor(copies, pos, pick, lastT + half, markerSlot(copies[pick]!.t[pos[pick]!]!, lastT, intervalMs) + half);
      if (real) {
        pick = real[0];
        pos[pick] = real[1];
      } else if (goesOnPastEnd(copies, pick, lastT, intervalMs, endMs)) {
        pos[pick]++;
        cur = pick;
        continue;
      }
    }
    const s = copies[pick]!;
    const i = pos[pick]!;
    pushSample(out, s.t[i]!, s.v[i]!, isStale(s, i));
    lastT = s.t[i]!;
    pos[pick] = i + 1;
    cur = pick;
  }
  return out;
}
