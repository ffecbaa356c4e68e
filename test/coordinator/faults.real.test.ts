/**
 * Faults during transfers, with real processes: kill -9 the receiving shard's Prometheus, then a receiving
 * sidecar, then the coordinator itself (`kvass up`), each while a target is being moved. Afterwards no target is
 * left scraped twice, and no target goes without a successful scrape for longer than 2 coordinator intervals plus
 * 1 scrape interval beyond the time the killed process was away.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fetchShards, runKvass, type RunningKvass, type ShardRow } from '../helpers/kvass.js';
import { freePort, waitFor } from '../helpers/prometheus.js';
import { metricsBody, startTarget, type TestTarget } from '../helpers/targets.js';
import { tempDir } from '../helpers/tmp.js';

const SCRAPE_S = 1;
const COORDINATOR_S = 2;
const targets: TestTarget[] = [];
let up: RunningKvass | undefined;
let dir = '';
/** Output of every `kvass up` run of the test (the coordinator is restarted once). */
const outputs: Array<() => string> = [];

function startUp(configFile: string, apiPort: number): RunningKvass {
  const p = runKvass(['up', `--config.file=${configFile}`, `--data-dir=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${apiPort}`,
    '--shard.max-series=15000', `--coordinator.interval=${COORDINATOR_S}s`, '--log.level=info']);
  outputs.push(p.output);
  return p;
}
const output = (): string => outputs.map((o) => o()).join('\n');

let collecting = false;

after(async () => {
  collecting = false; // a failed test must not leave the collector looping (it would keep the process alive)
  await up?.stop();
  // Shards adopted by a restarted `kvass up` are stopped by it; anything left over is killed here.
  for (const t of targets) await t.close();
});

interface TargetRow { labels: { instance: string }; shards: string[] }

test('kill -9 of a shard\'s Prometheus, of its sidecar and of the coordinator during transfers', { timeout: 420_000 }, async () => {
  const sizes = [6000, 6000, 6000, 6000];
  const bodies = new Map<number, string>();
  const body = (n: number) => bodies.get(n) ?? (bodies.set(n, metricsBody(n)), bodies.get(n)!);
  for (let i = 0; i < 4; i++) targets.push(await startTarget((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body(sizes[i]!))));
  dir = await tempDir('kvass-faults-');
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, `global: {scrape_interval: ${SCRAPE_S}s, scrape_timeout: ${SCRAPE_S}s}
scrape_configs:
  - job_name: faults
    static_configs: [{targets: [${targets.map((t) => `'${t.address}'`).join(', ')}]}]
`);
  const apiPort = await freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  up = startUp(configFile, apiPort);
  const getJson = async <T>(path: string): Promise<T | undefined> => {
    const res = await fetch(api + path).catch(() => null);
    return res?.ok ? (((await res.json()) as { data: T }).data) : undefined;
  };
  const shards = async (): Promise<ShardRow[]> => (await fetchShards(api))[0]?.shards ?? [];
  const targetRows = async () => (await getJson<{ activeTargets: TargetRow[] }>('/api/v1/targets'))?.activeTargets ?? [];

  // Successful (`up` == 1) samples of every instance, from every shard, as shards come and go.
  const okSamples = new Map<string, Set<number>>();
  collecting = true;
  const collector = (async () => {
    while (collecting) {
      const list = await shards();
      await Promise.all(list.filter((s) => s.ready).map(async (s) => {
        const res = await fetch(`${s.url}/api/v1/query?query=${encodeURIComponent('up[40s]')}`, { signal: AbortSignal.timeout(3000) }).catch(() => null);
        if (!res?.ok) return;
        const data = ((await res.json()) as { data: { result: Array<{ metric: { instance: string }; values: Array<[number, string]> }> } }).data;
        for (const r of data.result) {
          const set = okSamples.get(r.metric.instance) ?? okSamples.set(r.metric.instance, new Set()).get(r.metric.instance)!;
          for (const [ts, v] of r.values) if (v === '1') set.add(ts);
        }
      }));
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();

  const settled = async () => {
    const [list, rows] = await Promise.all([shards(), targetRows()]);
    return list.length > 0 && list.every((s) => s.ready) && rows.length === 4 && rows.every((t) => t.shards.length === 1) ? list : undefined;
  };
  const pidsOf = async (shard: string) => JSON.parse(await readFile(join(dir, 'data', 'replica-0', shard, 'pids.json'), 'utf8')) as { sidecar: number; prometheus: number };

  await waitFor('the first placement', settled, 120_000, 500);
  const start = Date.now() / 1000;
  const downtimes: number[] = [];

  // 1. A target grows: one of its shard's targets moves to a new shard; kill that shard's Prometheus mid-transfer.
  const onShard = async (id: string) => (await targetRows()).filter((t) => t.shards.includes(id)).map((t) => t.labels.instance);
  const grow = async (i: number) => {
    sizes[i] = 9000;
  };
  await grow(0);
  const moving1 = await waitFor('a transfer', async () => (await targetRows()).find((t) => t.shards.length === 2), 60_000, 200);
  const receiver1 = moving1.shards.sort().at(-1)!;
  await waitFor(`${receiver1} pids`, () => pidsOf(receiver1.replace('shard-', 'shard-')).catch(() => undefined), 30_000, 200);
  let t0 = Date.now();
  process.kill((await pidsOf(receiver1)).prometheus, 'SIGKILL');
  await waitFor('the shard back', async () => (await shards()).find((s) => s.id === receiver1)?.ready === true && (await pidsOf(receiver1)).prometheus !== undefined, 60_000, 200);
  downtimes.push((Date.now() - t0) / 1000);
  await waitFor('settled after the Prometheus kill', settled, 90_000, 500);

  // 2. Another target grows; kill the receiving sidecar mid-transfer.
  // A still-small target sharing its shard with another one: growing it overloads that shard.
  let busy: ShardRow | undefined;
  let victim = '';
  for (const s of await shards()) {
    if (s.targets !== 2) continue;
    const small = (await onShard(s.id)).find((a) => sizes[targets.findIndex((t) => t.address === a)] === 6000);
    if (small) {
      busy = s;
      victim = small;
      break;
    }
  }
  assert.ok(busy, 'a shard with two targets, one of them small');
  await grow(targets.findIndex((t) => t.address === victim));
  const moving2 = await waitFor('a second transfer', async () => (await targetRows()).find((t) => t.shards.length === 2), 60_000, 200);
  const receiver2 = moving2.shards.find((id) => id !== busy!.id) ?? moving2.shards.sort().at(-1)!;
  t0 = Date.now();
  process.kill((await pidsOf(receiver2)).sidecar, 'SIGKILL');
  await waitFor('the sidecar back', async () => (await shards()).find((s) => s.id === receiver2)?.ready === true, 60_000, 200);
  downtimes.push((Date.now() - t0) / 1000);
  await waitFor('settled after the sidecar kill', settled, 90_000, 500).catch(async (e: unknown) => {
    throw new Error(`${(e as Error).message}\nshards: ${JSON.stringify(await shards())}\ntargets: ${JSON.stringify((await targetRows()).map((t) => [t.labels.instance, t.shards]))}\nsizes: ${sizes}\nlog: ${output().split('\n').filter((l) => /transfer|scal|warn|error|"level":[45]0/.test(l)).slice(-40).join('\n')}`);
  });

  // 3. Grow every target that is still small; kill the coordinator mid-transfer and start it again.
  for (let i = 0; i < sizes.length; i++) if (sizes[i] === 6000) await grow(i);
  await waitFor('a third transfer', async () => (await targetRows()).find((t) => t.shards.length === 2), 60_000, 200);
  t0 = Date.now();
  up.proc.kill('SIGKILL');
  await new Promise((r) => up!.proc.once('exit', r));
  up = startUp(configFile, apiPort);
  await waitFor('the coordinator back', async () => (await fetch(`${api}/-/ready`).catch(() => null))?.ok, 30_000, 200);
  downtimes.push((Date.now() - t0) / 1000);
  await waitFor('settled after the coordinator kill', settled, 120_000, 500);
  await new Promise((r) => setTimeout(r, 4000));
  collecting = false;
  await collector;
  const end = Date.now() / 1000 - 3;

  // No target stays scraped twice: every sidecar's own list, not only the coordinator's view.
  const count = new Map<string, number>();
  for (const s of await shards()) {
    const res = await fetch(`${s.url}/api/v1/shard/targets`);
    const list = ((await res.json()) as { data: { targets: Array<{ labels: { instance: string } }> } }).data.targets;
    for (const t of list) count.set(t.labels.instance, (count.get(t.labels.instance) ?? 0) + 1);
  }
  for (const t of targets) assert.equal(count.get(t.address), 1, `${t.address} scraped by ${count.get(t.address)} shards`);

  const allowed = 2 * COORDINATOR_S + SCRAPE_S + Math.max(...downtimes);
  for (const t of targets) {
    const ts = [...(okSamples.get(t.address) ?? [])].filter((x) => x >= start && x <= end).sort((a, b) => a - b);
    assert.ok(ts.length > 0, `${t.address}: no successful sample`);
    let worst = 0;
    for (let i = 1; i < ts.length; i++) worst = Math.max(worst, ts[i]! - ts[i - 1]!);
    assert.ok(worst <= allowed, `${t.address}: ${worst.toFixed(1)} s without a successful scrape (allowed ${allowed.toFixed(1)} s; downtimes ${downtimes.map((d) => d.toFixed(1)).join(', ')} s)`);
  }
  assert.match(output(), /transfer begun/);
});
