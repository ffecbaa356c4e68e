/**
 * The move log: when targets changed shard ordinal, kept across coordinator restarts (a JSON file beside the
 * shards' data), so the front door knows whether the series a query reads lie wholly on one shard for the whole
 * window it reads. Only then may a query be pushed down to the shards (src/query/pushdown.ts): a target scraped by
 * two shards over the window would be counted twice, or a rate computed from two halves.
 *
 * A move is a pair of residencies of one target: on `from` until `endMs` (null while it is still there, in transfer)
 * and on `to` from `startMs`. A target that disappeared from one shard and later appears on another is a move too
 * (its end before its start): its series are on both shards over a window that covers both times. A window
 * [a, b] is safe from a move unless a ≤ endMs + margin and b ≥ startMs − margin (`movedWithin`): the margin covers
 * the time between the coordinator's decision and the sidecars' reloads.
 *
 * The log is observational: each cycle the coordinator hands over which ordinals hold each target after its
 * pushes, and the log notes the differences. History is complete from `sinceMs`: the first start with no file and
 * no target on any shard is complete from the beginning (0); a coordinator that finds targets already placed but
 * no file (a new leader without the file, say) starts its history then, and windows before it take the remote-read
 * path.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../files.js';
import type { Logger } from '../logger.js';

export interface Move {
  /** The target's hash (contract.ts) and job. */
  hash: string;
  job: string;
  from: number;
  to: number;
  /** When the target was given to `to` (ms since the epoch). */
  startMs: number;
  /** When it left `from`; null while it is still there (a transfer). */
  endMs: number | null;
}

/** What GET /api/v1/moves answers: the front door's input. */
export interface MoveHistory {
  /** History is complete from this time on (ms since the epoch; 0: from the beginning). */
  sinceMs: number;
  /** Added to both ends of every move (decision to reload). */
  marginMs: number;
  moves: Move[];
}

interface Departure {
  ordinal: number;
  atMs: number;
}

interface Stored {
  version: 1;
  sinceMs: number;
  moves: Move[];
  residency: Record<string, number[]>;
  departed: Record<string, Departure>;
}

export interface MoveLogOptions {
  /** Where the log is kept; none: memory only (history starts at the first cycle that finds targets placed). */
  file?: string;
  marginMs: number;
  /** Moves (and departures) older than this are forgotten; windows before then take the remote-read path. */
  maxAgeMs?: number;
  maxMoves?: number;
  log: Logger;
}

const DAY = 24 * 3600_000;

/** Whether a window [fromMs, toMs] reads a target on two shards according to `h`; 'history' when it starts before the log. */
export function movedWithin(h: MoveHistory, fromMs: number, toMs: number): 'moved' | 'history' | null {
  if (fromMs < h.sinceMs) return 'history';
  for (const m of h.moves) {
    const end = m.endMs ?? Number.POSITIVE_INFINITY;
    if (fromMs <= end + h.marginMs && toMs >= m.startMs - h.marginMs) return 'moved';
  }
  return null;
}

/** Per target on some shard, told once, the ordinals holding it (one as the number itself, several ascending); a Map is one. */
export interface Holders {
  forEach(f: (ordinals: number | readonly number[], hash: string) => void): void;
  has(hash: string): boolean;
}

/** The ordinals of a residency entry (none: not resident). */
function asOrdinals(r: number | number[] | undefined): readonly number[] {
  return r === undefined ? [] : typeof r === 'number' ? [r] : r;
}

export class MoveLog {
  private sinceMs: number | null = null;
  private moves: Move[] = [];
  /**
   * Per target, the ordinals holding it: one ordinal as the number itself (an array per target costs 56 bytes,
   * 56 MB at a million), two or more (a transfer, replicas) as an array.
   */
  private residency = new Map<string, number | number[]>();
  private departed = new Map<string, Departure>();
  private loaded = false;
  private dirty = false;

  constructor(private readonly opts: MoveLogOptions) {}

  /** Reads the file (a missing one is a first start; an unreadable one is logged and history starts anew). */
  load(): void {
    this.loaded = true;
    if (!this.opts.file) return;
    let text: string;
    try {
      text = readFileSync(this.opts.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.opts.log.warn({ file: this.opts.file, err: (e as Error).message }, 'cannot read the move log; its history starts now');
      return;
    }
    try {
      const s = JSON.parse(text) as Stored;
      if (s.version !== 1 || typeof s.sinceMs !== 'number' || !Array.isArray(s.moves)) throw new Error('not a kvass move log (version 1)');
      // Checked before anything is taken: a file read in part would leave moves open that nothing closes.
      const residency = Object.entries(s.residency ?? {}).map(([hash, ordinals]): [string, number | number[]] => {
        if (!Array.isArray(ordinals) || !ordinals.every((o) => Number.isInteger(o) && o >= 0)) throw new Error(`residency of ${hash}: not a list of shard ordinals`);
        return [hash, ordinals.length === 1 ? ordinals[0]! : ordinals];
      });
      this.sinceMs = s.sinceMs;
      this.moves = s.moves;
      this.open = new Map();
      for (const m of this.moves) if (m.endMs === null) (this.open.get(m.hash) ?? this.open.set(m.hash, []).get(m.hash)!).push(m);
      this.residency = new Map(residency);
      this.departed = new Map(Object.entries(s.departed ?? {}));
    } catch (e) {
      this.opts.log.warn({ file: this.opts.file, err: (e as Error).message }, 'the move log is unreadable; its history starts now');
    }
  }

  /**
   * One acting cycle: `holders` gives, for every target on a shard after this cycle's pushes, the ordinals that hold
   * it (in transfer or not) and its job; `placedBefore`: whether any shard held a target when the cycle began.
   */
  observe(nowMs: number, holders: Holders, jobOf: (hash: string) => string, placedBefore: boolean): void {
    this.begin(nowMs, placedBefore);
    // A coordinator's first cycle tells every target: the usual one, on the shard it was on (or new, with no
    // departure to pair it with), costs one look-up, not the arrays of the general case (seconds at a million).
    const residents = this.residency.size;
    // With nothing resident nor departed (a coordinator's first full picture), nothing is looked up: holders name
    // each target once (three operations on million-entry maps per target were 1.3 s of the cycle that placed a
    // million in a profiled run).
    const fresh = residents === 0 && this.departed.size === 0;
    let stayed = 0;
    holders.forEach((ordinals, hash) => {
      const before = fresh ? undefined : this.residency.get(hash);
      if (before !== undefined) stayed++;
      if (typeof ordinals === 'number') {
        if (before === ordinals) return;
        if (before === undefined && (fresh || !this.departed.has(hash))) {
          this.residency.set(hash, ordinals);
          this.dirty = true;
          return;
        }
      }
      this.reside(nowMs, hash, typeof ordinals === 'number' ? [ordinals] : ordinals, jobOf, asOrdinals(before));
    });
    // Gone from every shard: only looked for when some earlier resident was not told (deleting while iterating a Map is safe).
    if (stayed < residents) for (const hash of this.residency.keys()) if (!holders.has(hash)) this.reside(nowMs, hash, [], jobOf);
    this.forgetOld(nowMs);
  }

  /**
   * As observe, told only what changed since the last observe (or observeChanges): per target, the ordinals that
   * got it and the ones that no longer hold it. Costs what changed.
   */
  observeChanges(nowMs: number, changed: ReadonlyMap<string, { added: readonly number[]; removed: readonly number[] }>, jobOf: (hash: string) => string, placedBefore: boolean): void {
    this.begin(nowMs, placedBefore);
    for (const [hash, { added, removed }] of changed) {
      const before = this.residentOn(hash);
      const now = before.filter((o) => !removed.includes(o));
      for (const o of added) if (!now.includes(o)) now.push(o);
      // `before` handed on: a second look-up in the residency of every placed target cost about a microsecond.
      this.reside(nowMs, hash, now.sort((a, b) => a - b), jobOf, before);
    }
    this.forgetOld(nowMs);
  }

  /** Whether observe or observeChanges was called before (observeChanges needs a first full picture). */
  get observed(): boolean {
    return this.sinceMs !== null;
  }

  /**
   * One target's holders now (none: gone from every shard): moves begin, end, or a departure is remembered.
   * `before`: its holders as the residency has them, when the caller read them already.
   */
  private reside(nowMs: number, hash: string, ordinals: readonly number[], jobOf: (hash: string) => string, before = this.residentOn(hash)): void {
    if (ordinals.length === 0) {
      if (before.length === 0) return;
      // Gone from every shard: remembered, in case it comes back elsewhere.
      for (const from of before) this.close(hash, from, nowMs);
      this.departed.set(hash, { ordinal: before[0]!, atMs: nowMs });
      this.residency.delete(hash);
      this.dirty = true;
      return;
    }
    const added = ordinals.filter((o) => !before.includes(o));
    const removed = before.filter((o) => !ordinals.includes(o));
    if (added.length === 0 && removed.length === 0) return;
    this.dirty = true;
    for (const to of added) {
      if (before.length > 0) for (const from of before) this.begun({ hash, job: jobOf(hash), from, to, startMs: nowMs, endMs: null });
      else {
        const gone = this.departed.get(hash);
        if (gone && gone.ordinal !== to) this.begun({ hash, job: jobOf(hash), from: gone.ordinal, to, startMs: nowMs, endMs: gone.atMs });
      }
    }
    if (added.length > 0) this.departed.delete(hash);
    for (const from of removed) this.close(hash, from, nowMs);
    this.residency.set(hash, ordinals.length === 1 ? ordinals[0]! : [...ordinals]);
  }

  private residentOn(hash: string): readonly number[] {
    return asOrdinals(this.residency.get(hash));
  }

  private begun(m: Move): void {
    this.moves.push(m);
    if (m.endMs === null) (this.open.get(m.hash) ?? this.open.set(m.hash, []).get(m.hash)!).push(m);
  }

  /** Moves still open (endMs null) by target: closing one does not scan the whole log. */
  private open = new Map<string, Move[]>();

  private begin(nowMs: number, placedBefore: boolean): void {
    if (!this.loaded) this.load();
    if (this.sinceMs === null) {
      // No file: complete from the beginning only if nothing was placed before this coordinator.
      this.sinceMs = placedBefore ? nowMs : 0;
      this.dirty = true;
    }
  }

  private close(hash: string, from: number, nowMs: number): void {
    const open = this.open.get(hash);
    if (!open) return;
    for (const m of open) if (m.from === from && m.endMs === null) m.endMs = nowMs;
    const still = open.filter((m) => m.endMs === null);
    if (still.length) this.open.set(hash, still);
    else this.open.delete(hash);
  }

  private forgetOld(nowMs: number): void {
    const maxAge = this.opts.maxAgeMs ?? 15 * DAY;
    const cutoff = nowMs - maxAge;
    const max = this.opts.maxMoves ?? 100_000;
    const keep = this.moves.filter((m) => m.endMs === null || Math.max(m.endMs, m.startMs) >= cutoff);
    let forgottenUntil = keep.length < this.moves.length ? cutoff : -1;
    if (keep.length > max) {
      const dropped = keep.splice(0, keep.length - max);
      // A loop, not Math.max(...): a burst of moves (a restart, a scale-down at a million targets) can drop more
      // than the stack holds as arguments, and the cycle would fail on every run after it.
      for (const m of dropped) forgottenUntil = Math.max(forgottenUntil, m.endMs ?? nowMs, m.startMs);
    }
    if (forgottenUntil >= 0) {
      // What is forgotten is no longer known: history starts after it.
      this.sinceMs = Math.max(this.sinceMs ?? 0, forgottenUntil + 1);
      this.moves = keep;
      this.dirty = true;
    }
    for (const [hash, d] of this.departed) {
      if (d.atMs < cutoff) {
        this.departed.delete(hash);
        this.dirty = true;
      }
    }
  }

  /** The history as the front door reads it. */
  history(): MoveHistory {
    return { sinceMs: this.sinceMs ?? Number.POSITIVE_INFINITY, marginMs: this.opts.marginMs, moves: this.moves };
  }

  /** Writes the file if anything changed (atomically, private); a failure is logged and retried next cycle. */
  async save(): Promise<void> {
    if (!this.opts.file || !this.dirty || this.sinceMs === null) return;
    const stored: Stored = { version: 1, sinceMs: this.sinceMs, moves: this.moves, residency: Object.fromEntries([...this.residency].map(([hash, r]) => [hash, typeof r === 'number' ? [r] : r])), departed: Object.fromEntries(this.departed) };
    try {
      await writeFileAtomic(this.opts.file, JSON.stringify(stored));
      this.dirty = false;
    } catch (e) {
      this.opts.log.warn({ file: this.opts.file, err: (e as Error).message }, 'cannot write the move log');
    }
  }
}
