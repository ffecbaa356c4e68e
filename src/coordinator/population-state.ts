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
import type { Seats } from './seats.js';

/**
 * One group's populated targets. Its active targets are held as they are (no object pairing each with its job's
 * config: the job's current `sc` is the state's), and a group with one active target, a pod's usual group, holds it
 * without an array: at a million targets, a pairing object and a one-entry array were about 100 bytes per target.
 */
export interface Part {
  /** The active targets: none (null), one, or an array of two or more (activeCount and activeAt read them). */
  active: Target | Target[] | null;
  dropped: DroppedTarget[];
  /**
   * Why a sidecar would refuse an active target as it is (contract.ts targetLabelProblem), by hash; null when it
   * would refuse none, nearly always. Checked once when populated: labels do not change after, and sizing reads it
   * for every target at each rebuild (0.7 s at a million).
   */
  problems: Map<string, string> | null;
  /** Scratch for comparing a job's old and new parts (Population.changeInPlace). */
  mark?: number;
}

/** How many active targets a part holds. */
export function activeCount(p: Part): number {
  const a = p.active;
  return a === null ? 0 : Array.isArray(a) ? a.length : 1;
}

/** A part's k-th active target (0 ≤ k < activeCount). */
export function activeAt(p: Part, k: number): Target {
  const a = p.active!;
  return Array.isArray(a) ? a[k]! : a;
}

/** A part made from a group's populated targets (`active` is copied: it may be a scratch array). */
export function partOf(active: readonly Target[], dropped: DroppedTarget[]): Part {
  let problems: Map<string, string> | null = null;
  for (const t of active) {
    const problem = targetLabelProblem(t.labels);
    if (problem !== undefined) (problems ??= new Map()).set(t.hash, problem);
  }
  return { active: active.length === 0 ? null : active.length === 1 ? active[0]! : active.slice(), dropped, problems, mark: 0 };
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
const HOLE: Part = { active: null, dropped: NONE, problems: null, mark: 0 }; // not frozen: changeInPlace marks parts

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
  // Each changed source's position after its changes (undefined: gone). Kept here rather than looked up again in
  // `index`: a look-up in a map of a million sources cost about a microsecond (9 of 19 ms in a profiled 1% cycle).
  const touched = new Map<string, number | undefined>();
  for (const c of changes.changes) {
    let pos = index.get(c.source);
    if (c.gone) {
      if (pos !== undefined) {
        hole(pos);
        index.delete(c.source);
        pos = undefined;
      }
    } else if (pos === undefined) {
      pos = groups.length;
      index.set(c.source, pos);
      groups.push(GONE);
      parts.push(HOLE);
    }
    touched.set(c.source, pos);
  }
  for (const [source, pos] of touched) {
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

/** A hash an update touched (Population.changed): the target it put in for it, or the hash when it took it out. */
export type Touched = string | Target;

export function touchedHash(t: Touched): string {
  return typeof t === 'string' ? t : t.hash;
}

/**
 * Takes `removed` parts' targets out of `result` and puts `added` ones' in, naming each in `touched` (Touched), and
 * unseating and seating them (a hash taken out and put in keeps its seat). False, with `result` half-changed (each
 * target in it seated, each taken out unseated, their seats kept for the rebuild), when a hash is held twice (a target
 * to take out is not the one held, or one to put in is held already): then only a rebuild knows which target wins.
 */
export function applyParts(result: { targets: Map<string, Target>; problems: Map<string, string> }, removed: readonly Part[], added: readonly Part[], touched: Touched[], seats: Seats): boolean {
  const { targets, problems } = result;
  for (const p of removed) {
    for (let k = 0, n = activeCount(p); k < n; k++) {
      const e = activeAt(p, k);
      const h = e.hash;
      if (targets.get(h) !== e) return false;
      targets.delete(h);
      seats.release(e);
      touched.push(h);
    }
    if (p.problems !== null) for (const h of p.problems.keys()) problems.delete(h);
  }
  // A target that replaces one with its hash takes that one's seat back; the seats of the hashes gone are then given
  // back, so that the new hashes take them instead of seats beyond the range (seats.ts).
  const fresh: Target[] = [];
  for (const p of added) {
    for (let k = 0, n = activeCount(p); k < n; k++) {
      const e = activeAt(p, k);
      const h = e.hash;
      if (targets.has(h)) {
        for (const f of fresh) seats.take(f);
        return false;
      }
      targets.set(h, e);
      if (!seats.reclaim(e)) fresh.push(e);
      touched.push(e);
    }
    if (p.problems !== null) for (const [h, problem] of p.problems) problems.set(h, problem);
  }
  seats.settle();
  for (const e of fresh) seats.take(e);
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
 * the same groups and parts (targets do not carry their job's config: Population.scOf tells it).
 */
export function resc(st: JobState, sc: ScrapeConfig): JobState {
  return { ...st, sc };
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
