/**
 * Scrape slots, shared by the stitch of one replica's copies (stitch.ts) and the replica merge (dedup.ts): the
 * interval a series is scraped at, read from its copies, and the real sample that stands for a staleness marker.
 * Timestamps of different copies within half an interval of each other are one scrape.
 */
import { isStale, type Samples } from './remote/samples.js';

/**
 * The scrape interval of a series, in ms, from its copies: the median spacing of each copy's samples (robust to a
 * missed or late scrape), the smallest over the copies with the most evidence. 0 when no copy has two samples.
 */
export function scrapeInterval(copies: readonly Samples[]): number {
  let best = 0;
  let bestEvidence = 0;
  for (const c of copies) {
    const n = c.t.length;
    if (n < 2) continue;
    const median = medianSpacing(c.t);
    if (median <= 0) continue;
    // A copy with two spacings or more outranks one with a single spacing (one late scrape could be all it has).
    const evidence = Math.min(n - 1, 2);
    if (evidence > bestEvidence || (evidence === bestEvidence && median < best)) {
      best = median;
      bestEvidence = evidence;
    }
  }
  return best;
}

let scratch = new Float64Array(256);

/** The median spacing of sorted times (the lower one of an even count). */
function medianSpacing(t: readonly number[]): number {
  const m = t.length - 1;
  if (scratch.length < m) scratch = new Float64Array(Math.max(m, scratch.length * 2));
  // Insertion sort: spacings of one series are nearly all equal, so it runs in about one pass.
  for (let i = 0; i < m; i++) {
    const d = t[i + 1]! - t[i]!;
    let j = i - 1;
    while (j >= 0 && scratch[j]! > d) {
      scratch[j + 1] = scratch[j]!;
      j--;
    }
    scratch[j + 1] = d;
  }
  return scratch[(m - 1) >> 1]!;
}

/** Index of the first sample of `s` at or after index `from` whose time is above `after`. */
export function firstAfter(s: Samples, from: number, after: number): number {
  let i = from;
  while (i < s.t.length && s.t[i]! <= after) i++;
  return i;
}

/**
 * The scrape slot a staleness marker at `t` stands for, when `lastT` is the last sample returned: its own, and at
 * least the one after `lastT`. A marker can follow a real sample by a few ms: on a reload that changes a job's
 * targets, Prometheus 2.42 restarts every scrape loop of the job; the old loop writes its markers at its next tick,
 * 2.1 intervals later, and they are kept when the new loop (same phase, its scrape a few ms earlier) was stopped
 * meanwhile, as when the reload's target is the one that moved away. That marker ends the copy, not the slot.
 */
export function markerSlot(t: number, lastT: number, intervalMs: number): number {
  return Math.max(t, lastT + intervalMs);
}

/**
 * What stands for a staleness marker that a merge is about to return: the earliest real sample of another copy
 * after `after` (the slot of the last sample returned) and up to `until` (the marker's slot), as [copy, index];
 * undefined when there is none. A marker where another copy goes on is one shard's hand-over (it stopped scraping a
 * target that another shard scrapes on), not the end of the series. `pos`: per copy, where to start looking.
 */
export function realSampleFor(copies: readonly Samples[], pos: readonly number[], marker: number, after: number, until: number): [number, number] | undefined {
  let found: [number, number] | undefined;
  for (let c = 0; c < copies.length; c++) {
    if (c === marker) continue;
    const s = copies[c]!;
    for (let i = firstAfter(s, pos[c]!, after); i < s.t.length && s.t[i]! <= until; i++) {
      if (isStale(s, i)) continue;
      if (!found || s.t[i]! < copies[found[0]]!.t[found[1]]!) found = [c, i];
      break;
    }
  }
  return found;
}

/**
 * Whether a staleness marker of copy `marker` that no real sample stands for (realSampleFor found none) is still a
 * hand-over: another copy's last sample in the read is a real one in the slot of the last sample returned (`lastT`),
 * and that copy's next scrape is due less than the walk's reach (1.5 intervals) before the read's end (`endMs`), so
 * it may lie past the end. A read that ends right after a move (a query at or near now) sees the old shard's marker
 * but not yet the new shard's next scrape; returning the marker would show the target missing until that scrape.
 * With the read's end unknown (Infinity) or the interval unknown (0), never.
 */
export function goesOnPastEnd(copies: readonly Samples[], marker: number, lastT: number, intervalMs: number, endMs: number): boolean {
  if (!(intervalMs > 0) || !Number.isFinite(endMs)) return false;
  for (let c = 0; c < copies.length; c++) {
    if (c === marker) continue;
    const s = copies[c]!;
    const n = s.t.length;
    if (n === 0 || isStale(s, n - 1)) continue;
    const t = s.t[n - 1]!;
    if (Math.abs(t - lastT) <= intervalMs / 2 && t + 1.5 * intervalMs > endMs) return true;
  }
  return false;
}
