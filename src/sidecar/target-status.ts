/**
 * What the sidecar knows of each assigned target from the scrapes it proxied: health, last error, timing and
 * sizes. The series figure the coordinator places targets by is smoothed: the MAXIMUM over the last
 * SERIES_WINDOW successful scrapes. A maximum (not a mean) because placement must budget for a target's peak,
 * or a shard goes over budget at every peak; a short window because a target that shrank for good should free
 * its room within a few scrapes.
 */
import { randomBytes } from 'node:crypto';
import { REPORTED_SCRAPES, type AssignedTargetSpec, type TargetStatus, type TargetStatusDelta } from '../shard/contract.js';
import type { Labels } from '../prom/labels.js';

export const SERIES_WINDOW = 3;

export interface ScrapeResult {
  ok: boolean;
  error: string;
  series: number;
  samples: number;
  bytes: number;
  durationMs: number;
  at: Date;
}

interface Entry {
  status: TargetStatus;
  window: number[];
  /** The version of its last change worth sending. */
  changed: number;
}

/** Removals remembered for deltas; beyond, older versions get a full answer. */
const MAX_REMOVED = 100_000;

export class TargetStatusBook {
  private readonly entries = new Map<string, Entry>();
  private version = 0;
  private readonly removed = new Map<string, number>();
  /** A delta can be answered from versions at or above this one. */
  private floor = 0;

  /** `epoch`: this process's, drawn by the caller (a restarted sidecar has another). */
  constructor(readonly epoch: string = randomBytes(6).toString('hex')) {}

  private stamp(): number {
    return ++this.version;
  }

  /** Follows a new assignment: kept targets keep their history, new ones start unknown, gone ones are forgotten. */
  assign(specs: readonly AssignedTargetSpec[], now: Date): void {
    const keep = new Set<string>();
    for (const s of specs) {
      keep.add(s.hash);
      this.put(s, now);
    }
    for (const hash of [...this.entries.keys()]) if (!keep.has(hash)) this.drop(hash);
    this.boundRemoved();
  }

  /**
   * Follows a change to the assignment (AssignmentChange: `remove` first, then `set`) as `assign` would follow the
   * whole result, in proportion to the change: a shard of a thousand targets told of ten does ten entries' work.
   * Each hash is set once (as the coordinator sends changes); one set twice ends in its last spec, but may be named
   * in the next status delta although it ended as it was.
   */
  change(set: readonly AssignedTargetSpec[], remove: readonly string[], now: Date): void {
    // A hash removed and set again stays assigned: it keeps its history, as in the whole changed assignment.
    const kept = new Set(remove.length > 0 ? set.map((s) => s.hash) : []);
    for (const hash of remove) if (!kept.has(hash) && this.entries.has(hash)) this.drop(hash);
    for (const s of set) this.put(s, now);
    this.boundRemoved();
  }

  private put(s: AssignedTargetSpec, now: Date): void {
    const e = this.entries.get(s.hash);
    if (e) {
      if (e.status.state !== s.state || !sameLabels(e.status.labels, s.labels)) e.changed = this.stamp();
      e.status.state = s.state;
      e.status.labels = s.labels;
      return;
    }
    this.removed.delete(s.hash);
    this.entries.set(s.hash, {
      changed: this.stamp(),
      window: [],
      status: {
        hash: s.hash, job: s.job, labels: s.labels, state: s.state, health: 'unknown', lastError: '', lastScrape: null,
        lastScrapeDuration: 0, series: 0, lastSeries: 0, samples: 0, bytes: 0, scrapesSinceAssigned: 0, assignedAt: now.toISOString(),
      },
    });
  }

  private drop(hash: string): void {
    this.entries.delete(hash);
    this.removed.set(hash, this.stamp());
  }

  private boundRemoved(): void {
    if (this.removed.size > MAX_REMOVED) {
      this.removed.clear();
      this.floor = this.version;
    }
  }

  record(hash: string, r: ScrapeResult): void {
    const e = this.entries.get(hash);
    if (!e) return; // unassigned while the scrape ran
    const s = e.status;
    const { health, lastError, series } = s;
    const scrapes = Math.min(s.scrapesSinceAssigned, REPORTED_SCRAPES);
    s.lastScrape = r.at.toISOString();
    s.lastScrapeDuration = r.durationMs / 1000;
    s.bytes = r.bytes;
    s.samples = r.samples;
    if (r.ok) {
      s.health = 'up';
      s.lastError = '';
      s.lastSeries = r.series;
      e.window.push(r.series);
      if (e.window.length > SERIES_WINDOW) e.window.shift();
      s.series = Math.max(...e.window);
      s.scrapesSinceAssigned++;
    } else {
      s.health = 'down';
      s.lastError = r.error;
    }
    if (health !== s.health || lastError !== s.lastError || series !== s.series || scrapes !== Math.min(s.scrapesSinceAssigned, REPORTED_SCRAPES)) e.changed = this.stamp();
  }

  get(hash: string): TargetStatus | undefined {
    return this.entries.get(hash)?.status;
  }

  all(): TargetStatus[] {
    return [...this.entries.values()].map((e) => ({ ...e.status }));
  }

  /**
   * The answer to GET /api/v1/shard/targets?since=`since`: the changes after that version, or everything when it
   * is absent, of another epoch, ahead of this book, or older than the removals it remembers. Without `labels`, the
   * statuses leave their labels out (the coordinator has them: at a million targets they are most of the bytes).
   */
  since(since: string | undefined, assignmentVersion: string, labels = true): TargetStatusDelta {
    const version = `${this.epoch}.${this.version}`;
    const from = since === undefined ? undefined : parseVersion(since, this.epoch);
    const copy = labels ? (st: TargetStatus): TargetStatus => ({ ...st }) : withoutLabels;
    const targets: TargetStatus[] = [];
    if (from === undefined || from > this.version || from < this.floor) {
      for (const e of this.entries.values()) targets.push(copy(e.status));
      return { full: true, targets, removed: [], version, assignmentVersion };
    }
    for (const e of this.entries.values()) if (e.changed > from) targets.push(copy(e.status));
    const removed: string[] = [];
    for (const [hash, at] of this.removed) if (at > from) removed.push(hash);
    return { full: false, targets, removed, version, assignmentVersion };
  }

  /** Sum of the smoothed series of all assigned targets. */
  totalSeries(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.status.series;
    return n;
  }
}

/** The counter of "<epoch>.<n>" when the epoch is this one, else undefined. */
function parseVersion(v: string, epoch: string): number | undefined {
  const dot = v.lastIndexOf('.');
  if (dot < 0 || v.slice(0, dot) !== epoch || !/^\d{1,15}$/.test(v.slice(dot + 1))) return undefined;
  return Number(v.slice(dot + 1));
}

function sameLabels(a: Labels, b: Labels): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/** A status without its labels (TargetStatusDelta's statuses asked for without them). */
function withoutLabels(st: TargetStatus): TargetStatus {
  const { labels: _labels, ...rest } = st;
  return rest as TargetStatus;
}
