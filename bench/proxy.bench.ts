/**
 * The scrape proxy: the latency it adds over a direct scrape, for targets of 10k, 100k and 1M series, and the
 * sidecar's memory across 10,000 proxied scrapes. Goal (issue 3): under 5 ms added p99 for a 10k-series target;
 * memory flat. The target, the proxy and the client share this process (as on a real host they share cores).
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/logger.js';
import { Sidecar } from '../src/sidecar/sidecar.js';
import { SidecarMetrics } from '../src/sidecar/metrics.js';
import { parseConfig } from '../src/prom/config.js';
import { jobDefaults, targetsFromGroup, type GroupTargets } from '../src/target/populate.js';
import { TARGET_PARAM } from '../src/sidecar/inject.js';

function body(series: number): Buffer {
  const lines = ['# HELP demo_metric A demo metric.', '# TYPE demo_metric gauge'];
  for (let i = 0; i < series; i++) lines.push(`demo_metric{instance_id="${i}",path="/api/v1/item/${i % 100}"} ${i % 1000}.5`);
  return Buffer.from(lines.join('\n') + '\n');
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 1 });

/** One GET, body read and dropped; ms. */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
      res.on('data', () => undefined);
      res.on('end', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6));
    });
    req.on('error', reject);
    req.end();
  });
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export async function run(): Promise<Array<Record<string, string | number>>> {
  const results: Array<Record<string, string | number>> = [];
  const dir = await mkdtemp(join(tmpdir(), 'kvass-bench-proxy-'));
  const bodies = new Map<number, Buffer>();
  const target = createServer((req, res) => {
    const n = Number(new URL(req.url!, 'http://x').searchParams.get('series'));
    let b = bodies.get(n);
    if (!b) bodies.set(n, (b = body(n)));
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(b);
  });
  const targetPort = await listen(target);
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
    const direct: number[] = [];
    const proxied: number[] = [];
    await get(targetPort, `/metrics?series=${n}`);
    await get(proxyPort, `/metrics?series=${n}&${TARGET_PARAM}=${t.hash}`);
    for (let r = 0; r < reps; r++) {
      // Interleaved, so that machine noise hits both alike.
      direct.push(await get(targetPort, `/metrics?series=${n}`));
      proxied.push(await get(proxyPort, `/metrics?series=${n}&${TARGET_PARAM}=${t.hash}`));
    }
    const st = sidecar.status.get(t.hash)!;
    if (st.lastSeries !== n) throw new Error(`proxy counted ${st.lastSeries} series, expected ${n}: ${st.lastError}`);
    results.push({
      bench: `proxy, ${n.toLocaleString('en')}-series target (${reps} scrapes)`,
      'direct p50 ms': +pct(direct, 50).toFixed(2), 'direct p99 ms': +pct(direct, 99).toFixed(2),
      'proxied p50 ms': +pct(proxied, 50).toFixed(2), 'proxied p99 ms': +pct(proxied, 99).toFixed(2),
      'added p99 ms': +(pct(proxied, 99) - pct(direct, 99)).toFixed(2),
      'lines/s through proxy': Math.round((n + 2) / (pct(proxied, 50) / 1000)),
    });
  }

  // Memory across 10,000 proxied scrapes of the 10k-series target.
  const t = acc.active[0]!;
  const heap = (): number => {
    globalThis.gc?.();
    return process.memoryUsage().heapUsed;
  };
  const marks: number[] = [];
  for (let i = 1; i <= 10_000; i++) {
    await get(proxyPort, `/metrics?series=10000&${TARGET_PARAM}=${t.hash}`);
    if (i === 1000 || i === 5000 || i === 10_000) marks.push(heap());
  }
  results.push({
    bench: 'sidecar heap across 10,000 scrapes of a 10k-series target',
    'heap MB @1k': +(marks[0]! / 2 ** 20).toFixed(1), 'heap MB @5k': +(marks[1]! / 2 ** 20).toFixed(1), 'heap MB @10k': +(marks[2]! / 2 ** 20).toFixed(1),
    'rss MB': +(process.memoryUsage().rss / 2 ** 20).toFixed(1),
  });
  agent.destroy();
  proxy.closeAllConnections();
  proxy.close();
  target.closeAllConnections();
  target.close();
  await sidecar.close();
  return results;
}
