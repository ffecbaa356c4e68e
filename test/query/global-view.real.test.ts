/**
 * The global view with real Prometheus: one reference Prometheus scrapes the same targets as `kvass up` with 3
 * shards; PromQL through the front door must answer as the reference does (instant and range queries), both with
 * query pushdown (the front door of `kvass up`) and without (a `kvass query --query.pushdown=false` beside the same
 * coordinator), each answer saying which path it took; 1,000 generated queries answer the same on both paths. A
 * recording rule of the original config gives the global figure, remote read answers both response types and
 * refuses bad requests, and a store gateway in front of a garbage shard and a hanging shard answers in time with
 * warnings.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compressSync } from 'snappy';
import { fetchShards, runKvass, upWithShards, type RunningKvass } from '../helpers/kvass.js';
import { freePort, startPrometheus, waitFor, type RunningPrometheus } from '../helpers/prometheus.js';
import { startTarget, type TestTarget } from '../helpers/targets.js';
import { remoteRead } from '../helpers/remote-read.js';
import { DIFFERENTIAL_INSTANT, DIFFERENTIAL_RANGE } from '../helpers/differential-queries.js';
import { Rng, pool } from '../helpers/fuzz.js';
import { promqlGenerator } from '../helpers/promql-gen.js';
import { encodeReadRequest } from '../../src/query/remote/read-proto.js';
import { StoreGateway } from '../../src/query/gateway.js';
import { ApiClient } from '../../src/http/client.js';
import { silentLogger } from '../../src/logger.js';
import { tempDir } from '../helpers/tmp.js';

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
/** `kvass query --query.pushdown=false` beside the coordinator of `up`: every query by remote read. */
let noPushdown = '';
let dir = '';
const extra: Server[] = [];
/** Alerts received by a stand-in Alertmanager (POST /api/v2/alerts), as Prometheus 2.42 sends them. */
const alertsReceived: Array<{ labels: Record<string, string>; generatorURL: string }> = [];

before(async () => {
  for (let i = 0; i < 6; i++) targets.push(await startTarget((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body(i))));
  dir = await tempDir('kvass-global-');
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
  // Target i is 316 + 40·i series with Prometheus's 5: any two fit a budget of 1000 (at most 992), no three do, so 3
  // shards of 2. A target whose two probes fail on a loaded machine is placed with the default size: 400 keeps both
  // true (at the default 1000 it would take a shard of its own, which stays: scale-down is off by default).
  reference = await startPrometheus(join(dir, 'prometheus.yml'));
  up = await upWithShards([`--config.file=${join(dir, 'prometheus.yml')}`, `--data-dir=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
    '--shard.max-series=1000', '--explore.default-series=400', '--coordinator.interval=2s', '--query.shard-timeout=5s'], front, 3, 2);
  // Started now, ready by the end of the wait below.
  const off = await launchQuery(['--query.pushdown=false', '--query.shard-timeout=5s']);
  // 50 s of data on the shards: the 30 s windows of the range queries (from 18 s back) are then covered on both sides.
  await new Promise((r) => setTimeout(r, 50_000));
  noPushdown = await off.ready();
});

let stopped: number | undefined;
const queries: RunningKvass[] = [];

/** Starts `kvass query` beside the coordinator of `up` (the front door); `ready` waits until it counts demo_metric. */
async function launchQuery(extra: string[]): Promise<{ url: string; ready: () => Promise<string> }> {
  const port = await freePort();
  const q = runKvass(['query', `--config.file=${join(dir, 'prometheus.yml')}`, `--coordinator.url=${front}`, `--data-dir=${await mkdtemp(join(dir, 'query-'))}`,
    `--web.listen-address=127.0.0.1:${port}`, ...extra]);
  queries.push(q);
  const url = `http://127.0.0.1:${port}`;
  const ready = async (): Promise<string> => {
    await waitFor('kvass query to answer', async () => {
      if (q.proc.exitCode !== null) throw new Error(`kvass query exited: ${q.output()}`);
      const r = await fetch(`${url}/api/v1/query?query=count(demo_metric)`).catch(() => null);
      if (!r?.ok) return false;
      const body = (await r.json()) as { data: { result: Result[] } };
      return body.data.result.length === 1;
    }, 60_000, 500);
    return url;
  };
  return { url, ready };
}

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


/** The answer of a query endpoint with the path it took (X-Kvass-Query-Path, X-Kvass-Pushdown-Fallback). */
interface Answer {
  http: number;
  status: string;
  errorType?: string;
  error?: string;
  data?: { resultType: string; result: Result[] | [number, string]; stats?: { kvass?: { path: string; reason?: string } } };
  warnings?: string[];
  path: string | null;
  reason: string | null;
}

async function ask(base: string, path: string, params: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`);
  const body = (await res.json()) as Omit<Answer, 'http' | 'path' | 'reason'>;
  return { ...body, http: res.status, path: res.headers.get('x-kvass-query-path'), reason: res.headers.get('x-kvass-pushdown-fallback') };
}

const FALLBACK_REASONS = ['unsupported', 'parse', 'no_selector', 'moved', 'history', 'replicas', 'stores', 'rules', 'tenancy', 'no_coordinator', 'params', 'disabled'];

/** What is wrong with the path headers of an answer of a front door with pushdown on (`on`) or off; undefined if nothing. */
function pathProblem(a: Answer, on: boolean): string | undefined {
  if (!on) return a.path === 'remote-read' && a.reason === 'disabled' ? undefined : `pushdown off: path ${a.path}, fallback ${a.reason} (want remote-read, disabled)`;
  if (a.path === 'pushdown') return a.reason === null ? undefined : `pushed down with a fallback reason ${a.reason}`;
  if (a.path === 'remote-read') return a.reason !== null && FALLBACK_REASONS.includes(a.reason) && a.reason !== 'disabled' ? undefined : `remote-read with fallback reason ${a.reason}`;
  return `no valid X-Kvass-Query-Path: ${a.path}`;
}

/** Sum of a metric's samples on a /metrics page whose labels include `labels`. */
async function metricSum(base: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/** Planned by the pushdown planner, so pushed down when no target moved (none does in this test). */
const MUST_PUSH = new Set(['count(demo_metric)', 'sum by (instance) (demo_metric)', 'count by (job) (up)', 'sum(rate(demo_requests_total[30s]))',
  'topk(3, sum by (instance) (demo_metric))', 'avg by (job) (demo_metric)', 'stddev(demo_metric)', 'absent(no_such_metric)']);

test('PromQL through the front door, with pushdown and without, answers as one Prometheus scraping everything (instant and range), and says which path it took', async (t) => {
  const at = Math.floor(Date.now() / 1000) - 3;
  const paths: string[] = [];
  const check = async (q: string, path: string, params: Record<string, string>, tol: number): Promise<void> => {
    const started = Date.now();
    const [want, on, off] = await Promise.all([ask(reference.url, path, params), ask(front, path, params), ask(noPushdown, path, params)]);
    t.diagnostic(`${Date.now() - started} ms, ${on.path}${on.reason ? ` (${on.reason})` : ''}: ${path === '/api/v1/query' ? '' : 'range '}${q}`);
    for (const [name, a] of [['reference', want], ['pushdown on', on], ['pushdown off', off]] as const) assert.equal(a.status, 'success', `${name} ${q}: ${a.error}`);
    assert.equal(on.data!.resultType, want.data!.resultType, q);
    assert.equal(off.data!.resultType, want.data!.resultType, q);
    if (q !== 'absent(demo_metric)') assert.ok((want.data!.result as Result[]).length > 0, `${q}: the reference has an answer`);
    sameResult(`${q} (pushdown on, ${on.path})`, want.data!.result as Result[], on.data!.result as Result[], tol);
    sameResult(`${q} (pushdown off)`, want.data!.result as Result[], off.data!.result as Result[], tol);
    assert.equal(pathProblem(off, false), undefined, q);
    assert.equal(pathProblem(on, true), undefined, q);
    if (MUST_PUSH.has(q)) assert.equal(on.path, 'pushdown', `${q}: pushed down (fallback: ${on.reason})`);
    if (q === 'job:demo_metric:count') assert.deepEqual([on.path, on.reason], ['remote-read', 'rules'], `${q}: a series of the querier's own rule`);
    paths.push(on.path!);
  };
  for (const [q, tol] of DIFFERENTIAL_INSTANT) await check(q, '/api/v1/query', { query: q, time: String(at) }, tol);
  for (const [q, tol] of DIFFERENTIAL_RANGE) await check(q, '/api/v1/query_range', { query: q, start: String(at - 15), end: String(at), step: '5' }, tol);
  const pushed = paths.filter((p) => p === 'pushdown').length;
  t.diagnostic(`pushed down: ${pushed} of ${paths.length} (${(100 * pushed / paths.length).toFixed(0)}%)`);

  // stats=all says the same in data.stats.kvass; the counters of /metrics count what was answered.
  const stats = { query: 'count(demo_metric)', time: String(at), stats: 'all' };
  const [son, soff] = await Promise.all([ask(front, '/api/v1/query', stats), ask(noPushdown, '/api/v1/query', stats)]);
  assert.deepEqual([son.data!.stats?.kvass?.path, son.data!.stats?.kvass?.reason], ['pushdown', undefined], JSON.stringify(son.data!.stats?.kvass));
  assert.deepEqual([soff.data!.stats?.kvass?.path, soff.data!.stats?.kvass?.reason], ['remote-read', 'disabled'], JSON.stringify(soff.data!.stats?.kvass));
  assert.ok(await metricSum(front, 'kvass_query_pushdown_total') >= pushed + 1, 'kvass_query_pushdown_total counts the pushed-down queries');
  assert.ok(await metricSum(front, 'kvass_query_pushdown_fallback_total', { reason: 'rules' }) >= 1, 'kvass_query_pushdown_fallback_total{reason="rules"}');
  assert.ok(await metricSum(noPushdown, 'kvass_query_pushdown_fallback_total', { reason: 'disabled' }) >= paths.length + 1, 'kvass_query_pushdown_fallback_total{reason="disabled"} with pushdown off');
});

type Point = [number, string];
/** Any answer as series of points (a scalar or string is one point of a series with no labels). */
function seriesOf(d: NonNullable<Answer['data']>): Array<{ metric: Record<string, string>; points: Point[] }> {
  if (d.resultType === 'scalar' || d.resultType === 'string') return [{ metric: {}, points: [d.result as Point] }];
  return (d.result as Result[]).map((r) => ({ metric: r.metric, points: r.value ? [r.value] : r.values ?? [] }));
}

/**
 * Where two answers differ (undefined: they do not). Without `group`: series by series, point by point. With
 * `group` (topk/bottomk at the top, where ties make the chosen series ambiguous): the multiset of values of each
 * group at each time.
 */
function difference(a: NonNullable<Answer['data']>, b: NonNullable<Answer['data']>, tol: number, group?: (m: Record<string, string>) => string): string | undefined {
  if (a.resultType !== b.resultType) return `result types ${a.resultType} and ${b.resultType}`;
  const [sa, sb] = [seriesOf(a), seriesOf(b)];
  if (group) {
    const bag = (ss: typeof sa) => {
      const m = new Map<string, number[]>();
      for (const s of ss) for (const [t, v] of s.points) (m.get(`${group(s.metric)}@${t}`) ?? m.set(`${group(s.metric)}@${t}`, []).get(`${group(s.metric)}@${t}`)!).push(Number(v));
      for (const vs of m.values()) vs.sort((x, y) => x - y);
      return m;
    };
    const [ba, bb] = [bag(sa), bag(sb)];
    if (ba.size !== bb.size) return `${ba.size} and ${bb.size} groups×times`;
    for (const [k, vs] of ba) {
      const ws = bb.get(k);
      if (!ws || ws.length !== vs.length || vs.some((v, i) => !close(v, ws[i]!, tol))) return `${k}: [${vs}] and [${ws}]`;
    }
    return undefined;
  }
  // count_values's label ("v" in the generated queries) is a formatted value: compared as values are, to 10 digits
  // (series whose labels are the same that way are paired in the order of their exact "v").
  const key = (m: Record<string, string>) => JSON.stringify(Object.entries(m).map(([k, x]) => [k, k === 'v' && x !== '' && !Number.isNaN(Number(x)) ? Number(x).toPrecision(10) : x]).sort());
  const byKey = (ss: typeof sa) => {
    const m = new Map<string, typeof sa>();
    for (const s of ss) (m.get(key(s.metric)) ?? m.set(key(s.metric), []).get(key(s.metric))!).push(s);
    for (const list of m.values()) list.sort((x, y) => Number(x.metric.v) - Number(y.metric.v));
    return m;
  };
  const [ma, mb] = [byKey(sa), byKey(sb)];
  if (sa.length !== sb.length || ma.size !== mb.size) return `${sa.length} and ${sb.length} series`;
  for (const [k, la] of ma) {
    const lb = mb.get(k);
    if (!lb || lb.length !== la.length) return `series ${k}: ${la.length} in the first, ${lb?.length ?? 0} in the second`;
    for (let j = 0; j < la.length; j++) {
      const [pa, pb] = [la[j]!.points, lb[j]!.points];
      if (pb.length !== pa.length) return `${k}: ${pa.length} and ${pb.length} points`;
      for (let i = 0; i < pb.length; i++) {
        const [[ta, va], [tb, vb]] = [pa[i]!, pb[i]!];
        if (ta !== tb || !close(Number(va), Number(vb), tol)) return `${k}: [${ta}, ${va}] and [${tb}, ${vb}]`;
      }
    }
  }
  return undefined;
}

/** The tolerance against the reference: rates are extrapolated from the scrape phases, which differ from the shards'. */
const referenceTolerance = (q: string): number => (/\b(irate|idelta)\(/.test(q) ? 0.05 : /\b(rate|increase|delta|deriv)\(/.test(q) ? 0.02 : 1e-9);

test('1,000 generated queries answer the same with pushdown and without (and as the reference where the remote-read path does)', { timeout: 300_000 }, async (t) => {
  const rng = new Rng(2042);
  const addresses = targets.map((x) => x.address);
  const next = promqlGenerator(rng, {
    matcher: (r) => r.pick([
      `series_id="${r.int(0, 12)}"`, 'series_id=~"[1-3]"', 'series_id!="5"', `code="${r.pick(['200', '500'])}"`, 'code!="500"',
      `le="${r.pick(['0.1', '0.5', '+Inf'])}"`, 'le=~"0.*"', `job="${r.pick(['demo', 'other'])}"`, 'job!="other"', 'job=~"demo|other"',
      'team="b"', 'team=""', 'team!="b"', `instance="${r.pick(addresses)}"`, 'instance=~"127.0.0.1:.*"', 'instance!~".*1"',
    ]),
    names: ['demo_metric', 'demo_metric', 'demo_requests_total', 'demo_latency_seconds_bucket', 'up', ''],
    nameless: '__name__=~"demo_metric|demo_requests_total|up"',
    // 10 of the 300-500 demo_metric series of each target (the differential suite reads them all): the remote-read
    // path reads every sample of what it selects, and 1,000 queries must take seconds, not minutes.
    always: { demo_metric: 'series_id=~"[0-9]"', '': 'series_id=~"[0-9]|"' },
    rangeFunctions: ['rate', 'increase', 'irate', 'delta', 'changes', 'resets', 'max_over_time', 'min_over_time', 'avg_over_time', 'sum_over_time',
      'count_over_time', 'last_over_time', 'present_over_time', 'stddev_over_time', 'quantile_over_time'],
    windows: ['10s', '20s', '30s'],
    groupings: ['instance', 'job', 'series_id', 'code', 'le', 'team', 'job, instance', 'instance, code'],
    aggregations: ['sum', 'min', 'max', 'count', 'avg', 'group', 'stddev', 'stdvar'],
    replaceTargets: ['x', 'instance', 'job'],
    replaceSources: ['series_id', 'instance', 'code'],
    onLabels: 'instance',
    extended: { offsetChance: 0.15, offsets: ['5s', '10s'], bucket: 'demo_latency_seconds_bucket', bucketGroupings: ['le', 'le, instance', 'le, job'], matchingLabels: ['instance', 'job', 'code', 'series_id', 'instance, job'] },
  });
  // At the top, sometimes topk/bottomk (compared per group, ties being ambiguous) or sort/sort_desc (order checked).
  const GROUPS: Array<[string, (m: Record<string, string>) => string]> = [
    ['', () => ''],
    [' by (instance)', (m) => m.instance ?? ''],
    [' by (job)', (m) => m.job ?? ''],
    [' without (series_id)', (m) => JSON.stringify(Object.entries(m).filter(([k]) => k !== 'series_id' && k !== '__name__').sort())],
  ];
  const cases = Array.from({ length: 1000 }, (_, i) => {
    const top = rng.weighted([[84, 'plain'], [8, 'topk'], [8, 'sort']] as const);
    const [g, group] = rng.pick(GROUPS);
    const inner = next();
    const expr = top === 'plain' ? inner : top === 'sort' ? `${rng.pick(['sort', 'sort_desc'])}(${inner})` : `${rng.pick(['topk', 'bottomk'])}${g} (${rng.int(1, 3)}, ${inner})`;
    return { expr, group: top === 'topk' ? group : undefined, sorted: top === 'sort' ? (expr.startsWith('sort_desc') ? -1 : 1) : 0, range: i % 8 === 0 };
  });
  const at = Math.floor(Date.now() / 1000) - 3;
  const started = Date.now();
  const n = { compared: 0, equal: 0, pushed: 0, range: 0, bothErrors: 0, offDiffersFromReference: 0, sameAsReference: 0, askedAgain: 0 };
  const reasons = new Map<string, number>();
  const failures: string[] = [];
  const offExamples: string[] = [];
  const took: Array<[number, string]> = [];
  const one = async (c: (typeof cases)[number], path: string, params: Record<string, string>): Promise<void> => {
    const timed = async (base: string) => {
      const t0 = Date.now();
      const a = await ask(base, path, params);
      return [a, Date.now() - t0] as const;
    };
    // An answer with warnings says it is incomplete (a shard's read cut at its timeout on a loaded machine): asked
    // again, at most twice; one still incomplete then is a failure.
    let [[ref, tr], [on, ton], [off, toff]] = await Promise.all([timed(reference.url), timed(front), timed(noPushdown)]);
    for (let again = 0; again < 2 && (on.warnings?.length || off.warnings?.length); again++) {
      n.askedAgain++;
      [[ref, tr], [on, ton], [off, toff]] = await Promise.all([timed(reference.url), timed(front), timed(noPushdown)]);
    }
    const what = `${path === '/api/v1/query' ? 'instant' : 'range'} ${c.expr}`;
    took.push([Math.max(tr, ton, toff), `${what}: reference ${tr} ms, pushdown ${ton} ms (${on.path}), remote read ${toff} ms`]);
    const warned = `warnings: on ${JSON.stringify(on.warnings ?? [])}, off ${JSON.stringify(off.warnings ?? [])}, reference ${JSON.stringify(ref.warnings ?? [])}`;
    for (const [a, isOn] of [[on, true], [off, false]] as const) {
      const p = pathProblem(a, isOn);
      if (p) failures.push(`${what}: ${p}`);
    }
    if (on.warnings?.length || off.warnings?.length) failures.push(`${what}: incomplete three times; ${warned}`);
    if (on.path === 'pushdown') n.pushed++;
    else reasons.set(on.reason ?? 'none', (reasons.get(on.reason ?? 'none') ?? 0) + 1);
    if (on.status !== 'success' || off.status !== 'success') {
      if (on.status === off.status && on.http === off.http && on.errorType === off.errorType) n.bothErrors++;
      else failures.push(`${what}: pushdown on ${on.http} ${on.errorType ?? ''} ${on.error ?? ''}; off ${off.http} ${off.errorType ?? ''} ${off.error ?? ''}; ${warned}`);
      return;
    }
    n.compared++;
    const d = difference(on.data!, off.data!, 1e-9, c.group);
    if (d) failures.push(`${what} (${on.path}${on.reason ? ` ${on.reason}` : ''}): pushdown on and off differ: ${d}; ${warned}`);
    else n.equal++;
    if (c.sorted !== 0 && on.data!.resultType === 'vector') {
      const vs = (on.data!.result as Result[]).map((r) => Number(r.value![1])).filter((v) => !Number.isNaN(v));
      if (vs.some((v, i) => i > 0 && (v - vs[i - 1]!) * c.sorted < 0)) failures.push(`${what}: not sorted: ${vs.slice(0, 20)}`);
    }
    const tol = referenceTolerance(c.expr);
    const offRef = ref.status === 'success' ? difference(off.data!, ref.data!, tol, c.group) : `the reference: ${ref.error}`;
    if (offRef) {
      n.offDiffersFromReference++;
      if (offExamples.length < 5) offExamples.push(`${what}: ${offRef}`);
      return;
    }
    const onRef = difference(on.data!, ref.data!, tol, c.group);
    if (onRef) failures.push(`${what} (${on.path}): differs from the reference where pushdown off does not: ${onRef}`);
    else n.sameAsReference++;
  };
  await pool(cases.length, 6, async (i) => {
    const c = cases[i]!;
    await one(c, '/api/v1/query', { query: c.expr, time: String(at) });
    if (c.range) {
      n.range++;
      await one(c, '/api/v1/query_range', { query: c.expr, start: String(at - 20), end: String(at), step: '5' });
    }
  });
  const answers = cases.length + n.range;
  t.diagnostic(`${answers} queries (${cases.length} instant, ${n.range} range) in ${((Date.now() - started) / 1000).toFixed(1)} s: ${n.compared} compared, ${n.equal} equal with pushdown on and off, ${n.bothErrors} errors in both; ${n.askedAgain} asked again after an answer with warnings`);
  took.sort((x, y) => y[0] - x[0]);
  t.diagnostic(`slowest: ${took.slice(0, 3).map(([, w]) => w).join(' | ')}; median ${took[took.length >> 1]?.[0]} ms`);
  t.diagnostic(`pushed down: ${n.pushed} (${(100 * n.pushed / answers).toFixed(0)}%); fallbacks: ${[...reasons].sort((x, y) => y[1] - x[1]).map(([r, k]) => `${r} ${k}`).join(', ')}`);
  t.diagnostic(`against the reference: ${n.sameAsReference} the same on both paths; ${n.offDiffersFromReference} where the remote-read path already differs (on-vs-off only), e.g. ${offExamples.join(' | ')}`);
  assert.deepEqual(failures.slice(0, 10), [], `${failures.length} of ${answers} answers wrong`);
  assert.equal(n.compared + n.bothErrors, answers);
  assert.ok(n.compared >= 0.7 * answers, `${n.compared} of ${answers} compared`);
  assert.ok(n.pushed >= 0.2 * answers, `${n.pushed} of ${answers} pushed down`);
  assert.ok(n.sameAsReference >= 0.5 * n.compared, `${n.sameAsReference} of ${n.compared} also compared with the reference`);
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
  const fromQuerier = await waitFor('the alert from the global querier', async () => alertsReceived.find((a) => a.labels.alertname === 'AllDemoSeriesPresent' && a.generatorURL.startsWith(`${front}/`)), 30_000, 500);
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
  const start = async (extra: string[]) => (await launchQuery(['--query.shard-timeout=1500ms', ...extra])).ready();
  const partial = await start([]);
  const strict = await start(['--no-query.partial-response']);
  const total = String(300 * 6 + 40 * 15);
  const count = async (base: string) => (await fetch(`${base}/api/v1/query?query=count(demo_metric)`)).json() as Promise<{ status: string; data?: { result: Result[] }; warnings?: string[]; error?: string }>;
  // Every series, from both. (On a loaded machine a shard can miss the 1.5 s shard timeout now and then: the strict
  // one then fails the query, which is its job; the count is asked again until both have answered whole.)
  const answers: string[] = [];
  await waitFor('both to count every series', async () => {
    const [p, s] = await Promise.all([count(partial), count(strict)]);
    answers.push(JSON.stringify([p, s]).slice(0, 400));
    return p.data?.result[0]?.value?.[1] === total && s.data?.result[0]?.value?.[1] === total;
  }, 30_000, 500).catch((e: Error) => assert.fail(`${e.message}; answers: ${answers.slice(-3).join(' ')}`));
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
