/**
 * Gap test with real Prometheus: while 2 shards grow to 3 (a target grows and its shard is relieved) and shrink
 * back to 2 (the target shrinks; the highest shard is drained and removed), every target's `up` series has a
 * sample in every scrape interval: a moved target is scraped by both shards until the new one has it.
 *
 * Through the global view (the front door of `kvass up`), meanwhile: the series of the targets that do not change
 * are counted the same at every moment whatever the shard count, and a range query over the whole time has every
 * target's `up` exactly once at every step (a target scraped by two shards during its move is deduplicated).
 *
 * And at the finest grain: every second, `up[30s]` is read through the front door (an instant query of a range
 * selector: raw samples) and from every shard at the same evaluation time. In each answer of the view, every scrape
 * slot the shards hold is there exactly once and nothing else is; over the whole test, every slot any shard ever held
 * was in the view, and the view never had two consecutive slots more than 1.5 intervals apart. (A removed shard's
 * data leaves with it, so the view is compared with what the shards hold at the moment it is read.)
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchShards, runKvass, type RunningKvass, type ShardRow } from '../helpers/kvass.js';
import { freePort, waitFor } from '../helpers/prometheus.js';
import { metricsBody, startTarget, type TestTarget } from '../helpers/targets.js';
import { scrapeSlots } from '../helpers/slots.js';

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

test('no scrape interval without an `up` sample while shards go 2 → 3 → 2, on the shards and through the view', { timeout: 240_000 }, async (t) => {
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
    '--shard.max-series=15000', '--shard.max-idle-time=8s', '--coordinator.interval=2s', '--log.level=info']);

  // Raw `up` samples of every instance, from every shard, collected as the shards come and go.
  const samples = new Map<string, Set<number>>();
  // Each second: `up[30s]` through the front door and from every shard, at one evaluation time.
  const polls: Array<{ at: number; view: Map<string, number[]>; shards: Map<string, number[][]>; stable: boolean }> = [];
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
      // 2 s back: scrapes started before are in the heads by then.
      const at = (Date.now() / 1000 - 2).toFixed(3);
      const upRange = async (base: string): Promise<Map<string, number[]> | null> => {
        const res = await fetch(`${base}/api/v1/query?${new URLSearchParams({ query: 'up[30s]', time: at })}`).catch(() => null);
        if (!res?.ok) return null;
        const data = ((await res.json()) as { data: { result: Array<{ metric: { instance: string }; values: Array<[number, string]> }> } }).data;
        return new Map(data.result.map((r) => [r.metric.instance, r.values.map(([t]) => t)]));
      };
      const ready = list.filter((s) => s.ready);
      const [view, ...perShard] = await Promise.all([counting ? upRange(api) : Promise.resolve(null), ...ready.map((s) => upRange(s.url))]);
      const shardAnswers = new Map<string, number[][]>();
      for (const m of perShard) {
        for (const [instance, ts] of m ?? []) {
          shardAnswers.set(instance, [...(shardAnswers.get(instance) ?? []), ts]);
          const set = samples.get(instance) ?? samples.set(instance, new Set()).get(instance)!;
          for (const t of ts) set.add(t);
        }
      }
      if (view) {
        // The same shards, all of them answering, before and after: else a shard came or went in between.
        const after = await shards();
        const ids = (l: ShardRow[]) => l.filter((s) => s.ready).map((s) => s.id).join(',');
        polls.push({ at: Number(at), view, shards: shardAnswers, stable: ids(after) === ids(list) && perShard.every((m) => m !== null) });
      }
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
  // The move is complete (each target counted once): the old shard stops scraping the moved target and keeps its
  // samples. Polls now read the view across the hand-over, with both copies on the shards.
  await new Promise((r) => setTimeout(r, 8000));
  sizes[0] = 6000; // room again: the highest shard is drained and removed after --shard.max-idle-time
  // Drained (idle, its target handed back) and not removed yet: every sample of the test is still on some shard.
  // One range query over the whole time: every target's `up` at every step, never twice. (Once the idle shard is
  // removed, its data goes with it, see docs/global-view.md.)
  await waitFor('the highest shard drained', async () => {
    const list = await shards();
    return list.length === 3 && list[2]!.targets === 0 && list.reduce((a, s) => a + s.targets, 0) === 4;
  }, 120_000, 250);
  const drainedAt = Date.now() / 1000 - 2;
  const rangeRes = await fetch(`${api}/api/v1/query_range?query=${encodeURIComponent('up')}&start=${start + 3}&end=${drainedAt}&step=1`);
  const range = ((await rangeRes.json()) as { data: { result: Array<{ metric: { instance: string }; values: Array<[number, string]> }> } }).data.result;
  assert.ok((await shards()).length === 3, 'the range query ran before the idle shard was removed');
  assert.deepEqual(range.map((r) => r.metric.instance).sort(), targets.map((t) => t.address).sort(), 'each target once');
  const steps = Math.floor(drainedAt - (start + 3)) + 1;
  for (const r of range) assert.equal(r.values.length, steps, `${r.metric.instance}: ${r.values.length} of ${steps} steps have a value`);
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

  // Raw samples through the front door, poll by poll: each scrape slot the shards hold, exactly once.
  // (Over the whole test, where each sample's shard is not kept, slots are told by time alone.)
  const slotsOf = (ts: Iterable<number>): number[][] => scrapeSlots([...new Set(ts)].map((t) => [t]), INTERVAL_S);

  const stable = polls.filter((p) => p.stable);
  t.diagnostic(`${polls.length} polls of the view, ${polls.length - stable.length} left out because a shard came, went or failed to answer during the poll`);
  assert.ok(polls.length >= 10 && stable.length >= polls.length - 6, `${stable.length} of ${polls.length} polls with a stable shard list`);
  // The view was read while moved targets had samples on two shards (what the merge must stitch).
  const twoCopies = stable.flatMap((p) => [...p.shards.entries()].filter(([, copies]) => copies.length > 1).map(([instance]) => `${instance}@${p.at}`));
  t.diagnostic(`moved targets read from two shards in one poll: ${twoCopies.length}`);
  assert.ok(twoCopies.length >= 2, 'polls read a moved target from its two shards');
  const viewed = new Map<string, number[]>();
  for (const p of stable) {
    for (const tgt of targets) {
      const view = p.view.get(tgt.address) ?? [];
      const copies = p.shards.get(tgt.address) ?? [];
      const held = new Set(copies.flat());
      for (const x of view) assert.ok(held.has(x), `${tgt.address} at ${p.at}: the view's sample at ${x} is on no shard`);
      for (const slot of scrapeSlots(copies, INTERVAL_S)) {
        const n = view.filter((x) => slot.includes(x)).length;
        assert.equal(n, 1, `${tgt.address}, view at ${p.at}: ${n} samples in the scrape slot ${slot.join('/')} (view ${view}; shards ${[...held].sort()})`);
      }
      viewed.set(tgt.address, [...(viewed.get(tgt.address) ?? []), ...view]);
    }
  }
  // Over the whole test: every slot any shard held was seen through the view, and the view's slots are never more
  // than 1.5 intervals apart.
  for (const tgt of targets) {
    const seen = slotsOf((viewed.get(tgt.address) ?? []).filter((x) => x >= start && x <= end));
    for (let i = 1; i < seen.length; i++) {
      const gap = seen[i]![0]! - seen[i - 1]!.at(-1)!;
      assert.ok(gap <= 1.5 * INTERVAL_S, `${tgt.address}: a hole of ${gap.toFixed(3)} s in the view after ${seen[i - 1]!.at(-1)}`);
    }
    const seenSet = new Set(seen.flat());
    const [from, to] = [Math.max(start, stable[0]!.at - 30), Math.min(end, stable.at(-1)!.at)];
    const missing = slotsOf([...(samples.get(tgt.address) ?? [])].filter((x) => x >= from && x <= to)).filter((slot) => !slot.some((x) => seenSet.has(x)));
    assert.deepEqual(missing, [], `${tgt.address}: scrape slots held by a shard and never seen through the view`);
  }

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
