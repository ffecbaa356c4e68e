/**
 * The global view with real Prometheus: one reference Prometheus scrapes the same targets as `kvass up` with 3
 * shards; PromQL through the front door must answer as the reference does (instant and range queries), a recording
 * rule of the original config gives the global figure, remote read answers both response types and refuses bad
 * requests, and a store gateway in front of a garbage shard and a hanging shard answers in time with warnings.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressSync } from 'snappy';
import { fetchShards, runKvass, upWithShards, type RunningKvass } from '../helpers/kvass.js';
import { freePort, startPrometheus, waitFor, type RunningPrometheus } from '../helpers/prometheus.js';
import { startTarget, type TestTarget } from '../helpers/targets.js';
import { remoteRead } from '../helpers/remote-read.js';
import { encodeReadRequest } from '../../src/query/remote/read-proto.js';
import { StoreGateway } from '../../src/query/gateway.js';
import { ApiClient } from '../../src/http/client.js';
import { silentLogger } from '../../src/logger.js';

const T0 = Date.now() / 1000;
const BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Target i: 300 + 40·i demo_metric gauges, a counter per code and a histogram, all linear in time (exact rates). */
function body(i: number): string {
  const now = Date.now() / 1000 - T0;
  const lines = ['# TYPE demo_metric gauge'];
  for (let k = 0; k < 300 + 40 * i; k++) lines.push(`demo_metric{series_id="${k}"} ${(k * 7 + i) % 101}`);
  lines.push('# TYPE demo_requests_total counter');
  lines.push(`demo_requests_total{code="200"} ${(10 + i) * now}`, `demo_requests_total{code="500"} ${(1 + i / 10) * now}`);
  lines.push('# TYPE demo_latency_seconds histogram');
  let cum = 0;
  BUCKETS.forEach((le, b) => {
    cum += (b + 1) * (i + 1);
    lines.push(`demo_latency_seconds_bucket{le="${le}"} ${cum * now}`);
  });
  lines.push(`demo_latency_seconds_bucket{le="+Inf"} ${(cum + 2) * now}`, `demo_latency_seconds_sum ${cum * 0.3 * now}`, `demo_latency_seconds_count ${(cum + 2) * now}`);
  return lines.join('\n') + '\n';
}

const targets: TestTarget[] = [];
let reference: RunningPrometheus;
let up: RunningKvass;
let front = '';
let dir = '';
const extra: Server[] = [];
/** Alerts received by a stand-in Alertmanager (POST /api/v2/alerts), as Prometheus 2.42 sends them. */
const alertsReceived: Array<{ labels: Record<string, string>; generatorURL: string }> = [];

before(async () => {
  for (let i = 0; i < 6; i++) targets.push(await startTarget((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body(i))));
  dir = await mkdtemp(join(tmpdir(), 'kvass-global-'));
  const alertmanager = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/api/v2/alerts') alertsReceived.push(...(JSON.parse(Buffer.concat(chunks).toString()) as typeof alertsReceived));
      res.writeHead(200).end();
    });
  });
  extra.push(alertmanager);
  alertmanager.listen(0, '127.0.0.1');
  await once(alertmanager, 'listening');
  await writeFile(join(dir, 'rules.yml'), `groups:
  - name: global
    interval: 1s
    rules:
      - record: job:demo_metric:count
        expr: count by (job) (demo_metric)
      - alert: AllDemoSeriesPresent
        expr: count(demo_metric) == ${300 * 6 + 40 * 15}
        labels: {severity: info}
`);
  await writeFile(join(dir, 'prometheus.yml'), `global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s, external_labels: {cluster: test}}
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs: [{targets: ['127.0.0.1:${(alertmanager.address() as { port: number }).port}']}]
scrape_configs:
  - job_name: demo
    static_configs: [{targets: [${targets.slice(0, 4).map((t) => `'${t.address}'`).join(', ')}]}]
  - job_name: other
    static_configs: [{targets: [${targets.slice(4).map((t) => `'${t.address}'`).join(', ')}], labels: {team: b}}]
`);
  const port = await freePort();
  front = `http://127.0.0.1:${port}`;
  // Each target is about 300-500 series: a budget of 1000 puts 2 on a shard, 3 shards.
  reference = await startPrometheus(join(dir, 'prometheus.yml'));
  up = await upWithShards([`--config.file=${join(dir, 'prometheus.yml')}`, `--data-dir=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
    '--shard.max-series=1000', '--coordinator.interval=2s', '--query.shard-timeout=5s'], front, 3, 2);
  // 50 s of data on the shards: the 30 s windows of the range queries (from 18 s back) are then covered on both sides.
  await new Promise((r) => setTimeout(r, 50_000));
});

let stopped: number | undefined;
const queries: RunningKvass[] = [];

after(async () => {
  if (stopped) process.kill(stopped, 'SIGCONT');
  for (const q of queries) await q.stop();
  await up?.stop();
  await reference?.stop();
  for (const t of targets) await t.close();
  for (const s of extra) s.close();
});

type Result = { metric: Record<string, string>; value?: [number, string]; values?: Array<[number, string]> };

async function api(base: string, path: string, params: Record<string, string>): Promise<{ resultType: string; result: Result[] | [number, string] }> {
  const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`);
  const body = (await res.json()) as { status: string; data: { resultType: string; result: Result[] }; error?: string };
  assert.equal(body.status, 'success', `${base}${path} ${JSON.stringify(params)}: ${body.error}`);
  return body.data;
}

const close = (a: number, b: number, tol: number) => (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));

function sameResult(q: string, want: Result[], got: Result[], tol: number): void {
  const key = (r: Result) => JSON.stringify(Object.entries(r.metric).sort());
  const w = new Map(want.map((r) => [key(r), r]));
  const g = new Map(got.map((r) => [key(r), r]));
  assert.deepEqual([...g.keys()].sort(), [...w.keys()].sort(), `${q}: series differ`);
  for (const [k, r] of w) {
    const o = g.get(k)!;
    if (r.value) assert.ok(close(Number(r.value[1]), Number(o.value![1]), tol), `${q} ${k}: reference ${r.value[1]}, front door ${o.value![1]}`);
    if (r.values) {
      assert.deepEqual(o.values!.map((v) => v[0]), r.values.map((v) => v[0]), `${q} ${k}: steps differ`);
      r.values.forEach((v, i) => assert.ok(close(Number(v[1]), Number(o.values![i]![1]), tol), `${q} ${k} at ${v[0]}: reference ${v[1]}, front door ${o.values![i]![1]}`));
    }
  }
}

// Exact where values do not depend on when a scrape happened; a tolerance where rates are extrapolated.
const INSTANT: Array<[string, number]> = [
  ['count(demo_metric)', 0],
  ['sum by (instance) (demo_metric)', 0],
  ['count by (job) (up)', 0],
  ['sum(rate(demo_requests_total[30s]))', 0.02],
  ['sum by (code, job) (rate(demo_requests_total[30s]))', 0.02],
  ['histogram_quantile(0.9, sum by (le) (rate(demo_latency_seconds_bucket[30s])))', 0.02],
  ['histogram_quantile(0.5, sum by (le, instance) (rate(demo_latency_seconds_bucket[30s])))', 0.02],
  ['topk(3, sum by (instance) (demo_metric))', 0],
  ['bottomk(2, count by (instance) (demo_metric))', 0],
  ['absent(no_such_metric)', 0],
  ['absent(demo_metric)', 0],
  ['label_replace(sum by (instance) (demo_metric), "port", "$1", "instance", ".*:(.*)")', 0],
  ['max_over_time(count(demo_metric)[20s:5s])', 0],
  ['sum(demo_metric offset 10s)', 0],
  ['count(demo_metric > 50)', 0],
  ['avg by (job) (demo_metric)', 1e-9],
  ['count(count by (series_id) (demo_metric))', 0],
  ['sum(increase(demo_requests_total[30s]))', 0.02],
  ['quantile(0.5, demo_metric)', 0],
  ['stddev(demo_metric)', 1e-9],
  ['count_values("value", demo_metric{series_id="5"})', 0],
  ['sort_desc(sum by (instance) (demo_metric))', 0],
  ['group by (job, team) (up)', 0],
  ['sum(irate(demo_requests_total[10s]))', 0.05],
  ['job:demo_metric:count', 0],
  ['count(up == 1) + on() group_left vector(0)', 0],
];

const RANGE: Array<[string, number]> = [
  ['count(demo_metric)', 0],
  ['sum by (instance) (demo_metric)', 0],
  ['sum(rate(demo_requests_total[30s]))', 0.02],
  ['histogram_quantile(0.99, sum by (le) (rate(demo_latency_seconds_bucket[30s])))', 0.02],
  ['count by (job) (up)', 0],
];

test('PromQL through the front door answers as one Prometheus scraping everything (instant and range)', async (t) => {
  const at = Math.floor(Date.now() / 1000) - 3;
  for (const [q, tol] of INSTANT) {
    const started = Date.now();
    const [want, got] = await Promise.all([api(reference.url, '/api/v1/query', { query: q, time: String(at) }), api(front, '/api/v1/query', { query: q, time: String(at) })]);
    assert.equal(got.resultType, want.resultType, q);
    t.diagnostic(`${Date.now() - started} ms: ${q}`);
    if (q !== 'absent(demo_metric)') assert.ok((want.result as Result[]).length > 0, `${q}: the reference has an answer`);
    sameResult(q, want.result as Result[], got.result as Result[], tol);
  }
  for (const [q, tol] of RANGE) {
    const params = { query: q, start: String(at - 15), end: String(at), step: '5' };
    const [want, got] = await Promise.all([api(reference.url, '/api/v1/query_range', params), api(front, '/api/v1/query_range', params)]);
    assert.equal(got.resultType, 'matrix');
    sameResult(`range ${q}`, want.result as Result[], got.result as Result[], tol);
  }
});

test('the recording rule of the original config is evaluated over all shards', async () => {
  const shards = (await fetchShards(front))[0]!.shards;
  const perShard = await Promise.all(shards.map(async (s) => ((await api(s.url, '/api/v1/query', { query: 'count(demo_metric)' })).result as Result[])[0]?.value?.[1]));
  const total = (300 * 6 + 40 * 15); // 300 + 40·i series for i = 0..5
  assert.ok(perShard.every((n) => Number(n) < total), `each shard has part of the data: ${perShard}`);
  const rule = (await api(front, '/api/v1/query', { query: 'sum(job:demo_metric:count)' })).result as Result[];
  assert.equal(Number(rule[0]!.value![1]), total);
  const rules = await (await fetch(`${front}/api/v1/rules`)).json() as { data: { groups: Array<{ rules: Array<{ name: string; health: string }> }> } };
  assert.equal(rules.data.groups[0]!.rules[0]!.name, 'job:demo_metric:count');
  assert.equal(rules.data.groups[0]!.rules[0]!.health, 'ok');
});

test('an alert of the original config, evaluated over all shards, reaches the configured Alertmanager from the querier', async () => {
  // The reference sends the same alert; the querier's links point at the front door (its --web.external-url).
  const fromQuerier = await waitFor('the alert from the global querier', async () => alertsReceived.find((a) => a.labels.alertname === 'AllDemoSeriesPresent' && a.generatorURL.startsWith(front)), 30_000, 500);
  assert.deepEqual({ ...fromQuerier.labels }, { alertname: 'AllDemoSeriesPresent', severity: 'info', cluster: 'test' });
  const alerts = (await (await fetch(`${front}/api/v1/alerts`)).json()) as { data: { alerts: Array<{ labels: { alertname: string }; state: string }> } };
  assert.equal(alerts.data.alerts.find((a) => a.labels.alertname === 'AllDemoSeriesPresent')?.state, 'firing');
});

test('labels, label values, series and metadata through the front door match the reference', async () => {
  for (const path of ['/api/v1/labels', '/api/v1/label/instance/values', '/api/v1/label/job/values']) {
    const [w, g] = await Promise.all([fetch(reference.url + path).then((r) => r.json()), fetch(front + path).then((r) => r.json())]) as Array<{ data: string[] }>;
    // The front door also knows the recording rule's series (the querier's own), which the reference has too.
    assert.deepEqual(g.data, w.data, path);
  }
  const series = async (base: string) => ((await (await fetch(`${base}/api/v1/series?match[]=up`)).json()) as { data: unknown[] }).data.map((x) => JSON.stringify(x)).sort();
  assert.deepEqual(await series(front), await series(reference.url));
  const meta = (await (await fetch(`${front}/api/v1/metadata?metric=demo_requests_total`)).json()) as { data: Record<string, Array<{ type: string }>> };
  assert.equal(meta.data.demo_requests_total?.[0]?.type, 'counter');
});

test('remote read: SAMPLES and STREAMED_XOR_CHUNKS give the same series; a shard\'s own XOR chunks decode to its samples', async () => {
  const end = Date.now() - 2000;
  const q = { startMs: end - 20_000, endMs: end, matchers: [{ type: 'EQ' as const, name: '__name__', value: 'demo_requests_total' }] };
  const samples = await remoteRead(`${front}/api/v1/read`, q, 0);
  const chunks = await remoteRead(`${front}/api/v1/read`, q, 1);
  assert.equal(samples.status, 200);
  assert.match(chunks.contentType, /application\/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse/);
  assert.equal(samples.results[0]!.length, 12); // 6 targets × 2 codes
  // SAMPLES come shard after shard (Prometheus sorts what it reads); the stream is sorted, as Prometheus streams.
  const byLabels = (list: typeof samples.results[number]) => [...list].sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)));
  assert.deepEqual(chunks.results[0], byLabels(chunks.results[0]!), 'the stream is sorted');
  assert.deepEqual(byLabels(chunks.results[0]!), byLabels(samples.results[0]!));
  for (const s of samples.results[0]!) {
    assert.equal(s.labels.cluster, 'test', 'external labels are on remote-read series, as Prometheus sends them');
    assert.ok(s.t.length >= 15, `${JSON.stringify(s.labels)}: ${s.t.length} samples in 20 s`);
  }
  // Prometheus's own XOR encoder (a shard) against our decoder.
  const shard = (await fetchShards(front))[0]!.shards[0]!;
  const own = await remoteRead(`${shard.url}/api/v1/read`, q, 0);
  const ownChunks = await remoteRead(`${shard.url}/api/v1/read`, q, 1);
  assert.ok(own.results[0]!.length > 0);
  assert.deepEqual(ownChunks.results[0]!.map((s) => s.t.filter((t) => t >= q.startMs && t <= q.endMs)), own.results[0]!.map((s) => s.t));
});

test('bad remote-read requests get 400 with the reason', async () => {
  const post = async (body: Buffer | string, method = 'POST') => {
    const r = await fetch(`${front}/api/v1/read`, { method, body: method === 'GET' ? undefined : body });
    return { status: r.status, text: await r.text() };
  };
  let r = await post('certainly not snappy');
  assert.equal(r.status, 400);
  assert.match(r.text, /snappy/);
  r = await post(compressSync(Buffer.from([0x0a, 0x05, 0x01])));
  assert.equal(r.status, 400);
  assert.match(r.text, /ReadRequest/);
  r = await post(compressSync(Buffer.from(encodeReadRequest({ queries: [], acceptedResponseTypes: [7] }))));
  assert.equal(r.status, 400);
  assert.match(r.text, /response types/);
  r = await post('', 'GET');
  assert.equal(r.status, 400);
  assert.match(r.text, /POST/);
});

test('a shard answering garbage and a hanging shard are cut at the timeout and named in the warnings', async () => {
  const garbage = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.from('\x00\x01 definitely not a snappy protobuf')));
  const hanging = createServer(() => undefined); // never answers
  for (const s of [garbage, hanging]) {
    extra.push(s);
    s.listen(0, '127.0.0.1');
    await once(s, 'listening');
  }
  const addr = (s: Server) => `http://127.0.0.1:${(s.address() as { port: number }).port}`;
  const shards = [
    { name: 'reference', url: reference.url, replica: 0, ordinal: 0 },
    { name: 'garbage', url: addr(garbage), replica: 0, ordinal: 1 },
    { name: 'hanging', url: addr(hanging), replica: 0, ordinal: 2 },
  ];
  const port = await freePort();
  const make = (partialResponse: boolean) => new StoreGateway({ shards: () => shards, replicaLabels: ['replica'], shardTimeoutMs: 1500, partialResponse, client: new ApiClient({ timeoutMs: 1500, maxResponseBytes: 1 << 30 }), log: silentLogger() });
  for (const partial of [true, false]) {
    const gw = make(partial);
    const server = createServer((req, res) => void gw.handle(req, res));
    extra.push(server);
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    const end = Date.now();
    const started = Date.now();
    const r = await remoteRead(`http://127.0.0.1:${port}/api/v1/read`, { startMs: end - 10_000, endMs: end, matchers: [{ type: 'EQ', name: '__name__', value: 'up' }] });
    const took = Date.now() - started;
    assert.ok(took >= 1400 && took < 5000, `answered after ${took} ms (timeout 1.5 s)`);
    if (partial) {
      assert.equal(r.status, 200);
      assert.equal(r.results[0]!.length, 6, 'the reference\'s series are there');
      assert.equal(r.warnings.length, 2, JSON.stringify(r.warnings));
      assert.match(r.warnings.find((w) => w.includes('garbage'))!, /unreadable answer/);
      assert.match(r.warnings.find((w) => w.includes('hanging'))!, /no complete answer within 1.5s/);
      assert.deepEqual(gw.warningsSince(started).length, 2);
    } else {
      assert.equal(r.status, 503);
      assert.match(r.text!, /partial response disabled.*garbage.*hanging/s);
    }
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  }
  hanging.closeAllConnections();
});

test('`kvass query` serves the same view beside a remote coordinator; partial answers warn, or fail when told to', async () => {
  const start = async (extra: string[]) => {
    const port = await freePort();
    const q = runKvass(['query', `--config.file=${join(dir, 'prometheus.yml')}`, `--coordinator.url=${front}`, `--data-dir=${await mkdtemp(join(dir, 'query-'))}`,
      `--web.listen-address=127.0.0.1:${port}`, '--query.shard-timeout=1500ms', ...extra]);
    queries.push(q);
    const url = `http://127.0.0.1:${port}`;
    await waitFor('kvass query to answer', async () => {
      if (q.proc.exitCode !== null) throw new Error(`kvass query exited: ${q.output()}`);
      const r = await fetch(`${url}/api/v1/query?query=count(demo_metric)`).catch(() => null);
      if (!r?.ok) return false;
      const body = (await r.json()) as { data: { result: Result[] } };
      return body.data.result.length === 1;
    }, 60_000, 500);
    return url;
  };
  const partial = await start([]);
  const strict = await start(['--no-query.partial-response']);
  const total = String(300 * 6 + 40 * 15);
  const count = async (base: string) => (await fetch(`${base}/api/v1/query?query=count(demo_metric)`)).json() as Promise<{ status: string; data?: { result: Result[] }; warnings?: string[]; error?: string }>;
  assert.equal((await count(partial)).data!.result[0]!.value![1], total);
  assert.equal((await count(strict)).data!.result[0]!.value![1], total);
  const targets = (await (await fetch(`${partial}/api/v1/targets`)).json()) as { data: { activeTargets: unknown[] } };
  assert.equal(targets.data.activeTargets.length, 6, 'the coordinator\'s targets pass through');

  // One shard's Prometheus hangs.
  const pids = JSON.parse(await readFile(join(dir, 'data', 'replica-0', 'shard-1', 'pids.json'), 'utf8')) as { prometheus: number };
  process.kill(pids.prometheus, 'SIGSTOP');
  stopped = pids.prometheus;
  try {
    const p = await count(partial);
    assert.equal(p.status, 'success');
    assert.ok(Number(p.data!.result[0]!.value![1]) < Number(total), 'a partial count');
    assert.ok(p.warnings?.some((w) => w.includes('replica-0/shard-1') && w.includes('1.5s')), JSON.stringify(p.warnings));
    const res = await fetch(`${strict}/api/v1/query?query=count(demo_metric)`);
    assert.equal(res.status, 503);
    const s = (await res.json()) as { status: string; errorType: string; error: string };
    assert.equal(s.status, 'error');
    assert.match(s.error, /partial response disabled.*replica-0\/shard-1/);
  } finally {
    process.kill(pids.prometheus, 'SIGCONT');
    stopped = undefined;
  }
});
