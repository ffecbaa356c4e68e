/**
 * One view over three clusters (test/helpers/clusters.ts): `kvass query` with no coordinator and no config reads
 * cluster a's `kvass up`, a Prometheus over mutual TLS and one with basic auth over TLS, from a stores file, and
 * answers as a reference Prometheus that scraped everything with the same labels. Stores that fail are named in
 * warnings (or errors, with partial responses off); a query for one cluster is sent to that cluster's store only.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, connect, type Server as NetServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { CLUSTERS, SERIES, api, resultDifference, startClusters, startQuery, type Clusters } from '../helpers/clusters.js';
import { freePort, waitFor } from '../helpers/prometheus.js';
import type { RunningKvass } from '../helpers/kvass.js';

let cl: Clusters;
let view = '';
let viewRun: RunningKvass;
let strict = '';
let strictRun: RunningKvass;
let strictFile = '';
let otherCa: TestCerts;
let wrongCaServer: Server;
let slowProxy: NetServer;
const faults = { unreachable: '', wrongCa: '', slow: '' };


/** A TCP proxy to `upstream` that holds every answer back `delayMs`: a store that answers too slowly. */
async function slowTcpProxy(upstream: URL, delayMs: number): Promise<NetServer> {
  const server = createNetServer((client) => {
    const up = connect(Number(upstream.port), upstream.hostname);
    client.on('data', (d) => up.write(d));
    up.on('data', (d) => setTimeout(() => client.writable && client.write(d), delayMs));
    const end = (): void => {
      client.destroy();
      up.destroy();
    };
    client.on('error', end).on('close', end);
    up.on('error', end).on('close', () => setTimeout(end, delayMs));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

before(async () => {
  cl = await startClusters();
  const all = join(cl.dir, 'stores.yml');
  await writeFile(all, cl.storeEntries.a + cl.storeEntries.b + cl.storeEntries.c);
  // Faults: nothing listening; a TLS server whose certificate another CA signed; c behind a 6 s delay.
  faults.unreachable = `http://127.0.0.1:${await freePort()}`;
  otherCa = makeTestCerts();
  wrongCaServer = createHttpsServer({ cert: readFileSync(otherCa.serverCert), key: readFileSync(otherCa.serverKey) }, (_req, res) => res.end('{}'));
  wrongCaServer.listen(0, '127.0.0.1');
  await once(wrongCaServer, 'listening');
  faults.wrongCa = `https://127.0.0.1:${(wrongCaServer.address() as { port: number }).port}`;
  slowProxy = await slowTcpProxy(new URL(cl.urlC), 6000);
  faults.slow = `https://localhost:${(slowProxy.address() as { port: number }).port}`;
  const faultEntries = [
    `- name: gone\n  url: ${faults.unreachable}\n`,
    `- name: other-ca\n  url: ${faults.wrongCa}\n  tls_config: {ca_file: ${cl.certs.caCert}}\n`,
    cl.storeEntries.c.replace('name: c', 'name: slow').replace(/url: \S+/, `url: ${faults.slow}`),
  ];
  const withFaults = join(cl.dir, 'stores-faults.yml');
  await writeFile(withFaults, cl.storeEntries.a + cl.storeEntries.b + faultEntries.join(''));
  strictFile = join(cl.dir, 'stores-strict.yml');
  await writeFile(strictFile, cl.storeEntries.a + cl.storeEntries.b);
  const started = await Promise.all([
    startQuery(cl.dir, 'view', all, ['--query.store-timeout=3s']),
    startQuery(cl.dir, 'faulty', withFaults, ['--query.store-timeout=3s']),
    startQuery(cl.dir, 'strict', strictFile, ['--query.store-timeout=3s', '--no-query.partial-response']),
  ]);
  ({ url: view, run: viewRun } = started[0]);
  faultyView = started[1].url;
  faultyRun = started[1].run;
  ({ url: strict, run: strictRun } = started[2]);
});

let faultyView = '';
let faultyRun: RunningKvass;

after(async () => {
  for (const r of [viewRun, faultyRun, strictRun]) await r?.stop();
  wrongCaServer?.close();
  slowProxy?.close();
  otherCa?.remove();
  await cl?.stop();
});

const INSTANT = [
  'count(demo_metric)', 'sum(demo_metric)', 'count by (cluster) (demo_metric)', 'sum by (tenant_id) (demo_metric)',
  'max by (cluster, kind) (demo_metric)', 'min without (series_id) (demo_metric)', 'avg by (instance) (demo_metric)',
  'demo_metric{series_id="3"}', 'demo_metric{cluster="b"}', 'demo_metric{cluster=~"a|c", kind="x"}',
  'other_metric', 'other_metric{code!="200"} * 2', 'topk(3, demo_metric)', 'bottomk(2, other_metric)',
  'count_values("v", demo_metric{cluster!="a"})', 'sum by (cluster) (other_metric) / count by (cluster) (other_metric)',
  'max_over_time(demo_metric{series_id="1"}[1m])', 'avg_over_time(other_metric[30s])', 'rate(other_metric[1m])',
  'max_over_time(sum by (cluster) (demo_metric)[1m:10s])', 'absent(demo_metric{cluster="d"})', 'up', 'count by (job) (up)',
  'label_replace(other_metric{cluster="c"}, "where", "$1", "cluster", "(.*)")', 'demo_metric > 25', 'stddev by (cluster) (demo_metric)',
  'quantile(0.9, demo_metric)', 'group by (cluster, tenant_id) (demo_metric)',
];

const RANGE = ['sum by (cluster) (demo_metric)', 'other_metric{cluster="b"}', 'count(demo_metric)', 'max_over_time(other_metric[20s])', 'sum(rate(other_metric[30s]))'];

test('three clusters, one view: kvass query with no coordinator over kvass up, an mTLS Prometheus and a basic-auth TLS Prometheus answers as a reference Prometheus', { timeout: 240_000 }, async () => {
  await waitFor('every cluster\'s series through the view', async () => {
    const b = await api(view, `/api/v1/query?query=${encodeURIComponent('count by (cluster) (demo_metric)')}`);
    return b.data?.result.length === 3 && b.data.result.every((r) => r.value![1] === String((r.metric.cluster === 'a' ? 3 : 1) * SERIES));
  }, 90_000, 1000);
  // A full minute of samples everywhere, for the range windows.
  await new Promise((r) => setTimeout(r, 62_000));
  const at = Math.floor(Date.now() / 1000) - 5;
  let compared = 0;
  for (const q of INSTANT) {
    const path = `/api/v1/query?query=${encodeURIComponent(q)}&time=${at}`;
    const [ours, ref] = [await api(view, path), await api(cl.reference.url, path)];
    assert.equal(ours.status, 'success', `${q}: ${ours.error}`);
    assert.deepEqual(ours.warnings ?? [], [], `${q}: no warning`);
    assert.equal(ref.status, 'success', `${q} in the reference: ${ref.error}`);
    assert.ok(ref.data.result.length > 0 || q.startsWith('absent'), `${q}: the reference has data`);
    assert.equal(resultDifference(ours.data.result, ref.data.result), undefined, `${q}: the view equals the reference`);
    compared++;
  }
  for (const q of RANGE) {
    const path = `/api/v1/query_range?query=${encodeURIComponent(q)}&start=${at - 40}&end=${at}&step=5`;
    const [ours, ref] = [await api(view, path), await api(cl.reference.url, path)];
    assert.equal(ours.status, 'success', `${q}: ${ours.error}`);
    assert.ok(ref.data.result.length > 0, `${q}: the reference has data`);
    assert.equal(resultDifference(ours.data.result, ref.data.result), undefined, `${q} over 40 s: the view equals the reference`);
    compared++;
  }
  assert.equal(compared, INSTANT.length + RANGE.length);
  assert.ok(INSTANT.length >= 20 && RANGE.length >= 5);
});

test('GET /api/v1/stores lists every store with its name, URL, external labels learned from it, health and time range', async () => {
  const b = (await (await fetch(`${view}/api/v1/stores`)).json()) as { status: string; data: Array<{ name: string; url: string; externalLabels: Record<string, string>; health: string; lastError: string | null; minTime: number | null; maxTime: number | null }> };
  assert.equal(b.status, 'success');
  const byName = new Map(b.data.map((s) => [s.name, s]));
  assert.deepEqual([...byName.keys()].sort(), [...CLUSTERS]);
  for (const c of CLUSTERS) {
    const s = byName.get(c)!;
    assert.deepEqual(s.externalLabels, { cluster: c, tenant_id: c });
    assert.equal(s.health, 'up', `${c}: ${s.lastError}`);
    assert.equal(s.lastError, null);
  }
  assert.equal(byName.get('b')!.url, cl.urlB);
  // Prometheus stores report their head's time range.
  for (const c of ['b', 'c']) assert.ok(byName.get(c)!.minTime! > 0 && byName.get(c)!.maxTime! >= byName.get(c)!.minTime!, `${c}: a time range`);
});

/** Remote reads served so far by each store: Prometheus's own request counter, and kvass up's gateway. */
async function readsPerStore(): Promise<Record<string, number>> {
  const count = (text: string, prefix: string): number => text.split('\n').filter((l) => l.startsWith(prefix)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  const out: Record<string, number> = {};
  out.a = count(await (await fetch(`${cl.frontA}/metrics`)).text(), 'kvass_gateway_reads_total');
  out.b = count((await cl.tlsGet(`${cl.urlB}/metrics`)).text, 'prometheus_http_requests_total{code="200",handler="/api/v1/read"}');
  out.c = count((await cl.tlsGet(`${cl.urlC}/metrics`, { authorization: cl.basicAuthC })).text, 'prometheus_http_requests_total{code="200",handler="/api/v1/read"}');
  return out;
}

test('pruning: a query for one cluster is sent to that cluster\'s store only (requests counted on each store)', async () => {
  for (const c of CLUSTERS) {
    const before = await readsPerStore();
    const b = await api(view, `/api/v1/query?query=${encodeURIComponent(`count(demo_metric{cluster="${c}"})`)}`);
    assert.equal(b.data.result[0]?.value![1], String((c === 'a' ? 3 : 1) * SERIES));
    const after = await readsPerStore();
    for (const s of CLUSTERS) {
      if (s === c) assert.ok(after[s]! > before[s]!, `store ${s} read for {cluster="${c}"}`);
      else assert.equal(after[s], before[s], `store ${s} not read for {cluster="${c}"}`);
    }
  }
});

test('a store unreachable, one with a certificate from another CA and one too slow are each named in the warnings, and the others\' data is returned', { timeout: 60_000 }, async () => {
  const b = await api(faultyView, `/api/v1/query?query=${encodeURIComponent('count by (cluster) (demo_metric)')}`);
  assert.equal(b.status, 'success', b.error);
  const counts = Object.fromEntries(b.data.result.map((r) => [r.metric.cluster, r.value![1]]));
  assert.deepEqual(counts, { a: String(3 * SERIES), b: String(SERIES) });
  const warnings = (b.warnings ?? []).join('\n');
  assert.match(warnings, new RegExp(`store gone \\(${faults.unreachable.replace(/[.:/]/g, '\\$&')}\\): .*(ECONNREFUSED|refused)`, 'i'));
  assert.match(warnings, /store other-ca \(https:\/\/127\.0\.0\.1:\d+\): .*(certificate|verify|self.signed|issuer)/i);
  assert.match(warnings, /store slow \(https:\/\/localhost:\d+\): no complete answer within 3s \(--query\.store-timeout\)/);
  const stores = (await (await fetch(`${faultyView}/api/v1/stores`)).json()) as { data: Array<{ name: string; health: string; lastError: string | null }> };
  const health = Object.fromEntries(stores.data.map((s) => [s.name, s.health]));
  assert.deepEqual(health, { a: 'up', b: 'up', gone: 'down', 'other-ca': 'down', slow: 'down' });
});

test('with --no-query.partial-response each failing store turns the answer into an error naming it (stores file reloaded for each)', { timeout: 120_000 }, async () => {
  const ok = await api(strict, `/api/v1/query?query=${encodeURIComponent('count(demo_metric)')}`);
  assert.equal(ok.status, 'success', ok.error);
  assert.equal(ok.data.result[0]!.value![1], String(4 * SERIES));
  const cases: Array<[string, string]> = [
    ['gone', `- name: gone\n  url: ${faults.unreachable}\n`],
    ['other-ca', `- name: other-ca\n  url: ${faults.wrongCa}\n  tls_config: {ca_file: ${cl.certs.caCert}}\n`],
    ['slow', cl.storeEntries.c.replace('name: c', 'name: slow').replace(/url: \S+/, `url: ${faults.slow}`)],
  ];
  for (const [name, entry] of cases) {
    await writeFile(strictFile, cl.storeEntries.a + cl.storeEntries.b + entry);
    await waitFor(`the stores file with ${name} loaded`, async () => {
      const s = (await (await fetch(`${strict}/api/v1/stores`)).json()) as { data: Array<{ name: string }> };
      return s.data.some((x) => x.name === name);
    }, 20_000);
    const res = await fetch(`${strict}/api/v1/query?query=${encodeURIComponent('count(demo_metric)')}`, { signal: AbortSignal.timeout(30_000) });
    const b = (await res.json()) as { status: string; error?: string };
    assert.equal(b.status, 'error', `${name}: an error, not a partial answer`);
    assert.equal(res.status, 503);
    assert.match(b.error!, new RegExp(`store ${name} \\(`), `${name} named: ${b.error}`);
  }
  // An invalid file is refused and the last good set stays.
  await writeFile(strictFile, '- url: ftp://nowhere\n');
  await new Promise((r) => setTimeout(r, 2500));
  const s = (await (await fetch(`${strict}/api/v1/stores`)).json()) as { data: Array<{ name: string }> };
  assert.deepEqual(s.data.map((x) => x.name).sort(), ['a', 'b', 'slow']);
  assert.match(strictRun.output(), /ftp/);
});
