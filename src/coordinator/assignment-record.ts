/**
 * A shard's record in a plan: the full desired target set, hashes in ascending order, each with its state.
 *
 * Why sorted arrays and not an object keyed by hash: a change that touches most shards (1% of a million targets
 * touches nearly all of ~800) makes each of their records anew, and inserting into a dictionary of a thousand keys
 * cost 200–400 ns a key: 0.4 s of a 1%-changed cycle at 1M targets went to that alone. Merging sorted arrays costs a
 * few ns a key, and the keys are wanted in order anyway (a whole push lists them, walks compare them). A look-up is a
 * binary search (about 11 comparisons in a thousand keys): records are mostly walked, rarely asked one key.
 * Read-only once made: the planner shares the records of shards it did not change from plan to plan, and "the same
 * object" is how the coordinator knows a record did not change.
 */
import type { TargetState } from '../shard/contract.js';

const STATES: readonly TargetState[] = ['normal', 'in_transfer'];

/** A state's code in a record: its index in STATES. */
export function stateCode(state: TargetState): number {
  return state === 'in_transfer' ? 1 : 0;
}

/** First position in ascending `keys` whose key is >= `k` (keys.length when none is). */
export function lowerBound(keys: readonly string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class AssignmentRecord {
  static readonly EMPTY = new AssignmentRecord([], new Uint8Array(0));

  /**
   * `keys` strictly ascending (by UTF-16 code units, as `<` and Array.prototype.sort compare), `codes[i]` the state
   * code of `keys[i]` (stateCode). Both are the record's from now on: nobody changes them.
   */
  constructor(readonly keys: readonly string[], readonly codes: Uint8Array) {}

  /** A record of these entries (any order; a hash given twice keeps its last state). */
  static of(entries: Iterable<readonly [string, TargetState]> | Readonly<Record<string, TargetState>>): AssignmentRecord {
    const map = new Map<string, TargetState>(Symbol.iterator in entries ? (entries as Iterable<readonly [string, TargetState]>) : Object.entries(entries));
    const keys = [...map.keys()].sort();
    const codes = new Uint8Array(keys.length);
    keys.forEach((k, i) => (codes[i] = stateCode(map.get(k)!)));
    return new AssignmentRecord(keys, codes);
  }

  get size(): number {
    return this.keys.length;
  }

  /** The position of `hash`, or -1. */
  indexOf(hash: string): number {
    const p = lowerBound(this.keys, hash);
    return this.keys[p] === hash ? p : -1;
  }

  has(hash: string): boolean {
    return this.indexOf(hash) >= 0;
  }

  get(hash: string): TargetState | undefined {
    const i = this.indexOf(hash);
    return i >= 0 ? STATES[this.codes[i]!] : undefined;
  }

  /** The state of the target at position `i`. */
  stateAt(i: number): TargetState {
    return STATES[this.codes[i]!]!;
  }

  *entries(): IterableIterator<[string, TargetState]> {
    for (let i = 0; i < this.keys.length; i++) yield [this.keys[i]!, STATES[this.codes[i]!]!];
  }

  /** As an object keyed by hash (keys ascending): for APIs, logs and tests. */
  toObject(): Record<string, TargetState> {
    const out: Record<string, TargetState> = {};
    for (let i = 0; i < this.keys.length; i++) out[this.keys[i]!] = STATES[this.codes[i]!]!;
    return out;
  }

  toJSON(): Record<string, TargetState> {
    return this.toObject();
  }
}
