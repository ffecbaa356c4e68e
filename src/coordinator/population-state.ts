/**
 * A job's state in the coordinator's population (population.ts): its groups in discovery order with their populated
 * targets, and how it follows discovery's changes by source without walking its groups (`patchJob`). Why: at a
 * million pod targets a job has a million groups, and walking them all to find the few hundred a cycle changed cost a
 * third of a second of that cycle.
 */
import type { ScrapeConfig } from '../config/config.js';
import type { TargetGroup } from '../discovery/types.js';
import type { GroupChanges } from '../discovery/change-log.js';
import type { DroppedTarget, JobDefaults, Target } from '../target/populate.js';
import { targetLabelProblem } from '../shard/contract.js';

export interface PopulatedTarget {
  target: Target;
  sc: ScrapeConfig;
  /**
   * Why a sidecar would refuse the target as it is (contract.ts targetLabelProblem), checked once when populated:
   * its labels do not change after, and sizing reads it for every target at each rebuild (0.7 s at a million).
   */
  problem: string | undefined;
}

export function populatedTarget(target: Target, sc: ScrapeConfig): PopulatedTarget {
  return { target, sc, problem: targetLabelProblem(target.labels) };
}

/** One group's populated targets: its active ones already paired with their job's `sc`, as the result holds them. */
export interface Part {
  entries: PopulatedTarget[];
  dropped: DroppedTarget[];
  /** Scratch for comparing a job's old and new parts (Population.changeInPlace). */
  mark?: number;
}

export interface JobState {
  sc: ScrapeConfig;
  /** populationKey(sc): what relabeling depends on. */
  key: string;
  jd: JobDefaults;
  version: number | undefined;
  /**
   * The job's groups and their populated targets (same index), in discovery order. After changes from the source
   * (patch), a group that went away leaves a hole (GONE, HOLE) until holes are many enough to close up.
   */
  groups: TargetGroup[];
  parts: Part[];
  /** Per source, the position of its group: when the source tells changes and sources are distinct; else null. */
  index: Map<string, number> | null;
  holes: number;
  /**
   * Without `index`: every group object populated under this key that is still alive, found by a walk when it
   * is not where the cursor is (a WeakMap, so that groups discovery let go of are forgotten with them). With
   * `index`, a walk finds them through it instead, and this is null (one per-group map is enough).
   */
  byGroup: WeakMap<TargetGroup, Part> | null;
}

export const NONE: never[] = [];
Object.freeze(NONE);
/** Where a group went away (JobState.groups, parts). */
const GONE: TargetGroup = Object.freeze({ source: '', targets: NONE, labels: Object.freeze({}) });
const HOLE: Part = { entries: NONE, dropped: NONE, mark: 0 }; // not frozen: changeInPlace marks parts

/**
 * Brings a job's state up to date with its source's changes, in place: the changes are replayed to keep the
 * groups in the discoverer's order (a group that came back after going away is last), then each changed source
 * gets its group as it is now, populated by `populate` (a changed group is a new object). Returns the parts that
 * left and the ones that came (the caller changes the result from them).
 */
export function patchJob(st: JobState, changes: GroupChanges, version: number, populate: (g: TargetGroup) => Part): { removed: Part[]; added: Part[] } {
  const index = st.index!;
  const { groups, parts } = st;
  const removed: Part[] = [];
  const added: Part[] = [];
  const hole = (pos: number): void => {
    if (parts[pos] !== HOLE) removed.push(parts[pos]!);
    groups[pos] = GONE;
    parts[pos] = HOLE;
    st.holes++;
  };
  const touchedSources = new Set<string>();
  for (const c of changes.changes) {
    const pos = index.get(c.source);
    if (c.gone) {
      if (pos !== undefined) {
        hole(pos);
        index.delete(c.source);
      }
    } else if (pos === undefined) {
      index.set(c.source, groups.length);
      groups.push(GONE);
      parts.push(HOLE);
    }
    touchedSources.add(c.source);
  }
  for (const source of touchedSources) {
    const pos = index.get(source);
    if (pos === undefined) continue;
    const g = changes.group(source);
    if (g === undefined || g.targets.length === 0) {
      // The source has no group after all: as gone.
      hole(pos);
      index.delete(source);
      continue;
    }
    if (groups[pos] === g) continue;
    if (parts[pos] !== HOLE) removed.push(parts[pos]!);
    const part = populate(g);
    groups[pos] = g;
    parts[pos] = part;
    added.push(part);
  }
  if (st.holes > 1024 && st.holes * 4 > groups.length) closeHoles(st);
  st.version = version;
  return { removed, added };
}

/**
 * Takes `removed` parts' entries out of `targets` and puts `added` ones' in, naming each hash in `touched`. False,
 * with `targets` half-changed, when a hash is held twice (an entry to take out is not the one held, or one to put in
 * is held already): then only a rebuild knows which entry wins.
 */
export function applyParts(targets: Map<string, PopulatedTarget>, removed: readonly Part[], added: readonly Part[], touched: string[]): boolean {
  for (const p of removed) {
    for (const e of p.entries) {
      const h = e.target.hash;
      if (targets.get(h) !== e) return false;
      targets.delete(h);
      touched.push(h);
    }
  }
  for (const p of added) {
    for (const e of p.entries) {
      const h = e.target.hash;
      if (targets.has(h)) return false;
      targets.set(h, e);
      touched.push(h);
    }
  }
  return true;
}

/** Per source, its group's position; null when two groups have one source (then changes by source cannot be told apart). */
export function indexBySource(groups: readonly TargetGroup[]): Map<string, number> | null {
  const index = new Map<string, number>();
  // One lookup per group: a source seen before leaves the size short.
  for (let k = 0; k < groups.length; k++) if (index.set(groups[k]!.source, k).size === k) return null;
  return index;
}

/** The state's groups without the holes left by gone ones, and its index anew. */
function closeHoles(st: JobState): void {
  const parts = st.parts;
  st.parts = parts.filter((_, k) => st.groups[k] !== GONE);
  st.groups = st.groups.filter((g) => g !== GONE);
  st.index = indexBySource(st.groups);
  st.holes = 0;
  if (!st.index) st.byGroup = byGroupOf(st.groups, st.parts);
}

/**
 * A job state for a new `sc` object with the same population key (a reload that changed other fields, or none):
 * same targets, entries paired with the new `sc`, and a new group index over the new parts.
 */
export function resc(st: JobState, sc: ScrapeConfig): JobState {
  const parts = withRoomToGrow(st.parts.map((p) => (p === HOLE ? HOLE : { entries: p.entries.length ? p.entries.map((e) => ({ target: e.target, sc, problem: e.problem })) : NONE, dropped: p.dropped, mark: 0 })));
  return { ...st, sc, parts, byGroup: st.index ? null : byGroupOf(st.groups, parts) };
}

/**
 * `a` itself, with room to grow. V8 grows an array's store by copying it whole on the push that finds it full: at a
 * million groups, the first new group a patch appended (patchJob) cost 40 ms per array in a lone script, and most of
 * patchJob's 177 ms in a profiled 1% cycle. A push and a pop leave the grown store in place, so the walks that build
 * a job's arrays, O(groups) anyway, pay that copy instead of the cycle that appends a few groups.
 */
export function withRoomToGrow<T>(a: T[]): T[] {
  if (a.length === 0) return a;
  a.push(a[0]!);
  a.pop();
  return a;
}

/** The WeakMap from each group to its part (JobState.byGroup). */
export function byGroupOf(groups: readonly TargetGroup[], parts: readonly Part[]): WeakMap<TargetGroup, Part> {
  const byGroup = new WeakMap<TargetGroup, Part>();
  groups.forEach((g, k) => byGroup.set(g, parts[k]!));
  return byGroup;
}
