/**
 * Two clusters into `kvass up --receive.listen-address=… --receive.ingestors=3 --receive.replication-factor=2`
 * with a receive-only config (`scrape_configs: []`): two real Prometheus agents remote-write (one as tenant team-a,
 * through a hop that sets THANOS-TENANT, since the Debian 2.42 agent drops remote_write headers). Through the front
 * door, count, sum, count by, max by and a rate equal a reference Prometheus that scraped the same targets; count
 * by (tenant_id) splits them; each series, stored on 2 ingestors, is answered once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, startPrometheus, waitFor, type RunningPrometheus } from '../helpers/prometheus.js';
import { runKvass, type RunningKvass } from '../helpers/kvass.js';
import { headerHop } from '../helpers/receive.js';
import { metricsBody, startTarget, type TestTarget } from '../helpers/targets.js';
import { tempDir } from '../helpers/tmp.js';

const SERIES = 30;
let dir: string;
let up: RunningKvass;
let front = '';
let routerUrl = '';
let reference: RunningPrometheus;
const targets: TestTarget[] = [];
const agents: ChildProcess[] = [];
const hops: http.Server[] = [];
const agentUrls: string[] = [];

/** demo_metric series plus a counter that grows 10/s with the clock (the same rate for every scraper). */
const body = (): string => `${metricsBody(SERIES)}# TYPE clock_total counter\nclock_total ${Math.floor(Date.now() / 100)}\n`;

async function hop(headers: Record<string, string>): Promise<string> {
  const h = await headerHop(routerUrl, headers);
  hops.push(h.server);
  return h.url;
}

async function startAgent(name: string, target: string, url: string): Promise<void> {
  const cfg = join(dir, `${name}.yml`);
  await writeFile(cfg, `global: {scrape_interval: 1s}
scrape_configs: [{job_name: app, static_configs: [{targets: ['${target}']}]}]
remote_write: [{url: '${url}/api/v1/receive', queue_config: {batch_send_deadline: 500ms, min_backoff: 100ms, max_backoff: 1s}}]
`);
  const port = await freePort();
  agentUrls.push(`http://127.0.0.1:${port}`);
  agents.push(spawn('prometheus', ['--enable-feature=agent', `--config.file=${cfg}`, `--storage.agent.path=${join(dir, `${name}-wal`)}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: 'ignore' }));
}

async function query(base: string, expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(15_000) });
  const b = (await res.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> }; error?: string };
  assert.equal(b.status, 'success', `${expr}: ${b.error}`);
  return b.data.result;
}

before(async () => {
  dir = await tempDir('kvass-up-receive-');
  for (let i = 0; i < 2; i++) targets.push(await startTarget((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body())));
  const refCfg = join(dir, 'reference.yml');
  await writeFile(refCfg, `global: {scrape_interval: 1s}\nscrape_configs: [{job_name: app, static_configs: [{targets: ['${targets[0]!.address}', '${targets[1]!.address}']}]}]\n`);
  reference = await startPrometheus(refCfg);
  const config = join(dir, 'prometheus.yml');
  await writeFile(config, 'global: {scrape_interval: 1s}\nscrape_configs: []\n');
  const port = await freePort();
  const rport = await freePort();
  front = `http://127.0.0.1:${port}`;
  routerUrl = `http://127.0.0.1:${rport}`;
  up = runKvass(['up', `--config.file=${config}`, `--data-dir=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
    `--receive.listen-address=127.0.0.1:${rport}`, '--receive.ingestors=3', '--receive.replication-factor=2', '--log.level=warn',
    '--no-query.partial-response', '--query.shard-timeout=2s']);
  await waitFor('kvass up with its router', async () => {
    if (up.proc.exitCode !== null) throw new Error(`kvass up exited: ${up.output()}`);
    return (await fetch(`${routerUrl}/-/ready`).catch(() => null))?.ok && (await fetch(`${front}/-/ready`).catch(() => null))?.ok;
  }, 60_000);
  await startAgent('cluster-a', targets[0]!.address, await hop({ 'THANOS-TENANT': 'team-a' }));
  await startAgent('cluster-b', targets[1]!.address, routerUrl);
});

after(async () => {
  for (const a of agents) a.kill('SIGKILL');
  for (const h of hops) h.close();
  await up?.stop();
  await reference?.stop();
  for (const t of targets) await t.close();
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
});

test('two clusters through kvass up\'s router: the front door answers as a reference Prometheus, split by tenant, each series once', { timeout: 150_000 }, async () => {
  await waitFor('both agents\' series through the front door', async () => {
    const r = await query(front, 'count(demo_metric)');
    return r[0]?.value[1] === String(2 * SERIES) ? true : undefined;
  }, 90_000, 1000);
  await new Promise((r) => setTimeout(r, 35_000)); // a full rate window on both sides
  const same = async (expr: string, key: (m: Record<string, string>) => string = () => '', tolerance = 0): Promise<void> => {
    const [ours, ref] = [await query(front, expr), await query(reference.url, expr)];
    const byKey = (rs: typeof ours) => new Map(rs.map((x) => [key(x.metric), Number(x.value[1])]));
    const [a, b] = [byKey(ours), byKey(ref)];
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), `${expr}: the same groups`);
    for (const [k, v] of b) {
      const got = a.get(k)!;
      assert.ok(Math.abs(got - v) <= tolerance * Math.abs(v), `${expr} {${k}}: ${got} through the front door, ${v} in the reference`);
    }
  };
  await same('count(demo_metric)');
  await same('sum(demo_metric)');
  await same('count by (instance) (demo_metric)', (m) => m.instance!);
  await same('max by (instance) (demo_metric)', (m) => m.instance!);
  await same('sum by (instance) (rate(clock_total[30s]))', (m) => m.instance!, 0.1);
  const tenants = await query(front, 'count by (tenant_id) (demo_metric)');
  assert.deepEqual(Object.fromEntries(tenants.map((x) => [x.metric.tenant_id, x.value[1]])), { 'team-a': String(SERIES), 'default-tenant': String(SERIES) });
  // Stored twice (rf 2), answered once: the copies carry receive_replica, which the view drops.
  const raw = await query(front, 'demo_metric{series_id="3"}');
  assert.equal(raw.length, 2);
  assert.ok(raw.every((x) => x.metric.receive_replica === undefined));
  // Each series on exactly 2 of the 3 ingestors (asked directly, through their own API).
  const held = new Map<string, number>();
  for (let i = 0; i < 3; i++) {
    const { prometheus } = JSON.parse(await readFile(join(dir, 'data', 'ingestors', `ingestor-${i}`, 'ports.json'), 'utf8')) as { prometheus: number };
    for (const x of await query(`http://127.0.0.1:${prometheus}`, 'demo_metric')) {
      const k = `${x.metric.instance}/${x.metric.series_id}`;
      held.set(k, (held.get(k) ?? 0) + 1);
    }
  }
  assert.equal(held.size, 2 * SERIES);
  assert.ok([...held.values()].every((n) => n === 2), 'every series on exactly 2 ingestors');
});

test('one ingestor hung (rf 2): the view is still complete, so even with partial responses off the front door answers every series once, with a warning', { timeout: 60_000 }, async () => {
  const tsdb = join(dir, 'data', 'ingestors', 'ingestor-1', 'tsdb');
  const pid = Number(execFileSync('pgrep', ['-f', '--', `--storage.tsdb.path=${tsdb}`], { encoding: 'utf8' }).trim().split('\n')[0]);
  assert.ok(pid > 0, 'ingestor-1\'s Prometheus');
  process.kill(pid, 'SIGSTOP');
  try {
    const res = await fetch(`${front}/api/v1/query?query=${encodeURIComponent('count(demo_metric)')}`, { signal: AbortSignal.timeout(20_000) });
    const b = (await res.json()) as { status: string; data?: { result: Array<{ value: [number, string] }> }; warnings?: string[]; error?: string };
    assert.equal(b.status, 'success', `answered with one ingestor of three hung: ${b.error}`);
    assert.equal(b.data!.result[0]!.value[1], String(2 * SERIES));
    assert.ok((b.warnings ?? []).some((w) => w.includes('ingestor-1')), `a warning names ingestor-1: ${JSON.stringify(b.warnings)}`);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
});

async function failedSamples(): Promise<number> {
  let sum = 0;
  for (const url of agentUrls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const l of text.split('\n')) if (l.startsWith('prometheus_remote_storage_samples_failed_total')) sum += Number(l.split(' ').pop());
  }
  return sum;
}

test('kill -9 of an ingestor while both agents write: writes go on (quorum), no sample fails, and after its restart the view has no gap in any series', { timeout: 90_000 }, async () => {
  const failedBefore = await failedSamples();
  const tsdb = join(dir, 'data', 'ingestors', 'ingestor-2', 'tsdb');
  const pid = Number(execFileSync('pgrep', ['-f', '--', `--storage.tsdb.path=${tsdb}`], { encoding: 'utf8' }).trim().split('\n')[0]);
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  // kvass up restarts it (1 s back-off); let the agents write across the outage and after.
  await waitFor('ingestor-2 restarted', async () => {
    const out = (() => { try { return execFileSync('pgrep', ['-f', '--', `--storage.tsdb.path=${tsdb}`], { encoding: 'utf8' }).trim(); } catch { return ''; } })();
    return out && Number(out.split('\n')[0]) !== pid ? true : undefined;
  }, 30_000, 200);
  await new Promise((r) => setTimeout(r, 6000));
  assert.equal(await failedSamples(), failedBefore, 'no sample failed');
  // Raw samples through the front door, every series of both agents: no gap above 1.5 scrape intervals around the kill.
  const window = Math.ceil((Date.now() - killedAt) / 1000) + 10;
  const res = await fetch(`${front}/api/v1/query?query=${encodeURIComponent(`demo_metric[${window}s]`)}`, { signal: AbortSignal.timeout(20_000) });
  const b = (await res.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> }; error?: string };
  assert.equal(b.status, 'success', b.error);
  assert.equal(b.data.result.length, 2 * SERIES);
  let worst = 0;
  for (const r of b.data.result) {
    for (let i = 1; i < r.values.length; i++) worst = Math.max(worst, r.values[i]![0] - r.values[i - 1]![0]);
  }
  assert.ok(worst <= 1.5, `largest gap through the view ${worst} s`);
});
