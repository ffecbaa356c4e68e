/**
 * Prometheus's XOR chunk encoding (tsdb/chunkenc, the Gorilla scheme), as carried by remote read's
 * STREAMED_XOR_CHUNKS responses: a 2-byte big-endian sample count, then a bit stream, most significant bit first:
 * - sample 0: timestamp as a zig-zag varint, value as 64 raw bits;
 * - sample 1: timestamp delta as a uvarint, value XOR-ed with the previous one;
 * - later samples: delta-of-delta in '0' | '10'+14 bits | '110'+17 | '1110'+20 | '1111'+64 bits, then the value XOR.
 * Value XOR: '0' when equal; else '1', then '0' and the significant bits within the previous leading/trailing
 * window, or '1', 5 bits of leading zeros (at most 31), 6 bits of significant-bit count (64 written as 0), the bits.
 */
import { WireError } from './wire.js';
import { isStale, pushSample, type Samples } from './samples.js';

/** Most samples per chunk, as the TSDB head cuts them. */
export const SAMPLES_PER_CHUNK = 120;

/** Prometheus's staleness marker. */
const STALE_BITS = 0x7ff0000000000002n;

class BitWriter {
  private bytes: number[] = [];
  private free = 0; // free bits in the last byte

  writeBit(bit: number): void {
    if (this.free === 0) {
      this.bytes.push(0);
      this.free = 8;
    }
    this.free--;
    if (bit) this.bytes[this.bytes.length - 1]! |= 1 << this.free;
  }

  /** The low `n` bits of `v` (n ≤ 64), most significant first. */
  writeBits(v: bigint, n: number): void {
    for (let i = n - 1; i >= 0; i--) this.writeBit(Number((v >> BigInt(i)) & 1n));
  }

  writeByte(b: number): void {
    this.writeBits(BigInt(b), 8);
  }

  finish(): number[] {
    return this.bytes;
  }
}

class BitReader {
  private pos = 0; // bit position
  constructor(private readonly buf: Uint8Array, start: number) {
    this.pos = start * 8;
  }

  readBit(): number {
    const byte = this.pos >>> 3;
    if (byte >= this.buf.length) throw new WireError('XOR chunk ends early');
    const bit = (this.buf[byte]! >>> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return bit;
  }

  readBits(n: number): bigint {
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 1n) | BigInt(this.readBit());
    return v;
  }

  readByte(): number {
    return Number(this.readBits(8));
  }
}

const f64 = new DataView(new ArrayBuffer(8));
const floatBits = (v: number): bigint => {
  f64.setFloat64(0, v);
  return f64.getBigUint64(0);
};
const bitsFloat = (b: bigint): number => {
  f64.setBigUint64(0, b);
  return f64.getFloat64(0);
};

function clz64(x: bigint): number {
  const hi = Number(x >> 32n);
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(Number(x & 0xffffffffn));
}

function ctz64(x: bigint): number {
  let n = 0;
  while (n < 64 && ((x >> BigInt(n)) & 1n) === 0n) n++;
  return n;
}

function writeUvarint(w: BitWriter, v: bigint): void {
  while (v >= 0x80n) {
    w.writeByte(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  w.writeByte(Number(v));
}

function readUvarint(r: BitReader): bigint {
  let v = 0n;
  for (let shift = 0n; shift < 70n; shift += 7n) {
    const b = r.readByte();
    v |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return v;
  }
  throw new WireError('XOR chunk: varint too long');
}

const inRange = (x: bigint, n: number): boolean => x >= -((1n << BigInt(n - 1)) - 1n) && x <= 1n << BigInt(n - 1);

/** Encodes samples (at most 65535) as one XOR chunk. */
export function encodeXorChunk(s: Samples, from = 0, to = s.t.length): Uint8Array {
  const n = to - from;
  if (n > 0xffff) throw new RangeError('an XOR chunk holds at most 65535 samples');
  const w = new BitWriter();
  w.writeByte(n >> 8);
  w.writeByte(n & 0xff);
  let prevT = 0n;
  let prevDelta = 0n;
  let prevV = 0n;
  let leading = 0xff;
  let trailing = 0;
  for (let i = from; i < to; i++) {
    const t = BigInt(s.t[i]!);
    const v = isStale(s, i) ? STALE_BITS : floatBits(s.v[i]!);
    const k = i - from;
    if (k === 0) {
      writeUvarint(w, BigInt.asUintN(64, (t << 1n) ^ (t >> 63n))); // zig-zag
      w.writeBits(v, 64);
    } else {
      const delta = t - prevT;
      if (k === 1) writeUvarint(w, BigInt.asUintN(64, delta));
      else {
        const dod = delta - prevDelta;
        if (dod === 0n) w.writeBit(0);
        else if (inRange(dod, 14)) { w.writeBits(0b10n, 2); w.writeBits(BigInt.asUintN(14, dod), 14); }
        else if (inRange(dod, 17)) { w.writeBits(0b110n, 3); w.writeBits(BigInt.asUintN(17, dod), 17); }
        else if (inRange(dod, 20)) { w.writeBits(0b1110n, 4); w.writeBits(BigInt.asUintN(20, dod), 20); }
        else { w.writeBits(0b1111n, 4); w.writeBits(BigInt.asUintN(64, dod), 64); }
      }
      prevDelta = delta;
      const x = v ^ prevV;
      if (x === 0n) w.writeBit(0);
      else {
        w.writeBit(1);
        let lz = clz64(x);
        const tz = ctz64(x);
        if (lz >= 32) lz = 31;
        if (leading !== 0xff && lz >= leading && tz >= trailing) {
          w.writeBit(0);
          w.writeBits(x >> BigInt(trailing), 64 - leading - trailing);
        } else {
          leading = lz;
          trailing = tz;
          w.writeBit(1);
          w.writeBits(BigInt(lz), 5);
          const sig = 64 - lz - tz;
          w.writeBits(BigInt(sig === 64 ? 0 : sig), 6);
          w.writeBits(x >> BigInt(tz), sig);
        }
      }
    }
    prevT = t;
    prevV = v;
  }
  return Uint8Array.from(w.finish());
}

/** Decodes one XOR chunk, appending to `out`. */
export function decodeXorChunk(data: Uint8Array, out: Samples = { t: [], v: [] }): Samples {
  if (data.length < 2) throw new WireError('XOR chunk shorter than its header');
  const n = (data[0]! << 8) | data[1]!;
  const r = new BitReader(data, 2);
  let t = 0n;
  let delta = 0n;
  let v = 0n;
  let leading = 0;
  let trailing = 0;
  for (let k = 0; k < n; k++) {
    if (k === 0) {
      const u = readUvarint(r);
      t = BigInt.asIntN(64, (u >> 1n) ^ -(u & 1n));
      v = r.readBits(64);
    } else {
      if (k === 1) delta = BigInt.asIntN(64, readUvarint(r));
      else {
        let d = 0;
        for (let i = 0; i < 4; i++) {
          d <<= 1;
          if (r.readBit() === 0) break;
          d |= 1;
        }
        let dod = 0n;
        const sz = d === 0b10 ? 14 : d === 0b110 ? 17 : d === 0b1110 ? 20 : 0;
        if (d === 0b1111) dod = BigInt.asIntN(64, r.readBits(64));
        else if (sz !== 0) {
          let bits = r.readBits(sz);
          if (bits > 1n << BigInt(sz - 1)) bits -= 1n << BigInt(sz);
          dod = bits;
        }
        delta += dod;
      }
      t += delta;
      if (r.readBit() === 1) {
        if (r.readBit() === 1) {
          leading = Number(r.readBits(5));
          let sig = Number(r.readBits(6));
          if (sig === 0) sig = 64;
          trailing = 64 - leading - sig;
        }
        const sig = 64 - leading - trailing;
        v ^= r.readBits(sig) << BigInt(trailing);
      }
    }
    pushSample(out, Number(t), bitsFloat(v), v === STALE_BITS);
  }
  return out;
}
