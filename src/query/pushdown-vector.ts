/**
 * The vocabulary of the front door's own evaluation (pushdown-eval.ts and the pushdown-* files it uses): one
 * series at one step, label sets as Prometheus compares them, and the execution error Prometheus answers. Kept
 * apart so that the aggregation, function and operator files depend on it and not on one another.
 */
import { compareLabelNames, type Labels } from '../prom/labels.js';

/** What Prometheus answers as an execution error (HTTP 422, errorType "execution"). */
export class EvalError extends Error {
  override name = 'EvalError';
}

/** One series at one evaluation step. */
export interface EvalSample {
  metric: Labels;
  value: number;
}

export const METRIC_NAME = '__name__';
export const DUPLICATE_LABELSET = 'vector cannot contain metrics with the same labelset';

/** The label pairs sorted as Prometheus sorts them (empty values are no labels). */
export function labelPairs(metric: Labels): Array<[string, string]> {
  return Object.keys(metric)
    .filter((k) => metric[k] !== '')
    .sort(compareLabelNames)
    .map((k) => [k, metric[k]!]);
}

/** An unambiguous identity of a label set (Prometheus uses its hash). */
export function labelsKey(metric: Labels): string {
  return JSON.stringify(labelPairs(metric));
}


export function withoutLabels(metric: Labels, names: readonly string[]): Labels {
  const out: Labels = { ...metric };
  for (const n of names) delete out[n];
  return out;
}

export function keepLabels(metric: Labels, names: readonly string[]): Labels {
  const out: Labels = {};
  for (const n of names) if (metric[n] !== undefined && metric[n] !== '') out[n] = metric[n]!;
  return out;
}

/** The step's vector, or EvalError as Prometheus's rangeEval raises it when two samples share their labels. */
export function checkNoDuplicates(vec: readonly EvalSample[]): readonly EvalSample[] {
  if (vec.length < 2) return vec;
  const seen = new Set<string>();
  for (const s of vec) {
    const k = labelsKey(s.metric);
    if (seen.has(k)) throw new EvalError(DUPLICATE_LABELSET);
    seen.add(k);
  }
  return vec;
}

