/**
 * Tenant isolation through the front door of `kvass query --query.enforce-tenant` over three clusters, each its own
 * tenant (test/helpers/clusters.ts: tenant_id a, b, c). Tenant a never sees a series of b or c: hand-written attacks
 * through every data endpoint, and 1,000 generated queries, each answered for tenant a as a reference Prometheus
 * that holds only tenant a's data answers it (or refused).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { SERIES, api, resultDifference, startClusters, startQuery, type Clusters } from '../helpers/clusters.js';
import { waitFor } from '../helpers/prometheus.js';
import { remoteRead } from '../helpers/remote-read.js';
import { Rng, pool } from '../helpers/fuzz.js';
import { promqlGenerator } from '../helpers/promql-gen.js';
import type { RunningKvass } from '../helpers/kvass.js';

let cl: Clusters;
let view = '';
let run: RunningKvass;
const A = { 'THANOS-TENANT': 'a' };
const ADMIN = { 'THANOS-TENANT': 'ops' };
let at = 0;

before(async () => {
  cl = await startClusters();
  const file = join(cl.dir, 'stores.yml');
  await writeFile(file, cl.storeEntries.a + cl.storeEntries.b + cl.storeEntries.c);
  ({ url: view, run } = await startQuery(cl.dir, 'tenancy', file, ['--query.enforce-tenant', '--query.tenant-admin=ops'], ADMIN));
  await waitFor('all three tenants in the view (as the admin tenant)', async () => {
    const b = await api(view, `/api/v1/query?query=${encodeURIComponent('count(demo_metric)')}`, ADMIN);
    return b.data?.result[0]?.value![1] === String(5 * SERIES);
  }, 90_000, 1000);
  await new Promise((r) => setTimeout(r, 32_000)); // a 30 s window of samples everywhere
  at = Math.floor(Date.now() / 1000) - 2;
});

after(async () => {
  await run?.stop();
  await cl?.stop();
});

const q = (expr: string, time = at): string => `/api/v1/query?query=${encodeURIComponent(expr)}&time=${time}`;

/** Tenant a's answer to `expr` equals a Prometheus's that holds only tenant a's data. */
async function sameAsTenantReference(expr: string): Promise<void> {
  const [ours, ref] = [await api(view, q(expr), A), await api(cl.referenceA.url, q(expr))];
  assert.equal(ours.status, 'success', `${expr}: ${ours.error}`);
  assert.equal(resultDifference(ours.data.result, ref.data.result), undefined, `${expr}: tenant a's answer equals a Prometheus holding only tenant a's data`);
}

test('a request without a tenant is refused (401) on every data endpoint; a header given twice is refused (400)', async () => {
  for (const path of ['/api/v1/query?query=up', '/api/v1/query_range?query=up&start=1&end=2&step=1', '/api/v1/series?match[]=up', '/api/v1/labels', '/api/v1/label/job/values', '/api/v1/metadata', '/federate?match[]=up']) {
    const res = await fetch(`${view}${path}`);
    assert.equal(res.status, 401, path);
    assert.match(await res.text(), /THANOS-TENANT|thanos-tenant/i);
  }
  const read = await remoteRead(`${view}/api/v1/read`, { startMs: 0, endMs: Date.now(), matchers: [{ type: 'EQ', name: '__name__', value: 'demo_metric' }] });
  assert.equal(read.status, 401);
  // fetch joins a repeated header into "a, b", as proxies may: refused all the same.
  const twice = await fetch(`${view}/api/v1/query?query=up`, { headers: [['THANOS-TENANT', 'a'], ['THANOS-TENANT', 'b']] });
  assert.equal(twice.status, 400);
});

test('PromQL attacks: another tenant\'s selector is refused, every other trick answers with tenant a\'s data only', async () => {
  for (const expr of ['{tenant_id="b"}', 'demo_metric{tenant_id="b"}', 'demo_metric or {tenant_id="c"}', 'absent(demo_metric{tenant_id="b"})', 'sum(rate(demo_metric{tenant_id=""}[1m]))']) {
    const b = await api(view, q(expr), A);
    assert.equal(b.http, 403, `${expr}: refused`);
    assert.equal(b.errorType, 'forbidden');
  }
  for (const expr of [
    '{tenant_id=~".*", __name__=~"demo_metric|other_metric|up"}', '{tenant_id=~".+", __name__="demo_metric"}', 'demo_metric{tenant_id!="a"}', 'count by (tenant_id) ({tenant_id=~"a|b|c"})',
    'demo_metric or {tenant_id=~"b"}', 'demo_metric or other_metric', 'count(demo_metric) + count(other_metric)',
    'label_replace(demo_metric, "tenant_id", "b", "", "")', 'label_replace({__name__=~"demo_metric|up"}, "x", "$1", "tenant_id", "(.*)")',
    'max_over_time(demo_metric[30s:5s])', 'max_over_time(max_over_time(demo_metric{tenant_id=~".*"}[20s:5s])[30s:10s])',
    'absent(nonexistent_metric)', 'absent(demo_metric{cluster="b"})', 'absent_over_time(nonexistent_metric[30s])',
    'count_values("tenant_id", demo_metric)', 'count_values("v", {tenant_id=~".*", __name__="demo_metric"})', 'sum by (cluster) (demo_metric offset 10s)',
    'demo_metric @ end()', 'count(demo_metric) # {tenant_id="b"}', 'label_replace(demo_metric, "x", "{tenant_id=\\"b\\"}", "", "")',
    'count({__name__=~"demo_metric|other_metric"})', 'demo_metric * on(series_id, instance) group_left(code) other_metric',
    'group by (cluster, tenant_id) ({__name__=~".+"})', 'vector(1)', 'scalar(count(demo_metric))',
  ]) await sameAsTenantReference(expr);
});

test('series, label names, label values, metadata, federation and remote read: tenant a sees only its own', async () => {
  const forbidden = await api(view, `/api/v1/series?${new URLSearchParams([['match[]', '{tenant_id="b"}']])}`, A);
  assert.equal(forbidden.http, 403);
  const series = await api(view, `/api/v1/series?${new URLSearchParams([['match[]', '{tenant_id=~".+"}'], ['match[]', 'other_metric']])}`, A);
  assert.equal(series.status, 'success', series.error);
  const list = series.data as unknown as Array<Record<string, string>>;
  assert.ok(list.length >= 3 * SERIES);
  assert.ok(list.every((s) => s.tenant_id === 'a' && s.cluster === 'a'), 'only tenant a\'s series');
  const labels = await api(view, '/api/v1/labels', A);
  const refLabels = await api(cl.referenceA.url, '/api/v1/labels');
  assert.deepEqual(labels.data, refLabels.data, 'label names as the tenant\'s own reference');
  for (const name of ['tenant_id', 'cluster', 'instance', 'series_id']) {
    const ours = await api(view, `/api/v1/label/${name}/values`, A);
    const ref = await api(cl.referenceA.url, `/api/v1/label/${name}/values`);
    assert.deepEqual(ours.data, ref.data, `values of ${name}`);
  }
  const values = await api(view, `/api/v1/label/instance/values?${new URLSearchParams([['match[]', '{tenant_id=~".+"}']])}`, A);
  assert.equal((values.data as unknown as string[]).length, 3, JSON.stringify(values));
  // As in Prometheus, a selector that matches the empty string alone is refused.
  assert.equal((await api(view, `/api/v1/label/instance/values?${new URLSearchParams([['match[]', '{tenant_id=~".*"}']])}`, A)).http, 400);
  const meta = await api(view, '/api/v1/metadata', A);
  const refMeta = await api(cl.referenceA.url, '/api/v1/metadata');
  assert.deepEqual(Object.keys(meta.data).sort(), Object.keys(refMeta.data).sort(), 'metadata of the tenant\'s metric names');
  const fed = await fetch(`${view}/federate?${new URLSearchParams([['match[]', '{tenant_id=~".+"}']])}`, { headers: A });
  assert.equal(fed.status, 200);
  assert.doesNotMatch(await fed.text(), /tenant_id="[bc]"/);
  const read = await remoteRead(`${view}/api/v1/read`, { startMs: Date.now() - 60_000, endMs: Date.now(), matchers: [{ type: 'RE', name: 'tenant_id', value: '.*' }, { type: 'EQ', name: '__name__', value: 'demo_metric' }] }, 0, A);
  assert.equal(read.status, 200, read.text);
  assert.equal(read.results[0]!.length, 3 * SERIES);
  assert.ok(read.results[0]!.every((s) => s.labels.tenant_id === 'a'));
  // Parameters in a form body and in the URL are both enforced; a body that is not a form is refused.
  const both = await fetch(`${view}/api/v1/query?query=${encodeURIComponent('{tenant_id=~".+"}')}&time=${at}`, { method: 'POST', headers: { ...A, 'content-type': 'application/x-www-form-urlencoded' }, body: `query=${encodeURIComponent('demo_metric')}` });
  const bothBody = (await both.json()) as { data: { result: Array<{ metric: Record<string, string> }> } };
  assert.ok(bothBody.data.result.length > 0 && bothBody.data.result.every((s) => s.metric.tenant_id === 'a'));
  const multipart = await fetch(`${view}/api/v1/query`, { method: 'POST', headers: A, body: (() => { const f = new FormData(); f.append('query', '{tenant_id="b"}'); return f; })() });
  assert.equal(multipart.status, 415);
});

test('what is not per series is the admin tenant\'s: targets, shards, stores, status, rules, alerts and the web UI are refused to tenant a (403)', async () => {
  for (const path of ['/api/v1/targets', '/api/v1/shards', '/api/v1/stores', '/api/v1/status/config', '/api/v1/status/flags', '/api/v1/rules', '/api/v1/alerts', '/graph', '/api/v1/targets/metadata']) {
    const res = await fetch(`${view}${path}`, { headers: A });
    assert.equal(res.status, 403, `${path} for tenant a`);
    const admin = await fetch(`${view}${path}`, { headers: ADMIN });
    assert.notEqual(admin.status, 403, `${path} for the admin tenant`);
  }
  // Health and kvass's own metrics stay open, as Prometheus's are.
  for (const path of ['/-/ready', '/-/healthy', '/metrics']) assert.equal((await fetch(`${view}${path}`)).status, 200, path);
});

/** Random PromQL over the test's metrics and labels, with tenant matchers among the others. */
function generator(rng: Rng): () => string {
  return promqlGenerator(rng, {
    matcher: (r) => r.pick([
      `series_id="${r.int(0, SERIES + 2)}"`, 'series_id=~"1.*"', `kind="${r.pick(['x', 'y'])}"`, 'kind!="y"', `code="${r.pick([200, 300, 400])}"`,
      `cluster="${r.pick(['a', 'b', 'c'])}"`, 'cluster=~"a|b"', 'cluster!="a"', 'tenant_id=~".*"', 'tenant_id=~".+"', 'tenant_id!="a"', 'tenant_id!="b"',
      'tenant_id=~"b|c"', 'tenant_id="a"', 'tenant_id="b"', 'job="app"', 'instance=~".+"',
    ]),
    names: ['demo_metric', 'demo_metric', 'other_metric', 'up', ''],
    nameless: '__name__=~"demo_metric|other_metric"',
    rangeFunctions: ['max_over_time', 'min_over_time', 'avg_over_time', 'last_over_time', 'present_over_time', 'rate', 'delta'],
    windows: ['20s', '30s'],
    groupings: ['cluster', 'tenant_id', 'kind', 'series_id', 'instance', 'cluster, kind'],
    aggregations: ['sum', 'min', 'max', 'count', 'avg', 'group', 'stddev'],
    replaceTargets: ['x', 'tenant_id', 'cluster'],
    replaceSources: ['series_id', 'tenant_id', 'kind'],
    onLabels: 'series_id, instance',
  });
}

test('1,000 generated queries: each answered for tenant a equals a Prometheus holding only tenant a\'s data (or is refused)', { timeout: 300_000 }, async (t) => {
  const next = generator(new Rng(12));
  const queries = Array.from({ length: 1000 }, next);
  let compared = 0;
  let refused = 0;
  let bothFailed = 0;
  const failures: string[] = [];
  await pool(queries.length, 4, async (i) => {
    const expr = queries[i]!;
    const [ours, ref] = [await api(view, q(expr), A), await api(cl.referenceA.url, q(expr))];
    if (ours.http === 403) {
      // Refused only for a selector that names another tenant by equality.
      if (!/tenant_id="(?!a")/.test(expr)) failures.push(`${expr}: refused (${ours.error})`);
      refused++;
      return;
    }
    if (ref.status !== 'success') {
      if (ours.status === 'success') failures.push(`${expr}: answered, but the reference refused it (${ref.error})`);
      bothFailed++;
      return;
    }
    if (ours.status !== 'success') {
      failures.push(`${expr}: ${ours.error}`);
      return;
    }
    const diff = resultDifference(ours.data.result, ref.data.result);
    if (diff) failures.push(`${expr}: ${diff}`);
    compared++;
  });
  t.diagnostic(`${compared} compared, ${refused} refused, ${bothFailed} invalid in both`);
  assert.deepEqual(failures.slice(0, 10), [], `${failures.length} of 1000 differ`);
  assert.equal(compared + refused + bothFailed, 1000);
  assert.ok(compared >= 700, `${compared} compared (${refused} refused, ${bothFailed} invalid in both)`);
});
