/**
 * `kvass receive` with real parts: three ingestors (Prometheus 2.42 with --web.enable-remote-write-receiver, each
 * with its receive_replica external label) and two Prometheus agents (--enable-feature=agent) that scrape a target
 * each and remote-write to the router, one as tenant team-a (THANOS-TENANT header), one with no tenant.
 * Replication factor 2: every series ends on exactly the 2 ingestors Thanos's hashmod names, with its tenant
 * label. Then a hashrings file with a hard ring for team-a (reloaded live), and bad input.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { rm, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { compressSync } from 'snappy';
import { freePort, startPrometheus, waitFor, type RunningPrometheus } from '../helpers/prometheus.js';
import { runKvass, type RunningKvass } from '../helpers/kvass.js';
import { headerHop } from '../helpers/receive.js';
import { metricsBody, startTarget, type TestTarget } from '../helpers/targets.js';
import { Rings, parseHashrings } from '../../src/receive/hashring.js';
import { tempDir } from '../helpers/tmp.js';

const SERIES = 40;
let dir: string;
const ingestors: RunningPrometheus[] = [];
const agents: ChildProcess[] = [];
const hops: http.Server[] = [];
const agentUrls: string[] = [];
const restarted: RunningPrometheus[] = [];
const targets: TestTarget[] = [];
let router: RunningKvass;
let routerUrl = '';
let ringsFile = '';
const endpoints: string[] = [];
const ingestorConfigs: string[] = [];
/** What each agent's target serves (changed by a test). */
const bodies = [metricsBody(SERIES), metricsBody(SERIES)];

async function hop(headers: Record<string, string>): Promise<string> {
  const h = await headerHop(routerUrl, headers);
  hops.push(h.server);
  return h.url;
}

async function startAgent(name: string, target: string, headers: Record<string, string>): Promise<ChildProcess> {
  const cfg = join(dir, `${name}.yml`);
  const url = Object.keys(headers).length ? await hop(headers) : routerUrl;
  await writeFile(cfg, `global: {scrape_interval: 1s, external_labels: {cluster: ${name}}}
scrape_configs: [{job_name: app, static_configs: [{targets: ['${target}']}]}]
remote_write:
  - url: ${url}/api/v1/receive
    queue_config: {batch_send_deadline: 500ms, min_backoff: 100ms, max_backoff: 1s}
`);
  const port = await freePort();
  agentUrls.push(`http://127.0.0.1:${port}`);
  const p = spawn('prometheus', ['--enable-feature=agent', `--config.file=${cfg}`, `--storage.agent.path=${join(dir, `${name}-wal`)}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: 'ignore' });
  agents.push(p);
  return p;
}

/** Every series of demo_metric an ingestor holds, as a label-set key (sorted), with its tenant. */
async function seriesOn(ing: RunningPrometheus): Promise<Map<string, Record<string, string>>> {
  const res = await fetch(`${ing.url}/api/v1/series?match[]=demo_metric`, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { data: Array<Record<string, string>> };
  return new Map(body.data.map((l) => [JSON.stringify(Object.entries(l).sort()), l]));
}

async function writeRings(json: unknown): Promise<void> {
  const tmp = `${ringsFile}.tmp`;
  await writeFile(tmp, JSON.stringify(json));
  await rename(tmp, ringsFile);
}

before(async () => {
  dir = await tempDir('kvass-receive-');
  for (let i = 0; i < 4; i++) {
    const cfg = join(dir, `ingestor-${i}.yml`);
    ingestorConfigs.push(cfg);
    await writeFile(cfg, `global: {external_labels: {receive_replica: ingestor-${i}}}\nstorage: {tsdb: {out_of_order_time_window: 30m}}\n`);
    const ing = await startPrometheus(cfg, { args: ['--web.enable-remote-write-receiver'] });
    ingestors.push(ing);
    endpoints.push(ing.url.replace('http://', ''));
  }
  ringsFile = join(dir, 'hashrings.json');
  await writeRings([{ hashring: 'soft', endpoints: endpoints.slice(0, 3) }]);
  const port = await freePort();
  routerUrl = `http://127.0.0.1:${port}`;
  router = runKvass(['receive', `--receive.listen-address=127.0.0.1:${port}`, `--receive.hashrings-file=${ringsFile}`, '--receive.replication-factor=2', '--log.level=info']);
  await waitFor('the router', async () => {
    if (router.proc.exitCode !== null) throw new Error(`kvass receive exited: ${router.output()}`);
    return (await fetch(`${routerUrl}/-/ready`).catch(() => null))?.ok;
  }, 20_000);
  for (const i of [0, 1]) targets.push(await startTarget((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(bodies[i])));
  await startAgent('cluster-a', targets[0]!.address, { 'THANOS-TENANT': 'team-a' });
  await startAgent('cluster-b', targets[1]!.address, {});
});

after(async () => {
  for (const a of agents) a.kill('SIGKILL');
  for (const h of hops) h.close();
  await router?.stop();
  for (const i of ingestors) await i.stop();
  for (const i of restarted) await i.stop();
  for (const t of targets) await t.close();
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
});

test('replication factor 2: every received series is on exactly the 2 ingestors Thanos\'s hashmod names, with its tenant label', { timeout: 90_000 }, async () => {
  const rings = new Rings(parseHashrings(JSON.stringify([{ hashring: 'soft', endpoints: endpoints.slice(0, 3) }]), 'test'));
  const holders = await waitFor('both agents\' series on the ingestors', async () => {
    const on = await Promise.all(ingestors.map(seriesOn));
    const all = new Map<string, { labels: Record<string, string>; at: number[] }>();
    on.forEach((m, i) => {
      for (const [k, l] of m) (all.get(k) ?? all.set(k, { labels: l, at: [] }).get(k)!).at.push(i);
    });
    return all.size === 2 * SERIES && [...all.values()].every((v) => v.at.length === 2) ? all : undefined;
  }, 60_000, 500);
  const tenants = new Map<string, number>();
  for (const { labels, at } of holders.values()) {
    tenants.set(labels.tenant_id!, (tenants.get(labels.tenant_id!) ?? 0) + 1);
    assert.equal(labels.tenant_id, labels.cluster === 'cluster-a' ? 'team-a' : 'default-tenant');
    const tenant = labels.tenant_id;
    // Thanos's key: the labels as the agent sent them (sorted), without the tenant label the router adds.
    const sorted = Object.entries(labels).filter(([k]) => k !== 'tenant_id').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) as Array<[string, string]>;
    const want = rings.ringFor(tenant!)!.replicas(tenant!, sorted, 2).map((ep) => endpoints.indexOf(ep)).sort();
    assert.deepEqual(at.sort(), want, `series ${JSON.stringify(labels)}`);
  }
  assert.deepEqual(Object.fromEntries(tenants), { 'team-a': SERIES, 'default-tenant': SERIES });
});

test('a hard ring for team-a (the file reloaded live): team-a\'s new series only on its ingestors, everyone else\'s only on the soft ring\'s', { timeout: 90_000 }, async () => {
  // A ring shorter than the replication factor is refused, the last good rings stay.
  await writeRings([{ hashring: 'team-a', tenants: ['team-a'], endpoints: [endpoints[0]] }, { hashring: 'soft', endpoints: endpoints.slice(1) }]);
  await waitFor('the short ring refused', async () => (/fewer than the replication factor 2/.test(router.output()) ? true : undefined), 10_000, 200);
  await writeRings([{ hashring: 'team-a', tenants: ['team-a'], endpoints: [endpoints[0], endpoints[1]] }, { hashring: 'soft', endpoints: [endpoints[2], endpoints[3]] }]);
  await waitFor('the rings reloaded', async () => (/hashrings reloaded/.test(router.output()) ? true : undefined), 10_000, 200);
  // A new series of each agent's target after the reload (a label value never written before).
  const mark = `after-reload-${Date.now()}`;
  for (const i of [0, 1]) bodies[i] = metricsBody(SERIES).replace(/series_id="0"/, `series_id="${mark}"`);
  const where = await waitFor('the new series received, 2 copies each', async () => {
    const on = await Promise.all(ingestors.map(async (ing) => [...(await seriesOn(ing)).values()].filter((l) => l.series_id === mark).map((l) => l.tenant_id)));
    return on.flat().length >= 4 ? on : undefined;
  }, 30_000, 500);
  assert.deepEqual(where, [['team-a'], ['team-a'], ['default-tenant'], ['default-tenant']]);
});

async function agentMetric(i: number, name: string): Promise<number> {
  const text = await (await fetch(`${agentUrls[i]}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name)).reduce((a, l) => a + Number(l.split(' ').pop()), 0);
}

/** The timestamps (ms) of one series of cluster-b on an ingestor over the last `range`. */
async function stamps(ing: { url: string }, seriesId: string, range: string): Promise<number[]> {
  const q = encodeURIComponent(`demo_metric{cluster="cluster-b",series_id="${seriesId}"}[${range}]`);
  const body = (await (await fetch(`${ing.url}/api/v1/query?query=${q}`)).json()) as { data: { result: Array<{ values: Array<[number, string]> }> } };
  return (body.data.result[0]?.values ?? []).map(([t]) => Math.round(t * 1000));
}

test('faults: one soft-ring ingestor killed: writes go on (rf 2, quorum 1), nothing fails; both down: 5xx, the agent retries, and once one is back nothing is lost', { timeout: 120_000 }, async () => {
  // After the previous test: team-a on ingestors 0 and 1, everyone else on 2 and 3 (cluster-b: agent 1).
  const failedBefore = await agentMetric(1, 'prometheus_remote_storage_samples_failed_total');
  const t0 = Date.now();
  ingestors[2]!.proc.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 5000));
  assert.equal(await agentMetric(1, 'prometheus_remote_storage_samples_failed_total'), failedBefore, 'no sample failed');
  const during = await stamps(ingestors[3]!, '5', '20s');
  const inOutage = during.filter((t) => t > t0 + 1000);
  assert.ok(inOutage.length >= 3, `ingestor 3 took cluster-b's samples during the outage: ${inOutage.length}`);

  // Both soft-ring ingestors down: the router answers 5xx, the agent keeps the samples and retries.
  const t1 = Date.now();
  ingestors[3]!.proc.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 4000));
  const r = await fetch(`${routerUrl}/metrics`);
  assert.match(await r.text(), /kvass_receive_requests_total\{tenant="default-tenant",code="503"\} [1-9]/);
  // Ingestor 3 back (same address, an empty TSDB): the agent's retried batches arrive, nothing is lost.
  const back = await startPrometheus(ingestorConfigs[3]!, { port: Number(endpoints[3]!.split(':')[1]), args: ['--web.enable-remote-write-receiver'] });
  restarted.push(back);
  const got = await waitFor('the outage\'s samples delivered', async () => {
    const ts = (await stamps(back, '5', '60s')).filter((t) => t >= t1 && t <= t1 + 4000);
    return ts.length >= 3 ? ts : undefined;
  }, 40_000, 500);
  for (let k = 1; k < got.length; k++) assert.ok(got[k]! - got[k - 1]! <= 1500, `no gap in the outage: ${got.join(',')}`);
  assert.equal(await agentMetric(1, 'prometheus_remote_storage_samples_failed_total'), failedBefore, 'retried, never dropped');
});

test('bad input gets the documented code and message, and the router goes on', async () => {
  const post = (body: Buffer, headers: Record<string, string> = {}) => fetch(`${routerUrl}/api/v1/receive`, { method: 'POST', body, headers: { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf', ...headers } });
  let r = await post(Buffer.from('not snappy at all'));
  assert.equal(r.status, 400);
  assert.match(await r.text(), /snappy/);
  r = await post(compressSync(Buffer.from([0x0a, 0xff, 0xff])));
  assert.equal(r.status, 400);
  assert.match(await r.text(), /cannot decode the WriteRequest/);
  r = await post(Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), Buffer.alloc(8)]));
  assert.equal(r.status, 413);
  // A series that names another tenant than its header: refused, never rewritten.
  const { encodeWriteRequest } = await import('../../src/receive/write-wire.js');
  const one = encodeWriteRequest([{ labels: [['__name__', 'x'], ['tenant_id', 'team-b']], rest: new Uint8Array(0) }], []);
  r = await post(compressSync(one), { 'THANOS-TENANT': 'team-a' });
  assert.equal(r.status, 400);
  assert.match(await r.text(), /tenant_id/);
  r = await fetch(`${routerUrl}/api/v1/receive`, { method: 'GET' });
  assert.equal(r.status, 405);
  // An invalid hashrings file is refused and the last good rings stay.
  await writeFile(ringsFile, '[{"hashring": "soft", "endpoints": []}]');
  await waitFor('the refusal logged', async () => (/hashrings file refused/.test(router.output()) ? true : undefined), 10_000, 200);
  assert.equal(router.proc.exitCode, null);
  assert.ok((await fetch(`${routerUrl}/-/ready`)).ok);
});
