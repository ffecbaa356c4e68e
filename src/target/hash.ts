/**
 * Target identity: FNV-1a 64-bit over the target's final labels (sorted by name, each `name 0xff value 0xff`)
 * followed by its scrape URL, all as UTF-8. It depends only on what Prometheus would scrape, so it is the same in
 * every process and across restarts. It travels as 16 lower-case hex digits: a 64-bit integer does not fit a
 * JSON number in JavaScript.
 */
import { sameNames } from '../prom/labels.js';

const FNV_PRIME_LOW = 0x1b3;

/** Character codes of the hex digits. */
const HEX = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/**
 * FNV-1a 64 state in four 16-bit limbs (the prime is 2^40 + 0x1b3), so no BigInt on the hot path. Strings are
 * fed as their UTF-8 bytes without encoding them into a buffer first.
 */
class Fnv64 {
  h0 = 0x2325;
  h1 = 0x8422;
  h2 = 0x9ce4;
  h3 = 0xcbf2;

  byte(b: number): void {
    const h0 = this.h0 ^ b;
    const t0 = h0 * FNV_PRIME_LOW;
    let t1 = this.h1 * FNV_PRIME_LOW;
    let t2 = this.h2 * FNV_PRIME_LOW + (h0 << 8);
    const t3 = this.h3 * FNV_PRIME_LOW + (this.h1 << 8);
    t1 += t0 >>> 16;
    this.h0 = t0 & 0xffff;
    t2 += t1 >>> 16;
    this.h1 = t1 & 0xffff;
    this.h3 = (t3 + (t2 >>> 16)) & 0xffff;
    this.h2 = t2 & 0xffff;
  }

  /**
   * The UTF-8 bytes of s; a lone surrogate counts as U+FFFD, as TextEncoder writes it. The common case, a run of
   * ASCII, steps the limbs held in locals: byte()'s step written out again, because through the fields a hash of a
   * pod's labels took a quarter longer (50k label sets: 51–53 ms against 40–42, alternated runs).
   */
  string(s: string): void {
    let i = 0;
    while (i < s.length) {
      let { h0, h1, h2, h3 } = this;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        h0 ^= c;
        const t0 = h0 * FNV_PRIME_LOW;
        let t1 = h1 * FNV_PRIME_LOW;
        let t2 = h2 * FNV_PRIME_LOW + (h0 << 8);
        const t3 = h3 * FNV_PRIME_LOW + (h1 << 8);
        t1 += t0 >>> 16;
        h0 = t0 & 0xffff;
        t2 += t1 >>> 16;
        h1 = t1 & 0xffff;
        h3 = (t3 + (t2 >>> 16)) & 0xffff;
        h2 = t2 & 0xffff;
      }
      this.h0 = h0;
      this.h1 = h1;
      this.h2 = h2;
      this.h3 = h3;
      if (i < s.length) i = this.nonAscii(s, i);
    }
  }

  /** One character of 0x80 or more at s[i], as UTF-8 bytes; returns the position after it. */
  private nonAscii(s: string, i: number): number {
    let c = s.charCodeAt(i);
    if (c < 0x800) {
      this.byte(0xc0 | (c >> 6));
      this.byte(0x80 | (c & 63));
      return i + 1;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        this.byte(0xf0 | (c >> 18));
        this.byte(0x80 | ((c >> 12) & 63));
        this.byte(0x80 | ((c >> 6) & 63));
        this.byte(0x80 | (c & 63));
        return i + 2;
      }
      c = 0xfffd;
    }
    this.byte(0xe0 | (c >> 12));
    this.byte(0x80 | ((c >> 6) & 63));
    this.byte(0x80 | (c & 63));
    return i + 1;
  }

  /**
   * One flat string of 16 characters. Two halves joined with `+` would be held as a rope (V8 keeps a string of 13 or
   * more characters made by concatenation as a pair of its parts): 80 bytes instead of 32 for each target's hash,
   * which the coordinator holds for every target several times over.
   */
  hex(): string {
    const { h3, h2, h1, h0 } = this;
    return String.fromCharCode(
      HEX[h3 >>> 12]!, HEX[(h3 >>> 8) & 15]!, HEX[(h3 >>> 4) & 15]!, HEX[h3 & 15]!, HEX[h2 >>> 12]!, HEX[(h2 >>> 8) & 15]!, HEX[(h2 >>> 4) & 15]!, HEX[h2 & 15]!,
      HEX[h1 >>> 12]!, HEX[(h1 >>> 8) & 15]!, HEX[(h1 >>> 4) & 15]!, HEX[h1 & 15]!, HEX[h0 >>> 12]!, HEX[(h0 >>> 8) & 15]!, HEX[(h0 >>> 4) & 15]!, HEX[h0 & 15]!,
    );
  }
}

/** FNV-1a 64 of a byte array, as 16 hex digits. */
export function fnv1a64Hex(bytes: Uint8Array, length = bytes.length): string {
  const h = new Fnv64();
  for (let i = 0; i < length; i++) h.byte(bytes[i]!);
  return h.hex();
}

/**
 * The order in which a label set's names sort, for the last list of names seen: targets come one after another with
 * the same names in the same order (those of one kind of pod, relabeled alike), so their order is worked out once,
 * not sorted for each target.
 */
let lastNames: string[] = [];
let lastOrder = new Int32Array(0);

function sortedOrder(names: string[]): Int32Array {
  if (sameNames(names, lastNames)) return lastOrder;
  const order = Int32Array.from(names.keys()).sort((a, b) => (names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : 0));
  lastNames = names;
  lastOrder = order;
  return order;
}

/** The identity hash of a target from its labels (any order) and scrape URL. 0xff never occurs in UTF-8, so it separates. */
export function targetHash(labels: Record<string, string>, scrapeUrl: string): string {
  const h = new Fnv64();
  const names = Object.keys(labels);
  const values = Object.values(labels);
  const order = sortedOrder(names);
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    h.string(names[i]!);
    h.byte(0xff);
    h.string(values[i]!);
    h.byte(0xff);
  }
  h.string(scrapeUrl);
  return h.hex();
}
