/**
 * The coordinator–sidecar contract (docs/sidecar-api.md): what the coordinator sends a shard's sidecar and what it
 * reads back, and the rule that tells whether both run the same configuration. Both sides import this module (and
 * the client, client.ts); neither imports the other's internals.
 */
import { createHash } from 'node:crypto';
import { ADDRESS_LABEL, type Labels } from '../prom/labels.js';

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

/** What the sidecar reports of each assigned target (GET /api/v1/shard/targets). */
export interface TargetStatus {
  hash: string;
  job: string;
  labels: Labels;
  state: TargetState;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
  /** ISO time of the last scrape's start, null before the first. */
  lastScrape: string | null;
  /** Seconds. */
  lastScrapeDuration: number;
  /** Smoothed unique series (see SERIES_WINDOW), without the `up` and `scrape_*` series Prometheus adds. */
  series: number;
  lastSeries: number;
  samples: number;
  bytes: number;
  /** Successful scrapes since this shard was assigned the target. */
  scrapesSinceAssigned: number;
  assignedAt: string;
}

/** What the sidecar reports of its shard (GET /api/v1/shard/runtimeinfo). */
export interface RuntimeInfo {
  headSeries: number;
  headSeriesError: string;
  processSeries: number;
  targets: number;
  configHash: string;
  idleSince: string | null;
  prometheusReady: boolean;
  lastReloadError: string;
}

/** A configuration's identity: the first 16 hex digits of the SHA-256 of its text, as both sides compute it. */
export function configHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
