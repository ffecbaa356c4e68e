/**
 * Which groups of a job changed after a given version, for a reader that keeps work per group (the coordinator's
 * population, which relabels only new group objects). Why: at a million pod targets a job has a million groups, and
 * finding the few hundred that changed by walking all of them cost a third of a second of the cycle that saw them.
 *
 * The log holds, per change, the version it made and the source and whether the group went away (an emit with no
 * targets), in order: a reader replays them to keep the groups in the order the discoverer's map has them (a group
 * that comes back after it went away is last, a replaced one keeps its place), which decides which of two targets
 * with one hash wins, as it does for a reader that walks. Bounded: past `max` entries the oldest half is dropped,
 * and a version from before what is kept gets no answer (the reader walks instead).
 */

import type { TargetGroup } from './types.js';

/** A job's group changes after a version, in order, and each group's object now (undefined: it has none). */
export interface GroupChanges {
  changes: readonly GroupChange[];
  group(source: string): TargetGroup | undefined;
}

/** One change: the version it made, the group's source, and whether the group went away. */
export interface GroupChange {
  version: number;
  source: string;
  gone: boolean;
}

export class GroupChangeLog {
  /** Versions before this one get no answer. */
  private floor = 0;
  private entries: GroupChange[] = [];

  constructor(private readonly max = 100_000) {}

  /** The groups an emit at `version` (greater than any before) changed or removed. */
  record(version: number, groups: ReadonlyArray<{ source: string; targets: readonly unknown[] }>): void {
    for (const g of groups) this.entries.push({ version, source: g.source, gone: g.targets.length === 0 });
    if (this.entries.length > this.max) {
      const cut = this.entries.length - (this.max >> 1);
      // A reader at the last cut version needs only later changes, all kept; one before it would miss some.
      this.floor = this.entries[cut - 1]!.version;
      this.entries = this.entries.slice(cut);
    }
  }

  /** Forgets what came before `version`: the groups changed in a way the log does not tell (a discoverer started or stopped). */
  reset(version: number): void {
    this.floor = version;
    this.entries = [];
  }

  /** The changes after `since`, in order; undefined when the log no longer tells them. */
  since(since: number): GroupChange[] | undefined {
    if (since < this.floor) return undefined;
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid]!.version <= since) lo = mid + 1;
      else hi = mid;
    }
    return this.entries.slice(lo);
  }
}
