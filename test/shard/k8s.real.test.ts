/**
 * The seeds' demo on the fake API server with real shards: `kvass coordinator --shard.type=k8s` scales the
 * StatefulSet `prometheus-rep-0`; the test plays the StatefulSet controller and reports pods Ready at 127.0.0.2-4,
 * where it runs real sidecar + Prometheus pairs. Targets are 6 `kvass fake-targets` found through kubernetes_sd
 * (pods of the same fake). Then failover: a second coordinator stands by, the leader is killed with SIGKILL, the
 * standby takes over within one lease duration + one interval, no target changes shard, and the writes of the two
 * (sidecar pushes seen by a recording proxy in front of each sidecar, API server writes seen by the fake) never
 * interleave. Last, scale-down: two targets go away, the planner packs the rest into two shards, the emptied one
 * is removed after --shard.max-idle-time and its PVC deleted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeApiServer, type Obj } from '../helpers/fake-apiserver.js';
import { freePort, startPrometheus, waitFor, type RunningPrometheus } from '../helpers/prometheus.js';
import { fetchShards, runKvass, startSidecar, type RunningKvass, type RunningSidecar } from '../helpers/kvass.js';
import { tempDir } from '../helpers/tmp.js';

const NS = 'kvass';
const STS = 'prometheus-rep-0';
const IPS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
const LEASE_MS = 3000;
const INTERVAL_MS = 3000;

interface Push { timeMs: number; author: string; path: string }

let dir: string;
let fake: FakeApiServer;
let targetsProc: RunningKvass;
const pairs: Array<{ sidecar: RunningSidecar; prom: RunningPrometheus }> = [];
const proxies: http.Server[] = [];
const pushes: Push[] = [];
const coordinators = new Map<string, { run: RunningKvass; url: string }>();
let query: RunningKvass | undefined;
let controller: NodeJS.Timeout | undefined;
let sidecarPort = 0;
let kubeconfig = '';
let configFile = '';
let tokenFile = '';

/** A recording proxy: forwards everything to the sidecar, notes each control write (assignments, configs) with its author (User-Agent). */
async function recordingProxy(listenHost: string, port: number, upstream: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url?.startsWith('/api/v1/shard/')) pushes.push({ timeMs: Date.now(), author: String(req.headers['user-agent'] ?? ''), path: req.url ?? '' });
    const up = http.request(upstream + (req.url ?? '/'), { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(port, listenHost, r));
  return server;
}

function statefulSet(replicas: number): Obj {
  return {
    metadata: { name: STS, namespace: NS, labels: { 'app.kubernetes.io/name': 'prometheus' } },
    spec: { replicas, volumeClaimTemplates: [{ metadata: { name: 'data' } }] },
    status: { replicas, currentRevision: 'r1', updateRevision: 'r1' },
  };
}

/** The StatefulSet controller: pods 0..replicas-1 exist; those with a real pair are Ready at their IP. */
function reconcile(): void {
  const n = (fake.get('statefulsets', NS, STS)?.spec as { replicas?: number } | undefined)?.replicas ?? 0;
  for (let i = 0; i < Math.max(n, 8); i++) {
    const name = `${STS}-${i}`;
    const exists = fake.get('pods', NS, name);
    if (i >= n) {
      if (exists) fake.remove('pods', NS, name);
      continue;
    }
    if (exists) continue;
    const ip = IPS[i];
    fake.upsert('pods', {
      metadata: { name, namespace: NS, labels: { 'app.kubernetes.io/name': 'prometheus' }, ownerReferences: [{ kind: 'StatefulSet', name: STS, controller: true }] },
      status: ip ? { podIP: ip, phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } : { phase: 'Pending', conditions: [{ type: 'Ready', status: 'False' }] },
    });
  }
}

function startCoordinator(identity: string, port: number): { run: RunningKvass; url: string } {
  const run = runKvass([
    'coordinator', '--shard.type=k8s', `--kubeconfig=${kubeconfig}`, `--shard.namespace=${NS}`, '--shard.selector=app.kubernetes.io/name=prometheus',
    `--shard.port=${sidecarPort}`, '--shard.max-series=30000', '--shard.max-idle-time=4s', `--config.file=${configFile}`, `--web.address=127.0.0.1:${port}`,
    `--shard.api-token-file=${tokenFile}`, `--coordinator.interval=${INTERVAL_MS / 1000}s`, '--log.level=info',
    `--leader-election.lease-duration=${LEASE_MS / 1000}s`, '--leader-election.renew-deadline=2s', '--leader-election.retry-period=500ms',
  ], 300_000, { POD_NAME: identity }); // as the Deployment's downward API gives it
  return { run, url: `http://127.0.0.1:${port}` };
}

before(async () => {
  dir = await tempDir('kvass-k8s-real-');
  fake = await FakeApiServer.start();
  fake.upsert('statefulsets', statefulSet(0));
  for (let i = 0; i < 3; i++) fake.upsert('persistentvolumeclaims', { metadata: { name: `data-${STS}-${i}`, namespace: NS } });

  // The demo's 6 targets: real `kvass fake-targets`, as pods of the fake (role pod: podIP and container port).
  targetsProc = runKvass(['fake-targets', '--targets=6', '--listen=127.0.0.1:0']);
  const addresses = await waitFor('the fake targets', async () => {
    const lines = targetsProc.output().split('\n').filter((l) => /^127\.0\.0\.1:\d+$/.test(l));
    return lines.length >= 6 ? lines.slice(0, 6) : undefined;
  }, 20_000, 100);
  addresses.forEach((a, i) => fake.upsert('pods', {
    metadata: { name: `metrics-${i}`, namespace: NS, labels: { app: 'metrics' } },
    spec: { containers: [{ name: 'metrics', ports: [{ name: 'http', containerPort: Number(a.split(':')[1]), protocol: 'TCP' }] }] },
    status: { podIP: '127.0.0.1', phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  }));

  kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, `apiVersion: v1\nkind: Config\nclusters: [{name: fake, cluster: {server: "${fake.url}"}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: c, context: {cluster: fake, user: u, namespace: ${NS}}}]\ncurrent-context: c\n`);
  configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, `global: {scrape_interval: 2s, scrape_timeout: 2s}
scrape_configs:
  - job_name: metrics
    kubernetes_sd_configs: [{role: pod, api_server: "${fake.url}", namespaces: {names: [${NS}]}}]
    relabel_configs:
      - {source_labels: [__meta_kubernetes_pod_label_app], regex: metrics, action: keep}
      - {source_labels: [__meta_kubernetes_pod_name], target_label: pod}
`);
  tokenFile = join(dir, 'token');
  await writeFile(tokenFile, `${'ab12'.repeat(16)}\n`, { mode: 0o600 });

  // Three shard pods: a sidecar (behind a recording proxy on the pod's IP) and its Prometheus each.
  sidecarPort = await freePort();
  for (const [i, ip] of IPS.entries()) {
    const shardDir = join(dir, `shard-${i}`);
    await mkdir(shardDir);
    const promPort = await freePort();
    const inner = await freePort();
    const outputFile = join(shardDir, 'prometheus.yml');
    const sidecar = await startSidecar({
      configFile, outputFile, storePath: join(shardDir, 'store'), prometheusUrl: `http://127.0.0.1:${promPort}`, apiAddr: `${ip}:${inner}`,
      extra: [`--web.api-token-file=${tokenFile}`],
    });
    await waitFor('the injected config', () => readFile(outputFile, 'utf8').catch(() => null));
    const prom = await startPrometheus(outputFile, { port: promPort });
    pairs.push({ sidecar, prom });
    proxies.push(await recordingProxy(ip, sidecarPort, `http://${ip}:${inner}`));
  }
  controller = setInterval(reconcile, 100);
});

after(async () => {
  clearInterval(controller);
  for (const c of coordinators.values()) if (c.run.proc.exitCode === null && c.run.proc.signalCode === null) await c.run.stop();
  await query?.stop();
  for (const p of proxies) p.close();
  for (const p of pairs) {
    await p.sidecar.kill();
    await p.prom.stop();
  }
  await targetsProc?.stop();
  await fake?.stop();
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
});

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? NaN);
}

/** Target (pod label) → the sidecar that scrapes it, read from the sidecars themselves. */
async function sidecarPlacement(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [i, p] of pairs.entries()) {
    const r = await p.sidecar.call<{ data: { targets: Array<{ labels: Record<string, string> }> } }>('GET', '/api/v1/shard/targets');
    for (const t of r.body.data.targets) out.set(t.labels.pod!, i);
  }
  return out;
}

test('the seeds\' demo on k8s: prometheus-rep-0 scaled to 3, two targets per shard, each head under 30000, count(demo_metric) = 60000 through the global view', { timeout: 240_000 }, async () => {
  const a = startCoordinator('coordinator-a', await freePort());
  coordinators.set('coordinator-a', a);
  const shards = await waitFor('3 ready shards with 2 targets each and measured heads', async () => {
    if (a.run.proc.exitCode !== null) throw new Error(`coordinator exited: ${a.run.output()}`);
    const rows = (await fetchShards(a.url))[0]?.shards ?? [];
    return rows.length === 3 && rows.every((s) => s.ready && s.targets === 2 && s.headSeries > 20_000) ? rows : undefined;
  }, 180_000, 500);
  assert.equal((fake.get('statefulsets', NS, STS)?.spec as { replicas: number }).replicas, 3);
  for (const s of shards) assert.ok(s.headSeries < 30_000, `${s.id}: head ${s.headSeries} under the budget`);
  assert.deepEqual(fake.acceptedWrites('/scale').map((w) => w.author), fake.acceptedWrites('/scale').map(() => 'kvass-coordinator/coordinator-a'));
  const counts = [...(await sidecarPlacement()).values()].reduce((m, i) => m.set(i, (m.get(i) ?? 0) + 1), new Map<number, number>());
  assert.deepEqual([...counts.values()].sort(), [2, 2, 2]);

  const qPort = await freePort();
  query = runKvass(['query', `--coordinator.url=${a.url}`, `--config.file=${configFile}`, `--data-dir=${join(dir, 'query')}`, `--web.listen-address=127.0.0.1:${qPort}`, `--shard.api-token-file=${tokenFile}`, '--log.level=warn']);
  const count = await waitFor('count(demo_metric) = 60000 through the global view', async () => {
    if (query!.proc.exitCode !== null) throw new Error(`kvass query exited: ${query!.output()}`);
    const r = await fetch(`http://127.0.0.1:${qPort}/api/v1/query?query=count(demo_metric)`).catch(() => null);
    const v = r?.ok ? ((await r.json()) as { data: { result: Array<{ value: [number, string] }> } }).data.result[0]?.value[1] : undefined;
    return v === '60000' ? v : undefined;
  }, 60_000, 500);
  assert.equal(count, '60000');
});

test('failover: SIGKILL of the leader; the standby acts within a lease duration + an interval, moves no target, and the two never write at once', { timeout: 120_000 }, async () => {
  const a = coordinators.get('coordinator-a')!;
  assert.ok(a, 'the demo test started coordinator-a');
  const b = startCoordinator('coordinator-b', await freePort());
  coordinators.set('coordinator-b', b);
  await waitFor('coordinator-b up, standing by', async () => {
    if (b.run.proc.exitCode !== null) throw new Error(`coordinator-b exited: ${b.run.output()}`);
    return (await fetch(`${b.url}/-/healthy`).catch(() => null))?.ok;
  }, 30_000);
  // Let it stand by for a few of the leader's cycles.
  await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
  const before = await sidecarPlacement();
  assert.equal(before.size, 6);
  assert.equal(pushes.filter((p) => p.author.includes('coordinator-b')).length, 0, 'a standby pushes nothing');
  assert.equal(fake.acceptedWrites().filter((w) => w.author.includes('coordinator-b') && !w.path.includes('/leases')).length, 0, 'a standby writes nothing but its tries for the lease');
  const lease = fake.get('leases', NS, 'kvass-coordinator')?.spec as { holderIdentity: string };
  assert.equal(lease.holderIdentity, 'coordinator-a');
  // The standby answers the global view's shard list as the sidecars report it.
  const standbyRows = (await fetchShards(b.url))[0]?.shards ?? [];
  assert.deepEqual(standbyRows.map((r) => [r.ready, r.targets]), [[true, 2], [true, 2], [true, 2]]);
  assert.equal(await metric(b.url, 'kvass_coordinator_leader'), 0);
  assert.equal(await metric(b.url, 'kvass_coordinator_cycles_total'), 0, 'no acting cycle on standby');
  assert.equal(await metric(a.url, 'kvass_coordinator_leader'), 1);

  // Mid-cycle, as far as the test can tell: half an interval after a cycle's config/assignment reads.
  const killedAt = Date.now();
  a.run.proc.kill('SIGKILL');
  const acted = await waitFor('coordinator-b acting (a cycle as leader)', async () => ((await metric(b.url, 'kvass_coordinator_cycles_total')) > 0 ? Date.now() : undefined), 30_000, 50);
  const takeoverMs = acted - killedAt;
  console.log(`takeover after ${takeoverMs} ms (lease ${LEASE_MS} ms + interval ${INTERVAL_MS} ms)`);
  assert.ok(takeoverMs <= LEASE_MS + INTERVAL_MS, `standby acted ${takeoverMs} ms after the kill`);
  assert.equal((fake.get('leases', NS, 'kvass-coordinator')?.spec as { holderIdentity: string }).holderIdentity, 'coordinator-b');

  // A few of its cycles later: no target changed shard.
  await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
  assert.deepEqual(await sidecarPlacement(), before);
  assert.equal((fake.get('statefulsets', NS, STS)?.spec as { replicas: number }).replicas, 3);

  // Never two writers: every write of A precedes every write of B (sidecar pushes and API writes but the lease).
  const writes = [
    ...pushes.map((p) => ({ timeMs: p.timeMs, author: p.author, what: `push ${p.path}` })),
    ...fake.acceptedWrites().filter((w) => !w.path.includes('/leases')).map((w) => ({ timeMs: w.timeMs, author: w.author, what: `${w.method} ${w.path}` })),
  ].sort((x, y) => x.timeMs - y.timeMs);
  const lastA = Math.max(...writes.filter((w) => w.author.includes('coordinator-a')).map((w) => w.timeMs));
  const firstB = Math.min(...writes.filter((w) => w.author.includes('coordinator-b')).map((w) => w.timeMs), Infinity);
  assert.ok(lastA <= killedAt, 'no write of A after its death');
  assert.ok(firstB > lastA, `B's first write (${firstB}) after A's last (${lastA})`);
  assert.ok(writes.every((w) => w.author.includes('coordinator-a') || w.author.includes('coordinator-b')), 'every write has a known author');
});

test('scale-down on k8s: two targets gone, the highest shard is drained, removed after --shard.max-idle-time, and its PVC deleted', { timeout: 120_000 }, async () => {
  const b = coordinators.get('coordinator-b')!;
  assert.ok(b, 'the failover test started coordinator-b');
  // The two targets of shard 0 go away (their pods are deleted): 4 targets of 10,050 series fit in 2 shards.
  const onShard0 = [...(await sidecarPlacement()).entries()].filter(([, i]) => i === 0).map(([podName]) => podName);
  assert.equal(onShard0.length, 2);
  for (const name of onShard0) fake.remove('pods', NS, name);
  await waitFor('prometheus-rep-0 scaled to 2', async () => ((fake.get('statefulsets', NS, STS)?.spec as { replicas: number }).replicas === 2 ? true : undefined), 90_000, 200);
  await waitFor('the removed ordinal\'s PVC deleted', async () => (fake.get('persistentvolumeclaims', NS, `data-${STS}-2`) === undefined ? true : undefined), 10_000, 50);
  assert.ok(fake.get('persistentvolumeclaims', NS, `data-${STS}-0`) && fake.get('persistentvolumeclaims', NS, `data-${STS}-1`), 'the others stay');
  const deletes = fake.acceptedWrites('/persistentvolumeclaims/');
  assert.deepEqual(deletes.map((w) => [w.method, w.author]), [['DELETE', 'kvass-coordinator/coordinator-b']]);
  // Scaled down only once it was empty (after max-idle-time): the 4 remaining targets on shards 0 and 1.
  const placed = await sidecarPlacement();
  assert.equal(placed.size, 4);
  assert.ok([...placed.values()].every((i) => i < 2), `placement ${JSON.stringify([...placed])}`);
});
