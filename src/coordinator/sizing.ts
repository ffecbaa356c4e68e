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
 * Why the list is changed in place, with its changes handed over (`take`): at 1M targets, making the list anew
 * whenever an entry changed and having the planner compare it with the last one cost about 130 ms per cycle, for
 * a cycle in which 1% changed. So a removed entry's place takes the last entry, and the planner is told the hashes
 * changed since the list was last taken (planner.ts TargetListChanges). A rebuild makes a new array: the planner
 * may still hold the old one.
 *
 * Order: a rebuild lists targets in population order; later ones are added at the end, and a removal moves the
 * last entry into its place. The planner breaks ties by hash, so its decisions do not depend on the order.
 */
import type { StatusSummary } from './sidecar-mirror.js';
import { PROBE_ATTEMPTS_BEFORE_DEFAULT, type ProbeResult } from './explore.js';
import type { PlannerTarget, TargetListChanges } from './planner.js';
import type { Target } from '../target/populate.js';
import { SeatIndex, SeatedSet, type SeatRelease } from './seats.js';

/** Series Prometheus adds per target (up, scrape_duration_seconds, scrape_samples_scraped, scrape_samples_post_metric_relabeling, scrape_series_added). */
export const PROMETHEUS_ADDED_SERIES = 5;

export interface SizingSources {
  /** The population's targets, each seated (seats.ts): sizing keeps each one's place in the list by its seat. */
  targets: ReadonlyMap<string, Target>;
  /** Why a sidecar would refuse a target as it is, for the few it would (population.ts `problems`). */
  problems: ReadonlyMap<string, string>;
  /** What the sidecars measured of the target (measured.ts keeps it by seat). */
  measured(t: Target): StatusSummary | undefined;
  /** The target's probe result (the explorer keeps them by seat). */
  probe(t: Target): ProbeResult | undefined;
  isOnShard(t: Target): boolean;
  defaultSeries: number;
}

/**
 * When an update is sized again whole (a rebuild) instead of by hash: from `min` targets to size, and at least
 * `fraction` of those populated. A first placement makes every target's probe answer at once, and the cycle after it
 * every target's first scrapes: a million hashes to size, each taking and putting back its entries in five
 * million-entry maps, where a rebuild fills them once (the sizing step of those cycles at 1M: 3.5–10.4 s by hash,
 * 2.2–7.4 s whole).
 */
export interface BulkSizing {
  min: number;
  fraction: number;
}

/**
 * Below this many changes, the path change by change costs milliseconds at any scale: the floor of every bulk path
 * of the coordinator (sizing here, the placed count and move log in coordinator.ts isBulk).
 */
export const BULK_MIN_CHANGES = 10_000;

export const BULK_SIZING: BulkSizing = { min: BULK_MIN_CHANGES, fraction: 0.25 };

export class TargetSizes {
  constructor(private readonly bulk: BulkSizing = BULK_SIZING) {}

  /** The planner's list, changed in place (see the header). */
  private list = new Array<PlannerTarget>();
  /**
   * Per seat (seats.ts), the position in the list of the target that held it when it was listed: by seat, where a Map
   * by hash cost 1.2–1.4 s of a profiled cycle at a million to fill. An entry counts only for the hash listed there
   * (a seat may have changed hands since: see `positionOf`).
   */
  private readonly at = new SeatIndex();
  /** Per position in the list, the seat its entry was listed with (a removal moves the last entry, and its seat). */
  private listSeat: number[] = [];
  /** The targets sized last (to find a hash's seat for `entryOf`). */
  private targets: ReadonlyMap<string, Target> = new Map();
  /**
   * Hashes whose entry was set or removed since the list was last taken, with their entry now (undefined: removed);
   * null: the list is new since. The entry is kept with the hash so that the planner reads it here, in a map of the
   * cycle's changes, rather than through the population's map and the seat index (two look-ups in million-entry
   * structures per changed target).
   */
  private changed: Map<string, PlannerTarget | undefined> | null = null;
  /**
   * Per target, the series the active targets' views count for it (measured if up, else probed): for a listed
   * target at its position in the list, for the few counted but not listed (a target a sidecar would refuse, say)
   * by hash. Kept by position: a map of a million hashes beside `at` was 33 bytes per target and a million inserts
   * per rebuild.
   */
  private listCounted: number[] = [];
  private readonly unlistedCounted = new Map<string, number>();
  /** The sum of the series counted. */
  series = 0;
  /**
   * The sum of the list's series (what the planner places), kept with the list: a scale-up's event tells it, and
   * adding up a million entries scattered in the heap took 30–45 ms of the cycle that scaled.
   */
  plannedSeries = 0;
  /** Targets kept out of plans, and why. */
  readonly unassignable = new Map<string, string>();
  /**
   * Targets whose size depends on whether some shard holds them (neither measured up nor probed), each marked when
   * it is to be probed (again) until it has a good size, unmarked when it needs no probe (up on a shard, not yet
   * scraped there). One set for both: in a first cycle every target is in both, and a second map of a million was
   * half a second. By seat (seats.ts): in a first cycle, filling a Map of a million was about a second.
   */
  private readonly unsettled = new SeatedSet();

  /** Calls `f` with each target that is to be probed (again), in the order they were sized (but for removals). */
  forEachProbe(f: (t: Target) => void): void {
    this.unsettled.forEach((t, probe) => probe && f(t));
  }

  /**
   * The planner's list and what changed in it since it was last taken (undefined: a new array, compare it whole).
   * The array is the same until a rebuild; it is changed in place meanwhile.
   */
  take(): { list: PlannerTarget[]; changes: TargetListChanges | undefined } {
    const changed = this.changed;
    this.changed = new Map();
    if (changed === null) return { list: this.list, changes: undefined };
    // `hashes` as an iterable that can be walked more than once, as the set it was.
    return { list: this.list, changes: { hashes: { [Symbol.iterator]: () => changed.keys() }, entry: (hash) => changed.get(hash) } };
  }

  /** The list as it is now (for reading: it is changed in place). */
  get entries(): readonly PlannerTarget[] {
    return this.list;
  }

  entryOf(hash: string): PlannerTarget | undefined {
    const t = this.targets.get(hash);
    const k = t === undefined ? undefined : this.positionOf(hash, t.seat);
    return k === undefined ? undefined : this.list[k];
  }

  /** Where `hash`, seated at `seat`, is listed; undefined when it is not (the seat is another hash's, or none). */
  private positionOf(hash: string, seat: number): number | undefined {
    const k = this.at.get(seat);
    return k >= 0 && this.list[k]!.hash === hash ? k : undefined;
  }

  /** The planned series of the targets a shard's record holds. */
  loadOf(hashes: Iterable<string>): number {
    let series = 0;
    for (const hash of hashes) series += this.entryOf(hash)?.series ?? 0;
    return series;
  }

  /** Every target sized afresh, in population order. */
  rebuild(src: SizingSources): void {
    // A new array: the planner may hold the old one. New entries too: the planner reads a new list by hash and
    // series, and a map of the old entries to keep them was a third of a rebuild's time at a million.
    this.list = new Array<PlannerTarget>();
    this.at.reset();
    this.listSeat = [];
    this.targets = src.targets;
    this.changed = null;
    this.listCounted = [];
    this.unlistedCounted.clear();
    this.series = 0;
    this.plannedSeries = 0;
    this.unassignable.clear();
    this.unsettled.clear();
    for (const [hash, t] of src.targets) this.size(hash, t, src, true, undefined, t.seat);
  }

  /**
   * Sizes again the targets whose inputs may have changed: those in `found` (each hash with its entry in
   * `src.targets`, undefined when it has none) and the `hashes` (looked up there); with `viewsChanged` (some shard's
   * record is another object), the unsettled ones too; all of them when those are most (BulkSizing). A hash may be in
   * more than one. `released`: every hash the population released since the sizes last ran, with the seat it held
   * (gone, or seated again elsewhere); their hashes must be in `found` or `hashes` too.
   */
  update(found: ReadonlyArray<ReadonlyMap<string, Target | undefined>>, hashes: readonly string[], src: SizingSources, viewsChanged: boolean, released: readonly SeatRelease[]): void {
    // Counted before anything is walked: the cycle in which every probe answers tells a million hashes.
    let work = hashes.length + (viewsChanged ? this.unsettled.size : 0);
    for (const m of found) work += m.size;
    if (work >= this.bulk.min && work >= this.bulk.fraction * src.targets.size) {
      this.rebuild(src);
      return;
    }
    this.targets = src.targets;
    // Out first, by the seat each held: a seat given to another target since cannot be read for them afterwards.
    for (const r of released) this.size(r.hash, undefined, src, false, this.positionOf(r.hash, r.seat), r.seat);
    for (const m of found) for (const t of m.values()) if (t !== undefined) this.sizeAgain(t, src);
    for (const hash of hashes) this.sizeByHash(hash, src);
    if (viewsChanged) for (const hash of this.unsettled.hashes()) this.sizeByHash(hash, src);
  }

  /**
   * Sizes `hash` again, found by its seat. A gone target holds nothing here any more: `update` took it out by its
   * release (and a hash never populated never held anything).
   */
  private sizeByHash(hash: string, src: SizingSources): void {
    const t = src.targets.get(hash);
    if (t !== undefined) this.sizeAgain(t, src);
  }

  /** Sizes the population's target `t` again, found by its seat. */
  private sizeAgain(t: Target, src: SizingSources): void {
    this.size(t.hash, t, src, false, this.positionOf(t.hash, t.seat), t.seat);
  }

  /**
   * Sizes the target `hash` (`t`: its population entry, undefined when gone), listed at `k` (undefined: not
   * listed), at `seat` (the seat it holds, or held when released).
   * `fresh`: the per-target sets and maps were just cleared (a rebuild), so there is nothing of it to take out first:
   * at a million targets, five lookups in million-entry maps per target were a second of a first cycle.
   */
  private size(hash: string, t: Target | undefined, src: SizingSources, fresh: boolean, k: number | undefined, seat: number): void {
    if (!fresh) {
      if (k !== undefined) this.series -= this.listCounted[k]!;
      else if (this.unlistedCounted.size > 0) {
        const series = this.unlistedCounted.get(hash);
        if (series !== undefined) {
          this.series -= series;
          this.unlistedCounted.delete(hash);
        }
      }
      this.unsettled.delete(hash, seat);
      this.unassignable.delete(hash);
    }
    const problem = t === undefined || src.problems.size === 0 ? undefined : src.problems.get(hash);
    const m = t && src.measured(t);
    const probe = t && src.probe(t);
    const up = m !== undefined && m.health === 'up';
    const counted = up ? m.series : probe?.ok ? probe.series : 0;
    this.series += counted;
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
        this.unsettled.set(t, !up);
        if (src.isOnShard(t)) size = m?.series ?? probe?.series ?? 0;
        else if (probe && probe.attempts >= PROBE_ATTEMPTS_BEFORE_DEFAULT) size = src.defaultSeries;
      }
    }
    if (size === null) {
      if (k !== undefined) this.remove(hash, k);
      if (counted !== 0) this.unlistedCounted.set(hash, counted);
      return;
    }
    const series2 = size + PROMETHEUS_ADDED_SERIES;
    const before = k === undefined ? undefined : this.list[k]!;
    this.set(before !== undefined && before.series === series2 ? before : { hash, series: series2 }, k, counted, seat);
  }

  /** Puts `entry` in the list at `k` (undefined: at the end, for the target at `seat`), with the series counted. */
  private set(entry: PlannerTarget, k: number | undefined, counted: number, seat: number): void {
    if (k === undefined) {
      this.at.set(seat, this.list.length);
      this.list.push(entry);
      this.listCounted.push(counted);
      this.listSeat.push(seat);
    } else {
      this.listCounted[k] = counted;
      if (this.list[k] === entry) return;
      this.plannedSeries -= this.list[k]!.series;
      this.list[k] = entry;
    }
    this.plannedSeries += entry.series;
    this.changed?.set(entry.hash, entry);
  }

  /** Takes the entry at `k` (of `hash`) out: the last entry takes its place. */
  private remove(hash: string, k: number): void {
    const seat = this.listSeat[k]!;
    if (this.at.get(seat) === k) this.at.unset(seat);
    this.plannedSeries -= this.list[k]!.series;
    const last = this.list.pop()!;
    const lastCounted = this.listCounted.pop()!;
    const lastSeat = this.listSeat.pop()!;
    if (k < this.list.length) {
      this.list[k] = last;
      this.listCounted[k] = lastCounted;
      this.listSeat[k] = lastSeat;
      this.at.set(lastSeat, k);
    }
    this.changed?.set(hash, undefined);
  }
}
