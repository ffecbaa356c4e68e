/** The sidecar API in process (no Prometheus needed): token, pushed config, bad configs, file reloads. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../src/logger.js';
import { Sidecar, type SidecarOptions } from '../../src/sidecar/sidecar.js';
import { SidecarMetrics } from '../../src/sidecar/metrics.js';
import { createSidecarApi } from '../../src/sidecar/api.js';
import { LocatedConfigError } from '../../src/prom/errors.js';
import { statusConfigYaml } from '../../src/config/status-config.js';
import { readRuntimeInfo, readTargetStatusDelta } from '../../src/shard/contract.js';
import { tempDir } from '../helpers/tmp.js';

const CONFIG = `global: {scrape_interval: 15s, external_labels: {cluster: eu}}
scrape_configs:
  - job_name: node
    static_configs: [{targets: ['127.0.0.1:9100']}]
`;

async function setup(opts: Partial<SidecarOptions> = {}, token?: string) {
  const dir = await tempDir('kvass-api-');
  const sidecar = new Sidecar({
    outputFile: join(dir, 'out.yml'), storePath: join(dir, 'store'), prometheusUrl: 'http://127.0.0.1:1', proxyUrl: 'http://127.0.0.1:8008',
    fetchHeadSeries: false, reloadDebounceMs: 3_600_000, keepRulesAndAlerting: false, externalLabels: {}, log: createLogger('silent'),
    metrics: new SidecarMetrics(false), ...opts,
  });
  await sidecar.init();
  const kvassApi = await createSidecarApi(sidecar, { token, log: createLogger('silent') });
  const api = kvassApi.server;
  api.listen(0, '127.0.0.1');
  await once(api, 'listening');
  const base = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  const call = async (method: string, path: string, body?: string, auth?: string) => {
    const res = await fetch(base + path, { method, body, headers: auth ? { authorization: auth } : {} });
    const text = await res.text();
    return { status: res.status, text, json: (() => { try { return JSON.parse(text); } catch { return undefined; } })() };
  };
  const close = async () => {
    kvassApi.close();
    api.closeAllConnections();
    api.close();
    await sidecar.close();
  };
  return { dir, sidecar, call, close };
}

test('api: with a token, control requests without it get 401; reads, /metrics and health do not need it', async () => {
  const dir = await tempDir('kvass-api-cfg-');
  await writeFile(join(dir, 'prometheus.yml'), CONFIG);
  const s = await setup({ configFile: join(dir, 'prometheus.yml') }, 's3cret');
  try {
    for (const auth of [undefined, 'Bearer wrong', 'Basic s3cret']) {
      const r = await s.call('POST', '/api/v1/shard/targets', '{"targets":[]}', auth);
      assert.equal(r.status, 401);
      assert.equal(r.json.errorType, 'unauthorized');
      assert.match(r.json.error, auth ? /wrong credentials/ : /credentials required/);
      assert.equal((await s.call('POST', '/api/v1/shard/config', CONFIG, auth)).status, 401);
    }
    assert.equal((await s.call('POST', '/api/v1/shard/targets', '{"targets":[]}', 'Bearer s3cret')).status, 200);
    assert.equal((await s.call('GET', '/api/v1/shard/targets')).status, 200);
    assert.equal((await s.call('GET', '/api/v1/shard/targets', undefined, 'Bearer s3cret')).status, 200);
    assert.equal((await s.call('GET', '/metrics')).status, 200);
    assert.match((await s.call('GET', '/metrics')).text, /kvass_sidecar_refused_scrapes_total/);
    assert.equal((await s.call('GET', '/-/ready')).status, 200);
  } finally {
    await s.close();
  }
});

test('api: a pushed config is checked, kept across restarts, and a bad one changes nothing', async () => {
  const s = await setup();
  try {
    let r = await s.call('POST', '/api/v1/shard/targets', JSON.stringify({ targets: [{ job: 'node', labels: { __address__: 'a:1' } }] }));
    assert.equal(r.status, 409);
    assert.match(r.json.error, /no configuration yet/);
    assert.equal((await s.call('GET', '/api/v1/status/config')).status, 503);

    r = await s.call('POST', '/api/v1/shard/config', CONFIG);
    assert.equal(r.status, 200);
    const hash = r.json.data.configHash;
    assert.match(hash, /^[0-9a-f]{16}$/);
    r = await s.call('POST', '/api/v1/shard/config', CONFIG.replace('job_name: node', 'job_nam: node'));
    assert.equal(r.status, 400);
    assert.match(r.json.error, /config\.yml:3:\d+: field job_nam not found in scrape config/);
    r = await s.call('GET', '/api/v1/status/config');
    assert.equal(r.json.data.yaml, statusConfigYaml(s.sidecar.originalConfig!), 'as Prometheus serves the pushed config');
    assert.equal(s.sidecar.originalConfig!.text, CONFIG, 'the good one stays');
    assert.match(await readFile(join(s.dir, 'out.yml'), 'utf8'), /job_name: node/);
  } finally {
    await s.close();
  }
  // A new sidecar on the same store starts with the pushed config.
  const again = new Sidecar({
    outputFile: join(s.dir, 'out2.yml'), storePath: join(s.dir, 'store'), prometheusUrl: 'http://127.0.0.1:1', proxyUrl: 'http://127.0.0.1:8008',
    fetchHeadSeries: false, reloadDebounceMs: 3_600_000, keepRulesAndAlerting: false, externalLabels: {}, log: createLogger('silent'), metrics: new SidecarMetrics(false),
  });
  await again.init();
  assert.equal(again.originalConfig?.text, CONFIG);
  await again.close();
});

test('api: status/config merges the shard\'s extra external labels into the original config', async () => {
  const dir = await tempDir('kvass-api-cfg-');
  await writeFile(join(dir, 'prometheus.yml'), CONFIG);
  const s = await setup({ configFile: join(dir, 'prometheus.yml'), externalLabels: { replica: '1' } });
  try {
    const r = await s.call('GET', '/api/v1/status/config');
    const { parse } = await import('yaml');
    assert.deepEqual(parse(r.json.data.yaml).global.external_labels, { cluster: 'eu', replica: '1' });
    assert.match(await readFile(join(s.dir, 'out.yml'), 'utf8'), /replica: "?1"?/);
  } finally {
    await s.close();
  }
});

test('config file: a bad new version is refused with its position and the last good one stays in force', async () => {
  const dir = await tempDir('kvass-api-cfg-');
  const file = join(dir, 'prometheus.yml');
  await writeFile(file, CONFIG);
  const s = await setup({ configFile: file });
  try {
    await writeFile(file, CONFIG.replace('15s', '15 seconds'));
    await assert.rejects(s.sidecar.reloadConfigFile(), (e: unknown) => e instanceof LocatedConfigError && /prometheus\.yml:1/.test((e as Error).message));
    assert.equal(s.sidecar.originalConfig?.text, CONFIG);
    const good = CONFIG.replace('15s', '30s');
    await writeFile(file, good);
    assert.equal(await s.sidecar.reloadConfigFile(), true);
    assert.equal(s.sidecar.originalConfig?.text, good);
    assert.equal(await s.sidecar.reloadConfigFile(), false, 'unchanged file: nothing to do');
  } finally {
    await s.close();
  }
});

test('api: a YAML alias bomb or an oversized config pushed is refused within 100 ms; the last good config stays', async () => {
  const s = await setup();
  try {
    assert.equal((await s.call('POST', '/api/v1/shard/config', CONFIG)).status, 200);
    const hash = s.sidecar.configHash;
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const c of 'bcdefghi') levels.push(`${c}: &${c} [${Array(9).fill(`*${String.fromCharCode(c.charCodeAt(0) - 1)}`).join(',')}]`);
    const bomb = `${levels.join('\n')}\nscrape_configs: *i\n`;
    assert.ok(bomb.length < 400, 'a few hundred bytes');
    for (const [what, text, status] of [['bomb', bomb, 400], ['oversized', `${CONFIG}#${'x'.repeat(17 << 20)}\n`, 413]] as const) {
      // The best of three tries: the refusal is the same each time, only the shared machine's noise differs.
      let ms = Infinity;
      let r!: Awaited<ReturnType<typeof s.call>>;
      for (let attempt = 0; attempt < 3 && ms >= 100; attempt++) {
        const t0 = performance.now();
        r = await s.call('POST', '/api/v1/shard/config', text);
        ms = Math.min(ms, performance.now() - t0);
      }
      assert.equal(r.status, status, `${what}: ${r.text.slice(0, 200)}`);
      assert.ok(ms < 100 || what === 'oversized', `${what} refused in ${ms.toFixed(1)} ms`);
      if (what === 'bomb') assert.match(r.json.error, /excessive aliasing/);
      assert.equal(s.sidecar.configHash, hash, 'the last good config stays');
    }
  } finally {
    await s.close();
  }
});

test('api: when the injected config cannot be written the sidecar is not ready and says why, retries, and is ready once it can', async () => {
  const { makeUnwritable } = await import('../helpers/disk.js');
  const dir = await tempDir('kvass-api-cfg-');
  await writeFile(join(dir, 'prometheus.yml'), CONFIG);
  const out = await tempDir('kvass-api-out-');
  const s = await setup({ configFile: join(dir, 'prometheus.yml'), outputFile: join(out, 'prometheus.yml') });
  const broken = await makeUnwritable(out);
  try {
    const r = await s.call('POST', '/api/v1/shard/targets', JSON.stringify({ targets: [{ job: 'node', labels: { __address__: '127.0.0.1:9100', job: 'node', instance: '127.0.0.1:9100' } }] }));
    assert.equal(r.status, 200, 'applied (and stored)');
    const ready = await s.call('GET', '/-/ready');
    assert.equal(ready.status, 503);
    assert.match(ready.text, /cannot write the injected config/);
    const rt = await s.call('GET', '/api/v1/shard/runtime');
    assert.equal(rt.json.data.ready, false);
    assert.match(rt.json.data.notReadyReason, /cannot write the injected config/);
    await broken.restore();
    const end = Date.now() + 10_000;
    while ((await s.call('GET', '/-/ready')).status !== 200 && Date.now() < end) await new Promise((res) => setTimeout(res, 100));
    assert.equal((await s.call('GET', '/-/ready')).status, 200, 'ready once the write succeeds');
    assert.match(await readFile(join(out, 'prometheus.yml'), 'utf8'), /127\.0\.0\.1:9100/);
  } finally {
    await broken.restore().catch(() => undefined);
    await s.close();
  }
});

test('api: an assignment travels as a change to the applied version; a stale base is refused with 409 and nothing changes', async () => {
  const dir = await tempDir('kvass-api-delta-');
  await writeFile(join(dir, 'prometheus.yml'), CONFIG);
  const s = await setup({ configFile: join(dir, 'prometheus.yml') });
  try {
    const t = (i: number, state = 'normal') => ({ job: 'node', labels: { __address__: `10.0.0.${i}:9100`, instance: `10.0.0.${i}:9100`, job: 'node' }, state });
    const whole = await s.call('POST', '/api/v1/shard/targets', JSON.stringify({ targets: [t(1), t(2), t(3)] }));
    assert.equal(whole.status, 200, whole.text);
    const v1 = whole.json.data.version as string;
    const [h1, h2, h3] = whole.json.data.hashes as string[];
    const statuses = await s.call('GET', '/api/v1/shard/targets');
    assert.equal(statuses.json.data.full, true);
    assert.equal(statuses.json.data.assignmentVersion, v1);
    const since = statuses.json.data.version as string;

    // One target added, one moved into transfer, one removed: the change names only those.
    const hashOf = (await s.call('POST', '/api/v1/shard/targets', JSON.stringify({ base: v1, set: [{ ...t(4), hash: 'wrong' }] })));
    assert.equal(hashOf.status, 400, 'a wrong hash in a change is refused like in a whole assignment');
    assert.match(hashOf.json.error, /hash wrong does not match/);
    const probe = await s.call('POST', '/api/v1/shard/targets', JSON.stringify({ targets: [t(4)] }));
    const h4 = probe.json.data.hashes[0] as string;
    const v2 = probe.json.data.version as string;
    const back = await s.call('POST', '/api/v1/shard/targets', JSON.stringify({ base: v2, set: [{ ...t(1), hash: h1 }, { ...t(2, 'in_transfer'), hash: h2 }, { ...t(3), hash: h3 }], remove: [h4] }));
    assert.equal(back.status, 200, back.text);
    assert.equal(back.json.data.hashes, undefined, 'the answer to a change stays small');
    const v3 = back.json.data.version as string;

    const change = await s.call('POST', '/api/v1/shard/targets', JSON.stringify({ base: v3, set: [{ ...t(4), hash: h4 }], remove: [h3] }));
    assert.equal(change.status, 200, change.text);
    assert.deepEqual(s.sidecar.assignment.map((a) => a.hash).sort(), [h1, h2, h4].sort());
    assert.equal(s.sidecar.assignment.find((a) => a.hash === h2)!.state, 'in_transfer');

    // Built on a version that is no longer applied: 409, and the assignment stays as it is.
    const stale = await s.call('POST', '/api/v1/shard/targets', JSON.stringify({ base: v3, remove: [h1] }));
    assert.equal(stale.status, 409);
    assert.match(stale.json.error, /send it whole/);
    assert.deepEqual(s.sidecar.assignment.map((a) => a.hash).sort(), [h1, h2, h4].sort());
    for (const bad of [{ base: '' }, { base: v3, remove: [1] }, { base: v3, set: {} }, { base: v3, set: [t(5)] }]) {
      const r = await s.call('POST', '/api/v1/shard/targets', JSON.stringify(bad));
      assert.equal(r.status, 400, JSON.stringify(bad));
    }

    // The statuses since the first read: h1 left and came back (a new assignment to this shard), h2 went into
    // transfer, h4 is new, h3 is gone.
    const delta = await s.call('GET', `/api/v1/shard/targets?since=${encodeURIComponent(since)}`);
    assert.equal(delta.json.data.full, false);
    assert.deepEqual((delta.json.data.targets as Array<{ hash: string }>).map((x) => x.hash).sort(), [h1, h2, h4].sort());
    assert.deepEqual(delta.json.data.removed, [h3]);
    assert.equal(delta.json.data.assignmentVersion, s.sidecar.assignmentVersion);
    assert.ok((delta.json.data.targets as Array<{ labels?: object }>).every((x) => x.labels !== undefined), 'labels by default');

    // labels=false: the same statuses without their labels, read back by the contract with none.
    const bare = await s.call('GET', `/api/v1/shard/targets?since=${encodeURIComponent(since)}&labels=false`);
    const bareTargets = bare.json.data.targets as Array<Record<string, unknown>>;
    assert.deepEqual(bareTargets.map((x) => x.hash).sort(), [h1, h2, h4].sort());
    assert.ok(bareTargets.every((x) => !('labels' in x) && typeof x.series === 'number'), bare.text);
    assert.deepEqual(readTargetStatusDelta(bare.json.data).targets.map((x) => x.labels), [{}, {}, {}]);
    const wholeBare = await s.call('GET', '/api/v1/shard/targets?labels=false');
    assert.equal(wholeBare.json.data.full, true);
    assert.ok((wholeBare.json.data.targets as object[]).every((x) => !('labels' in x)));
    const badLabels = await s.call('GET', '/api/v1/shard/targets?labels=no');
    assert.equal(badLabels.status, 400);
    assert.match(badLabels.json.error, /labels/);

    // runtime=true: the same answer with the runtime info beside it, as GET /api/v1/shard/runtimeinfo gives it.
    const withRuntime = await s.call('GET', `/api/v1/shard/targets?since=${encodeURIComponent(since)}&labels=false&runtime=true`);
    assert.equal(withRuntime.status, 200, withRuntime.text);
    assert.deepEqual((withRuntime.json.data.targets as Array<{ hash: string }>).map((x) => x.hash).sort(), [h1, h2, h4].sort());
    const runtime = readTargetStatusDelta(withRuntime.json.data).runtime!;
    assert.deepEqual(runtime, readRuntimeInfo((await s.call('GET', '/api/v1/shard/runtimeinfo')).json.data));
    assert.deepEqual([runtime.targets, runtime.configHash], [3, s.sidecar.configHash]);
    assert.equal((await s.call('GET', '/api/v1/shard/targets?runtime=false')).json.data.runtime, undefined);
    assert.equal(bare.json.data.runtime, undefined, 'not unless asked');
    const badRuntime = await s.call('GET', '/api/v1/shard/targets?runtime=1');
    assert.equal(badRuntime.status, 400);
    assert.match(badRuntime.json.error, /invalid parameter "runtime": "1"/);
  } finally {
    await s.close();
  }
});
