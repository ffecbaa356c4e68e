/**
 * A set of slots (small non-negative integers, as the incremental planner numbers its targets), in the order they
 * were added: a mark per slot and a list. Why not a Set<number>: the cycle that places a million targets at once
 * adds every slot, and a Set's add costs a hash-table insert (about 0.3 µs each on this machine at that size,
 * half a second per cycle) where this costs two array writes. Iterate by position (`size`, `at`): a slot added
 * while iterating is visited too, as with a Set.
 */
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
    if (i >= this.marks.length) {
      const marks = new Uint8Array(Math.max(1024, i * 2));
      marks.set(this.marks);
      this.marks = marks;
    } else if (this.marks[i] === 1) return;
    this.marks[i] = 1;
    if (this.count === this.list.length) {
      const list = new Int32Array(this.list.length * 2);
      list.set(this.list);
      this.list = list;
    }
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
