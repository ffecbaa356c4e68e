#!/usr/bin/env node
// The idle footprint of one sidecar: a real `prometheus` with a config whose one job has no targets, and a
// `kvass sidecar` beside it (as `kvass up` starts them), both on free loopback ports in a temp folder. Waits until
// the sidecar has written the injected config and Prometheus is ready, lets both sit KVASS_FOOTPRINT_SETTLE_S
// seconds (default 15), then prints the sidecar's VmRSS and VmHWM and Prometheus's VmRSS (JSON and one line). Cleans up.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const kvass = path.join(root, 'bin', 'kvass');
const settleS = Number(process.env.KVASS_FOOTPRINT_SETTLE_S ?? 15);
const dir = mkdtempSync(path.join(os.tmpdir(), 'kvass-footprint-'));
const children = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}
function start(cmd, args, log) {
  const p = spawn(cmd, args, { cwd: dir, stdio: ['ignore', 'ignore', 'ignore'], detached: false });
  p.label = log;
  children.push(p);
  return p;
}
function status(pid, key) {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : null;
}
async function get(url) {
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: r.status, text: await r.text() };
}
async function cleanup() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? Promise.race([new Promise((r) => c.once('exit', r)), sleep(10_000)]) : null)));
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}

try {
  const [proxy, api, prom] = [await freePort(), await freePort(), await freePort()];
  const config = path.join(dir, 'original.yml');
  writeFileSync(config, 'global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: idle\n    static_configs: []\n');
  const out = path.join(dir, 'prometheus.yml');
  const sidecar = start(kvass, ['sidecar', `--config.file=${config}`, `--config.output-file=${out}`, `--store.path=${path.join(dir, 'store')}`,
    `--web.proxy-addr=127.0.0.1:${proxy}`, `--web.api-addr=127.0.0.1:${api}`, `--prometheus.url=http://127.0.0.1:${prom}`, '--log.level=warn'], 'sidecar');
  for (let i = 0; !existsSync(out); i++) {
    if (i > 300) throw new Error('the sidecar wrote no injected config in 30 s');
    if (sidecar.exitCode !== null) throw new Error(`the sidecar exited ${sidecar.exitCode}`);
    await sleep(100);
  }
  const prometheus = start('prometheus', [`--config.file=${out}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${prom}`, '--web.enable-lifecycle'], 'prometheus');
  for (let i = 0; ; i++) {
    if (i > 300) throw new Error('Prometheus not ready in 30 s');
    const ready = await get(`http://127.0.0.1:${prom}/-/ready`).catch(() => null);
    const side = await get(`http://127.0.0.1:${api}/-/ready`).catch(() => null);
    if (ready?.status === 200 && side?.status === 200) break;
    await sleep(100);
  }
  await sleep(settleS * 1000);
  // One read of the sidecar's API and /metrics first, as the coordinator and a Prometheus scraping kvass would.
  await get(`http://127.0.0.1:${api}/metrics`);
  await sleep(1000);
  const result = {
    date: new Date().toISOString(),
    settleSeconds: settleS,
    sidecarRssBytes: status(sidecar.pid, 'VmRSS'),
    sidecarHwmBytes: status(sidecar.pid, 'VmHWM'),
    prometheusRssBytes: status(prometheus.pid, 'VmRSS'),
  };
  console.log(JSON.stringify(result));
  console.log(`idle sidecar RSS ${(result.sidecarRssBytes / 2 ** 20).toFixed(1)} MiB (peak ${(result.sidecarHwmBytes / 2 ** 20).toFixed(1)} MiB); its Prometheus ${(result.prometheusRssBytes / 2 ** 20).toFixed(1)} MiB`);
  await cleanup();
} catch (e) {
  console.error(`sidecar-footprint: ${e.message}`);
  await cleanup();
  process.exitCode = 1;
}
