/**
 * Every target the plans placed, with the number of records holding it (two or more: a transfer in flight), kept
 * up to date from the changes between plans; and, from it, each placed target's holders for the move log.
 *
 * Why counted with one write per key from nothing: a restarted coordinator's first plan places every target again,
 * and a look-up before each write, then a map of every target's holders for the move log, were about a second of
 * that cycle at a million targets. A key held by one record, nearly all of them, is written once; the few held by
 * more are counted apart.
 */
import type { Holders } from './moves.js';
import type { RecordChanges } from './planner-incremental-output.js';

/** A plan's record as read here: its keys. */
interface Keys {
  readonly keys: readonly string[];
}


export class PlacedTargets {
  private readonly count = new Map<string, number>();
  /** The targets held by two or more records. */
  readonly inTransfer = new Set<string>();

  get size(): number {
    return this.count.size;
  }

  has(hash: string): boolean {
    return this.count.has(hash);
  }

  /** The records holding `hash` (0: not placed). */
  holding(hash: string): number {
    return this.count.get(hash) ?? 0;
  }

  /** Counted afresh from a plan's records. */
  fromRecords(records: readonly Keys[]): void {
    this.count.clear();
    this.inTransfer.clear();
    const more = new Map<string, number>();
    for (const r of records) {
      for (const hash of r.keys) {
        const before = this.count.size;
        this.count.set(hash, 1);
        // The map did not grow: an earlier record holds it too.
        if (this.count.size === before) more.set(hash, (more.get(hash) ?? 1) + 1);
      }
    }
    for (const [hash, n] of more) {
      this.count.set(hash, n);
      this.inTransfer.add(hash);
    }
  }

  /** Brought up to date with what changed between the last plan's records and the next one's. */
  applyChanges(changes: RecordChanges): void {
    for (const [hash, { added, removed }] of changes) {
      const n = (this.count.get(hash) ?? 0) + added.length - removed.length;
      if (n > 0) this.count.set(hash, n);
      else this.count.delete(hash);
      if (n > 1) this.inTransfer.add(hash);
      else this.inTransfer.delete(hash);
    }
  }

  /**
   * Each placed target's holders in `records` (the records these counts were made from), without a map of every
   * target: one held by a single record is told with that record's ordinal as it is walked.
   */
  holdersIn(records: readonly Keys[]): Holders {
    return {
      forEach: (f) => {
        const several = new Map<string, number[]>();
        records.forEach((r, ordinal) => {
          for (const hash of r.keys) {
            if (!this.inTransfer.has(hash)) f(ordinal, hash);
            else (several.get(hash) ?? several.set(hash, []).get(hash)!).push(ordinal);
          }
        });
        for (const [hash, ordinals] of several) f(ordinals, hash);
      },
      has: (hash) => this.count.has(hash),
    };
  }
}
