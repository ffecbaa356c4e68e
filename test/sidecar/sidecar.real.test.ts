/**
 * The sidecar with the real `prometheus` binary: Prometheus scrapes local targets through the sidecar's proxy;
 * what Prometheus stores per target equals what the sidecar reports; https + basic auth; an unassigned target
 * is refused and never contacted; a killed sidecar restores its assignment; reassigning one target reloads once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/config.js';
import { statusConfigYaml } from '../../src/config/status-config.js';
import { discoverOnce } from '../../src/cli/targets.js';
import type { Target } from '../../src/target/populate.js';
import { startPrometheus, waitFor, type RunningPrometheus } from '../helpers/prometheus.js';
import { metricsBody, selfSignedCert, startTarget, type TestTarget } from '../helpers/targets.js';
import { startSidecar, type RunningSidecar } from '../helpers/kvass.js';
import { compressSync, uncompressSync } from 'snappy';
import { encodeReadRequest } from '../../src/query/remote/read-proto.js';
import { scanReadResponse } from '../../src/query/remote/series-wire.js';
import { tempDir } from '../helpers/tmp.js';

/** `up`, scrape_duration_seconds, scrape_samples_scraped, scrape_samples_post_metric_relabeling, scrape_series_added. */
const PROMETHEUS_ADDED_SERIES = 5;

let dir: string;
let configFile: string;
let outputFile: string;
let plain: TestTarget[];
let secure: TestTarget;
let spare: TestTarget;
let prom: RunningPrometheus;
let sidecar: RunningSidecar;
let targets: Target[];
const SIZES = [10, 200, 3000];

const spec = (t: Target) => ({ job: t.job, labels: t.labels, hash: t.hash, state: 'normal' });

before(async () => {
  dir = await tempDir('kvass-sidecar-real-');
  const tls = selfSignedCert();
  plain = await Promise.all(SIZES.map((n) => startTarget(metricsBody(n))));
  spare = await startTarget(metricsBody(50));
  secure = await startTarget((req, res) => {
    if (req.headers.authorization !== `Basic ${Buffer.from('scraper:s3cret').toString('base64')}`) {
      res.writeHead(401).end('unauthorized\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metricsBody(7, 'secure_metric'));
  }, tls);
  configFile = join(dir, 'prometheus.yml');
  outputFile = join(dir, 'out', 'prometheus.yml');
  await writeFile(configFile, `global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  external_labels: {cluster: test}
rule_files: [rules/*.yml]
scrape_configs:
  - job_name: plain
    static_configs:
      - targets: [${plain.map((t) => `'${t.address}'`).join(', ')}, '${spare.address}']
        labels: {team: blue}
  - job_name: secure
    scheme: https
    basic_auth: {username: scraper, password: s3cret}
    tls_config: {ca_file: ${tls.caFile}}
    static_configs: [{targets: ['${secure.address}']}]
`);
  const cfg = parseConfig(await readFile(configFile, 'utf8'), configFile);
  const found = await discoverOnce(cfg, 5000);
  targets = found.jobs.flatMap((j) => j.targets.active);
  assert.equal(targets.length, 5);
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(dir, 'out'));
  // The sidecar first: it writes the file Prometheus loads (a Prometheus it cannot reach yet is no reason to stop).
  const promPort = await import('../helpers/prometheus.js').then((m) => m.freePort());
  sidecar = await startSidecar({ configFile, outputFile, storePath: join(dir, 'store'), prometheusUrl: `http://127.0.0.1:${promPort}` });
  await waitFor('the injected config', () => readFile(outputFile, 'utf8').catch(() => null));
  prom = await startPrometheus(outputFile, { port: promPort });
});

after(async () => {
  await sidecar?.kill();
  await prom?.stop();
  for (const t of [...(plain ?? []), secure, spare]) await t?.close();
});

function byAddress(address: string): Target {
  return targets.find((t) => t.labels.__address__ === address)!;
}

async function sidecarTargets(): Promise<Array<{ hash: string; health: string; lastError: string; lastSeries: number; series: number; scrapesSinceAssigned: number; lastScrape: string | null }>> {
  const r = await sidecar.call<{ data: { targets: never[] } }>('GET', '/api/v1/shard/targets');
  assert.equal(r.status, 200);
  return r.body.data.targets;
}

test('Prometheus scrapes the assigned targets through the proxy, and the series it stores equal what the sidecar reports', async () => {
  const assigned = [...plain.map((t) => byAddress(t.address)), byAddress(secure.address)];
  const r = await sidecar.call('POST', '/api/v1/shard/targets', { targets: assigned.map(spec) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await waitFor('two successful scrapes of every target', async () => {
    const st = await sidecarTargets();
    return st.length === 4 && st.every((t) => t.scrapesSinceAssigned >= 2);
  }, 30_000);
  for (const [i, t] of plain.entries()) {
    const target = byAddress(t.address);
    const stored = await waitFor(`series of ${t.address} in Prometheus`, async () => {
      const res = await prom.query(`count({instance="${target.labels.instance}"})`);
      return res.length ? Number(res[0]!.value[1]) : undefined;
    });
    const reported = (await sidecarTargets()).find((s) => s.hash === target.hash)!;
    assert.equal(reported.health, 'up');
    assert.equal(reported.lastSeries, SIZES[i]);
    assert.equal(stored - PROMETHEUS_ADDED_SERIES, reported.lastSeries, `target ${t.address}`);
    const up = await prom.query(`up{instance="${target.labels.instance}"}`);
    assert.equal(up[0]!.value[1], '1');
    assert.equal(up[0]!.metric.team, 'blue');
    assert.equal(up[0]!.metric.job, 'plain');
  }
  // The spare target is in the config but not assigned: Prometheus has no series of it.
  assert.equal((await prom.query(`up{instance="${spare.address}"}`)).length, 0);
});

test('an https target with basic auth is scraped through the proxy with the job\'s TLS and credentials', async () => {
  const target = byAddress(secure.address);
  const up = await waitFor('secure target up', async () => {
    const r = await prom.query(`up{job="secure"}`);
    return r.length ? r : undefined;
  });
  assert.equal(up[0]!.value[1], '1');
  assert.equal(up[0]!.metric.instance, secure.address);
  assert.equal((await prom.query('count(secure_metric)'))[0]!.value[1], '7');
  const st = (await sidecarTargets()).find((s) => s.hash === target.hash)!;
  assert.equal(st.health, 'up');
  assert.equal(st.lastSeries, 7);
});

test('a scrape for a target not assigned here gets 403 and the target is never contacted', async () => {
  const before = spare.hits;
  const other = byAddress(spare.address);
  for (const hash of [other.hash, 'ffffffffffffffff']) {
    const res = await fetch(`http://127.0.0.1:${sidecar.proxyPort}/metrics?kvass_target=${hash}`, { headers: { host: spare.address } });
    assert.equal(res.status, 403);
    assert.match(await res.text(), /not assigned to this shard/);
  }
  const none = await fetch(`http://127.0.0.1:${sidecar.proxyPort}/metrics`);
  assert.equal(none.status, 403);
  assert.equal(spare.hits, before);
  assert.ok((await sidecar.metric('kvass_sidecar_refused_scrapes_total')) >= 3);
});

test('after the sidecar is killed and started again, the assignment is restored and Prometheus scrapes on', async () => {
  const proxyPort = sidecar.proxyPort;
  const promUrl = prom.url;
  await sidecar.kill('SIGKILL');
  const hitsAtKill = plain.map((t) => t.hits);
  sidecar = await startSidecar({ configFile, outputFile, storePath: join(dir, 'store'), prometheusUrl: promUrl, proxyPort });
  const st = await sidecarTargets();
  assert.equal(st.length, 4, 'assignment restored from the store');
  await waitFor('scrapes after the restart', async () => (await sidecarTargets()).every((t) => t.scrapesSinceAssigned >= 2), 20_000);
  plain.forEach((t, i) => assert.ok(t.hits > hitsAtKill[i]!, `target ${t.address} scraped again`));
  // Nothing changed, so the restarted sidecar did not rewrite the file nor reload Prometheus.
  assert.equal(await sidecar.metric('kvass_sidecar_config_writes_total'), 0);
});

test('reassigning 1 of 3 targets gives exactly one reload, and a burst of updates gives one reload too', async () => {
  const reloadsBefore = await sidecar.metric('kvass_sidecar_prometheus_reloads_total', { result: 'success' });
  // Prometheus's own metric (it does not scrape itself here, so read its /metrics).
  const lastReload = async () => {
    const text = await (await fetch(`${prom.url}/metrics`)).text();
    return Number(/^prometheus_config_last_reload_success_timestamp_seconds (\S+)$/m.exec(text)![1]);
  };
  const t0 = await lastReload();
  const three = [byAddress(plain[0]!.address), byAddress(plain[1]!.address), byAddress(spare.address), byAddress(secure.address)];
  assert.equal((await sidecar.call('POST', '/api/v1/shard/targets', { targets: three.map(spec) })).status, 200);
  await waitFor('the spare target scraped', async () => (await prom.query(`up{instance="${spare.address}"}`))[0]?.value[1] === '1', 20_000);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await sidecar.metric('kvass_sidecar_prometheus_reloads_total', { result: 'success' }), reloadsBefore + 1);
  assert.ok((await lastReload()) > t0);
  // The removed target is no longer scraped by this shard.
  const removed = byAddress(plain[2]!.address);
  assert.equal((await sidecarTargets()).some((s) => s.hash === removed.hash), false);

  // A burst: three different assignments within the debounce window → one reload.
  const base = await sidecar.metric('kvass_sidecar_prometheus_reloads_total', { result: 'success' });
  const all = plain.map((t) => byAddress(t.address));
  for (const set of [[all[0]!], [all[0]!, all[1]!], [all[0]!, all[1]!, all[2]!]]) {
    assert.equal((await sidecar.call('POST', '/api/v1/shard/targets', { targets: set.map(spec) })).status, 200);
  }
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(await sidecar.metric('kvass_sidecar_prometheus_reloads_total', { result: 'success' }), base + 1);
});

test('bad assignments are refused whole, with the reason, and change nothing', async () => {
  const beforeTargets = (await sidecarTargets()).map((t) => t.hash).sort();
  const good = spec(byAddress(plain[0]!.address));
  const cases: Array<[unknown, RegExp]> = [
    [{ targets: [good, { ...good, hash: '0000000000000000', labels: { ...good.labels, instance: 'x' } }] }, /hash 0000000000000000 does not match/],
    [{ targets: [{ ...good, job: 'nope' }] }, /unknown job\(s\) "nope"/],
    [{ targets: [{ job: 'plain', labels: {} }] }, /targets\[0\]: labels need a non-empty __address__/],
    ['not json', /JSON/],
  ];
  for (const [body, re] of cases) {
    const r = await sidecar.call<{ status: string; error: string }>('POST', '/api/v1/shard/targets', body);
    assert.ok(r.status === 400 || r.status === 409, `status ${r.status}`);
    assert.equal(r.body.status, 'error');
    assert.match(r.body.error, re);
  }
  assert.deepEqual((await sidecarTargets()).map((t) => t.hash).sort(), beforeTargets);
});

test('runtime info and /api/v1/status/config', async () => {
  type Info = { data: { headSeries: number; processSeries: number; targets: number; configHash: string; idleSince: string | null } };
  const total = SIZES.reduce((a, b) => a + b, 0);
  const info = await waitFor('every target measured', async () => {
    const r = await sidecar.call<Info>('GET', '/api/v1/shard/runtimeinfo');
    return r.body.data.processSeries === total ? r : undefined;
  });
  assert.equal(info.status, 200);
  assert.equal(info.body.data.targets, 3);
  assert.ok(info.body.data.headSeries >= info.body.data.processSeries, `head ${info.body.data.headSeries}`);
  assert.match(info.body.data.configHash, /^[0-9a-f]{16}$/);
  assert.equal(info.body.data.idleSince, null);
  const cfg = await sidecar.call<{ status: string; data: { yaml: string } }>('GET', '/api/v1/status/config');
  // The original configuration as Prometheus serves it (defaults, secrets masked), not the injected one.
  assert.equal(cfg.body.data.yaml, statusConfigYaml(parseConfig(await readFile(configFile, 'utf8'), configFile)));
  assert.doesNotMatch(cfg.body.data.yaml, /kvass_target|proxy_url/);
  // Prometheus's read API passes through to Prometheus; its lifecycle and admin API do not.
  assert.equal((await sidecar.call('POST', '/-/quit')).status, 404);
  assert.equal((await sidecar.call('POST', '/api/v1/admin/tsdb/snapshot')).status, 404);
  const build = await sidecar.call<{ status: string; data: { version: string } }>('GET', '/api/v1/status/buildinfo');
  assert.equal(build.body.status, 'success');
  assert.match(build.body.data.version, /^2\./);
});

test('remote read through the sidecar: a body declaring 4 GiB is refused (413) before Prometheus allocates it, a bad regex gets 400, a valid read answers', async () => {
  const rss = async (): Promise<number> => Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${prom.proc.pid}/status`, 'utf8'))?.[1]) * 1024;
  const read = (body: Buffer) => fetch(`${sidecar.api}/api/v1/read`, {
    method: 'POST', body, headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' }, signal: AbortSignal.timeout(30_000),
  });
  const before = await rss();
  // A snappy block header declaring 0xffffffff bytes, then a few bytes: Prometheus 2.42 allocates the 4 GiB first.
  const bombs = await Promise.all(Array.from({ length: 4 }, () => read(Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), Buffer.alloc(10, 1)]))));
  for (const r of bombs) {
    assert.equal(r.status, 413);
    assert.match(await r.text(), /decoded length 4294967295 is over the limit/);
  }
  const now = Date.now();
  const query = (matchers: Array<{ type: 'EQ' | 'RE'; name: string; value: string }>) =>
    compressSync(Buffer.from(encodeReadRequest({ queries: [{ startMs: now - 60_000, endMs: now, matchers }], acceptedResponseTypes: [0] })));
  const badRegex = await read(query([{ type: 'RE', name: '__name__', value: 'a{1001}' }]));
  assert.equal(badRegex.status, 400);
  assert.match(await badRegex.text(), /query 0, matcher 0 \(__name__=~"a\{1001\}"\): error parsing regexp: invalid repeat count/);
  const ok = await read(query([{ type: 'EQ', name: '__name__', value: 'up' }]));
  assert.equal(ok.status, 200);
  const series = scanReadResponse(uncompressSync(Buffer.from(await ok.arrayBuffer())) as Buffer)[0]!;
  assert.ok(series.n >= 1, `up of the assigned targets: ${series.n} series`);
  const after = await rss();
  assert.ok(after < before + (256 << 20), `Prometheus RSS ${before} → ${after}`);
  assert.equal(prom.proc.exitCode, null, 'Prometheus runs');
});
