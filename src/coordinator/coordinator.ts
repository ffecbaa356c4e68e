/**
 * The coordinator's loop. Every interval it reads the shards (through their sidecars), measures targets
 * (sidecar figures, else a probe), asks the pure planner what each shard should scrape and how many shards
 * there should be, then pushes the changed assignments and scales. All I/O is here; every decision is in
 * planner.ts. State that is not on the sidecars (when a shard stopped being ready, what a starting shard is
 * meant to get) is kept in memory only: a restarted coordinator rebuilds the rest from the sidecars.
 */
import type { Logger } from '../logger.js';
import { parseConfig, readConfigText, type PromConfig } from '../config/config.js';
import { DiscoveryManager } from '../discovery/manager.js';
import type { DroppedTarget, Target } from '../target/populate.js';
import { Population, type GroupSource, type PopulationResult } from './population.js';
import type { ShardInfo, ShardManager } from '../shard/types.js';
import { configHash, type AssignedTargetSpec, type RuntimeInfo, type TargetState } from '../shard/contract.js';
import { Explorer } from './explore.js';
import { EventLog, cycleEvents, scaleEvent } from './events.js';
import { shardId } from '../shard/types.js';
import { planFromNothing, type WhatIf } from './what-if.js';
import { IncrementalPlanner } from './planner-incremental.js';
import type { ShardChanges } from './planner-incremental-output.js';
import { ShardTargets, type AssignmentRecord, type PlannerOptions, type PlannerOutput, type PlannerShard } from './planner.js';
import { ShardClient, type EnvelopeClient } from '../shard/client.js';
import { PlacedTargets } from './placed.js';
import { MoveLog } from './moves.js';
import type { TargetSummary } from './api.js';
import { CallError } from '../http/client.js';
import { SidecarMirrors, assignmentChange, isApplied, type StatusSummary, type SidecarMirror } from './sidecar-mirror.js';
import { MeasuredStatuses } from './measured.js';
import { StatusViews, lazyView, meantView, plannedChange, recordChanges, recordEdits, viewOf, type LazyView, type RecordChanges } from './shard-views.js';
import { BULK_MIN_CHANGES, TargetSizes, type SizingSources } from './sizing.js';
import type { SeatRelease } from './seats.js';

export { PROMETHEUS_ADDED_SERIES } from './sizing.js';

export interface CoordinatorOptions {
  configFile: string;
  intervalMs: number;
  /** The per-shard budget: sum over its targets of (series + PROMETHEUS_ADDED_SERIES). */
  maxSeries: number;
  minShards: number;
  maxShards: number;
  maxIdleTimeMs: number;
  notReadyGraceMs: number;
  exploreConcurrency: number;
  sdInitTimeoutMs: number;
  /** Size used for a target whose probes keep failing, so that it is placed and its `up` says it is down. */
  defaultSeries: number;
  hysteresis: number;
  manager: ShardManager;
  /** kvass's client for the sidecars' API (credential, TLS, timeouts). */
  client: EnvelopeClient;
  log: Logger;
  /**
   * Leader election: whether this coordinator may act now (it holds the lease and its renew deadline has not
   * passed). Checked at the start of a cycle (a standby only keeps discovery warm) and before every write, so that
   * a leader that lost the lease mid-cycle stops before its next push. Absent: always.
   */
  mayWrite?: () => boolean;
  /** Where the move log is kept across restarts (moves.ts); none: in memory. */
  moveLogFile?: string;
  /** Where targets come from; default: the service discovery of the configuration (DiscoveryManager). */
  discovery?: CoordinatorDiscovery;
  /** How a target without a measured size is probed; default: a scrape (explore.ts). */
  probe?: ConstructorParameters<typeof Explorer>[3];
}

/** What the coordinator needs of discovery: the groups (population.ts) and the configuration's SD applied. */
export interface CoordinatorDiscovery extends GroupSource {
  apply(config: PromConfig): void;
  /** Resolves with the jobs still without a first result after `timeoutMs`. */
  waitReady(timeoutMs: number): Promise<string[]>;
  stop(): void;
}

/** Thrown before a write when this coordinator is no longer the acting leader. */
export class NotActing extends Error {
  constructor(what: string) {
    super(`no longer the acting leader: ${what} not done`);
  }
}

export interface ActiveTargetView {
  target: Target;
  series: number;
  shards: string[];
  health: 'up' | 'down' | 'unknown';
  lastError: string;
  lastScrape: string | null;
  lastScrapeDuration: number;
  scrapeInterval: string;
  scrapeTimeout: string;
}

export interface ShardView {
  id: string;
  ordinal: number;
  url: string;
  ready: boolean;
  headSeries: number;
  processSeries: number;
  targets: number;
  idleSince: string | null;
}

interface Polled {
  info: ShardInfo;
  ok: boolean;
  error: string;
  runtime?: RuntimeInfo;
  /** The sidecar's targets as of this cycle (`mirror.statuses`, by hash: read only); set when it could be read. */
  mirror?: SidecarMirror;
}

export { shardId };

export class Coordinator {
  private config!: PromConfig;
  private configHash = '';
  private readonly discovery: CoordinatorDiscovery;
  private readonly explorer: Explorer;
  private readonly notReadySince = new Map<number, number>();
  /** Per ordinal: the last assignment known to be on the shard, or meant for it while it starts. */
  private readonly lastView = new Map<number, LazyView>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  lastPlan: PlannerOutput | null = null;
  /** The planner: exactly planAssignments, at a cost that follows what changed since the last cycle. */
  private readonly planner = new IncrementalPlanner();
  /** The target list of the last plan, for what-if plans (sizing changes it in place: they read the sizes since). */
  private lastPlannerTargets: Array<{ hash: string; series: number }> = [];
  /** What was decided, for people (events.ts). */
  readonly events = new EventLog();
  /** Every target the last plan placed, and those on two shards or more (new ones are reported as placements). */
  private readonly placed = new PlacedTargets();
  /** What /metrics says of the targets (api.ts), kept as the cycle goes instead of read off every target's view. */
  targetSummary: TargetSummary | null = null;
  lastError = '';
  /** Builds the active targets' views of the last cycle; run when they are asked for (API, /metrics), once. */
  private activeViews: (() => ActiveTargetView[]) | null = null;
  private activeMemo: ActiveTargetView[] | null = null;
  private populated: PopulationResult | null = null;
  /** The dropped targets of the last cycle (worked out when first asked for). */
  get dropped(): DroppedTarget[] {
    return this.populated?.dropped ?? [];
  }
  shardViews: ShardView[][] = [];
  cycles = 0;
  /** Milliseconds of the last acting cycle, by step (reading includes the sidecars' answers; pushing, bookkeeping). */
  lastCycleMs: Record<'populate' | 'read' | 'size' | 'plan' | 'push' | 'rest', number> | null = null;
  /** When the last cycle (acting or standby) ended, ms since the epoch; null before the first. */
  lastCycleAt: number | null = null;

  /** When targets changed shard (moves.ts), for the front door's pushdown. */
  readonly moves: MoveLog;

  constructor(readonly opts: CoordinatorOptions) {
    // Both ends of a move are widened by the time a decision takes to reach the shards' scrapes (next cycle, reload).
    this.moves = new MoveLog({ file: opts.moveLogFile, marginMs: 2 * opts.intervalMs + 10_000, log: opts.log });
    this.discovery = opts.discovery ?? new DiscoveryManager(opts.log, 0);
    this.explorer = new Explorer(opts.exploreConcurrency, opts.log, Date.now, opts.probe);
  }

  /**
   * Loads the config, starts discovery and waits (bounded) for each job's first result, then runs a cycle every
   * interval (`loop` false: the caller runs them with runOnce, as a benchmark does).
   */
  async start(loop = true): Promise<void> {
    this.setConfig(await readConfigText(this.opts.configFile));
    const pending = await this.discovery.waitReady(this.opts.sdInitTimeoutMs);
    if (pending.length) this.opts.log.warn({ jobs: pending }, 'discovery not ready within --sd.init-timeout; going on');
    if (loop) this.schedule(0);
  }

  private setConfig(text: string): void {
    const cfg = parseConfig(text, this.opts.configFile);
    this.config = cfg;
    this.configHash = configHash(text);
    this.discovery.apply(cfg);
  }

  /** Re-reads the config file; a bad one is refused (thrown) and the old one stays in force. */
  /** Re-reads the config file; reloads run one at a time (a second waits for the first). */
  reload(): Promise<void> {
    const run = async (): Promise<void> => {
      try {
        const text = await readConfigText(this.opts.configFile);
        if (text === this.config.text) return;
        this.setConfig(text);
      } catch (e) {
        this.events.record('reload', `configuration refused, the old one stays: ${(e as Error).message}`, false);
        throw e;
      }
      this.events.record('reload', `configuration reloaded: ${this.config.scrapeConfigs.length} jobs`);
      this.opts.log.info({ file: this.opts.configFile }, 'configuration reloaded');
    };
    const p = this.reloading.then(run, run);
    this.reloading = p.catch(() => undefined);
    return p;
  }

  private reloading: Promise<unknown> = Promise.resolve();

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .catch((e: unknown) => {
          this.lastError = (e as Error).message;
          this.opts.log.error({ err: this.lastError }, 'coordinator cycle failed');
        })
        .finally(() => {
          this.running = null;
          this.schedule(this.soon ? 0 : this.opts.intervalMs);
          this.soon = false;
        });
    }, ms);
  }

  /** Runs a cycle as soon as the current one (if any) ends, instead of after the interval (a new leader acts at once). */
  runSoon(): void {
    if (this.stopped || this.running) {
      this.soon = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.schedule(0);
  }

  private soon = false;

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    this.discovery.stop();
    await this.explorer.close();
  }

  /** Per job and group, the populated targets of the last cycle: only changed groups are relabeled (population.ts). */
  private readonly population = new Population();

  /** The active targets by hash (read only: shared with the next cycle when nothing changed), and `dropped`. */
  private collectTargets(): Map<string, Target> {
    const res = this.population.update(this.config.scrapeConfigs, this.discovery);
    this.populated = res;
    // Kept until the sizes take them: a cycle that fails before sizing (a shard list that could not be read) must
    // not lose the changes of its update (the map is changed in place).
    const changed = this.population.changed;
    const released = this.population.seats.takeReleased();
    // The measured statuses follow the seats at once, not when sizing takes the changes: what they answer between two
    // cycles (the API's targets) is read at this update's seats.
    this.measuredStatuses.followSeats(changed, released);
    if (changed === null) this.populationChanges = 'all';
    else if (this.populationChanges !== 'all') {
      for (const c of changed) {
        if (typeof c === 'string') this.populationChanges.set(c, undefined);
        else this.populationChanges.set(c.hash, c);
      }
      // Cycles that fail before sizing add up their releases: past as many as there are targets, sizing every
      // target afresh costs less than taking them out one by one, and the list stays bounded.
      if (this.populationReleased.length + released.length > res.targets.size + BULK_MIN_CHANGES) this.populationChanges = 'all';
      else for (const r of released) this.populationReleased.push(r);
    }
    if (this.populationChanges === 'all') this.populationReleased = [];
    return res.targets;
  }

  /**
   * The hashes population changed since the sizes last took them, each with its target now (undefined: gone), as
   * population told it (Population.changed); 'all': size every target afresh.
   */
  private populationChanges: Map<string, Target | undefined> | 'all' = 'all';
  /** The hashes population released since the sizes last took them (seats.ts); none when they are sized afresh. */
  private populationReleased: SeatRelease[] = [];

  private async poll(info: ShardInfo, acting: boolean): Promise<Polled> {
    if (!info.ready) return { info, ok: false, error: 'not ready' };
    const client = new ShardClient(info.apiUrl, this.opts.client);
    try {
      // One call: the statuses with the runtime info (an older sidecar answers without it: then asked apart). The
      // statuses are taken in only from a sidecar that runs this configuration (as before, when they were read
      // after the check): a mirror nobody reads would gather changes for as long as the sidecar runs another one.
      const mirror = this.mirrors.of(info.apiUrl);
      const delta = await client.targetsSince(mirror.version, true);
      let runtime = delta.runtime ?? (await client.runtimeInfo());
      if (runtime.configHash !== this.configHash && !acting) return { info, ok: false, error: 'runs another configuration' };
      if (runtime.configHash !== this.configHash) {
        this.mustAct(`config push to ${info.name}`);
        await client.pushConfig(this.config.text);
        runtime = await client.runtimeInfo();
        if (runtime.configHash !== this.configHash) return { info, ok: false, error: 'runs another configuration' };
        mirror.apply(delta);
        mirror.apply(await client.targetsSince(mirror.version)); // and what the configuration changed
      } else mirror.apply(delta);
      return { info, ok: true, error: '', runtime, mirror };
    } catch (e) {
      return { info, ok: false, error: (e as Error).message };
    }
  }

  /** Each sidecar's targets as of its last answer: statuses travel as changes (sidecar-mirror.ts). */
  private readonly mirrors = new SidecarMirrors();
  /** Per ordinal: the planner's view of what its sidecars report, and the sidecar versions it was made from. */
  private readonly statusViews = new StatusViews();
  /**
   * Per sidecar: the last assignment record known to be applied, and the sidecar's assignmentVersion then (found by
   * comparing, or answered by a push that sent every target of it): while the sidecar applies that version, the
   * record is not compared again.
   */
  private readonly confirmed = new Map<string, { want: AssignmentRecord; version: string }>();

  /** Whether this coordinator acts (see CoordinatorOptions.mayWrite). */
  get acting(): boolean {
    return this.opts.mayWrite?.() ?? true;
  }

  private mustAct(what: string): void {
    if (!this.acting) throw new NotActing(what);
  }

  /**
   * One cycle: read, measure, plan, apply. A standby (leader election) only reads: discovery stays warm and its
   * API shows the shards and targets as the sidecars report them (the global view may ask either coordinator);
   * it keeps nothing of an earlier term, so when it acts it starts from the sidecars, as a restarted one does.
   */
  async runOnce(): Promise<void> {
    const acting = this.acting;
    const now = Date.now();
    const clock = phaseClock();
    const targets = this.collectTargets();
    const populated = clock();
    const replicas = await this.opts.manager.list();
    const n = replicas.length ? Math.min(...replicas.map((r) => r.length)) : 0;
    const polled = await Promise.all(replicas.map((shards) => Promise.all(shards.slice(0, n).map((s) => this.poll(s, acting)))));
    const urls = new Set(replicas.flat().map((s) => s.apiUrl));
    this.mirrors.retain(urls);
    for (const url of this.confirmed.keys()) if (!urls.has(url)) this.confirmed.delete(url);
    if (!acting) return this.observe(targets, polled, n);

    const read = clock();
    const shards: PlannerShard[] = [];
    for (let i = 0; i < n; i++) {
      const copies = polled.map((rep) => rep[i]!);
      const ready = copies.every((c) => c.ok);
      let view: ShardTargets;
      let changedFrom: PlannerShard['changedFrom'];
      if (ready) {
        this.notReadySince.delete(i);
        ({ view, changedFrom } = this.statusViews.of(i, copies.map((c) => c.mirror!)));
        this.lastView.set(i, lazyView(() => view));
      } else {
        if (!this.notReadySince.has(i)) this.notReadySince.set(i, now);
        view = this.lastView.get(i)?.() ?? ShardTargets.EMPTY;
      }
      const idle = ready && copies.every((c) => c.runtime!.idleSince !== null) ? Math.max(...copies.map((c) => Date.parse(c.runtime!.idleSince!))) : null;
      shards.push({ id: i, ready, notReadySinceMs: ready ? null : this.notReadySince.get(i)!, targets: view, idleSinceMs: idle, ...(changedFrom ? { changedFrom } : {}) });
    }

    this.sizeTargets(targets, polled, shards);
    const sized = clock();

    // Taken just before the plan: the changes go to the planner that saw the list last (if this plan throws, the
    // planner starts over and reads the list whole).
    const { list: plannerTargets, changes: targetChanges } = this.sizes.take();
    const plan = this.planner.plan({
      nowMs: now,
      targets: plannerTargets,
      shards,
      options: this.plannerOptions(),
      ...(targetChanges ? { targetChanges } : {}),
    });
    const planned = clock();
    this.lastPlan = plan;
    this.lastPlannerTargets = plannerTargets;
    // What the plan changed in the records (the planner shares the records of shards it did not change): the
    // bookkeeping below costs what changed. Null: compare everything (the first plan of this coordinator, or one that
    // changed most placed targets: isBulk).
    const told = this.planner.changesSince(this.lastAssignments);
    const edits = this.lastAssignments.length > 0 && this.moves.observed ? told?.byTarget.size ?? recordEdits(this.lastAssignments, plan.assignments) : 0;
    const changes = this.lastAssignments.length > 0 && this.moves.observed && !isBulk(edits, this.placed.size) ? told?.byTarget ?? recordChanges(this.lastAssignments, plan.assignments) : null;
    for (const e of cycleEvents(plan, shards, (s) => this.planner.loadBefore(s) ?? this.sizes.loadOf(shards[s]?.targets.hashes ?? []), this.opts.maxSeries, this.placed, this.lastAssignments, changes, this.onSomeShard(shards))) this.events.record(e.kind, e.message, e.ok);
    if (changes) this.placed.applyChanges(changes);
    else this.placed.fromRecords(plan.assignments);
    for (const m of plan.moves) this.opts.log.info({ target: targets.get(m.hash)?.scrapeUrl, from: shardId(m.from), to: shardId(m.to), reason: m.reason }, 'transfer begun');
    for (const h of plan.completed) this.opts.log.info({ target: targets.get(h)?.scrapeUrl }, 'transfer completed');
    for (const h of plan.oversized) this.opts.log.warn({ target: targets.get(h)?.scrapeUrl, maxSeries: this.opts.maxSeries }, 'target bigger than --shard.max-series: it gets a shard of its own');
    if (plan.unplaced.length) this.opts.log.error({ targets: plan.unplaced.length, maxShards: this.opts.maxShards }, 'targets not placed: --shard.max-shard reached');

    // Apply: push changed assignments to ready shards (every replica), remember the rest.
    const pushes: Array<Promise<void>> = [];
    for (let i = 0; i < plan.assignments.length; i++) {
      const want = plan.assignments[i]!;
      const view = i < n ? shards[i]!.targets : undefined;
      if (i < n && shards[i]!.ready) {
        // Every replica whose applied assignment differs gets it (a push that failed, a sidecar that restored an
        // older one from its store): what a sidecar reports is what it applies.
        let pushed = false;
        for (const rep of polled) {
          if (this.isAppliedOn(rep[i]!, want, this.lastAssignments[i], told?.byShard.get(i))) continue;
          this.mustAct(`assignment push to ${rep[i]!.info.name}`);
          pushes.push(this.push(rep[i]!, want, targets, this.lastAssignments[i], told?.byShard.get(i)));
          pushed = true;
        }
        // Applied everywhere: the view read this cycle is the assignment already.
        // Built when asked for: a shard that is read next cycle is seen as it is.
        if (pushed) this.lastView.set(i, lazyView(() => meantView(want, view!)));
      } else {
        // A shard that is starting (or down within its grace) keeps what it is meant to get.
        const base = this.lastView.get(i)?.() ?? ShardTargets.EMPTY;
        this.lastView.set(i, lazyView(() => meantView(want, base, true)));
        if (i >= n && !this.notReadySince.has(i)) this.notReadySince.set(i, now);
      }
    }
    await Promise.all(pushes);
    const pushed = clock();
    this.noteMoves(now, plan, targets, changes, shards.some((s) => s.targets.size > 0));
    this.lastAssignments = plan.assignments;

    // A shard is removed only once nothing is assigned to it any more (the planner drains it first).
    let desired = plan.desiredShards;
    for (let i = n - 1; i >= desired; i--) {
      if ((plan.assignments[i]?.size ?? 0) > 0) {
        desired = i + 1;
        break;
      }
    }
    if (desired !== n && this.opts.manager.scalable) {
      this.mustAct(`scaling from ${n} to ${desired} shards`);
      this.opts.log.info({ from: n, to: desired }, 'scaling shards');
      const e = scaleEvent(n, desired, this.sizes.plannedSeries, this.opts.maxSeries);
      this.events.record(e.kind, e.message);
      await this.opts.manager.scale(desired);
      for (let i = desired; i < n; i++) {
        this.lastView.delete(i);
        this.statusViews.delete(i);
        this.notReadySince.delete(i);
      }
    }

    this.recordViews(targets, polled, n);
    const placedActive = this.placed.size; // the plan only holds active targets that could be placed
    this.targetSummary = {
      targets: targets.size, series: this.sizes.series, inTransfer: this.placed.inTransfer,
      byState: { assigned: placedActive - this.placed.inTransfer.size, in_transfer: this.placed.inTransfer.size, unassignable: this.sizes.unassignable.size, unassigned: Math.max(0, targets.size - this.sizes.unassignable.size - placedActive) },
    };
    this.lastCycleMs = { populate: populated, read, size: sized, plan: planned, push: pushed, rest: clock() };
    this.cycles++;
    this.lastError = '';
  }

  /**
   * The planner's target list (sizing.ts), sized again only where something it depends on may have changed: the
   * population's changed hashes, the statuses the sidecars reported, the probe results; the targets without a
   * measured or probed size also when a shard's view changed. Targets still waiting for a probe are asked for again
   * either way (a failed probe is retried after its back-off).
   */
  private sizeTargets(targets: Map<string, Target>, polled: Polled[][], shards: PlannerShard[]): void {
    const populated = this.populationChanges;
    const released = this.populationReleased;
    this.populationChanges = new Map();
    this.populationReleased = [];
    // Every target is sized below when the population is new or the sizes are not built: the statuses that changed
    // are then not needed (after a restart, a million).
    const rebuild = populated === 'all' || !this.sizesBuilt;
    const measuredChanged = this.measuredStatuses.sync(polled.flat().flatMap((p) => (p.ok && p.mirror ? [p.mirror] : [])), !rebuild);
    const probed = this.explorer.takeChanged();
    const views = shards.map((s) => s.targets);
    const viewsChanged = views.length !== this.sizedViews.length || views.some((v, i) => v !== this.sizedViews[i]);
    this.sizedViews = views;
    const src: SizingSources = {
      targets, problems: this.populated?.problems ?? new Map(), measured: (t) => this.measuredStatuses.at(t), probe: (t) => this.explorer.result(t),
      isOnShard: this.onSomeShard(shards), defaultSeries: this.opts.defaultSeries,
    };
    if (populated === 'all' || !this.sizesBuilt) {
      // First: a population seated afresh (after an update that failed) has its probe results moved to the new seats
      // before sizing reads them.
      this.explorer.retain(targets);
      this.sizes.rebuild(src);
      this.sizesBuilt = true;
    } else {
      for (const r of released) this.explorer.forget(r);
      // With its target where population or the measured statuses found it already: only the probed hashes are looked
      // up (each look-up in the map of every target cost about a microsecond at a million).
      if (populated.size > 0 || measuredChanged.size > 0 || probed.length > 0) this.sizes.update([populated, measuredChanged], probed, src, viewsChanged, released);
      else if (viewsChanged) this.sizes.update([], [], src, true, released);
    }
    this.sizes.forEachProbe((t) => {
      const sc = this.population.scOf(t.job);
      if (sc !== undefined) this.explorer.want(t, sc);
    });
  }

  /**
   * Whether some shard holds a target: a sidecar read this cycle reports it (the measured index has it), or the
   * view kept for a shard that could not be read does. Looking in every record instead cost an index of every
   * target as soon as more than a few new ones were asked about.
   */
  private onSomeShard(shards: readonly PlannerShard[]): (target: string | Target) => boolean {
    const unread = shards.filter((s) => !s.ready);
    // A target, not only its hash, when the caller has it (sizing): its status is read at its seat, without a look-up.
    return (t) => {
      const h = typeof t === 'string' ? t : t.hash;
      return (typeof t === 'string' ? this.measuredStatuses.get(h) : this.measuredStatuses.at(t)) !== undefined || unread.some((s) => s.targets.has(h));
    };
  }

  /** The sizes of the targets (sizing.ts), kept from cycle to cycle; rebuilt after a standby term. */
  private sizes = new TargetSizes();
  private sizesBuilt = false;
  /** The shards' views the sizes were last worked out with. */
  private sizedViews: readonly ShardTargets[] = [];
  /** Per target, the status of the sidecars read that tells its size best (measured.ts). */
  private readonly measuredStatuses = new MeasuredStatuses<Target>((h) => this.populated?.targets.get(h));
  /** The assignment records of the last plan (the planner shares unchanged ones from cycle to cycle). */
  private lastAssignments: PlannerOutput['assignments'] = [];

  /** Whether the sidecar is known (from a push's answer) to apply `record` at the assignmentVersion it reports now. */
  private confirmedOn(p: Polled, record: AssignmentRecord | undefined): boolean {
    const version = p.mirror?.assignmentVersion;
    const seen = this.confirmed.get(p.info.apiUrl);
    return record !== undefined && version !== undefined && seen !== undefined && seen.want === record && seen.version === version;
  }

  /** Whether a sidecar applies `want`; a record known to be applied at the sidecar's assignmentVersion is not compared again. */
  private isAppliedOn(p: Polled, want: AssignmentRecord, before: AssignmentRecord | undefined, planned: ShardChanges | undefined): boolean {
    if (this.confirmedOn(p, want)) return true;
    // Known to apply the last plan's record, which this plan changed (the planner's account): not applied, without
    // walking a record that a change touching most shards made anew for nearly every one.
    if (planned !== undefined && (planned.set.length > 0 || planned.removed.length > 0) && this.confirmedOn(p, before)) return false;
    if (!isApplied(want, p.mirror?.statuses ?? new Map())) return false;
    const version = p.mirror?.assignmentVersion;
    if (version !== undefined) this.confirmed.set(p.info.apiUrl, { want, version });
    return true;
  }

  /**
   * Sends a sidecar its new assignment: as a change to the one it applies when that is smaller (AssignmentChange),
   * whole otherwise or when the sidecar's assignment moved meanwhile (409). Failures are logged: the next cycle
   * sees what the sidecar applies and tries again.
   */
  private async push(
    p: Polled, want: AssignmentRecord, targets: Map<string, Target>,
    /** The record of the last plan for this shard, and what this plan changed in it (the planner's account). */
    before: AssignmentRecord | undefined, planned: ShardChanges | undefined,
  ): Promise<void> {
    const client = new ShardClient(p.info.apiUrl, this.opts.client);
    let unsent = 0; // targets of `want` without a spec (gone from discovery): then the sidecar applies less than `want`
    const spec = (hash: string, state: TargetState): AssignedTargetSpec | undefined => {
      const t = targets.get(hash);
      if (!t) unsent++;
      return t ? { hash, job: t.job, labels: t.labels, state } : undefined;
    };
    // Answered with the new assignmentVersion, a push that sent all of `want` makes it the applied record.
    const applied = (version: string | undefined): void => {
      if (version !== undefined && unsent === 0) this.confirmed.set(p.info.apiUrl, { want, version });
    };
    try {
      const base = p.mirror?.assignmentVersion;
      // A sidecar known to apply the last plan's record gets the planner's change to it; others, the change
      // worked out from what they report (or the whole assignment when that is not smaller).
      const change = base === undefined ? undefined
        : planned !== undefined && this.confirmedOn(p, before) ? plannedChange(planned, base, spec, want.size)
          : assignmentChange(want, p.mirror!.statuses, base, spec);
      if (change) {
        try {
          applied(await client.changeAssignment(change));
          return;
        } catch (e) {
          if (!(e instanceof CallError && e.status === 409)) throw e;
          this.opts.log.info({ shard: p.info.name, err: e.message }, 'assignment change refused: sending it whole');
        }
      }
      unsent = 0;
      applied(await client.assign([...want.entries()].flatMap(([hash, state]) => spec(hash, state) ?? [])));
    } catch (e) {
      this.opts.log.error({ shard: p.info.name, err: (e as Error).message }, 'assignment push failed');
    }
  }

  /** The move log's view of this cycle: which ordinals hold each target now (after the pushes), saved. */
  private noteMoves(now: number, plan: PlannerOutput, targets: Map<string, Target>, changes: RecordChanges | null, placedBefore: boolean): void {
    // The job is looked up only for a move that begins: at 1M targets, for every holder it cost seconds.
    const jobOf = (hash: string): string => targets.get(hash)?.job ?? '';
    if (changes) this.moves.observeChanges(now, changes, jobOf, placedBefore);
    // The placed counts were made from these records this cycle (no changes: from nothing).
    else this.moves.observe(now, this.placed.holdersIn(plan.assignments), jobOf, placedBefore);
    void this.moves.save();
  }

  /**
   * What the planner would do with another budget, from nothing (every target placed anew with the sizes the
   * coordinator holds now, those of the last cycle's plan unless a cycle failed since): the shard count and each
   * shard's load. Nothing is changed.
   */
  whatIf(maxSeries: number): WhatIf {
    return planFromNothing(this.lastPlannerTargets, { ...this.plannerOptions(), maxSeries });
  }

  private plannerOptions(): PlannerOptions {
    return {
      maxSeries: this.opts.maxSeries, minShards: this.opts.minShards, maxShards: this.opts.maxShards, maxIdleTimeMs: this.opts.maxIdleTimeMs,
      notReadyGraceMs: this.opts.notReadyGraceMs, transferMinScrapes: 2, hysteresis: this.opts.hysteresis,
    };
  }

  /** A standby's cycle: what the sidecars report, nothing planned, nothing written. */
  private observe(targets: Map<string, Target>, polled: Polled[][], n: number): void {
    this.targetSummary = null; // a standby's figures come from the sidecars' views (api.ts summarise)
    // Nothing of a term is kept: acting again, the coordinator sizes every target afresh.
    this.measuredStatuses.reset(polled.flat().flatMap((p) => (p.mirror ? [p.mirror] : [])));
    this.statusViews.clear(); // their changes since were just dropped: the next views are compared whole
    this.explorer.takeChanged();
    this.sizes = new TargetSizes();
    this.sizesBuilt = false;
    this.populationChanges = 'all';
    this.populationReleased = [];
    this.notReadySince.clear();
    this.lastView.clear();
    const measured = new Map<string, StatusSummary>();
    for (let i = 0; i < n; i++) {
      const statuses = polled[0]?.[i]?.mirror?.statuses;
      // Taken now: the mirror's statuses change with the next read.
      const view = statuses && viewOf(statuses);
      if (view) this.lastView.set(i, lazyView(() => view));
      for (const rep of polled) for (const st of rep[i]?.mirror?.statuses.values() ?? []) if (!measured.has(st.hash) || st.health === 'up') measured.set(st.hash, st);
    }
    this.recordViews(targets, polled, n, measured);
    this.lastView.clear();
  }

  /**
   * The active targets as of the last cycle: with their shards, size and health. Built on first use after a cycle
   * (the cycle itself does not pay for a million view objects nobody may ask for).
   */
  get active(): ActiveTargetView[] {
    this.activeMemo ??= this.activeViews?.() ?? [];
    return this.activeMemo;
  }

  private recordViews(targets: Map<string, Target>, polled: Polled[][], n: number, measured?: Map<string, StatusSummary>): void {
    const views = Array.from({ length: n }, (_, i) => this.lastView.get(i) ?? lazyView(() => ShardTargets.EMPTY));
    const unassignable = new Map(this.sizes.unassignable);
    this.activeMemo = null;
    const statusOf = measured ? (h: string) => measured.get(h) : (h: string) => this.measuredStatuses.get(h);
    this.activeViews = () => this.activeTargets(targets, views.map((v) => v()), statusOf, unassignable);
    this.shardViews = polled.map((rep) => rep.map((p, i) => ({
      id: shardId(i), ordinal: i, url: p.info.apiUrl, ready: p.ok,
      headSeries: p.runtime?.headSeries ?? 0, processSeries: p.runtime?.processSeries ?? 0,
      targets: p.mirror?.statuses.size ?? 0, idleSince: p.runtime?.idleSince ?? null,
    })));
    this.lastCycleAt = Date.now();
  }

  private activeTargets(targets: Map<string, Target>, views: ShardTargets[], measured: (hash: string) => StatusSummary | undefined, unassignable: Map<string, string>): ActiveTargetView[] {
    const shardsOf = new Map<string, string[]>();
    views.forEach((view, i) => {
      for (const h of view.hashes) (shardsOf.get(h) ?? shardsOf.set(h, []).get(h)!).push(shardId(i));
    });
    return [...targets.values()].map((target) => {
      const m = measured(target.hash);
      const probe = this.explorer.result(target);
      return {
        target,
        series: m && m.health === 'up' ? m.series : probe?.ok ? probe.series : 0,
        shards: (shardsOf.get(target.hash) ?? []).sort(),
        health: unassignable.has(target.hash) ? 'down' : m?.health ?? (probe ? (probe.ok ? 'up' : 'down') : 'unknown'),
        lastError: unassignable.get(target.hash) ?? m?.lastError ?? probe?.error ?? '',
        lastScrape: m?.lastScrape ?? null,
        lastScrapeDuration: m?.lastScrapeDuration ?? 0,
        scrapeInterval: target.labels.__scrape_interval__ ?? '',
        scrapeTimeout: target.labels.__scrape_timeout__ ?? '',
      };
    });
  }

  get replicaCount(): number {
    return this.opts.manager.replicas();
  }
}

/** Milliseconds since the previous call (the first: since creation). */
function phaseClock(): () => number {
  let t = performance.now();
  return () => {
    const now = performance.now();
    const d = now - t;
    t = now;
    return Math.round(d * 10) / 10;
  };
}

/**
 * Whether `edits` (target, record) pairs changed by a plan are most of the `placed` targets: then the placed counts
 * and the move log are made from the records whole (see recordEdits), as after a coordinator's first plan.
 */
function isBulk(edits: number, placed: number): boolean {
  return edits >= BULK_MIN_CHANGES && edits >= placed / 2;
}
