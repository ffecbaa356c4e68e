/**
 * The coordinator–sidecar contract (docs/sidecar-api.md): what the coordinator sends a shard's sidecar and what it
 * reads back, and the rule that tells whether both run the same configuration. Both sides import this module (and
 * the client, client.ts); neither imports the other's internals.
 */
import { createHash } from 'node:crypto';
import { parseDurationMemo } from '../prom/duration.js';
import { ADDRESS_LABEL, METRICS_PATH_LABEL, SCHEME_LABEL, SCRAPE_INTERVAL_LABEL, SCRAPE_TIMEOUT_LABEL, type Labels } from '../prom/labels.js';

export const TARGET_STATES = ['normal', 'in_transfer'] as const;
/** `in_transfer`: the target is moving here and is still scraped by its old shard too (see the coordinator). */
export type TargetState = (typeof TARGET_STATES)[number];
const HEALTH = ['up', 'down', 'unknown'] as const;

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
    const bad = targetLabelProblem(labels);
    if (bad) throw new AssignmentError(`${where} (job ${JSON.stringify(raw.job)}, ${ADDRESS_LABEL} ${JSON.stringify(labels[ADDRESS_LABEL])}): ${bad}`);
    const state = raw.state ?? 'normal';
    if (!TARGET_STATES.includes(state as TargetState)) throw new AssignmentError(`${where}: "state" must be one of ${TARGET_STATES.join(', ')}`);
    if (raw.hash !== undefined && typeof raw.hash !== 'string') throw new AssignmentError(`${where}: "hash" must be a string`);
    return { hash: (raw.hash as string | undefined) ?? '', job: raw.job, labels, state: state as TargetState };
  });
}

/**
 * A change to an assignment (POST /api/v1/shard/targets with `base`): `set` adds or replaces targets by hash,
 * `remove` drops hashes; applied only when the sidecar's assignment is still `base` (its `assignmentVersion`),
 * so that a change is never applied on top of an assignment the sender did not see.
 */
export interface AssignmentChange {
  base: string;
  set: AssignedTargetSpec[];
  remove: string[];
}

/** The assignment `specs` with `change` applied (its base already checked): removals first, then `set` by hash. */
export function applyAssignmentChange(specs: Iterable<AssignedTargetSpec>, change: AssignmentChange): AssignedTargetSpec[] {
  const byHash = new Map([...specs].map((s) => [s.hash, s]));
  for (const h of change.remove) byHash.delete(h);
  for (const s of change.set) byHash.set(s.hash, s);
  return [...byHash.values()];
}

/** Whether a POST body is a change (`base`) rather than a whole assignment (`targets`). */
export function isAssignmentChange(body: unknown): boolean {
  return isPlainObject(body) && body.base !== undefined;
}

/** Reads `{"base":"…","set":[…],"remove":["…"]}`; entries of `set` as readAssignment's, with a required hash. */
export function readAssignmentChange(body: unknown): AssignmentChange {
  if (!isPlainObject(body) || typeof body.base !== 'string' || body.base === '') throw new AssignmentError('"base" must be the non-empty assignmentVersion the change applies to');
  const set = body.set ?? [];
  const remove = body.remove ?? [];
  if (!Array.isArray(set)) throw new AssignmentError('"set" must be a list of targets');
  if (!Array.isArray(remove) || remove.some((h) => typeof h !== 'string' || h === '')) throw new AssignmentError('"remove" must be a list of non-empty hashes');
  const specs = readAssignment({ targets: set }).map((s, i) => {
    if (s.hash === '') throw new AssignmentError(`set[${i}]: "hash" is required in a change`);
    return s;
  });
  return { base: body.base, set: specs, remove: remove as string[] };
}

const HOST_PORT = /^(?:\[[0-9A-Za-z:.%_-]+\]|[0-9A-Za-z._~!$&'()*+,;=%-]+):(\d{1,5})$/;
const CONTROL = /[\x00-\x20\x7f]/;

/**
 * Why a target's final labels cannot be scraped as they are, or undefined: `__address__` must be host:port (no
 * path, userinfo, query or spaces), `__scheme__` http or https, `__metrics_path__` a path (no query, fragment or
 * authority), `__scrape_interval__`/`__scrape_timeout__` durations. Prometheus would fail to scrape any of these; a
 * sidecar refuses them so that an assignment cannot point a job's credentials at an arbitrary URL.
 */
export function targetLabelProblem(labels: Labels): string | undefined {
  const addr = labels[ADDRESS_LABEL] ?? '';
  const m = HOST_PORT.exec(addr);
  if (!m || Number(m[1]) > 65535 || Number(m[1]) === 0) return `${ADDRESS_LABEL} must be host:port with no path, userinfo or spaces, not ${JSON.stringify(addr)}`;
  const scheme = labels[SCHEME_LABEL];
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') return `${SCHEME_LABEL} must be http or https, not ${JSON.stringify(scheme)}`;
  const path = labels[METRICS_PATH_LABEL];
  if (path !== undefined && (/[?#]/.test(path) || path.startsWith('//') || CONTROL.test(path))) return `${METRICS_PATH_LABEL} must be a path (no query, fragment, authority or spaces), not ${JSON.stringify(path)}`;
  for (const name of [SCRAPE_INTERVAL_LABEL, SCRAPE_TIMEOUT_LABEL]) {
    const v = labels[name];
    if (v === undefined) continue;
    const d = parseDurationMemo(v);
    if (typeof d === 'string') return `${name}: ${d}`;
    if (d <= 0) return `${name} must be above 0, not ${JSON.stringify(v)}`;
  }
  return undefined;
}

/** What the sidecar reports of each assigned target (GET /api/v1/shard/targets). */
export interface TargetStatus {
  hash: string;
  job: string;
  labels: Labels;
  state: TargetState;
  health: (typeof HEALTH)[number];
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
  /** The sidecar applies its state (stored, written into Prometheus's config); false while a write fails. */
  ready: boolean;
  /** Why not ready ("" when ready). */
  notReadyReason: string;
}

/** A field check of an answer: the value, or a ContractError naming the field. */
export class ContractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContractError';
  }
}

function field<T>(o: Record<string, unknown>, name: string, type: 'string' | 'number' | 'boolean', where: string, optional = false): T {
  const v = o[name];
  if (v === undefined && optional) return undefined as T;
  if (typeof v !== type || (type === 'number' && !Number.isFinite(v))) throw new ContractError(`${where}: "${name}" must be a ${type}, got ${v === null ? 'null' : typeof v}`);
  return v as T;
}

/** Checks GET /api/v1/shard/runtimeinfo's `data` (an older sidecar without `ready` counts as ready). */
export function readRuntimeInfo(data: unknown): RuntimeInfo {
  if (!isPlainObject(data)) throw new ContractError('runtimeinfo: expected an object');
  const w = 'runtimeinfo';
  const idle = data.idleSince;
  if (idle !== null && typeof idle !== 'string') throw new ContractError(`${w}: "idleSince" must be a string or null`);
  return {
    headSeries: field(data, 'headSeries', 'number', w),
    headSeriesError: field(data, 'headSeriesError', 'string', w),
    processSeries: field(data, 'processSeries', 'number', w),
    targets: field(data, 'targets', 'number', w),
    configHash: field(data, 'configHash', 'string', w),
    idleSince: idle,
    prometheusReady: field(data, 'prometheusReady', 'boolean', w),
    lastReloadError: field(data, 'lastReloadError', 'string', w),
    ready: field<boolean | undefined>(data, 'ready', 'boolean', w, true) ?? true,
    notReadyReason: field<string | undefined>(data, 'notReadyReason', 'string', w, true) ?? '',
  };
}

/** No labels: one shared frozen object (statuses read without their labels). */
export const NO_LABELS: Labels = Object.freeze({}) as Labels;

/** The element of `list` equal to `v` (the constant, not `v`), or undefined. */
function memberOf<T extends string>(list: readonly T[], v: string): T | undefined {
  return list[list.indexOf(v as T)];
}

/** Checks GET /api/v1/shard/targets's `data`: `{"targets":[…]}`; a status without `labels` gets none. */
export function readTargetStatuses(data: unknown): TargetStatus[] {
  if (!isPlainObject(data) || !Array.isArray(data.targets)) throw new ContractError('targets: expected an object {"targets":[…]}');
  // Strings that many statuses of one answer repeat (the job, the time of one push, an error) are kept once: JSON.parse
  // makes each anew, and the coordinator keeps every status it reads (sidecar-mirror.ts), a million at 1M targets.
  const repeated = new Map<string, string>();
  const once = (v: string): string => repeated.get(v) ?? (repeated.set(v, v), v);
  return data.targets.map((t, i) => {
    const w = `targets[${i}]`;
    if (!isPlainObject(t)) throw new ContractError(`${w}: expected an object`);
    // Absent when asked for without them (`labels=false`).
    if (t.labels !== undefined && (!isPlainObject(t.labels) || Object.values(t.labels).some((v) => typeof v !== 'string'))) throw new ContractError(`${w}: "labels" must be an object of strings`);
    // state and health as this module's constants (one string each in the process), not JSON.parse's copies.
    const state = memberOf(TARGET_STATES, field<string>(t, 'state', 'string', w));
    if (state === undefined) throw new ContractError(`${w}: "state" must be one of ${TARGET_STATES.join(', ')}`);
    const health = memberOf(HEALTH, field<string>(t, 'health', 'string', w));
    if (health === undefined) throw new ContractError(`${w}: "health" must be up, down or unknown`);
    const last = t.lastScrape;
    if (last !== null && typeof last !== 'string') throw new ContractError(`${w}: "lastScrape" must be a string or null`);
    return {
      hash: field(t, 'hash', 'string', w), job: once(field(t, 'job', 'string', w)), labels: (t.labels ?? NO_LABELS) as Labels,
      state, health,
      lastError: once(field(t, 'lastError', 'string', w)), lastScrape: last,
      lastScrapeDuration: field(t, 'lastScrapeDuration', 'number', w), series: field(t, 'series', 'number', w),
      lastSeries: field(t, 'lastSeries', 'number', w), samples: field(t, 'samples', 'number', w), bytes: field(t, 'bytes', 'number', w),
      scrapesSinceAssigned: field(t, 'scrapesSinceAssigned', 'number', w), assignedAt: once(field(t, 'assignedAt', 'string', w)),
    };
  });
}

/**
 * GET /api/v1/shard/targets?since=<version>: the statuses that changed since `version` (an earlier answer's
 * `version`) and the hashes no longer assigned, or everything (`full`) when the sidecar cannot answer from that
 * version (another process since, or too old). A status counts as changed when what the coordinator decides on
 * changed: state, labels, health, lastError, series, or scrapesSinceAssigned up to REPORTED_SCRAPES; the other
 * fields travel along when a target is sent. Without `since`, or from a sidecar that does not know it, the
 * answer is full (`version` absent from an older sidecar).
 */
export interface TargetStatusDelta {
  full: boolean;
  targets: TargetStatus[];
  removed: string[];
  /** Where the next request continues from; undefined from a sidecar without versions. */
  version?: string;
  /** The version of the applied assignment, for AssignmentChange.base. */
  assignmentVersion?: string;
  /** The shard's runtime info, when asked for with `runtime=true` (undefined from a sidecar that does not know it). */
  runtime?: RuntimeInfo;
}

/** scrapesSinceAssigned beyond this is not a change worth sending (the planner decides on ≥ 2: transfers). */
export const REPORTED_SCRAPES = 3;

/** Checks the `data` of GET /api/v1/shard/targets, with or without `since`. */
export function readTargetStatusDelta(data: unknown): TargetStatusDelta {
  const targets = readTargetStatuses(data);
  const d = data as Record<string, unknown>;
  const optionalString = (name: string): string | undefined => {
    const v = d[name];
    if (v !== undefined && typeof v !== 'string') throw new ContractError(`targets: "${name}" must be a string`);
    return v as string | undefined;
  };
  const version = optionalString('version');
  const assignmentVersion = optionalString('assignmentVersion');
  if (d.full !== undefined && typeof d.full !== 'boolean') throw new ContractError('targets: "full" must be a boolean');
  const removed = d.removed ?? [];
  if (!Array.isArray(removed) || removed.some((h) => typeof h !== 'string')) throw new ContractError('targets: "removed" must be a list of hashes');
  const delta: TargetStatusDelta = { full: d.full !== false, targets, removed: removed as string[], version, assignmentVersion };
  if (d.runtime !== undefined) delta.runtime = readRuntimeInfo(d.runtime);
  return delta;
}

/** A configuration's identity: the first 16 hex digits of the SHA-256 of its text, as both sides compute it. */
export function configHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
