/**
 * Ascending string keys with values by position: how the planner's per-shard records (assignment-record.ts) and
 * views of what shards hold (shard-targets.ts) are kept.
 *
 * Why not an object or a Map keyed by hash: a change that touches most shards (1% of a million targets touches nearly
 * all of ~800) makes each of their records and views anew, and inserting into a dictionary of a thousand keys costs
 * 200–400 ns a key, whether it is built from nothing or copied. Merging a few changes into sorted arrays costs a few
 * ns a key. A look-up is a binary search (about 11 comparisons in a thousand keys): these are mostly walked.
 */

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

/** The position of `k` in ascending `keys`, or -1. */
export function positionOf(keys: readonly string[], k: string): number {
  const p = lowerBound(keys, k);
  return keys[p] === k ? p : -1;
}

/** Calls `f` with each key of ascending `keys` that ascending `other` does not hold, in order (one walk of both). */
export function forEachNotIn(keys: readonly string[], other: readonly string[], f: (k: string) => void): void {
  let j = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    while (j < other.length && other[j]! < k) j++;
    if (j < other.length && other[j] === k) j++;
    else f(k);
  }
}

/**
 * Ascending `keys` after `edits` (a key's new value, or undefined to drop it; the last edit of a key wins): the new
 * keys, and per new position where its value comes from: an old position (>= 0) whose value it keeps, or `~e` for
 * the value of `edits[e]`. When the edits add and drop no key, the keys returned are `keys` itself (an array nobody
 * changes: a record or view whose entries changed shares its keys with the one before, and makes no copy of them).
 */
export function editSorted<V>(keys: readonly string[], edits: ReadonlyArray<readonly [string, V | undefined]>): { keys: readonly string[]; from: Int32Array } {
  const marks = new Map<number, number>(); // old position: the edit that replaces or drops it
  const fresh: number[] = []; // edits of keys not in `keys`
  const at = new Int32Array(edits.length); // per edit of a new key: where it goes (before the old key at that position)
  for (let e = 0; e < edits.length; e++) {
    const k = edits[e]![0];
    const p = lowerBound(keys, k);
    if (keys[p] === k) marks.set(p, e);
    else {
      fresh.push(e);
      at[e] = p;
    }
  }
  // Ascending by key, a key edited twice kept once with its last edit (the sort is stable), dropped ones left out.
  // Compared by order key first, as numbers: a first placement gives each record a thousand new keys, and reading
  // two strings per comparison was most of building the records (0.8 s of the cycle placing a million).
  const order = new Float64Array(fresh.length > 1 ? edits.length : 0);
  if (fresh.length > 1) for (const e of fresh) order[e] = orderKey(edits[e]![0]);
  fresh.sort((a, b) => order[a]! - order[b]! || (edits[a]![0] < edits[b]![0] ? -1 : edits[a]![0] > edits[b]![0] ? 1 : 0));
  const added = fresh.filter((e, j) => (j + 1 === fresh.length || edits[fresh[j + 1]!]![0] !== edits[e]![0]) && edits[e]![1] !== undefined);
  let dropped = 0;
  for (const e of marks.values()) if (edits[e]![1] === undefined) dropped++;
  const length = keys.length - dropped + added.length;
  if (dropped === 0 && added.length === 0) {
    const from = new Int32Array(length);
    for (let p = 0; p < length; p++) from[p] = p;
    for (const [p, e] of marks) from[p] = ~e;
    return { keys, from };
  }
  const marked = [...marks.keys()].sort((a, b) => a - b);
  const outKeys = new Array<string>(length);
  const from = new Int32Array(length);
  // The merge compares positions only (found above by binary search): comparing every old key with the next new one
  // would read each key's characters, scattered in the heap, a cache miss per key.
  let n = 0;
  let f = 0;
  let m = 0;
  let p = 0;
  for (;;) {
    const next = Math.min(f < added.length ? at[added[f]!]! : keys.length, m < marked.length ? marked[m]! : keys.length);
    for (; p < next; p++) {
      outKeys[n] = keys[p]!;
      from[n++] = p;
    }
    while (f < added.length && at[added[f]!] === p) {
      const e = added[f++]!;
      outKeys[n] = edits[e]![0];
      from[n++] = ~e;
    }
    if (p === keys.length) break;
    if (marked[m] === p) {
      const e = marks.get(marked[m++]!)!;
      if (edits[e]![1] !== undefined) {
        outKeys[n] = keys[p]!;
        from[n++] = ~e;
      }
      p++;
    }
  }
  return { keys: outKeys, from };
}

/**
 * A number that orders strings as `<` does where it differs: orderKey(a) < orderKey(b) implies a < b; equal keys
 * say nothing (compare the strings). Made of the first 6 UTF-16 units, 8 bits each (48 bits, exact as a double): a
 * unit below 128 is itself + 1, the end of the string 0, and any other unit 129, after which the key stops. Target
 * hashes are hex, so 6 units tell apart all but about one pair in 16 million.
 */
export function orderKey(s: string): number {
  let key = 0;
  let j = 0;
  for (; j < 6 && j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c >= 128) {
      key = key * 256 + 129;
      j++;
      break;
    }
    key = key * 256 + c + 1;
  }
  for (; j < 6; j++) key *= 256;
  return key;
}
