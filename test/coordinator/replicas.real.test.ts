/**
 * Replicas with real processes: `kvass up --shard.replicas=2` gives two replicas of the same placement. Every
 * replica scrapes every target, shard i of both replicas scrapes the same targets, and each replica's series
 * carry their replica external label in their config.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchShards, runKvass, type RunningKvass } from '../helpers/kvass.js';
import { freePort, waitFor } from '../helpers/prometheus.js';
import { metricsBody, startTarget, type TestTarget } from '../helpers/targets.js';

let up: RunningKvass | undefined;
const targets: TestTarget[] = [];

after(async () => {
  await up?.stop();
  for (const t of targets) await t.close();
});

test('two replicas share one placement and carry their replica label', { timeout: 180_000 }, async () => {
  for (let i = 0; i < 4; i++) targets.push(await startTarget(metricsBody(3000)));
  const dir = await mkdtemp(join(tmpdir(), 'kvass-replicas-'));
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, `global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: rep
    static_configs: [{targets: [${targets.map((t) => `'${t.address}'`).join(', ')}]}]
`);
  const apiPort = await freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  up = runKvass(['up', `--config.file=${configFile}`, `--data-dir=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${apiPort}`,
    '--shard.max-series=7000', '--shard.replicas=2', '--coordinator.interval=2s']);

  const replicas = await waitFor('2 replicas of 2 shards with every target measured', async () => {
    if (up!.proc.exitCode !== null) throw new Error(`kvass up exited: ${up!.output()}`);
    const reps = await fetchShards(api);
    const ok = reps.length === 2 && reps.every((r) => r.shards.length === 2 && r.shards.every((s) => s.ready && s.targets === 2 && s.processSeries === 6000));
    return ok ? reps : undefined;
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
