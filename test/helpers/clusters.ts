/**
 * Three clusters for the global view's tests, all real processes:
 * - cluster a: `kvass up` with 3 shards (one target each), external labels cluster=a, tenant_id=a;
 * - cluster b: a Prometheus served only over mutual TLS (RequireAndVerifyClientCert), cluster=b, tenant_id=b;
 * - cluster c: a Prometheus with basic auth over TLS, cluster=c, tenant_id=c;
 * and references: one Prometheus that scraped every target with the same labels (as target labels), and one that
 * scraped only cluster a's. Every target serves constant gauges, so a query evaluated at one time gives the same
 * value wherever the samples were scraped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { Agent, fetch as undiciFetch } from 'undici';
import { makeTestCerts, type TestCerts } from './certs.js';
import { freePort, startPrometheus, waitFor, type RunningPrometheus } from './prometheus.js';
import { runKvass, type RunningKvass } from './kvass.js';
import { startTarget, type TestTarget } from './targets.js';
import { tempDir } from './tmp.js';

export const SERIES = 12;
export const CLUSTERS = ['a', 'b', 'c'] as const;

/** A target's body: demo_metric (SERIES gauges) and other_metric (3 gauges), values set by the target's number. */
export function clusterBody(k: number): string {
  const lines = ['# TYPE demo_metric gauge'];
  for (let i = 0; i < SERIES; i++) lines.push(`demo_metric{series_id="${i}",kind="${i % 3 === 0 ? 'x' : 'y'}"} ${(i * 7 + k * 13) % 31}`);
  lines.push('# TYPE other_metric gauge');
  for (let i = 0; i < 3; i++) lines.push(`other_metric{series_id="${i}",code="${200 + i * 100}"} ${k + i * 0.5}`);
  return `${lines.join('\n')}\n`;
}

export interface Clusters {
  dir: string;
  certs: TestCerts;
  /** kvass up of cluster a: its front door. */
  frontA: string;
  up: RunningKvass;
  /** Base URLs of b (mTLS) and c (TLS + basic auth). */
  urlB: string;
  urlC: string;
  /** A client for b (client certificate) and c (the CA). */
  tls: Agent;
  basicAuthC: string;
  reference: RunningPrometheus;
  referenceA: RunningPrometheus;
  targets: TestTarget[];
  /** The stores file entries for a, b and c (YAML text, one list item each). */
  storeEntries: Record<'a' | 'b' | 'c', string>;
  /** GET over TLS with the test's client certificate (b and c). */
  tlsGet(url: string, headers?: Record<string, string>): Promise<{ status: number; text: string }>;
  stop(): Promise<void>;
}

async function startTlsPrometheus(dir: string, name: string, config: string, webConfig: string, tls: Agent, auth?: string): Promise<{ url: string; proc: ChildProcess }> {
  const cfg = join(dir, `${name}.yml`);
  const web = join(dir, `${name}-web.yml`);
  await writeFile(cfg, config);
  await writeFile(web, webConfig);
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const proc = spawn('prometheus', [`--config.file=${cfg}`, `--web.config.file=${web}`, `--storage.tsdb.path=${join(dir, `${name}-tsdb`)}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: 'ignore' });
  await waitFor(`${name} over TLS`, async () => {
    if (proc.exitCode !== null) throw new Error(`${name} exited ${proc.exitCode}`);
    const r = await undiciFetch(`${url}/-/ready`, { dispatcher: tls, headers: auth ? { authorization: auth } : {} }).catch(() => null);
    return r?.ok;
  }, 30_000);
  return { url, proc };
}

export async function startClusters(): Promise<Clusters> {
  const dir = await tempDir('kvass-clusters-');
  const certs = makeTestCerts();
  const tls = new Agent({ connect: { ca: readFileSync(certs.caCert), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) } });
  const targets: TestTarget[] = [];
  for (let k = 0; k < 5; k++) {
    const body = clusterBody(k);
    targets.push(await startTarget((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body)));
  }
  const [a1, a2, a3, b, c] = targets.map((t) => t.address) as [string, string, string, string, string];
  const group = (cluster: string, addrs: string[]): string => `{targets: [${addrs.map((x) => `'${x}'`).join(', ')}], labels: {cluster: ${cluster}, tenant_id: ${cluster}}}`;
  const refCfg = join(dir, 'reference.yml');
  await writeFile(refCfg, `global: {scrape_interval: 1s}\nscrape_configs: [{job_name: app, static_configs: [${group('a', [a1, a2, a3])}, ${group('b', [b])}, ${group('c', [c])}]}]\n`);
  const refACfg = join(dir, 'reference-a.yml');
  await writeFile(refACfg, `global: {scrape_interval: 1s}\nscrape_configs: [{job_name: app, static_configs: [${group('a', [a1, a2, a3])}]}]\n`);
  const reference = await startPrometheus(refCfg);
  const referenceA = await startPrometheus(refACfg);

  // Cluster a: kvass up, 3 shards of one target each (12 + 3 + 5 series per target, budget 25).
  const configA = join(dir, 'a.yml');
  await writeFile(configA, `global: {scrape_interval: 1s, external_labels: {cluster: a, tenant_id: a}}\nscrape_configs: [{job_name: app, static_configs: [{targets: ['${a1}', '${a2}', '${a3}']}]}]\n`);
  const portA = await freePort();
  const frontA = `http://127.0.0.1:${portA}`;
  const up = runKvass(['up', `--config.file=${configA}`, `--data-dir=${join(dir, 'a-data')}`, `--web.listen-address=127.0.0.1:${portA}`, '--shard.max-series=25', '--coordinator.interval=1s', '--log.level=warn']);

  // Cluster b: mutual TLS only.
  const serverTls = `cert_file: ${certs.serverCert}\n  key_file: ${certs.serverKey}`;
  const promB = await startTlsPrometheus(dir, 'b', `global: {scrape_interval: 1s, external_labels: {cluster: b, tenant_id: b}}\nscrape_configs: [{job_name: app, static_configs: [{targets: ['${b}']}]}]\n`,
    `tls_server_config:\n  ${serverTls}\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${certs.caCert}\n`, tls);
  // Cluster c: basic auth over TLS.
  const password = 'c-secret-password';
  await writeFile(join(dir, 'c.password'), password, { mode: 0o600 });
  const basicAuthC = `Basic ${Buffer.from(`kvass:${password}`).toString('base64')}`;
  const promC = await startTlsPrometheus(dir, 'c', `global: {scrape_interval: 1s, external_labels: {cluster: c, tenant_id: c}}\nscrape_configs: [{job_name: app, static_configs: [{targets: ['${c}']}]}]\n`,
    `tls_server_config:\n  ${serverTls}\nbasic_auth_users:\n  kvass: ${bcrypt.hashSync(password, 4)}\n`, tls, basicAuthC);

  await waitFor('cluster a: kvass up with 3 shards answering', async () => {
    if (up.proc.exitCode !== null) throw new Error(`kvass up exited: ${up.output()}`);
    const r = await fetch(`${frontA}/api/v1/query?query=${encodeURIComponent('count(demo_metric)')}`).catch(() => null);
    const b = r?.ok ? ((await r.json()) as { data: { result: Array<{ value: [number, string] }> } }) : null;
    return b?.data.result[0]?.value[1] === String(3 * SERIES);
  }, 120_000, 500);

  const storeEntries = {
    a: `- name: a\n  url: ${frontA}\n`,
    b: `- name: b\n  url: ${promB.url}\n  tls_config: {ca_file: ${certs.caCert}, cert_file: ${certs.clientCert}, key_file: ${certs.clientKey}}\n`,
    c: `- name: c\n  url: https://localhost:${new URL(promC.url).port}\n  tls_config: {ca_file: ${certs.caCert}}\n  basic_auth: {username: kvass, password_file: ${join(dir, 'c.password')}}\n`,
  };
  return {
    dir, certs, frontA, up, urlB: promB.url, urlC: promC.url, tls, basicAuthC, reference, referenceA, targets, storeEntries,
    async tlsGet(url, headers = {}) {
      const r = await undiciFetch(url, { dispatcher: tls, headers, signal: AbortSignal.timeout(10_000) });
      return { status: r.status, text: await r.text() };
    },
    async stop() {
      for (const p of [promB.proc, promC.proc]) p.kill('SIGKILL');
      await up.stop();
      await reference.stop();
      await referenceA.stop();
      for (const t of targets) await t.close();
      await tls.close();
      certs.remove();
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}

/** Starts `kvass query` over a stores file (no coordinator, no config); resolves once it answers `ready`. */
export async function startQuery(dir: string, name: string, storesFile: string, flags: string[] = [], headers: Record<string, string> = {}): Promise<{ url: string; run: RunningKvass }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const run = runKvass(['query', `--query.stores-file=${storesFile}`, `--data-dir=${join(dir, name)}`, `--web.listen-address=127.0.0.1:${port}`, '--query.store-check-interval=1s', '--log.level=warn', ...flags]);
  await waitFor(`kvass query ${name}`, async () => {
    if (run.proc.exitCode !== null) throw new Error(`kvass query exited: ${run.output()}`);
    return (await fetch(`${url}/api/v1/query?query=1`, { headers }).catch(() => null))?.ok;
  }, 60_000);
  return { url, run };
}

export type Result = Array<{ metric: Record<string, string>; value?: [number, string]; values?: Array<[number, string]> }>;
export interface ApiAnswer { status: string; data: { result: Result; resultType: string } & Record<string, unknown>; warnings?: string[]; error?: string; errorType?: string }

/** GET a JSON answer (and its HTTP status). */
export async function api(base: string, path: string, headers: Record<string, string> = {}): Promise<ApiAnswer & { http: number }> {
  const res = await fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(30_000) });
  return { ...((await res.json()) as ApiAnswer), http: res.status };
}

const labelKey = (m: Record<string, string>): string => JSON.stringify(Object.entries(m).sort(([x], [y]) => (x < y ? -1 : 1)));

/**
 * Why two query results differ, or undefined when they are the same: the same series (by labels, in any order)
 * with the same timestamps and values (within 1e-9 relative: float sums may be added in another order).
 */
export function resultDifference(ours: Result, ref: Result): string | undefined {
  // A scalar or string result is one [time, value] pair: compared as a series with no labels.
  const asSeries = (r: Result): Result => (typeof (r as unknown[])[0] === 'number' ? [{ metric: {}, value: r as unknown as [number, string] }] : r);
  [ours, ref] = [asSeries(ours), asSeries(ref)];
  const points = (s: Result[number]): Array<[number, string]> => (s.value ? [s.value] : s.values ?? []);
  const a = new Map(ours.map((s) => [labelKey(s.metric), points(s)]));
  const b = new Map(ref.map((s) => [labelKey(s.metric), points(s)]));
  for (const k of b.keys()) if (!a.has(k)) return `series ${k} missing`;
  for (const k of a.keys()) if (!b.has(k)) return `series ${k} not in the reference`;
  for (const [k, pa] of a) {
    const pb = b.get(k)!;
    if (pa.length !== pb.length) return `${k}: ${pa.length} points, the reference ${pb.length}`;
    for (let i = 0; i < pa.length; i++) {
      const [ta, va] = pa[i]!;
      const [tb, vb] = pb[i]!;
      const [x, y] = [Number(va), Number(vb)];
      const same = va === vb || (Number.isNaN(x) && Number.isNaN(y)) || Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y));
      if (ta !== tb || !same) return `${k}: [${ta}, ${va}], the reference [${tb}, ${vb}]`;
    }
  }
  return undefined;
}
