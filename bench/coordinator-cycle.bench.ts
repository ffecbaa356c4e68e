/**
 * Whole coordinator cycles at 100k and 1M pod targets (issue 16): the real Coordinator (population, sizes, the
 * incremental planner, the delta protocol, pushes, the move log, its views) over discovery held in memory and
 * fake sidecars in process, one per shard (about 1,000 targets each). A fake sidecar keeps its targets' statuses in
 * the sidecar's own TargetStatusBook and answers the contract's calls; every answer and body crosses
 * JSON.stringify/JSON.parse, as on the wire, without sockets. Targets are probed by a function that answers at
 * once (50–149 series each, from the hash), and a fake sidecar reports each new target scraped three times before
 * the next cycle, as a 10 s interval would. Cycle times leave out the time the fake sidecars spend answering (their
 * side of the wire, JSON.stringify included); JSON.parse of the answers is the coordinator's and counted.
 * Measured: (1) from nothing to every target placed (cycles, time spent in cycles); (2) a cycle with nothing
 * changed; (3) a cycle after 1% of targets changed (a third of the pods gone, a third new, a third grown by half on
 * their sidecars), then the cycle that places the new ones; (4) a restarted coordinator's first cycle (everything read
 * back whole from the sidecars, populated and planned: the first full pass of a running cluster) and the heap it
 * holds per target with discovery's groups. Sizes: KVASS_CYCLE_SCALE="100000,1000000" (default 100000).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/logger.js';
import { CallError } from '../src/http/client.js';
import { Coordinator, type CoordinatorDiscovery } from '../src/coordinator/coordinator.js';
import { TargetStatusBook } from '../src/sidecar/target-status.js';
import { applyAssignmentChange, configHash, readAssignment, readAssignmentChange, type AssignedTargetSpec, type RuntimeInfo } from '../src/shard/contract.js';
import type { EnvelopeClient } from '../src/shard/client.js';
import type { ShardInfo, ShardManager } from '../src/shard/types.js';
import { makeGroups, PIPELINE } from './targets.bench.js';
import { BenchSource } from './coordinator-scale.bench.js';

type Row = Record<string, string | number>;

class BenchDiscovery extends BenchSource implements CoordinatorDiscovery {
  apply(): void {}
  async waitReady(): Promise<string[]> {
    return [];
  }
  stop(): void {}
}

const sizeOf = (hash: string): number => 50 + (parseInt(hash.slice(0, 4), 16) % 100);
const scrape = (series: number) => ({ ok: true, error: '', series, samples: series, bytes: series * 40, durationMs: 3, at: new Date() });

/** One shard's sidecar as the coordinator sees it through the contract. */
class FakeSidecar {
  readonly book: TargetStatusBook;
  private specs = new Map<string, AssignedTargetSpec>();
  private seq = 0;
  private hash = '';
  constructor(id: number) {
    this.book = new TargetStatusBook(`bench${id}x${Date.now().toString(36)}`);
  }
  private get assignmentVersion(): string {
    return `${this.book.epoch}.${this.seq}`;
  }
  private apply(specs: Iterable<AssignedTargetSpec>): unknown {
    this.specs = new Map([...specs].map((s) => [s.hash, s]));
    this.seq++;
    this.book.assign([...this.specs.values()], new Date());
    return { targets: this.specs.size, version: this.assignmentVersion };
  }
  handle(method: string, path: string, query: URLSearchParams, body: unknown): unknown {
    if (path === '/api/v1/shard/runtimeinfo') {
      const info: RuntimeInfo = {
        headSeries: this.book.totalSeries(), headSeriesError: '', processSeries: this.book.totalSeries(), targets: this.specs.size, configHash: this.hash,
        idleSince: this.specs.size ? null : new Date(0).toISOString(), prometheusReady: true, lastReloadError: '', ready: true, notReadyReason: '',
      };
      return info;
    }
    if (path === '/api/v1/shard/config') {
      this.hash = configHash(body as string);
      return { configHash: this.hash };
    }
    if (method === 'GET') return this.book.since(query.get('since') ?? undefined, this.assignmentVersion, query.get('labels') !== 'false');
    const b = body as Record<string, unknown>;
    if (b.base === undefined) return this.apply(readAssignment(b));
    const change = readAssignmentChange(b);
    if (change.base !== this.assignmentVersion) throw new CallError(`assignment at ${this.assignmentVersion}, not ${change.base}`, 409);
    return this.apply(applyAssignmentChange(this.specs.values(), change));
  }
  /** Scrapes: every target below 3 successful scrapes gets them. */
  scrapeNew(): void {
    for (const h of this.specs.keys()) {
      const st = this.book.get(h)!;
      while (st.scrapesSinceAssigned < 3) this.book.record(h, scrape(st.series || sizeOf(h)));
    }
  }
  grow(hash: string): boolean {
    const st = this.book.get(hash);
    if (!st) return false;
    for (let i = 0; i < 3; i++) this.book.record(hash, scrape(Math.round(st.series * 1.5)));
    return true;
  }
  get size(): number {
    return this.specs.size;
  }
}

class FakeCluster implements ShardManager {
  readonly kind = 'local' as const;
  readonly scalable = true;
  readonly sidecars: FakeSidecar[] = [];
  private made = 0;
  /** The contract's calls, routed by URL to the fake sidecars, through JSON both ways. */
  /** Milliseconds the fake sidecars spent answering (their side of the wire): not the coordinator's. */
  sidecarMs = 0;
  readonly client: EnvelopeClient = {
    data: async (url, o = {}) => {
      const t0 = performance.now();
      const u = new URL(url);
      const m = /^\/s(\d+)(\/.*)$/.exec(u.pathname)!;
      const sidecar = this.sidecars[Number(m[1])];
      if (!sidecar) throw new CallError(`${url}: connection refused`);
      const body = o.body === undefined ? undefined : m[2] === '/api/v1/shard/config' ? String(o.body) : JSON.parse(String(o.body));
      const answer = JSON.stringify(sidecar.handle(o.method ?? 'GET', m[2]!, u.searchParams, body));
      this.sidecarMs += performance.now() - t0;
      return { data: JSON.parse(answer) as unknown, warnings: [] };
    },
  };
  replicas(): number {
    return 1;
  }
  async list(): Promise<ShardInfo[][]> {
    return [this.sidecars.map((_, id) => ({ replica: 0, id, name: `shard-${id}`, apiUrl: `http://fake/s${id}`, prometheusUrl: `http://fake/s${id}`, ready: true }))];
  }
  async scale(count: number): Promise<void> {
    while (this.sidecars.length < count) this.sidecars.push(new FakeSidecar(this.made++));
    this.sidecars.length = count;
  }
  async close(): Promise<void> {}
  assigned(): number {
    return this.sidecars.reduce((a, s) => a + s.size, 0);
  }
}

/**
 * KVASS_CYCLE_PROFILE=<dir>: a CPU profile of the 1%-changed cycles and of the restarted coordinator's first cycle,
 * written as <dir>/<phase>.cpuprofile (open in Chrome DevTools), to see where a cycle's time goes.
 */
async function profileIf(phase: string): Promise<(() => Promise<void>) | null> {
  const dir = process.env.KVASS_CYCLE_PROFILE;
  if (!dir) return null;
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(join(dir, `${phase}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}

function heap(): number {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const r1 = (x: number): number => Math.round(x * 10) / 10;

function coordinatorOn(cluster: FakeCluster, discovery: BenchDiscovery, configFile: string): Coordinator {
  return new Coordinator({
    configFile, intervalMs: 10_000, maxSeries: 120_000, minShards: 1, maxShards: 100_000, maxIdleTimeMs: 0, notReadyGraceMs: 60_000,
    exploreConcurrency: 64, sdInitTimeoutMs: 0, defaultSeries: 100, hysteresis: 0.1, manager: cluster, client: cluster.client,
    log: silentLogger(), discovery, probe: async (_client, t) => ({ series: sizeOf(t.hash), error: '' }),
  });
}

async function scenario(n: number, dir: string): Promise<Row[]> {
  const rows: Row[] = [];
  const label = n.toLocaleString('en');
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, PIPELINE);
  const hBase = heap();
  const discovery = new BenchDiscovery('kubernetes-pods');
  for (let from = 0; from < n; from += 50_000) for (const g of makeGroups(from, Math.min(50_000, n - from))) discovery.emit(g);
  const hGroups = heap();
  const cluster = new FakeCluster();
  const timedCycle = async (c: Coordinator): Promise<number> => {
    const t0 = performance.now();
    const before = cluster.sidecarMs;
    await c.runOnce();
    const took = performance.now() - t0 - (cluster.sidecarMs - before);
    if (c.lastError) throw new Error(c.lastError);
    for (const s of cluster.sidecars) s.scrapeNew();
    await new Promise((r) => setImmediate(r)); // probes answer
    return took;
  };

  // (1) From nothing: cycles until every active target is placed and a cycle changes nothing.
  let a: Coordinator | null = coordinatorOn(cluster, discovery, configFile);
  await a.start(false);
  let cycles = 0;
  let inCycles = 0;
  let firstCycle = 0;
  let active = -1;
  for (; cycles < 40; cycles++) {
    const ms = await timedCycle(a);
    if (cycles === 0) firstCycle = ms;
    inCycles += ms;
    active = a.active.length;
    if (cluster.assigned() >= active && active > 0 && a.lastPlan!.moves.length === 0 && cycles > 2) break;
  }
  rows.push({ bench: `${label}: (1) from nothing to all placed`, cycles: cycles + 1, 'ms in cycles': Math.round(inCycles), 'first cycle ms': Math.round(firstCycle), shards: cluster.sidecars.length, placed: cluster.assigned(), active });

  // (2) Nothing changed.
  const quiet: number[] = [];
  for (let i = 0; i < 9; i++) quiet.push(await timedCycle(a));
  rows.push({ bench: `${label}: (2) a cycle with nothing changed`, ms: r1(median(quiet)) });

  // (3) 1% changed: a third of the pods gone, a third new, a third grown by half (reported by their sidecars).
  const changes = Math.max(3, Math.round(n / 100));
  for (let k = 0; k < changes / 3; k++) {
    discovery.emit({ source: `pod/${(k * 300 + 7) % n}`, targets: [], labels: {} });
    discovery.emit(makeGroups(n + k, 1)[0]!);
  }
  let grown = 0;
  const hashes = a.active.map((t) => t.target.hash);
  for (let k = 0; grown < changes / 3 && k < hashes.length; k += 97) if (cluster.sidecars.some((s) => s.grow(hashes[k]!))) grown++;
  const steps = (c: Coordinator): string => Object.entries(c.lastCycleMs ?? {}).map(([k, v]) => `${k} ${Math.round(v)}`).join(', ');
  const profiling = await profileIf('changed');
  const c1 = await timedCycle(a);
  const s1 = steps(a);
  const c2 = await timedCycle(a);
  const s2 = steps(a);
  const c3 = await timedCycle(a);
  await profiling?.();
  rows.push({ bench: `${label}: (3) 1% changed: the cycle that sees it / the next two (new ones placed)`, ms: `${Math.round(c1)} / ${Math.round(c2)} / ${Math.round(c3)}`, placed: cluster.assigned(), active: a.active.length, grown });
  rows.push({ bench: `${label}: (3) steps of the first two (ms)`, ms: `${s1} | ${s2}` });

  // (4) A restarted coordinator: its first cycle reads everything back, populates from nothing, plans.
  await a.stop();
  a = null;
  const hBefore = heap();
  const b = coordinatorOn(cluster, discovery, configFile);
  await b.start(false);
  const profilingRestart = await profileIf('restart');
  const restart = await timedCycle(b);
  await profilingRestart?.();
  rows.push({ bench: `${label}: (4) steps of the restarted coordinator's first cycle (ms)`, ms: steps(b) });
  const after = await timedCycle(b);
  const hAfter = heap();
  rows.push({ bench: `${label}: (4) restarted coordinator: first cycle / second`, ms: `${Math.round(restart)} / ${r1(after)}`, moves: b.lastPlan!.moves.length, 'targets/s': Math.round(n / (restart / 1000)) });
  const gcNote = globalThis.gc ? '' : ' (no --expose-gc: rough)';
  rows.push({ bench: `${label}: (4) heap held per target: discovery groups + coordinator${gcNote}`, bytes: `${Math.round((hGroups - hBase) / n)} + ${Math.round((hAfter - hBefore) / n)}` });
  await b.stop();
  return rows;
}

export async function run(): Promise<Row[]> {
  const sizes = (process.env.KVASS_CYCLE_SCALE ?? '100000').split(',').map(Number).filter((x) => x > 0);
  const dir = mkdtempSync(join(tmpdir(), 'kvass-cycle-bench-'));
  try {
    const rows: Row[] = [];
    for (const n of sizes) rows.push(...(await scenario(n, dir)));
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
