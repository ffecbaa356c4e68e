/**
 * Binary operations the front door evaluates over complete vectors, one step at a time, as Prometheus 2.42's
 * engine.go does: with a scalar literal (`VectorscalarBinop`), and between two vectors (`VectorBinop`, `VectorAnd`,
 * `VectorOr`, `VectorUnless`, with `signatureFunc` and `resultMetric`). Exact only because both operands are
 * complete: a union part at the top of an operand holds every shard's series, an aggregate part every group.
 * The execution errors carry Prometheus's messages; `^` and `atan2` are Go's math (pushdown-gomath.ts).
 */
import type { Labels } from '../prom/labels.js';
import { quotePromQLString } from './promql.js';
import { goAtan2, goPow } from './pushdown-gomath.js';
import type { ScalarOperator, SetOperator, VectorMatching } from './pushdown-types.js';
import { checkNoDuplicates, EvalError, keepLabels, labelPairs, labelsKey, METRIC_NAME, withoutLabels, type EvalSample } from './pushdown-vector.js';

const COMPARISONS: ReadonlySet<ScalarOperator> = new Set(['==', '!=', '>', '<', '>=', '<=']);
/** shouldDropMetricName: the arithmetic operators, not atan2 and not comparisons (in 2.42). */
const DROPS_NAME: ReadonlySet<ScalarOperator> = new Set(['+', '-', '*', '/', '%', '^']);

/** vectorElemBinop: the value, and for comparisons whether the sample is kept (the value is then the left one). */
function elemBinop(op: ScalarOperator, l: number, r: number): { value: number; keep: boolean } {
  switch (op) {
    case '+': return { value: l + r, keep: true };
    case '-': return { value: l - r, keep: true };
    case '*': return { value: l * r, keep: true };
    case '/': return { value: l / r, keep: true };
    case '%': return { value: l % r, keep: true }; // = Go's math.Mod: exact, sign of the dividend
    case '^': return { value: goPow(l, r), keep: true };
    case 'atan2': return { value: goAtan2(l, r), keep: true };
    case '==': return { value: l, keep: l === r };
    case '!=': return { value: l, keep: l !== r };
    case '>': return { value: l, keep: l > r };
    case '<': return { value: l, keep: l < r };
    case '>=': return { value: l, keep: l >= r };
    case '<=': return { value: l, keep: l <= r };
  }
}

/** `vec op scalar` (or `scalar op vec` when scalarLeft), `bool` giving 0/1 for comparisons. */
export function scalarBinop(vec: readonly EvalSample[], op: ScalarOperator, scalar: number, scalarLeft: boolean, returnBool: boolean): EvalSample[] {
  const out: EvalSample[] = [];
  for (const s of vec) {
    const [l, r] = scalarLeft ? [scalar, s.value] : [s.value, scalar];
    let { value, keep } = elemBinop(op, l, r);
    if (COMPARISONS.has(op) && scalarLeft) value = r; // a comparison keeps the vector's value
    if (returnBool) {
      value = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    const metric = DROPS_NAME.has(op) || returnBool ? withoutLabels(s.metric, [METRIC_NAME]) : s.metric;
    out.push({ metric, value });
  }
  return checkNoDuplicates(out) as EvalSample[];
}

// ---------------------------------------------------------------------------------------------------------
// Between two vectors
// ---------------------------------------------------------------------------------------------------------

/**
 * signatureFunc: what pairs series of the two sides. `on`: the listed labels that the series has; `ignoring` (and
 * no modifier): all its labels but the listed ones and the metric name.
 */
function signatureFunc(on: boolean, names: readonly string[]): (metric: Labels) => string {
  if (on) return (metric) => labelsKey(keepLabels(metric, names));
  const dropped = [METRIC_NAME, ...names];
  return (metric) => labelsKey(withoutLabels(metric, dropped));
}

/** labels.Labels.String: `{a="1", b="2"}`, sorted by name, values as Go's strconv.Quote writes them. */
function labelsString(metric: Labels): string {
  return `{${labelPairs(metric).map(([k, v]) => `${k}=${quotePromQLString(v)}`).join(', ')}}`;
}

/** labels.Labels.MatchLabels: the labels a series is matched on (`ignoring`: all but the listed ones and the name). */
function matchLabels(metric: Labels, on: boolean, names: readonly string[]): Labels {
  return on ? keepLabels(metric, names) : withoutLabels(metric, [METRIC_NAME, ...names]);
}

/** resultMetric: the output labels of a matched pair; `many` is the sample of the "many" side (lhs unless group_right). */
function resultMetric(many: Labels, one: Labels, op: ScalarOperator, matching: VectorMatching): Labels {
  let metric: Labels = DROPS_NAME.has(op) ? withoutLabels(many, [METRIC_NAME]) : { ...many };
  if (matching.card === 'one-to-one') metric = matching.on ? keepLabels(metric, matching.labels) : withoutLabels(metric, matching.labels);
  for (const name of matching.include) {
    // Included labels from the group_x modifier are taken from the "one" side.
    const v = one[name];
    if (v !== undefined && v !== '') metric[name] = v;
    else delete metric[name];
  }
  return metric;
}

/** VectorBinop: an arithmetic or comparison operator between two vectors, with their matching and `bool`. */
export function vectorBinop(op: ScalarOperator, lhs: readonly EvalSample[], rhs: readonly EvalSample[], matching: VectorMatching, returnBool: boolean): EvalSample[] {
  if (matching.card === 'many-to-many') throw new Error('pushdown evaluation: many-to-many only allowed for set operators');
  if (lhs.length === 0 || rhs.length === 0) return []; // nothing is going to match
  // One-to-many is many-to-one with the sides swapped (and swapped back for the values).
  const swapped = matching.card === 'one-to-many';
  const [many, one] = swapped ? [rhs, lhs] : [lhs, rhs];
  const signature = signatureFunc(matching.on, matching.labels);
  const oneSigs = new Map<string, EvalSample>();
  for (const rs of one) {
    const sig = signature(rs.metric);
    const dupl = oneSigs.get(sig);
    if (dupl !== undefined) {
      const group = labelsString(matchLabels(rs.metric, matching.on, matching.labels));
      throw new EvalError(`found duplicate series for the match group ${group} on the ${swapped ? 'left' : 'right'} hand-side of the operation: `
        + `[${labelsString(rs.metric)}, ${labelsString(dupl.metric)}];many-to-many matching not allowed: matching labels must be unique on one side`);
    }
    oneSigs.set(sig, rs);
  }
  // Per match group: nothing yet (one-to-one), or the output label sets already made (many-to-one).
  const matched = new Map<string, Set<string> | null>();
  const out: EvalSample[] = [];
  for (const ls of many) {
    const sig = signature(ls.metric);
    const rs = oneSigs.get(sig);
    if (rs === undefined) continue;
    const [vl, vr] = swapped ? [rs.value, ls.value] : [ls.value, rs.value];
    let { value, keep } = elemBinop(op, vl, vr);
    if (returnBool) value = keep ? 1 : 0;
    else if (!keep) continue;
    let metric = resultMetric(ls.metric, rs.metric, op, matching);
    if (returnBool) metric = withoutLabels(metric, [METRIC_NAME]);
    if (matching.card === 'one-to-one') {
      if (matched.has(sig)) throw new EvalError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
      matched.set(sig, null);
    } else {
      const key = labelsKey(metric);
      let made = matched.get(sig);
      if (made === undefined || made === null) {
        made = new Set();
        matched.set(sig, made);
      } else if (made.has(key)) {
        throw new EvalError('multiple matches for labels: grouping labels must ensure unique matches');
      }
      made.add(key);
    }
    out.push({ metric, value });
  }
  return checkNoDuplicates(out) as EvalSample[];
}

/** VectorAnd, VectorOr, VectorUnless: the samples themselves (labels and values untouched), by signature. */
export function vectorSetOp(op: SetOperator, lhs: readonly EvalSample[], rhs: readonly EvalSample[], matching: VectorMatching): EvalSample[] {
  if (matching.card !== 'many-to-many') throw new Error('pushdown evaluation: set operations must only use many-to-many matching');
  const signature = signatureFunc(matching.on, matching.labels);
  let out: EvalSample[];
  switch (op) {
    case 'and': {
      if (lhs.length === 0 || rhs.length === 0) return [];
      const rightSigs = new Set(rhs.map((s) => signature(s.metric)));
      out = lhs.filter((s) => rightSigs.has(signature(s.metric)));
      break;
    }
    case 'or': {
      if (lhs.length === 0) out = [...rhs];
      else if (rhs.length === 0) out = [...lhs];
      else {
        const leftSigs = new Set(lhs.map((s) => signature(s.metric)));
        out = [...lhs, ...rhs.filter((s) => !leftSigs.has(signature(s.metric)))];
      }
      break;
    }
    case 'unless': {
      if (lhs.length === 0 || rhs.length === 0) out = [...lhs];
      else {
        const rightSigs = new Set(rhs.map((s) => signature(s.metric)));
        out = lhs.filter((s) => !rightSigs.has(signature(s.metric)));
      }
      break;
    }
  }
  return checkNoDuplicates(out) as EvalSample[];
}
