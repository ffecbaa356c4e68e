/**
 * What the coordinator knows of each sidecar's targets between cycles: the statuses (without their labels, which
 * the coordinator has from its own population), kept up to date from the
 * changes the sidecar sends (GET /api/v1/shard/targets?since=…, contract.ts TargetStatusDelta), and the version of
 * its applied assignment, so that a new assignment can travel as a change (AssignmentChange).
 *
 * Why: at a million targets the statuses are about a gigabyte of JSON per cycle, read and checked although almost
 * none changed; a sidecar that changed nothing now answers with nothing, and a shard that gets one more target is
 * sent that target. A sidecar without versions (an older one) answers in full every time, as before.
 */
import type { AssignedTargetSpec, AssignmentChange, TargetState, TargetStatus, TargetStatusDelta } from '../shard/contract.js';
import type { AssignmentRecord } from './assignment-record.js';

/**
 * What the coordinator keeps of a target's status: what it decides on (state, health, series, scrapes) and what its
 * API shows (the last error and scrape). A status as read has fourteen fields; the labels are the coordinator's own
 * (population), and the job, the assignment's time and the scrape's samples and bytes are read by nobody here: kept
 * whole, they were about 50 bytes per target more, 50 MB at a million.
 */
export type StatusSummary = Pick<TargetStatus, 'hash' | 'state' | 'health' | 'lastError' | 'lastScrape' | 'lastScrapeDuration' | 'series' | 'scrapesSinceAssigned'>;

/** A status summary as a mirror holds it. */
export interface HeldStatus extends StatusSummary {
  /** The mirror holding it (so that an index of every target can hold the status itself: measured.ts). */
  readonly from: SidecarMirror;
}

function held(t: TargetStatus, hash: string, from: SidecarMirror): HeldStatus {
  return {
    hash, state: t.state, health: t.health, lastError: t.lastError, lastScrape: t.lastScrape,
    lastScrapeDuration: t.lastScrapeDuration, series: t.series, scrapesSinceAssigned: t.scrapesSinceAssigned, from,
  };
}

/**
 * Who reads a mirror's changes, each with its own account of them: the measured statuses (measured.ts) and the
 * planner's view of the shard (the coordinator's statusView).
 */
export const MirrorReader = { Measured: 0, View: 1 } as const;
export type MirrorReader = (typeof MirrorReader)[keyof typeof MirrorReader];

/** What a reader's first take answers (SidecarMirror.takeChanged). */
const NOTHING: ReadonlySet<string> = new Set();

export class SidecarMirror {
  /** Where the next read continues from; undefined until a sidecar with versions answered. */
  version: string | undefined;
  /** The sidecar's applied assignment, as of `version`. */
  assignmentVersion: string | undefined;
  readonly statuses = new Map<string, HeldStatus>();
  /**
   * Per reader (MirrorReader), the hashes whose status was added, replaced or removed since it last took them; null
   * until it first takes them. Why: a reader that never took them has never read this mirror, and reads it whole when
   * it first does (measured.ts: a sidecar new in the read; shard-views.ts: new sidecars). A restarted coordinator's
   * first answers hold every target: gathered for both readers, they were two million set insertions at a million
   * targets, for sets nobody read.
   */
  private changed: [Set<string> | null, Set<string> | null] = [null, null];

  /** Takes an answer in. */
  apply(d: TargetStatusDelta): void {
    const [a, b] = this.changed;
    const told = a !== null || b !== null;
    if (d.full) {
      if (told) for (const h of this.statuses.keys()) a?.add(h), b?.add(h);
      this.statuses.clear();
    }
    for (const h of d.removed) if (this.statuses.delete(h) && told) a?.add(h), b?.add(h);
    for (const t of d.targets) {
      // The map keeps its first key string for a hash: the status names the same one (not a second copy per update).
      const before = this.statuses.get(t.hash);
      const hash = before !== undefined ? before.hash : t.hash;
      this.statuses.set(hash, held(t, hash, this));
      if (told) a?.add(hash), b?.add(hash);
    }
    this.version = d.version;
    this.assignmentVersion = d.assignmentVersion;
  }

  /**
   * The hashes changed since `reader` last took them, and forgets them for that reader. Its first take answers
   * nothing: from then on, changes are kept for it (see `changed`).
   */
  takeChanged(reader: MirrorReader): ReadonlySet<string> {
    const c = this.changed[reader];
    if (c === null || c.size > 0) this.changed[reader] = new Set();
    return c ?? NOTHING;
  }
}

/** One mirror per sidecar API URL (every replica's shard has its own sidecar); gone sidecars are forgotten. */
export class SidecarMirrors {
  private readonly byUrl = new Map<string, SidecarMirror>();

  of(apiUrl: string): SidecarMirror {
    let m = this.byUrl.get(apiUrl);
    if (!m) this.byUrl.set(apiUrl, (m = new SidecarMirror()));
    return m;
  }

  retain(apiUrls: ReadonlySet<string>): void {
    for (const url of this.byUrl.keys()) if (!apiUrls.has(url)) this.byUrl.delete(url);
  }
}

/** Whether a sidecar's applied assignment (its statuses) is `want`: the same hashes in the same states. */
export function isApplied(want: AssignmentRecord, have: ReadonlyMap<string, StatusSummary>): boolean {
  if (want.size !== have.size) return false;
  for (let i = 0; i < want.size; i++) if (have.get(want.keys[i]!)?.state !== want.stateAt(i)) return false;
  return true;
}

/**
 * The change that turns the applied assignment `have` (at `base`) into `want`, with `spec` giving a target's spec
 * (undefined: it cannot be sent, as in a whole push), or undefined when the change is not smaller than `want`
 * sent whole.
 */
export function assignmentChange(
  want: AssignmentRecord,
  have: ReadonlyMap<string, StatusSummary>,
  base: string,
  spec: (hash: string, state: TargetState) => AssignedTargetSpec | undefined,
): AssignmentChange | undefined {
  const set: AssignedTargetSpec[] = [];
  const remove: string[] = [];
  let kept = 0;
  for (let i = 0; i < want.size; i++) {
    const hash = want.keys[i]!;
    const state = want.stateAt(i);
    const had = have.get(hash);
    if (had !== undefined) kept++;
    if (had?.state === state) continue;
    const s = spec(hash, state);
    if (s) set.push(s);
  }
  // What the sidecar has beyond want's keys: looked up only when it has more than the keys both hold.
  if (have.size > kept) for (const hash of have.keys()) if (!want.has(hash)) remove.push(hash);
  return set.length + remove.length < want.size ? { base, set, remove } : undefined;
}
