/**
 * The planner's view of what a shard holds: per target hash, its state and the successful scrapes since the shard got
 * it. Kept as sorted arrays (sorted-keys.ts says why): when the sidecars report a few changes, the coordinator makes
 * the shard's new view from the last one with those changes merged in, instead of a new dictionary of every target;
 * at 1M targets that was 0.3 s of each cycle in which 1% of targets changed. Read-only once made: "the same object"
 * tells the planner that a shard's view did not change.
 */
import { REPORTED_SCRAPES, type TargetState } from '../shard/contract.js';
import { editSorted, positionOf } from './sorted-keys.js';

/** `scrapes`: successful scrapes since this shard got the target (minimum over replicas). */
export interface ShardTargetView {
  readonly state: TargetState;
  readonly scrapes: number;
}

/**
 * The usual entries (each state with 0 to REPORTED_SCRAPES scrapes, the cap of what the coordinator's views count),
 * shared and frozen; an entry's code is its index here.
 */
const SHARED_SCRAPES = REPORTED_SCRAPES + 1;
const SHARED: readonly ShardTargetView[] = (['normal', 'in_transfer'] as const).flatMap((state) => Array.from({ length: SHARED_SCRAPES }, (_, scrapes) => Object.freeze({ state, scrapes })));
/** The code of an entry that is not one of SHARED: held apart, by position (ShardTargets.odd). */
const ODD = 255;

/** The code of an entry of this state and scrapes: its index in SHARED, or ODD. */
function codeFor(state: TargetState, scrapes: number): number {
  if (!Number.isInteger(scrapes) || scrapes < 0 || scrapes >= SHARED_SCRAPES) return ODD;
  return state === 'normal' ? scrapes : state === 'in_transfer' ? SHARED_SCRAPES + scrapes : ODD;
}

const codeOf = (v: ShardTargetView): number => codeFor(v.state, v.scrapes);

/**
 * A view entry; the usual ones (up to REPORTED_SCRAPES scrapes) are shared frozen objects. A shard's view holds one
 * entry per target: sharing them spares a million allocations per cycle at 1M targets, and lets a comparison of two
 * views stop at `===` for entries that did not change.
 */
export function targetView(state: TargetState, scrapes: number): ShardTargetView {
  const code = codeFor(state, scrapes);
  return code === ODD ? { state, scrapes } : SHARED[code]!;
}

/**
 * The entries are held as a byte each (their code, in a typed array: outside the heap) and not as an array of
 * references: a shard's new view after a cycle's changes is a new set of arrays, and at 1M targets an array of
 * references per shard was 7 MB a cycle that outlived it, which the young generation's collector copied (its pauses
 * grow with what survives them).
 */
export class ShardTargets {
  static readonly EMPTY = new ShardTargets([], new Uint8Array(0), null);

  /**
   * `hashes` strictly ascending (as `<` compares), `codes[i]` the code of the entry of `hashes[i]` (codeOf), `odd` the
   * entries of code ODD by position (null: none); nobody changes any of them.
   */
  private constructor(readonly hashes: readonly string[], private readonly codes: Uint8Array, private readonly odd: ReadonlyMap<number, ShardTargetView> | null) {}

  /** The view of `views[i]` at `hashes[i]` (`hashes` strictly ascending; the view keeps the array, not a copy). */
  static fromViews(hashes: readonly string[], views: readonly ShardTargetView[]): ShardTargets {
    const codes = new Uint8Array(hashes.length);
    let odd: Map<number, ShardTargetView> | null = null;
    for (let i = 0; i < hashes.length; i++) {
      const code = (codes[i] = codeOf(views[i]!));
      if (code === ODD) (odd ??= new Map()).set(i, views[i]!);
    }
    return new ShardTargets(hashes, codes, odd);
  }

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
    return ShardTargets.fromViews(hashes, hashes.map((h) => view(map.get(h)!)));
  }

  get size(): number {
    return this.hashes.length;
  }

  /** The entry at position `i` (0 ≤ i < size). */
  viewAt(i: number): ShardTargetView {
    const code = this.codes[i]!;
    return code === ODD ? this.odd!.get(i)! : SHARED[code]!;
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
    return i >= 0 ? this.viewAt(i) : undefined;
  }

  *entries(): IterableIterator<[string, ShardTargetView]> {
    for (let i = 0; i < this.hashes.length; i++) yield [this.hashes[i]!, this.viewAt(i)];
  }

  /** This view with `edits` (a hash's new entry, or undefined to drop it; the last edit of a hash wins). */
  edited(edits: ReadonlyArray<readonly [string, ShardTargetView | undefined]>): ShardTargets {
    const { keys, from } = editSorted(this.hashes, edits);
    const codes = new Uint8Array(keys.length);
    let odd: Map<number, ShardTargetView> | null = null;
    for (let i = 0; i < keys.length; i++) {
      const f = from[i]!;
      const code = (codes[i] = f >= 0 ? this.codes[f]! : codeOf(edits[~f]![1]!));
      if (code === ODD) (odd ??= new Map()).set(i, f >= 0 ? this.odd!.get(f)! : edits[~f]![1]!);
    }
    return new ShardTargets(keys, codes, odd);
  }

  /** As an object keyed by hash (keys ascending): for APIs, logs and tests. */
  toObject(): Record<string, ShardTargetView> {
    const out: Record<string, ShardTargetView> = {};
    for (let i = 0; i < this.hashes.length; i++) out[this.hashes[i]!] = this.viewAt(i);
    return out;
  }

  toJSON(): Record<string, ShardTargetView> {
    return this.toObject();
  }
}
