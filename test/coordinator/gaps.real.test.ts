/**
 * Gap test with real Prometheus: while 2 shards grow to 3 (a target grows and its shard is relieved) and shrink
 * back to 2 (the target shrinks; the highest shard is drained and removed), every target's `up` series has a
 * sample in every scrape interval: a moved target is scraped by both shards until the new one has it.
 *
 * Through the global view (the front door of `kvass up`), meanwhile: the series of the targets that do not change
 * are counted the same at every moment whatever the shard count, and a range query over the whole time has every
 * target's `up` exactly once at every step (a target scraped by two shards during its move is deduplicated).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchShards, runKvass, type RunningKvass, type ShardRow } from '../helpers/kvass.js';
import { freePort, waitFor } from '../helpers/prometheus.js';
import { metricsBody, startTarget, type TestTarget } from '../helpers/targets.js';

const INTERVAL_S = 1;
let up: RunningKvass | undefined;
const targets: TestTarget[] = [];

let collecting = false;
let counting = false;

after(async () => {
  collecting = false; // a failed test must not leave the collector looping (it would keep the process alive)
  await up?.stop();
  for (const t of targets) await t.close();
});

test('no scrape interval without an `up` sample while shards go 2 → 3 → 2', { timeout: 240_000 }, async () => {
  const sizes = [6000, 6000, 6000, 6000];
  const bodies = new Map<number, string>();
  const body = (n: number) => bodies.get(n) ?? (bodies.set(n, metricsBody(n)), bodies.get(n)!);
  for (let i = 0; i < 4; i++) {
    targets.push(await startTarget((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body(sizes[i]!))));
  }
  const dir = await mkdtemp(join(tmpdir(), 'kvass-gaps-'));
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, `global: {scrape_interval: ${INTERVAL_S}s, scrape_timeout: ${INTERVAL_S}s}
scrape_configs:
  - job_name: grow
    static_configs: [{targets: [${targets.map((t) => `'${t.address}'`).join(', ')}]}]
`);
  const apiPort = await freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  up = runKvass(['up', `--config.file=${configFile}`, `--data-dir=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${apiPort}`,
    '--shard.max-series=15000', '--shard.max-idle-time=4s', '--coordinator.interval=2s', '--log.level=info']);

  // Raw `up` samples of every instance, from every shard, collected as the shards come and go.
  const samples = new Map<string, Set<number>>();
  let shardCounts: number[] = [];
  // Through the front door: series of the 3 targets that keep their size, and `count(up)`, at each poll.
  const frontCounts: Array<{ shards: number; steady: number; up: number }> = [];
  const instant = async (q: string): Promise<number | undefined> => {
    const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`).catch(() => null);
    if (!res?.ok) return undefined;
    const r = ((await res.json()) as { data: { result: Array<{ value: [number, string] }> } }).data.result;
    return r.length === 1 ? Number(r[0]!.value[1]) : undefined;
  };
  const shards = async (): Promise<ShardRow[]> => (await fetchShards(api))[0]?.shards ?? [];
  collecting = true;
  const collector = (async () => {
    while (collecting) {
      const list = await shards();
      shardCounts.push(list.length);
      if (counting) {
        const [steady, ups] = await Promise.all([instant(`count(demo_metric{instance!="${targets[0]!.address}"})`), instant('count(up)')]);
        frontCounts.push({ shards: list.length, steady: steady ?? -1, up: ups ?? -1 });
      }
      await Promise.all(list.filter((s) => s.ready).map(async (s) => {
        const res = await fetch(`${s.url}/api/v1/query?query=${encodeURIComponent('up[40s]')}`).catch(() => null);
        if (!res?.ok) return;
        const data = ((await res.json()) as { data: { result: Array<{ metric: { instance: string }; values: Array<[number, string]> }> } }).data;
        for (const r of data.result) {
          const set = samples.get(r.metric.instance) ?? samples.set(r.metric.instance, new Set()).get(r.metric.instance)!;
          for (const [ts] of r.values) set.add(ts);
        }
      }));
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();

  const settledOn = (n: number) => async () => {
    if (up!.proc.exitCode !== null) throw new Error(`kvass up exited: ${up!.output()}`);
    const list = await shards();
    return list.length === n && list.every((s) => s.ready) && list.reduce((a, s) => a + s.targets, 0) === 4 ? list : undefined;
  };
  await waitFor('2 shards with the 4 targets', settledOn(2), 120_000, 500);
  const start = Date.now() / 1000;
  shardCounts = [];
  // The querier's lookback is 5m: once every target has been scraped, counts are complete.
  await new Promise((r) => setTimeout(r, 2000));
  counting = true;

  sizes[0] = 9000; // its shard goes over 15000: a target moves to a new shard
  await waitFor('3 shards', settledOn(3), 90_000, 500);
  sizes[0] = 6000; // room again: the highest shard is drained and removed after --shard.max-idle-time
  await waitFor('back to 2 shards', settledOn(2), 120_000, 500);
  await new Promise((r) => setTimeout(r, 4000));
  collecting = false;
  await collector;
  const end = Date.now() / 1000 - 3;
  const out = up.output();

  // Global view: constant counts while the shard count changed.
  assert.ok(new Set(frontCounts.map((c) => c.shards)).size >= 2, `the shard count changed while counting: ${JSON.stringify(frontCounts.map((c) => c.shards))}`);
  for (const c of frontCounts) {
    assert.equal(c.steady, 18000, `series of the steady targets through the front door with ${c.shards} shards: ${JSON.stringify(frontCounts)}`);
    assert.equal(c.up, 4, `count(up) through the front door with ${c.shards} shards`);
  }
  // One range query over the whole time: every target's `up` at every step, never twice.
  const rangeRes = await fetch(`${api}/api/v1/query_range?query=${encodeURIComponent('up')}&start=${start + 3}&end=${end}&step=1`);
  const range = ((await rangeRes.json()) as { data: { result: Array<{ metric: { instance: string }; values: Array<[number, string]> }> } }).data.result;
  assert.deepEqual(range.map((r) => r.metric.instance).sort(), targets.map((t) => t.address).sort(), 'each target once');
  const steps = Math.floor(end - (start + 3)) + 1;
  for (const r of range) assert.equal(r.values.length, steps, `${r.metric.instance}: ${r.values.length} of ${steps} steps have a value`);

  assert.ok(shardCounts.includes(3), 'went through 3 shards');
  assert.match(out, /transfer begun/);
  assert.match(out, /"reason":"overload"/);
  assert.match(out, /"reason":"scale-down"/);
  for (const t of targets) {
    const ts = [...(samples.get(t.address) ?? [])].filter((x) => x >= start && x <= end).sort((a, b) => a - b);
    assert.ok(ts.length >= (end - start) / INTERVAL_S * 0.8, `${t.address}: only ${ts.length} samples over ${Math.round(end - start)} s`);
    let worst = 0;
    for (let i = 1; i < ts.length; i++) worst = Math.max(worst, ts[i]! - ts[i - 1]!);
    assert.ok(worst <= 1.5 * INTERVAL_S, `${t.address}: a gap of ${worst.toFixed(2)} s between two up samples`);
  }
});
