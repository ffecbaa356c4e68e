/**
 * The coordinator's HTTP API (docs/coordinator-api.md): Prometheus's GET /api/v1/targets with each active target's
 * measured `series` and the `shards` scraping it, GET /api/v1/shards, /metrics, and POST /-/reload.
 */
import type { Access } from '../http/auth.js';
import { apiError, apiSuccess, sendText } from '../http/respond.js';
import type { Handler } from '../http/server.js';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../logger.js';
import { publicLabels, sortedLabels } from '../prom/labels.js';
import type { Coordinator } from './coordinator.js';

export class CoordinatorMetrics {
  readonly registry = new Registry();
  readonly shards = new Gauge({ name: 'kvass_coordinator_shards', help: 'Shards per replica, by readiness.', labelNames: ['ready'], registers: [this.registry] });
  readonly targets = new Gauge({ name: 'kvass_coordinator_targets', help: 'Active targets.', registers: [this.registry] });
  readonly series = new Gauge({ name: 'kvass_coordinator_target_series', help: 'Sum of the measured series of the active targets.', registers: [this.registry] });
  readonly cycles = new Counter({ name: 'kvass_coordinator_cycles_total', help: 'Coordinator cycles run as the acting coordinator (a standby\'s read-only cycles are not counted).', registers: [this.registry] });
  readonly reloads = new Counter({ name: 'kvass_coordinator_config_reloads_total', help: 'Configuration reloads, by result.', labelNames: ['result'], registers: [this.registry] });
  readonly leader = new Gauge({ name: 'kvass_coordinator_leader', help: '1 while this coordinator acts (without leader election: always; with it: while it holds the Lease within its renew deadline), 0 on standby.', registers: [this.registry] });
  readonly leaderTransitions = new Counter({ name: 'kvass_coordinator_leader_transitions_total', help: 'Times this coordinator started or stopped leading.', registers: [this.registry] });

  constructor(withProcessMetrics = true) {
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'kvass_coordinator_' });
  }

  private counted = 0;

  update(c: Coordinator): void {
    this.cycles.inc(c.cycles - this.counted);
    this.counted = c.cycles;
    this.leader.set(c.acting ? 1 : 0);
    this.shards.reset();
    for (const rep of c.shardViews.slice(0, 1)) for (const s of rep) this.shards.inc({ ready: String(s.ready) });
    this.targets.set(c.active.length);
    this.series.set(c.active.reduce((a, t) => a + t.series, 0));
  }
}

export function targetsData(c: Coordinator, state: string) {
  const active = state === 'dropped' ? [] : c.active.map((a) => ({
    discoveredLabels: sortedLabels(a.target.discoveredLabels),
    labels: publicLabels(a.target.labels),
    scrapePool: a.target.job,
    scrapeUrl: a.target.scrapeUrl,
    globalUrl: a.target.scrapeUrl,
    lastError: a.lastError,
    lastScrape: a.lastScrape ?? '0001-01-01T00:00:00Z',
    lastScrapeDuration: a.lastScrapeDuration,
    health: a.health,
    scrapeInterval: a.scrapeInterval,
    scrapeTimeout: a.scrapeTimeout,
    series: a.series,
    shards: a.shards,
  }));
  const dropped = state === 'active' ? [] : c.dropped.map((d) => ({ discoveredLabels: sortedLabels(d.discoveredLabels) }));
  return { activeTargets: active, droppedTargets: dropped };
}

export function shardsData(c: Coordinator) {
  return {
    replicas: c.shardViews.map((rep, r) => ({
      name: `replica-${r}`,
      shards: rep.map((s) => ({ id: s.id, url: s.url, ready: s.ready, headSeries: s.headSeries, processSeries: s.processSeries, targets: s.targets, idleSince: s.idleSince })),
    })),
  };
}

/** Access levels of the coordinator's routes (http/auth.ts): reads open as Prometheus's are, /-/reload a control path. */
export function coordinatorAccess(method: string, path: string): Access {
  if (path === '/-/healthy' || path === '/-/ready' || path === '/metrics') return 'open';
  if (path === '/-/reload') return 'control';
  return 'read';
}

/** The coordinator's API as a handler (its own server in `kvass coordinator`, part of the front door in `kvass up`). */
export function coordinatorHandler(c: Coordinator, metrics: CoordinatorMetrics, log: Logger): Handler {
  return async (req, res, target) => {
    const route = `${req.method} ${target.path}`;
    switch (route) {
      case 'GET /-/healthy':
      case 'GET /-/ready':
        return sendText(res, 200, 'kvass coordinator is ready.\n');
      case 'GET /api/v1/targets': {
        const state = target.query.get('state') ?? 'any';
        if (!['any', 'active', 'dropped'].includes(state)) return apiError(res, 400, 'bad_data', `invalid state ${JSON.stringify(state)}: expected any, active or dropped`);
        return apiSuccess(res, targetsData(c, state));
      }
      case 'GET /api/v1/shards':
        return apiSuccess(res, shardsData(c));
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
