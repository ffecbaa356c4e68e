/**
 * Protocol-buffers wire primitives for the hot path of remote read: scanning series without building objects and
 * writing them back, so that series which need no change pass through as raw bytes. Message schemas live in
 * read-proto.ts (protobufjs) for the small messages; this file is only the varint/fixed64/length-delimited layer.
 */

export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const TWO_32 = 4294967296;

/** A cursor over a protobuf-encoded buffer. Every read checks bounds and throws WireError on truncation. */
export class WireReader {
  pos: number;
  readonly view: DataView;

  constructor(readonly buf: Uint8Array, start = 0, readonly end = buf.length) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint of up to 32 significant bits (tags, lengths, enums). */
  uint32(): number {
    const b = this.buf;
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const byte = b[this.pos++]!;
      if (shift < 32) result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result > 0xffffffff ? result % TWO_32 : result;
      shift += 7;
    }
    throw new WireError('varint longer than 10 bytes');
  }

  /**
   * An int64 varint as a number. Exact for |v| < 2^53 (millisecond timestamps); negative values are decoded
   * from their 10-byte two's-complement form.
   */
  int64(): number {
    const b = this.buf;
    let lo = 0;
    let hi = 0;
    let i = 0;
    for (; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const byte = b[this.pos++]!;
      if (i < 4) lo |= (byte & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (byte & 0x0f) << 28;
        hi |= (byte & 0x7f) >>> 4;
      } else hi |= (byte & 0x7f) << (7 * i - 32);
      if ((byte & 0x80) === 0) break;
    }
    if (i === 10) throw new WireError('varint longer than 10 bytes');
    lo >>>= 0;
    if (hi & 0x80000000) {
      // negative: -(~v + 1)
      const nlo = (~lo + 1) >>> 0;
      const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
      return -(nhi * TWO_32 + nlo);
    }
    return (hi >>> 0) * TWO_32 + lo;
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new WireError('truncated double');
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Length of a length-delimited field; leaves pos at its first byte. */
  len(): number {
    const n = this.uint32();
    if (this.pos + n > this.end) throw new WireError(`length ${n} runs past the end of the message`);
    return n;
  }

  string(): string {
    const n = this.len();
    const s = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, n).toString('utf8');
    this.pos += n;
    return s;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.int64();
        return;
      case WIRE_FIXED64:
        if (this.pos + 8 > this.end) throw new WireError('truncated fixed64');
        this.pos += 8;
        return;
      case WIRE_LEN:
        {
          const n = this.len(); // before reading pos: len() moves it
          this.pos += n;
        }
        return;
      case WIRE_FIXED32:
        if (this.pos + 4 > this.end) throw new WireError('truncated fixed32');
        this.pos += 4;
        return;
      default:
        throw new WireError(`unsupported wire type ${wireType}`);
    }
  }
}

/** Bytes a varint of `v` (0 ≤ v < 2^53) takes. */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** A writer into one preallocated buffer (callers compute sizes first), growing if a size was underestimated. */
export class WireWriter {
  buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(Math.max(16, size));
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A varint of 0 ≤ v < 2^53. */
  uvarint(v: number): void {
    this.ensure(10);
    const b = this.buf;
    while (v >= 128) {
      b[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    b[this.pos++] = v;
  }

  /** An int64 varint (negative values take 10 bytes, two's complement). */
  int64(v: number): void {
    if (v >= 0) {
      this.uvarint(v);
      return;
    }
    let x = BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    while (x >= 128n) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
  }

  byte(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  double(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  bytes(src: Uint8Array, start = 0, end = src.length): void {
    const n = end - start;
    this.ensure(n);
    if (Buffer.isBuffer(src)) src.copy(this.buf, this.pos, start, end); // native copy, no view object
    else this.buf.set(src.subarray(start, end), this.pos);
    this.pos += n;
  }

  /** A string field body: length then UTF-8 bytes. */
  string(s: string): void {
    const n = Buffer.byteLength(s);
    this.uvarint(n);
    this.ensure(n);
    this.buf.write(s, this.pos, n, 'utf8');
    this.pos += n;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
