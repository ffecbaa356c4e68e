/**
 * Replicas with real processes: `kvass up --shard.replicas=2` gives two replicas of the same placement. Every
 * replica scrapes every target, shard i of both replicas scrapes the same targets, and each replica's series
 * carry their replica external label in their config.
 *
 * Through the global view, the replicas count once; with one replica's shard hung (SIGSTOP) and then killed
 * (SIGKILL, restarted by kvass), queries keep their answers (with a warning naming the shard, cut at the shard
 * timeout), and the raw samples over the outage have no hole: the other replica's fill it from the next scrape slot
 * on. With both replicas hung for 3 s, the view's hole is the real one plus at most an interval.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fetchShards, runKvass, type RunningKvass } from '../helpers/kvass.js';
import { freePort, waitFor } from '../helpers/prometheus.js';
import { metricsBody, startTarget, type TestTarget } from '../helpers/targets.js';
import { tempDir } from '../helpers/tmp.js';

let up: RunningKvass | undefined;
const targets: TestTarget[] = [];
let api = '';
let dataDir = '';
let stopped: number | undefined;
let stoppedBoth: number[] = [];
let strictView: RunningKvass | undefined;

after(async () => {
  for (const pid of stoppedBoth) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // gone
    }
  }
  await strictView?.stop();
  if (stopped) {
    try {
      process.kill(stopped, 'SIGCONT');
    } catch {
      // gone
    }
  }
  await up?.stop();
  for (const t of targets) await t.close();
});

test('two replicas share one placement and carry their replica label', { timeout: 180_000 }, async () => {
  for (let i = 0; i < 4; i++) targets.push(await startTarget(metricsBody(3000)));
  const dir = await tempDir('kvass-replicas-');
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, `global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: rep
    static_configs: [{targets: [${targets.map((t) => `'${t.address}'`).join(', ')}]}]
`);
  const apiPort = await freePort();
  api = `http://127.0.0.1:${apiPort}`;
  dataDir = join(dir, 'data');
  up = runKvass(['up', `--config.file=${configFile}`, `--data-dir=${dataDir}`, `--web.listen-address=127.0.0.1:${apiPort}`,
    '--shard.max-series=7000', '--shard.replicas=2', '--coordinator.interval=2s', '--query.shard-timeout=2s']);

  const replicas = await waitFor('2 replicas of 2 shards with every target measured', async () => {
    if (up!.proc.exitCode !== null) throw new Error(`kvass up exited: ${up!.output()}`);
    const reps = await fetchShards(api);
    const ok = reps.length === 2 && reps.every((r) => r.shards.length === 2 && r.shards.every((s) => s.ready && s.targets === 2 && s.processSeries === 6000));
    // Not yet: what was seen, for the message should it never come (each shard's readiness, targets and series).
    if (!ok) throw new Error(`last seen ${JSON.stringify(reps.map((r) => r.shards.map((s) => [s.ready, s.targets, s.processSeries])))}`);
    return reps;
  }, 150_000, 500);

  // Shard i of both replicas scrapes the same targets; each replica scrapes all of them.
  const lists = await Promise.all(replicas.map((r) => Promise.all(r.shards.map(async (s) => {
    const body = (await (await fetch(`${s.url}/api/v1/shard/targets`)).json()) as { data: { targets: Array<{ labels: { instance: string } }> } };
    return body.data.targets.map((t) => t.labels.instance).sort();
  }))));
  assert.deepEqual(lists[0], lists[1]);
  assert.deepEqual(lists[0]!.flat().sort(), targets.map((t) => t.address).sort());

  // Each replica carries its replica external label (applied by Prometheus to what leaves it: remote write, federation, Thanos).
  for (const [r, rep] of replicas.entries()) {
    const res = await waitFor(`replica ${r} series`, async () => {
      const q = await (await fetch(`${rep.shards[0]!.url}/api/v1/status/config`)).json() as { data: { yaml: string } };
      return q.data.yaml;
    });
    assert.match(res, new RegExp(`replica: "?${r}"?`));
  }
});

type Vector = Array<{ metric: Record<string, string>; value: [number, string] }>;
type Matrix = Array<{ metric: Record<string, string>; values: Array<[number, string]> }>;

async function query<T>(base: string, q: string, time?: number): Promise<{ data: { result: T }; warnings?: string[] }> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}${time === undefined ? '' : `&time=${time}`}`);
  assert.equal(res.status, 200, q);
  return (await res.json()) as { data: { result: T }; warnings?: string[] };
}

const maxGap = (values: Array<[number, string]>) => values.reduce((m, v, i) => (i === 0 ? 0 : Math.max(m, v[0] - values[i - 1]![0])), 0);

test('through the global view, replicas count once and a replica\'s outage loses no sample', { timeout: 180_000 }, async () => {
  assert.ok(up, 'kvass up runs (previous test)');
  const replicas = await fetchShards(api);
  const perShard = Number((await query<Vector>(replicas[0]!.shards[0]!.url, 'count(demo_metric)')).data.result[0]!.value[1]);
  assert.equal(perShard, 6000);
  const global = await query<Vector>(api, 'count(demo_metric)');
  assert.equal(Number(global.data.result[0]!.value[1]), 12000, 'the 2 replicas of 2 shards of 6000 series count as 12000');
  assert.equal(global.warnings, undefined);

  // A second view with partial responses off: one replica down is not a partial answer, its twin has the data.
  const strictPort = await freePort();
  const strict = `http://127.0.0.1:${strictPort}`;
  strictView = runKvass(['query', `--config.file=${join(dataDir, '..', 'prometheus.yml')}`, `--coordinator.url=${api}`, `--data-dir=${join(dataDir, '..', 'strict-view')}`,
    `--web.listen-address=127.0.0.1:${strictPort}`, '--query.shard-timeout=2s', '--no-query.partial-response']);
  await waitFor('the strict view', async () => {
    const r = await fetch(`${strict}/api/v1/query?query=count(demo_metric)`).catch(() => null);
    return r?.ok && ((await r.json()) as { data: { result: unknown[] } }).data.result.length === 1;
  }, 60_000, 500);

  // Replica 0's shard 0 (the first copy in the merge order) hangs, then is killed.
  const victim = replicas[0]!.shards[0]!;
  const instance = ((await (await fetch(`${victim.url}/api/v1/shard/targets`)).json()) as { data: { targets: Array<{ labels: { instance: string } }> } }).data.targets[0]!.labels.instance;
  const pids = JSON.parse(await readFile(join(dataDir, 'replica-0', 'shard-0', 'pids.json'), 'utf8')) as { prometheus: number };
  const outageStart = Date.now() / 1000;
  process.kill(pids.prometheus, 'SIGSTOP');
  stopped = pids.prometheus;
  await new Promise((r) => setTimeout(r, 6000));
  const during = await query<Vector>(api, 'count(demo_metric)');
  assert.equal(Number(during.data.result[0]!.value[1]), 12000, 'the other replica answers for the hung shard');
  assert.ok(during.warnings?.some((w) => w.includes('replica-0/shard-0') && /within 2s/.test(w)), `a warning names the hung shard: ${JSON.stringify(during.warnings)}`);
  const strictDuring = await query<Vector>(strict, 'count(demo_metric)');
  assert.equal(Number(strictDuring.data.result[0]!.value[1]), 12000, 'partial responses off, one replica down: still an answer');
  process.kill(pids.prometheus, 'SIGKILL'); // kvass restarts it
  stopped = undefined;
  await waitFor('the killed Prometheus to be restarted and to answer', async () => {
    const p = JSON.parse(await readFile(join(dataDir, 'replica-0', 'shard-0', 'pids.json'), 'utf8')) as { prometheus: number };
    if (p.prometheus === pids.prometheus) return false;
    return (await fetch(`${victim.url}/api/v1/query?query=up`).catch(() => null))?.ok;
  }, 60_000, 500);
  await new Promise((r) => setTimeout(r, 4000));
  const window = Math.ceil(Date.now() / 1000 - outageStart) + 5;

  // The hung-then-killed replica's own data has the hole (and may have lost more: unflushed WAL at the kill) …
  // Every read at one evaluation time, so the view and each replica are judged on the same window.
  const at = Date.now() / 1000;
  const own = (await query<Matrix>(victim.url, `up{instance="${instance}"}[${window}s]`, at)).data.result[0]?.values ?? [];
  const inHole = own.filter(([t]) => t > outageStart + 1 && t < outageStart + 5);
  assert.deepEqual(inHole, [], 'replica 0 has no sample while it was stopped');
  // … and the global view has every scrape interval: the other replica's samples from the next scrape slot on, so
  // no spacing above 1.5 intervals (plus 50 ms: a scrape's own scheduling noise).
  // The querier's lookback (5 m) would hide a hole in query_range; a range selector shows the raw samples.
  const merged = (await query<Matrix>(api, `up{instance="${instance}"}[${window}s]`, at)).data.result;
  assert.equal(merged.length, 1, 'one series, the replica label dropped');
  assert.equal(merged[0]!.metric.replica, undefined);
  const values = merged[0]!.values;
  assert.ok(maxGap(values) <= 1.5 + 0.05, `largest gap between samples through the global view: ${maxGap(values)} s`);
  // Two samples closer than half an interval only where one replica itself scraped twice (a late tick under load).
  const twin = (await query<Matrix>(replicas[1]!.shards[0]!.url, `up{instance="${instance}"}[${window}s]`, at)).data.result[0]?.values ?? [];
  const ownTimes = [own, twin].map((vs) => new Set(vs.map(([t]) => t)));
  for (let i = 1; i < values.length; i++) {
    const [a, b] = [values[i - 1]![0], values[i]![0]];
    if (b - a > 0.5 - 0.05) continue;
    assert.ok(ownTimes.some((ts) => ts.has(a) && ts.has(b)), `two samples of different replicas in one scrape slot: ${a} and ${b}`);
  }
  // As many samples as the replica that never stopped scraped in that window: bounded by what the replicas hold, not
  // by the clock (a loaded machine scrapes late). A switch between the replicas, at the outage's start and end, may
  // leave out one slot each.
  assert.ok(twin.length >= window * 0.5, `the replica that kept running scraped ${twin.length} samples over ${window} s`);
  assert.ok(values.length >= twin.length - 2, `${values.length} samples through the view, ${twin.length} on the replica that kept running`);
});

test('both replicas down for 3 s: the view\'s hole is the real outage plus at most one interval', { timeout: 120_000 }, async () => {
  assert.ok(up, 'kvass up runs (first test)');
  const replicas = await fetchShards(api);
  const shard0 = replicas.map((r) => r.shards[0]!);
  const instance = ((await (await fetch(`${shard0[0]!.url}/api/v1/shard/targets`)).json()) as { data: { targets: Array<{ labels: { instance: string } }> } }).data.targets[0]!.labels.instance;
  const pids = await Promise.all([0, 1].map(async (r) => (JSON.parse(await readFile(join(dataDir, `replica-${r}`, 'shard-0', 'pids.json'), 'utf8')) as { prometheus: number }).prometheus));
  const outageStart = Date.now() / 1000;
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  stoppedBoth = pids;
  await new Promise((r) => setTimeout(r, 3000));
  for (const pid of pids) process.kill(pid, 'SIGCONT');
  stoppedBoth = [];
  await new Promise((r) => setTimeout(r, 5000));
  const window = Math.ceil(Date.now() / 1000 - outageStart) + 8;

  // The real outage: the largest hole in the union of both replicas' own samples.
  // Every read at one evaluation time: the view must not be judged on a scrape that came after the replicas' reads.
  const at = Date.now() / 1000;
  const own = await Promise.all(shard0.map(async (s) => (await query<Matrix>(s.url, `up{instance="${instance}"}[${window}s]`, at)).data.result[0]?.values ?? []));
  const union = [...new Set(own.flat().map(([t]) => t))].sort((a, b) => a - b).map((t): [number, string] => [t, '1']);
  const outage = maxGap(union);
  assert.ok(outage >= 2.5, `both replicas missed the outage's scrapes: the union's largest hole is ${outage} s`);
  const view = (await query<Matrix>(api, `up{instance="${instance}"}[${window}s]`, at)).data.result[0]!.values;
  assert.ok(maxGap(view) <= outage + 1 + 0.05, `the view's largest hole ${maxGap(view)} s, the real outage ${outage} s`);
  // Where each of the view's samples comes from is judged on the replicas read again after the view: a scrape stamped
  // before `at` may be appended after the first reads and before the view's (seen so on this loaded machine).
  const ownAfter = await Promise.all(shard0.map(async (s) => (await query<Matrix>(s.url, `up{instance="${instance}"}[${window}s]`, at)).data.result[0]?.values ?? []));
  // Two samples closer than half an interval only where one replica itself scraped twice (a Prometheus resumed
  // after SIGCONT fires its missed tick at once): never one sample from each replica in one slot.
  const ownTimes = ownAfter.map((vs) => new Set(vs.map(([t]) => t)));
  for (let i = 1; i < view.length; i++) {
    const [a, b] = [view[i - 1]![0], view[i]![0]];
    if (b - a > 0.5 - 0.05) continue;
    assert.ok(ownTimes.some((ts) => ts.has(a) && ts.has(b)), `two samples of different replicas in one scrape slot: ${a} and ${b}`);
  }
  const unionTimes = new Set(ownAfter.flat().map(([t]) => t));
  for (const [t] of view) assert.ok(unionTimes.has(t), `the view's sample at ${t} is on neither replica`);
});
