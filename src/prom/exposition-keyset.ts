/**
 * The keys of one scrape's series, and how many distinct ones there are: an exact count, no two different
 * series are ever taken for one, whatever the hashes do.
 *
 * While the body streams, each key is appended, as 32-bit words after its length, to one growing arena, and
 * its 32-bit hash and position to a log: both writes are sequential. distinct() then partitions the log by the
 * top bits of the hashes (a counting sort) into pieces of about a thousand keys and counts each piece with a
 * small open-addressing table that stays in the processor's cache; equal hashes are confirmed by comparing
 * the keys. (Sequential writes, then work in cache: a table filled as keys come costs a cache miss per key.)
 *
 * Why not a hash set filled as keys come (a Set<string>, or a table over the arena): every new key is then a
 * random access into a structure as big as the scrape, a cache miss each; measured on the bench body, a
 * Set<string> ran at about 0.6 million lines/s (a third of it in the garbage collector, one string per series),
 * a table over the arena at 1.6 million, against the goal of 3 million. No string is made: the key bytes are
 * copied four at a time into the arena (a word store costs what a byte store does).
 *
 * Memory: per sample (not per distinct series: a body repeating a series keeps each copy until the end) the key
 * rounded up to 4 bytes, plus 12 bytes; distinct() needs 8 more bytes per sample for a moment. All of it is
 * outside the JavaScript heap (ArrayBuffers), given back by clear().
 */

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** A key's position: block index above BLOCK_BITS, word offset in the block below. */
const BLOCK_BITS = 22;
const MAX_BLOCK_WORDS = 1 << BLOCK_BITS;
const MAX_BLOCKS = 1 << (31 - BLOCK_BITS);
const MAX_LOG = 0x7ffffffe;
/** Aim of distinct(): keys per partition, so that a partition's table (16 bytes per key) fits in cache. */
const PARTITION_KEYS = 1024;

export class ByteKeySet {
  /**
   * Keys as little-endian 32-bit words, each after its length in bytes, the last word zero-padded, in blocks
   * that are never copied (growing blocks, up to 16 MiB, rather than one array grown by copying).
   */
  private blocks: Int32Array[] = [];
  private block: Int32Array = new Int32Array(0);
  /** The current block's bytes. */
  private blockBytes: Buffer = Buffer.alloc(0);
  private used = 0;
  /** Per key: its hash and where it starts in the arena. */
  private log: Int32Array = new Int32Array(2 * 16 * 1024);
  private count = 0;

  /** Appends the key at bytes s..e of the view. */
  add(view: DataView, s: number, e: number): void {
    const length = e - s;
    const words = (length + 3) >> 2;
    if (this.used + 1 + words > this.block.length) this.newBlock(1 + words);
    if (2 * this.count + 2 > this.log.length) this.growLog();
    const a = this.block;
    const at = this.used + 1;
    let o = at;
    let h = length;
    let i = s;
    // Four bytes a step through a DataView: one load, where byte loads cost four (measured 55 vs 85 ns a key).
    // Words keep the bytes' memory order (the host's endianness), as addText() writes them.
    for (; i + 4 <= e; i += 4) {
      const w = view.getInt32(i, HOST_LITTLE_ENDIAN);
      a[o++] = w;
      h = Math.imul(h ^ w, 0x01000193); // FNV-1a over words
    }
    if (i < e) {
      a[o] = 0;
      const bytes = this.blockBytes;
      for (let k = 4 * o; i < e; i++) bytes[k++] = view.getUint8(i);
      h = Math.imul(h ^ a[o]!, 0x01000193);
    }
    this.append(h, length, at, words);
  }

  /** Records the key just written at `at` (hashed to h) in the log. */
  private append(h: number, length: number, at: number, words: number): void {
    this.block[at - 1] = length;
    this.used = at + words;
    // murmur3's finaliser: distinct() uses the top bits for partitions and the low bits in tables.
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    this.log[2 * this.count] = h;
    this.log[2 * this.count + 1] = ((this.blocks.length - 1) << BLOCK_BITS) | at;
    this.count++;
  }

  /** Adds the UTF-8 bytes of a key given as text: encoded straight into the arena, then hashed there. */
  addText(text: string): void {
    const most = 3 * text.length; // UTF-8 bytes per UTF-16 unit
    if (this.used + 1 + ((most + 3) >> 2) > this.block.length) this.newBlock(1 + ((most + 3) >> 2));
    if (2 * this.count + 2 > this.log.length) this.growLog();
    const a = this.block;
    const at = this.used + 1;
    const bytes = this.blockBytes;
    const length = bytes.write(text, 4 * at, 'utf8');
    const words = (length + 3) >> 2;
    bytes.fill(0, 4 * at + length, 4 * (at + words));
    let h = length;
    for (let o = at; o < at + words; o++) h = Math.imul(h ^ a[o]!, 0x01000193);
    this.append(h, length, at, words);
  }

  /** How many distinct keys were added; a pass over the log, so call it once, at the end. */
  distinct(): number {
    const n = this.count;
    if (n === 0) return 0;
    let bits = 0;
    while (bits < 16 && n >> bits > PARTITION_KEYS) bits++;
    const shift = 32 - bits;
    // Counting sort of the log by the top `bits` bits of the hash (>>> 0 so that shift 32 means 0, not the hash).
    const parts = 1 << bits;
    const starts = new Int32Array(parts + 1);
    const log = this.log;
    for (let k = 0; k < n; k++) starts[(bits === 0 ? 0 : log[2 * k]! >>> shift) + 1]++;
    let largest = 0;
    for (let p = 0; p < parts; p++) {
      largest = Math.max(largest, starts[p + 1]!);
      starts[p + 1] += starts[p]!;
    }
    const sorted = new Int32Array(2 * n);
    const next = starts.slice(0, parts);
    for (let k = 0; k < n; k++) {
      const h = log[2 * k]!;
      const to = next[bits === 0 ? 0 : h >>> shift]!++;
      sorted[2 * to] = h;
      sorted[2 * to + 1] = log[2 * k + 1]!;
    }
    // Each partition through one small table, cleared between partitions.
    let size = 2;
    while (size < 2 * largest) size *= 2;
    const table = new Int32Array(2 * size); // per slot: 1 + index into `sorted` of the key there, 0 when free
    const mask = size - 1;
    let distinct = 0;
    for (let p = 0; p < parts; p++) {
      const from = starts[p]!;
      const to = starts[p + 1]!;
      for (let k = from; k < to; k++) {
        const h = sorted[2 * k]!;
        let slot = h & mask;
        for (;;) {
          const there = table[2 * slot + 1]!;
          if (there === 0) {
            table[2 * slot] = h;
            table[2 * slot + 1] = k + 1;
            distinct++;
            break;
          }
          if (table[2 * slot] === h && this.sameKey(sorted[2 * (there - 1) + 1]!, sorted[2 * k + 1]!)) break;
          slot = (slot + 1) & mask;
        }
      }
      for (let k = from; k < to; k++) {
        let slot = sorted[2 * k]! & mask;
        while (table[2 * slot + 1] !== 0) {
          table[2 * slot + 1] = 0;
          slot = (slot + 1) & mask;
        }
      }
    }
    return distinct;
  }

  /** Drops every key and gives the memory back. */
  clear(): void {
    this.blocks = [];
    this.block = new Int32Array(0);
    this.blockBytes = Buffer.alloc(0);
    this.used = 0;
    this.log = new Int32Array(0);
    this.count = 0;
  }

  /** Whether the keys at positions x and y are the same. */
  private sameKey(x: number, y: number): boolean {
    const a = this.blocks[x >>> BLOCK_BITS]!;
    const b = this.blocks[y >>> BLOCK_BITS]!;
    const i = x & (MAX_BLOCK_WORDS - 1);
    const j = y & (MAX_BLOCK_WORDS - 1);
    const length = a[i - 1]!;
    if (b[j - 1] !== length) return false;
    const words = (length + 3) >> 2;
    for (let k = 0; k < words; k++) if (a[i + k] !== b[j + k]) return false;
    return true;
  }

  /** Starts a block with room for at least `need` words. */
  private newBlock(need: number): void {
    if (this.blocks.length === MAX_BLOCKS) throw new RangeError('more than 8 GiB of series keys in one scrape');
    const size = Math.max(Math.min(2 * this.block.length, MAX_BLOCK_WORDS), 64 * 1024, need);
    this.block = uninitialised(size);
    this.blockBytes = Buffer.from(this.block.buffer, this.block.byteOffset, this.block.byteLength);
    this.blocks.push(this.block);
    this.used = 0;
  }

  private growLog(): void {
    const size = Math.min(Math.max(2 * this.log.length, 1024), MAX_LOG);
    if (2 * this.count + 2 > size) throw new RangeError('more than a billion series keys in one scrape');
    const grown = uninitialised(size);
    grown.set(this.log.subarray(0, 2 * this.count));
    this.log = grown;
  }
}

/** An Int32Array without the zero-filling (only the part written is ever read). */
function uninitialised(length: number): Int32Array {
  const bytes = Buffer.allocUnsafeSlow(4 * length); // its own ArrayBuffer, at offset 0
  return new Int32Array(bytes.buffer, bytes.byteOffset, length);
}
