/**
 * The vocabulary of query pushdown, shared by the planner (pushdown-plan.ts: PromQL text → plan), the evaluator
 * (pushdown-eval.ts: the shards' answers → one answer) and the front door's executor (pushdown.ts: exactness, fan
 * out, fallback). A plan is a small tree: its leaves are parts every shard evaluates on its own through its
 * Prometheus HTTP API; the nodes above them are evaluated in the front door over complete vectors.
 */
import type { Matcher } from './promql.js';

/** Aggregations whose per-shard results merge exactly into the result over all shards. */
export type DecomposableOp = 'sum' | 'min' | 'max' | 'count' | 'group' | 'avg' | 'stddev' | 'stdvar' | 'topk' | 'bottomk' | 'count_values';

/** Aggregations the front door evaluates over a complete vector (a merged part's result). */
export type AggregateOp = DecomposableOp | 'quantile';

/** `by (…)` or `without (…)`; a plain aggregation is `by ()`. */
export interface Grouping {
  without: boolean;
  labels: string[];
}

/** How the shards' answers to a part become one complete answer. */
export type PartMerge =
  /** Per-series expressions: each series lies on one shard, the answers are concatenated. */
  | { kind: 'union' }
  /** absent()/absent_over_time(): the series is there only if every shard answers it. */
  | { kind: 'absent' }
  /**
   * A decomposable aggregation. `queries` of the part are, by op: sum/min/max/group/topk/bottomk/count_values: the
   * aggregation itself; count: the count (merged by summing); avg: [sum, count]; stddev/stdvar: [count, avg, stdvar]
   * (merged with the parallel-variance formula, stable where a sum of squares is not).
   */
  | { kind: 'aggregate'; op: DecomposableOp; grouping: Grouping; param?: number | string };

/** A leaf: PromQL that every shard evaluates (instant or range, with the query's time, step and lookback). */
export interface PushedPart {
  kind: 'pushed';
  /** The texts sent to every shard (one, or several for avg and stddev/stdvar). */
  queries: string[];
  merge: PartMerge;
}

/** Binary operators with a scalar literal on one side, as PromQL has them. */
export type ScalarOperator = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2' | '==' | '!=' | '>' | '<' | '>=' | '<=';

/** The set operators: their samples pass through unchanged, paired many-to-many. */
export type SetOperator = 'and' | 'or' | 'unless';

/** Binary operators between two vectors. */
export type BinaryOperator = ScalarOperator | SetOperator;

/**
 * How the series of the two sides of a binary operation between vectors are paired (Prometheus's
 * parser.VectorMatching, as its parser leaves it: and/or/unless are many-to-many, the others one-to-one unless
 * grouped).
 */
export interface VectorMatching {
  /** one-to-one by default, many-to-one with group_left, one-to-many with group_right, many-to-many for set operators. */
  card: 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';
  /** on(labels) when true; ignoring(labels), or no modifier (labels empty), when false. */
  on: boolean;
  labels: string[];
  /** group_left(…)/group_right(…): the labels copied from the "one" side. */
  include: string[];
}

/** An expression of the plan: a part, or what the front door evaluates over complete vectors. */
export type PlanExpr =
  | PushedPart
  /** `vector(<number literal>)`: one series without labels at every step (an operand of a binary operation). */
  | { kind: 'vector'; value: number }
  /** `lhs <op> rhs` between two vectors, each complete (parts merged, or nodes over them). */
  | { kind: 'binary'; op: BinaryOperator; bool: boolean; matching: VectorMatching; lhs: PlanExpr; rhs: PlanExpr }
  | { kind: 'aggregate'; op: AggregateOp; grouping: Grouping; param?: number | string; arg: PlanExpr }
  | { kind: 'histogram_quantile'; phi: number; arg: PlanExpr }
  | { kind: 'sort'; descending: boolean; arg: PlanExpr }
  | { kind: 'label_replace'; dst: string; replacement: string; src: string; regex: string; arg: PlanExpr }
  /** `arg <op> scalar`, or `scalar <op> arg` when scalarLeft; `bool` for comparisons that return 0/1. */
  | { kind: 'scalar_op'; op: ScalarOperator; scalar: number; scalarLeft: boolean; bool: boolean; arg: PlanExpr };

/**
 * What one selector reads, relative to the evaluation times: from `t - beforeMs` to `t + afterMs` (either may be
 * negative: `offset 1h` ends an hour before t) for every
 * evaluation time t of the query (t = start … end), or around a fixed time when the selector (or a subquery around
 * it) has an `@`: `atMs` is that time, or 'start'/'end' for `@ start()`/`@ end()`.
 */
export interface SelectorRead {
  matchers: Matcher[];
  beforeMs: number;
  afterMs: number;
  atMs?: number | 'start' | 'end';
}

export interface PushdownPlan {
  expr: PlanExpr;
  /** Every part, in the order the evaluator expects their answers. */
  parts: PushedPart[];
  /** Every selector of every part, for the exactness checks (moves, the querier's own series). */
  reads: SelectorRead[];
}

/** Why a query is not pushed down: the value of the fallback counter's `reason` label and of the answer's header. */
export type FallbackReason =
  | 'disabled' // --query.pushdown=false
  | 'unsupported' // an expression the planner does not split (label_join, scalar(), …)
  | 'parse' // the planner could not read it (the querier answers with Prometheus's own error)
  | 'no_selector' // nothing to read from the shards (literals, time())
  | 'moved' // a target changed shard (or was in transfer) within the window read
  | 'history' // the window starts before the move log's history
  | 'replicas' // no replica of some ordinal was ready through the whole window
  | 'stores' // remote stores are read besides the shards
  | 'rules' // a selector may read the querier's own series (recording rules, ALERTS)
  | 'lookback' // --query.lookback-delta is not the shards' (Prometheus's default, 5m)
  | 'no_coordinator' // the move log is unknown (a remote coordinator not reached yet)
  | 'params'; // parameters the planner does not handle (bad time, step …): the querier answers

/** One shard's answer to one query: Prometheus's `data`. */
export interface ShardData {
  resultType: 'vector' | 'matrix' | 'scalar' | 'string';
  result: unknown;
}

/** Series as Prometheus's JSON API has them. */
export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}
export interface MatrixSeries {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}
