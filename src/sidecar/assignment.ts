/**
 * The targets a shard is assigned: what the coordinator sends, checked against the shard's configuration, and
 * what the store keeps. A target's identity hash is recomputed here from its labels and its job's params, so
 * the sidecar and the coordinator agree on identities or the update is refused.
 */
import type { PromConfig, ScrapeConfig } from '../config/config.js';
import { ADDRESS_LABEL, type Labels } from '../prom/labels.js';
import { parseDuration } from '../prom/duration.js';
import { SCRAPE_INTERVAL_LABEL, SCRAPE_TIMEOUT_LABEL } from '../prom/labels.js';
import { targetHash } from '../target/hash.js';
import { scrapeUrlOf } from '../target/populate.js';

export const TARGET_STATES = ['normal', 'in_transfer'] as const;
/** `in_transfer`: the target is moving here and is still scraped by its old shard too (see the coordinator). */
export type TargetState = (typeof TARGET_STATES)[number];

/** One assigned target, as sent by the coordinator and kept on disk. */
export interface AssignedTargetSpec {
  hash: string;
  /** The job_name of the scrape config it belongs to (its `job` label may differ after relabeling). */
  job: string;
  /** Final labels after relabeling, reserved ones included (`__address__`, `__scheme__`, `__param_*`, …). */
  labels: Labels;
  state: TargetState;
}

/** A target ready to be proxied: its spec plus what follows from the configuration. */
export interface ResolvedTarget extends AssignedTargetSpec {
  scrapeUrl: string;
  /** ms */
  interval: number;
  timeout: number;
  scrapeConfig: ScrapeConfig;
}

export class AssignmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssignmentError';
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads `{"targets":[{"job":…,"labels":{…},"state":"normal","hash":"…"}]}` (hash optional). Throws
 * AssignmentError naming the entry that is wrong; nothing is applied unless every entry is right.
 */
export function readAssignment(body: unknown): AssignedTargetSpec[] {
  if (!isPlainObject(body) || !Array.isArray(body.targets)) throw new AssignmentError('expected an object {"targets":[…]}');
  return body.targets.map((raw, i) => {
    const where = `targets[${i}]`;
    if (!isPlainObject(raw)) throw new AssignmentError(`${where}: expected an object`);
    if (typeof raw.job !== 'string' || raw.job === '') throw new AssignmentError(`${where}: "job" must be a non-empty string`);
    if (!isPlainObject(raw.labels)) throw new AssignmentError(`${where}: "labels" must be an object of strings`);
    const labels: Labels = {};
    for (const [k, v] of Object.entries(raw.labels)) {
      if (typeof v !== 'string') throw new AssignmentError(`${where}: label ${JSON.stringify(k)} must be a string`);
      if (v !== '') labels[k] = v;
    }
    if (!labels[ADDRESS_LABEL]) throw new AssignmentError(`${where}: labels need a non-empty ${ADDRESS_LABEL}`);
    const state = raw.state ?? 'normal';
    if (!TARGET_STATES.includes(state as TargetState)) throw new AssignmentError(`${where}: "state" must be one of ${TARGET_STATES.join(', ')}`);
    if (raw.hash !== undefined && typeof raw.hash !== 'string') throw new AssignmentError(`${where}: "hash" must be a string`);
    return { hash: (raw.hash as string | undefined) ?? '', job: raw.job, labels, state: state as TargetState };
  });
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
