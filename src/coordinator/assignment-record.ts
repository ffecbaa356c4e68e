/**
 * A shard's record in a plan: the full desired target set, hashes in ascending order, each with its state.
 *
 * Sorted arrays and not an object keyed by hash (sorted-keys.ts says why): 0.4 s of a 1%-changed cycle at 1M
 * targets went to building the records as objects. The keys are wanted in order anyway (a whole push lists them,
 * walks compare them).
 * Read-only once made: the planner shares the records of shards it did not change from plan to plan, and "the same
 * object" is how the coordinator knows a record did not change.
 */
import type { TargetState } from '../shard/contract.js';
import { editSorted, positionOf } from './sorted-keys.js';

const STATES: readonly TargetState[] = ['normal', 'in_transfer'];

/** A state's code in a record: its index in STATES. */
export function stateCode(state: TargetState): number {
  return state === 'in_transfer' ? 1 : 0;
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
    return positionOf(this.keys, hash);
  }

  has(hash: string): boolean {
    return this.indexOf(hash) >= 0;
  }

  get(hash: string): TargetState | undefined {
    const i = this.indexOf(hash);
    return i >= 0 ? STATES[this.codes[i]!] : undefined;
  }

  /** This record with `edits` (a hash's new state, or undefined to drop it; the last edit of a hash wins). */
  edited(edits: ReadonlyArray<readonly [string, TargetState | undefined]>): AssignmentRecord {
    const { keys, from } = editSorted(this.keys, edits);
    const codes = new Uint8Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const f = from[i]!;
      codes[i] = f >= 0 ? this.codes[f]! : stateCode(edits[~f]![1]!);
    }
    return new AssignmentRecord(keys, codes);
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
