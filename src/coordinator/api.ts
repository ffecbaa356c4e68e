/**
 * The coordinator's HTTP API (docs/coordinator-api.md): Prometheus's GET /api/v1/targets with each active target's
 * measured `series` and the `shards` scraping it, GET /api/v1/shards, /metrics, and POST /-/reload.
 */
import type { Access } from '../http/auth.js';
import { apiError, apiSuccess, apiSuccessLists, sendText } from '../http/respond.js';
import type { Handler } from '../http/server.js';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../logger.js';
import { publicLabels, sortedLabels } from '../prom/labels.js';
import { CONSOLE_API_PATHS, serveConsoleApi } from './console-api.js';
import { PROMETHEUS_ADDED_SERIES, type ActiveTargetView, type Coordinator, type CoordinatorOptions, type ShardView } from './coordinator.js';
import type { CoordinatorEvent, EventLog } from './events.js';
import { targetLabelProblem } from '../shard/contract.js';
import type { DroppedTarget, Target } from '../target/populate.js';
import { trackLastResult } from '../metrics.js';
import type { Move } from './moves.js';

/**
 * What CoordinatorMetrics.update reads of the coordinator: public state only (a Coordinator is one). Labels are
 * bounded: per shard and replica (at most --shard.max-shard per replica), per state or kind; never per target.
 */
export interface CoordinatorState {
  readonly cycles: number;
  readonly acting: boolean;
  readonly shardViews: ReadonlyArray<readonly ShardView[]>;
  readonly active: ReadonlyArray<{ readonly target: Pick<Target, 'hash' | 'labels'>; readonly series: number; readonly shards: readonly string[] }>;
  readonly opts: Pick<CoordinatorOptions, 'maxSeries' | 'intervalMs'>;
  readonly events: Pick<EventLog, 'list'>;
  /** When the last cycle (acting or standby) ended, ms; null before the first. */
  readonly lastCycleAt?: number | null;
  /** Milliseconds of the last acting cycle, by step. */
  readonly lastCycleMs?: Readonly<Record<string, number>> | null;
  /** The figures below as the cycle kept them (then `active` is not read: building it costs every target). */
  readonly targetSummary?: TargetSummary | null;
}

/** What /metrics says of the targets, kept by the cycle as it goes. */
export interface TargetSummary {
  targets: number;
  series: number;
  byState: Record<(typeof TARGET_PLACEMENT_STATES)[number], number>;
  /** Hashes of the targets on two shards. */
  inTransfer: ReadonlySet<string>;
}

/** The states of kvass_coordinator_targets_by_state (each active target is in exactly one). */
export const TARGET_PLACEMENT_STATES = ['assigned', 'unassigned', 'in_transfer', 'unassignable'] as const;

export class CoordinatorMetrics {
  readonly registry = new Registry();
  readonly shards = new Gauge({ name: 'kvass_coordinator_shards', help: 'Shards per replica, by readiness.', labelNames: ['ready'], registers: [this.registry] });
  readonly targets = new Gauge({ name: 'kvass_coordinator_targets', help: 'Active targets.', registers: [this.registry] });
  readonly series = new Gauge({ name: 'kvass_coordinator_target_series', help: 'Sum of the measured series of the active targets.', registers: [this.registry] });
  readonly cycles = new Counter({ name: 'kvass_coordinator_cycles_total', help: 'Coordinator cycles run as the acting coordinator (a standby\'s read-only cycles are not counted).', registers: [this.registry] });
  readonly reloadOk = new Gauge({ name: 'kvass_coordinator_config_last_reload_successful', help: 'Whether the last configuration reload (SIGHUP or POST /-/reload) succeeded: 0 while a refused configuration is the latest (the old one stays in force), 1 otherwise (also before any reload: the configuration loaded at start).', registers: [this.registry] });
  readonly reloads = new Counter({ name: 'kvass_coordinator_config_reloads_total', help: 'Configuration reloads, by result.', labelNames: ['result'], registers: [this.registry] });
  readonly leader = new Gauge({ name: 'kvass_coordinator_leader', help: '1 while this coordinator acts (without leader election: always; with it: while it holds the Lease within its renew deadline), 0 on standby.', registers: [this.registry] });
  readonly leaderTransitions = new Counter({ name: 'kvass_coordinator_leader_transitions_total', help: 'Times this coordinator started or stopped leading.', registers: [this.registry] });
  readonly shardHeadSeries = new Gauge({ name: 'kvass_coordinator_shard_head_series', help: 'Head series of each shard\'s Prometheus, as its sidecar reported them at the last cycle (0 when not read). Series that left stay in the head until its next compaction.', labelNames: ['replica', 'shard'], registers: [this.registry] });
  readonly shardSeries = new Gauge({ name: 'kvass_coordinator_shard_series', help: 'Series of each shard as counted against --shard.max-series: the measured series of its targets plus the 5 Prometheus adds per target (a target in transfer counts on both shards), as its sidecar reported them at the last cycle.', labelNames: ['replica', 'shard'], registers: [this.registry] });
  readonly shardReady = new Gauge({ name: 'kvass_coordinator_shard_ready', help: 'Whether the shard could be read at the last cycle (its sidecar answered, its Prometheus is ready and runs the current configuration): 1 or 0.', labelNames: ['replica', 'shard'], registers: [this.registry] });
  readonly shardTargets = new Gauge({ name: 'kvass_coordinator_shard_targets', help: 'Targets assigned to each shard, as its sidecar reported them at the last cycle.', labelNames: ['replica', 'shard'], registers: [this.registry] });
  readonly maxSeries = new Gauge({ name: 'kvass_coordinator_shard_max_series', help: 'The per-shard series budget (--shard.max-series).', registers: [this.registry] });
  readonly targetsByState = new Gauge({ name: 'kvass_coordinator_targets_by_state', help: 'Active targets by placement: assigned (on one shard), in_transfer (on two shards while it moves), unassigned (on no shard: not measured yet, or no room within --shard.max-shard), unassignable (labels a sidecar refuses; shown with the reason in /api/v1/targets).', labelNames: ['state'], registers: [this.registry] });
  readonly oldestTransfer = new Gauge({ name: 'kvass_coordinator_oldest_transfer_seconds', help: 'Age of the oldest transfer in flight (target on two shards), 0 when none. Timed from the first /metrics read that saw it, so it may be short by up to one scrape interval.', registers: [this.registry] });
  readonly lastCycle = new Gauge({ name: 'kvass_coordinator_last_cycle_timestamp_seconds', help: 'When the last cycle (acting or standby) ended, in seconds since the epoch; 0 before the first.', registers: [this.registry] });
  readonly cycleSteps = new Gauge({ name: 'kvass_coordinator_last_cycle_step_seconds', help: 'Time each step of the last acting cycle took: populate (relabel changed target groups), read (the sidecars\' answers), size (the targets\' sizes), plan, push (assignments, and config pushes waited for), rest (bookkeeping).', labelNames: ['step'], registers: [this.registry] });
  readonly interval = new Gauge({ name: 'kvass_coordinator_cycle_interval_seconds', help: 'The time between two cycles (--coordinator.interval).', registers: [this.registry] });
  readonly events = new Counter({ name: 'kvass_coordinator_events_total', help: 'Events of the activity log (GET /api/v1/events), by kind: place, move (one per origin, destination and reason in a cycle), transfer-done, scale-up, scale-down, reload, unplaced.', labelNames: ['kind'], registers: [this.registry] });

  constructor(withProcessMetrics = true, private readonly now: () => number = Date.now) {
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'kvass_coordinator_' });
    trackLastResult(this.reloads, this.reloadOk);
    for (const state of TARGET_PLACEMENT_STATES) this.targetsByState.set({ state }, 0);
  }

  private counted = 0;
  private seenViews: CoordinatorState['shardViews'] | null = null;
  /** Per target in transfer: when it was first seen so (ms). */
  private readonly transferSince = new Map<string, number>();
  /** The newest event counted. */
  private lastEvent: CoordinatorEvent | undefined;

  update(c: CoordinatorState): void {
    const now = this.now();
    this.cycles.inc(c.cycles - this.counted);
    // Every completed cycle counts one more (acting) or replaces the shard views (both acting and standby).
    const cycled = this.seenViews === null ? c.cycles > 0 || c.shardViews.length > 0 : c.cycles !== this.counted || c.shardViews !== this.seenViews;
    if (c.lastCycleAt) this.lastCycle.set(c.lastCycleAt / 1000);
    else if (cycled) this.lastCycle.set(now / 1000);
    this.counted = c.cycles;
    this.seenViews = c.shardViews;
    this.leader.set(c.acting ? 1 : 0);
    this.maxSeries.set(c.opts.maxSeries);
    this.interval.set(c.opts.intervalMs / 1000);
    for (const [step, ms] of Object.entries(c.lastCycleMs ?? {})) this.cycleSteps.set({ step }, ms / 1000);

    this.shards.reset();
    for (const rep of c.shardViews.slice(0, 1)) for (const s of rep) this.shards.inc({ ready: String(s.ready) });
    for (const g of [this.shardHeadSeries, this.shardSeries, this.shardReady, this.shardTargets]) g.reset();
    c.shardViews.forEach((rep, r) => {
      for (const s of rep) {
        const labels = { replica: `replica-${r}`, shard: s.id };
        this.shardHeadSeries.set(labels, s.headSeries);
        this.shardSeries.set(labels, s.processSeries + PROMETHEUS_ADDED_SERIES * s.targets);
        this.shardReady.set(labels, s.ready ? 1 : 0);
        this.shardTargets.set(labels, s.targets);
      }
    });

    const summary = c.targetSummary ?? summarise(c.active);
    this.targets.set(summary.targets);
    this.series.set(summary.series);
    for (const [state, n] of Object.entries(summary.byState)) this.targetsByState.set({ state }, n);
    const inTransfer = summary.inTransfer;
    for (const h of this.transferSince.keys()) if (!inTransfer.has(h)) this.transferSince.delete(h);
    let oldest = now;
    for (const h of inTransfer) {
      const since = this.transferSince.get(h) ?? this.transferSince.set(h, now).get(h)!;
      oldest = Math.min(oldest, since);
    }
    this.oldestTransfer.set((now - oldest) / 1000);

    // Events newer than the newest one counted (the log is a bounded ring: beyond it, what was dropped is lost).
    const events = c.events.list();
    for (const e of events) {
      if (this.lastEvent && sameEvent(e, this.lastEvent)) break;
      this.events.inc({ kind: e.kind });
    }
    this.lastEvent = events[0] ?? this.lastEvent;
  }
}

/** The target figures from the active targets' views (when the cycle did not keep them). */
function summarise(active: CoordinatorState['active']): TargetSummary {
  const byState: TargetSummary['byState'] = { assigned: 0, unassigned: 0, in_transfer: 0, unassignable: 0 };
  const inTransfer = new Set<string>();
  for (const t of active) {
    // The coordinator keeps what a sidecar would refuse out of its plans, by this same check (contract.ts).
    if (targetLabelProblem(t.target.labels) !== undefined) byState.unassignable++;
    else if (t.shards.length === 0) byState.unassigned++;
    else if (t.shards.length === 1) byState.assigned++;
    else {
      byState.in_transfer++;
      inTransfer.add(t.target.hash);
    }
  }
  return { targets: active.length, series: active.reduce((a, t) => a + t.series, 0), byState, inTransfer };
}

const sameEvent = (a: CoordinatorEvent, b: CoordinatorEvent): boolean => a.time === b.time && a.kind === b.kind && a.message === b.message && a.ok === b.ok;

/** One entry of /api/v1/targets' `activeTargets`: Prometheus's fields, then the shard's measure and its shards. */
function activeEntry(a: ActiveTargetView) {
  const url = a.target.scrapeUrl; // made from the labels when asked (populate.ts): once for both fields
  return {
    discoveredLabels: sortedLabels(a.target.discoveredLabels),
    labels: publicLabels(a.target.labels),
    scrapePool: a.target.job,
    scrapeUrl: url,
    globalUrl: url,
    lastError: a.lastError,
    lastScrape: a.lastScrape ?? '0001-01-01T00:00:00Z',
    lastScrapeDuration: a.lastScrapeDuration,
    health: a.health,
    scrapeInterval: a.scrapeInterval,
    scrapeTimeout: a.scrapeTimeout,
    series: a.series,
    shards: a.shards,
  };
}

const droppedEntry = (d: DroppedTarget) => ({ discoveredLabels: sortedLabels(d.discoveredLabels) });

export function targetsData(c: Coordinator, state: string) {
  return { activeTargets: state === 'dropped' ? [] : c.active.map(activeEntry), droppedTargets: state === 'active' ? [] : c.dropped.map(droppedEntry) };
}

/** Each of `xs` as `entry` makes it, one at a time (an answer streamed: the entries are never all held at once). */
function* entries<T, U>(xs: readonly T[], entry: (x: T) => U): Generator<U> {
  for (const x of xs) yield entry(x);
}

export function shardsData(c: Coordinator) {
  return {
    replicas: c.shardViews.map((rep, r) => ({
      name: `replica-${r}`,
      shards: rep.map((s) => ({ id: s.id, url: s.url, ready: s.ready, headSeries: s.headSeries, processSeries: s.processSeries, targets: s.targets, idleSince: s.idleSince })),
    })),
  };
}

/**
 * GET /api/v1/moves: when targets changed shard (moves.ts), for the front door's pushdown. A standby's history is
 * not its own to tell: `sinceMs` null (unknown), so every window takes the remote-read path.
 */
export function movesData(c: Pick<Coordinator, 'moves' | 'acting'>): { sinceMs: number | null; marginMs: number; moves: Move[] } {
  const h = c.moves.history();
  return { sinceMs: c.acting && Number.isFinite(h.sinceMs) ? h.sinceMs : null, marginMs: h.marginMs, moves: h.moves };
}

/** Access levels of the coordinator's routes (http/auth.ts): reads open as Prometheus's are, /-/reload a control path. */
export function coordinatorAccess(method: string, path: string): Access {
  if (path === '/-/healthy' || path === '/-/ready' || path === '/metrics') return 'open';
  if (path === '/-/reload') return 'control';
  return 'read';
}

/** The coordinator's API as a handler (its own server in `kvass coordinator`, part of the front door in `kvass up`). */
export function coordinatorHandler(c: Coordinator, metrics: CoordinatorMetrics, log: Logger, queryUrl: string | null = null): Handler {
  return async (req, res, target) => {
    const route = `${req.method} ${target.path}`;
    if (req.method === 'GET' && CONSOLE_API_PATHS.has(target.path)) return serveConsoleApi(c, res, target, queryUrl);
    switch (route) {
      case 'GET /-/healthy':
      case 'GET /-/ready':
        return sendText(res, 200, 'kvass coordinator is ready.\n');
      case 'GET /api/v1/targets': {
        const state = target.query.get('state') ?? 'any';
        if (!['any', 'active', 'dropped'].includes(state)) return apiError(res, 400, 'bad_data', `invalid state ${JSON.stringify(state)}: expected any, active or dropped`);
        // Streamed: the whole text of a few hundred thousand targets is more than one string can hold.
        return apiSuccessLists(res, [['activeTargets', state === 'dropped' ? [] : entries(c.active, activeEntry)], ['droppedTargets', state === 'active' ? [] : entries(c.dropped, droppedEntry)]]);
      }
      case 'GET /api/v1/shards':
        return apiSuccess(res, shardsData(c));
      case 'GET /api/v1/moves':
        return apiSuccess(res, movesData(c));
      case 'GET /metrics':
        metrics.update(c);
        res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
        return;
      case 'POST /-/reload':
      case 'PUT /-/reload':
        try {
          await c.reload();
          metrics.reloads.inc({ result: 'success' });
          res.writeHead(200).end();
        } catch (e) {
          metrics.reloads.inc({ result: 'failure' });
          log.error({ err: (e as Error).message }, 'reload refused; the old configuration stays in force');
          sendText(res, 500, `failed to reload config: ${(e as Error).message}\n`);
        }
        return;
    }
    apiError(res, 404, 'not_found', `no such endpoint: ${route}`);
  };
}
