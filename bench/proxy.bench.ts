/**
 * The scrape proxy: the latency it adds over a direct scrape, for targets of 10k, 100k and 1M series, and the
 * sidecar's memory across 10,000 proxied scrapes. Goal (issue 3): under 5 ms added p99 for a 10k-series target;
 * memory flat. The target and the client run in a child process (bench/proxy-client.ts), the proxy here.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/logger.js';
import { Sidecar } from '../src/sidecar/sidecar.js';
import { SidecarMetrics } from '../src/sidecar/metrics.js';
import { parseConfig } from '../src/config/config.js';
import { jobDefaults, targetsFromGroup, type GroupTargets } from '../src/target/populate.js';

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

type Msg = { op: string; [k: string]: unknown };

export async function run(): Promise<Array<Record<string, string | number>>> {
  const results: Array<Record<string, string | number>> = [];
  const dir = await mkdtemp(join(tmpdir(), 'kvass-bench-proxy-'));
  // The target and the scraping client live in another process, as Prometheus and targets do in reality.
  const child = fork(fileURLToPath(new URL('./proxy-client.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const inbox: Msg[] = [];
  let waiting: ((m: Msg) => void) | null = null;
  child.on('message', (m: Msg) => {
    if (waiting) {
      const w = waiting;
      waiting = null;
      w(m);
    } else inbox.push(m);
  });
  const next = (): Promise<Msg> => (inbox.length ? Promise.resolve(inbox.shift()!) : new Promise((r) => (waiting = r)));
  const targetPort = (await next()).port as number;
  const configFile = join(dir, 'prometheus.yml');
  const sizes = [10_000, 100_000, 1_000_000];
  const yaml = `scrape_configs:\n${sizes.map((n) => `  - job_name: s${n}\n    params: {series: ['${n}']}\n    static_configs: [{targets: ['127.0.0.1:${targetPort}']}]\n`).join('')}`;
  await writeFile(configFile, yaml);
  const cfg = parseConfig(yaml, configFile);
  const acc: GroupTargets = { active: [], dropped: [], failed: [] };
  for (const sc of cfg.scrapeConfigs) targetsFromGroup({ source: '0', labels: {}, targets: [{ __address__: `127.0.0.1:${targetPort}` }] }, jobDefaults(sc), acc);
  const sidecar = new Sidecar({
    configFile, outputFile: join(dir, 'out.yml'), storePath: join(dir, 'store'), prometheusUrl: 'http://127.0.0.1:1', proxyUrl: 'http://127.0.0.1:1',
    fetchHeadSeries: false, reloadDebounceMs: 3_600_000, keepRulesAndAlerting: false, externalLabels: {}, log: silentLogger(), metrics: new SidecarMetrics(false),
  });
  await sidecar.init();
  await sidecar.replaceAssignment(acc.active.map((t) => ({ hash: t.hash, job: t.job, labels: t.labels, state: 'normal' as const })));
  const proxy = sidecar.createProxy();
  const proxyPort = await listen(proxy);

  for (const [i, n] of sizes.entries()) {
    const t = acc.active[i]!;
    const reps = n <= 10_000 ? 300 : n <= 100_000 ? 40 : 6;
    child.send({ op: 'latency', proxyPort, hash: t.hash, series: n, reps });
    const r = await next();
    const direct = r.direct as number[];
    const proxied = r.proxied as number[];
    const st = sidecar.status.get(t.hash)!;
    if (st.lastSeries !== n) throw new Error(`proxy counted ${st.lastSeries} series, expected ${n}: ${st.lastError}`);
    results.push({
      bench: `proxy, ${n.toLocaleString('en')}-series target (${reps} scrapes)`,
      'direct p50 ms': +pct(direct, 50).toFixed(2), 'direct p99 ms': +pct(direct, 99).toFixed(2),
      'proxied p50 ms': +pct(proxied, 50).toFixed(2), 'proxied p99 ms': +pct(proxied, 99).toFixed(2),
      'added p99 ms': +(pct(proxied, 99) - pct(direct, 99)).toFixed(2),
    });
  }

  // Memory across 10,000 proxied scrapes of the 10k-series target.
  const heap = (): number => {
    globalThis.gc?.();
    return process.memoryUsage().heapUsed;
  };
  const marks: number[] = [];
  child.send({ op: 'soak', proxyPort, hash: acc.active[0]!.hash, series: 10_000, reps: 10_000, marks: [1000, 5000, 10_000] });
  for (;;) {
    const m = await next();
    if (m.op === 'soak-done') break;
    await new Promise((r) => setTimeout(r, 50)); // let the last scrape's counting finish
    marks.push(heap());
    child.send({ op: 'continue' });
  }
  results.push({
    bench: 'sidecar heap across 10,000 scrapes of a 10k-series target',
    'heap MB @1k': +(marks[0]! / 2 ** 20).toFixed(1), 'heap MB @5k': +(marks[1]! / 2 ** 20).toFixed(1), 'heap MB @10k': +(marks[2]! / 2 ** 20).toFixed(1),
    'rss MB': +(process.memoryUsage().rss / 2 ** 20).toFixed(1),
  });
  child.send({ op: 'exit' });
  proxy.closeAllConnections();
  proxy.close();
  await sidecar.close();
  return results;
}
