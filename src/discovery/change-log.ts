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
  // One entry per change, in three arrays rather than an object each: the log can hold a hundred thousand.
  private versions: number[] = [];
  private sources: string[] = [];
  private gone: boolean[] = [];

  constructor(private readonly max = 50_000) {}

  /** The groups an emit at `version` (greater than any before) changed or removed. */
  record(version: number, groups: ReadonlyArray<{ source: string; targets: readonly unknown[] }>): void {
    for (const g of groups) {
      this.versions.push(version);
      this.sources.push(g.source);
      this.gone.push(g.targets.length === 0);
    }
    if (this.versions.length > this.max) {
      const cut = this.versions.length - (this.max >> 1);
      // A reader at the last cut version needs only later changes, all kept; one before it would miss some.
      this.floor = this.versions[cut - 1]!;
      this.versions = this.versions.slice(cut);
      this.sources = this.sources.slice(cut);
      this.gone = this.gone.slice(cut);
    }
  }

  /**
   * Forgets what came before `version`: the groups changed in a way the log does not tell (a discoverer stopped or was
   * replaced, and its groups went with it). A discoverer that starts needs none: its groups come in logged emits, and
   * a job with two discoverers gets no answer anyway (DiscoveryManager.changesSince).
   */
  reset(version: number): void {
    this.floor = version;
    this.versions = [];
    this.sources = [];
    this.gone = [];
  }

  /** The changes after `since`, in order; undefined when the log no longer tells them. */
  since(since: number): GroupChange[] | undefined {
    if (since < this.floor) return undefined;
    let lo = 0;
    let hi = this.versions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.versions[mid]! <= since) lo = mid + 1;
      else hi = mid;
    }
    const out: GroupChange[] = [];
    for (let k = lo; k < this.versions.length; k++) out.push({ version: this.versions[k]!, source: this.sources[k]!, gone: this.gone[k]! });
    return out;
  }
}
