/**
 * A set of slots (small non-negative integers, as the incremental planner numbers its targets), in the order they
 * were added: a mark per slot and a list. Why not a Set<number>: the cycle that places a million targets at once
 * adds every slot, and a Set's add costs a hash-table insert (about 0.3 µs each on this machine at that size,
 * half a second per cycle) where this costs two array writes. Iterate by position (`size`, `at`): a slot added
 * while iterating is visited too, as with a Set.
 */
import { grown } from './columns.js';

export class SlotSet {
  private marks = new Uint8Array(0);
  private list = new Int32Array(64);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The k-th slot added (0 ≤ k < size). */
  at(k: number): number {
    return this.list[k]!;
  }

  has(i: number): boolean {
    return i < this.marks.length && this.marks[i] === 1;
  }

  add(i: number): void {
    if (i >= this.marks.length) this.marks = grown(this.marks, Math.max(1024, i * 2));
    else if (this.marks[i] === 1) return;
    this.marks[i] = 1;
    if (this.count === this.list.length) this.list = grown(this.list, this.list.length * 2);
    this.list[this.count++] = i;
  }

  /**
   * Empties the set: O(its size). The marks (a byte per slot) are kept for the next use; a list grown past 64k
   * slots is let go (4 bytes per slot held between calls otherwise, for the rare call that changes most of them).
   */
  clear(): void {
    for (let k = 0; k < this.count; k++) this.marks[this.list[k]!] = 0;
    this.count = 0;
    if (this.list.length > 65_536) this.list = new Int32Array(64);
  }

  /** The slots in the order added. */
  *[Symbol.iterator](): IterableIterator<number> {
    for (let k = 0; k < this.count; k++) yield this.list[k]!;
  }
}

/**
 * A set of slots that also loses members: the incremental planner's per-slot flags (to place, completed, …), which
 * resolving a slot again takes back and may set anew. Why not a Set<number>: a first placement resolves every
 * target and sets each one's flag (a million adds, about 0.2 s on this machine), and the next cycle takes them all
 * back (0.3 s); here each is a write or two in typed arrays.
 * Up to SMALL members it is only a list, searched: a flag held by a few slots (nearly always) holds no mark per slot.
 * Past that, a mark per slot (0 out, 1 in, 2 out but still listed) beside the list, a slot taken out staying listed
 * until they are many; emptied, it is a short list again.
 * Order: a slot taken out and set again may keep its first place. The planner's readers do not depend on the order
 * (they sort what they list). Do not change the set while iterating it.
 */
export class SlotFlags {
  private static readonly SMALL = 64;
  /** Empty while the set is small. */
  private marks = new Uint8Array(0);
  private list = new Int32Array(SlotFlags.SMALL);
  private listed = 0;
  private members = 0;

  get size(): number {
    return this.members;
  }

  has(i: number): boolean {
    if (this.marks.length === 0) return this.listedAt(i) >= 0;
    return i < this.marks.length && this.marks[i] === 1;
  }

  add(i: number): void {
    if (this.marks.length === 0) {
      if (this.has(i)) return;
      if (this.listed < SlotFlags.SMALL) {
        this.list[this.listed++] = i;
        this.members++;
        return;
      }
      this.markAll(i);
    }
    if (i >= this.marks.length) this.marks = grown(this.marks, Math.max(1024, i * 2));
    const m = this.marks[i]!;
    if (m === 1) return;
    this.marks[i] = 1;
    this.members++;
    if (m === 2) return;
    if (this.listed === this.list.length) this.list = grown(this.list, this.list.length * 2);
    this.list[this.listed++] = i;
  }

  delete(i: number): void {
    if (this.marks.length === 0) {
      const k = this.listedAt(i);
      if (k < 0) return;
      this.list.copyWithin(k, k + 1, this.listed);
      this.listed--;
      this.members--;
      return;
    }
    if (i >= this.marks.length || this.marks[i] !== 1) return;
    this.marks[i] = 2;
    this.members--;
    if (this.members === 0) this.clear();
    else if (this.listed > 2 * this.members) this.compact();
  }

  /** Empties the set: a short list again. */
  clear(): void {
    if (this.marks.length > 0) {
      this.marks = new Uint8Array(0);
      this.list = new Int32Array(SlotFlags.SMALL);
    }
    this.listed = 0;
    this.members = 0;
  }

  /** The members, in the list's order. */
  toArray(): number[] {
    const out = new Array<number>(this.members);
    const marks = this.marks;
    let n = 0;
    for (let k = 0; k < this.listed; k++) {
      const i = this.list[k]!;
      if (marks.length === 0 || marks[i] === 1) out[n++] = i;
    }
    return out;
  }

  *[Symbol.iterator](): IterableIterator<number> {
    const marks = this.marks;
    for (let k = 0; k < this.listed; k++) {
      const i = this.list[k]!;
      if (marks.length === 0 || marks[i] === 1) yield i;
    }
  }

  /** Where a short list holds `i`, or -1. */
  private listedAt(i: number): number {
    for (let k = 0; k < this.listed; k++) if (this.list[k] === i) return k;
    return -1;
  }

  /** From a short list to marks: the listed slots marked, `next` to come. */
  private markAll(next: number): void {
    let max = next;
    for (let k = 0; k < this.listed; k++) max = Math.max(max, this.list[k]!);
    this.marks = new Uint8Array(Math.max(1024, max * 2));
    for (let k = 0; k < this.listed; k++) this.marks[this.list[k]!] = 1;
  }

  /** Drops the slots taken out from the list. */
  private compact(): void {
    let n = 0;
    for (let k = 0; k < this.listed; k++) {
      const i = this.list[k]!;
      if (this.marks[i] === 1) this.list[n++] = i;
      else this.marks[i] = 0;
    }
    this.listed = n;
  }
}
