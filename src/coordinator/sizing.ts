/**
 * The planner's target list: per target, what a sidecar measured, else its probe, else (after failed probes) the
 * default size; targets that cannot be scraped as they are kept out, with the reason (contract.ts).
 *
 * Why kept up to date by hash: rebuilding the list walked every target whenever anything changed, about 0.75 s at
 * 100k targets for a cycle in which 1% changed. The coordinator knows what may have changed (population, the
 * sidecars' reports, probe results), so only those targets are sized again. The one input not tracked by hash is
 * "is it on some shard", which matters only for targets with neither a measured nor a probed size: those few are
 * sized again on every update.
 *
 * Order: the list is in the order targets were first sized (a rebuild: population order; later ones after). The
 * planner's decisions are the same for any order of the same targets only up to ties, which is why a restarted
 * coordinator can place differently from a running one; both are valid plans.
 */
import type { ScrapeConfig } from '../config/config.js';
import type { Target } from '../target/populate.js';
import { targetLabelProblem, type TargetStatus } from '../shard/contract.js';
import { PROBE_ATTEMPTS_BEFORE_DEFAULT, type ProbeResult, type ProbeTarget } from './explore.js';
import type { PlannerTarget } from './planner.js';

/** Series Prometheus adds per target (up, scrape_duration_seconds, scrape_samples_scraped, scrape_samples_post_metric_relabeling, scrape_series_added). */
export const PROMETHEUS_ADDED_SERIES = 5;

export interface SizingSources {
  targets: ReadonlyMap<string, { target: Target; sc: ScrapeConfig }>;
  measured(hash: string): TargetStatus | undefined;
  probe(hash: string): ProbeResult | undefined;
  isOnShard(hash: string): boolean;
  defaultSeries: number;
}

export class TargetSizes {
  private readonly entries = new Map<string, PlannerTarget>();
  private listMemo: PlannerTarget[] = [];
  private listStale = false;
  /** Per target, the series the active targets' views count for it (measured if up, else probed). */
  private readonly counted = new Map<string, number>();
  /** The sum of `counted`. */
  series = 0;
  /** Targets without a good size yet: probed (again) until they have one. */
  readonly probing = new Map<string, ProbeTarget>();
  /** Targets kept out of plans, and why. */
  readonly unassignable = new Map<string, string>();
  /** Targets whose size depends on whether some shard holds them (neither measured up nor probed). */
  private readonly unsettled = new Set<string>();

  /** The planner's list: the same array as long as no entry changed. */
  get list(): PlannerTarget[] {
    if (this.listStale) {
      // Filled into an array of the right length: growing a million-entry one cost three times as much.
      const list = new Array<PlannerTarget>(this.entries.size);
      let k = 0;
      for (const t of this.entries.values()) list[k++] = t;
      this.listMemo = list;
      this.listStale = false;
    }
    return this.listMemo;
  }

  /** The planned series of the targets a shard's record holds. */
  loadOf(hashes: Iterable<string>): number {
    let series = 0;
    for (const hash of hashes) series += this.entries.get(hash)?.series ?? 0;
    return series;
  }

  /** Every target sized afresh, in population order. */
  rebuild(src: SizingSources): void {
    const before = this.entries.size > 0 ? new Map(this.entries) : null;
    this.entries.clear();
    this.counted.clear();
    this.series = 0;
    this.probing.clear();
    this.unassignable.clear();
    this.unsettled.clear();
    for (const hash of src.targets.keys()) this.size(hash, src, before?.get(hash));
    this.listStale = true;
  }

  /**
   * Sizes again the targets in `dirty` (hashes whose inputs may have changed) and, with `viewsChanged` (some
   * shard's record is another object), the unsettled ones.
   */
  update(dirty: Iterable<string>, src: SizingSources, viewsChanged: boolean): void {
    for (const hash of dirty) this.size(hash, src, this.entries.get(hash));
    if (viewsChanged) for (const hash of [...this.unsettled]) this.size(hash, src, this.entries.get(hash));
  }

  private size(hash: string, src: SizingSources, before: PlannerTarget | undefined): void {
    const series = this.counted.get(hash);
    if (series !== undefined) {
      this.series -= series;
      this.counted.delete(hash);
    }
    const t = src.targets.get(hash);
    const problem = t && labelProblemOf(t.target);
    const m = t && src.measured(hash);
    const probe = t && src.probe(hash);
    const up = m !== undefined && m.health === 'up';
    const counted = up ? m.series : probe?.ok ? probe.series : 0;
    if (counted !== 0) {
      this.counted.set(hash, counted);
      this.series += counted;
    }
    this.unsettled.delete(hash);
    this.probing.delete(hash);
    this.unassignable.delete(hash);
    let size: number | null = null;
    if (t === undefined) {
      // gone
    } else if (problem !== undefined) {
      // A sidecar refuses what cannot be scraped as it is: kept out of plans, shown with the reason.
      this.unassignable.set(hash, problem);
    } else if (up && m.scrapesSinceAssigned > 0) {
      size = m.series;
    } else {
      if (probe?.ok) size = probe.series;
      else {
        this.unsettled.add(hash);
        if (src.isOnShard(hash)) size = m?.series ?? probe?.series ?? 0;
        else if (probe && probe.attempts >= PROBE_ATTEMPTS_BEFORE_DEFAULT) size = src.defaultSeries;
      }
      if (!probe?.ok && !up) this.probing.set(hash, { hash, scrapeUrl: t.target.scrapeUrl, labels: t.target.labels, timeout: t.target.timeout, scrapeConfig: t.sc });
    }
    if (size === null) {
      if (this.entries.delete(hash)) this.listStale = true;
      return;
    }
    const series2 = size + PROMETHEUS_ADDED_SERIES;
    if (before !== undefined && before.series === series2) {
      if (this.entries.get(hash) !== before) {
        this.entries.set(hash, before);
        this.listStale = true;
      }
      return;
    }
    this.entries.set(hash, { hash, series: series2 });
    this.listStale = true;
  }
}

/** targetLabelProblem per populated target object (they are immutable; population keeps unchanged ones). */
const labelProblems = new WeakMap<Target, string | null>();
function labelProblemOf(target: Target): string | undefined {
  let p = labelProblems.get(target);
  if (p === undefined) labelProblems.set(target, (p = targetLabelProblem(target.labels) ?? null));
  return p ?? undefined;
}
