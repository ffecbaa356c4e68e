/**
 * Target hashes to small non-negative integers: the incremental planner's slots (planner-incremental-state.ts).
 *
 * Why not a Map<string, number>: the cycle that places a million targets, and a restarted coordinator's first plan,
 * give a slot to every target, and a million inserts into a Map whose table V8 grows and copies took 0.55–0.7 s on
 * this machine (a look-up, then an insert, per key). A target's hash is 16 lower-case hex digits (target/hash.ts):
 * read as two 32-bit halves, it is its own key, kept with its value in one typed array (open addressing, linear
 * probing): the same million took 0.27–0.59 s. Any other key (the planner takes any string; tests use short names)
 * goes to a Map beside it.
 * Only where inserts are most of the work: a look-up reads the key's characters each time, where a Map reads the
 * hash the string caches, so look-ups cost about what a Map's do (0.34 against 0.30–0.35 s per million), and the
 * coordinator's other per-target maps, which mostly look up, were slower with it (README, performance).
 * Memory is about a Map's: 12 bytes a bucket at 30–60% full, 20–40 bytes a key, in a typed array.
 */

/** Buckets of three int32s: the key's high half, its low half, the value + 1 (0: empty). */
const STRIDE = 3;
const MIN_BUCKETS = 1024;

export class HashIndex {
  private table: Int32Array;
  private mask: number;
  /** Keys in the table. */
  private count = 0;
  /** Keys that are not 16 lower-case hex digits. */
  private readonly other = new Map<string, number>();
  /**
   * The last key `get` did not find, read, with the empty bucket its probe ended at: the usual caller sets it next
   * (a look-up, then an insert of a new slot), and that set reads and probes no more.
   */
  private missed: string | null = null;
  private missedHi = 0;
  private missedLo = 0;
  private missedBucket = -1;
  /** The halves of the key readKey last read. */
  private keyHi = 0;
  private keyLo = 0;

  /** `minBuckets`: a power of two, the table's size when empty (tests take small ones, where keys collide). */
  constructor(private readonly minBuckets = MIN_BUCKETS) {
    this.table = new Int32Array(minBuckets * STRIDE);
    this.mask = minBuckets - 1;
  }

  get size(): number {
    return this.count + this.other.size;
  }

  /**
   * Room for `keys` keys without growing: a caller about to insert many (a first plan, a restart's) makes the table
   * once instead of doubling it about ten times from its minimum, each doubling inserting every key again.
   */
  reserve(keys: number): void {
    let buckets = this.mask + 1;
    while ((keys + 1) * 5 > buckets * 3) buckets *= 2;
    if (buckets > this.mask + 1) {
      this.missed = null;
      this.resize(buckets);
    }
  }

  get(hash: string): number | undefined {
    if (!this.readKey(hash)) return this.other.get(hash);
    const b = this.find(this.keyHi, this.keyLo);
    if (b >= 0) return this.table[b * STRIDE + 2]! - 1;
    this.missed = hash;
    this.missedHi = this.keyHi;
    this.missedLo = this.keyLo;
    this.missedBucket = ~b;
    return undefined;
  }

  /** Sets `hash` to `value`, an integer in [0, 2^31 - 1). */
  set(hash: string, value: number): void {
    if (hash === this.missed) {
      // Not in the table since `get` missed it (any change of the table forgets the miss): into that bucket, unless
      // the table grows first.
      this.missed = null;
      if (this.isFull()) {
        this.resize((this.mask + 1) * 2);
        this.insert(this.missedHi, this.missedLo, value + 1);
      } else {
        const at = this.missedBucket * STRIDE;
        this.table[at] = this.missedHi;
        this.table[at + 1] = this.missedLo;
        this.table[at + 2] = value + 1;
      }
      this.count++;
      return;
    }
    this.missed = null;
    if (!this.readKey(hash)) {
      this.other.set(hash, value);
      return;
    }
    const h = this.keyHi;
    const l = this.keyLo;
    const found = this.find(h, l);
    if (found >= 0) {
      this.table[found * STRIDE + 2] = value + 1;
      return;
    }
    if (this.isFull()) this.resize((this.mask + 1) * 2);
    this.insert(h, l, value + 1);
    this.count++;
  }

  delete(hash: string): boolean {
    this.missed = null;
    if (!this.readKey(hash)) return this.other.delete(hash);
    let b = this.find(this.keyHi, this.keyLo);
    if (b < 0) return false;
    // Backward-shift deletion: each later key of the run whose home is not between the hole and itself moves into
    // the hole, so that no look-up stops short of a key (no tombstones to clean up).
    const t = this.table;
    const mask = this.mask;
    t[b * STRIDE + 2] = 0;
    for (let j = (b + 1) & mask; t[j * STRIDE + 2] !== 0; j = (j + 1) & mask) {
      const home = bucketOf(t[j * STRIDE]!, t[j * STRIDE + 1]!, mask);
      // Stays: its home lies cyclically in (b, j].
      if (b <= j ? b < home && home <= j : b < home || home <= j) continue;
      t.copyWithin(b * STRIDE, j * STRIDE, j * STRIDE + STRIDE);
      t[j * STRIDE + 2] = 0;
      b = j;
    }
    this.count--;
    if (this.count * 8 < this.mask + 1 && this.mask + 1 > this.minBuckets) this.resize((this.mask + 1) / 2);
    return true;
  }

  clear(): void {
    this.missed = null;
    this.table = new Int32Array(this.minBuckets * STRIDE);
    this.mask = this.minBuckets - 1;
    this.count = 0;
    this.other.clear();
  }

  /** Reads `hash` into keyHi and keyLo; false when it is not 16 lower-case hex digits (a key for `other`). */
  private readKey(hash: string): boolean {
    const hi = hexHalf(hash, 0);
    const lo = hash.length === 16 ? hexHalf(hash, 8) : NaN;
    if (!(hi >= 0 && lo >= 0)) return false;
    this.keyHi = hi | 0;
    this.keyLo = lo | 0;
    return true;
  }

  /** One more key would fill more than 60% of the buckets (linear probing's runs grow fast past that). */
  private isFull(): boolean {
    return (this.count + 1) * 5 > (this.mask + 1) * 3;
  }

  /** The bucket holding the key, or ~(the empty bucket where its probe ended). */
  private find(hi: number, lo: number): number {
    const t = this.table;
    const mask = this.mask;
    for (let b = bucketOf(hi, lo, mask); ; b = (b + 1) & mask) {
      const at = b * STRIDE;
      if (t[at + 2] === 0) return ~b;
      if (t[at] === hi && t[at + 1] === lo) return b;
    }
  }

  /** Puts a key that is not in the table into its first empty bucket. */
  private insert(hi: number, lo: number, stored: number): void {
    const t = this.table;
    const mask = this.mask;
    let b = bucketOf(hi, lo, mask);
    while (t[b * STRIDE + 2] !== 0) b = (b + 1) & mask;
    const at = b * STRIDE;
    t[at] = hi;
    t[at + 1] = lo;
    t[at + 2] = stored;
  }

  private resize(buckets: number): void {
    const old = this.table;
    this.table = new Int32Array(buckets * STRIDE);
    this.mask = buckets - 1;
    for (let at = 0; at < old.length; at += STRIDE) if (old[at + 2] !== 0) this.insert(old[at]!, old[at + 1]!, old[at + 2]!);
  }
}

/** The 8 hex digits of `s` from `from` as an unsigned 32-bit number; NaN when one is not 0-9 or a-f (or missing). */
function hexHalf(s: string, from: number): number {
  let v = 0;
  for (let j = from; j < from + 8; j++) {
    const c = s.charCodeAt(j); // NaN past the end
    if (c >= 48 && c <= 57) v = v * 16 + (c - 48);
    else if (c >= 97 && c <= 102) v = v * 16 + (c - 87);
    else return NaN;
  }
  return v;
}

/** A key's home bucket: its halves mixed (the hashes are FNV output, but keys in tests and benches need not be). */
function bucketOf(hi: number, lo: number, mask: number): number {
  let h = Math.imul(hi ^ Math.imul(lo, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 13;
  return h & mask;
}
