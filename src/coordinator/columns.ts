/**
 * Growing a column: the planner, the explorer and the slot sets keep what they know of each target in typed arrays
 * indexed by slot, and the fit index its shards in typed arrays indexed by shard (a number per target in a typed
 * array is 4–8 bytes; in a plain array or an object field, a boxed double or a tagged value the collector walks). A
 * typed array cannot grow in place, so each grows by making a longer one and copying the old one in: one helper, so
 * that no column forgets its contents or its fill.
 */

/** A typed array that holds a column, one number per slot or per shard. */
export type Column = Int32Array | Uint32Array | Uint8Array | Float64Array;

/**
 * A new array of `a`'s kind, `length` long (at least a's length), holding a's values at the start and `fill` after
 * them: the value that means "nothing here" for the column (-1 for a position, 0 for a count).
 */
export function grown<T extends Column>(a: T, length: number, fill = 0): T {
  const b = new (a.constructor as new (length: number) => T)(Math.max(length, a.length));
  b.set(a);
  if (fill !== 0) b.fill(fill, a.length);
  return b;
}
