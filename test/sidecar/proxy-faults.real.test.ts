/**
 * Faulty targets behind the proxy, with the real `prometheus`: a 500, a truncated body, garbage, a body over
 * body_size_limit and a target slower than the timeout each end with the right error in Prometheus AND in the
 * sidecar's target status, while the healthy targets of the same jobs go on being scraped; the proxy leaves the
 * deadline to Prometheus and ends a slow scrape itself only for a client that waits past it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseConfig } from '../../src/config/config.js';
import { discoverOnce } from '../../src/cli/targets.js';
import { DEADLINE_GRACE_MS } from '../../src/sidecar/proxy.js';
import { TARGET_PARAM } from '../../src/sidecar/inject.js';
import type { Target } from '../../src/target/populate.js';
import { freePort, startPrometheus, waitFor, type RunningPrometheus } from '../helpers/prometheus.js';
import { metricsBody, startTarget, type TestTarget } from '../helpers/targets.js';
import { startSidecar, type RunningSidecar } from '../helpers/kvass.js';
import { tempDir } from '../helpers/tmp.js';

let dir: string;
let prom: RunningPrometheus;
let sidecar: RunningSidecar;
let targets: Target[];
const t: Record<string, TestTarget> = {};

before(async () => {
  dir = await tempDir('kvass-faults-');
  t.healthy = await startTarget(metricsBody(20));
  t.gzip = await startTarget((req, res) => {
    const gz = /gzip/.test(req.headers['accept-encoding'] ?? '');
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', ...(gz ? { 'content-encoding': 'gzip' } : {}) });
    res.end(gz ? gzipSync(metricsBody(30, 'zipped')) : metricsBody(30, 'zipped'));
  });
  t.error500 = await startTarget((_req, res) => res.writeHead(500).end('boom\n'));
  t.truncated = await startTarget((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-length': '100000' });
    res.write(metricsBody(5, 'cut'));
    setTimeout(() => res.socket?.destroy(), 20);
  });
  t.garbage = await startTarget('this is { not the exposition format\n');
  t.slow = await startTarget((_req, res) => {
    const timer = setTimeout(() => res.writeHead(200).end(metricsBody(3, 'late')), 3000);
    res.on('close', () => clearTimeout(timer));
  });
  t.limitedOk = await startTarget(metricsBody(3, 'small'));
  t.tooBig = await startTarget(metricsBody(2000, 'big'));
  const list = (names: string[]) => names.map((n) => `'${t[n]!.address}'`).join(', ');
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, `global: {scrape_interval: 1s, scrape_timeout: 800ms}
scrape_configs:
  - job_name: faults
    static_configs: [{targets: [${list(['healthy', 'gzip', 'error500', 'truncated', 'garbage', 'slow'])}]}]
  - job_name: limited
    body_size_limit: 2KB
    static_configs: [{targets: [${list(['limitedOk', 'tooBig'])}]}]
`);
  const found = await discoverOnce(parseConfig(await readFile(configFile, 'utf8'), configFile), 5000);
  targets = found.jobs.flatMap((j) => j.targets.active);
  await mkdir(join(dir, 'out'));
  const promPort = await freePort();
  const outputFile = join(dir, 'out', 'prometheus.yml');
  sidecar = await startSidecar({ configFile, outputFile, storePath: join(dir, 'store'), prometheusUrl: `http://127.0.0.1:${promPort}` });
  const r = await sidecar.call('POST', '/api/v1/shard/targets', { targets: targets.map((x) => ({ job: x.job, labels: x.labels, state: 'normal' })) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  prom = await startPrometheus(outputFile, { port: promPort });
});

after(async () => {
  await sidecar?.kill();
  await prom?.stop();
  for (const x of Object.values(t)) await x.close();
});

const EXPECTED: Array<{ name: string; prometheus: RegExp; sidecar: RegExp }> = [
  { name: 'error500', prometheus: /server returned HTTP status 500 Internal Server Error/, sidecar: /server returned HTTP status 500 Internal Server Error/ },
  { name: 'truncated', prometheus: /unexpected EOF/, sidecar: /error reading the body/ },
  { name: 'garbage', prometheus: /invalid syntax|not a valid start token|expected/, sidecar: /line 1/ },
  { name: 'tooBig', prometheus: /body size limit exceeded/, sidecar: /body size limit exceeded/ },
  { name: 'slow', prometheus: /context deadline exceeded/, sidecar: /context deadline exceeded/ },
];

test('each faulty target ends with the right error in Prometheus and in the sidecar, and the others are scraped', async () => {
  const byAddr = (a: string) => targets.find((x) => x.labels.__address__ === a)!;
  const promState = await waitFor('Prometheus to have scraped every target', async () => {
    const ts = (await prom.targets()).activeTargets;
    return ts.length === 8 && ts.every((x) => x.health !== 'unknown') ? ts : undefined;
  }, 30_000);
  await waitFor('the sidecar to have seen every target', async () => {
    const r = await sidecar.call<{ data: { targets: Array<{ health: string }> } }>('GET', '/api/v1/shard/targets');
    return r.body.data.targets.every((x) => x.health !== 'unknown');
  });
  const status = (await sidecar.call<{ data: { targets: Array<{ hash: string; health: string; lastError: string; lastSeries: number }> } }>('GET', '/api/v1/shard/targets')).body.data.targets;
  for (const e of EXPECTED) {
    const address = t[e.name]!.address;
    const p = promState.find((x) => x.labels.instance === address)!;
    assert.equal(p.health, 'down', `${e.name} in Prometheus`);
    assert.match(p.lastError, e.prometheus, `${e.name} in Prometheus`);
    const s = status.find((x) => x.hash === byAddr(address).hash)!;
    assert.equal(s.health, 'down', `${e.name} in the sidecar`);
    assert.match(s.lastError, e.sidecar, `${e.name} in the sidecar`);
  }
  for (const [name, series] of [['healthy', 20], ['gzip', 30], ['limitedOk', 3]] as const) {
    const address = t[name]!.address;
    assert.equal(promState.find((x) => x.labels.instance === address)!.health, 'up', name);
    const s = status.find((x) => x.hash === byAddr(address).hash)!;
    assert.equal(s.health, 'up', name);
    assert.equal(s.lastSeries, series, name);
  }
  // gzip stayed gzip on the way: Prometheus stored the 30 series of the compressed target.
  assert.equal((await prom.query('count(zipped)'))[0]!.value[1], '30');
});

test('the proxy leaves the deadline to Prometheus: a client that waits gets a slow target\'s 502 (context deadline exceeded) only after the scrape timeout and a grace', async () => {
  const slow = targets.find((x) => x.labels.__address__ === t.slow!.address)!;
  const started = Date.now();
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port: sidecar.proxyPort, path: `http://${t.slow!.address}/metrics?${TARGET_PARAM}=${slow.hash}`,
      headers: { 'x-prometheus-scrape-timeout-seconds': '0.3' },
    }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
  const took = Date.now() - started;
  assert.equal(answer.status, 502, answer.body);
  assert.match(answer.body, /context deadline exceeded \(scrape_timeout 300ms\)/);
  assert.ok(took >= 300 + DEADLINE_GRACE_MS - 20 && took < 3000, `answered after ${took} ms`);
});
