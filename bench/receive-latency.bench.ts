/**
 * The latency the router adds to a remote write: the same requests (500 series × 4 samples, as an agent sends
 * them: Prometheus's default max_samples_per_send is 2,000) written straight into one real Prometheus with the
 * remote-write receiver, and through the router (in this process, one ring of that one Prometheus, rf 1) into a
 * second one. Requests go one at a time, alternating, so that both paths see the same machine; each request has
 * new timestamps (nothing out of order). Figures: p50 and p99 per request, and the difference.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressSync } from 'snappy';
import { silentLogger } from '../src/logger.js';
import { Rings, parseHashrings } from '../src/receive/hashring.js';
import { Router, RouterMetrics } from '../src/receive/router.js';
import { encodeWriteRequest } from '../src/receive/write-wire.js';
import { encodeSeries } from '../src/query/remote/samples.js';

const SERIES = 500;
const SAMPLES = 4;
const REQUESTS = 300;

function body(round: number): Buffer {
  const series = Array.from({ length: SERIES }, (_, i) => {
    const samples = { t: [] as number[], v: [] as number[] };
    for (let k = 0; k < SAMPLES; k++) {
      samples.t.push(Date.now() - 60_000 + round * 10 + k);
      samples.v.push(round + k);
    }
    const labels: Array<[string, string]> = [['__name__', `bench_metric_${i % 20}`], ['instance', `10.0.${i >> 8}.${i & 255}:9100`], ['job', 'node']];
    return { labels, rest: encodeSeries([], samples) };
  });
  return compressSync(encodeWriteRequest(series, []));
}

async function startPrometheus(dir: string, port: number): Promise<ChildProcess> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'p.yml'), 'global: {}\n');
  const p = spawn('prometheus', [`--config.file=${join(dir, 'p.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver', '--log.level=error'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if ((await fetch(`http://127.0.0.1:${port}/-/ready`).catch(() => null))?.ok) return p;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('prometheus did not start');
}

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  s.close();
  return port;
}

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

export async function run(): Promise<Array<Record<string, string | number>>> {
  const dir = mkdtempSync(join(tmpdir(), 'kvass-bench-receive-'));
  const [pa, pb] = [await freePort(), await freePort()];
  const direct = await startPrometheus(join(dir, 'a'), pa);
  const behind = await startPrometheus(join(dir, 'b'), pb);
  const router = new Router({
    rings: ((r) => () => r)(new Rings(parseHashrings(JSON.stringify([{ hashring: 'soft', endpoints: [`127.0.0.1:${pb}`] }]), 'bench'))),
    replicationFactor: 1, tenantHeader: 'THANOS-TENANT', defaultTenant: 'default-tenant', tenantLabel: 'tenant_id',
    endpointUrl: (ep) => `http://${ep}/api/v1/write`, forwardTimeoutMs: 10_000, maxBodyBytes: 32 << 20, metrics: new RouterMetrics(), log: silentLogger(),
  });
  const server = createServer((req, res) => void router.handle(req, res)).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const routerUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/receive`;
  const post = async (url: string, b: Buffer): Promise<number> => {
    const t0 = performance.now();
    const r = await fetch(url, { method: 'POST', body: b, headers: { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf', 'x-prometheus-remote-write-version': '0.1.0' } });
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`${url}: ${r.status}`);
    return performance.now() - t0;
  };
  const straight: number[] = [];
  const routed: number[] = [];
  try {
    for (let i = 0; i < REQUESTS + 20; i++) {
      const b = body(i);
      const s = await post(`http://127.0.0.1:${pa}/api/v1/write`, b);
      const r = await post(routerUrl, b);
      if (i >= 20) {
        straight.push(s);
        routed.push(r);
      }
    }
  } finally {
    server.close();
    direct.kill('SIGKILL');
    behind.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
  const row = (what: string, xs: number[]) => ({ [`remote write, ${SERIES} series × ${SAMPLES} samples`]: what, 'p50 ms': pct(xs, 50).toFixed(2), 'p99 ms': pct(xs, 99).toFixed(2) });
  return [
    row('straight into Prometheus', straight),
    row('through the router (rf 1)', routed),
    { [`remote write, ${SERIES} series × ${SAMPLES} samples`]: 'added by the router', 'p50 ms': (pct(routed, 50) - pct(straight, 50)).toFixed(2), 'p99 ms': (pct(routed, 99) - pct(straight, 99)).toFixed(2) },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) console.table(await run());
