/**
 * The targets a shard is assigned (the spec is the contract's, src/shard/contract.ts), checked against the
 * shard's configuration. A target's identity hash is recomputed here from its labels and its job's params, so
 * the sidecar and the coordinator agree on identities or the update is refused.
 */
import type { PromConfig, ScrapeConfig } from '../config/config.js';
import { AssignmentError, type AssignedTargetSpec } from '../shard/contract.js';
import { parseDuration } from '../prom/duration.js';
import { SCRAPE_INTERVAL_LABEL, SCRAPE_TIMEOUT_LABEL } from '../prom/labels.js';
import { targetHash } from '../target/hash.js';
import { scrapeUrlOf } from '../target/populate.js';

/** A target ready to be proxied: its spec plus what follows from the configuration. */
export interface ResolvedTarget extends AssignedTargetSpec {
  scrapeUrl: string;
  /** ms */
  interval: number;
  timeout: number;
  scrapeConfig: ScrapeConfig;
}

/**
 * Resolves specs against a configuration: computes each hash (and refuses a given hash that differs), the
 * scrape URL and the interval and timeout. Targets of jobs the configuration no longer has are returned apart,
 * so that the caller can report them rather than drop them silently.
 */
export function resolveTargets(specs: readonly AssignedTargetSpec[], cfg: PromConfig): { targets: ResolvedTarget[]; unknownJobs: string[] } {
  const jobs = new Map(cfg.scrapeConfigs.map((sc) => [sc.jobName, sc]));
  const targets: ResolvedTarget[] = [];
  const unknown = new Set<string>();
  const seen = new Set<string>();
  specs.forEach((s, i) => {
    const sc = jobs.get(s.job);
    if (!sc) {
      unknown.add(s.job);
      return;
    }
    const scrapeUrl = scrapeUrlOf(s.labels, sc.params);
    const hash = targetHash(s.labels, scrapeUrl);
    if (s.hash !== '' && s.hash !== hash) {
      throw new AssignmentError(`targets[${i}]: hash ${s.hash} does not match ${hash} computed from its labels and job ${JSON.stringify(s.job)} (do coordinator and sidecar run the same configuration?)`);
    }
    if (seen.has(hash)) return; // the same target twice: Prometheus would scrape it once
    seen.add(hash);
    const interval = durationLabel(s.labels[SCRAPE_INTERVAL_LABEL], sc.scrapeInterval);
    const timeout = durationLabel(s.labels[SCRAPE_TIMEOUT_LABEL], sc.scrapeTimeout);
    targets.push({ ...s, hash, scrapeUrl, interval, timeout, scrapeConfig: sc });
  });
  return { targets, unknownJobs: [...unknown] };
}

function durationLabel(v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  try {
    return parseDuration(v) || fallback;
  } catch {
    return fallback;
  }
}
