/**
 * The router's remote-write codec (src/receive/write-wire.ts) on requests as Prometheus's agent sends them: 1,000
 * series × 10 samples each (its default max_samples_per_send is 2,000: a large batch), labels as a Kubernetes agent
 * sends them (8 labels with its external ones). Rows: decode alone; decode + tenant label + encode (the codec's
 * share of the router's work; the goal for the whole router is ≥ 500,000 samples/s per core); the same
 * split over 3 endpoints; with snappy both ways, as the router runs it (hashing and HTTP not included); and decode +
 * tenant + encode of series never seen before (new pod and instance values: the label intern table does not help).
 * Samples/s per core are over the process's CPU time (user + system, GC threads included), which other load on the
 * machine disturbs less than wall time; µs per request are wall time.
 */
import { Hashring } from '../src/receive/hashring.js';
import { compressSync, uncompressSync } from 'snappy';
import { decodeWriteRequest, encodeWriteRequest, withTenantLabel, type WireSeries } from '../src/receive/write-wire.js';
import { encodeSeries } from '../src/query/remote/samples.js';

const SERIES = 1_000;
const SAMPLES = 10;
const REQUESTS = 20; // per timed run
const T0 = 1_700_000_000_000;

function request(seed: number): Buffer {
  const series = Array.from({ length: SERIES }, (_, i) => {
    const id = seed * SERIES + i;
    const labels: Array<[string, string]> = [
      ['__name__', `container_cpu_usage_seconds_total_${i % 40}`],
      ['cluster', 'edge-eu-west-1'],
      ['container', `app-${i % 7}`],
      ['instance', `10.${(id >> 16) & 255}.${(id >> 8) & 255}.${id & 255}:10250`],
      ['job', 'kubelet'],
      ['namespace', `team-${i % 13}`],
      ['pod', `app-${i % 7}-7d9f8b6c5-${id.toString(36).padStart(5, 'x')}`],
      ['prometheus', 'monitoring/agent'],
    ];
    const samples = { t: [] as number[], v: [] as number[] };
    for (let k = 0; k < SAMPLES; k++) {
      samples.t.push(T0 + k * 15_000 + (i % 15) * 1000);
      samples.v.push(Math.round(Math.random() * 1e6) / 1000);
    }
    return { labels, rest: encodeSeries([], samples), samples: SAMPLES, exemplars: 0, histograms: 0 };
  });
  return encodeWriteRequest(series, []);
}

const RUNS = 7;

/** Median over RUNS of f's wall and CPU time (ms), after one warm-up run; f gets the run's index (-1: warm-up). */
function median(f: (run: number) => void): { wall: number; cpu: number } {
  f(-1);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    f(r);
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const mid = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
  return { wall: mid(wall), cpu: mid(cpu) };
}

export function run(): Array<Record<string, string | number>> {
  const bodies = Array.from({ length: REQUESTS }, (_, i) => request(i));
  const compressed = bodies.map((b) => compressSync(b));
  // For the cold row: other series for every run (and the warm-up).
  const fresh = Array.from({ length: RUNS + 1 }, (_, r) => Array.from({ length: REQUESTS }, (_, i) => request(1000 + r * REQUESTS + i)));
  const rows: Array<Record<string, string | number>> = [];
  let sink = 0;
  const tenant = (series: WireSeries[]): void => {
    for (const s of series) s.labels = withTenantLabel(s.labels, 'tenant_id', 'team-a');
  };
  const bench = (what: string, f: (i: number, run: number) => void) => {
    const { wall, cpu } = median((run) => {
      for (let i = 0; i < REQUESTS; i++) f(i, run);
    });
    rows.push({
      'receive (1k series × 10 samples per request)': what,
      'µs per request': Math.round((wall * 1000) / REQUESTS),
      'samples/s per core': Math.round((REQUESTS * SERIES * SAMPLES) / (cpu / 1000)),
    });
  };
  bench('decode', (i) => {
    sink += decodeWriteRequest(bodies[i]!).series.length;
  });
  bench('decode + tenant label + encode', (i) => {
    const { series, metadata } = decodeWriteRequest(bodies[i]!);
    tenant(series);
    sink += encodeWriteRequest(series, metadata).length;
  });
  bench('decode + tenant label + encode, split over 3 endpoints', (i) => {
    const { series, metadata } = decodeWriteRequest(bodies[i]!);
    tenant(series);
    const parts: WireSeries[][] = [[], [], []];
    series.forEach((s, k) => parts[k % 3]!.push(s));
    for (const p of parts) sink += encodeWriteRequest(p, metadata).length;
  });
  bench('snappy + decode + tenant label + encode + snappy', (i) => {
    const { series, metadata } = decodeWriteRequest(uncompressSync(compressed[i]!) as Buffer);
    tenant(series);
    sink += compressSync(encodeWriteRequest(series, metadata)).length;
  });
  // The router's whole CPU path: snappy, decode, hashring placement at rf 1 and 2 (Thanos's hashmod over 3
  // endpoints), tenant label, one encoded and compressed body per endpoint.
  const ring = new Hashring(['ingestor-0:9090', 'ingestor-1:9090', 'ingestor-2:9090']);
  for (const rf of [1, 2]) {
    bench(`router path at rf ${rf}: snappy + decode + hashring + tenant + split + encode + snappy`, (i) => {
      const { series, metadata } = decodeWriteRequest(uncompressSync(compressed[i]!) as Buffer);
      const parts = new Map<string, WireSeries[]>();
      for (const s of series) {
        for (const ep of ring.replicas('team-a', s.labels, rf)) (parts.get(ep) ?? parts.set(ep, []).get(ep)!).push(s);
        s.labels = withTenantLabel(s.labels, 'tenant_id', 'team-a');
      }
      for (const p of parts.values()) sink += compressSync(encodeWriteRequest(p, metadata)).length;
    });
  }
  bench('decode + tenant label + encode, series never seen before', (i, run) => {
    const { series, metadata } = decodeWriteRequest(fresh[run + 1]![i]!);
    tenant(series);
    sink += encodeWriteRequest(series, metadata).length;
  });
  if (sink < 0) console.log(sink);
  return rows;
}

// Run alone: node dist/bench/receive-wire.bench.js
if (import.meta.url === `file://${process.argv[1]}`) console.table(run());
