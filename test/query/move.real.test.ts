/**
 * A target moved between shards, read through the global view at the finest grain (the issue's growth case, with
 * real Prometheus): 4 targets × 8000 series, a budget of 20000, 5 s scrapes; one target grows to 15000 series and
 * kvass moves the other target of its shard to a new shard. Both shards hold the moved target's samples for two
 * slots; the view must give every sample either shard holds, each scrape slot once, and its counters must read as
 * those of a reference Prometheus that scraped the target throughout (no reset at the hand-over).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fetchShards, runKvass, type RunningKvass } from '../helpers/kvass.js';
import { freePort, startPrometheus, waitFor, type RunningPrometheus } from '../helpers/prometheus.js';
import { startTarget, type TestTarget } from '../helpers/targets.js';
import { scrapeSlots } from '../helpers/slots.js';
import { tempDir } from '../helpers/tmp.js';

const INTERVAL_S = 5;
const T0 = Date.now() / 1000;
let up: RunningKvass | undefined;
let reference: RunningPrometheus | undefined;
const targets: TestTarget[] = [];

after(async () => {
  await up?.stop();
  await reference?.stop();
  for (const t of targets) await t.close();
});

/** `series` gauges and one counter growing by 10 a second. */
function body(series: number): string {
  const lines = ['# TYPE demo_metric gauge'];
  for (let k = 0; k < series; k++) lines.push(`demo_metric{series_id="${k}"} ${k % 97}`);
  lines.push('# TYPE demo_requests_total counter', `demo_requests_total ${(10 * (Date.now() / 1000 - T0)).toFixed(3)}`);
  return lines.join('\n') + '\n';
}

type Matrix = Array<{ metric: Record<string, string>; values: Array<[number, string]> }>;
type Vector = Array<{ metric: Record<string, string>; value: [number, string] }>;

async function query<T>(base: string, q: string, time: number): Promise<T> {
  const res = await fetch(`${base}/api/v1/query?${new URLSearchParams({ query: q, time: time.toFixed(3) })}`);
  const b = (await res.json()) as { status: string; data: { result: T }; error?: string };
  assert.equal(b.status, 'success', `${base} ${q}: ${b.error}`);
  return b.data.result;
}

test('a moved target through the view: every sample either shard holds, once; counters as a reference Prometheus reads them', { timeout: 300_000 }, async () => {
  const sizes = [8000, 8000, 8000, 8000];
  for (let i = 0; i < 4; i++) {
    targets.push(await startTarget((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body(sizes[i]!))));
  }
  const dir = await tempDir('kvass-move-');
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, `global: {scrape_interval: ${INTERVAL_S}s}
scrape_configs:
  - job_name: demo
    static_configs: [{targets: [${targets.map((t) => `'${t.address}'`).join(', ')}]}]
`);
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  up = runKvass(['up', `--config.file=${configFile}`, `--data-dir=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
    '--shard.max-series=20000', '--coordinator.interval=2s', '--log.level=info']);
  reference = await startPrometheus(configFile);
  const shards = async () => (await fetchShards(api))[0]?.shards ?? [];
  await waitFor('2 shards with 2 targets each', async () => {
    if (up!.proc.exitCode !== null) throw new Error(`kvass up exited: ${up!.output()}`);
    const list = await shards();
    return list.length === 2 && list.every((s) => s.ready && s.targets === 2 && s.processSeries >= 16000);
  }, 150_000, 500);
  const start = Date.now() / 1000;

  // The first target grows: its shard is over budget, kvass moves the other target of that shard to a new shard.
  // The transfer looked at is the first one begun after the growth (an earlier one, while the layout settled, is
  // not this case), and it must have completed.
  type Logged = { msg: string; time: string; target: string; from: string; to: string; reason: string };
  const transfers = (): Logged[] => up!.output().split('\n').filter((l) => l.includes('"transfer ')).flatMap((l) => {
    try {
      return [JSON.parse(l) as Logged];
    } catch {
      return [];
    }
  });
  const grownAt = Date.now();
  sizes[0] = 15000;
  const move = await waitFor('a transfer begun after the growth, and completed', async () => {
    const since = transfers().filter((e) => Date.parse(e.time) >= grownAt);
    const begun = since.find((e) => e.msg === 'transfer begun');
    return begun && since.some((e) => e.msg === 'transfer completed' && e.target === begun.target) ? begun : undefined;
  }, 120_000, 500);
  assert.equal(move.reason, 'overload');
  const instance = new URL(move.target).host;
  assert.notEqual(instance, targets[0]!.address, 'the other target of the grown one\'s shard moves');
  // The old shard stops scraping it, and writes its staleness markers one slot later (after two more intervals);
  // then a few more scrapes on the new shard alone.
  await new Promise((r) => setTimeout(r, 6 * INTERVAL_S * 1000));
  const at = Date.now() / 1000 - 1;
  const window = `${Math.ceil(at - start) + 10}s`;
  const list = await shards();
  const from = list.find((s) => s.id === move.from)!;
  const to = list.find((s) => s.id === move.to)!;
  assert.ok(from && to, `shards ${move.from} and ${move.to} listed: ${JSON.stringify(list)}`);

  // The raw data: both shards hold the moved target's `up` for the overlap, the old one stops.
  const raw = async (base: string) => ((await query<Matrix>(base, `up{instance="${instance}"}[${window}]`, at))[0]?.values ?? []).map(([t]) => t);
  const [oldCopy, newCopy] = await Promise.all([raw(from.url), raw(to.url)]);
  const overlap = oldCopy.filter((t) => newCopy.some((u) => Math.abs(u - t) <= INTERVAL_S / 2));
  assert.ok(overlap.length >= 1, `the two shards scraped the moved target in the same slots: old ${oldCopy}, new ${newCopy}; transfers logged: ${JSON.stringify(transfers())}`);
  assert.ok(oldCopy.at(-1)! < at - 2 * INTERVAL_S, `the old shard stopped scraping it (its last sample ${oldCopy.at(-1)}, now ${at})`);
  assert.ok(newCopy.at(-1)! > oldCopy.at(-1)! + 2 * INTERVAL_S, 'the new shard scrapes on');

  // Scrape slots of the two copies: samples of both within half an interval are one scrape.
  const union = [...new Set([...oldCopy, ...newCopy])].sort((a, b) => a - b);
  const slots = scrapeSlots([oldCopy, newCopy], INTERVAL_S);

  // Through the front door, raw samples (an instant query of a range selector).
  const viewed = (await query<Matrix>(api, `up{instance="${instance}"}[${window}]`, at));
  assert.equal(viewed.length, 1, 'one series');
  const view = viewed[0]!.values.map(([t]) => t);
  const rawSet = new Set(union);
  for (const t of view) assert.ok(rawSet.has(t), `the view's sample at ${t} is in neither shard`);
  for (const slot of slots) {
    const inSlot = view.filter((t) => slot.includes(t));
    assert.equal(inSlot.length, 1, `scrape slot ${slot.join('/')}: ${inSlot.length} samples through the view (view ${view}; old ${oldCopy}; new ${newCopy})`);
  }
  assert.equal(view.length, slots.length, 'every sample of the view is one slot of the shards\'');
  for (let i = 1; i < view.length; i++) assert.ok(view[i]! - view[i - 1]! <= 1.5 * INTERVAL_S, `a hole of ${(view[i]! - view[i - 1]!).toFixed(3)} s in the view at ${view[i - 1]}`);

  // Counters across the move, against a reference Prometheus that scraped the target throughout: windows that hold
  // the hand-over and start after the shards' first sample (else extrapolation, not the merge, differs).
  const handOver = oldCopy.at(-1)!;
  const covered = oldCopy[0]! + 60 + INTERVAL_S;
  const times = [Math.max(covered, handOver + 1), Math.max(covered, handOver + 1) + 8.5].filter((t) => t - 60 < handOver);
  assert.ok(times.length > 0, `a 1m window holds the hand-over at ${handOver} and starts after ${oldCopy[0]}`);
  await waitFor('the counter windows to be in the past', async () => Date.now() / 1000 > Math.max(...times) + 1, 120_000, 500);
  const c = `demo_requests_total{instance="${instance}"}`;
  const checks: Array<[string, number]> = [...times.map((t): [string, number] => [`increase(${c}[1m])`, t]), [`resets(${c}[5m])`, Math.max(...times)]];
  for (const [q, time] of checks) {
    const [want, got]: [Vector, Vector] = await Promise.all([query<Vector>(reference!.url, q, time), query<Vector>(api, q, time)]);
    assert.equal(got.length, 1, `${q} through the view`);
    assert.equal(want.length, 1, `${q} on the reference`);
    const w = Number(want[0]!.value[1]);
    const g = Number(got[0]!.value[1]);
    if (q.startsWith('resets')) {
      assert.equal(g, 0, `${q} through the view`);
      assert.equal(w, 0, `${q} on the reference`);
    } else assert.ok(Math.abs(w - g) <= 0.02 * Math.max(1, Math.abs(w)), `${q} at ${time}: reference ${w}, view ${g}`);
  }
});
