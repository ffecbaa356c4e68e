/**
 * The sidecar's own metrics (prom-client). Labels are bounded: by job name (as many as the configuration
 * has), result and state, never by target, since a shard may hold many thousand targets.
 */
import { trackLastResult } from '../metrics.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class SidecarMetrics {
  readonly registry = new Registry();
  readonly scrapes = new Counter({ name: 'kvass_sidecar_proxied_scrapes_total', help: 'Scrapes proxied, by job and result (success, error).', labelNames: ['job', 'result'], registers: [this.registry] });
  readonly refused = new Counter({ name: 'kvass_sidecar_refused_scrapes_total', help: 'Proxy requests refused because their target is not assigned to this shard.', registers: [this.registry] });
  readonly scrapeDuration = new Histogram({
    name: 'kvass_sidecar_proxied_scrape_duration_seconds', help: 'Duration of proxied scrapes, by job.', labelNames: ['job'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry],
  });
  readonly bytes = new Counter({ name: 'kvass_sidecar_proxied_bytes_total', help: 'Body bytes passed from targets to Prometheus (as sent, compressed or not), by job.', labelNames: ['job'], registers: [this.registry] });
  readonly targets = new Gauge({ name: 'kvass_sidecar_targets', help: 'Assigned targets, by state.', labelNames: ['state'], registers: [this.registry] });
  readonly targetSeries = new Gauge({ name: 'kvass_sidecar_target_series', help: 'Sum of the smoothed series of the assigned targets.', registers: [this.registry] });
  readonly headSeries = new Gauge({ name: 'kvass_sidecar_prometheus_head_series', help: 'Head series of the shard\'s Prometheus, at the last poll.', registers: [this.registry] });
  readonly configWrites = new Counter({ name: 'kvass_sidecar_config_writes_total', help: 'Writes of the injected config file (only when its content changed).', registers: [this.registry] });
  readonly reloads = new Counter({ name: 'kvass_sidecar_prometheus_reloads_total', help: 'Reloads of Prometheus requested, by result (success, failure: retried with backoff).', labelNames: ['result'], registers: [this.registry] });
  readonly reloadOk = new Gauge({ name: 'kvass_sidecar_prometheus_last_reload_successful', help: 'Whether the last reload of Prometheus requested succeeded: 0 while the latest attempt failed (retries follow), 1 otherwise (also before any reload).', registers: [this.registry] });
  readonly assignmentUpdates = new Counter({ name: 'kvass_sidecar_assignment_updates_total', help: 'Assignment replacements received, by result.', labelNames: ['result'], registers: [this.registry] });

  constructor(withProcessMetrics = true) {
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'kvass_sidecar_' });
    trackLastResult(this.reloads, this.reloadOk);
  }
}

