/**
 * Go 1.19's sort.Sort, comparison for comparison and swap for swap: Prometheus sorts federated series (and expfmt
 * its Accept clauses) with it, and it is not stable, so only the same algorithm gives the same order as Prometheus.
 */
export interface GoSortable {
  less(i: number, j: number): boolean;
  swap(i: number, j: number): void;
}

export const swapIn = <T>(a: T[], i: number, j: number): void => {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
};

/**
 * Go 1.19's sort.Sort of n elements (sort.go and zsortinterface.go): pdqsort with insertion sort up to 12
 * elements, a median of three (Tukey's ninther from 50) as pivot, reversal of a slice that looks descending,
 * partial insertion sort for one that looks sorted, pattern breaking with a xorshift seeded by the length, and
 * heapsort after bits.Len(n) bad pivots. Every comparison and swap is Go's, in Go's order, so an unstable result
 * is the same permutation as Go's (also for a Less that is no strict weak order, as goautoneg's).
 */
export function goSort(n: number, data: GoSortable): void {
  if (n > 1) pdqsort(data, 0, n, bitLength(n));
}

/** Go's bits.Len for 0 <= n < 2^32. */
const bitLength = (n: number): number => 32 - Math.clz32(n);

const INCREASING = 1;
const DECREASING = 2;

function pdqsort(data: GoSortable, a: number, b: number, limit: number): void {
  let wasBalanced = true; // the last partition was not very unbalanced
  let wasPartitioned = true; // the last partition moved nothing
  for (;;) {
    const length = b - a;
    if (length <= 12) {
      insertionSort(data, a, b);
      return;
    }
    if (limit === 0) {
      heapSort(data, a, b);
      return;
    }
    if (!wasBalanced) {
      breakPatterns(data, a, b);
      limit--;
    }
    let { pivot, hint } = choosePivot(data, a, b);
    if (hint === DECREASING) {
      reverseRange(data, a, b);
      pivot = b - 1 - (pivot - a); // the same element, now as far from the end as it was from the start
      hint = INCREASING;
    }
    if (wasBalanced && wasPartitioned && hint === INCREASING && partialInsertionSort(data, a, b)) return;
    // Go tests the element before the slice against the whole array's start (a > 0), not the slice's.
    if (a > 0 && !data.less(a - 1, pivot)) {
      a = partitionEqual(data, a, b, pivot); // many equal elements: keep only the greater ones
      continue;
    }
    const { mid, alreadyPartitioned } = partition(data, a, b, pivot);
    wasPartitioned = alreadyPartitioned;
    const leftLength = mid - a;
    const rightLength = b - mid;
    const balanceThreshold = Math.trunc(length / 8);
    if (leftLength < rightLength) {
      wasBalanced = leftLength >= balanceThreshold;
      pdqsort(data, a, mid, limit);
      a = mid + 1;
    } else {
      wasBalanced = rightLength >= balanceThreshold;
      pdqsort(data, mid + 1, b, limit);
      b = mid;
    }
  }
}

function insertionSort(data: GoSortable, a: number, b: number): void {
  for (let i = a + 1; i < b; i++) {
    for (let j = i; j > a && data.less(j, j - 1); j--) data.swap(j, j - 1);
  }
}

/** Restores the max-heap property of data[first+lo, first+hi) from its root lo down. */
function siftDown(data: GoSortable, lo: number, hi: number, first: number): void {
  let root = lo;
  for (;;) {
    let child = 2 * root + 1;
    if (child >= hi) return;
    if (child + 1 < hi && data.less(first + child, first + child + 1)) child++;
    if (!data.less(first + root, first + child)) return;
    data.swap(first + root, first + child);
    root = child;
  }
}

function heapSort(data: GoSortable, a: number, b: number): void {
  const hi = b - a;
  for (let i = Math.trunc((hi - 1) / 2); i >= 0; i--) siftDown(data, i, hi, a);
  for (let i = hi - 1; i >= 0; i--) {
    data.swap(a, a + i);
    siftDown(data, 0, i, a);
  }
}

/** Moves the pivot to a, then the smaller elements before it; returns its new index and whether nothing moved. */
function partition(data: GoSortable, a: number, b: number, pivot: number): { mid: number; alreadyPartitioned: boolean } {
  data.swap(a, pivot);
  let i = a + 1;
  let j = b - 1;
  while (i <= j && data.less(i, a)) i++;
  while (i <= j && !data.less(j, a)) j--;
  if (i > j) {
    data.swap(j, a);
    return { mid: j, alreadyPartitioned: true };
  }
  data.swap(i, j);
  i++;
  j--;
  for (;;) {
    while (i <= j && data.less(i, a)) i++;
    while (i <= j && !data.less(j, a)) j--;
    if (i > j) break;
    data.swap(i, j);
    i++;
    j--;
  }
  data.swap(j, a);
  return { mid: j, alreadyPartitioned: false };
}

/** Elements equal to the pivot first, greater ones after (none is smaller); returns where the greater start. */
function partitionEqual(data: GoSortable, a: number, b: number, pivot: number): number {
  data.swap(a, pivot);
  let i = a + 1;
  let j = b - 1;
  for (;;) {
    while (i <= j && !data.less(a, i)) i++;
    while (i <= j && data.less(a, j)) j--;
    if (i > j) return i;
    data.swap(i, j);
    i++;
    j--;
  }
}

/** Fixes up to 5 out-of-order neighbours of a nearly sorted slice; true when it is sorted then. */
function partialInsertionSort(data: GoSortable, a: number, b: number): boolean {
  let i = a + 1;
  for (let step = 0; step < 5; step++) {
    while (i < b && !data.less(i, i - 1)) i++;
    if (i === b) return true;
    if (b - a < 50) return false;
    data.swap(i, i - 1);
    // Shifts the smaller one left; Go's loop runs down to index 1 of the whole array, not a + 1.
    if (i - a >= 2) {
      for (let j = i - 1; j >= 1 && data.less(j, j - 1); j--) data.swap(j, j - 1);
    }
    if (b - i >= 2) {
      for (let j = i + 1; j < b && data.less(j, j - 1); j++) data.swap(j, j - 1);
    }
  }
  return false;
}

const MASK64 = (1n << 64n) - 1n;

/** Swaps three elements in the middle with pseudo-random others (xorshift64 seeded with the length). */
function breakPatterns(data: GoSortable, a: number, b: number): void {
  const length = b - a;
  if (length < 8) return;
  let random = BigInt(length);
  const mask = BigInt(2 ** bitLength(length) - 1); // nextPowerOfTwo(length) - 1
  const middle = a + Math.trunc(length / 4) * 2;
  for (let idx = middle - 1; idx <= middle + 1; idx++) {
    random ^= (random << 13n) & MASK64;
    random ^= random >> 17n;
    random ^= (random << 5n) & MASK64;
    let other = Number(random & mask);
    if (other >= length) other -= length;
    data.swap(idx, a + other);
  }
}

/**
 * The pivot: the middle element below 8 elements, else the median of the quarter points (each the median of
 * itself and its neighbours from 50 elements). No swap counted suggests sorted input, all 12 reversed.
 */
function choosePivot(data: GoSortable, a: number, b: number): { pivot: number; hint: number } {
  const l = b - a;
  const swaps = { n: 0 };
  const quarter = Math.trunc(l / 4);
  let i = a + quarter;
  let j = a + quarter * 2;
  let k = a + quarter * 3;
  if (l >= 8) {
    if (l >= 50) {
      i = median(data, i - 1, i, i + 1, swaps);
      j = median(data, j - 1, j, j + 1, swaps);
      k = median(data, k - 1, k, k + 1, swaps);
    }
    j = median(data, i, j, k, swaps);
  }
  return { pivot: j, hint: swaps.n === 0 ? INCREASING : swaps.n === 12 ? DECREASING : 0 };
}

/** The index of the median of data[a], data[b], data[c], counting the out-of-order pairs it met. */
function median(data: GoSortable, a: number, b: number, c: number, swaps: { n: number }): number {
  const order = (x: number, y: number): [number, number] => {
    if (!data.less(y, x)) return [x, y];
    swaps.n++;
    return [y, x];
  };
  [a, b] = order(a, b);
  [b, c] = order(b, c);
  [a, b] = order(a, b);
  return b;
}

function reverseRange(data: GoSortable, a: number, b: number): void {
  for (let i = a, j = b - 1; i < j; i++, j--) data.swap(i, j);
}
