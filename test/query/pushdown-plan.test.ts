/**
 * The pushdown planner: which queries split into parts every shard answers, the texts sent, and what they read;
 * binary operations between vectors as nodes over their operands' parts, with Prometheus's vector matching.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planPushdown, type PushdownFallback } from '../../src/query/pushdown-plan.js';
import type { PlanExpr, PushdownPlan, PushedPart, SelectorRead } from '../../src/query/pushdown-types.js';

const LOOKBACK = 300_000;
const name = (value: string) => ({ name: '__name__', type: '=' as const, value });
const byNone = { without: false, labels: [] };

function plan(q: string): PushdownPlan {
  const p = planPushdown(q, { lookbackDeltaMs: LOOKBACK });
  if ('fallback' in p) assert.fail(`${q} fell back: ${p.fallback} (${p.detail})`);
  return p;
}
function fallback(q: string): PushdownFallback {
  const p = planPushdown(q, { lookbackDeltaMs: LOOKBACK });
  assert.ok('fallback' in p, `${q} was planned: ${JSON.stringify(p)}`);
  return p;
}
/** The one part of a plan that is a single part. */
function onePart(q: string): PushedPart {
  const p = plan(q);
  assert.equal(p.parts.length, 1);
  assert.equal(p.expr, p.parts[0]);
  return p.parts[0]!;
}
function reads(q: string): SelectorRead[] {
  return plan(q).reads;
}

test('per-series expressions are one union part with the query as written', () => {
  for (const q of [
    'demo_metric{series_id="7"}',
    'rate(x[5m])',
    'predict_linear(x[1h], 3600)',
    'holt_winters(x[10m], 0.5, 0.5)',
    'quantile_over_time(0.9, x[5m])',
    'max_over_time(rate(x[1m])[10m:1m])',
    'abs(x)',
    'clamp(x, -1, (2))',
    'clamp_min(x, 0)',
    'round(x)',
    'round(x, 0.5)',
    'hour(timestamp(x))',
    'x > 5',
    '2 * x',
    'x == bool 1',
    '-(x + 1)',
    '(x)',
    'x offset 5m',
    'x @ start()',
    '-x offset 1m',
    'rate(x[5m] @ 100 offset 1m) * -1',
    'x # comment\n  / 2',
  ]) {
    assert.deepEqual(onePart(q), { kind: 'pushed', queries: [q], merge: { kind: 'union' } }, q);
  }
});

test('decomposable aggregations of P: one part, rebuilt canonically around P as written', () => {
  assert.deepEqual(onePart('sum by (instance) (rate(demo_requests_total[5m]))'), {
    kind: 'pushed', queries: ['sum by (instance) (rate(demo_requests_total[5m]))'],
    merge: { kind: 'aggregate', op: 'sum', grouping: { without: false, labels: ['instance'] } },
  });
  assert.deepEqual(onePart('count(demo_metric)').merge, { kind: 'aggregate', op: 'count', grouping: byNone });
  assert.deepEqual(onePart('count(demo_metric)').queries, ['count(demo_metric)']);
  assert.deepEqual(onePart('sum(rate(demo_requests_total[2m]))').queries, ['sum(rate(demo_requests_total[2m]))']);
  assert.deepEqual(onePart('SUM(x)').queries, ['sum(x)']);
  assert.deepEqual(onePart('count(demo_metric > 50)').queries, ['count(demo_metric > 50)']);
  assert.deepEqual(onePart('sum(demo_metric offset 10s)').queries, ['sum(demo_metric offset 10s)']);
  assert.deepEqual(onePart('min(x)').merge, { kind: 'aggregate', op: 'min', grouping: byNone });
  assert.deepEqual(onePart('max(x)').merge, { kind: 'aggregate', op: 'max', grouping: byNone });
  assert.deepEqual(onePart('sum(x # why\n)').queries, ['sum(x)']);
  assert.deepEqual(onePart('group by (job, team) (up)'), {
    kind: 'pushed', queries: ['group by (job, team) (up)'],
    merge: { kind: 'aggregate', op: 'group', grouping: { without: false, labels: ['job', 'team'] } },
  });
});

test('grouping: by/without, written before or after the arguments', () => {
  const cases: Array<[string, string, boolean, string[]]> = [
    ['sum by (a, b) (x)', 'sum by (a, b) (x)', false, ['a', 'b']],
    ['sum(x) by (a,b)', 'sum by (a, b) (x)', false, ['a', 'b']],
    ['sum without (a) (x)', 'sum without (a) (x)', true, ['a']],
    ['sum(x) without(a)', 'sum without (a) (x)', true, ['a']],
    ['sum(x) by ()', 'sum(x)', false, []],
    ['sum without () (x)', 'sum without () (x)', true, []],
  ];
  for (const [q, sent, without, labels] of cases) {
    const part = onePart(q);
    assert.deepEqual(part.queries, [sent], q);
    assert.deepEqual(part.merge, { kind: 'aggregate', op: 'sum', grouping: { without, labels } }, q);
  }
});

test('the queries sent for avg, stddev, stdvar, count_values, topk and bottomk', () => {
  assert.deepEqual(onePart('avg by (job) (demo_metric)'), {
    kind: 'pushed', queries: ['sum by (job) (demo_metric)', 'count by (job) (demo_metric)'],
    merge: { kind: 'aggregate', op: 'avg', grouping: { without: false, labels: ['job'] } },
  });
  assert.deepEqual(onePart('stddev(demo_metric)'), {
    kind: 'pushed', queries: ['count(demo_metric)', 'avg(demo_metric)', 'stdvar(demo_metric)'],
    merge: { kind: 'aggregate', op: 'stddev', grouping: byNone },
  });
  assert.deepEqual(onePart('stdvar(x) without (i)').queries, ['count without (i) (x)', 'avg without (i) (x)', 'stdvar without (i) (x)']);
  assert.deepEqual(onePart('count_values("value", demo_metric{series_id="5"})'), {
    kind: 'pushed', queries: ['count_values("value", demo_metric{series_id="5"})'],
    merge: { kind: 'aggregate', op: 'count_values', grouping: byNone, param: 'value' },
  });
  const quoted = onePart(`count_values without (x) ('v\\x41l', y)`);
  assert.deepEqual(quoted.queries, ['count_values without (x) ("vAl", y)']);
  assert.deepEqual(quoted.merge, { kind: 'aggregate', op: 'count_values', grouping: { without: true, labels: ['x'] }, param: 'vAl' });
  assert.deepEqual(onePart('topk(10, demo_metric)'), {
    kind: 'pushed', queries: ['topk(10, demo_metric)'], merge: { kind: 'aggregate', op: 'topk', grouping: byNone, param: 10 },
  });
  assert.deepEqual(onePart('topk(3, x) by (a)').queries, ['topk by (a) (3, x)']);
  assert.deepEqual(onePart('bottomk by (a) (2, rate(x[1m]))').merge, {
    kind: 'aggregate', op: 'bottomk', grouping: { without: false, labels: ['a'] }, param: 2,
  });
});

test('absent and absent_over_time: the whole call, merged as absent', () => {
  assert.deepEqual(onePart('absent(no_such_metric)'), { kind: 'pushed', queries: ['absent(no_such_metric)'], merge: { kind: 'absent' } });
  assert.deepEqual(onePart('absent_over_time(x{a="b"}[5m])'), { kind: 'pushed', queries: ['absent_over_time(x{a="b"}[5m])'], merge: { kind: 'absent' } });
  assert.equal(fallback('absent(sum(x))').fallback, 'unsupported');
});

test('expressions over non-union parts are evaluated in the front door', () => {
  const sumByInstance: PushedPart = {
    kind: 'pushed', queries: ['sum by (instance) (demo_metric)'],
    merge: { kind: 'aggregate', op: 'sum', grouping: { without: false, labels: ['instance'] } },
  };
  const expect = (q: string, expr: PlanExpr) => {
    const p = plan(q);
    assert.deepEqual(p.expr, expr, q);
    assert.deepEqual(p.parts, [sumByInstance], q);
    assert.deepEqual(p.reads, [{ matchers: [name('demo_metric')], beforeMs: LOOKBACK, afterMs: 0 }], q);
  };
  expect('topk(3, sum by (instance) (demo_metric))', { kind: 'aggregate', op: 'topk', grouping: byNone, param: 3, arg: sumByInstance });
  expect('quantile(0.5, sum by (instance) (demo_metric))', { kind: 'aggregate', op: 'quantile', grouping: byNone, param: 0.5, arg: sumByInstance });
  expect('sort_desc(sum by (instance) (demo_metric))', { kind: 'sort', descending: true, arg: sumByInstance });
  expect('sort((sum by (instance) (demo_metric)))', { kind: 'sort', descending: false, arg: sumByInstance });
  expect('label_replace(sum by (instance) (demo_metric), "port", "$1", "instance", ".*:(.*)")', {
    kind: 'label_replace', dst: 'port', replacement: '$1', src: 'instance', regex: '.*:(.*)', arg: sumByInstance,
  });
  expect('sum by (instance) (demo_metric) * 2', { kind: 'scalar_op', op: '*', scalar: 2, scalarLeft: false, bool: false, arg: sumByInstance });
  expect('-1 < bool sum by (instance) (demo_metric)', { kind: 'scalar_op', op: '<', scalar: -1, scalarLeft: true, bool: true, arg: sumByInstance });
  expect('100 * sum by (instance) (demo_metric) > 0x10', {
    kind: 'scalar_op', op: '>', scalar: 16, scalarLeft: false, bool: false,
    arg: { kind: 'scalar_op', op: '*', scalar: 100, scalarLeft: true, bool: false, arg: sumByInstance },
  });
  expect('sum by (instance) (demo_metric) != - - 3', { kind: 'scalar_op', op: '!=', scalar: 3, scalarLeft: false, bool: false, arg: sumByInstance });
  expect('sum by (instance) (demo_metric) ^ (010)', { kind: 'scalar_op', op: '^', scalar: 8, scalarLeft: false, bool: false, arg: sumByInstance });
  const hq = plan('histogram_quantile(0.9, sum by (le) (rate(x_bucket[30s])))');
  assert.deepEqual(hq.expr, { kind: 'histogram_quantile', phi: 0.9, arg: hq.parts[0] });
  assert.deepEqual(hq.parts[0]!.queries, ['sum by (le) (rate(x_bucket[30s]))']);
  const nested = plan('count(count by (series_id) (demo_metric))');
  assert.deepEqual(nested.expr, { kind: 'aggregate', op: 'count', grouping: byNone, arg: nested.parts[0] });
  assert.deepEqual(nested.parts[0]!.queries, ['count by (series_id) (demo_metric)']);
  const counted = plan('count_values without (a) ("v", absent(x))');
  assert.deepEqual(counted.expr, { kind: 'aggregate', op: 'count_values', grouping: { without: true, labels: ['a'] }, param: 'v', arg: counted.parts[0] });
});

test('parts in depth-first order, the same objects as in the tree', () => {
  const p = plan('sort(topk(1, sum by (a) (x) * 2))');
  assert.equal(p.parts.length, 1);
  assert.equal(((p.expr as { arg: { arg: { arg: PlanExpr } } }).arg.arg.arg), p.parts[0]);
});

test('reads: lookback, ranges, offsets (negative: after), subqueries, @', () => {
  const x = [name('x')];
  const r = (q: string) => reads(q).map(({ beforeMs, afterMs, atMs }) => ({ beforeMs, afterMs, atMs }));
  assert.deepEqual(reads('x{a="b", c=~"d.*"}'), [{
    matchers: [{ name: 'a', type: '=', value: 'b' }, { name: 'c', type: '=~', value: 'd.*' }, name('x')], beforeMs: LOOKBACK, afterMs: 0,
  }]);
  assert.deepEqual(reads('{__name__="x", a!="1", b!~"2"}')[0]!.matchers, [name('x'), { name: 'a', type: '!=', value: '1' }, { name: 'b', type: '!~', value: '2' }]);
  assert.deepEqual(reads('sum(demo_metric offset 10s)'), [{ matchers: [name('demo_metric')], beforeMs: LOOKBACK + 10_000, afterMs: -10_000 }]);
  assert.deepEqual(reads('rate(x[5m])'), [{ matchers: x, beforeMs: 300_000, afterMs: 0 }]);
  assert.deepEqual(r('rate(x[1h30m] offset 1d)'), [{ beforeMs: 5_400_000 + 86_400_000, afterMs: -86_400_000, atMs: undefined }]);
  assert.deepEqual(r('rate(x[10m] offset -1h)'), [{ beforeMs: -3_000_000, afterMs: 3_600_000, atMs: undefined }]);
  assert.deepEqual(r('x offset -1m'), [{ beforeMs: LOOKBACK - 60_000, afterMs: 60_000, atMs: undefined }]);
  assert.deepEqual(r('max_over_time(x[5m:1m])'), [{ beforeMs: 360_000 + LOOKBACK, afterMs: 0, atMs: undefined }]);
  assert.deepEqual(r('max_over_time(x[5m:])'), [{ beforeMs: 300_000 + LOOKBACK, afterMs: 0, atMs: undefined }]);
  assert.deepEqual(r('max_over_time(rate(x[1m] offset 1m)[1w:1h] offset 2m)'), [{ beforeMs: 604_800_000 + 3_600_000 + 60_000 + 120_000 + 60_000, afterMs: -180_000, atMs: undefined }]);
  assert.deepEqual(r('x @ 100.5'), [{ beforeMs: LOOKBACK, afterMs: 0, atMs: 100_500 }]);
  assert.deepEqual(r('x @ - 1e1'), [{ beforeMs: LOOKBACK, afterMs: 0, atMs: -10_000 }]);
  assert.deepEqual(r('x @ -5 offset 1m'), [{ beforeMs: LOOKBACK + 60_000, afterMs: -60_000, atMs: -5000 }]);
  assert.deepEqual(r('rate(x[5m] @ end())'), [{ beforeMs: 300_000, afterMs: 0, atMs: 'end' }]);
  // an @ on a subquery applies inside it, and makes the enclosing subqueries' ranges and offsets moot
  assert.deepEqual(r('max_over_time(max_over_time(x[10s:5s] @ start())[1h:1m] offset 1d)'), [{ beforeMs: 15_000 + LOOKBACK, afterMs: 0, atMs: 'start' }]);
  assert.deepEqual(r('max_over_time(rate(x[1m] @ 7)[1h:1m])'), [{ beforeMs: 60_000, afterMs: 0, atMs: 7000 }]);
  assert.deepEqual(r('max_over_time(rate(x[1m] offset -10m)[5m:1m] @ end())'), [{ beforeMs: -180_000, afterMs: 600_000, atMs: 'end' }]);
  // one read per selector of every part, in the parts' order
  assert.deepEqual(reads('avg(a) ').length, 1);
  assert.deepEqual(reads('count_values("v", absent(b) * 2)').map((s) => s.matchers), [[name('b')]]);
});

test('the queries that must be planned are', () => {
  for (const q of [
    'count(demo_metric)', 'sum by (instance) (demo_metric)', 'topk(10, demo_metric)', 'sum by (instance) (rate(demo_requests_total[5m]))',
    'sum(rate(demo_requests_total[2m]))', 'demo_metric{series_id="7"}', 'histogram_quantile(0.9, sum by (le) (rate(x_bucket[30s])))',
    'topk(3, sum by (instance) (demo_metric))', 'count(count by (series_id) (demo_metric))',
    'label_replace(sum by (instance) (demo_metric), "port", "$1", "instance", ".*:(.*)")', 'sort_desc(sum by (instance) (demo_metric))',
    'avg by (job) (demo_metric)', 'stddev(demo_metric)', 'count_values("value", demo_metric{series_id="5"})', 'absent(no_such_metric)',
    'sum(demo_metric offset 10s)', 'count(demo_metric > 50)', 'group by (job, team) (up)',
    'rate(a[5m]) / rate(b[5m])', 'sum(rate(x[5m])) / sum(rate(y[5m]))', 'quantile(0.5, x)', 'a / b', 'x and y', 'sum(x) or vector(0)',
    'node_cpu / on (instance) group_left sum by (instance, job) (node_cpu)', 'count(up == 1) + on() group_left vector(0)',
  ]) plan(q);
});

test('fallbacks: unsupported, no_selector, parse', () => {
  const unsupported = [
    'label_replace(x, "dst", "$1", "src", "(.*)")',
    'max_over_time(count(x)[5m:1m])',
    'sort(x)',
    'histogram_quantile(0.9, rate(x_bucket[5m]))',
    'label_join(x, "a", ",", "b")',
    'scalar(x)',
    'time() - timestamp(x) > time()',
    'x / scalar(y)',
    'x + vector(scalar(y))',
    'x + vector(time())',
    'x + on() 1',
    'sort(x) / y',
    'sum(x) - time()',
    'topk(scalar(y), x)',
    'sum(x offset 1m offset 2m)',
    '(x) offset 1m',
    'rate((x[5m]))',
    'histogram_quantile(scalar(y), sum by (le) (x))',
    'label_replace(sum(x), "1bad", "", "a", "")',
    'label_replace(sum(x), "a", "", "a", "(")',
    '-sum(x)',
    '-(a / b)',
  ];
  for (const q of unsupported) {
    const f = fallback(q);
    assert.equal(f.fallback, 'unsupported', `${q}: ${f.detail}`);
    assert.ok(f.detail.length > 0);
  }
  for (const q of ['vector(1)', '1 + 2', 'time()', 'hour()']) assert.equal(fallback(q).fallback, 'no_selector', q);
  for (const q of ['sum(', 'x{a="b"', 'rate(x[5m]', '']) assert.equal(fallback(q).fallback, 'parse', q);
});

test('what Prometheus\'s parser refuses in binary operations falls back as parse, with its message', () => {
  const cases: Array<[string, string]> = [
    ['x + bool 1', 'bool modifier can only be used on comparison operators'],
    ['a + bool b', 'bool modifier can only be used on comparison operators'],
    ['a and bool b', 'bool modifier can only be used on comparison operators'],
    ['a and on(x) group_left b', 'no grouping allowed for "and" operation'],
    ['a OR ignoring(x) group_right(y) b', 'no grouping allowed for "or" operation'],
    ['a * on(x, y) group_left(y) b', 'label "y" must not occur in ON and GROUP clause at once'],
    ['a unless 1', 'set operator "unless" not allowed in binary scalar expression'],
    ['a + on(x) 1', 'vector matching only allowed between instant vectors'],
  ];
  for (const [q, message] of cases) assert.deepEqual(fallback(q), { fallback: 'parse', detail: message }, q);
  // ignoring(x) group_left(x) is allowed: only `on` conflicts with the included labels.
  plan('a * ignoring(x) group_left(x) b');
});

// ---------------------------------------------------------------------------------------------------------
// Binary operations between vectors, quantile over P
// ---------------------------------------------------------------------------------------------------------

const unionOf = (q: string): PushedPart => ({ kind: 'pushed', queries: [q], merge: { kind: 'union' } });
const oneToOne = { card: 'one-to-one', on: false, labels: [], include: [] } as const;
const manyToMany = { card: 'many-to-many', on: false, labels: [], include: [] } as const;

test('binary operations between per-series expressions: a node over two union parts, left first', () => {
  const p = plan('rate(a[5m]) / rate(b[5m])');
  assert.deepEqual(p.expr, { kind: 'binary', op: '/', bool: false, matching: oneToOne, lhs: unionOf('rate(a[5m])'), rhs: unionOf('rate(b[5m])') });
  assert.deepEqual(p.parts, [unionOf('rate(a[5m])'), unionOf('rate(b[5m])')]);
  const expr = p.expr as { lhs: PlanExpr; rhs: PlanExpr };
  assert.equal(expr.lhs, p.parts[0]);
  assert.equal(expr.rhs, p.parts[1]);
  assert.deepEqual(p.reads, [{ matchers: [name('a')], beforeMs: 300_000, afterMs: 0 }, { matchers: [name('b')], beforeMs: 300_000, afterMs: 0 }]);
  // Per-series operands keep their own literals and modifiers; the operation of two of them is not per-series.
  const q = plan('(x > 5) + on(i) (y offset 1m * 2)');
  assert.deepEqual(q.parts, [unionOf('(x > 5)'), unionOf('(y offset 1m * 2)')]);
  assert.deepEqual((q.expr as { matching: unknown }).matching, { card: 'one-to-one', on: true, labels: ['i'], include: [] });
  assert.deepEqual(q.reads[1], { matchers: [name('y')], beforeMs: LOOKBACK + 60_000, afterMs: -60_000 });
});

test('binary operations between aggregations: a node over two aggregate parts', () => {
  const p = plan('sum(rate(x[5m])) / sum(rate(y[5m]))');
  const sumOf = (m: string): PushedPart => ({ kind: 'pushed', queries: [`sum(rate(${m}[5m]))`], merge: { kind: 'aggregate', op: 'sum', grouping: byNone } });
  assert.deepEqual(p.expr, { kind: 'binary', op: '/', bool: false, matching: oneToOne, lhs: sumOf('x'), rhs: sumOf('y') });
  assert.deepEqual(p.parts, [sumOf('x'), sumOf('y')]);
  // The same part twice is two parts (each its own object).
  assert.equal(plan('sum(x) + sum(x)').parts.length, 2);
  // Mixed: an aggregation over a node, a node over an aggregation.
  const mixed = plan('sum by (job) (a / b) > bool on(job) group_left avg by (job) (c)');
  assert.deepEqual(mixed.parts.map((x) => x.queries), [['a'], ['b'], ['sum by (job) (c)', 'count by (job) (c)']]);
  assert.deepEqual(mixed.expr, {
    kind: 'binary', op: '>', bool: true, matching: { card: 'many-to-one', on: true, labels: ['job'], include: [] },
    lhs: { kind: 'aggregate', op: 'sum', grouping: { without: false, labels: ['job'] }, arg: { kind: 'binary', op: '/', bool: false, matching: oneToOne, lhs: unionOf('a'), rhs: unionOf('b') } },
    rhs: mixed.parts[2],
  });
});

test('vector matching: on/ignoring, group_left/group_right with their labels, set operators many-to-many', () => {
  const matchingOf = (q: string) => (plan(q).expr as { matching: unknown }).matching;
  assert.deepEqual(matchingOf('a * on (instance) group_left (role) b'), { card: 'many-to-one', on: true, labels: ['instance'], include: ['role'] });
  assert.deepEqual(matchingOf('a * ignoring(role, mode) group_right(role,) b'), { card: 'one-to-many', on: false, labels: ['role', 'mode'], include: ['role'] });
  assert.deepEqual(matchingOf('a / on() group_left b'), { card: 'many-to-one', on: true, labels: [], include: [] });
  assert.deepEqual(matchingOf('a + ignoring() b'), oneToOne);
  assert.deepEqual(matchingOf('a and b'), manyToMany);
  assert.deepEqual(matchingOf('a OR on(x) b'), { card: 'many-to-many', on: true, labels: ['x'], include: [] });
  assert.deepEqual(matchingOf('a unless ignoring(sum, on) b'), { card: 'many-to-many', on: false, labels: ['sum', 'on'], include: [] });
  const ops = (q: string) => { const e = plan(q).expr as { op: string; bool: boolean }; return [e.op, e.bool]; };
  assert.deepEqual(ops('a atan2 b'), ['atan2', false]);
  assert.deepEqual(ops('a == bool b'), ['==', true]);
  assert.deepEqual(ops('a % b'), ['%', false]);
  assert.deepEqual(ops('a ^ b'), ['^', false]);
  assert.deepEqual(ops('a unless b'), ['unless', false]);
});

test('precedence and nesting: a + b * c, scalars around nodes', () => {
  const p = plan('a + b * c');
  assert.deepEqual(p.parts.map((x) => x.queries[0]), ['a', 'b', 'c']);
  assert.deepEqual(p.expr, {
    kind: 'binary', op: '+', bool: false, matching: oneToOne, lhs: unionOf('a'),
    rhs: { kind: 'binary', op: '*', bool: false, matching: oneToOne, lhs: unionOf('b'), rhs: unionOf('c') },
  });
  assert.deepEqual(plan('100 * (a / b)').expr, {
    kind: 'scalar_op', op: '*', scalar: 100, scalarLeft: true, bool: false,
    arg: { kind: 'binary', op: '/', bool: false, matching: oneToOne, lhs: unionOf('a'), rhs: unionOf('b') },
  });
});

test('vector(<number>) as an operand: a constant node, no part', () => {
  const p = plan('sum(x) or vector(0)');
  assert.deepEqual(p.expr, { kind: 'binary', op: 'or', bool: false, matching: manyToMany, lhs: p.parts[0], rhs: { kind: 'vector', value: 0 } });
  assert.equal(p.parts.length, 1);
  const q = plan('count(up == 1) + on() group_left vector(-1.5)');
  assert.deepEqual(q.expr, { kind: 'binary', op: '+', bool: false, matching: { card: 'many-to-one', on: true, labels: [], include: [] }, lhs: q.parts[0], rhs: { kind: 'vector', value: -1.5 } });
  assert.deepEqual(plan('x AND ON (dummy) vector(1)').expr, { kind: 'binary', op: 'and', bool: false, matching: { card: 'many-to-many', on: true, labels: ['dummy'], include: [] }, lhs: unionOf('x'), rhs: { kind: 'vector', value: 1 } });
  assert.equal(fallback('vector(1) + vector(2)').fallback, 'no_selector');
});

test('quantile over a per-series expression: a node over its union part', () => {
  const p = plan('quantile by (job) (0.9, rate(x[5m]))');
  assert.deepEqual(p.expr, { kind: 'aggregate', op: 'quantile', grouping: { without: false, labels: ['job'] }, param: 0.9, arg: unionOf('rate(x[5m])') });
  assert.deepEqual(p.parts, [unionOf('rate(x[5m])')]);
  assert.deepEqual(plan('quantile(0.5, x)').parts, [unionOf('x')]);
  assert.equal(fallback('quantile(scalar(y), x)').fallback, 'unsupported');
});
