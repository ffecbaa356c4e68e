/**
 * The global view against one Prometheus. 100k series (100 instances × 500 gauges + 500 counters, 15 min at 15 s)
 * are written by remote write into one Prometheus holding all of them and, split by instance, into 3 shard
 * Prometheus; the store gateway (in this process) reads the shards, and a real global querier Prometheus reads the
 * gateway, as in `kvass up`; two front doors (in this process) answer over them: one with query pushdown
 * (issue 13: each shard evaluates its part, pushdown.ts), one without (every query by remote read). Typical queries
 * run alternately on the three, 5 times each; the table gives the medians, the ratios to one Prometheus and the
 * path the pushdown front door took. The last row gives the share of the differential suite's queries that push down.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressSync } from 'snappy';
import { Worker } from 'node:worker_threads';
import { silentLogger } from '../src/logger.js';
import { encodeSeries } from '../src/query/remote/series-wire.js';
import { WireWriter, varintSize } from '../src/query/remote/wire.js';
import { GlobalQuerier } from '../src/query/querier.js';
import { PortAllocator } from '../src/shard/local-shard.js';
import { Agent, request } from 'undici';
import { planPushdown } from '../src/query/pushdown-plan.js';
import { DIFFERENTIAL_INSTANT, DIFFERENTIAL_RANGE } from '../test/helpers/differential-queries.js';

const INSTANCES = 100;
const PER_KIND = 500;
const STEP_MS = 15_000;
const SPAN_MS = 15 * 60_000;
const RUNS = 5;

const QUERIES: Array<{ name: string; query: string; range?: boolean }> = [
  { name: 'count', query: 'count(demo_metric)' },
  { name: 'sum by instance', query: 'sum by (instance) (demo_metric)' },
  { name: 'topk', query: 'topk(10, demo_metric)' },
  { name: 'rate, sum by instance', query: 'sum by (instance) (rate(demo_requests_total[5m]))' },
  { name: 'range 10m/30s: sum rate', query: 'sum(rate(demo_requests_total[2m]))', range: true },
  { name: '10 series', query: 'demo_metric{series_id="7", instance=~"host-[0-9]:9100"}' },
  { name: 'quantile (ships every series)', query: 'quantile(0.9, demo_metric)' },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitReady(url: string, proc: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) throw new Error(`prometheus exited (${proc.exitCode})`);
    if ((await fetch(`${url}/-/ready`).catch(() => null))?.ok) return;
    await sleep(100);
  }
  throw new Error(`${url} not ready`);
}

export async function startPrometheus(dir: string, port: number): Promise<{ url: string; proc: ChildProcess }> {
  await writeFile(join(dir, 'prometheus.yml'), 'global: {scrape_interval: 15s}\n');
  const proc = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-remote-write-receiver', '--log.level=warn'], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, proc);
  return { url, proc };
}

/** Remote-writes the series of the given instances, in batches. */
export async function load(url: string, instances: number[], end: number): Promise<void> {
  const start = end - SPAN_MS;
  const t: number[] = [];
  for (let ts = start; ts <= end; ts += STEP_MS) t.push(ts);
  for (const i of instances) {
    const parts: Buffer[] = [];
    for (let k = 0; k < PER_KIND; k++) {
      const base = ((k * 7 + i) % 101);
      parts.push(encodeSeries([['__name__', 'demo_metric'], ['instance', `host-${i}:9100`], ['job', 'bench'], ['series_id', String(k)]], { t, v: t.map((x) => base + Math.sin(x / 60_000)) }));
      parts.push(encodeSeries([['__name__', 'demo_requests_total'], ['instance', `host-${i}:9100`], ['job', 'bench'], ['path', `/p${k}`]], { t, v: t.map((x) => ((k % 10) + 1) * (x - start) / 1000) }));
    }
    const w = new WireWriter(parts.reduce((n, p) => n + p.length + 1 + varintSize(p.length), 0));
    for (const p of parts) {
      w.byte(0x0a);
      w.uvarint(p.length);
      w.bytes(p);
    }
    const res = await fetch(`${url}/api/v1/write`, { method: 'POST', body: compressSync(w.finish()), headers: { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf', 'x-prometheus-remote-write-version': '0.1.0' } });
    if (!res.ok) throw new Error(`remote write to ${url}: ${res.status} ${await res.text()}`);
  }
}

// Keep-alive connections, as Grafana's: the figures are the query's, not a TCP handshake's.
const agent = new Agent({ keepAliveTimeout: 60_000 });

async function timeQuery(base: string, q: (typeof QUERIES)[number], at: number): Promise<{ ms: number; series: number; path: string }> {
  const params: Record<string, string> = q.range ? { query: q.query, start: String(at - 600), end: String(at), step: '30' } : { query: q.query, time: String(at) };
  const t0 = performance.now();
  const res = await request(`${base}/api/v1/${q.range ? 'query_range' : 'query'}?${new URLSearchParams(params)}`, { dispatcher: agent });
  const body = (await res.body.json()) as { status: string; data: { result: unknown[] }; error?: string };
  const ms = performance.now() - t0;
  if (body.status !== 'success') throw new Error(`${q.query} on ${base}: ${body.error}`);
  const path = String(res.headers['x-kvass-query-path'] ?? '');
  const why = res.headers['x-kvass-pushdown-fallback'];
  return { ms, series: body.data.result.length, path: why ? `${path} (${String(why)})` : path };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (ms: number): number => (ms < 10 ? Number(ms.toFixed(1)) : Math.round(ms));

export async function run(): Promise<Array<Record<string, string | number>>> {
  const root = await mkdtemp(join(tmpdir(), 'kvass-bench-query-'));
  const ports = new PortAllocator();
  const procs: ChildProcess[] = [];
  let querier: GlobalQuerier | undefined;
  let view: Worker | undefined;
  try {
    const single = await startPrometheus(await mkdtemp(join(root, 'single-')), await ports.one());
    const shards: Array<{ url: string; proc: ChildProcess }> = [];
    for (let s = 0; s < 3; s++) shards.push(await startPrometheus(await mkdtemp(join(root, `shard${s}-`)), await ports.one()));
    procs.push(single.proc, ...shards.map((s) => s.proc));
    const end = Math.floor(Date.now() / STEP_MS) * STEP_MS - STEP_MS;
    const all = Array.from({ length: INSTANCES }, (_, i) => i);
    const t0 = performance.now();
    await load(single.url, all, end);
    await Promise.all(shards.map((s, k) => load(s.url, all.filter((i) => i % 3 === k), end)));
    const loadS = (performance.now() - t0) / 1000;

    const querierPort = await ports.one();
    const querierUrl = `http://127.0.0.1:${querierPort}`;
    view = new Worker(new URL('./global-view-worker.js', import.meta.url), { workerData: { shardUrls: shards.map((s) => s.url), querierUrl } });
    const [{ gatewayUrl, pushdownUrl, remoteReadUrl }] = (await once(view, 'message')) as [{ gatewayUrl: string; pushdownUrl: string; remoteReadUrl: string }];
    const qdir = await mkdtemp(join(root, 'querier-'));
    await writeFile(join(qdir, 'original.yml'), 'global: {scrape_interval: 15s}\n');
    querier = new GlobalQuerier({ configFile: join(qdir, 'original.yml'), dir: qdir, gatewayUrl, port: querierPort, lookbackDeltaMs: 300_000, readTimeoutMs: 120_000, log: silentLogger() });
    await querier.start();
    for (let i = 0; i < 300 && !(await querier.ready()); i++) await sleep(100);
    view.postMessage('querier-started');
    await once(view, 'message');
    const at = end / 1000;
    if (process.env.KVASS_BENCH_HOLD) {
      // For profiling by hand: keep everything up for that many seconds.
      console.log(JSON.stringify({ single: single.url, querier: querier.url, gateway: gatewayUrl, pushdown: pushdownUrl, remoteRead: remoteReadUrl, shards: shards.map((s) => s.url), at }));
      await sleep(Number(process.env.KVASS_BENCH_HOLD) * 1000);
    }
    const rows: Array<Record<string, string | number>> = [];
    for (const q of QUERIES) {
      // One warm-up each (first reads load index pages), then alternate.
      const a = await timeQuery(single.url, q, at);
      const b = await timeQuery(pushdownUrl, q, at);
      const c = await timeQuery(remoteReadUrl, q, at);
      if (a.series !== b.series || a.series !== c.series) throw new Error(`${q.query}: ${a.series} series from one Prometheus, ${b.series} with pushdown, ${c.series} by remote read`);
      const one: number[] = [];
      const pushed: number[] = [];
      const remote: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        one.push((await timeQuery(single.url, q, at)).ms);
        pushed.push((await timeQuery(pushdownUrl, q, at)).ms);
        remote.push((await timeQuery(remoteReadUrl, q, at)).ms);
      }
      const [m1, mp, mr] = [median(one), median(pushed), median(remote)];
      rows.push({
        query: q.name, 'one Prometheus ms': round(m1), 'pushdown front door ms': round(mp), 'ratio (pushdown)': Number((mp / m1).toFixed(2)),
        'remote-read front door ms': round(mr), 'ratio (remote read)': Number((mr / m1).toFixed(2)), 'path taken': b.path, 'result series': a.series,
      });
    }
    const planned = [...DIFFERENTIAL_INSTANT, ...DIFFERENTIAL_RANGE].map(([q]) => !('fallback' in planPushdown(q, { lookbackDeltaMs: 300_000 })));
    rows.push({ query: `differential suite: ${planned.filter(Boolean).length} of ${planned.length} queries planned for pushdown (no move, no recording rule)`, 'one Prometheus ms': '', 'pushdown front door ms': '', 'ratio (pushdown)': '', 'remote-read front door ms': '', 'ratio (remote read)': '', 'path taken': '', 'result series': '' });
    rows.push({ query: `(loaded ${INSTANCES * PER_KIND * 2} series × ${SPAN_MS / STEP_MS + 1} samples twice in ${loadS.toFixed(1)} s)`, 'one Prometheus ms': '', 'pushdown front door ms': '', 'ratio (pushdown)': '', 'remote-read front door ms': '', 'ratio (remote read)': '', 'path taken': '', 'result series': '' });
    return rows;
  } finally {
    await querier?.stop();
    await view?.terminate();
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode === null ? once(p, 'exit') : null)));
  }
}
