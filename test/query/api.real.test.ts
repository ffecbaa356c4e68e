/**
 * The front door of `kvass up` (3 shards) against a reference Prometheus that scrapes the same targets with the same
 * configuration, endpoint by endpoint of Prometheus 2.42's read API: the same data, compared field by field, except
 * for the differences the README's API table documents (scrape and evaluation timestamps, process-specific fields).
 * Then federation: /federate equals the reference's for several match[] sets, a Prometheus federating from the front
 * door ends with the series of one federating from the reference, and the UI's TSDB status page (in Chromium) shows
 * the summed head. Last, the global querier killed with its port taken: it comes back on another, and the front door
 * follows it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { findPidsByCommandLine } from '../../src/shard/local-process.js';
import { upWithShards, type RunningKvass } from '../helpers/kvass.js';
import { freePort, startPrometheus, waitFor, type RunningPrometheus } from '../helpers/prometheus.js';
import { startTarget, type TestTarget } from '../helpers/targets.js';
import { resultDifference, type Result } from '../helpers/clusters.js';
import { killAndTakePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';

const SERIES = 30;

/** Target i: gauges, a counter and a histogram with HELP and TYPE, constant values (equal wherever scraped). */
function body(i: number): string {
  const lines = ['# HELP demo_metric A demo gauge.', '# TYPE demo_metric gauge'];
  for (let k = 0; k < SERIES; k++) lines.push(`demo_metric{series_id="${k}",kind="${k % 4}"} ${(k * 7 + i) % 23}`);
  lines.push('# HELP demo_requests_total Requests.', '# TYPE demo_requests_total counter', `demo_requests_total{code="200"} ${100 + i}`, `demo_requests_total{code="500"} ${i}`);
  lines.push('# HELP demo_latency_seconds Latency.', '# TYPE demo_latency_seconds histogram');
  for (const [le, n] of [['0.1', 1], ['1', 3], ['+Inf', 4]] as const) lines.push(`demo_latency_seconds_bucket{le="${le}"} ${n * (i + 1)}`);
  lines.push(`demo_latency_seconds_sum ${i + 0.5}`, `demo_latency_seconds_count ${4 * (i + 1)}`);
  return `${lines.join('\n')}\n`;
}

const targets: TestTarget[] = [];
let reference: RunningPrometheus;
let up: RunningKvass;
let front = '';
let dir = '';
const federators: RunningPrometheus[] = [];

before(async () => {
  dir = await tempDir('kvass-api-');
  for (let i = 0; i < 6; i++) {
    const b = body(i);
    targets.push(await startTarget((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(b)));
  }
  await writeFile(join(dir, 'rules.yml'), `groups:
  - name: view
    interval: 1s
    rules:
      - record: job:demo_metric:sum
        expr: sum by (job) (demo_metric)
      - alert: DemoNeverFires
        expr: max(demo_metric) > 1000
        labels: {severity: info}
        annotations: {summary: never}
`);
  await writeFile(join(dir, 'prometheus.yml'), `global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s, external_labels: {site: lab}}
rule_files: [${join(dir, 'rules.yml')}]
scrape_configs:
  - job_name: app
    static_configs: [{targets: [${targets.slice(0, 4).map((t) => `'${t.address}'`).join(', ')}]}]
  - job_name: other
    basic_auth: {username: kvass, password: hidden-secret}
    static_configs: [{targets: [${targets.slice(4).map((t) => `'${t.address}'`).join(', ')}], labels: {team: b}}]
`);
  const port = await freePort();
  front = `http://127.0.0.1:${port}`;
  // Each target is 38 series and Prometheus's 5: a budget of 100 puts 2 on a shard, 3 shards. A target whose two
  // probes time out (1 s, on a loaded machine) is placed with the default size: at 1000 it would take a shard of its
  // own, which stays (scale-down is off by default), and the layout this file needs would never come.
  reference = await startPrometheus(join(dir, 'prometheus.yml'));
  up = await upWithShards([`--config.file=${join(dir, 'prometheus.yml')}`, `--data-dir=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
    '--shard.max-series=100', '--explore.default-series=43', '--coordinator.interval=1s', '--log.level=warn'], front, 3, 2);
  // The layout can settle before a target placed late has its first sample: 12 s of data from when all six have one.
  await waitFor('every target scraped on its shard', async () => {
    const res = await fetch(`${front}/api/v1/query?query=${encodeURIComponent('count(up == 1)')}`, { signal: AbortSignal.timeout(5000) });
    const b = (await res.json()) as { data?: { result?: Array<{ value: [number, string] }> } };
    return b.data?.result?.[0]?.value[1] === String(targets.length);
  }, 60_000, 500);
  await new Promise((r) => setTimeout(r, 12_000));
});

after(async () => {
  for (const f of federators) await f.stop();
  await up?.stop();
  await reference?.stop();
  for (const t of targets) await t.close();
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
});

async function data(base: string, path: string): Promise<unknown> {
  const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(30_000) });
  const b = (await res.json()) as { status: string; data: unknown; error?: string };
  assert.equal(b.status, 'success', `${base}${path}: ${b.error}`);
  return b.data;
}
const both = (path: string): Promise<[unknown, unknown]> => Promise.all([data(front, path), data(reference.url, path)]);
const sortBy = <T>(xs: T[], key: (x: T) => string): T[] => [...xs].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
const labelsKey = (m: Record<string, string>): string => JSON.stringify(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : 1)));

test('query, query_range, series, labels, label values, metadata, targets/metadata and query_exemplars give the reference\'s data', async () => {
  const at = Math.floor(Date.now() / 1000) - 2;
  for (const q of ['demo_metric', 'sum by (job, team) (demo_metric)', 'job:demo_metric:sum', 'histogram_quantile(0.9, sum by (le) (demo_latency_seconds_bucket))', 'count(up == 1)', 'demo_requests_total{code="500"}']) {
    const [ours, ref] = await both(`/api/v1/query?query=${encodeURIComponent(q)}&time=${at}`) as Array<{ result: Result }>;
    assert.ok(ref!.result.length > 0, q);
    assert.equal(resultDifference(ours!.result, ref!.result), undefined, q);
  }
  const [r1, r2] = await both(`/api/v1/query_range?query=${encodeURIComponent('sum by (job) (demo_metric)')}&start=${at - 8}&end=${at}&step=2`) as Array<{ result: Result }>;
  assert.equal(resultDifference(r1!.result, r2!.result), undefined, 'query_range');
  const [s1, s2] = await both(`/api/v1/series?${new URLSearchParams([['match[]', 'demo_metric'], ['match[]', 'up']])}`) as Array<Array<Record<string, string>>>;
  assert.deepEqual(s1!.map(labelsKey).sort(), s2!.map(labelsKey).sort(), 'series');
  assert.equal(s1!.length, 6 * SERIES + 6);
  for (const path of ['/api/v1/labels', '/api/v1/label/series_id/values', '/api/v1/label/job/values', '/api/v1/label/__name__/values', `/api/v1/labels?${new URLSearchParams([['match[]', 'up']])}`]) {
    const [a, b] = await both(path);
    assert.deepEqual(a, b, path);
  }
  const [m1, m2] = await both('/api/v1/metadata');
  assert.deepEqual(m1, m2, 'metadata');
  const [t1, t2] = await both('/api/v1/targets/metadata') as Array<Array<{ target: Record<string, string>; metric: string }>>;
  const tkey = (e: { target: Record<string, string>; metric: string }): string => `${labelsKey(e.target)} ${e.metric}`;
  assert.deepEqual(sortBy(t1!, tkey), sortBy(t2!, tkey), 'targets/metadata');
  assert.ok(t1!.length >= 6 * 3);
  const [e1, e2] = await both(`/api/v1/query_exemplars?query=demo_metric&start=${at - 60}&end=${at}`);
  assert.deepEqual(e1, e2, 'query_exemplars (no exemplar storage on either side: both empty)');
});

test('targets, rules, alerts, alertmanagers, status/config, flags, runtimeinfo and buildinfo: the same, but for the documented fields', async () => {
  type Target = { labels: Record<string, string>; scrapePool: string; scrapeUrl: string; health: string; lastError: string; scrapeInterval: string; scrapeTimeout: string; discoveredLabels: Record<string, string> };
  const [ta, tb] = await both('/api/v1/targets') as Array<{ activeTargets: Target[] }>;
  const shape = (t: Target): unknown => ({ labels: t.labels, scrapePool: t.scrapePool, scrapeUrl: t.scrapeUrl, health: t.health, lastError: t.lastError, scrapeInterval: t.scrapeInterval, scrapeTimeout: t.scrapeTimeout, discoveredLabels: t.discoveredLabels });
  assert.deepEqual(sortBy(ta!.activeTargets, (t) => t.scrapeUrl).map(shape), sortBy(tb!.activeTargets, (t) => t.scrapeUrl).map(shape), 'targets (without the scrape timestamps and durations)');
  type Rules = { groups: Array<{ name: string; file: string; interval: number; rules: Array<Record<string, unknown>> }> };
  const [ra, rb] = await both('/api/v1/rules') as Rules[];
  const ruleShape = (g: Rules['groups'][number]): unknown => ({ name: g.name, file: g.file, interval: g.interval, rules: g.rules.map((r) => ({ name: r.name, query: r.query, labels: r.labels, annotations: r.annotations, health: r.health, type: r.type, duration: r.duration, alerts: r.alerts })) });
  assert.deepEqual(ra!.groups.map(ruleShape), rb!.groups.map(ruleShape), 'rules (without evaluation times)');
  for (const path of ['/api/v1/alerts', '/api/v1/alertmanagers', '/api/v1/status/config', '/api/v1/status/buildinfo']) {
    const [a, b] = await both(path);
    assert.deepEqual(a, b, path);
  }
  const [cfg] = await both('/api/v1/status/config') as Array<{ yaml: string }>;
  assert.match(cfg!.yaml, /password: <secret>/);
  assert.doesNotMatch(cfg!.yaml, /hidden-secret/);
  // Flags: kvass's own address and config file, the querier's other flags; process-specific ones differ.
  const [fa, fb] = await both('/api/v1/status/flags') as Array<Record<string, string>>;
  assert.deepEqual(Object.keys(fa!).sort(), Object.keys(fb!).sort(), 'the same flags');
  assert.equal(fa!['config.file'], join(dir, 'prometheus.yml'));
  assert.equal(fa!['web.listen-address'], front.replace('http://', ''));
  const processSpecific = new Set(['config.file', 'storage.tsdb.path', 'web.listen-address', 'web.external-url', 'log.level', 'query.lookback-delta']);
  for (const [k, v] of Object.entries(fb!)) if (!processSpecific.has(k)) assert.equal(fa![k], v, `flag ${k}`);
  const [ia, ib] = await both('/api/v1/status/runtimeinfo') as Array<Record<string, unknown>>;
  assert.deepEqual(Object.keys(ia!).sort(), Object.keys(ib!).sort(), 'runtimeinfo fields');
  assert.equal(ia!.storageRetention, ib!.storageRetention);
});

test('status/tsdb: head statistics summed over the shards and the top-10 lists as the reference\'s', async () => {
  type Tsdb = { headStats: Record<string, number>; seriesCountByMetricName: unknown[]; labelValueCountByLabelName: unknown[]; memoryInBytesByLabelName: Array<{ name: string }>; seriesCountByLabelValuePair: unknown[] };
  const [a, b] = await both('/api/v1/status/tsdb') as Tsdb[];
  assert.equal(a!.headStats.numSeries, b!.headStats.numSeries, 'numSeries');
  assert.ok(b!.headStats.numSeries >= 6 * (SERIES + 7 + 5));
  assert.equal(a!.headStats.numLabelPairs, b!.headStats.numLabelPairs, 'numLabelPairs');
  // Prometheus ranks ties in random order (an unstable sort over a Go map), kvass by name: the same figures, and the
  // same names but where a tie reaches the cut.
  const sameTop = (field: string, x: Array<{ name: string; value: number }>, y: Array<{ name: string; value: number }>): void => {
    assert.deepEqual(x.map((e) => e.value), y.map((e) => e.value), `${field}: the same figures`);
    const cut = y[y.length - 1]?.value ?? 0;
    const above = (l: typeof x): string[] => l.filter((e) => e.value > cut || y.length < 10).map((e) => `${e.name}=${e.value}`).sort();
    assert.deepEqual(above(x), above(y), `${field}: the same names above the cut`);
  };
  type Stat = Array<{ name: string; value: number }>;
  sameTop('seriesCountByMetricName', a!.seriesCountByMetricName as Stat, b!.seriesCountByMetricName as Stat);
  sameTop('labelValueCountByLabelName', a!.labelValueCountByLabelName as Stat, b!.labelValueCountByLabelName as Stat);
  sameTop('seriesCountByLabelValuePair', a!.seriesCountByLabelValuePair as Stat, b!.seriesCountByLabelValuePair as Stat);
  assert.deepEqual(a!.memoryInBytesByLabelName.map((x) => x.name).sort(), b!.memoryInBytesByLabelName.map((x) => x.name).sort());
  const limited = (await data(front, '/api/v1/status/tsdb?limit=3')) as Tsdb;
  assert.equal(limited.seriesCountByMetricName.length, 3);
});

/** /federate as {labels → [t, v]}. */
async function federate(base: string, matchers: string[], accept = 'text/plain'): Promise<{ contentType: string; series: Map<string, [number, number]> }> {
  const res = await fetch(`${base}/federate?${new URLSearchParams(matchers.map((m): [string, string] => ['match[]', m]))}`, { headers: { accept } });
  assert.equal(res.status, 200);
  const series = new Map<string, [number, number]>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+?)(\{.*\})? (\S+) (\d+)$/.exec(line);
    assert.ok(m, `a sample line: ${line}`);
    series.set(`${m[1]}${m[2] ?? ''}`, [Number(m[4]), Number(m[3])]);
  }
  return { contentType: res.headers.get('content-type') ?? '', series };
}

test('/federate equals the reference\'s for several match[] sets (values, and timestamps within a scrape interval), in text and protobuf', async () => {
  for (const matchers of [['demo_metric'], ['{job="other"}'], ['up', 'demo_requests_total{code="200"}'], ['{__name__=~"job:.*"}'], ['demo_latency_seconds_bucket{le="1"}', '{team="b",__name__="demo_latency_seconds_count"}']]) {
    const [ours, ref] = await Promise.all([federate(front, matchers), federate(reference.url, matchers)]);
    assert.equal(ours.contentType, ref.contentType);
    assert.deepEqual([...ours.series.keys()].sort(), [...ref.series.keys()].sort(), `${matchers}: the same series`);
    assert.ok(ref.series.size > 0);
    for (const [k, [t, v]] of ref.series) {
      const [ot, ov] = ours.series.get(k)!;
      // How long a scrape took is the one value that depends on who scraped (kvass's shards scrape through a proxy).
      if (!k.startsWith('scrape_duration_seconds')) assert.equal(ov, v, `${k}: value`);
      assert.ok(Math.abs(ot - t) <= 1500, `${k}: timestamps ${ot} and ${t} within a scrape interval`);
    }
  }
  const accept = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited';
  const [pa, pb] = await Promise.all([fetch(`${front}/federate?match[]=demo_metric`, { headers: { accept } }), fetch(`${reference.url}/federate?match[]=demo_metric`, { headers: { accept } })]);
  assert.equal(pa.headers.get('content-type'), pb.headers.get('content-type'));
  const families = (buf: Buffer): Array<{ name: string; metric: unknown[] }> => {
    const root = protobuf.parse('syntax = "proto2"; package io.prometheus.client; message LabelPair { optional string name = 1; optional string value = 2; } message Untyped { optional double value = 1; } message Metric { repeated LabelPair label = 1; optional Untyped untyped = 5; optional int64 timestamp_ms = 6; } message MetricFamily { optional string name = 1; optional int32 type = 3; repeated Metric metric = 4; }').root;
    const Family = root.lookupType('io.prometheus.client.MetricFamily');
    const out = [];
    const r = protobuf.Reader.create(buf);
    while (r.pos < r.len) out.push(Family.toObject(Family.decodeDelimited(r), { longs: Number }) as { name: string; metric: unknown[] });
    return out;
  };
  const [fa, fb] = [families(Buffer.from(await pa.arrayBuffer())), families(Buffer.from(await pb.arrayBuffer()))];
  assert.deepEqual(fa.map((f) => [f.name, f.metric.length]), fb.map((f) => [f.name, f.metric.length]));
});

test('a Prometheus federating from the front door (honor_labels) ends with the series of one federating from the reference', { timeout: 60_000 }, async () => {
  for (const [name, source] of [['via-kvass', front], ['via-reference', reference.url]] as const) {
    const cfg = join(dir, `${name}.yml`);
    await writeFile(cfg, `global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: federate\n    honor_labels: true\n    metrics_path: /federate\n    params: {'match[]': ['{job=~"app|other"}']}\n    static_configs: [{targets: ['${source.replace('http://', '')}']}]\n`);
    federators.push(await startPrometheus(cfg));
  }
  const seriesOf = async (p: RunningPrometheus): Promise<string[]> => ((await data(p.url, `/api/v1/series?${new URLSearchParams([['match[]', '{job=~"app|other"}']])}`)) as Array<Record<string, string>>).map(labelsKey).sort();
  await waitFor('both federators scraped', async () => (await seriesOf(federators[0]!)).length > 0 && (await seriesOf(federators[1]!)).length > 0, 30_000, 500);
  await new Promise((r) => setTimeout(r, 2500));
  const [a, b] = [await seriesOf(federators[0]!), await seriesOf(federators[1]!)];
  assert.deepEqual(a, b);
  assert.ok(a.length >= 6 * SERIES, `${a.length} series federated`);
  assert.ok(a.every((k) => k.includes('"site","lab"')), 'external labels attached');
});

test('browser: the UI\'s status page shows the head series summed over the shards, its targets page every target with its shard, its config page the original', { timeout: 90_000 }, async () => {
  const executablePath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
  assert.ok(executablePath, 'Debian\'s chromium is installed (make test installs it)');
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  try {
    const page = await browser.newPage();
    // Debian's 2.42 has the classic UI: its status page holds the TSDB status ("Head Stats").
    await page.goto(`${front}/classic/status`);
    const expected = ((await data(reference.url, '/api/v1/status/tsdb')) as { headStats: { numSeries: number } }).headStats.numSeries;
    const table = page.locator('h2#headstatus + table');
    await table.waitFor({ timeout: 30_000 });
    const cells = await table.locator('td').allInnerTexts();
    assert.equal(Number(cells[0]), expected, `the page shows ${expected} head series: ${cells.join(' | ')}`);
    // The reference's own page says the same.
    await page.goto(`${reference.url}/classic/status`);
    assert.equal(Number((await page.locator('h2#headstatus + table td').allInnerTexts())[0]), expected);
    // The targets page lists every target with its shard; the configuration page shows the original, masked.
    await page.goto(`${front}/classic/targets`);
    const rows = page.locator('tbody tr');
    await rows.first().waitFor({ timeout: 30_000 });
    const endpoints = await page.locator('td.endpoint').allInnerTexts();
    assert.deepEqual(endpoints.map((e) => e.trim()).sort(), targets.map((t) => `http://${t.address}/metrics`).sort());
    const shardCells = await page.locator('td.shards').allInnerTexts();
    assert.ok(shardCells.every((c) => /^shard-\d+$/.test(c.trim())), `each target's shard: ${shardCells.join(', ')}`);
    assert.equal(new Set(shardCells).size, 3);
    assert.match(await page.locator('a[id="job-app"]').innerText(), /app \(4\/4 up\)/);
    await page.goto(`${front}/classic/config`);
    const yaml = await page.locator('pre#config_yaml').innerText();
    assert.match(yaml, /job_name: other/);
    assert.match(yaml, /password: <secret>/);
    assert.doesNotMatch(yaml, /kvass-gateway|hidden-secret/);
  } finally {
    await browser.close();
  }
});

test('the global querier, killed with its port taken, comes back on a new port, and the front door follows it (its rules, a recording rule\'s series)', { timeout: 120_000 }, async () => {
  const marker = `--storage.tsdb.path=${join(dir, 'data', 'querier', 'tsdb')}`;
  const portOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').find((a) => a.startsWith('--web.listen-address='))!.split(':').pop());
  const { held, killed } = await killAndTakePort('querier', () => findPidsByCommandLine(marker)[0], portOf);
  try {
    const restarted = await waitFor('the querier restarted', async () => findPidsByCommandLine(marker).find((p) => p !== killed), 30_000, 100);
    assert.notEqual(portOf(restarted), held.port, 'the restarted querier listens on a new port');

    // Through the front door: its rules (passed on to the querier) and the series of its recording rule (which only
    // the querier holds, so the query goes to it).
    const rules = await waitFor('the querier\'s rules through the front door', async () => {
      const res = await fetch(`${front}/api/v1/rules`, { signal: AbortSignal.timeout(5000) }).catch(() => null);
      return res?.ok ? ((await res.json()) as { data: { groups: Array<{ name: string }> } }).data : undefined;
    }, 60_000, 250);
    assert.deepEqual(rules.groups.map((g) => g.name), ['view']);
    const series = await waitFor('the recording rule\'s series through the front door', async () => {
      const res = await fetch(`${front}/api/v1/query?query=${encodeURIComponent('job:demo_metric:sum')}`, { signal: AbortSignal.timeout(5000) }).catch(() => null);
      const b = res?.ok ? ((await res.json()) as { data: { result: Array<{ metric: Record<string, string> }> } }) : undefined;
      return b && b.data.result.length > 0 ? b.data.result : undefined;
    }, 60_000, 250);
    assert.deepEqual(series.map((r) => r.metric.job).sort(), ['app', 'other']);
  } finally {
    await held.close();
  }
});
