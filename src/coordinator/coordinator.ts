/**
 * The coordinator's loop. Every interval it reads the shards (through their sidecars), measures targets
 * (sidecar figures, else a probe), asks the pure planner what each shard should scrape and how many shards
 * there should be, then pushes the changed assignments and scales. All I/O is here; every decision is in
 * planner.ts. State that is not on the sidecars (when a shard stopped being ready, what a starting shard is
 * meant to get) is kept in memory only: a restarted coordinator rebuilds the rest from the sidecars.
 */
import type { Logger } from '../logger.js';
import { parseConfig, readConfigText, type PromConfig, type ScrapeConfig } from '../config/config.js';
import { DiscoveryManager } from '../discovery/manager.js';
import type { DroppedTarget, Target } from '../target/populate.js';
import { Population } from './population.js';
import type { ShardInfo, ShardManager } from '../shard/types.js';
import { configHash, targetLabelProblem, type RuntimeInfo, type TargetStatus, type TargetState } from '../shard/contract.js';
import { Explorer, PROBE_ATTEMPTS_BEFORE_DEFAULT } from './explore.js';
import { EventLog, cycleEvents, scaleEvent } from './events.js';
import { shardId } from '../shard/types.js';
import { planFromNothing, type WhatIf } from './what-if.js';
import { IncrementalPlanner } from './planner-incremental.js';
import type { PlannerOptions, PlannerOutput, PlannerShard, ShardTargetView } from './planner.js';
import { ShardClient } from '../shard/client.js';
import { MoveLog } from './moves.js';
import type { ApiClient } from '../http/client.js';

/** Series Prometheus adds per target (up, scrape_duration_seconds, scrape_samples_scraped, scrape_samples_post_metric_relabeling, scrape_series_added). */
export const PROMETHEUS_ADDED_SERIES = 5;

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
  client: ApiClient;
  log: Logger;
  /**
   * Leader election: whether this coordinator may act now (it holds the lease and its renew deadline has not
   * passed). Checked at the start of a cycle (a standby only keeps discovery warm) and before every write, so that
   * a leader that lost the lease mid-cycle stops before its next push. Absent: always.
   */
  mayWrite?: () => boolean;
  /** Where the move log is kept across restarts (moves.ts); none: in memory. */
  moveLogFile?: string;
}

/** Thrown before a write when this coordinator is no longer the acting leader. */
export class NotActing extends Error {
  constructor(what: string) {
    super(`no longer the acting leader: ${what} not done`);
  }
}

export interface ActiveTargetView {
  target: Target;
  scrapeConfig: ScrapeConfig;
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
  statuses?: TargetStatus[];
}

export { shardId };

export class Coordinator {
  private config!: PromConfig;
  private configHash = '';
  private readonly discovery: DiscoveryManager;
  private readonly explorer: Explorer;
  private readonly notReadySince = new Map<number, number>();
  /** Per ordinal: the last assignment known to be on the shard, or meant for it while it starts. */
  private readonly lastView = new Map<number, Record<string, ShardTargetView>>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** Targets kept out of plans this cycle, and why. */
  private readonly unassignable = new Map<string, string>();
  lastPlan: PlannerOutput | null = null;
  /** The planner: exactly planAssignments, at a cost that follows what changed since the last cycle. */
  private readonly planner = new IncrementalPlanner();
  /** The targets with their sizes as the last plan saw them (for what-if plans). */
  private lastPlannerTargets: Array<{ hash: string; series: number }> = [];
  /** What was decided, for people (events.ts). */
  readonly events = new EventLog();
  /** Every target the last plan placed (new ones are reported as placements). */
  private placed = new Set<string>();
  lastError = '';
  active: ActiveTargetView[] = [];
  dropped: DroppedTarget[] = [];
  shardViews: ShardView[][] = [];
  cycles = 0;
  /** When the last cycle (acting or standby) ended, ms since the epoch; null before the first. */
  lastCycleAt: number | null = null;

  /** When targets changed shard (moves.ts), for the front door's pushdown. */
  readonly moves: MoveLog;

  constructor(readonly opts: CoordinatorOptions) {
    // Both ends of a move are widened by the time a decision takes to reach the shards' scrapes (next cycle, reload).
    this.moves = new MoveLog({ file: opts.moveLogFile, marginMs: 2 * opts.intervalMs + 10_000, log: opts.log });
    this.discovery = new DiscoveryManager(opts.log, 0);
    this.explorer = new Explorer(opts.exploreConcurrency, opts.log);
  }

  /** Loads the config, starts discovery and waits (bounded) for each job's first result. */
  async start(): Promise<void> {
    this.setConfig(await readConfigText(this.opts.configFile));
    const pending = await this.discovery.waitReady(this.opts.sdInitTimeoutMs);
    if (pending.length) this.opts.log.warn({ jobs: pending }, 'discovery not ready within --sd.init-timeout; going on');
    this.schedule(0);
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
  private collectTargets(): Map<string, { target: Target; sc: ScrapeConfig }> {
    const res = this.population.update(this.config.scrapeConfigs, this.discovery);
    this.dropped = res.dropped;
    return res.targets;
  }

  private async poll(info: ShardInfo, acting: boolean): Promise<Polled> {
    if (!info.ready) return { info, ok: false, error: 'not ready' };
    const client = new ShardClient(info.apiUrl, this.opts.client);
    try {
      let runtime = await client.runtimeInfo();
      if (runtime.configHash !== this.configHash && !acting) return { info, ok: false, error: 'runs another configuration' };
      if (runtime.configHash !== this.configHash) {
        this.mustAct(`config push to ${info.name}`);
        await client.pushConfig(this.config.text);
        runtime = await client.runtimeInfo();
        if (runtime.configHash !== this.configHash) return { info, ok: false, error: 'runs another configuration' };
      }
      return { info, ok: true, error: '', runtime, statuses: await client.targets() };
    } catch (e) {
      return { info, ok: false, error: (e as Error).message };
    }
  }

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
    const targets = this.collectTargets();
    const replicas = await this.opts.manager.list();
    const n = replicas.length ? Math.min(...replicas.map((r) => r.length)) : 0;
    const polled = await Promise.all(replicas.map((shards) => Promise.all(shards.slice(0, n).map((s) => this.poll(s, acting)))));
    if (!acting) return this.observe(targets, polled, n);

    // Sizes: what a sidecar measured, else the probe, else (after failed probes) the default.
    const measured = new Map<string, TargetStatus>();
    for (const rep of polled) {
      for (const p of rep) {
        for (const st of p.statuses ?? []) {
          const prev = measured.get(st.hash);
          if (!prev || (st.health === 'up' && (prev.health !== 'up' || st.series > prev.series))) measured.set(st.hash, st);
        }
      }
    }
    const shards: PlannerShard[] = [];
    for (let i = 0; i < n; i++) {
      const copies = polled.map((rep) => rep[i]!);
      const ready = copies.every((c) => c.ok);
      let view: Record<string, ShardTargetView>;
      if (ready) {
        this.notReadySince.delete(i);
        view = {};
        const first = copies[0]!.statuses!;
        for (const st of first) {
          const scrapes = Math.min(...copies.map((c) => c.statuses!.find((x) => x.hash === st.hash)?.scrapesSinceAssigned ?? 0));
          view[st.hash] = { state: st.state, scrapes };
        }
        this.lastView.set(i, view);
      } else {
        if (!this.notReadySince.has(i)) this.notReadySince.set(i, now);
        view = this.lastView.get(i) ?? {};
      }
      const idle = ready && copies.every((c) => c.runtime!.idleSince !== null) ? Math.max(...copies.map((c) => Date.parse(c.runtime!.idleSince!))) : null;
      shards.push({ id: i, ready, notReadySinceMs: ready ? null : this.notReadySince.get(i)!, targets: view, idleSinceMs: idle });
    }

    const plannerTargets: Array<{ hash: string; series: number }> = [];
    const onShard = new Set(shards.flatMap((s) => Object.keys(s.targets)));
    this.unassignable.clear();
    for (const [hash, { target, sc }] of targets) {
      // A sidecar refuses what cannot be scraped as it is (contract.ts): kept out of plans, shown with the reason.
      const problem = targetLabelProblem(target.labels);
      if (problem !== undefined) {
        this.unassignable.set(hash, problem);
        continue;
      }
      const m = measured.get(hash);
      let series: number | null = null;
      if (m && m.health === 'up' && m.scrapesSinceAssigned > 0) series = m.series;
      else {
        const probe = this.explorer.results.get(hash);
        if (probe?.ok) series = probe.series;
        else if (onShard.has(hash)) series = m?.series ?? probe?.series ?? 0;
        else if (probe && probe.attempts >= PROBE_ATTEMPTS_BEFORE_DEFAULT) series = this.opts.defaultSeries;
        if (!probe?.ok && !(m && m.health === 'up')) this.explorer.want({ hash, scrapeUrl: target.scrapeUrl, labels: target.labels, timeout: target.timeout, scrapeConfig: sc });
      }
      if (series !== null) plannerTargets.push({ hash, series: series + PROMETHEUS_ADDED_SERIES });
    }
    this.explorer.retain(new Set(targets.keys()));

    const plan = this.planner.plan({
      nowMs: now,
      targets: plannerTargets,
      shards,
      options: this.plannerOptions(),
    });
    this.lastPlan = plan;
    this.lastPlannerTargets = plannerTargets;
    for (const e of cycleEvents(plan, shards, plannerTargets, this.opts.maxSeries, this.placed)) this.events.record(e.kind, e.message, e.ok);
    this.placed = new Set(plan.assignments.flatMap((a) => Object.keys(a)));
    for (const m of plan.moves) this.opts.log.info({ target: targets.get(m.hash)?.target.scrapeUrl, from: shardId(m.from), to: shardId(m.to), reason: m.reason }, 'transfer begun');
    for (const h of plan.completed) this.opts.log.info({ target: targets.get(h)?.target.scrapeUrl }, 'transfer completed');
    for (const h of plan.oversized) this.opts.log.warn({ target: targets.get(h)?.target.scrapeUrl, maxSeries: this.opts.maxSeries }, 'target bigger than --shard.max-series: it gets a shard of its own');
    if (plan.unplaced.length) this.opts.log.error({ targets: plan.unplaced.length, maxShards: this.opts.maxShards }, 'targets not placed: --shard.max-shard reached');

    // Apply: push changed assignments to ready shards (every replica), remember the rest.
    const pushes: Array<Promise<void>> = [];
    for (let i = 0; i < plan.assignments.length; i++) {
      const want = plan.assignments[i]!;
      const view = i < n ? shards[i]!.targets : undefined;
      if (i < n && shards[i]!.ready) {
        if (polled.every((rep) => sameAssignment(want, viewOf(rep[i]!.statuses ?? [])))) continue;
        const specs = Object.entries(want).flatMap(([hash, state]) => {
          const t = targets.get(hash);
          return t ? [{ hash, job: t.target.job, labels: t.target.labels, state: state as TargetState }] : [];
        });
        // Every replica whose applied assignment differs gets it (a push that failed, a sidecar that restored an
        // older one from its store): what a sidecar reports is what it applies.
        for (const rep of polled) {
          if (sameAssignment(want, viewOf(rep[i]!.statuses ?? []))) continue;
          const client = new ShardClient(rep[i]!.info.apiUrl, this.opts.client);
          this.mustAct(`assignment push to ${rep[i]!.info.name}`);
          pushes.push(client.assign(specs).catch((e: unknown) => this.opts.log.error({ shard: rep[i]!.info.name, err: (e as Error).message }, 'assignment push failed')));
        }
        this.lastView.set(i, Object.fromEntries(Object.entries(want).map(([h, state]) => [h, { state, scrapes: view![h]?.state === state ? view![h]!.scrapes : 0 }])));
      } else {
        // A shard that is starting (or down within its grace) keeps what it is meant to get.
        const prior = this.lastView.get(i) ?? {};
        this.lastView.set(i, Object.fromEntries(Object.entries(want).map(([h, state]) => [h, { state, scrapes: prior[h]?.scrapes ?? 0 }])));
        if (i >= n && !this.notReadySince.has(i)) this.notReadySince.set(i, now);
      }
    }
    await Promise.all(pushes);
    this.noteMoves(now, plan, targets, shards.some((s) => Object.keys(s.targets).length > 0));

    // A shard is removed only once nothing is assigned to it any more (the planner drains it first).
    let desired = plan.desiredShards;
    for (let i = n - 1; i >= desired; i--) {
      if (Object.keys(plan.assignments[i] ?? {}).length > 0) {
        desired = i + 1;
        break;
      }
    }
    if (desired !== n && this.opts.manager.scalable) {
      this.mustAct(`scaling from ${n} to ${desired} shards`);
      this.opts.log.info({ from: n, to: desired }, 'scaling shards');
      const e = scaleEvent(n, desired, plannerTargets.reduce((a, t) => a + t.series, 0), this.opts.maxSeries);
      this.events.record(e.kind, e.message);
      await this.opts.manager.scale(desired);
      for (let i = desired; i < n; i++) {
        this.lastView.delete(i);
        this.notReadySince.delete(i);
      }
    }

    this.recordViews(targets, polled, measured, n);
    this.cycles++;
    this.lastError = '';
  }

  /** The move log's view of this cycle: which ordinals hold each target now (after the pushes), saved. */
  private noteMoves(now: number, plan: PlannerOutput, targets: Map<string, { target: Target; sc: ScrapeConfig }>, placedBefore: boolean): void {
    const holders = new Map<string, { ordinals: number[]; job: string }>();
    plan.assignments.forEach((a, ordinal) => {
      for (const hash of Object.keys(a)) {
        const h = holders.get(hash) ?? holders.set(hash, { ordinals: [], job: targets.get(hash)?.target.job ?? '' }).get(hash)!;
        h.ordinals.push(ordinal);
      }
    });
    this.moves.observe(now, holders, placedBefore);
    void this.moves.save();
  }

  /**
   * What the planner would do with another budget, from nothing (every target placed anew with the sizes of the
   * last cycle): the shard count and each shard's load. Nothing is changed.
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
  private observe(targets: Map<string, { target: Target; sc: ScrapeConfig }>, polled: Polled[][], n: number): void {
    this.notReadySince.clear();
    this.lastView.clear();
    const measured = new Map<string, TargetStatus>();
    for (let i = 0; i < n; i++) {
      const statuses = polled[0]?.[i]?.statuses;
      if (statuses) this.lastView.set(i, viewOf(statuses));
      for (const rep of polled) for (const st of rep[i]?.statuses ?? []) if (!measured.has(st.hash) || st.health === 'up') measured.set(st.hash, st);
    }
    this.recordViews(targets, polled, measured, n);
    this.lastView.clear();
  }

  private recordViews(targets: Map<string, { target: Target; sc: ScrapeConfig }>, polled: Polled[][], measured: Map<string, TargetStatus>, n: number): void {
    const shardsOf = new Map<string, Set<string>>();
    for (let i = 0; i < n; i++) for (const h of Object.keys(this.lastView.get(i) ?? {})) (shardsOf.get(h) ?? shardsOf.set(h, new Set()).get(h)!).add(shardId(i));
    this.active = [...targets.values()].map(({ target, sc }) => {
      const m = measured.get(target.hash);
      const probe = this.explorer.results.get(target.hash);
      return {
        target, scrapeConfig: sc,
        series: m && m.health === 'up' ? m.series : probe?.ok ? probe.series : 0,
        shards: [...(shardsOf.get(target.hash) ?? [])].sort(),
        health: this.unassignable.has(target.hash) ? 'down' : m?.health ?? (probe ? (probe.ok ? 'up' : 'down') : 'unknown'),
        lastError: this.unassignable.get(target.hash) ?? m?.lastError ?? probe?.error ?? '',
        lastScrape: m?.lastScrape ?? null,
        lastScrapeDuration: m?.lastScrapeDuration ?? 0,
        scrapeInterval: target.labels.__scrape_interval__ ?? '',
        scrapeTimeout: target.labels.__scrape_timeout__ ?? '',
      };
    });
    this.shardViews = polled.map((rep) => rep.map((p, i) => ({
      id: shardId(i), ordinal: i, url: p.info.apiUrl, ready: p.ok,
      headSeries: p.runtime?.headSeries ?? 0, processSeries: p.runtime?.processSeries ?? 0,
      targets: p.statuses?.length ?? 0, idleSince: p.runtime?.idleSince ?? null,
    })));
    this.lastCycleAt = Date.now();
  }

  get replicaCount(): number {
    return this.opts.manager.replicas();
  }
}

/** A sidecar's applied assignment, as the planner sees one. */
function viewOf(statuses: readonly TargetStatus[]): Record<string, ShardTargetView> {
  return Object.fromEntries(statuses.map((st) => [st.hash, { state: st.state, scrapes: st.scrapesSinceAssigned }]));
}

function sameAssignment(want: Record<string, TargetState>, have: Record<string, ShardTargetView>): boolean {
  const w = Object.keys(want);
  if (w.length !== Object.keys(have).length) return false;
  return w.every((h) => have[h]?.state === want[h]);
}
