/**
 * Target identity: FNV-1a 64-bit over the target's final labels (sorted by name, each `name 0xff value 0xff`)
 * followed by its scrape URL, all as UTF-8. It depends only on what Prometheus would scrape, so it is the same in
 * every process and across restarts. It travels as 16 lower-case hex digits: a 64-bit integer does not fit a
 * JSON number in JavaScript.
 */

const encoder = new TextEncoder();
let scratch = new Uint8Array(4096);

/** FNV-1a 64 with four 16-bit limbs (the prime is 2^40 + 0x1b3), so no BigInt on the hot path. */
export function fnv1a64Hex(bytes: Uint8Array, length = bytes.length): string {
  let h0 = 0x2325, h1 = 0x8422, h2 = 0x9ce4, h3 = 0xcbf2;
  for (let i = 0; i < length; i++) {
    h0 ^= bytes[i]!;
    const t0 = h0 * 0x1b3;
    let t1 = h1 * 0x1b3;
    let t2 = h2 * 0x1b3 + (h0 << 8);
    const t3 = h3 * 0x1b3 + (h1 << 8);
    t1 += t0 >>> 16;
    h0 = t0 & 0xffff;
    t2 += t1 >>> 16;
    h1 = t1 & 0xffff;
    h3 = (t3 + (t2 >>> 16)) & 0xffff;
    h2 = t2 & 0xffff;
  }
  return (h3 * 0x10000 + h2).toString(16).padStart(8, '0') + (h1 * 0x10000 + h0).toString(16).padStart(8, '0');
}

function put(text: string, at: number): number {
  if (scratch.length < at + text.length * 3 + 1) {
    const bigger = new Uint8Array((at + text.length * 3 + 1) * 2);
    bigger.set(scratch.subarray(0, at));
    scratch = bigger;
  }
  return at + encoder.encodeInto(text, scratch.subarray(at)).written;
}

/** The identity hash of a target from its labels (any order) and scrape URL. 0xff never occurs in UTF-8, so it separates. */
export function targetHash(labels: Record<string, string>, scrapeUrl: string): string {
  let at = 0;
  for (const name of Object.keys(labels).sort()) {
    at = put(name, at);
    scratch[at++] = 0xff;
    at = put(labels[name]!, at);
    scratch[at++] = 0xff;
  }
  at = put(scrapeUrl, at);
  return fnv1a64Hex(scratch, at);
}
