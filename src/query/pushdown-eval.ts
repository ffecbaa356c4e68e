/**
 * The evaluator of pushed-down queries: turns every shard's answers to a plan's parts (pushdown-types.ts) into the
 * one answer Prometheus would have given over all series, with no I/O. Parts are merged per evaluation step
 * (union, absent, or the exact recombination of a decomposable aggregation); the nodes above them are evaluated
 * over the complete vectors step by step, with Prometheus 2.42's semantics (pushdown-aggregate.ts, pushdown-funcs.ts,
 * pushdown-binop.ts). Values are numbers throughout and are formatted as Prometheus's JSON writes them only at the
 * end; a range answer is sorted by labels as Prometheus sorts a Matrix.
 */
import { compareLabelSets, type Labels } from '../prom/labels.js';
import { aggregate, aggregationK } from './pushdown-aggregate.js';
import { scalarBinop, vectorBinop, vectorSetOp } from './pushdown-binop.js';
import { histogramQuantile, labelReplacer, sortVector } from './pushdown-funcs.js';
import { formatValue, parseSampleValue } from './pushdown-gomath.js';
import { checkNoDuplicates, EvalError, labelPairs, labelsKey, type EvalSample } from './pushdown-vector.js';
import type { DecomposableOp, MatrixSeries, PartMerge, PlanExpr, PushedPart, ShardData, VectorSample } from './pushdown-types.js';

export { EvalError, formatValue };

export type EvalMode = { kind: 'instant'; timeS: number } | { kind: 'range'; startS: number; endS: number; stepS: number };

/** A vector per evaluation step (one step for an instant query). */
type Steps = ReadonlyArray<readonly EvalSample[]>;

/** The evaluation times in milliseconds, as Prometheus steps through them. */
function stepTimesMs(mode: EvalMode): number[] {
  if (mode.kind === 'instant') return [Math.round(mode.timeS * 1000)];
  const start = Math.round(mode.startS * 1000);
  const end = Math.round(mode.endS * 1000);
  const step = Math.round(mode.stepS * 1000);
  if (!(step > 0)) throw new Error(`pushdown evaluation: step must be positive, got ${mode.stepS}`);
  const out: number[] = [];
  for (let t = start; t <= end; t += step) out.push(t);
  return out;
}

interface ShardSeries {
  metric?: Record<string, string>;
  value?: [number, string];
  values?: Array<[number, string]>;
  histogram?: unknown;
  histograms?: unknown;
}

/** One shard's answer to one query, as a vector per step (points are matched to steps by their timestamp). */
function readShardData(data: ShardData, mode: EvalMode, stepIndex: ReadonlyMap<number, number>, stepCount: number): EvalSample[][] {
  const steps: EvalSample[][] = Array.from({ length: stepCount }, () => []);
  const expected = mode.kind === 'instant' ? 'vector' : 'matrix';
  if (data.resultType !== expected || !Array.isArray(data.result)) {
    throw new Error(`pushdown evaluation: a shard answered a ${data.resultType}, expected a ${expected}`);
  }
  for (const raw of data.result as ShardSeries[]) {
    if (raw.histogram !== undefined || raw.histograms !== undefined) throw new Error('pushdown evaluation: native histograms are not supported');
    const metric = raw.metric ?? {};
    if (mode.kind === 'instant') {
      if (raw.value !== undefined) steps[0]!.push({ metric, value: parseSampleValue(raw.value[1]) });
      continue;
    }
    for (const [t, v] of raw.values ?? []) {
      const i = stepIndex.get(Math.round(t * 1000));
      if (i !== undefined) steps[i]!.push({ metric, value: parseSampleValue(v) });
    }
  }
  return steps;
}

// ---------------------------------------------------------------------------------------------------------
// Merges of the shards' answers to one part
// ---------------------------------------------------------------------------------------------------------

/** Every shard's vector at one step, for each of the part's queries: byQuery[q][s]. */
type ShardVectors = ReadonlyArray<ReadonlyArray<readonly EvalSample[]>>;

/**
 * The shards' series side by side, sorted by labels as Prometheus's storage returns a selector's series: so a
 * vector's order (an instant answer's, the first of two matches in an error message) is Prometheus's wherever the
 * expression keeps that order (one metric name; functions that drop it keep the order of the rest).
 */
function mergeUnion(shards: ReadonlyArray<readonly EvalSample[]>): readonly EvalSample[] {
  const all = checkNoDuplicates(shards.flat());
  if (shards.filter((v) => v.length > 0).length < 2) return all;
  return all.map((s) => ({ s, pairs: labelPairs(s.metric) })).sort((a, b) => compareLabelSets(a.pairs, b.pairs)).map((x) => x.s);
}

function mergeAbsent(shards: ReadonlyArray<readonly EvalSample[]>): EvalSample[] {
  if (shards.length === 0) return [];
  const others = shards.slice(1).map((v) => new Set(v.map((s) => labelsKey(s.metric))));
  return shards[0]!.filter((s) => {
    const key = labelsKey(s.metric);
    return others.every((keys) => keys.has(key));
  });
}

/** Rows of per-group partial results: for each group (in order of first appearance) its value in every query. */
function collectGroups(byQuery: ShardVectors): Array<{ metric: Labels; partials: number[][] }> {
  const groups = new Map<string, { metric: Labels; partials: number[][] }>();
  byQuery.forEach((shards, q) => {
    for (const vec of shards) {
      for (const s of vec) {
        const key = labelsKey(s.metric);
        let g = groups.get(key);
        if (g === undefined) {
          g = { metric: s.metric, partials: byQuery.map(() => []) };
          groups.set(key, g);
        }
        g.partials[q]!.push(s.value);
      }
    }
  });
  return [...groups.values()];
}

/** Combines per-shard partial aggregates of a group (the shard order kept) into the aggregate over all its series. */
function combinePartials(op: Exclude<DecomposableOp, 'topk' | 'bottomk'>, partials: number[][]): number | undefined {
  const first = partials[0]!;
  switch (op) {
    case 'sum':
    case 'count':
    case 'count_values':
      return first.reduce((a, b) => a + b);
    case 'group':
      return 1;
    case 'min':
    case 'max': {
      // Prometheus: a NaN is replaced by any value, so NaN only when every value is.
      let acc = first[0]!;
      for (const v of first.slice(1)) if ((op === 'max' ? acc < v : acc > v) || Number.isNaN(acc)) acc = v;
      return acc;
    }
    case 'avg': {
      const [sums, counts] = partials as [number[], number[]];
      if (sums.length === 0 || counts.length === 0) return undefined;
      return sums.reduce((a, b) => a + b) / counts.reduce((a, b) => a + b);
    }
    case 'stddev':
    case 'stdvar': {
      const [counts, means, vars] = partials as [number[], number[], number[]];
      if (counts.length === 0 || counts.length !== means.length || counts.length !== vars.length) return undefined;
      // One shard's group is that shard's answer (also with an infinite mean, where the formula gives Inf - Inf).
      if (counts.length === 1) return op === 'stdvar' ? vars[0]! : Math.sqrt(vars[0]!);
      const n = counts.reduce((a, b) => a + b);
      const mean = counts.reduce((acc, c, i) => acc + c * means[i]!, 0) / n;
      const m2 = counts.reduce((acc, c, i) => acc + c * (vars[i]! + (means[i]! - mean) ** 2), 0);
      return op === 'stdvar' ? m2 / n : Math.sqrt(m2 / n);
    }
  }
}

function mergeAggregate(merge: Extract<PartMerge, { kind: 'aggregate' }>, byQuery: ShardVectors): EvalSample[] {
  const { op, grouping, param } = merge;
  if (op === 'topk' || op === 'bottomk') {
    // Each shard's k best per group are the candidates; the k best among them are the k best of all.
    return aggregate(op, grouping, param, byQuery[0]!.flat());
  }
  const out: EvalSample[] = [];
  for (const g of collectGroups(byQuery)) {
    const value = combinePartials(op, g.partials);
    if (value !== undefined) out.push({ metric: g.metric, value });
  }
  return out;
}

function expectedQueries(merge: PartMerge): number {
  if (merge.kind !== 'aggregate') return 1;
  return merge.op === 'avg' ? 2 : merge.op === 'stddev' || merge.op === 'stdvar' ? 3 : 1;
}

/** A part's merged answer, step by step. */
function evaluatePart(part: PushedPart, shardAnswers: ShardData[][], mode: EvalMode, times: readonly number[]): Steps {
  const stepIndex = new Map(times.map((t, i) => [t, i] as const));
  const queryCount = expectedQueries(part.merge);
  if (part.queries.length !== queryCount) throw new Error(`pushdown evaluation: a ${part.merge.kind} part needs ${queryCount} queries, has ${part.queries.length}`);
  // perShard[s][q][step]
  const perShard = shardAnswers.map((answers) => {
    if (answers.length !== queryCount) throw new Error(`pushdown evaluation: a shard gave ${answers.length} answers to ${queryCount} queries`);
    return answers.map((data) => readShardData(data, mode, stepIndex, times.length));
  });
  return times.map((_, step) => {
    const byQuery: ShardVectors = Array.from({ length: queryCount }, (_q, q) => perShard.map((answers) => answers[q]![step]!));
    switch (part.merge.kind) {
      case 'union':
        return mergeUnion(byQuery[0]!);
      case 'absent':
        return mergeAbsent(byQuery[0]!);
      case 'aggregate':
        return mergeAggregate(part.merge, byQuery);
    }
  });
}

// ---------------------------------------------------------------------------------------------------------
// The plan
// ---------------------------------------------------------------------------------------------------------

interface Context {
  parts: readonly PushedPart[];
  /** The expression's parts in depth-first order. */
  leaves: readonly PushedPart[];
  answers: ShardData[][][];
  mode: EvalMode;
  times: readonly number[];
}

function leavesOf(expr: PlanExpr): PushedPart[] {
  switch (expr.kind) {
    case 'pushed':
      return [expr];
    case 'vector':
      return [];
    case 'binary':
      return [...leavesOf(expr.lhs), ...leavesOf(expr.rhs)];
    default:
      return leavesOf(expr.arg);
  }
}

function evaluateExpr(expr: PlanExpr, ctx: Context): Steps {
  switch (expr.kind) {
    case 'pushed': {
      // The part itself (plan.parts holds the expression's own objects), else the part at its depth-first position.
      let p = ctx.parts.indexOf(expr);
      if (p < 0) p = ctx.leaves.indexOf(expr);
      if (p < 0 || p >= ctx.parts.length) throw new Error('pushdown evaluation: a part of the expression is not among the plan\'s parts');
      return evaluatePart(expr, ctx.answers[p] ?? [], ctx.mode, ctx.times);
    }
    case 'aggregate': {
      const { op, grouping, param } = expr;
      if (op === 'topk' || op === 'bottomk') aggregationK(param); // Prometheus checks k even with no series
      return evaluateExpr(expr.arg, ctx).map((vec) => aggregate(op, grouping, param, vec));
    }
    case 'histogram_quantile':
      return evaluateExpr(expr.arg, ctx).map((vec) => histogramQuantile(expr.phi, vec));
    case 'sort': {
      const arg = evaluateExpr(expr.arg, ctx);
      // A range answer is sorted by labels in the end: sort has no effect there.
      return ctx.mode.kind === 'instant' ? arg.map((vec) => sortVector(vec, expr.descending)) : arg;
    }
    case 'label_replace': {
      const replace = labelReplacer(expr.dst, expr.replacement, expr.src, expr.regex);
      return evaluateExpr(expr.arg, ctx).map(replace);
    }
    case 'scalar_op':
      return evaluateExpr(expr.arg, ctx).map((vec) => scalarBinop(vec, expr.op, expr.scalar, expr.scalarLeft, expr.bool));
    case 'vector':
      return ctx.times.map(() => [{ metric: {}, value: expr.value }]);
    case 'binary': {
      // Prometheus evaluates the left side over all steps, then the right side, then each step.
      const lhs = evaluateExpr(expr.lhs, ctx);
      const rhs = evaluateExpr(expr.rhs, ctx);
      const { op, matching } = expr;
      if (op === 'and' || op === 'or' || op === 'unless') return lhs.map((l, i) => vectorSetOp(op, l, rhs[i]!, matching));
      return lhs.map((l, i) => vectorBinop(op, l, rhs[i]!, matching, expr.bool));
    }
  }
}

/**
 * Evaluates a plan over the shards' answers. answers[p][s][q]: part p (plan.parts order), shard s (only shards that
 * answered), query q of that part. Returns Prometheus's `data`: a vector (instant) or a matrix (range). Throws
 * EvalError where Prometheus answers an execution error, Error on answers that do not fit the plan.
 */
export function evaluatePlan(expr: PlanExpr, parts: readonly PushedPart[], answers: ShardData[][][], mode: EvalMode): ShardData {
  const times = stepTimesMs(mode);
  const steps = evaluateExpr(expr, { parts, leaves: leavesOf(expr), answers, mode, times });
  if (mode.kind === 'instant') {
    const result: VectorSample[] = steps[0]!.map((s) => ({ metric: Object.fromEntries(labelPairs(s.metric)), value: [mode.timeS, formatValue(s.value)] }));
    return { resultType: 'vector', result };
  }
  const series = new Map<string, { pairs: Array<[string, string]>; out: MatrixSeries }>();
  steps.forEach((vec, i) => {
    const t = times[i]! / 1000;
    for (const s of vec) {
      const pairs = labelPairs(s.metric);
      const key = JSON.stringify(pairs);
      let entry = series.get(key);
      if (entry === undefined) {
        entry = { pairs, out: { metric: Object.fromEntries(pairs), values: [] } };
        series.set(key, entry);
      }
      entry.out.values.push([t, formatValue(s.value)]);
    }
  });
  const sorted = [...series.values()].sort((a, b) => compareLabelSets(a.pairs, b.pairs));
  return { resultType: 'matrix', result: sorted.map((e) => e.out) };
}
