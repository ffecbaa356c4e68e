/**
 * Incremental target population for the coordinator (issue 16, item 1). Relabeling every target of every job in
 * every cycle cost 2–3 s of CPU per cycle at 100k targets; discovery, however, replaces a group object only when
 * that group changed (file, HTTP and DNS SD emit only changed groups, Kubernetes rebuilds only the objects it was
 * told about, static SD emits once). So this cache keeps, per job, the populated targets of each group object of
 * the last cycle and relabels only groups it has not seen; a job whose discovery version and population-relevant
 * config are both unchanged is not even walked, a job whose source tells which groups changed (changesSince) is
 * brought up to date from them without a walk (population-state.ts), and when no job moved the last result is
 * handed back as it is.
 *
 * The result is exactly what `jobTargets` over every job (in config order, first job wins on a duplicate hash,
 * every dropped target listed) would give: the same entries for the same hashes and the same dropped list. The
 * Map itself is kept and changed in place (the entries of gone groups out, those of new groups in), so that a
 * cycle in which a few groups changed does not build a million-entry Map; `changed` says which hashes moved.
 * When a hash is held twice (only a full build knows which entry wins), the result is built anew, in discovery
 * order. Group objects must not be mutated once emitted (discovery replaces whole groups; populate.ts relies on it too).
 */
import type { ScrapeConfig } from '../config/config.js';
import type { TargetGroup } from '../discovery/types.js';
import type { GroupChanges } from '../discovery/change-log.js';
import { jobDefaults, targetsFromGroup, type DroppedTarget, type GroupTargets, type JobDefaults, type Target } from '../target/populate.js';
import { Seats } from './seats.js';
import { NONE, activeAt, activeCount, applyParts, byGroupOf, indexBySource, partOf, patchJob, resc, touchedHash, withRoomToGrow, type JobState, type Part, type Touched } from './population-state.js';

/** Where the groups come from (DiscoveryManager satisfies it). */
export interface GroupSource {
  /** A job's current groups, in discovery order. */
  groups(job: string): Iterable<TargetGroup>;
  /**
   * Changes whenever `groups(job)` may return something else. Without it, every job's groups are walked each
   * update (still relabeling only group objects not seen last time).
   */
  version?(job: string): number;
  /**
   * The job's group changes after `version` (a value `version(job)` gave), in order, and each group's object now;
   * undefined when the source cannot tell (then `groups(job)` is walked). Only for a job whose groups' sources are
   * distinct (one discoverer): the changes name groups by source.
   */
  changesSince?(job: string, version: number): GroupChanges | undefined;
}

export interface PopulationResult {
  /**
   * Active targets by hash, first job (then first group, first target) wins. Read only, and changed in place by
   * the next update (see `Population.changed`); its order is not discovery's once changed in place.
   */
  targets: Map<string, Target>;
  /**
   * Why a sidecar would refuse an active target as it is (contract.ts targetLabelProblem), for the few it would
   * refuse; by hash. Read only, changed in place with `targets`.
   */
  problems: Map<string, string>;
  /**
   * Every dropped target, in job then group order. Shared between updates: read only. Worked out when first read
   * after the groups holding dropped targets changed (a walk over every group, which a cycle need not pay).
   */
  readonly dropped: DroppedTarget[];
}

export interface PopulationStats {
  /** Jobs whose groups were walked in the last update. */
  jobsWalked: number;
  /** Jobs brought up to date from their source's changes (GroupSource.changesSince), without a walk. */
  jobsPatched: number;
  /** Group objects relabeled in the last update (new objects; after a patch, every changed source's group). */
  groupsRelabeled: number;
  /** Group objects whose populated targets were reused in the last update. */
  groupsReused: number;
  /** How the last update made its result: the last one as it is, changed in place, or built anew. */
  result: 'reused' | 'in place' | 'rebuilt';
}

/** `targetsFromGroup`'s shape: injectable so that tests can count relabeling. */
export type PopulateGroup = (group: TargetGroup, jd: JobDefaults, into: GroupTargets) => void;


/**
 * What a job's population depends on, as text: the fields jobDefaults() and populate() read. Other fields
 * (limits, TLS, SD settings, `path`) do not change the targets; a change there only gives the job its new `sc`
 * (Population.scOf). Regexes are compared by their pattern, bigints (modulus) by value.
 */
export function populationKey(sc: ScrapeConfig): string {
  const relabel = sc.relabelConfigs.map((r) => [r.action, r.sourceLabels, r.separator, r.regex.source, String(r.modulus), r.targetLabel, r.replacement]);
  return JSON.stringify([sc.jobName, sc.scrapeInterval, sc.scrapeTimeout, sc.metricsPath, sc.scheme, sc.params, relabel]);
}

export class Population {
  private jobs = new Map<string, JobState>();
  private order: JobState[] = [];
  private last: PopulationResult | null = null;
  /**
   * The hashes whose entry in `targets` the last update added, replaced or removed, in the order it did so: each as
   * the target it put in (the entry now, unless a later one names the hash again) or as the hash it took out. Null
   * when there was no earlier result to compare with (the first update). Targets rather than hashes: their readers
   * (sizing, the measured statuses) then need no look-up in the map of every target for them.
   */
  changed: Touched[] | null = null;
  stats: PopulationStats = { jobsWalked: 0, jobsPatched: 0, groupsRelabeled: 0, groupsReused: 0, result: 'rebuilt' };

  /** The seats of the result's targets (seats.ts): each hash in it holds one; those that left are told. */
  get seats(): Seats {
    return this.seated;
  }

  private seated = new Seats();

  constructor(private readonly populateGroup: PopulateGroup = targetsFromGroup) {}

  /**
   * The scrape config of a job of the last update: what its targets are scraped and probed with. A reload that
   * changes none of what population reads gives the job a new config and leaves its targets as they are.
   */
  scOf(job: string): ScrapeConfig | undefined {
    return this.jobs.get(job)?.sc;
  }

  /** Brings the result up to date with the jobs `scs` (in config order) and their groups in `source`. */
  update(scs: readonly ScrapeConfig[], source: GroupSource): PopulationResult {
    try {
      return this.updateFrom(scs, source);
    } catch (e) {
      // A patch changes job states and the result in place: after a failure half-way, start over next time.
      this.jobs = new Map();
      this.order = [];
      this.last = null;
      this.shadowed = 0;
      // The next result is a first one (`changed` null): every target is seated afresh, and readers start over.
      this.seated = new Seats();
      throw e;
    }
  }

  private updateFrom(scs: readonly ScrapeConfig[], source: GroupSource): PopulationResult {
    const stats: PopulationStats = { jobsWalked: 0, jobsPatched: 0, groupsRelabeled: 0, groupsReused: 0, result: 'rebuilt' };
    const next = new Map<string, JobState>();
    const order: JobState[] = [];
    // The result is rebuilt when a job's targets or `sc`, or the list of jobs, differ from last time.
    let rebuild = this.last === null || scs.length !== this.order.length;
    // Hashes the update changed in the result so far (patches and changes in place), and whether a patch found a
    // hash held twice (then the result is built anew: only a full build knows which entry wins).
    const touched: Touched[] = [];
    let mustRebuild = false;
    let droppedMoved = false;
    for (let i = 0; i < scs.length; i++) {
      const sc = scs[i]!;
      const job = sc.jobName;
      const key = populationKey(sc);
      const version = source.version?.(job);
      // Job names are unique in a valid config; a repeated one is populated afresh (never shares state).
      const old = next.has(job) ? undefined : this.jobs.get(job);
      const same = old !== undefined && old.key === key ? old : undefined;
      let st: JobState;
      // Patched in place: the state whose entries the last result holds, and the source tells what changed.
      const changes = same && same.version !== undefined && version !== undefined && same.version !== version && same.index
        && this.last && this.shadowed === 0 && same === this.order[i] && !mustRebuild ? source.changesSince?.(job, same.version) : undefined;
      if (same && version !== undefined && same.version === version) st = same;
      else if (changes) {
        st = same!;
        const scratch: GroupTargets = { active: [], dropped: [], failed: [] };
        const { removed, added } = patchJob(st, changes, version!, (g) => this.populated(g, st.jd, scratch));
        stats.jobsPatched++;
        stats.groupsRelabeled += added.length;
        if (removed.some((p) => p.dropped.length > 0) || added.some((p) => p.dropped.length > 0)) droppedMoved = true;
        if (!applyParts(this.last!, removed, added, touched, this.seated)) mustRebuild = true;
      } else st = this.walk(sc, key, same, version, source, stats);
      if (st.sc !== sc) st = resc(st, sc);
      if (st !== this.order[i]) rebuild = true;
      if (!next.has(job)) next.set(job, st);
      order.push(st);
    }
    const before = this.order;
    this.jobs = next;
    this.order = order;
    this.stats = stats;
    if (!rebuild && !mustRebuild && this.last) {
      if (droppedMoved) this.last = withLazyDropped(this.last, order);
      this.changed = touched;
      stats.result = stats.jobsPatched > 0 ? 'in place' : 'reused';
      return this.last;
    }
    if (this.last && !mustRebuild && this.shadowed === 0 && sameJobs(before, order) && this.changeInPlace(before, order, touched, droppedMoved)) {
      this.changed = touched;
      stats.result = 'in place';
      return this.last;
    }
    stats.result = 'rebuilt';
    return this.rebuildResult(order, touched);
  }

  /** A group's populated targets. */
  private populated(g: TargetGroup, jd: JobDefaults, scratch: GroupTargets): Part {
    this.populateGroup(g, jd, scratch);
    const part = partOf(scratch.active, take(scratch.dropped));
    scratch.active.length = 0;
    scratch.failed.length = 0;
    return part;
  }

  /** Entries left out of the last rebuilt result because an earlier one has their hash. */
  private shadowed = 0;
  /** Generation marks for comparing a job's old and new parts. */
  private mark = 0;

  /**
   * Brings the last result to `order` by taking out the entries of the parts that are gone and adding those of
   * the new ones: O(the walked jobs' groups) instead of O(every target). New entries come after the others in
   * the Map (its order is no longer the order of a rebuild; nothing depends on it). Returns false, with the result
   * half-changed and the hashes touched in `touched`, when a hash is held twice (then only a rebuild knows which
   * entry wins).
   */
  private changeInPlace(before: JobState[], order: JobState[], touched: Touched[], droppedMoved: boolean): boolean {
    const last = this.last!;
    for (let i = 0; i < order.length; i++) {
      const was = before[i]!;
      const now = order[i]!;
      if (was === now) continue;
      const gone = this.mark + 1;
      const kept = this.mark + 2;
      this.mark = kept;
      for (const p of was.parts) p.mark = gone;
      const added: Part[] = [];
      for (const p of now.parts) {
        if (p.mark === gone || p.mark === kept) p.mark = kept;
        else added.push(p);
      }
      const removed = was.parts.filter((p) => p.mark === gone);
      if (removed.some((p) => p.dropped.length > 0) || added.some((p) => p.dropped.length > 0)) droppedMoved = true;
      if (!applyParts(last, removed, added, touched, this.seated)) return false;
    }
    if (droppedMoved) this.last = withLazyDropped(last, order);
    return true;
  }

  /** The result built anew from every job's parts; `changed` compares it with the last one. */
  private rebuildResult(order: JobState[], touched: readonly Touched[]): PopulationResult {
    const old = this.last?.targets;
    const { targets, problems, shadowed } = firstOfEachHash(order, false) ?? firstOfEachHash(order, true)!;
    // What a patch touched before the rebuild is told as the new result has it: another job's target with its hash
    // may win, or the one it took out may be back.
    const changed: Touched[] | null = old ? touched.map((c) => targets.get(touchedHash(c)) ?? touchedHash(c)) : null;
    const dropped: DroppedTarget[] = [];
    for (const st of order) for (const part of st.parts) for (const d of part.dropped) dropped.push(d);
    // A target of the new result without a seat was not in the last one under its hash (a target is seated exactly
    // while a result holds it): it is new there, or changed. One that replaces another with its hash takes that one's
    // seat back; the seats of the hashes gone are then given back, so that the new hashes take them.
    if (changed) {
      for (const [h, e] of old!) {
        if (targets.get(h) === e) continue;
        this.seated.release(e);
        if (!targets.has(h)) changed.push(h);
      }
      for (const e of targets.values()) if (e.seat < 0 && this.seated.reclaim(e)) changed.push(e);
      this.seated.settle();
    }
    for (const e of targets.values()) {
      if (e.seat >= 0) continue;
      this.seated.take(e);
      changed?.push(e);
    }
    this.shadowed = shadowed;
    this.changed = changed;
    this.last = { targets, problems, dropped };
    return this.last;
  }

  /**
   * Walks a job's groups, reusing `old`'s populated groups (same population key) and relabeling the others.
   * Returns `old` itself (with the new version) when every group was reused in the same order.
   */
  private walk(sc: ScrapeConfig, key: string, old: JobState | undefined, version: number | undefined, source: GroupSource, stats: PopulationStats): JobState {
    stats.jobsWalked++;
    const jd = old?.jd ?? jobDefaults(sc);
    // The state keeps the config it was populated with; update() gives it the new one afterwards (resc).
    const owner = old?.sc ?? sc;
    const oldIndex = old?.index ?? null;
    // No map to fill when there is nothing to reuse (a first walk): the state gets its index or map at the end.
    const byGroup = oldIndex || old === undefined ? null : (old.byGroup ?? new WeakMap<TargetGroup, Part>());
    // Copied, as the state's own (a patch changes its arrays in place), and the parts filled in by position into an
    // array of the right length: at a million groups, growing two arrays by push was most of a walk's time (0.3 s).
    const listed = source.groups(sc.jobName);
    const groups: TargetGroup[] = Array.isArray(listed) ? (listed as TargetGroup[]).slice() : [...listed];
    const parts = new Array<Part>(groups.length);
    const scratch: GroupTargets = { active: [], dropped: [], failed: [] };
    let unchanged = old !== undefined;
    // Unchanged groups mostly come in the old order: a cursor over the old groups finds them without hashing.
    const oldGroups = old?.groups ?? NONE;
    let cursor = 0;
    for (let k = 0; k < groups.length; k++) {
      const g = groups[k]!;
      let part: Part | undefined;
      if (oldGroups[cursor] === g) part = old!.parts[cursor++];
      else if (oldIndex) {
        const at = oldIndex.get(g.source);
        if (at !== undefined && oldGroups[at] === g) {
          part = old!.parts[at];
          cursor = at + 1;
        }
      } else if (byGroup !== null) {
        part = byGroup.get(g);
        // Resynchronise after a few removed groups.
        if (part !== undefined) for (let d = 1; d <= 4; d++) if (oldGroups[cursor + d] === g) {
          cursor += d + 1;
          break;
        }
      }
      if (part !== undefined) {
        stats.groupsReused++;
      } else {
        stats.groupsRelabeled++;
        part = this.populated(g, jd, scratch);
        byGroup?.set(g, part);
      }
      if (unchanged && old!.parts[k] !== part) unchanged = false;
      parts[k] = part;
    }
    if (unchanged && parts.length === old!.parts.length) {
      old!.version = version;
      return old!;
    }
    withRoomToGrow(groups);
    withRoomToGrow(parts);
    const index = source.changesSince ? indexBySource(groups) : null;
    return { sc: owner, key, jd, version, groups, parts, index, holes: 0, byGroup: index ? null : (byGroup ?? byGroupOf(groups, parts)) };
  }
}

/**
 * Every populated target by hash, the first of each hash in `order` (a later one is shadowed). Null when `checked` is
 * false and a hash came twice: that walk only sets, and sees a hash that came before by the map not growing, which
 * is one operation on a million-entry map per target instead of two (0.4 µs each on this machine), but by then the
 * later entry has replaced the first. Shadowed targets are rare (two jobs with a target alike), so the caller then
 * walks again, checked.
 */
function firstOfEachHash(order: readonly JobState[], checked: boolean): { targets: Map<string, Target>; problems: Map<string, string>; shadowed: number } | null {
  const targets = new Map<string, Target>();
  const problems = new Map<string, string>();
  let shadowed = 0;
  for (const st of order) {
    for (const part of st.parts) {
      // A hash held twice is the same labels and URL: the same problem, whichever target wins.
      if (part.problems !== null) for (const [h, problem] of part.problems) problems.set(h, problem);
      for (let k = 0, n = activeCount(part); k < n; k++) {
        const e = activeAt(part, k);
        const h = e.hash;
        if (!checked) {
          const size = targets.size;
          if (targets.set(h, e).size === size) return null;
        } else if (targets.has(h)) shadowed++;
        else targets.set(h, e);
      }
    }
  }
  return { targets, problems, shadowed };
}

/** The same jobs at the same places (their states may differ). */
function sameJobs(a: readonly JobState[], b: readonly JobState[]): boolean {
  return a.length === b.length && a.every((st, i) => st.sc.jobName === b[i]!.sc.jobName);
}

/** The scratch array's contents as a right-sized array (a shared empty one when empty); empties the scratch. */
function take<T>(scratch: T[]): T[] {
  if (scratch.length === 0) return NONE;
  const out = scratch.slice();
  scratch.length = 0;
  return out;
}

/** A result whose dropped list is gathered from the jobs' parts when first read, then kept. */
function withLazyDropped({ targets, problems }: PopulationResult, order: readonly JobState[]): PopulationResult {
  let dropped: DroppedTarget[] | undefined;
  return {
    targets,
    problems,
    get dropped(): DroppedTarget[] {
      return (dropped ??= order.flatMap((st) => st.parts.flatMap((p) => p.dropped)));
    },
  };
}
