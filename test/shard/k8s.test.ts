/**
 * The k8s shard manager against the fake API server (test/helpers/fake-apiserver.ts): scaling through the
 * StatefulSet scale subresource, PVCs of removed ordinals, 409 conflicts retried, a rolling update left alone,
 * pods followed through a broken watch, and the coordinator's min/max shard bounds and standby on top of it.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { silentLogger } from '../../src/logger.js';
import { ApiClient } from '../../src/http/client.js';
import { kubeConfigClient } from '../../src/discovery/kubernetes/client.js';
import { K8sShardManager, NotLeader } from '../../src/shard/k8s.js';
import { Coordinator } from '../../src/coordinator/coordinator.js';
import { FakeApiServer, type Obj } from '../helpers/fake-apiserver.js';
import { waitFor } from '../helpers/prometheus.js';
import { metricsBody, startTarget, type TestTarget } from '../helpers/targets.js';
import { tempDir } from '../helpers/tmp.js';

const NS = 'kvass';
const SELECTOR = 'app.kubernetes.io/name=prometheus';
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

function statefulSet(name: string, replicas: number, revisions: [string, string] = ['r1', 'r1']): Obj {
  return {
    metadata: { name, namespace: NS, labels: { 'app.kubernetes.io/name': 'prometheus' } },
    spec: { replicas, volumeClaimTemplates: [{ metadata: { name: 'data' } }] },
    status: { replicas, currentRevision: revisions[0], updateRevision: revisions[1] },
  };
}

function pod(sts: string, ordinal: number, ip: string, ready = true): Obj {
  return {
    metadata: { name: `${sts}-${ordinal}`, namespace: NS, labels: { 'app.kubernetes.io/name': 'prometheus' }, ownerReferences: [{ kind: 'StatefulSet', name: sts, controller: true }] },
    status: { podIP: ip, phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

const pvc = (name: string): Obj => ({ metadata: { name, namespace: NS } });

function kubeFor(fake: FakeApiServer, author: string) {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: fake.url, skipTLSVerify: true }], users: [{ name: 'u' }],
    contexts: [{ name: 'c', cluster: 'fake', user: 'u', namespace: NS }], currentContext: 'c',
  });
  return kubeConfigClient(k8s, kc, author);
}

async function setup(opts: { deletePvc?: boolean; mayWrite?: () => boolean; objects?: Array<['statefulsets' | 'pods' | 'persistentvolumeclaims', Obj]> } = {}) {
  const fake = await FakeApiServer.start();
  cleanups.push(() => fake.stop());
  for (const [r, o] of opts.objects ?? [['statefulsets', statefulSet('prometheus-rep-0', 1)]]) fake.upsert(r, o);
  const client = new ApiClient({ timeoutMs: 2000, maxResponseBytes: 1 << 20 });
  const manager = new K8sShardManager({
    k8s, kube: kubeFor(fake, 'kvass-coordinator/test'), namespace: NS, selector: SELECTOR, port: 8080, deletePvc: opts.deletePvc ?? true,
    client, log: silentLogger(), mayWrite: opts.mayWrite,
  });
  cleanups.push(() => manager.close());
  await manager.start(10_000);
  return { fake, manager };
}

const replicasOf = (fake: FakeApiServer, name = 'prometheus-rep-0'): number => (fake.get('statefulsets', NS, name)?.spec as { replicas: number }).replicas;

/** Waits until the manager's watch has seen the StatefulSet with `n` replicas. */
const seen = (manager: K8sShardManager, n: number) => waitFor(`the watch to see ${n} replicas`, async () => ((await manager.list())[0]?.length === n ? true : undefined), 5000, 20);

test('k8s shards: scale up and down through the scale subresource; PVCs of removed ordinals are deleted', async () => {
  const { fake, manager } = await setup({
    objects: [['statefulsets', statefulSet('prometheus-rep-0', 1)], ...[0, 1, 2].map((i): ['persistentvolumeclaims', Obj] => ['persistentvolumeclaims', pvc(`data-prometheus-rep-0-${i}`)]), ['persistentvolumeclaims', pvc('other-claim')]],
  });
  assert.equal(manager.replicas(), 1);
  await manager.scale(3);
  assert.equal(replicasOf(fake), 3);
  const puts = fake.acceptedWrites('/statefulsets/prometheus-rep-0/scale');
  assert.deepEqual(puts.map((w) => [w.method, w.author, (w.body as { spec: { replicas: number } }).spec.replicas]), [['PUT', 'kvass-coordinator/test', 3]]);
  assert.equal(fake.acceptedWrites('/statefulsets/prometheus-rep-0').filter((w) => !w.path.endsWith('/scale')).length, 0, 'the StatefulSet itself is never written');
  await seen(manager, 3);
  const shards = (await manager.list())[0]!;
  assert.deepEqual(shards.map((s) => [s.id, s.name, s.ready]), [[0, 'prometheus-rep-0-0', false], [1, 'prometheus-rep-0-1', false], [2, 'prometheus-rep-0-2', false]]);

  await manager.scale(1);
  assert.equal(replicasOf(fake), 1);
  assert.deepEqual(fake.acceptedWrites('/persistentvolumeclaims/').map((w) => [w.method, w.path.split('/').pop()]), [['DELETE', 'data-prometheus-rep-0-1'], ['DELETE', 'data-prometheus-rep-0-2']]);
  assert.ok(fake.get('persistentvolumeclaims', NS, 'data-prometheus-rep-0-0'), 'ordinal 0 keeps its data');
  assert.ok(fake.get('persistentvolumeclaims', NS, 'other-claim'));
  await seen(manager, 1);
  // Scaling to the count it has writes nothing.
  const before = fake.writes.length;
  await manager.scale(1);
  assert.equal(fake.writes.length, before);
});

test('k8s shards: with --shard.delete-pvc=false a scale-down keeps the PVCs', async () => {
  const { fake, manager } = await setup({ deletePvc: false, objects: [['statefulsets', statefulSet('prometheus-rep-0', 2)], ['persistentvolumeclaims', pvc('data-prometheus-rep-0-1')]] });
  await manager.scale(1);
  assert.equal(replicasOf(fake), 1);
  assert.ok(fake.get('persistentvolumeclaims', NS, 'data-prometheus-rep-0-1'));
  assert.equal(fake.acceptedWrites('/persistentvolumeclaims/').length, 0);
});

test('k8s shards: a 409 conflict on the scale write is read again and retried; too many give up with the error', async () => {
  const { fake, manager } = await setup();
  const isScalePut = (r: { path: string }) => r.path.endsWith('/scale');
  fake.failNext((r) => isScalePut(r) && fake.requests.at(-1)?.headers['content-type'] !== undefined, 409, 2);
  await manager.scale(2);
  assert.equal(replicasOf(fake), 2);
  const scaleWrites = fake.writes.filter((w) => w.path.endsWith('/scale'));
  assert.deepEqual(scaleWrites.map((w) => w.status), [409, 409, 200]);
  // Every try re-read the scale first: 3 GETs before the 3 PUTs' outcomes.
  assert.equal(fake.requests.filter((r) => r.path.endsWith('/scale') && r.headers['content-type'] === undefined).length, 3);

  fake.failNext((r) => isScalePut(r) && r.headers['content-type'] !== undefined, 409, 10);
  await assert.rejects(manager.scale(4), /409/);
  assert.equal(replicasOf(fake), 2);
});

test('k8s shards: a StatefulSet in a rolling update is not scaled until it settles', async () => {
  const { fake, manager } = await setup({ objects: [['statefulsets', statefulSet('prometheus-rep-0', 2, ['r1', 'r2'])]] });
  await manager.scale(4);
  assert.equal(replicasOf(fake), 2);
  assert.equal(fake.acceptedWrites().length, 0);
  fake.upsert('statefulsets', statefulSet('prometheus-rep-0', 2, ['r2', 'r2']));
  await waitFor('the watch to see the settled StatefulSet', async () => {
    await manager.scale(4);
    return replicasOf(fake) === 4 ? true : undefined;
  }, 5000, 50);
});

test('k8s shards: replicas are the matched StatefulSets in name order, paired by ordinal; others are ignored', async () => {
  const { manager } = await setup({
    objects: [
      ['statefulsets', statefulSet('prometheus-rep-1', 2)], ['statefulsets', statefulSet('prometheus-rep-0', 2)],
      ['statefulsets', { ...statefulSet('unrelated', 5), metadata: { name: 'unrelated', namespace: NS, labels: { app: 'other' } } }],
      ['pods', pod('prometheus-rep-0', 0, '10.0.0.1')], ['pods', pod('prometheus-rep-1', 0, '10.0.0.2', false)],
    ],
  });
  const list = await manager.list();
  assert.deepEqual(list.map((r) => r.map((s) => [s.replica, s.id, s.name, s.apiUrl])), [
    [[0, 0, 'prometheus-rep-0-0', 'http://10.0.0.1:8080'], [0, 1, 'prometheus-rep-0-1', '']],
    [[1, 0, 'prometheus-rep-1-0', 'http://10.0.0.2:8080'], [1, 1, 'prometheus-rep-1-1', '']],
  ]);
  // Not ready: 10.0.0.1 has no sidecar to answer, 10.0.0.2's pod is not Ready, ordinal 1 has no pod.
  assert.ok(list.flat().every((s) => !s.ready));
});

test('k8s shards: a broken watch is resumed and no pod is missed', async () => {
  const { fake, manager } = await setup({ objects: [['statefulsets', statefulSet('prometheus-rep-0', 3)], ['pods', pod('prometheus-rep-0', 0, '10.0.0.1')]] });
  await waitFor('the pod watch', async () => (fake.watchCount('pods') > 0 ? true : undefined), 5000, 20);
  await fake.stop();
  // Changes while the watch is down, and one after it is back.
  fake.upsert('pods', pod('prometheus-rep-0', 1, '10.0.0.2'));
  await fake.restart();
  fake.upsert('pods', pod('prometheus-rep-0', 2, '10.0.0.3'));
  await waitFor('all three pods seen', async () => {
    const urls = (await manager.list())[0]!.map((s) => s.apiUrl);
    return urls.every(Boolean) ? urls : undefined;
  }, 15_000, 100);
  assert.deepEqual((await manager.list())[0]!.map((s) => s.apiUrl), ['http://10.0.0.1:8080', 'http://10.0.0.2:8080', 'http://10.0.0.3:8080']);
  // Resumed from a resourceVersion, not only re-listed.
  assert.ok(fake.watchRequests('/pods').some((r) => Number(r.query.get('resourceVersion')) > 0));
});

test('k8s shards: a manager that may not write refuses to scale', async () => {
  const { fake, manager } = await setup({ mayWrite: () => false });
  await assert.rejects(manager.scale(3), NotLeader);
  assert.equal(fake.writes.length, 0);
});

test('coordinator on k8s shards: --shard.min-shard and --shard.max-shard bound the StatefulSet; a standby writes nothing', async () => {
  const dir = await tempDir('kvass-k8s-');
  const targets: TestTarget[] = await Promise.all([0, 1, 2].map(() => startTarget(metricsBody(100))));
  cleanups.push(async () => Promise.all(targets.map((t) => t.close())));
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, 'global: {scrape_interval: 1s}\nscrape_configs: []\n');
  const { fake, manager } = await setup({ objects: [['statefulsets', statefulSet('prometheus-rep-0', 0)]] });
  let acting = false;
  const coordinator = (minShards: number, maxShards: number) => new Coordinator({
    configFile, intervalMs: 60_000, maxSeries: 150, minShards, maxShards, maxIdleTimeMs: 0, notReadyGraceMs: 60_000, exploreConcurrency: 4,
    sdInitTimeoutMs: 1000, defaultSeries: 1000, hysteresis: 0.1, manager, client: new ApiClient({ timeoutMs: 1000, maxResponseBytes: 1 << 20 }),
    log: silentLogger(), mayWrite: () => acting,
  });
  const c1 = coordinator(2, 10);
  await c1.start();
  cleanups.push(() => c1.stop());
  await c1.runOnce();
  assert.equal(replicasOf(fake), 0, 'a standby does not scale');
  assert.equal(fake.writes.length, 0);
  acting = true;
  await c1.runOnce();
  assert.equal(replicasOf(fake), 2, 'scaled up to --shard.min-shard');
  await c1.stop();

  // Three targets of 105 series each against a budget of 150: one shard each, but at most 2.
  await writeFile(configFile, `global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: t\n    static_configs: [{targets: [${targets.map((t) => `'${t.address}'`).join(', ')}]}]\n`);
  const c2 = coordinator(0, 2);
  await c2.start();
  cleanups.push(() => c2.stop());
  for (let i = 0; i < 6; i++) {
    await c2.runOnce();
    assert.ok(replicasOf(fake) <= 2, `at most --shard.max-shard: ${replicasOf(fake)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(replicasOf(fake), 2);
  assert.ok((c2.lastPlan?.unplaced.length ?? 0) >= 1, 'the third target is reported unplaced');
});
