/**
 * Merging the TSDB status, the targets' metadata and exemplars of several shards into one Prometheus's answer: edge
 * cases on answers shaped as Prometheus 2.42 gives them, then real Prometheus shards (and a replica) against one
 * reference Prometheus scraping every target.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  compareBytewise, EMPTY_HEAD_MAX_TIME, EMPTY_HEAD_MIN_TIME, labelNamesToCount, mergeExemplars, mergeTargetMetadata, mergeTsdbStatus,
  type TsdbStat, type TsdbStatus,
} from '../../src/query/api-merge.js';
import { startPrometheus, waitFor, type RunningPrometheus } from '../helpers/prometheus.js';
import { startTarget, type TestTarget } from '../helpers/targets.js';
import { tempDir } from '../helpers/tmp.js';

/** An empty Prometheus 2.42's status, as JSON.parse reads it (the sentinels become ±2^63). */
const EMPTY = JSON.parse('{"headStats":{"numSeries":0,"numLabelPairs":0,"chunkCount":0,"minTime":9223372036854775807,"maxTime":-9223372036854775808},"seriesCountByMetricName":[],"labelValueCountByLabelName":[],"memoryInBytesByLabelName":[],"seriesCountByLabelValuePair":[]}') as TsdbStatus;

const stats = (...pairs: Array<[string, number]>): TsdbStat[] => pairs.map(([name, value]) => ({ name, value }));

const shardA: TsdbStatus = {
  headStats: { numSeries: 142, numLabelPairs: 86, chunkCount: 142, minTime: 1_700_000_001_000, maxTime: 1_700_000_031_000 },
  seriesCountByMetricName: stats(['m_9', 22], ['m_8', 20], ['up', 2]),
  labelValueCountByLabelName: stats(['s', 65], ['__name__', 16], ['instance', 2], ['job', 1]),
  memoryInBytesByLabelName: stats(['s', 260], ['__name__', 150], ['instance', 30], ['job', 3]),
  seriesCountByLabelValuePair: stats(['job=app', 142], ['instance=a:1', 72], ['instance=a:2', 70], ['__name__=m_9', 22]),
};
const shardB: TsdbStatus = {
  headStats: { numSeries: 202, numLabelPairs: 117, chunkCount: 202, minTime: 1_700_000_000_500, maxTime: 1_700_000_030_500 },
  seriesCountByMetricName: stats(['only_b', 60], ['m_9', 22], ['up', 2]),
  labelValueCountByLabelName: stats(['s', 95], ['__name__', 17], ['instance', 2], ['job', 1]),
  memoryInBytesByLabelName: stats(['s', 400], ['__name__', 170], ['instance', 30], ['job', 3]),
  seriesCountByLabelValuePair: stats(['job=app', 202], ['instance=b:1', 102], ['instance=b:2', 100], ['__name__=only_b', 60], ['__name__=m_9', 22]),
};

test('TSDB status: head figures summed, times over non-empty heads, lists summed per name and cut', () => {
  const m = mergeTsdbStatus([shardA, EMPTY, shardB], 10, { labelValueCounts: { s: 95, __name__: 17, instance: 4, job: 1 } });
  // Pairs counted twice: s 65+95-95, __name__ 16+17-17, instance 2+2-4, job 1+1-1 (the empty head's lists are whole).
  assert.deepEqual(m.headStats, { numSeries: 344, numLabelPairs: 86 + 117 - (65 + 16 + 0 + 1), chunkCount: 344, minTime: 1_700_000_000_500, maxTime: 1_700_000_031_000 });
  assert.deepEqual(m.seriesCountByMetricName, stats(['only_b', 60], ['m_9', 44], ['m_8', 20], ['up', 4]));
  assert.deepEqual(m.labelValueCountByLabelName, stats(['s', 95], ['__name__', 17], ['instance', 4], ['job', 1]));
  assert.deepEqual(m.memoryInBytesByLabelName, stats(['s', 660], ['__name__', 320], ['instance', 60], ['job', 6]));
  assert.deepEqual(m.seriesCountByLabelValuePair, stats(['job=app', 344], ['instance=b:1', 102], ['instance=b:2', 100], ['instance=a:1', 72], ['instance=a:2', 70], ['__name__=only_b', 60], ['__name__=m_9', 44]));
  assert.deepEqual(mergeTsdbStatus([shardA, shardB], undefined, { labelValueCounts: { s: 95, __name__: 17, instance: 4, job: 1 } }), m, 'limit 10 by default; the empty head changes nothing');
});

test('TSDB status: without exact counts, the greatest shard count (a lower bound) and pairs simply summed', () => {
  const m = mergeTsdbStatus([shardA, shardB]);
  assert.deepEqual(m.labelValueCountByLabelName, stats(['s', 95], ['__name__', 17], ['instance', 2], ['job', 1]));
  assert.equal(m.headStats.numLabelPairs, 86 + 117);
  // An exact count wins, even for a name no shard ranks (the caller counted more names).
  const e = mergeTsdbStatus([shardA, shardB], 10, { labelValueCounts: { instance: 4, code: 3 } });
  assert.deepEqual(e.labelValueCountByLabelName, stats(['s', 95], ['__name__', 17], ['instance', 4], ['code', 3], ['job', 1]));
  // code is on no list, and every list is whole: no shard has it, nothing to correct for it.
  assert.equal(e.headStats.numLabelPairs, 86 + 117 - 0);
});

test('TSDB status: pairs are not corrected for a name a cut list may hide', () => {
  const names = Array.from({ length: 10 }, (_, i) => `l${i}`);
  const full = (n: number): TsdbStatus => ({ ...EMPTY, headStats: { ...EMPTY.headStats, numLabelPairs: 1000 }, labelValueCountByLabelName: names.map((name, i) => ({ name, value: n + 10 - i })) });
  // Shard 1 ranks job (5 values) in its 10; shard 2's list is full without it: its count of job is unknown.
  const one = full(3);
  one.labelValueCountByLabelName[9] = { name: 'job', value: 5 };
  const m = mergeTsdbStatus([one, full(20)], 10, { labelValueCounts: { job: 5, l0: 30 } });
  // l0: 13 + 30 - 30 = 13 counted twice; job: unknown on shard 2, left alone.
  assert.equal(m.headStats.numLabelPairs, 2000 - 13);
});

test('TSDB status: ties by name (bytewise), the cut at limit, limit checked', () => {
  const a = { ...EMPTY, seriesCountByMetricName: stats(['b', 5], ['a', 3], ['é', 5], ['B', 5]) };
  const b = { ...EMPTY, seriesCountByMetricName: stats(['a', 2], ['\u{1F600}', 5], ['\uffee', 5]) };
  assert.deepEqual(mergeTsdbStatus([a, b]).seriesCountByMetricName, stats(['B', 5], ['a', 5], ['b', 5], ['é', 5], ['\uffee', 5], ['\u{1F600}', 5]));
  assert.deepEqual(mergeTsdbStatus([a, b], 2).seriesCountByMetricName, stats(['B', 5], ['a', 5]));
  const many = { ...EMPTY, seriesCountByLabelValuePair: Array.from({ length: 12 }, (_, i) => ({ name: `p=${i}`, value: 100 - i })) };
  assert.equal(mergeTsdbStatus([many]).seriesCountByLabelValuePair.length, 10, 'Prometheus lists 10');
  assert.equal(mergeTsdbStatus([many], 20).seriesCountByLabelValuePair.length, 12);
  assert.throws(() => mergeTsdbStatus([many], 0), RangeError);
  assert.throws(() => mergeTsdbStatus([many], 1.5), RangeError);
});

test('TSDB status: every head empty gives the empty-head sentinels; no answer gives an empty status', () => {
  assert.deepEqual(mergeTsdbStatus([EMPTY, EMPTY]), EMPTY);
  assert.equal(EMPTY.headStats.minTime, EMPTY_HEAD_MIN_TIME);
  assert.equal(EMPTY.headStats.maxTime, EMPTY_HEAD_MAX_TIME);
  assert.deepEqual(mergeTsdbStatus([]), EMPTY);
  // A head holding one sample: minTime = maxTime.
  const one = { ...EMPTY, headStats: { ...EMPTY.headStats, numSeries: 1, minTime: 5000, maxTime: 5000 } };
  assert.deepEqual(mergeTsdbStatus([EMPTY, one]).headStats, { numSeries: 1, numLabelPairs: 0, chunkCount: 0, minTime: 5000, maxTime: 5000 });
});

test('TSDB status: malformed answers and fields are skipped, never thrown on', () => {
  const odd: unknown[] = [
    null, 'oops', 42, [shardA], undefined,
    { headStats: 'x', seriesCountByMetricName: 'x' },
    { headStats: { numSeries: '7', chunkCount: -1, minTime: 'a', maxTime: 3 }, seriesCountByMetricName: [{ name: 'up', value: 9 }, { name: 'bad' }] },
    { headStats: { numSeries: 1, numLabelPairs: NaN, chunkCount: 1, minTime: 10, maxTime: null }, labelValueCountByLabelName: [{ name: 'job', value: 7 }], memoryInBytesByLabelName: [['job', 3]] },
  ];
  const m = mergeTsdbStatus([shardA, ...odd]);
  assert.deepEqual(m.headStats, { ...shardA.headStats, numSeries: 143, chunkCount: 143 }, 'only the well-formed figures count');
  assert.deepEqual(m.seriesCountByMetricName, shardA.seriesCountByMetricName, 'a list with one bad line is skipped whole');
  assert.deepEqual(m.labelValueCountByLabelName, stats(['s', 65], ['__name__', 16], ['job', 7], ['instance', 2]));
  assert.deepEqual(m.memoryInBytesByLabelName, shardA.memoryInBytesByLabelName);
  assert.deepEqual(mergeTsdbStatus(odd).seriesCountByLabelValuePair, []);
});

test('labelNamesToCount: every name any shard ranks, sorted; one answer or many', () => {
  const c = { ...EMPTY, labelValueCountByLabelName: stats(['code', 3], ['job', 1]) };
  assert.deepEqual(labelNamesToCount([shardA, null, c, { labelValueCountByLabelName: 'x' }]), ['__name__', 'code', 'instance', 'job', 's']);
  assert.deepEqual(labelNamesToCount(c), ['code', 'job']);
  assert.deepEqual(labelNamesToCount([]), []);
  assert.deepEqual(labelNamesToCount('x'), []);
});

const md = (instance: string, metric: string | undefined, type = 'gauge', help = `${metric} help`, unit = '') =>
  ({ target: { instance, job: 'app' }, ...(metric === undefined ? {} : { metric }), type, help, unit });

test('targets metadata: replicas\' entries once, ordered by target labels then metric', () => {
  const a = [md('a:2', 'x'), md('a:1', 'y'), md('a:1', 'x')];
  const replicaA = [md('a:1', 'x'), md('a:1', 'y'), md('a:2', 'x')];
  const b = [md('b:1', 'x', 'counter'), md('a:10', 'x')];
  const out = mergeTargetMetadata([b, replicaA, a]);
  assert.deepEqual(out, [md('a:1', 'x'), md('a:1', 'y'), md('a:10', 'x'), md('a:2', 'x'), md('b:1', 'x', 'counter')]);
  // The same metric of a target with other help (a replica scraped a newer exposition): both kept, help ordered.
  assert.deepEqual(mergeTargetMetadata([[md('a:1', 'x', 'gauge', 'new')], [md('a:1', 'x', 'gauge', 'old')]]).map((e) => e.help), ['new', 'old']);
  // A target's labels order the targets as label sets do: fewer labels (a prefix) first.
  const short = { target: { instance: 'a:1' }, metric: 'z', type: 'gauge', help: '', unit: '' };
  assert.deepEqual(mergeTargetMetadata([[md('a:1', 'a'), short]])[0], short);
});

test('targets metadata: limit stops before a target, never inside one', () => {
  const all = [md('a:1', 'x'), md('a:1', 'y'), md('a:1', 'z'), md('a:2', 'x'), md('a:3', 'x'), md('a:3', 'y')];
  const ins = (es: unknown[]) => (es as Array<{ target: { instance: string } }>).map((e) => e.target.instance);
  assert.deepEqual(mergeTargetMetadata([all], 0), []);
  assert.deepEqual(ins(mergeTargetMetadata([all], 1)), ['a:1', 'a:1', 'a:1'], 'the first target whole, beyond the limit');
  assert.deepEqual(ins(mergeTargetMetadata([all], 3)), ['a:1', 'a:1', 'a:1']);
  assert.deepEqual(ins(mergeTargetMetadata([all], 4)), ['a:1', 'a:1', 'a:1', 'a:2']);
  assert.deepEqual(ins(mergeTargetMetadata([all], 5)), ['a:1', 'a:1', 'a:1', 'a:2', 'a:3', 'a:3']);
  assert.equal(mergeTargetMetadata([all], -1).length, 6, 'negative: no limit (Prometheus\'s default is -1)');
  assert.equal(mergeTargetMetadata([all]).length, 6);
});

test('targets metadata: entries for one metric (no metric field), malformed answers and entries skipped', () => {
  const one = [md('a:2', undefined), md('a:1', undefined)];
  assert.deepEqual(mergeTargetMetadata([one, one]), [md('a:1', undefined), md('a:2', undefined)]);
  const bad: unknown[] = [null, 'x', 7, { target: {} }, [null, 1, { target: { a: 1 }, type: 'gauge', help: '', unit: '' }, { target: { a: 'b' }, metric: 3, type: 'gauge', help: '', unit: '' }, { target: { a: 'b' }, type: 'gauge', help: '' }, md('a:1', 'ok')]];
  assert.deepEqual(mergeTargetMetadata(bad), [md('a:1', 'ok')]);
  assert.deepEqual(mergeTargetMetadata([]), []);
});

const ex = (trace: string, value: string, timestamp: number) => ({ labels: { trace_id: trace }, value, timestamp });

test('exemplars: a series from several shards merged, repeats once, oldest first, series in label order', () => {
  const s200 = { __name__: 'req_total', code: '200', instance: 'a:1', job: 'app' };
  const s500 = { __name__: 'req_total', code: '500', instance: 'a:1', job: 'app' };
  const other = { __name__: 'req_total', code: '200', instance: 'a:10', job: 'app' };
  const short = { __name__: 'req_total', code: '200' };
  const replica0 = [{ seriesLabels: s200, exemplars: [ex('a', '1', 1700000000.001), ex('b', '2', 1700000002.5)] }, { seriesLabels: s500, exemplars: [ex('c', '1', 1700000001)] }];
  const replica1 = [{ seriesLabels: { job: 'app', instance: 'a:1', code: '200', __name__: 'req_total' }, exemplars: [ex('z', '1', 1700000001.25), ex('b', '2', 1700000002.5), ex('a', '1', 1700000000.001)] }];
  const shard1 = [{ seriesLabels: other, exemplars: [ex('d', '1', 1700000000)] }, { seriesLabels: short, exemplars: [ex('e', '1', 1700000000)] }];
  assert.deepEqual(mergeExemplars([shard1, replica1, replica0]), [
    { seriesLabels: short, exemplars: [ex('e', '1', 1700000000)] },
    { seriesLabels: s200, exemplars: [ex('a', '1', 1700000000.001), ex('z', '1', 1700000001.25), ex('b', '2', 1700000002.5)] },
    { seriesLabels: other, exemplars: [ex('d', '1', 1700000000)] }, // code="200" before code="500", whatever the instance
    { seriesLabels: s500, exemplars: [ex('c', '1', 1700000001)] },
  ].map((s, i) => (i === 1 ? { ...s, seriesLabels: replica1[0]!.seriesLabels } : s)), 'the first answer\'s label object is kept');
  // Same time, different exemplars: both, in an order independent of the shards'.
  const t = [ex('y', '2', 5), ex('x', '2', 5), ex('x', '1', 5)];
  const order = (es: unknown[]) => mergeExemplars([[{ seriesLabels: s200, exemplars: es }]])[0]!.exemplars;
  assert.deepEqual(order(t), [ex('x', '1', 5), ex('x', '2', 5), ex('y', '2', 5)]);
  assert.deepEqual(order([...t].reverse()), order(t));
});

test('exemplars: null answers, malformed series and exemplars skipped; a series left with none dropped', () => {
  const s = { __name__: 'x', job: 'a' };
  const odd: unknown[] = [null, 'x', {}, [null, { seriesLabels: s }, { seriesLabels: { a: 1 }, exemplars: [ex('a', '1', 1)] }, { seriesLabels: s, exemplars: [null, { labels: {}, value: '1' }, { labels: { a: 2 }, value: '1', timestamp: 1 }] }, { seriesLabels: { job: 'b' }, exemplars: [ex('k', '3', 2)] }]];
  assert.deepEqual(mergeExemplars(odd), [{ seriesLabels: { job: 'b' }, exemplars: [ex('k', '3', 2)] }]);
  assert.deepEqual(mergeExemplars([null, null]), []);
});

test('compareBytewise orders as Go compares strings (UTF-8 bytes)', () => {
  const inOrder = ['', 'B', 'a', 'a\u0000', 'ab', '\u00e9', '\uffee', '\u{1F600}', '\u{1F601}'];
  assert.deepEqual([...inOrder].reverse().sort(compareBytewise), inOrder);
  for (const x of inOrder) for (const y of inOrder) assert.equal(Math.sign(compareBytewise(x, y)), Math.sign(Buffer.compare(Buffer.from(x), Buffer.from(y))), `${x} ${y}`);
});

// ---------------------------------------------------------------------------------------------------------------
// Against real Prometheus 2.42

const OPENMETRICS = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/**
 * Target i: gauges m_0..m_9 with k+2 series each; targets 2 and 3 (shard B) also only_b (30 series); targets 0 and 2
 * a counter with an exemplar per series. The counts are chosen so that no list has two equal values at the cut of
 * 10, where Prometheus would keep either at random; ties above the cut are left in (they are sorted by name).
 */
function exposition(i: number, exemplarTs: number): string {
  const lines: string[] = [];
  for (let k = 0; k < 10; k++) {
    lines.push(`# TYPE m_${k} gauge`, `# HELP m_${k} Gauge number ${k}.`);
    for (let j = 0; j < k + 2; j++) lines.push(`m_${k}{s="${k}_${j}"} ${j}`);
  }
  if (i >= 2) {
    lines.push('# TYPE only_b gauge', '# HELP only_b Only on shard B.');
    for (let j = 0; j < 30; j++) lines.push(`only_b{s="b_${j}"} ${j}`);
  }
  if (i % 2 === 0) {
    lines.push('# TYPE app_requests counter', '# HELP app_requests Requests served.');
    for (const code of ['200', '500']) lines.push(`app_requests_total{code="${code}"} ${i + 5} # {trace_id="t${i}-${code}"} 1 ${(exemplarTs + i + code.length / 10).toFixed(3)}`);
  }
  lines.push('# EOF');
  return lines.join('\n') + '\n';
}

const config = (by: string, targets: readonly TestTarget[]): string => `global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: app
    params: {by: [${by}]}
    static_configs: [{targets: [${targets.map((t) => `'${t.address}'`).join(', ')}]}]
`;

async function api<T>(p: RunningPrometheus, path: string): Promise<T> {
  const res = await fetch(p.url + path, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${path}: ${body.error}`);
  return body.data;
}

/** Retries `check` (an assertion) until it passes: a snapshot of four processes may catch one mid-scrape. */
async function eventually(check: () => Promise<void>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Ties in Prometheus's lists are in random order: put them in the merge's order (by name). */
const byValueThenName = (l: TsdbStat[]): TsdbStat[] => [...l].sort((x, y) => y.value - x.value || compareBytewise(x.name, y.name));

test('real Prometheus: two shards (and a replica) merged equal one Prometheus scraping every target', { timeout: 60_000 }, async (t) => {
  const exemplarTs = Math.floor(Date.now() / 1000) - 60;
  const hits = new Map<string, number>();
  const targets: TestTarget[] = [];
  for (let i = 0; i < 4; i++) {
    const body = exposition(i, exemplarTs);
    targets.push(await startTarget((req, res) => {
      const key = `${i}/${new URL(req.url ?? '/', 'http://x').searchParams.get('by')}`;
      hits.set(key, (hits.get(key) ?? 0) + 1);
      res.writeHead(200, { 'content-type': OPENMETRICS }).end(body);
    }));
  }
  const dir = await tempDir('kvass-api-merge-');
  const layout = { a: targets.slice(0, 2), a2: targets.slice(0, 2), b: targets.slice(2), ref: targets } as const;
  const proms: Partial<Record<keyof typeof layout, RunningPrometheus>> = {};
  t.after(async () => {
    await Promise.all(Object.values(proms).map((p) => p.stop()));
    await Promise.all(targets.map((x) => x.close()));
    await rm(dir, { recursive: true, force: true });
  });
  await Promise.all(Object.entries(layout).map(async ([by, ts]) => {
    await writeFile(join(dir, `${by}.yml`), config(by, ts));
    proms[by as keyof typeof layout] = await startPrometheus(join(dir, `${by}.yml`), { args: ['--enable-feature=exemplar-storage'] });
  }));
  const { a, a2, b, ref } = proms as Record<keyof typeof layout, RunningPrometheus>;
  // A second scrape has begun only once the first is stored (a target's scrapes are sequential).
  await waitFor('every target scraped twice by each of its Prometheus', async () =>
    Object.entries(layout).every(([by, ts]) => ts.every((x) => (hits.get(`${targets.indexOf(x)}/${by}`) ?? 0) >= 2)), 30_000, 100);

  await eventually(async () => {
    const [sa, sb, want] = await Promise.all([a, b, ref].map((p) => api<TsdbStatus>(p, '/api/v1/status/tsdb')));
    // Exact distinct values per name, as the caller counts them: the union of the shards' label values.
    const counts: Record<string, number> = {};
    for (const name of labelNamesToCount([sa, sb])) {
      const values = await Promise.all([a, b].map((p) => api<string[]>(p, `/api/v1/label/${encodeURIComponent(name)}/values`)));
      counts[name] = new Set(values.flat()).size;
    }
    const got = mergeTsdbStatus([sa, sb], 10, { labelValueCounts: counts });
    const { minTime, maxTime, ...head } = got.headStats;
    const { minTime: wantMin, maxTime: wantMax, ...wantHead } = want.headStats;
    assert.deepEqual(head, wantHead);
    assert.equal(wantHead.numSeries, 344, 'the reference holds what the test means it to');
    // The reference's samples carry its own scrape times, up to a scrape interval (and a slower start) apart.
    assert.ok(Math.abs(minTime - wantMin) < 3000 && Math.abs(maxTime - wantMax) < 3000, `times ${minTime}..${maxTime} vs ${wantMin}..${wantMax}`);
    for (const f of ['seriesCountByMetricName', 'labelValueCountByLabelName', 'seriesCountByLabelValuePair'] as const) {
      assert.deepEqual(got[f], byValueThenName(want[f]), f);
    }
    // The exact counts matter: each shard holds 2 of the 4 instances.
    assert.deepEqual(got.labelValueCountByLabelName.find((s) => s.name === 'instance'), { name: 'instance', value: 4 });
    assert.notDeepEqual(mergeTsdbStatus([sa, sb]).labelValueCountByLabelName, got.labelValueCountByLabelName);
  }, 15_000);

  // Targets' metadata: the replica's entries are the same as shard A's, once.
  const [ma, ma2, mb, mref] = await Promise.all([a, a2, b, ref].map((p) => api<unknown[]>(p, '/api/v1/targets/metadata')));
  const metadata = mergeTargetMetadata([ma, ma2, mb]);
  assert.equal(metadata.length, mref.length);
  assert.equal(metadata.length, 4 * 10 + 2 + 2, 'm_0..m_9 on each target, only_b on two, app_requests on two');
  assert.deepEqual(metadata, mergeTargetMetadata([mref]));
  assert.deepEqual(
    new Set(metadata.filter((e) => e.metric === 'app_requests')),
    new Set([0, 2].map((i) => ({ target: { instance: targets[i]!.address, job: 'app' }, metric: 'app_requests', type: 'counter', help: 'Requests served.', unit: '' }))),
    'an OpenMetrics counter\'s metadata is under its family name',
  );
  // Prometheus's limit: checked before each target, so a target's entries come whole.
  const one = await api<Array<{ target: { instance: string } }>>(ref, '/api/v1/targets/metadata?limit=1');
  assert.ok(one.length > 1 && one.every((e) => e.target.instance === one[0]!.target.instance), 'limit=1 gives one whole target');
  assert.equal(one.length, mref.filter((e) => (e as { target: { instance: string } }).target.instance === one[0]!.target.instance).length);
  assert.deepEqual(await api(ref, '/api/v1/targets/metadata?limit=0'), []);
  const limited = mergeTargetMetadata([ma, ma2, mb], 1);
  assert.equal(limited.length, metadata.filter((e) => e.target.instance === metadata[0]!.target.instance).length);

  // Exemplars: the replica's repeat shard A's; the reference orders series by labels.
  const q = `/api/v1/query_exemplars?query=${encodeURIComponent('{__name__=~"app_requests_total|m_1"}')}&start=${exemplarTs - 600}&end=${exemplarTs + 3600}`;
  const [ea, ea2, eb, eref] = await Promise.all([a, a2, b, ref].map((p) => api<unknown[]>(p, q)));
  assert.equal(eref.length, 4, 'two series with exemplars on each of targets 0 and 2');
  assert.deepEqual(mergeExemplars([eb, ea2, ea]), eref);
  // A query without a selector: Prometheus 2.42 writes nothing at all (204, no body), not even `null`.
  const none = await fetch(`${ref.url}/api/v1/query_exemplars?query=1`, { signal: AbortSignal.timeout(5000) });
  assert.equal(none.status, 204);
  assert.equal(await none.text(), '');
});
