/**
 * Targets in placement order (planner-state.ts bySizeDesc: series descending, then hash ascending), for the list
 * phase 2 sorts whole: by a counting sort and the hashes' order keys (series-order.ts says why). Where series are not
 * counts in a small span, or no order keys are kept (the full planner), the comparator is used.
 */
import { bySizeDesc, type PlanState } from './planner-state.js';
import { countableSpan, seriesRunStarts, sortByHash } from './series-order.js';

/** Lists shorter than this are sorted by the comparator. */
const SHORT_LIST = 16;

export function placementOrder(st: PlanState, list: readonly number[]): number[] {
  const { series, hashKeys, hashes } = st;
  const L = list.length;
  const span = hashKeys === undefined || L < SHORT_LIST ? null : countableSpan(list, series);
  if (span === null || hashKeys === undefined) return list.slice().sort(bySizeDesc(st));
  const { max } = span;
  const fill = seriesRunStarts(list, series, span, true);
  // Each key read in the list's order (slots mostly ascending: memory read in order) and written where its target goes.
  const idx = new Int32Array(L);
  const keys = new Float64Array(L);
  for (let j = 0; j < L; j++) {
    const i = list[j]!;
    const p = fill[max - series[i]!]!++;
    idx[p] = i;
    keys[p] = hashKeys[i]!;
  }
  // fill[b] is now where run b ends (run b + 1 starts).
  let a = 0;
  for (let b = 0; b < fill.length - 1; b++) {
    const e = fill[b]!;
    if (e - a > 1) sortByHash(idx, keys, a, e - 1, hashes);
    a = e;
  }
  // Copied by a loop: Array.from of a typed array this long took 0.45 s in a cycle.
  const out = new Array<number>(L);
  for (let p = 0; p < L; p++) out[p] = idx[p]!;
  return out;
}
