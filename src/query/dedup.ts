/**
 * Replica deduplication with Thanos's penalty algorithm (pkg/dedup), over decoded sample arrays.
 *
 * Several copies of one series (replicas, or two shards scraping a target while it moves) are folded pairwise:
 * at each step the copy with the earlier next sample wins, and the copy not picked gets a penalty of twice the
 * last sample gap (5 s before any gap is known) on its next seek, so that merging two copies scraped at different
 * phases does not raise the sample rate. When the query's function reads counters (rate, increase, irate,
 * resets), a switch to a copy whose value is below the last one returned adds the difference to that copy from
 * then on (Thanos's counter adjustment), so the switch is not read as a counter reset.
 */
import { isStale, pushSample, type Samples } from '../prom/remote/samples.js';

const INITIAL_PENALTY = 5000;

export function isCounterFunc(func: string): boolean {
  return func === 'increase' || func === 'rate' || func === 'irate' || func === 'resets';
}

interface DedupIterator {
  /** Advances; false once exhausted. */
  next(): boolean;
  /** Advances to the first sample at or after t (no effect if already there); false once exhausted. */
  seek(t: number): boolean;
  atT(): number;
  atV(): number;
  /** The current sample is a staleness marker. */
  atStale(): boolean;
  adjustAtValue(lastValue: number): void;
}

class ArrayIterator implements DedupIterator {
  private i = -1;
  private errAdjust = 0;

  constructor(private readonly s: Samples, private readonly counter: boolean) {}

  next(): boolean {
    if (this.i < this.s.t.length) this.i++;
    return this.i < this.s.t.length;
  }

  seek(t: number): boolean {
    if (this.i < 0) this.i = 0;
    const ts = this.s.t;
    while (this.i < ts.length && ts[this.i]! < t) this.i++;
    return this.i < ts.length;
  }

  atT(): number {
    return this.s.t[this.i]!;
  }

  atV(): number {
    return this.s.v[this.i]! + this.errAdjust;
  }

  atStale(): boolean {
    return isStale(this.s, this.i);
  }

  adjustAtValue(lastValue: number): void {
    if (!this.counter) return;
    const v = this.atV();
    if (lastValue > v) this.errAdjust += lastValue - v;
  }
}

class PenaltyIterator implements DedupIterator {
  private aok: boolean;
  private bok: boolean;
  private lastT = Number.NEGATIVE_INFINITY;
  private lastIter: DedupIterator;
  private penA = 0;
  private penB = 0;
  private useA = true;

  constructor(private readonly a: DedupIterator, private readonly b: DedupIterator) {
    this.lastIter = a;
    this.aok = a.next();
    this.bok = b.next();
  }

  next(): boolean {
    // The value returned last (before anything is returned: a's first), for the counter adjustment on a switch.
    const hasLast = this.useA ? this.aok : this.bok;
    const lastV = hasLast ? this.lastIter.atV() : 0;
    const lastUseA = this.useA;
    const ok = this.step();
    if (this.useA !== lastUseA && hasLast) {
      if (this.aok) this.a.adjustAtValue(lastV);
      if (this.bok) this.b.adjustAtValue(lastV);
    }
    return ok;
  }

  private step(): boolean {
    const base = this.lastT === Number.NEGATIVE_INFINITY ? Number.NEGATIVE_INFINITY : this.lastT + 1;
    if (this.aok) this.aok = this.a.seek(base + this.penA);
    if (this.bok) this.bok = this.b.seek(base + this.penB);
    if (!this.aok) {
      this.useA = false;
      if (this.bok) {
        this.lastT = this.b.atT();
        this.lastIter = this.b;
        this.penB = 0;
      }
      return this.bok;
    }
    if (!this.bok) {
      this.useA = true;
      this.lastT = this.a.atT();
      this.lastIter = this.a;
      this.penA = 0;
      return true;
    }
    const ta = this.a.atT();
    const tb = this.b.atT();
    this.useA = ta <= tb;
    if (this.useA) {
      this.penB = this.lastT !== Number.NEGATIVE_INFINITY ? 2 * (ta - this.lastT) : INITIAL_PENALTY;
      this.penA = 0;
      this.lastT = ta;
      this.lastIter = this.a;
      return true;
    }
    this.penA = this.lastT !== Number.NEGATIVE_INFINITY ? 2 * (tb - this.lastT) : INITIAL_PENALTY;
    this.penB = 0;
    this.lastT = tb;
    this.lastIter = this.b;
    return true;
  }

  seek(t: number): boolean {
    // As Thanos: walk with next() rather than seeking the inputs, so that no gap is skipped.
    for (;;) {
      const ts = this.atT();
      if (ts >= t) return this.useA ? this.a.seek(ts) : this.b.seek(ts);
      if (!this.next()) return false;
    }
  }

  atT(): number {
    return this.useA ? this.a.atT() : this.b.atT();
  }

  atV(): number {
    return this.lastIter.atV();
  }

  atStale(): boolean {
    return this.lastIter.atStale();
  }

  adjustAtValue(lastValue: number): void {
    if (this.aok) this.a.adjustAtValue(lastValue);
    if (this.bok) this.b.adjustAtValue(lastValue);
  }
}

/** Merges copies of one series into one, Thanos's penalty way (copies folded in the order given). */
export function dedupSamples(copies: readonly Samples[], counter: boolean): Samples {
  if (copies.length === 0) return { t: [], v: [] };
  if (copies.length === 1) return copies[0]!;
  let it: DedupIterator = new ArrayIterator(copies[0]!, counter);
  for (const c of copies.slice(1)) it = new PenaltyIterator(it, new ArrayIterator(c, counter));
  const out: Samples = { t: [], v: [] };
  while (it.next()) pushSample(out, it.atT(), it.atV(), it.atStale());
  return out;
}
