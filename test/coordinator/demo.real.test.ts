/**
 * The seeds' demo with real processes: `kvass fake-targets` serves 6 targets of 10045 series, `kvass up` with
 * --shard.max-series=30000 starts real Prometheus shards. It must end as exactly 3 shards of 2 targets each,
 * every shard's head under 30000 series, and no shard ever given more than its budget on the way. Then the web
 * console shows it (in Debian's Chromium).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fetchShards, repoRoot, runKvass, type RunningKvass } from '../helpers/kvass.js';
import { freePort, waitFor } from '../helpers/prometheus.js';
import { tempDir } from '../helpers/tmp.js';

const procs: RunningKvass[] = [];

function run(args: string[]): RunningKvass {
  const p = runKvass(args);
  procs.push(p);
  return p;
}

after(async () => {
  for (const p of [...procs].reverse()) await p.stop();
});

test('the seeds\' demo: 6 × 10045 series with a 30000 budget end as 3 shards of 2 targets, never over budget', { timeout: 180_000 }, async () => {
  const dir = await tempDir('kvass-demo-');
  // Port 0: a free port each (six consecutive ports from a free one may not all be free).
  const fake = run(['fake-targets', '--targets=6', '--series=10045', '--listen=127.0.0.1:0']);
  const addresses = await waitFor('fake targets', async () => {
    const lines = fake.output().split('\n').filter((l) => /^127\.0\.0\.1:\d+$/.test(l));
    return lines.length >= 6 ? lines.slice(0, 6) : undefined;
  }, 20_000);
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, `global: {scrape_interval: 2s, scrape_timeout: 2s}
scrape_configs:
  - job_name: metrics-test
    static_configs: [{targets: [${addresses.map((a) => `'${a}'`).join(', ')}]}]
`);
  const apiPort = await freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  const up = run(['up', `--config.file=${configFile}`, `--data-dir=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${apiPort}`, '--shard.max-series=30000', '--coordinator.interval=2s', '--log.level=info']);

  // Sample the shards while the system settles: no shard may ever hold more than its budget.
  let maxHead = 0;
  let maxProcess = 0;
  let maxShards = 0;
  const final = await waitFor('3 shards of 2 targets, all scraped', async () => {
    if (up.proc.exitCode !== null) throw new Error(`kvass up exited: ${up.output()}`);
    const shards = (await fetchShards(api))[0]?.shards ?? [];
    maxShards = Math.max(maxShards, shards.length);
    for (const s of shards) {
      maxHead = Math.max(maxHead, s.headSeries);
      maxProcess = Math.max(maxProcess, s.processSeries);
    }
    // The head figure is Prometheus's own (prometheus_tsdb_head_series), read by the sidecar a moment after its
    // scrape counts: wait for both.
    const settled = shards.length === 3 && shards.every((s) => s.ready && s.targets === 2 && s.processSeries === 2 * 10045 && s.headSeries === 2 * (10045 + 5));
    return settled ? shards : undefined;
  }, 150_000, 500);
  assert.match(up.output(), /kvass is up/);
  assert.equal(final.length, 3);
  for (const s of final) {
    assert.equal(s.targets, 2);
    assert.ok(s.headSeries < 30000, `${s.id} head ${s.headSeries}`);
    // 2 targets × (10045 + the 5 series Prometheus adds per target).
    assert.equal(s.headSeries, 2 * (10045 + 5), `${s.id} head`);
  }
  assert.ok(maxHead < 30000, `max head seen ${maxHead}`);
  assert.ok(maxProcess <= 30000, `max process series seen ${maxProcess}`);
  assert.equal(maxShards, 3, 'never more than 3 shards');

  // Every target is on exactly one shard, and its measured series is reported.
  const targets = ((await (await fetch(`${api}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ series: number; shards: string[]; health: string }> } }).data.activeTargets;
  assert.equal(targets.length, 6);
  for (const t of targets) {
    assert.equal(t.series, 10045);
    assert.equal(t.shards.length, 1);
    assert.equal(t.health, 'up');
  }
  const perShard = new Map<string, number>();
  for (const t of targets) perShard.set(t.shards[0]!, (perShard.get(t.shards[0]!) ?? 0) + 1);
  assert.deepEqual([...perShard.values()], [2, 2, 2]);

  // The same address is one Prometheus over the 3 shards.
  await waitFor('count(demo_metric) through the global view', async () => {
    const body = (await (await fetch(`${api}/api/v1/query?query=count(demo_metric)`)).json()) as { data?: { result: Array<{ value: [number, string] }> } };
    return body.data?.result[0]?.value[1] === String(6 * 10000);
  }, 30_000, 500);

  // Not on a terminal, the start-up progress is plain lines, the last one saying everything is placed and scraped.
  assert.match(up.output(), /^\d+s: 3\/3 shard\(s\) ready, 6\/6 targets placed, 6\/6 scraped$/m);
  assert.doesNotMatch(up.output(), /\r/);

  await consoleTour(api, addresses);

  // Ctrl-C stops everything cleanly.
  assert.equal(await up.stop(), 0);
});

/**
 * The web console of the demo in Debian's Chromium: the 3 shards against the 30000 budget, the 6 targets with their
 * shards, a search for one address, the scale-up in the activity list, and the what-if for 70000 (one shard).
 * A screenshot of each view goes to test-output/console/demo-<view>.png.
 */
async function consoleTour(api: string, addresses: string[]): Promise<void> {
  const shots = join(repoRoot(), 'test-output', 'console');
  await mkdir(shots, { recursive: true });
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${api}/kvass/`);
    const shardRows = page.locator('table.shards-table tbody tr');
    await shardRows.nth(2).waitFor({ timeout: 30_000 });
    assert.equal(await shardRows.count(), 3);
    for (const text of await shardRows.allInnerTexts()) assert.match(text, /20100 \/ 30000 \(67%\)/);
    await page.screenshot({ path: join(shots, 'demo-shards.png'), fullPage: true });

    await page.locator('#tab-targets').click();
    const rows = page.locator('#targets-table tbody tr:not(.empty)');
    await rows.nth(5).waitFor({ timeout: 30_000 });
    assert.equal(await rows.count(), 6);
    const shardCells = await page.locator('#targets-table tbody td.shards').allInnerTexts();
    assert.deepEqual([...new Set(shardCells.map((c) => c.trim()))].sort(), ['shard-0', 'shard-1', 'shard-2']);
    await page.screenshot({ path: join(shots, 'demo-targets.png'), fullPage: true });
    await page.locator('#target-search').fill(addresses[3]!);
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('#targets-table tbody tr:not(.empty)').length === 1);
    assert.match(await rows.first().innerText(), new RegExp(addresses[3]!.replace(/\./g, '\\.')));

    await page.locator('#tab-activity').click();
    const events = page.locator('#events-table tbody tr');
    await events.first().waitFor({ timeout: 10_000 });
    assert.ok((await events.allInnerTexts()).some((t) => /scale-up/.test(t) && /to 3 shards/.test(t)), 'the scale-up to 3 shards is in the activity list');
    await page.screenshot({ path: join(shots, 'demo-activity.png'), fullPage: true });

    await page.locator('#tab-whatif').click();
    await page.locator('#whatif-budget').fill('70000');
    await page.locator('#whatif-go').click();
    await page.waitForFunction(() => (globalThis as unknown as { document: { getElementById(id: string): { textContent: string | null } | null } }).document.getElementById('whatif-shards')?.textContent === '1');
    await page.screenshot({ path: join(shots, 'demo-whatif.png'), fullPage: true });
  } finally {
    await browser.close();
  }
}
