/**
 * The planner's view of what a shard holds: per target hash, its state and the successful scrapes since the shard got
 * it. Kept as sorted arrays (sorted-keys.ts says why): when the sidecars report a few changes, the coordinator makes
 * the shard's new view from the last one with those changes merged in, instead of a new dictionary of every target;
 * at 1M targets that was 0.3 s of each cycle in which 1% of targets changed. Read-only once made: "the same object"
 * tells the planner that a shard's view did not change.
 */
import type { TargetState } from '../shard/contract.js';
import { editSorted, positionOf } from './sorted-keys.js';

/** `scrapes`: successful scrapes since this shard got the target (minimum over replicas). */
export interface ShardTargetView {
  readonly state: TargetState;
  readonly scrapes: number;
}

const SHARED_VIEWS: Readonly<Record<string, readonly ShardTargetView[]>> = Object.fromEntries(
  (['normal', 'in_transfer'] as const).map((state) => [state, [0, 1, 2, 3].map((scrapes) => Object.freeze({ state, scrapes }))]),
);

/**
 * A view entry; the usual ones (0 to 3 scrapes) are shared frozen objects. A shard's view holds one entry per target:
 * sharing them spares a million allocations per cycle at 1M targets, and lets a comparison of two views stop at `===`
 * for entries that did not change.
 */
export function targetView(state: TargetState, scrapes: number): ShardTargetView {
  return (Object.hasOwn(SHARED_VIEWS, state) ? SHARED_VIEWS[state]![scrapes] : undefined) ?? { state, scrapes };
}

export class ShardTargets {
  static readonly EMPTY = new ShardTargets([], []);

  /** `hashes` strictly ascending (as `<` compares), `views[i]` the entry of `hashes[i]`; nobody changes either. */
  constructor(readonly hashes: readonly string[], readonly views: readonly ShardTargetView[]) {}

  /** The view of these entries (any order; a hash given twice keeps its last entry). */
  static of(entries: Iterable<readonly [string, ShardTargetView]> | Readonly<Record<string, ShardTargetView>>): ShardTargets {
    const map = new Map<string, ShardTargetView>(Symbol.iterator in entries ? (entries as Iterable<readonly [string, ShardTargetView]>) : Object.entries(entries));
    return ShardTargets.ofMap(map, (v) => v);
  }

  /**
   * The view of a map's values, `view` making each entry. A map's keys are distinct already: only sorted, without
   * pairs made for `of` and its map of them (a restart builds a view of every shard's statuses, a million at 1M).
   */
  static ofMap<V>(map: ReadonlyMap<string, V>, view: (v: V) => ShardTargetView): ShardTargets {
    const hashes = [...map.keys()].sort();
    return new ShardTargets(hashes, hashes.map((h) => view(map.get(h)!)));
  }

  get size(): number {
    return this.hashes.length;
  }

  /** The position of `hash`, or -1. */
  indexOf(hash: string): number {
    return positionOf(this.hashes, hash);
  }

  has(hash: string): boolean {
    return this.indexOf(hash) >= 0;
  }

  get(hash: string): ShardTargetView | undefined {
    const i = this.indexOf(hash);
    return i >= 0 ? this.views[i] : undefined;
  }

  *entries(): IterableIterator<[string, ShardTargetView]> {
    for (let i = 0; i < this.hashes.length; i++) yield [this.hashes[i]!, this.views[i]!];
  }

  /** This view with `edits` (a hash's new entry, or undefined to drop it; the last edit of a hash wins). */
  edited(edits: ReadonlyArray<readonly [string, ShardTargetView | undefined]>): ShardTargets {
    const { keys, from } = editSorted(this.hashes, edits);
    const views = new Array<ShardTargetView>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const f = from[i]!;
      views[i] = f >= 0 ? this.views[f]! : edits[~f]![1]!;
    }
    return new ShardTargets(keys, views);
  }

  /** As an object keyed by hash (keys ascending): for APIs, logs and tests. */
  toObject(): Record<string, ShardTargetView> {
    const out: Record<string, ShardTargetView> = {};
    for (let i = 0; i < this.hashes.length; i++) out[this.hashes[i]!] = this.views[i]!;
    return out;
  }

  toJSON(): Record<string, ShardTargetView> {
    return this.toObject();
  }
}
