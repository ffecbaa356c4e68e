/**
 * The query pushdown planner: PromQL text → a PushdownPlan (pushdown-types.ts), or the reason it stays whole.
 * Pure: no I/O, no clock.
 *
 * Why split only where exact: every series lies on exactly one shard, so an expression whose output series each
 * depend on one input series ("per-series", P below) gives, over all shards, the union of the shards' answers;
 * a decomposable aggregation of P merges exactly from per-shard partial aggregations (sum of sums, avg from sums
 * and counts, …). What needs series of several shards at once is evaluated in the front door over complete
 * vectors: the merged parts, or nodes over them. A union part, which ships every series of P to the front door, is
 * allowed only where that is the point: the operands of a binary operation between vectors (`rate(a[5m]) /
 * rate(b[5m])`: matching may pair series of different shards, so `P op Q` is not itself per-series) and
 * quantile(φ, P), which needs every value. Elsewhere (histogram_quantile over raw buckets, sort(P), label_replace
 * of P, which may make two shards' series equal) the query falls back to the querier, which answers exactly but
 * slowly. Semantic errors Prometheus's parser reports and lezer's grammar does not (`a + bool b`, `a and on(x)
 * group_left b`) fall back as 'parse': the querier answers with Prometheus's own message.
 *
 * The parts' texts keep P as written (sliced from the query), so every shard parses exactly what the user wrote;
 * only the aggregation around it is rebuilt canonically. The reads say, conservatively, which times each selector
 * reads relative to the evaluation times (as Prometheus's engine FindMinMaxTime does), for the exactness checks.
 */
import {
  isLabelName, parsePromQL, PromQLSyntaxError, quotePromQLString, unquotePromQLString, vectorSelectors, type Matcher, type Tree,
} from './promql.js';
import { parseDuration } from '../prom/duration.js';
import { Re2Regex } from '../prom/regex.js';
import type {
  AggregateOp, BinaryOperator, DecomposableOp, FallbackReason, Grouping, PlanExpr, PushdownPlan, PushedPart, ScalarOperator, SelectorRead,
  SetOperator, VectorMatching,
} from './pushdown-types.js';

type SyntaxNode = Tree['topNode'];
type AtTime = NonNullable<SelectorRead['atMs']>;

export type PushdownFallback = { fallback: FallbackReason; detail: string };

class Unplannable extends Error {
  constructor(readonly reason: FallbackReason, detail: string) {
    super(detail);
  }
}

/** Range-vector functions over a per-series range: the kinds of their arguments ('r' range, 'n' number literal). */
const RANGE_FUNCTIONS: Record<string, string> = {
  rate: 'r', irate: 'r', increase: 'r', delta: 'r', idelta: 'r', deriv: 'r', changes: 'r', resets: 'r',
  avg_over_time: 'r', min_over_time: 'r', max_over_time: 'r', sum_over_time: 'r', count_over_time: 'r',
  last_over_time: 'r', present_over_time: 'r', stddev_over_time: 'r', stdvar_over_time: 'r',
  predict_linear: 'rn', holt_winters: 'rnn', quantile_over_time: 'nr',
};
/** Instant-vector functions that map each series on its own ('v' the vector, 'n' number literal, '?' optional after). */
const PER_SERIES_FUNCTIONS: Record<string, string> = {
  abs: 'v', ceil: 'v', floor: 'v', exp: 'v', ln: 'v', log2: 'v', log10: 'v', sqrt: 'v', sgn: 'v', timestamp: 'v',
  round: 'v?n', clamp: 'vnn', clamp_min: 'vn', clamp_max: 'vn',
  day_of_month: 'v', day_of_week: 'v', day_of_year: 'v', days_in_month: 'v', hour: 'v', minute: 'v', month: 'v', year: 'v',
};
const BINARY_OPERATORS: Record<string, ScalarOperator> = {
  Add: '+', Sub: '-', Mul: '*', Div: '/', Mod: '%', Pow: '^', Atan2: 'atan2',
  Eql: '==', Neq: '!=', Gtr: '>', Lss: '<', Gte: '>=', Lte: '<=',
};
const SET_OPERATORS: Record<string, SetOperator> = { And: 'and', Or: 'or', Unless: 'unless' };
const MATCH_TYPES: Record<string, Matcher['type']> = { EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~' };
const COMPARISONS = new Set<ScalarOperator>(['==', '!=', '>', '<', '>=', '<=']);
const DECOMPOSABLE = new Set<string>(['sum', 'min', 'max', 'count', 'group', 'avg', 'stddev', 'stdvar', 'topk', 'bottomk', 'count_values']);

/** Plans a query; a fallback says why it is answered whole by the querier instead. */
export function planPushdown(text: string, opts: { lookbackDeltaMs: number }): PushdownPlan | PushdownFallback {
  let tree: Tree;
  try {
    tree = parsePromQL(text);
  } catch (e) {
    if (e instanceof PromQLSyntaxError) return { fallback: 'parse', detail: e.message };
    throw e;
  }
  if (vectorSelectors(tree, text).length === 0) return { fallback: 'no_selector', detail: 'the query reads no series' };
  const top = childrenOf(tree.topNode);
  if (top.length !== 1) return { fallback: 'parse', detail: 'not a single expression' };
  const planner = new Planner(text, opts.lookbackDeltaMs);
  try {
    const expr = planner.plan(top[0]!, true);
    return { expr, parts: planner.parts, reads: planner.reads };
  } catch (e) {
    if (e instanceof Unplannable) return { fallback: e.reason, detail: e.message };
    throw e;
  }
}

/** What an enclosing subquery (or an `@` on it) does to the times read by the selectors inside. */
interface Window {
  /** Sum of the offsets (positive: earlier). */
  shiftMs: number;
  /** Sum of the subqueries' ranges (and steps). */
  spanMs: number;
  atMs?: AtTime;
}
/** `offset` and `@` waiting for the selector or subquery they modify. */
interface Modifiers {
  offsetMs?: number;
  atMs?: AtTime;
}

class Planner {
  readonly parts: PushedPart[] = [];
  readonly reads: SelectorRead[] = [];

  constructor(private readonly text: string, private readonly lookbackDeltaMs: number) {}

  /** Plans a node as a whole query (a P becomes a union part) or as an operand (a P is refused: `unionAllowed`). */
  plan(node: SyntaxNode, unionAllowed: boolean): PlanExpr {
    const reads = this.perSeries(node, { shiftMs: 0, spanMs: 0 }, {});
    if (reads) {
      if (!unionAllowed) throw this.unsupported(node, 'per-series operand of an expression evaluated in the front door');
      return this.part([this.textOf(node)], { kind: 'union' }, reads);
    }
    switch (node.name) {
      case 'ParenExpr':
        return this.plan(this.only(node), unionAllowed);
      case 'AggregateExpr':
        return this.aggregate(node);
      case 'FunctionCall':
        return this.functionCall(node);
      case 'BinaryExpr': {
        const bin = this.binary(node);
        if (!bin) return this.vectorBinary(node);
        return { kind: 'scalar_op', ...bin.op, arg: this.plan(bin.vector, false) };
      }
    }
    throw this.unsupported(node, 'not split across shards');
  }

  private aggregate(node: SyntaxNode): PlanExpr {
    const opNode = node.getChild('AggregateOp');
    const body = node.getChild('FunctionCallBody');
    if (!opNode || !body) throw this.unsupported(node, 'incomplete aggregation');
    const op = this.textOf(opNode).toLowerCase() as AggregateOp;
    if (!DECOMPOSABLE.has(op) && op !== 'quantile') throw this.unsupported(node, `unknown aggregation ${op}`);
    const modifier = node.getChild('AggregateModifier');
    const grouping: Grouping = { without: !!modifier?.getChild('Without'), labels: [] };
    for (const l of modifier?.getChild('GroupingLabels')?.getChildren('LabelName') ?? []) grouping.labels.push(this.textOf(l));
    const args = childrenOf(body);
    const hasParam = op === 'topk' || op === 'bottomk' || op === 'quantile' || op === 'count_values';
    if (args.length !== (hasParam ? 2 : 1)) throw this.unsupported(node, `${op} with ${args.length} arguments`);
    let param: number | string | undefined;
    if (op === 'count_values') param = this.stringLiteral(args[0]!);
    else if (hasParam) param = this.numberLiteral(args[0]!);
    const argNode = args[args.length - 1]!;
    const reads = this.perSeries(argNode, { shiftMs: 0, spanMs: 0 }, {});
    if (!reads) return { kind: 'aggregate', op, grouping, ...(param === undefined ? {} : { param }), arg: this.plan(argNode, false) };
    if (op === 'quantile') {
      // Every value is needed: P's series are shipped whole and the front door takes the quantile.
      return { kind: 'aggregate', op, grouping, param: param!, arg: this.part([this.textOf(argNode)], { kind: 'union' }, reads) };
    }
    const dop = op as DecomposableOp;
    const arg = this.textOf(argNode);
    const paramText = param === undefined ? '' : (typeof param === 'string' ? quotePromQLString(param) : this.textOf(args[0]!)) + ', ';
    const build = (o: string) => `${o}${groupingText(grouping)}(${o === op ? paramText : ''}${arg})`;
    const queries = dop === 'avg' ? [build('sum'), build('count')]
      : dop === 'stddev' || dop === 'stdvar' ? [build('count'), build('avg'), build('stdvar')]
      : [build(dop)];
    return this.part(queries, { kind: 'aggregate', op: dop, grouping, ...(param === undefined ? {} : { param }) }, reads);
  }

  private functionCall(node: SyntaxNode): PlanExpr {
    const name = this.textOf(node.getChild('FunctionIdentifier') ?? node);
    const args = childrenOf(node.getChild('FunctionCallBody') ?? node);
    const fixed = (n: number) => {
      if (args.length !== n) throw this.unsupported(node, `${name} with ${args.length} arguments`);
    };
    switch (name) {
      case 'absent':
      case 'absent_over_time': {
        fixed(1);
        const reads = (name === 'absent' ? this.perSeries : this.rangeOf).call(this, args[0]!, { shiftMs: 0, spanMs: 0 }, {});
        if (!reads) throw this.unsupported(node, `${name} of an expression that is not per-series`);
        return this.part([this.textOf(node)], { kind: 'absent' }, reads);
      }
      case 'histogram_quantile':
        fixed(2);
        return { kind: 'histogram_quantile', phi: this.numberLiteral(args[0]!), arg: this.plan(args[1]!, false) };
      case 'sort':
      case 'sort_desc':
        fixed(1);
        return { kind: 'sort', descending: name === 'sort_desc', arg: this.plan(args[0]!, false) };
      case 'vector': {
        fixed(1);
        const value = this.tryNumber(args[0]!);
        if (value === null) throw this.unsupported(node, 'vector() of anything but a number literal');
        return { kind: 'vector', value };
      }
      case 'label_replace': {
        fixed(5);
        const [dst, replacement, src, regex] = args.slice(1).map((a) => this.stringLiteral(a)) as [string, string, string, string];
        if (!isLabelName(dst)) throw this.unsupported(node, `invalid destination label name ${quotePromQLString(dst)}`);
        try {
          Re2Regex.compile(regex);
        } catch {
          throw this.unsupported(node, `invalid regular expression ${quotePromQLString(regex)}`);
        }
        return { kind: 'label_replace', dst, replacement, src, regex, arg: this.plan(args[0]!, false) };
      }
    }
    throw this.unsupported(node, `${name}() is not split across shards`);
  }

  /**
   * `A <op> B` between two vectors: each side planned on its own (a per-series side is a union part, complete once
   * merged), with the vector matching as Prometheus's parser leaves it, and its checks.
   */
  private vectorBinary(node: SyntaxNode): PlanExpr {
    const kids = childrenOf(node);
    const opName = kids.length >= 3 ? kids[1]!.name : '';
    const op = (BINARY_OPERATORS[opName] as BinaryOperator | undefined) ?? (SET_OPERATORS[opName] as BinaryOperator | undefined);
    if (op === undefined) throw this.unsupported(node, 'unknown binary operator');
    const opText = this.textOf(kids[1]!).toLowerCase();
    const bool = kids.some((k) => k.name === 'BoolModifier');
    if (bool && !COMPARISONS.has(op as ScalarOperator)) throw new Unplannable('parse', 'bool modifier can only be used on comparison operators');
    const lhsNode = kids[0]!;
    const rhsNode = kids[kids.length - 1]!;
    const isSet = op === 'and' || op === 'or' || op === 'unless';
    const matching: VectorMatching = { card: isSet ? 'many-to-many' : 'one-to-one', on: false, labels: [], include: [] };
    const clause = kids.find((k) => k.name === 'MatchingModifierClause');
    if (clause) {
      const [labels, include] = clause.getChildren('GroupingLabels').map((g) => g.getChildren('LabelName').map((l) => this.textOf(l)));
      matching.on = !!clause.getChild('On');
      matching.labels = labels ?? [];
      const grouped = clause.getChild('GroupLeft') ? 'many-to-one' : clause.getChild('GroupRight') ? 'one-to-many' : null;
      if (grouped) {
        if (isSet) throw new Unplannable('parse', `no grouping allowed for "${opText}" operation`);
        matching.card = grouped;
        matching.include = include ?? [];
      }
      const both = matching.on ? matching.labels.find((l) => matching.include.includes(l)) : undefined;
      if (both !== undefined) throw new Unplannable('parse', `label "${both}" must not occur in ON and GROUP clause at once`);
    }
    if (this.tryNumber(lhsNode) !== null || this.tryNumber(rhsNode) !== null) {
      if (isSet) throw new Unplannable('parse', `set operator "${opText}" not allowed in binary scalar expression`);
      if (matching.labels.length > 0) throw new Unplannable('parse', 'vector matching only allowed between instant vectors');
      throw this.unsupported(node, 'a number operand of an operation that is not vector–scalar');
    }
    // Each side is a PlanExpr, so an instant vector: scalar expressions (time(), scalar(…)) fail planning.
    const lhs = this.plan(lhsNode, true);
    const rhs = this.plan(rhsNode, true);
    return { kind: 'binary', op, bool, matching, lhs, rhs };
  }

  /** `E <op> literal` or `literal <op> E` (no vector matching): the operator and which side is the vector. */
  private binary(node: SyntaxNode):
    { op: { op: ScalarOperator; scalar: number; scalarLeft: boolean; bool: boolean }; vector: SyntaxNode } | null {
    const kids = childrenOf(node);
    if (kids.some((k) => k.name === 'MatchingModifierClause')) return null;
    const op = kids.length >= 3 ? BINARY_OPERATORS[kids[1]!.name] : undefined;
    const bool = kids.some((k) => k.name === 'BoolModifier');
    if (op === undefined || (bool && !COMPARISONS.has(op))) return null;
    const left = kids[0]!;
    const right = kids[kids.length - 1]!;
    const leftScalar = this.tryNumber(left);
    const rightScalar = this.tryNumber(right);
    if ((leftScalar === null) === (rightScalar === null)) return null;
    const scalarLeft = leftScalar !== null;
    return { op: { op, scalar: (scalarLeft ? leftScalar : rightScalar)!, scalarLeft, bool }, vector: scalarLeft ? right : left };
  }

  /** The reads of a per-series instant-vector expression, or null when it is not one. */
  private perSeries(node: SyntaxNode, win: Window, mods: Modifiers): SelectorRead[] | null {
    switch (node.name) {
      case 'VectorSelector':
        return [this.selectorRead(node, win, mods, this.lookbackDeltaMs)];
      case 'OffsetExpr':
      case 'StepInvariantExpr': {
        const inner = this.withModifier(node, mods);
        return inner && this.perSeries(inner.node, win, inner.mods);
      }
      case 'UnaryExpr': // lezer puts `-x offset 1m` as offset(-x); Prometheus as -(x offset 1m): same reads
        return this.perSeries(this.only(node), win, mods);
    }
    if (mods.offsetMs !== undefined || mods.atMs !== undefined) return null; // Prometheus refuses offset/@ here
    switch (node.name) {
      case 'ParenExpr':
        return this.perSeries(this.only(node), win, mods);
      case 'BinaryExpr': {
        const bin = this.binary(node);
        return bin && this.perSeries(bin.vector, win, {});
      }
      case 'FunctionCall': {
        const name = this.textOf(node.getChild('FunctionIdentifier') ?? node);
        const args = childrenOf(node.getChild('FunctionCallBody') ?? node);
        const signature = RANGE_FUNCTIONS[name] ?? PER_SERIES_FUNCTIONS[name];
        if (signature === undefined) return null;
        const required = signature.replace(/\?.*/, '');
        const kinds = signature.replace('?', '');
        if (args.length < required.length || args.length > kinds.length) return null;
        let reads: SelectorRead[] | null = null;
        for (let i = 0; i < args.length; i++) {
          const kind = kinds[i];
          if (kind === 'n') {
            if (this.tryNumber(args[i]!) === null) return null;
          } else {
            reads = kind === 'r' ? this.rangeOf(args[i]!, win, {}) : this.perSeries(args[i]!, win, {});
            if (!reads) return null;
          }
        }
        return reads;
      }
    }
    return null;
  }

  /** The reads of a per-series range (a matrix selector, or a subquery of a P), or null when it is not one. */
  private rangeOf(node: SyntaxNode, win: Window, mods: Modifiers): SelectorRead[] | null {
    switch (node.name) {
      case 'MatrixSelector': {
        const selector = node.getChild('VectorSelector');
        const range = node.getChild('Duration');
        return selector && range ? [this.selectorRead(selector, win, mods, this.duration(range))] : null;
      }
      case 'SubqueryExpr': {
        const kids = childrenOf(node);
        const durations = kids.filter((k) => k.name === 'Duration');
        if (kids.length !== 1 + durations.length || durations.length < 1) return null;
        // range, plus the step if written (Prometheus aligns the first step forward, so this is only a margin)
        const spanMs = durations.reduce((sum, d) => sum + this.duration(d), 0);
        return this.perSeries(kids[0]!, modified(win, mods, spanMs), {});
      }
      case 'OffsetExpr':
      case 'StepInvariantExpr': {
        const inner = this.withModifier(node, mods);
        return inner && this.rangeOf(inner.node, win, inner.mods);
      }
    }
    return null;
  }

  /** The node an `offset` or `@` modifies, with the modifier added (null if it already had one). */
  private withModifier(node: SyntaxNode, mods: Modifiers): { node: SyntaxNode; mods: Modifiers } | null {
    const kids = childrenOf(node);
    const inner = kids[0]!;
    if (node.name === 'OffsetExpr') {
      const duration = kids[kids.length - 1]!;
      const sign = kids.length === 4 && kids[2]!.name === 'Sub' ? -1 : 1;
      if (mods.offsetMs !== undefined || duration.name !== 'Duration' || kids.length !== (sign < 0 ? 4 : 3)) return null;
      return { node: inner, mods: { ...mods, offsetMs: sign * this.duration(duration) } };
    }
    const at = kids[2];
    if (mods.atMs !== undefined || kids.length !== 3 || !at) return null;
    let atMs: AtTime;
    if (at.name === 'AtModifierPreprocessors') atMs = at.getChild('Start') ? 'start' : 'end';
    else {
      const seconds = at.name === 'NumberLiteral' ? parseNumber(this.textOf(at)) : NaN;
      if (!Number.isFinite(seconds)) throw new Unplannable('parse', `invalid @ time ${this.textOf(at)}`);
      atMs = Math.round(seconds * 1000);
    }
    return { node: inner, mods: { ...mods, atMs } };
  }

  private selectorRead(node: SyntaxNode, win: Window, mods: Modifiers, ownSpanMs: number): SelectorRead {
    const w = modified(win, mods, ownSpanMs);
    const read: SelectorRead = { matchers: this.matchers(node), beforeMs: w.shiftMs + w.spanMs, afterMs: 0 - w.shiftMs || 0 };
    if (w.atMs !== undefined) read.atMs = w.atMs;
    return read;
  }

  /** All matchers of a selector, the metric name last as `__name__="…"` (as Prometheus has them). */
  private matchers(selector: SyntaxNode): Matcher[] {
    const out: Matcher[] = [];
    for (const m of selector.getChild('LabelMatchers')?.getChildren('LabelMatcher') ?? []) {
      const name = m.getChild('LabelName');
      const type = m.getChild('MatchOp')?.firstChild;
      const value = m.getChild('StringLiteral');
      if (!name || !type || !value) throw new Unplannable('parse', `incomplete label matcher at ${m.from}`);
      const t = MATCH_TYPES[type.name];
      if (!t) throw new Unplannable('parse', `unknown match operator at ${m.from}`);
      out.push({ name: this.textOf(name), type: t, value: unquotePromQLString(this.textOf(value)) });
    }
    const metric = selector.getChild('Identifier');
    if (metric) out.push({ name: '__name__', type: '=', value: this.textOf(metric) });
    return out;
  }

  private part(queries: string[], merge: PushedPart['merge'], reads: SelectorRead[]): PushedPart {
    const part: PushedPart = { kind: 'pushed', queries, merge };
    this.parts.push(part);
    this.reads.push(...reads);
    return part;
  }

  /** A number literal, possibly signed or parenthesised; null if the node is anything else. */
  private tryNumber(node: SyntaxNode): number | null {
    if (node.name === 'NumberLiteral') return parseNumber(this.textOf(node));
    if (node.name === 'ParenExpr') return this.tryNumber(this.only(node));
    if (node.name === 'UnaryExpr') {
      const v = this.tryNumber(this.only(node));
      const op = node.getChild('UnaryOp');
      return v === null ? null : op && this.textOf(op) === '-' ? -v : v;
    }
    return null;
  }

  private numberLiteral(node: SyntaxNode): number {
    const v = this.tryNumber(node);
    if (v === null) throw this.unsupported(node, 'parameter is not a number literal');
    return v;
  }

  private stringLiteral(node: SyntaxNode): string {
    const inner = node.name === 'ParenExpr' ? this.only(node) : node;
    if (inner.name !== 'StringLiteral') throw this.unsupported(node, 'parameter is not a string literal');
    return unquotePromQLString(this.textOf(inner));
  }

  private duration(node: SyntaxNode): number {
    try {
      return parseDuration(this.textOf(node));
    } catch (e) {
      throw new Unplannable('parse', (e as Error).message);
    }
  }

  /** The one operand of a ParenExpr or UnaryExpr. */
  private only(node: SyntaxNode): SyntaxNode {
    const kids = childrenOf(node).filter((k) => k.name !== 'UnaryOp');
    if (kids.length !== 1) throw this.unsupported(node, `unexpected ${node.name}`);
    return kids[0]!;
  }

  private textOf(node: SyntaxNode): string {
    return this.text.slice(node.from, node.to);
  }

  private unsupported(node: SyntaxNode, why: string): Unplannable {
    const t = this.textOf(node);
    return new Unplannable('unsupported', `${why}: ${t.length > 80 ? t.slice(0, 80) + '…' : t}`);
  }
}

/** The window of a selector or subquery with its own modifiers and span: an `@` makes the enclosing ones moot. */
function modified(win: Window, mods: Modifiers, ownSpanMs: number): Window {
  const base: Window = mods.atMs !== undefined ? { shiftMs: 0, spanMs: 0, atMs: mods.atMs } : win;
  const out: Window = { shiftMs: base.shiftMs + (mods.offsetMs ?? 0), spanMs: base.spanMs + ownSpanMs };
  if (base.atMs !== undefined) out.atMs = base.atMs;
  return out;
}

/** ` by (a, b) `, ` without (x) `, or nothing for a plain aggregation. */
function groupingText(g: Grouping): string {
  if (!g.without && g.labels.length === 0) return '';
  return ` ${g.without ? 'without' : 'by'} (${g.labels.join(', ')}) `;
}

/** Children that are expressions or tokens, not comments. */
function childrenOf(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) if (c.name !== 'LineComment') out.push(c);
  return out;
}

/** A PromQL number as Prometheus's parseNumber reads it: strconv.ParseInt(s, 0, 64), else ParseFloat. */
function parseNumber(text: string): number {
  const sign = text.startsWith('-') ? -1 : 1;
  const s = text.replace(/^[+-]\s*/, '').toLowerCase(); // lezer's literal takes the sign, and blanks after it
  if (/^0[0-7]+$/.test(s)) return sign * parseInt(s, 8);
  if (/^0x[0-9a-f]+$/.test(s)) return sign * parseInt(s.slice(2), 16);
  if (s === 'inf' || s === 'infinity') return sign * Infinity;
  if (s === 'nan') return NaN;
  if (/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(s)) return sign * Number(s);
  throw new Unplannable('parse', `unreadable number ${text}`);
}
