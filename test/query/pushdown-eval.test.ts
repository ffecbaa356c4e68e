/**
 * The evaluator of pushed-down queries: each merge of shard answers and each node above them on hand-computed
 * cases, histogram_quantile on cases from Prometheus's promql/testdata/histograms.test (v2.42.0), binary operations
 * between vectors on cases from its operators.test (planned by planPushdown, each part's series split over shards),
 * and properties: merging per-shard partial aggregates equals aggregating the whole vector, for every decomposable
 * aggregation; a binary operation between two aggregations split over shards equals it over the whole data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EvalError, evaluatePlan, formatValue, type EvalMode } from '../../src/query/pushdown-eval.js';
import { formatFloatF, goAtan2, goPow, parseGoFloat } from '../../src/query/pushdown-gomath.js';
import { planPushdown } from '../../src/query/pushdown-plan.js';
import type {
  AggregateOp, BinaryOperator, DecomposableOp, Grouping, MatrixSeries, PartMerge, PlanExpr, PushedPart, ScalarOperator, ShardData, VectorMatching, VectorSample,
} from '../../src/query/pushdown-types.js';

type Labels = Record<string, string>;
type Value = number | string;

const T = 1000;
const instant: EvalMode = { kind: 'instant', timeS: T };
const fmt = (v: Value): string => (typeof v === 'number' ? formatValue(v) : v);

const vec = (...samples: Array<[Labels, Value]>): ShardData => ({
  resultType: 'vector',
  result: samples.map(([metric, v]): VectorSample => ({ metric, value: [T, fmt(v)] })),
});
const mat = (...series: Array<[Labels, Array<[number, Value]>]>): ShardData => ({
  resultType: 'matrix',
  result: series.map(([metric, points]): MatrixSeries => ({ metric, values: points.map(([t, v]) => [t, fmt(v)]) })),
});
const part = (merge: PartMerge, queries = 1): PushedPart => ({ kind: 'pushed', queries: Array.from({ length: queries }, (_, i) => `q${i}`), merge });
const union = (): PushedPart => part({ kind: 'union' });
const by = (...labels: string[]): Grouping => ({ without: false, labels });
const without = (...labels: string[]): Grouping => ({ without: true, labels });

/** Evaluates a single-part plan; shards[s][q] is shard s's answer to query q. */
function evalPart(p: PushedPart, shards: ShardData[][], mode: EvalMode = instant): ShardData {
  return evaluatePlan(p, [p], [shards], mode);
}

/** Evaluates a node over a union part that holds the given series (on one shard). */
function evalNode(build: (arg: PushedPart) => PlanExpr, data: ShardData, mode: EvalMode = instant): ShardData {
  const p = union();
  return evaluatePlan(build(p), [p], [[[data]]], mode);
}

/** An instant result as [labels, value] in answer order. */
function samples(data: ShardData): Array<[Labels, string]> {
  assert.equal(data.resultType, 'vector');
  return (data.result as VectorSample[]).map((s) => {
    assert.equal(s.value[0], T);
    return [s.metric, s.value[1]];
  });
}

const keyOf = (m: Labels): string => JSON.stringify(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** An instant result as a set: sorted label keys → value. */
function asSet(data: ShardData): Map<string, string> {
  const out = new Map<string, string>();
  for (const [m, v] of samples(data)) out.set(keyOf(m), v);
  return out;
}

function assertSet(data: ShardData, expected: Array<[Labels, Value]>): void {
  assert.deepEqual(asSet(data), new Map(expected.map(([m, v]) => [keyOf(m), fmt(v)])));
}

/** Values equal within 1e-12 (relative), for floating-point results of hand-computed cases. */
function assertApprox(data: ShardData, expected: Array<[Labels, number]>): void {
  const got = asSet(data);
  assert.equal(got.size, expected.length, `got ${JSON.stringify([...got])}`);
  for (const [m, v] of expected) {
    const g = got.get(keyOf(m));
    assert.ok(g !== undefined, `missing ${keyOf(m)} in ${JSON.stringify([...got])}`);
    const n = Number(g === '+Inf' ? Infinity : g === '-Inf' ? -Infinity : g);
    if (Number.isNaN(v) || !Number.isFinite(v)) assert.equal(g, formatValue(v));
    else assert.ok(Math.abs(n - v) <= 1e-12 * Math.max(1, Math.abs(v)), `${keyOf(m)}: ${g} ≉ ${v}`);
  }
}

const isEvalError = (message: string | RegExp) => (e: unknown) => {
  assert.ok(e instanceof EvalError, `expected EvalError, got ${String(e)}`);
  if (typeof message === 'string') assert.equal(e.message, message);
  else assert.match(e.message, message);
  return true;
};
const DUPLICATE = 'vector cannot contain metrics with the same labelset';

// ---------------------------------------------------------------------------------------------------------
// Go's number formatting and math
// ---------------------------------------------------------------------------------------------------------

test('formatValue is Prometheus\'s JSON: FormatFloat \'f\', or \'e\' below 1e-6 and from 1e21 (jsonutil.MarshalValue)', () => {
  const cases: Array<[number, string]> = [
    [0, '0'], [-0, '-0'], [1, '1'], [-2.5, '-2.5'], [0.1, '0.1'], [1 / 3, '0.3333333333333333'], [1e-6, '0.000001'],
    [1.2345678901234568e20, '123456789012345680000'], [1e21, '1e+21'], [-1.5e300, '-1.5e+300'], [1e-7, '1e-07'],
    [-1.5e-10, '-1.5e-10'], [1.1102230246251565e-16, '1.1102230246251565e-16'], [5e-324, '5e-324'],
    [NaN, 'NaN'], [Infinity, '+Inf'], [-Infinity, '-Inf'],
  ];
  for (const [v, s] of cases) assert.equal(formatValue(v), s, String(v));
  // count_values' label is FormatFloat 'f' throughout.
  assert.equal(formatFloatF(1e-7), '0.0000001');
  assert.equal(formatFloatF(1e21), '1000000000000000000000');
  assert.equal(formatFloatF(5e-324), '0.' + '0'.repeat(323) + '5');
});

test('Go\'s math.Pow and math.Atan2: special cases unlike JavaScript\'s, integer powers by squaring', () => {
  assert.equal(goPow(1, NaN), 1); // JS: NaN
  assert.equal(goPow(-1, Infinity), 1); // JS: NaN
  assert.equal(goPow(NaN, 0), 1);
  assert.equal(goPow(2, 10), 1024);
  assert.equal(goPow(-8, 1 / 3), NaN);
  assert.equal(goPow(4, 0.5), 2);
  assert.equal(goPow(0, -1), Infinity);
  assert.equal(goPow(-0, -1), -Infinity);
  // Values taken from Go 1.19 on amd64 (math.Float64bits equal).
  assert.equal(goPow(1.1, 30), 17.449402268886445);
  assert.equal(goPow(0.3339745575339368, 9.462324828161304), 0.00003113302497502458);
  assert.equal(goAtan2(1, 1), Math.PI / 4);
  assert.equal(goAtan2(0, -1), Math.PI);
  assert.equal(goAtan2(-0, -1), -Math.PI);
  assert.equal(goAtan2(Infinity, -Infinity), (3 * Math.PI) / 4);
});

test('le values are read as Go\'s ParseFloat reads them', () => {
  assert.equal(parseGoFloat('+Inf'), Infinity);
  assert.equal(parseGoFloat('inf'), Infinity);
  assert.equal(parseGoFloat('-Infinity'), -Infinity);
  assert.equal(parseGoFloat('.2'), 0.2);
  assert.equal(parseGoFloat('2.0e-1'), 0.2);
  assert.equal(parseGoFloat('0x1p-2'), 0.25);
  assert.ok(Number.isNaN(parseGoFloat('NaN')!));
  for (const bad of ['', ' 1', '1_000', '0x10', '1e400', '+nan', 'abc']) assert.equal(parseGoFloat(bad), undefined, bad);
});

// ---------------------------------------------------------------------------------------------------------
// Merges of the shards' answers
// ---------------------------------------------------------------------------------------------------------

test('union: the shards\' series side by side', () => {
  const out = evalPart(union(), [[vec([{ __name__: 'up', i: 'a' }, 1])], [vec([{ __name__: 'up', i: 'b' }, 0], [{ __name__: 'up', i: 'c' }, NaN])]]);
  assert.deepEqual(samples(out), [
    [{ __name__: 'up', i: 'a' }, '1'],
    [{ __name__: 'up', i: 'b' }, '0'],
    [{ __name__: 'up', i: 'c' }, 'NaN'],
  ]);
});

test('union: the same labels on two shards is Prometheus\'s duplicate labelset error', () => {
  assert.throws(() => evalPart(union(), [[vec([{ i: 'a' }, 1])], [vec([{ i: 'a' }, 2])]]), isEvalError(DUPLICATE));
});

test('absent: there only if every shard answers it', () => {
  const absent = part({ kind: 'absent' });
  assertSet(evalPart(absent, [[vec([{ job: 'x' }, 1])], [vec([{ job: 'x' }, 1])]]), [[{ job: 'x' }, 1]]);
  assertSet(evalPart(absent, [[vec([{ job: 'x' }, 1])], [vec()]]), []);
  // Range: per step.
  const range: EvalMode = { kind: 'range', startS: 0, endS: 20, stepS: 10 };
  const out = evalPart(absent, [[mat([{ job: 'x' }, [[0, 1], [10, 1]]])], [mat([{ job: 'x' }, [[10, 1], [20, 1]]])]], range);
  assert.deepEqual(out, { resultType: 'matrix', result: [{ metric: { job: 'x' }, values: [[10, '1']] }] });
});

test('aggregate merges: sum, count, group, min and max with Prometheus\'s NaN rule', () => {
  const shards = (a: Value, b: Value, c: Value) => [[vec([{ job: 'x' }, a], [{ job: 'y' }, c])], [vec([{ job: 'x' }, b])]];
  const merge = (op: DecomposableOp) => part({ kind: 'aggregate', op, grouping: by('job') });
  assertSet(evalPart(merge('sum'), shards(1.5, 2, 7)), [[{ job: 'x' }, 3.5], [{ job: 'y' }, 7]]);
  assertSet(evalPart(merge('count'), shards(3, 4, 1)), [[{ job: 'x' }, 7], [{ job: 'y' }, 1]]);
  assertSet(evalPart(merge('group'), shards(1, 1, 1)), [[{ job: 'x' }, 1], [{ job: 'y' }, 1]]);
  assertSet(evalPart(merge('min'), shards(NaN, 2, NaN)), [[{ job: 'x' }, 2], [{ job: 'y' }, NaN]]);
  assertSet(evalPart(merge('max'), shards(5, NaN, -Infinity)), [[{ job: 'x' }, 5], [{ job: 'y' }, -Infinity]]);
  assertSet(evalPart(merge('max'), shards(-1, -3, 0)), [[{ job: 'x' }, -1], [{ job: 'y' }, 0]]);
});

test('aggregate merge avg: [sum, count] per shard → Σsum / Σcount', () => {
  const p = part({ kind: 'aggregate', op: 'avg', grouping: by() }, 2);
  // shard 1: values 1, 2, 3 → sum 6, count 3; shard 2: value 10 → sum 10, count 1.
  assertSet(evalPart(p, [[vec([{}, 6]), vec([{}, 3])], [vec([{}, 10]), vec([{}, 1])]]), [[{}, 4]]);
});

test('aggregate merge stddev/stdvar: [count, avg, stdvar] per shard, parallel variance', () => {
  // shard 1: 1, 2, 3 → n 3, mean 2, var 2/3; shard 2: 10, 14 → n 2, mean 12, var 4. All: 1, 2, 3, 10, 14.
  const all = [1, 2, 3, 10, 14];
  const mean = all.reduce((a, b) => a + b) / all.length;
  const variance = all.reduce((a, b) => a + (b - mean) ** 2, 0) / all.length;
  const answers = [[vec([{ g: 'a' }, 3]), vec([{ g: 'a' }, 2]), vec([{ g: 'a' }, 2 / 3])], [vec([{ g: 'a' }, 2]), vec([{ g: 'a' }, 12]), vec([{ g: 'a' }, 4])]];
  assertApprox(evalPart(part({ kind: 'aggregate', op: 'stdvar', grouping: by('g') }, 3), answers), [[{ g: 'a' }, variance]]);
  assertApprox(evalPart(part({ kind: 'aggregate', op: 'stddev', grouping: by('g') }, 3), answers), [[{ g: 'a' }, Math.sqrt(variance)]]);
  // A group on one shard only is its answer: stdvar(+Inf) is 0 in Prometheus (the formula would give Inf - Inf).
  const inf = [[vec([{ g: 'a' }, 1]), vec([{ g: 'a' }, Infinity]), vec([{ g: 'a' }, 0])], [vec(), vec(), vec()]];
  assertSet(evalPart(part({ kind: 'aggregate', op: 'stdvar', grouping: by('g') }, 3), inf), [[{ g: 'a' }, 0]]);
  assertSet(evalPart(part({ kind: 'aggregate', op: 'stddev', grouping: by('g') }, 3), inf), [[{ g: 'a' }, 0]]);
  // Over several shards, an infinite value makes NaN, as Prometheus's running variance does.
  const infs = [[vec([{ g: 'a' }, 1]), vec([{ g: 'a' }, Infinity]), vec([{ g: 'a' }, 0])], [vec([{ g: 'a' }, 1]), vec([{ g: 'a' }, 10]), vec([{ g: 'a' }, 0])]];
  assertSet(evalPart(part({ kind: 'aggregate', op: 'stdvar', grouping: by('g') }, 3), infs), [[{ g: 'a' }, NaN]]);
});

test('aggregate merge topk/bottomk: the k best per group among the shards\' candidates, NaN last', () => {
  const s1 = vec([{ __name__: 'm', job: 'x', i: '1' }, 5], [{ __name__: 'm', job: 'x', i: '2' }, 3], [{ __name__: 'm', job: 'y', i: '3' }, NaN]);
  const s2 = vec([{ __name__: 'm', job: 'x', i: '4' }, 4], [{ __name__: 'm', job: 'x', i: '5' }, 1], [{ __name__: 'm', job: 'y', i: '6' }, 2]);
  const top = evalPart(part({ kind: 'aggregate', op: 'topk', grouping: by('job'), param: 2 }), [[s1], [s2]]);
  assert.deepEqual(samples(top), [
    [{ __name__: 'm', job: 'x', i: '1' }, '5'],
    [{ __name__: 'm', job: 'x', i: '4' }, '4'],
    [{ __name__: 'm', job: 'y', i: '6' }, '2'],
    [{ __name__: 'm', job: 'y', i: '3' }, 'NaN'],
  ]);
  const bottom = evalPart(part({ kind: 'aggregate', op: 'bottomk', grouping: without('i'), param: 1 }), [[s1], [s2]]);
  assertSet(bottom, [[{ __name__: 'm', job: 'x', i: '5' }, 1], [{ __name__: 'm', job: 'y', i: '6' }, 2]]);
});

test('aggregate merge topk with k = 300,000 over two shards\' 150,000 candidates each: all of them, best first', () => {
  // The k best were appended with push(...): past about 120,000 that overflowed the stack and the query failed.
  const n = 150_000;
  const shard = (from: number): ShardData => ({ resultType: 'vector', result: Array.from({ length: n }, (_, i): VectorSample => ({ metric: { __name__: 'm', i: String(from + i) }, value: [T, fmt(from + i)] })) });
  const top = samples(evalPart(part({ kind: 'aggregate', op: 'topk', grouping: by(), param: 2 * n }), [[shard(0)], [shard(n)]]));
  assert.equal(top.length, 2 * n);
  assert.deepEqual(top[0], [{ __name__: 'm', i: String(2 * n - 1) }, String(2 * n - 1)]);
  assert.deepEqual(top.at(-1), [{ __name__: 'm', i: '0' }, '0']);
});

test('aggregate merge count_values: counts of the same label set added', () => {
  const p = part({ kind: 'aggregate', op: 'count_values', grouping: by('job'), param: 'v' });
  const out = evalPart(p, [[vec([{ job: 'x', v: '1' }, 2], [{ job: 'x', v: '2' }, 1])], [vec([{ job: 'x', v: '1' }, 3])]]);
  assertSet(out, [[{ job: 'x', v: '1' }, 5], [{ job: 'x', v: '2' }, 1]]);
});

test('range: points matched to steps by timestamp, a matrix sorted by labels, empty series dropped', () => {
  const range: EvalMode = { kind: 'range', startS: 100, endS: 100.2, stepS: 0.1 };
  const p = part({ kind: 'aggregate', op: 'sum', grouping: by('job') });
  const out = evalPart(p, [
    [mat([{ job: 'b' }, [[100, 1], [100.1, 2]]], [{ job: 'a' }, [[100.2, 5]]])],
    [mat([{ job: 'b' }, [[100.1, 3], [100.2, 4]]], [{ job: 'c' }, [[99.9, 1]]])], // 99.9 is no step
  ], range);
  assert.deepEqual(out, {
    resultType: 'matrix',
    result: [
      { metric: { job: 'a' }, values: [[100.2, '5']] },
      { metric: { job: 'b' }, values: [[100, '1'], [100.1, '5'], [100.2, '4']] },
    ],
  });
});

test('range: the matrix is sorted as labels.Compare sorts (name, value, pair by pair; shorter first)', () => {
  const range: EvalMode = { kind: 'range', startS: 0, endS: 0, stepS: 1 };
  const out = evalPart(union(), [[mat([{ b: '1' }, [[0, 1]]], [{ a: '2' }, [[0, 1]]], [{ a: '1', c: '1' }, [[0, 1]]], [{ a: '1' }, [[0, 1]]])]], range);
  assert.deepEqual((out.result as MatrixSeries[]).map((s) => s.metric), [{ a: '1' }, { a: '1', c: '1' }, { a: '2' }, { b: '1' }]);
});

// ---------------------------------------------------------------------------------------------------------
// Nodes over complete vectors
// ---------------------------------------------------------------------------------------------------------

const requests = vec(
  [{ __name__: 'req', job: 'api', instance: 'a:1' }, 1],
  [{ __name__: 'req', job: 'api', instance: 'b:1' }, 4],
  [{ __name__: 'req', job: 'db', instance: 'c:1' }, 10],
  [{ __name__: 'req', job: 'db', instance: 'd:1' }, NaN],
);
const agg = (op: AggregateOp, grouping: Grouping, param?: number | string) =>
  (arg: PushedPart): PlanExpr => ({ kind: 'aggregate', op, grouping, param, arg });

test('aggregate node: sum, count, avg, min, max, group by and without', () => {
  assertSet(evalNode(agg('sum', by('job')), requests), [[{ job: 'api' }, 5], [{ job: 'db' }, NaN]]);
  assertSet(evalNode(agg('count', by()), requests), [[{}, 4]]);
  assertSet(evalNode(agg('avg', without('instance')), requests), [[{ job: 'api' }, 2.5], [{ job: 'db' }, NaN]]);
  assertSet(evalNode(agg('max', by('job')), requests), [[{ job: 'api' }, 4], [{ job: 'db' }, 10]]);
  assertSet(evalNode(agg('min', by('job')), requests), [[{ job: 'api' }, 1], [{ job: 'db' }, 10]]);
  assertSet(evalNode(agg('group', by('__name__')), requests), [[{ __name__: 'req' }, 1]]);
});

test('aggregate node avg: Prometheus\'s incremental mean (no overflow, Inf kept)', () => {
  const big = vec([{ i: '1' }, 1.7976931348623157e308], [{ i: '2' }, 1.7976931348623157e308]);
  assertSet(evalNode(agg('avg', by()), big), [[{}, 1.7976931348623157e308]]);
  assertSet(evalNode(agg('avg', by()), vec([{ i: '1' }, Infinity], [{ i: '2' }, 3])), [[{}, Infinity]]);
  assertSet(evalNode(agg('avg', by()), vec([{ i: '1' }, Infinity], [{ i: '2' }, -Infinity])), [[{}, NaN]]);
});

test('aggregate node stddev/stdvar/quantile', () => {
  const v = vec([{ i: '1' }, 2], [{ i: '2' }, 4], [{ i: '3' }, 4], [{ i: '4' }, 4], [{ i: '5' }, 5], [{ i: '6' }, 5], [{ i: '7' }, 7], [{ i: '8' }, 9]);
  assertApprox(evalNode(agg('stddev', by()), v), [[{}, 2]]);
  assertApprox(evalNode(agg('stdvar', by()), v), [[{}, 4]]);
  assertApprox(evalNode(agg('quantile', by(), 0.5), v), [[{}, 4.5]]);
  assertApprox(evalNode(agg('quantile', by(), 0.9), v), [[{}, 7.6]]); // rank 6.3: 7·0.7 + 9·0.3
  assertSet(evalNode(agg('quantile', by(), 2), v), [[{}, Infinity]]);
  assertSet(evalNode(agg('quantile', by(), -1), v), [[{}, -Infinity]]);
});

test('aggregate node topk/bottomk: whole labels, best first per group; k < 1 is empty; k overflowing int64 is an error', () => {
  assert.deepEqual(samples(evalNode(agg('topk', by('job'), 1), requests)), [
    [{ __name__: 'req', job: 'api', instance: 'b:1' }, '4'],
    [{ __name__: 'req', job: 'db', instance: 'c:1' }, '10'],
  ]);
  assert.deepEqual(samples(evalNode(agg('bottomk', by(), 3), requests)), [
    [{ __name__: 'req', job: 'api', instance: 'a:1' }, '1'],
    [{ __name__: 'req', job: 'api', instance: 'b:1' }, '4'],
    [{ __name__: 'req', job: 'db', instance: 'c:1' }, '10'],
  ]);
  assert.deepEqual(samples(evalNode(agg('topk', by(), 0.9), requests)), []);
  assert.throws(() => evalNode(agg('topk', by(), 1e19), requests), isEvalError('Scalar value 1e+19 overflows int64'));
});

test('aggregate node count_values: the value as a label, by or without', () => {
  const v = vec([{ __name__: 'm', job: 'a', i: '1' }, 1], [{ __name__: 'm', job: 'a', i: '2' }, 1], [{ __name__: 'm', job: 'b', i: '3' }, 0.5]);
  assertSet(evalNode(agg('count_values', by('job'), 'val'), v), [[{ job: 'a', val: '1' }, 2], [{ job: 'b', val: '0.5' }, 1]]);
  assertSet(evalNode(agg('count_values', without('i'), 'val'), v), [[{ job: 'a', val: '1' }, 2], [{ job: 'b', val: '0.5' }, 1]]);
  assertSet(evalNode(agg('count_values', by(), 'job'), v), [[{ job: '1' }, 2], [{ job: '0.5' }, 1]]);
  assert.throws(() => evalNode(agg('count_values', by(), '1x'), v), isEvalError('invalid label name "1x"'));
});

test('sort and sort_desc: by value, NaN last in both; no effect on a range answer', () => {
  const v = vec([{ i: 'a' }, 3], [{ i: 'b' }, NaN], [{ i: 'c' }, 1], [{ i: 'd' }, 2]);
  const order = (desc: boolean) => samples(evalNode((arg) => ({ kind: 'sort', descending: desc, arg }), v)).map(([m, x]) => `${m.i}=${x}`);
  assert.deepEqual(order(false), ['c=1', 'd=2', 'a=3', 'b=NaN']);
  assert.deepEqual(order(true), ['a=3', 'd=2', 'c=1', 'b=NaN']);
  const range: EvalMode = { kind: 'range', startS: 0, endS: 0, stepS: 1 };
  const out = evalNode((arg) => ({ kind: 'sort', descending: true, arg }), mat([{ i: 'b' }, [[0, 9]]], [{ i: 'a' }, [[0, 1]]]), range);
  assert.deepEqual((out.result as MatrixSeries[]).map((s) => s.metric.i), ['a', 'b']);
});

const replace = (dst: string, replacement: string, src: string, regex: string) => (arg: PushedPart): PlanExpr => ({ kind: 'label_replace', dst, replacement, src, regex, arg });

test('label_replace: anchored RE2, Go\'s $1 / ${name} expansion, no match leaves the series, an empty result deletes', () => {
  const v = vec([{ __name__: 'up', instance: 'host:9090' }, 1], [{ __name__: 'up', instance: '10.0.0.1:80', foo: 'old' }, 0]);
  assertSet(evalNode(replace('foo', '${name}-$2', 'instance', '(?P<name>[a-z]+):(\\d+)'), v), [
    [{ __name__: 'up', instance: 'host:9090', foo: 'host-9090' }, 1],
    [{ __name__: 'up', instance: '10.0.0.1:80', foo: 'old' }, 0],
  ]);
  // Not anchored by the user, anchored by Prometheus: "ost" does not match "host:9090".
  assertSet(evalNode(replace('foo', 'x', 'instance', 'ost'), v), [
    [{ __name__: 'up', instance: 'host:9090' }, 1],
    [{ __name__: 'up', instance: '10.0.0.1:80', foo: 'old' }, 0],
  ]);
  // "$1x" is the group named "1x" for Go: empty, so foo is deleted.
  assertSet(evalNode(replace('foo', '$1x', 'instance', '(.*)'), v), [
    [{ __name__: 'up', instance: 'host:9090' }, 1],
    [{ __name__: 'up', instance: '10.0.0.1:80' }, 0],
  ]);
  // A missing source label is the empty string.
  assertSet(evalNode(replace('dst', 'empty', 'nope', ''), v), [
    [{ __name__: 'up', instance: 'host:9090', dst: 'empty' }, 1],
    [{ __name__: 'up', instance: '10.0.0.1:80', foo: 'old', dst: 'empty' }, 0],
  ]);
});

test('label_replace: a bad regex or destination is an execution error, also with no series; collisions too', () => {
  assert.throws(() => evalNode(replace('foo', '$1', 'instance', '(a'), vec()), isEvalError('invalid regular expression in label_replace(): (a'));
  assert.throws(() => evalNode(replace('1foo', '$1', 'instance', '(.*)'), vec()), isEvalError('invalid destination label name in label_replace(): 1foo'));
  const v = vec([{ i: 'a', j: '1' }, 1], [{ i: 'a', j: '2' }, 2]);
  assert.throws(() => evalNode(replace('j', '', 'i', '.*'), v), isEvalError(DUPLICATE));
});

const op = (o: ScalarOperator, scalar: number, scalarLeft = false, bool = false) =>
  (arg: PushedPart): PlanExpr => ({ kind: 'scalar_op', op: o, scalar, scalarLeft, bool, arg });

test('scalar_op arithmetic: drops the name (not atan2), Go\'s Mod and Pow', () => {
  const v = vec([{ __name__: 'm', i: 'a' }, -7], [{ __name__: 'm', i: 'b' }, 2]);
  assertSet(evalNode(op('*', 2), v), [[{ i: 'a' }, -14], [{ i: 'b' }, 4]]);
  assertSet(evalNode(op('-', 1, true), v), [[{ i: 'a' }, 8], [{ i: 'b' }, -1]]);
  assertSet(evalNode(op('/', 0), v), [[{ i: 'a' }, -Infinity], [{ i: 'b' }, Infinity]]);
  assertSet(evalNode(op('%', 3), v), [[{ i: 'a' }, -1], [{ i: 'b' }, 2]]);
  assertSet(evalNode(op('^', 2), v), [[{ i: 'a' }, 49], [{ i: 'b' }, 4]]);
  assertSet(evalNode(op('^', NaN, true), vec([{ i: 'z' }, 0])), [[{ i: 'z' }, 1]]); // Go: Pow(NaN, 0) = 1
  assertSet(evalNode(op('atan2', 0, true), v), [[{ __name__: 'm', i: 'a' }, Math.PI], [{ __name__: 'm', i: 'b' }, 0]]); // atan2(0, m)
  assert.throws(() => evalNode(op('+', 1), vec([{ __name__: 'a', i: '1' }, 1], [{ __name__: 'b', i: '1' }, 2])), isEvalError(DUPLICATE));
});

test('scalar_op comparisons: filter and keep labels and the vector\'s value; bool gives 0/1 without the name', () => {
  const v = vec([{ __name__: 'm', i: 'a' }, 1], [{ __name__: 'm', i: 'b' }, 5], [{ __name__: 'm', i: 'c' }, NaN]);
  assertSet(evalNode(op('>', 2), v), [[{ __name__: 'm', i: 'b' }, 5]]);
  assertSet(evalNode(op('<', 2, true), v), [[{ __name__: 'm', i: 'b' }, 5]]); // 2 < m: the value is m's
  assertSet(evalNode(op('!=', 1), v), [[{ __name__: 'm', i: 'b' }, 5], [{ __name__: 'm', i: 'c' }, NaN]]);
  assertSet(evalNode(op('>=', 5, false, true), v), [[{ i: 'a' }, 0], [{ i: 'b' }, 1], [{ i: 'c' }, 0]]);
  assertSet(evalNode(op('==', 5, true, true), v), [[{ i: 'a' }, 0], [{ i: 'b' }, 1], [{ i: 'c' }, 0]]);
});

test('nodes compose over merged parts, per step in a range', () => {
  // sum by (job) merged from two shards, then × 2, then sort_desc (no effect in a range).
  const p = part({ kind: 'aggregate', op: 'sum', grouping: by('job') });
  const expr: PlanExpr = { kind: 'sort', descending: true, arg: { kind: 'scalar_op', op: '*', scalar: 2, scalarLeft: false, bool: false, arg: p } };
  const range: EvalMode = { kind: 'range', startS: 0, endS: 60, stepS: 30 };
  const out = evaluatePlan(expr, [p], [[[mat([{ job: 'a' }, [[0, 1], [30, 2]]])], [mat([{ job: 'a' }, [[30, 3], [60, 4]]], [{ job: 'b' }, [[60, 1]]])]]], range);
  assert.deepEqual(out.result, [
    { metric: { job: 'a' }, values: [[0, '2'], [30, '10'], [60, '8']] },
    { metric: { job: 'b' }, values: [[60, '2']] },
  ]);
});

// ---------------------------------------------------------------------------------------------------------
// histogram_quantile: cases of Prometheus's promql/testdata/histograms.test (v2.42.0), at 50m
// ---------------------------------------------------------------------------------------------------------

const hq = (phi: number) => (arg: PushedPart): PlanExpr => ({ kind: 'histogram_quantile', phi, arg });
/** testhistogram_bucket at 50m (0+Nx10 → 10·N). */
const testhistogram = vec(
  [{ __name__: 'testhistogram_bucket', le: '0.1', start: 'positive' }, 50],
  [{ __name__: 'testhistogram_bucket', le: '.2', start: 'positive' }, 70],
  [{ __name__: 'testhistogram_bucket', le: '1e0', start: 'positive' }, 110],
  [{ __name__: 'testhistogram_bucket', le: '+Inf', start: 'positive' }, 120],
  [{ __name__: 'testhistogram_bucket', le: '-.2', start: 'negative' }, 10],
  [{ __name__: 'testhistogram_bucket', le: '-0.1', start: 'negative' }, 20],
  [{ __name__: 'testhistogram_bucket', le: '0.3', start: 'negative' }, 20],
  [{ __name__: 'testhistogram_bucket', le: '+Inf', start: 'negative' }, 30],
);
const pos = { start: 'positive' };
const neg = { start: 'negative' };

test('histogram_quantile: testhistogram (bounds, both signs, q out of range, NaN)', () => {
  assertApprox(evalNode(hq(-0.1), testhistogram), [[pos, -Infinity], [neg, -Infinity]]);
  assertApprox(evalNode(hq(1.01), testhistogram), [[pos, Infinity], [neg, Infinity]]);
  assertApprox(evalNode(hq(NaN), testhistogram), [[pos, NaN], [neg, NaN]]);
  assertApprox(evalNode(hq(1), testhistogram), [[pos, 1], [neg, 0.3]]);
  assertApprox(evalNode(hq(0.2), testhistogram), [[pos, 0.048], [neg, -0.2]]);
  assertApprox(evalNode(hq(0.5), testhistogram), [[pos, 0.15], [neg, -0.15]]);
  assertApprox(evalNode(hq(0.8), testhistogram), [[pos, 0.72], [neg, 0.3]]);
  const positiveOnly = vec(...(testhistogram.result as VectorSample[]).filter((s) => s.metric.start === 'positive').map((s): [Labels, Value] => [s.metric, s.value[1]]));
  assertApprox(evalNode(hq(0), positiveOnly), [[pos, 0]]);
});

test('histogram_quantile: testhistogram2 at 7m, results in the middle of buckets', () => {
  const h = vec([{ __name__: 'testhistogram2_bucket', le: '0' }, 0], [{ __name__: 'testhistogram2_bucket', le: '2' }, 1], [{ __name__: 'testhistogram2_bucket', le: '4' }, 2], [{ __name__: 'testhistogram2_bucket', le: '6' }, 3], [{ __name__: 'testhistogram2_bucket', le: '+Inf' }, 3]);
  assertApprox(evalNode(hq(1 / 6), h), [[{}, 1]]);
  assertApprox(evalNode(hq(0.5), h), [[{}, 3]]);
  assertApprox(evalNode(hq(5 / 6), h), [[{}, 5]]);
});

test('histogram_quantile: nonmonotonic buckets (ensureMonotonic)', () => {
  const h = vec(...([['0.1', 20], ['1', 10], ['10', 50], ['100', 40], ['1000', 90], ['+Inf', 80]] as const).map(([le, v]): [Labels, Value] => [{ __name__: 'nonmonotonic_bucket', le }, v]));
  assertApprox(evalNode(hq(0.01), h), [[{}, 0.0045]]);
  assertApprox(evalNode(hq(0.5), h), [[{}, 8.5]]);
  assertApprox(evalNode(hq(0.99), h), [[{}, 979.75]]);
});

test('histogram_quantile: different le spellings of one bound are coalesced; empty buckets give NaN', () => {
  const r = 1 / 300; // rate(mixed_bucket[5m]) with 0+1x10
  const ins1 = { job: 'job1', instance: 'ins1' };
  const ins2 = { job: 'job1', instance: 'ins2' };
  const h = vec(
    [{ __name__: 'mixed_bucket', ...ins1, le: '0.1' }, r],
    [{ __name__: 'mixed_bucket', ...ins1, le: '0.2' }, r],
    [{ __name__: 'mixed_bucket', ...ins1, le: '2e-1' }, r],
    [{ __name__: 'mixed_bucket', ...ins1, le: '2.0e-1' }, r],
    [{ __name__: 'mixed_bucket', ...ins1, le: '+Inf' }, 4 * r],
    [{ __name__: 'mixed_bucket', ...ins2, le: '+inf' }, 0],
    [{ __name__: 'mixed_bucket', ...ins2, le: '+Inf' }, 0],
  );
  assertApprox(evalNode(hq(0.5), h), [[ins1, 0.15], [ins2, NaN]]);
  assertApprox(evalNode(hq(0.75), h), [[ins1, 0.2], [ins2, NaN]]);
  assertApprox(evalNode(hq(1), h), [[ins1, 0.2], [ins2, NaN]]);
});

test('histogram_quantile: aggregated by job (sum by (le, job) of the rates)', () => {
  // request_duration_seconds_bucket summed by (le, job): job1 0.1: 3, 0.2: 8, +Inf: 10; job2 0.1: 7, 0.2: 11, +Inf: 15 (per 5m).
  const s = (job: string, le: string, n: number): [Labels, Value] => [{ job, le }, n / 300];
  const h = vec(s('job1', '0.1', 3), s('job1', '0.2', 8), s('job1', '+Inf', 10), s('job2', '0.1', 7), s('job2', '0.2', 11), s('job2', '+Inf', 15));
  assertApprox(evalNode(hq(0.3), h), [[{ job: 'job1' }, 0.1], [{ job: 'job2' }, 0.0642857142857143]]);
  assertApprox(evalNode(hq(0.5), h), [[{ job: 'job1' }, 0.14], [{ job: 'job2' }, 0.1125]]);
});

test('histogram_quantile: no +Inf bucket is NaN, malformed le skipped, two names with the same labels fail', () => {
  assertApprox(evalNode(hq(0.5), vec([{ le: '1' }, 1], [{ le: '2' }, 2])), [[{}, NaN]]);
  assertApprox(evalNode(hq(0.5), vec([{ le: 'x' }, 1], [{ le: '1' }, 1], [{ le: '+Inf' }, 2], [{ a: 'no le' }, 5])), [[{}, 1]]);
  const dup = vec(
    [{ __name__: 'request_duration_seconds_bucket', job: 'job1', le: '0.1' }, 1],
    [{ __name__: 'request_duration_seconds_bucket', job: 'job1', le: '+Inf' }, 4],
    [{ __name__: 'request_duration_seconds2_bucket', job: 'job1', le: '0.1' }, 1],
    [{ __name__: 'request_duration_seconds2_bucket', job: 'job1', le: '+Inf' }, 4],
  );
  assert.throws(() => evalNode(hq(0.99), dup), isEvalError(DUPLICATE));
});

// ---------------------------------------------------------------------------------------------------------
// Property: merged per-shard partial aggregates = the aggregate over the whole vector
// ---------------------------------------------------------------------------------------------------------

interface Series {
  metric: Labels;
  value: number;
}

const ALL_OPS: DecomposableOp[] = ['sum', 'min', 'max', 'count', 'group', 'avg', 'stddev', 'stdvar', 'topk', 'bottomk', 'count_values'];
const GROUPING_LABELS = ['__name__', 'x', 'y', 'id'];
const VALUE_LABEL = 'val';

/** A reference aggregation, written plainly: groups by label values, the op over each group's values. */
function referenceGroupLabels(metric: Labels, grouping: Grouping): Labels {
  const out: Labels = {};
  for (const [k, v] of Object.entries(metric)) {
    const listed = grouping.labels.includes(k);
    if (grouping.without ? !listed && k !== '__name__' : listed) out[k] = v;
  }
  return out;
}

function referenceAggregate(op: DecomposableOp | 'mean', grouping: Grouping, k: number, series: Series[]): Series[] {
  const groups = new Map<string, { metric: Labels; members: Series[] }>();
  for (const s of series) {
    let metric = s.metric;
    let g = grouping;
    if (op === 'count_values') {
      metric = { ...metric, [VALUE_LABEL]: formatFloatF(s.value) };
      if (!grouping.without) g = by(...grouping.labels, VALUE_LABEL);
    }
    const labels = referenceGroupLabels(metric, g);
    const key = keyOf(labels);
    const group = groups.get(key) ?? { metric: labels, members: [] };
    group.members.push(s);
    groups.set(key, group);
  }
  const out: Series[] = [];
  for (const { metric, members } of groups.values()) {
    const values = members.map((s) => s.value);
    const numbers = values.filter((v) => !Number.isNaN(v));
    const n = values.length;
    const mean = values.reduce((a, b) => a + b, 0) / n;
    const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    switch (op) {
      case 'sum': out.push({ metric, value: values.reduce((a, b) => a + b, 0) }); break;
      case 'min': out.push({ metric, value: numbers.length ? Math.min(...numbers) : NaN }); break;
      case 'max': out.push({ metric, value: numbers.length ? Math.max(...numbers) : NaN }); break;
      case 'count': case 'count_values': out.push({ metric, value: n }); break;
      case 'group': out.push({ metric, value: 1 }); break;
      case 'avg': case 'mean': out.push({ metric, value: mean }); break;
      case 'stdvar': out.push({ metric, value: variance }); break;
      case 'stddev': out.push({ metric, value: Math.sqrt(variance) }); break;
      case 'topk': case 'bottomk': {
        const order = (a: Series, b: Series) => (Number.isNaN(a.value) ? 1 : Number.isNaN(b.value) ? -1 : op === 'topk' ? b.value - a.value : a.value - b.value);
        out.push(...[...members].sort(order).slice(0, k));
        break;
      }
    }
  }
  return out;
}

/** What one shard sends for a merge of `op`: the queries of the part, each a reference aggregation of its series. */
function shardAnswers(op: DecomposableOp, grouping: Grouping, k: number, series: Series[]): ShardData[] {
  const asVec = (ss: Series[]) => vec(...ss.map((s): [Labels, Value] => [s.metric, s.value]));
  if (op === 'avg') return [asVec(referenceAggregate('sum', grouping, k, series)), asVec(referenceAggregate('count', grouping, k, series))];
  if (op === 'stddev' || op === 'stdvar') {
    return [asVec(referenceAggregate('count', grouping, k, series)), asVec(referenceAggregate('mean', grouping, k, series)), asVec(referenceAggregate('stdvar', grouping, k, series))];
  }
  return [asVec(referenceAggregate(op, grouping, k, series))];
}

/** Per output group, the sorted values (topk/bottomk: the group of each series, its values; ties allow other series). */
function comparable(op: DecomposableOp, grouping: Grouping, samplesOut: Array<[Labels, number]>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [m, v] of samplesOut) {
    const key = op === 'topk' || op === 'bottomk' ? keyOf(referenceGroupLabels(m, grouping)) : keyOf(m);
    out.set(key, [...(out.get(key) ?? []), v].sort((a, b) => (Number.isNaN(a) ? 1 : Number.isNaN(b) ? -1 : a - b)));
  }
  return out;
}

function assertClose(got: Map<string, number[]>, want: Map<string, number[]>, context: string): void {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), context);
  for (const [key, values] of want) {
    const g = got.get(key)!;
    assert.equal(g.length, values.length, context);
    values.forEach((w, i) => {
      const x = g[i]!;
      const ok = Number.isNaN(w) ? Number.isNaN(x) : x === w || Math.abs(x - w) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(w));
      assert.ok(ok, `${context} ${key}: ${x} vs ${w}`);
    });
  }
}

const numbersOf = (data: ShardData): Array<[Labels, number]> =>
  samples(data).map(([m, v]) => [m, v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v)]);

test('property: merging per-shard partial aggregates equals aggregating the whole vector', () => {
  const seriesArb = fc.array(
    fc.record({
      name: fc.constantFrom('a', 'b'),
      x: fc.constantFrom('1', '2', '3', ''),
      y: fc.constantFrom('p', 'q', ''),
      value: fc.oneof(fc.integer({ min: -50, max: 50 }), fc.integer({ min: -400, max: 400 }).map((n) => n / 8), fc.constant(NaN)),
      shard: fc.nat(3),
    }),
    { maxLength: 30 },
  );
  const groupingArb = fc.record({ without: fc.boolean(), labels: fc.subarray(GROUPING_LABELS) });
  fc.assert(
    fc.property(fc.constantFrom(...ALL_OPS), groupingArb, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), seriesArb, (op, grouping, shardCount, k, raw) => {
      // NaN propagates through sums (and compares equal here); keep it to the ops where its handling matters.
      const nanOk = op === 'min' || op === 'max' || op === 'count' || op === 'group' || op === 'count_values' || op === 'topk' || op === 'bottomk';
      const series: Array<Series & { shard: number }> = raw.map((r, i) => {
        const metric: Labels = { __name__: r.name, id: String(i) };
        if (r.x) metric.x = r.x;
        if (r.y) metric.y = r.y;
        return { metric, value: Number.isNaN(r.value) && !nanOk ? i : r.value, shard: r.shard % shardCount };
      });
      const param = op === 'topk' || op === 'bottomk' ? k : op === 'count_values' ? VALUE_LABEL : undefined;
      const merge: PartMerge = { kind: 'aggregate', op, grouping, param };
      const p = part(merge, op === 'avg' ? 2 : op === 'stddev' || op === 'stdvar' ? 3 : 1);
      const answers = Array.from({ length: shardCount }, (_, s) => shardAnswers(op, grouping, k, series.filter((x) => x.shard === s)));
      const merged = comparable(op, grouping, numbersOf(evalPart(p, answers)));
      const expected = comparable(op, grouping, referenceAggregate(op, grouping, k, series).map((s): [Labels, number] => [s.metric, s.value]));
      const context = `${op} ${JSON.stringify(grouping)} over ${shardCount} shards`;
      assertClose(merged, expected, `merged: ${context}`);
      // The front door's own aggregation over the complete vector agrees too.
      const whole = vec(...series.map((s): [Labels, Value] => [s.metric, s.value]));
      const direct = comparable(op, grouping, numbersOf(evalNode((arg) => ({ kind: 'aggregate', op, grouping, param, arg }), whole)));
      assertClose(direct, expected, `direct: ${context}`);
    }),
    { numRuns: 500 },
  );
});

test('a part is found in plan.parts by identity, or else by its position in the expression', () => {
  const p = part({ kind: 'union' });
  const copy: PushedPart = { ...p };
  const expr: PlanExpr = { kind: 'scalar_op', op: '+', scalar: 1, scalarLeft: false, bool: false, arg: p };
  assertSet(evaluatePlan(expr, [copy], [[[vec([{ i: 'a' }, 1])]]], instant), [[{ i: 'a' }, 2]]);
});

// ---------------------------------------------------------------------------------------------------------
// Binary operations between vectors: cases of Prometheus's promql/testdata/operators.test (v2.42.0)
// ---------------------------------------------------------------------------------------------------------

/**
 * Plans a query and evaluates it over shards: `data[q]` are the series that answer part query q over all shards;
 * series i goes to shard i % shards (aggregate parts: each shard answers the aggregation of its own series).
 */
function evalQuery(q: string, data: Record<string, Array<[Labels, Value]>>, shards = 2): ShardData {
  const p = planPushdown(q, { lookbackDeltaMs: 300_000 });
  if ('fallback' in p) assert.fail(`${q} fell back: ${p.detail}`);
  const answers = p.parts.map((part) => Array.from({ length: shards }, (_, s) => part.queries.map((text) => {
    const series = data[text];
    if (series === undefined) assert.fail(`no data for the part query ${text} of ${q}`);
    const mine = series.filter((_, i) => i % shards === s);
    if (part.merge.kind !== 'aggregate') return vec(...mine);
    const { op, grouping } = part.merge;
    if (op !== 'sum') assert.fail(`only sum parts here, not ${op}`);
    return vec(...referenceAggregate('sum', grouping, 0, mine.map(([metric, v]) => ({ metric, value: Number(v) }))).map((x): [Labels, Value] => [x.metric, x.value]));
  })));
  return evaluatePlan(p.expr, p.parts, answers, instant);
}

const httpRequests: Array<[Labels, Value]> = ([
  ['api-server', '0', 'production', 100], ['api-server', '1', 'production', 200], ['api-server', '0', 'canary', 300], ['api-server', '1', 'canary', 400],
  ['app-server', '0', 'production', 500], ['app-server', '1', 'production', 600], ['app-server', '0', 'canary', 700], ['app-server', '1', 'canary', 800],
] as const).map(([job, instance, group, v]) => [{ __name__: 'http_requests', job, instance, group }, v]);
const requestsWhere = (want: Labels) => httpRequests.filter(([m]) => Object.entries(want).every(([k, v]) => m[k] === v));
const plusOne = (series: Array<[Labels, Value]>) => series.map(([m, v]): [Labels, Value] => [m, Number(v) + 1]);
const noName = ({ __name__: _, ...rest }: Labels): Labels => rest;
const req = (job: string, instance: string, group: string) => ({ job, instance, group });
const oneToOne: VectorMatching = { card: 'one-to-one', on: false, labels: [], include: [] };
const manyToMany: VectorMatching = { card: 'many-to-many', on: false, labels: [], include: [] };
const vectorMatchingA: Array<[Labels, Value]> = [[{ __name__: 'vector_matching_a', l: 'x' }, 10], [{ __name__: 'vector_matching_a', l: 'y' }, 20]];

test('and, or, unless with on/ignoring (operators.test)', () => {
  const canary = requestsWhere({ group: 'canary' });
  const data = {
    'http_requests{group="canary"}': canary,
    'http_requests{instance="0"}': requestsWhere({ instance: '0' }),
    'http_requests{instance="1"}': requestsWhere({ instance: '1' }),
    'http_requests{group="production"}': requestsWhere({ group: 'production' }),
    'http_requests{instance="0", group="production"}': requestsWhere({ instance: '0', group: 'production' }),
    '(http_requests{group="canary"} + 1)': plusOne(canary).map(([m, v]): [Labels, Value] => [noName(m), v]),
    cpu_count: [],
    vector_matching_a: vectorMatchingA,
    http_requests: httpRequests,
  };
  const name = { __name__: 'http_requests' };
  assertSet(evalQuery('http_requests{group="canary"} and http_requests{instance="0"}', data), [
    [{ ...name, ...req('api-server', '0', 'canary') }, 300], [{ ...name, ...req('app-server', '0', 'canary') }, 700],
  ]);
  const canary0 = [[req('api-server', '0', 'canary'), 301], [req('app-server', '0', 'canary'), 701]] as Array<[Labels, Value]>;
  for (const m of ['and', 'and on(instance, job)', 'and on(instance)', 'and ignoring(group)', 'and ignoring(group, job)']) {
    const rhs = m === 'and' ? 'http_requests{instance="0"}' : 'http_requests{instance="0", group="production"}';
    assertSet(evalQuery(`(http_requests{group="canary"} + 1) ${m} ${rhs}`, data), canary0);
  }
  const canaryPlusOne: Array<[Labels, Value]> = [...canary0, [req('api-server', '1', 'canary'), 401], [req('app-server', '1', 'canary'), 801]];
  assertSet(evalQuery('http_requests{group="canary"} or http_requests{group="production"}', data), httpRequests);
  // On overlap the rhs samples are dropped.
  assertSet(evalQuery('(http_requests{group="canary"} + 1) or http_requests{instance="1"}', data), [
    ...canaryPlusOne, [{ ...name, ...req('api-server', '1', 'production') }, 200], [{ ...name, ...req('app-server', '1', 'production') }, 600],
  ]);
  // Matching only on instance excludes everything that has instance=0/1 but includes entries without it.
  assertSet(evalQuery('(http_requests{group="canary"} + 1) or on(instance) (http_requests or cpu_count or vector_matching_a)', data), [...canaryPlusOne, ...vectorMatchingA]);
  assertSet(evalQuery('(http_requests{group="canary"} + 1) or ignoring(l, group, job) (http_requests or cpu_count or vector_matching_a)', data), [...canaryPlusOne, ...vectorMatchingA]);
  const canary1: Array<[Labels, Value]> = [[{ ...name, ...req('api-server', '1', 'canary') }, 400], [{ ...name, ...req('app-server', '1', 'canary') }, 800]];
  assertSet(evalQuery('http_requests{group="canary"} unless http_requests{instance="0"}', data), canary1);
  assertSet(evalQuery('http_requests{group="canary"} unless on(job) http_requests{instance="0"}', data), []);
  assertSet(evalQuery('http_requests{group="canary"} unless on(job, instance) http_requests{instance="0"}', data), canary1);
  assertSet(evalQuery('http_requests{group="canary"} unless ignoring(group, instance) http_requests{instance="0"}', data), []);
  assertSet(evalQuery('http_requests{group="canary"} unless ignoring(group) http_requests{instance="0"}', data), canary1);
  // https://github.com/prometheus/prometheus/issues/1489
  assertSet(evalQuery('http_requests AND ON (dummy) vector(1)', data), httpRequests);
  assertSet(evalQuery('http_requests AND IGNORING (group, instance, job) vector(1)', data), httpRequests);
});

test('set operators: the left side\'s order, then the right side\'s; empty sides short-circuit', () => {
  const a = union();
  const b = union();
  const set = (op: BinaryOperator, matching: VectorMatching = manyToMany) => (l: ShardData, r: ShardData) =>
    samples(evaluatePlan({ kind: 'binary', op, bool: false, matching, lhs: a, rhs: b }, [a, b], [[[l]], [[r]]], instant)).map(([m, v]) => `${m.i}=${v}`);
  const l = vec([{ i: '2' }, 2], [{ i: '1' }, 1]);
  const r = vec([{ i: '3' }, 3], [{ i: '1' }, 10]);
  assert.deepEqual(set('or')(l, r), ['2=2', '1=1', '3=3']);
  assert.deepEqual(set('or')(vec(), r), ['3=3', '1=10']);
  assert.deepEqual(set('and')(l, r), ['1=1']);
  assert.deepEqual(set('and')(l, vec()), []);
  assert.deepEqual(set('unless')(l, r), ['2=2']);
  assert.deepEqual(set('unless')(l, vec()), ['2=2', '1=1']);
  // on(): every series has the same (empty) signature.
  assert.deepEqual(set('or', { ...manyToMany, on: true })(l, r), ['2=2', '1=1']);
  assert.deepEqual(set('unless', { ...manyToMany, on: true })(l, r), []);
});

test('arithmetic and comparisons one-to-one: the name dropped by arithmetic, kept by comparisons and atan2 (operators.test)', () => {
  const sumByJob: Array<[Labels, Value]> = [[{ job: 'api-server' }, 1000], [{ job: 'app-server' }, 2600]];
  const data = {
    'sum by (job) (http_requests)': httpRequests,
    'sum by (job) ((http_requests))': httpRequests,
    'http_requests{group="canary"}': requestsWhere({ group: 'canary' }),
    'http_requests{group="production"}': requestsWhere({ group: 'production' }),
  };
  assertSet(evalQuery('SUM(http_requests) BY (job) + SUM(http_requests) BY (job)', data), [[{ job: 'api-server' }, 2000], [{ job: 'app-server' }, 5200]]);
  assertSet(evalQuery('(SUM((http_requests)) BY (job)) + SUM(http_requests) BY (job)', data), [[{ job: 'api-server' }, 2000], [{ job: 'app-server' }, 5200]]);
  assertSet(evalQuery('SUM(http_requests) BY (job) == bool SUM(http_requests) BY (job)', data), sumByJob.map(([m]) => [m, 1]));
  assertSet(evalQuery('SUM(http_requests) BY (job) != bool SUM(http_requests) BY (job)', data), sumByJob.map(([m]) => [m, 0]));
  const ratios: Array<[Labels, number]> = [
    [{ instance: '0', job: 'api-server' }, 3], [{ instance: '0', job: 'app-server' }, 1.4],
    [{ instance: '1', job: 'api-server' }, 2], [{ instance: '1', job: 'app-server' }, 1.3333333333333333],
  ];
  assertSet(evalQuery('http_requests{group="canary"} / on(instance,job) http_requests{group="production"}', data), ratios);
  assertSet(evalQuery('http_requests{group="canary"} / ignoring(group) http_requests{group="production"}', data), ratios);

  const a = union();
  const b = union();
  const binop = (op: ScalarOperator, bool: boolean, l: ShardData, r: ShardData, matching: VectorMatching = oneToOne) =>
    evaluatePlan({ kind: 'binary', op, bool, matching, lhs: a, rhs: b }, [a, b], [[[l]], [[r]]], instant);
  const total = vec([{ __name__: 'test_total', instance: 'localhost' }, 50]);
  const smaller = vec([{ __name__: 'test_smaller', instance: 'localhost' }, 10]);
  assertSet(binop('>', true, total, smaller), [[{ instance: 'localhost' }, 1]]);
  assertSet(binop('>', false, total, smaller), [[{ __name__: 'test_total', instance: 'localhost' }, 50]]);
  assertSet(binop('<', true, total, smaller), [[{ instance: 'localhost' }, 0]]);
  assertSet(binop('<', false, total, smaller), []);
  const trigy = vec([{ __name__: 'trigy' }, 10]);
  assertSet(binop('atan2', false, trigy, vec([{ __name__: 'trigx' }, 20])), [[{ __name__: 'trigy' }, 0.4636476090008061]]);
  assertSet(binop('atan2', false, trigy, vec([{ __name__: 'trigNaN' }, NaN])), [[{ __name__: 'trigy' }, NaN]]);
  // On with no labels, for metrics with no common labels; ignoring with no labels is the same as no ignoring.
  assertSet(binop('+', false, vec([{ __name__: 'random', foo: 'bar' }, 2]), vec([{ __name__: 'metricA', baz: 'meh' }, 3]), { ...oneToOne, on: true }), [[{}, 5]]);
  assertSet(binop('+', false, vec([{ __name__: 'metricA', baz: 'meh' }, 3]), vec([{ __name__: 'metricB', baz: 'meh' }, 4])), [[{ baz: 'meh' }, 7]]);
  // The rest of the arithmetic, with Go's Mod and Pow; no match, no sample.
  const l = vec([{ __name__: 'l', i: 'a' }, -7], [{ __name__: 'l', i: 'b' }, 2], [{ __name__: 'l', i: 'c' }, 1]);
  const r = vec([{ __name__: 'r', i: 'a' }, 3], [{ __name__: 'r', i: 'b' }, 0.5], [{ __name__: 'r', i: 'd' }, 1]);
  assertSet(binop('-', false, l, r), [[{ i: 'a' }, -10], [{ i: 'b' }, 1.5]]);
  assertSet(binop('*', false, l, r), [[{ i: 'a' }, -21], [{ i: 'b' }, 1]]);
  assertSet(binop('%', false, l, r), [[{ i: 'a' }, -1], [{ i: 'b' }, 0]]);
  assertSet(binop('^', false, l, r), [[{ i: 'a' }, -343], [{ i: 'b' }, Math.SQRT2]]);
  assertSet(binop('/', false, vec([{ i: 'a' }, 0]), vec([{ i: 'a' }, 0])), [[{ i: 'a' }, NaN]]);
  // A comparison keeps the left value and labels (name included); with bool, 0/1 and no name.
  assertSet(binop('>=', false, l, r), [[{ __name__: 'l', i: 'b' }, 2]]);
  assertSet(binop('!=', true, l, r), [[{ i: 'a' }, 1], [{ i: 'b' }, 1]]);
  assertSet(binop('==', false, l, r, { ...oneToOne, on: true, labels: ['i'] }), []);
  assertSet(binop('<', false, l, r, { ...oneToOne, on: true, labels: ['i'] }), [[{ i: 'a' }, -7]]); // on(i) keeps only i
  assertSet(binop('<', false, l, r, { ...oneToOne, on: true, labels: ['__name__', 'i'] }), []); // the names differ
});

test('group_left and group_right: labels from the "one" side (operators.test)', () => {
  const data: Record<string, Array<[Labels, Value]>> = {
    node_var: [[{ __name__: 'node_var', instance: 'abc', job: 'node' }, 2]],
    node_role: [[{ __name__: 'node_role', instance: 'abc', job: 'node', role: 'prometheus' }, 1]],
    node_cpu: ([['abc', 'idle', 3], ['abc', 'user', 1], ['def', 'idle', 8], ['def', 'user', 2]] as const).map(([instance, mode, v]) => [{ __name__: 'node_cpu', instance, job: 'node', mode }, v]),
    'random*0': [[{ foo: 'bar' }, 0]],
    threshold: [[{ __name__: 'threshold', instance: 'abc', job: 'node', target: 'a@b.com' }, 0]],
  };
  data['sum by (instance, job) (node_cpu)'] = data.node_cpu!;
  data['sum by (job, instance) (node_cpu)'] = data.node_cpu!;
  data['sum by (mode, job) (node_cpu)'] = data.node_cpu!;
  data['sum by (job) (node_cpu)'] = data.node_cpu!;
  data['sum without (mode) (node_cpu)'] = data.node_cpu!;
  data['sum without (instance) (node_cpu)'] = data.node_cpu!;
  data['sum without (instance, mode) (node_cpu)'] = data.node_cpu!;
  const role = { instance: 'abc', job: 'node', role: 'prometheus' };
  for (const q of ['node_role * on (instance) group_right (role) node_var', 'node_var * on (instance) group_left (role) node_role',
    'node_var * ignoring (role) group_left (role) node_role', 'node_role * ignoring (role) group_right (role) node_var']) {
    assertSet(evalQuery(q, data), [[role, 2]]);
  }
  for (const q of ['node_cpu * ignoring (role, mode) group_left (role) node_role', 'node_cpu * on (instance) group_left (role) node_role']) {
    assertSet(evalQuery(q, data), [[{ ...role, mode: 'idle' }, 3], [{ ...role, mode: 'user' }, 1]]);
  }
  const cpuRatios: Array<[Labels, number]> = [
    [{ instance: 'abc', job: 'node', mode: 'idle' }, 0.75], [{ instance: 'abc', job: 'node', mode: 'user' }, 0.25],
    [{ instance: 'def', job: 'node', mode: 'idle' }, 0.8], [{ instance: 'def', job: 'node', mode: 'user' }, 0.2],
  ];
  assertSet(evalQuery('node_cpu / on (instance) group_left sum by (instance,job)(node_cpu)', data), cpuRatios);
  assertSet(evalQuery('node_cpu / ignoring (mode) group_left sum without (mode)(node_cpu)', data), cpuRatios);
  assertSet(evalQuery('node_cpu / ignoring (mode) group_left(dummy) sum without (mode)(node_cpu)', data), cpuRatios);
  const modeRatios: Array<[Labels, number]> = [[{ job: 'node', mode: 'idle' }, 0.7857142857142857], [{ job: 'node', mode: 'user' }, 0.21428571428571427]];
  assertSet(evalQuery('sum by (mode, job)(node_cpu) / on (job) group_left sum by (job)(node_cpu)', data), modeRatios);
  assertSet(evalQuery('sum without (instance)(node_cpu) / ignoring (mode) group_left sum without (instance, mode)(node_cpu)', data), modeRatios);
  assertApprox(evalQuery('sum(sum by (mode, job)(node_cpu) / on (job) group_left sum by (job)(node_cpu))', data), [[{}, 1]]);
  // Copy over a label from a metric with no matching labels.
  assertSet(evalQuery('node_cpu + on(dummy) group_left(foo) random*0', data), data.node_cpu!.map(([m, v]): [Labels, Value] => [{ ...noName(m), foo: 'bar' }, v]));
  // Use a threshold from a metric, and copy over target; and a default (1) where it is not present.
  const abc = data.node_cpu!.slice(0, 2).map(([m, v]): [Labels, Value] => [{ ...m, target: 'a@b.com' }, v]);
  assertSet(evalQuery('node_cpu > on(job, instance) group_left(target) threshold', data), abc);
  assertSet(evalQuery('node_cpu > on(job, instance) group_left(target) (threshold or on (job, instance) (sum by (job, instance)(node_cpu) * 0 + 1))', data), [...abc, ...data.node_cpu!.slice(2)]);
  // group_right: the value of a comparison is the left (the "one") side's, the labels the right side's.
  assertSet(evalQuery('node_var < on(instance) group_right node_cpu', data), [[{ __name__: 'node_cpu', instance: 'abc', job: 'node', mode: 'idle' }, 2]]);
  // An included label the "one" side does not have is deleted: here, the two results then have the same labels.
  assertSet(evalQuery('node_var * on (instance) group_left (mode) node_role', data), [[{ instance: 'abc', job: 'node' }, 2]]);
  assert.throws(() => evalQuery('node_cpu * on (instance) group_left (mode) node_role', data), isEvalError('multiple matches for labels: grouping labels must ensure unique matches'));
});

test('matching errors: Prometheus\'s messages, checked only for samples that are kept', () => {
  const a = union();
  const b = union();
  const binop = (op: ScalarOperator, bool: boolean, matching: VectorMatching, l: ShardData, r: ShardData) =>
    evaluatePlan({ kind: 'binary', op, bool, matching, lhs: a, rhs: b }, [a, b], [[[l]], [[r]]], instant);
  const onX: VectorMatching = { card: 'one-to-one', on: true, labels: ['x'], include: [] };
  const many = vec([{ __name__: 'a', x: '1', y: '1' }, 1], [{ __name__: 'a', x: '1', y: '2' }, 5]);
  const one = vec([{ __name__: 'b', x: '1' }, 3]);
  assert.throws(() => binop('+', false, onX, one, many), isEvalError(
    'found duplicate series for the match group {x="1"} on the right hand-side of the operation: [{__name__="a", x="1", y="2"}, {__name__="a", x="1", y="1"}]'
    + ';many-to-many matching not allowed: matching labels must be unique on one side'));
  assert.throws(() => binop('+', false, { ...onX, card: 'one-to-many' }, many, vec([{ x: '1', y: '1' }, 1], [{ x: '1', y: 'q"\n' }, 2])), isEvalError(
    'found duplicate series for the match group {x="1"} on the left hand-side of the operation: [{__name__="a", x="1", y="2"}, {__name__="a", x="1", y="1"}]'
    + ';many-to-many matching not allowed: matching labels must be unique on one side'));
  // ignoring: the match group is every label but the ignored ones and the name.
  assert.throws(() => binop('-', false, { card: 'one-to-one', on: false, labels: ['y'], include: [] }, one, vec([{ x: '1', y: 'q"\n' }, 1], [{ x: '1', y: 'r' }, 2])), isEvalError(
    'found duplicate series for the match group {x="1"} on the right hand-side of the operation: [{x="1", y="r"}, {x="1", y="q\\"\\n"}]'
    + ';many-to-many matching not allowed: matching labels must be unique on one side'));
  assert.throws(() => binop('+', false, onX, many, one), isEvalError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)'));
  assert.throws(() => binop('>', true, onX, many, one), isEvalError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)'));
  // Without bool, the comparison drops a{y="1"} before the check: one match.
  assertSet(binop('>', false, onX, many, one), [[{ x: '1' }, 5]]);
  // many-to-one: fine as long as the output label sets differ; not when group_left(y) makes them equal.
  assertSet(binop('+', false, { ...onX, card: 'many-to-one' }, many, one), [[{ x: '1', y: '1' }, 4], [{ x: '1', y: '2' }, 8]]);
  assert.throws(() => binop('+', false, { ...onX, card: 'many-to-one', include: ['y'] }, many, vec([{ x: '1', y: '3' }, 3])), isEvalError('multiple matches for labels: grouping labels must ensure unique matches'));
  // Nothing on one side: nothing to match, no error even with duplicates on the other.
  assertSet(binop('+', false, onX, vec(), many), []);
  // Comparisons keep the name: two names with the same other labels are a duplicate labelset only without on().
  const names = vec([{ __name__: 'a', x: '1' }, 1], [{ __name__: 'b', x: '2' }, 1]);
  assertSet(binop('==', false, { card: 'many-to-one', on: true, labels: [], include: [] }, names, vec([{}, 1])), [[{ __name__: 'a', x: '1' }, 1], [{ __name__: 'b', x: '2' }, 1]]);
  assert.throws(() => binop('+', false, { card: 'many-to-one', on: true, labels: [], include: ['x'] }, names, vec([{ x: '9' }, 1])), isEvalError('multiple matches for labels: grouping labels must ensure unique matches'));
});

test('binary operations in a range: per step, each side merged from its part', () => {
  const range: EvalMode = { kind: 'range', startS: 0, endS: 60, stepS: 30 };
  const a = part({ kind: 'aggregate', op: 'sum', grouping: by('job') });
  const b = union();
  const expr: PlanExpr = { kind: 'binary', op: '/', bool: false, matching: { card: 'one-to-many', on: true, labels: ['job'], include: [] }, lhs: a, rhs: b };
  const out = evaluatePlan(expr, [a, b], [
    [[mat([{ job: 'x' }, [[0, 2], [30, 4]]])], [mat([{ job: 'x' }, [[0, 2], [60, 8]]])]],
    [[mat([{ __name__: 'm', job: 'x', i: '1' }, [[0, 1], [30, 2], [60, 4]]])], [mat([{ __name__: 'm', job: 'x', i: '2' }, [[30, 1]]])]],
  ], range);
  assert.deepEqual(out.result, [
    { metric: { job: 'x', i: '1' }, values: [[0, '4'], [30, '2'], [60, '2']] },
    { metric: { job: 'x', i: '2' }, values: [[30, '4']] },
  ]);
  // vector(…) has its one sample at every step: `sum(x) or vector(0)` fills the steps where sum(x) has none.
  const c = part({ kind: 'aggregate', op: 'sum', grouping: by() });
  const fill = (data: ShardData) => evaluatePlan({ kind: 'binary', op: 'or', bool: false, matching: manyToMany, lhs: c, rhs: { kind: 'vector', value: 0 } }, [c], [[[data]]], range).result;
  assert.deepEqual(fill(mat([{}, [[30, 7]]])), [{ metric: {}, values: [[0, '0'], [30, '7'], [60, '0']] }]);
  // Other labels do not match vector(0)'s empty set: both are there.
  assert.deepEqual(fill(mat([{ i: '1' }, [[30, 7]]])), [{ metric: {}, values: [[0, '0'], [30, '0'], [60, '0']] }, { metric: { i: '1' }, values: [[30, '7']] }]);
});

test('quantile over a union part: every shard\'s values', () => {
  const p = planPushdown('quantile by (job) (0.5, x)', { lookbackDeltaMs: 300_000 });
  if ('fallback' in p) assert.fail(p.detail);
  const out = evaluatePlan(p.expr, p.parts, [[
    [vec([{ __name__: 'x', job: 'a', i: '1' }, 1], [{ __name__: 'x', job: 'a', i: '2' }, 10])],
    [vec([{ __name__: 'x', job: 'a', i: '3' }, 4], [{ __name__: 'x', job: 'b', i: '4' }, 7])],
  ]], instant);
  assertSet(out, [[{ job: 'a' }, 4], [{ job: 'b' }, 7]]);
});

// ---------------------------------------------------------------------------------------------------------
// Property: a binary operation between aggregations split over shards = over the whole data
// ---------------------------------------------------------------------------------------------------------

const PROPERTY_OPS: BinaryOperator[] = ['+', '-', '*', '/', '%', '^', 'atan2', '==', '!=', '>', '<', '>=', '<=', 'and', 'or', 'unless'];

/** A plain reference of a binary operation: lhs grouped by (job, x) or by (job), rhs by (job); matched on job. */
function referenceBinop(op: BinaryOperator, bool: boolean, lhs: Series[], rhs: Series[], groupLeft: boolean): Series[] {
  const job = (m: Labels) => m.job ?? '';
  if (op === 'and') return lhs.filter((l) => rhs.some((r) => job(r.metric) === job(l.metric)));
  if (op === 'unless') return lhs.filter((l) => !rhs.some((r) => job(r.metric) === job(l.metric)));
  if (op === 'or') return [...lhs, ...rhs.filter((r) => !lhs.some((l) => job(l.metric) === job(r.metric)))];
  const out: Series[] = [];
  for (const l of lhs) {
    const r = rhs.find((x) => job(x.metric) === job(l.metric));
    if (r === undefined) continue;
    const metric = groupLeft ? { ...l.metric } : (l.metric.job === undefined ? {} : { job: l.metric.job });
    const cmp: Partial<Record<BinaryOperator, boolean>> = { '==': l.value === r.value, '!=': l.value !== r.value, '>': l.value > r.value, '<': l.value < r.value, '>=': l.value >= r.value, '<=': l.value <= r.value };
    const c = cmp[op];
    if (c === undefined) {
      const arith: Partial<Record<BinaryOperator, number>> = { '+': l.value + r.value, '-': l.value - r.value, '*': l.value * r.value, '/': l.value / r.value, '%': l.value % r.value, '^': l.value ** r.value, atan2: Math.atan2(l.value, r.value) };
      out.push({ metric, value: arith[op]! });
    } else if (bool) out.push({ metric, value: c ? 1 : 0 });
    else if (c) out.push({ metric, value: l.value });
  }
  return out;
}

test('property: a binary operation between two aggregations, split over shards, equals it over the whole data', () => {
  const seriesArb = fc.array(
    fc.record({ name: fc.constantFrom('a', 'b'), job: fc.constantFrom('j1', 'j2', 'j3', ''), x: fc.constantFrom('1', '2'), value: fc.integer({ min: -4, max: 4 }), shard: fc.nat(3) }),
    { maxLength: 24 },
  );
  const aggArb = fc.constantFrom<DecomposableOp>('sum', 'min', 'max', 'count');
  fc.assert(
    fc.property(fc.constantFrom(...PROPERTY_OPS), fc.boolean(), aggArb, aggArb, fc.boolean(), fc.integer({ min: 1, max: 4 }), seriesArb, (op, boolIfComparison, lop, rop, groupLeft, shardCount, raw) => {
      const isSet = op === 'and' || op === 'or' || op === 'unless';
      const bool = boolIfComparison && ['==', '!=', '>', '<', '>=', '<='].includes(op);
      // Groups: lhs by (job, x) many-to-one on(job) group_left (or by (job) one-to-one on(job)); rhs by (job).
      const lg = groupLeft && !isSet ? by('job', 'x') : by('job');
      const rg = by('job');
      const series = raw.map((r, i): Series & { name: string; shard: number } => {
        const metric: Labels = { __name__: r.name, id: String(i), x: r.x };
        if (r.job) metric.job = r.job;
        return { metric, value: r.value, name: r.name, shard: r.shard % shardCount };
      });
      const side = (n: string) => series.filter((s) => s.name === n);
      const matching: VectorMatching = { card: isSet ? 'many-to-many' : groupLeft ? 'many-to-one' : 'one-to-one', on: true, labels: ['job'], include: [] };
      const lpart = part({ kind: 'aggregate', op: lop, grouping: lg });
      const rpart = part({ kind: 'aggregate', op: rop, grouping: rg });
      const answersOf = (aop: DecomposableOp, g: Grouping, n: string) =>
        Array.from({ length: shardCount }, (_, s) => shardAnswers(aop, g, 0, side(n).filter((x) => x.shard === s)));
      const expr: PlanExpr = { kind: 'binary', op, bool, matching, lhs: lpart, rhs: rpart };
      const got = numbersOf(evaluatePlan(expr, [lpart, rpart], [answersOf(lop, lg, 'a'), answersOf(rop, rg, 'b')], instant));
      const want = referenceBinop(op, bool, referenceAggregate(lop, lg, 0, side('a')), referenceAggregate(rop, rg, 0, side('b')), groupLeft && !isSet);
      const key = (m: Labels, v: number) => `${keyOf(m)}=${formatValue(v)}`;
      const context = `${lop}(a) ${op}${bool ? ' bool' : ''} ${rop}(b) over ${shardCount} shards`;
      const close = (x: number, w: number) => (Number.isNaN(w) ? Number.isNaN(x) : x === w || Math.abs(x - w) <= 1e-9 * Math.max(1, Math.abs(w)));
      assert.deepEqual(got.map(([m]) => keyOf(m)).sort(), want.map((s) => keyOf(s.metric)).sort(), context);
      for (const [m, v] of got) {
        const w = want.find((s) => keyOf(s.metric) === keyOf(m))!;
        assert.ok(close(v, w.value), `${context}: ${key(m, v)} vs ${key(w.metric, w.value)}`);
      }
      // The same over union parts: the front door aggregates the whole series itself.
      const lu = union();
      const ru = union();
      const unionExpr: PlanExpr = { kind: 'binary', op, bool, matching, lhs: { kind: 'aggregate', op: lop, grouping: lg, arg: lu }, rhs: { kind: 'aggregate', op: rop, grouping: rg, arg: ru } };
      const raw2 = (n: string) => Array.from({ length: shardCount }, (_, s) => [vec(...side(n).filter((x) => x.shard === s).map((x): [Labels, Value] => [x.metric, x.value]))]);
      const direct = numbersOf(evaluatePlan(unionExpr, [lu, ru], [raw2('a'), raw2('b')], instant));
      assert.deepEqual(direct.map(([m, v]) => key(m, v)).sort(), got.map(([m, v]) => key(m, v)).sort(), `direct: ${context}`);
    }),
    { numRuns: 500 },
  );
});
