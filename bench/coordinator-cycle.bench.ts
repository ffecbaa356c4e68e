/**
 * Whole coordinator cycles at 100k and 1M pod targets (issue 16): the real Coordinator (population, sizes, the
 * incremental planner, the delta protocol, pushes, the move log, its views) over discovery held in memory and
 * fake sidecars, one per shard (about 1,000 targets each; fake-sidecar.ts: the sidecar's own TargetStatusBook
 * answering the contract's calls; every body crosses as JSON text both ways, as on the wire, without sockets).
 * Targets are probed by a function that answers at once (50–149 series each, from the hash), and a fake sidecar
 * reports each new target scraped three times before the next cycle, as a 10 s interval would.
 * Where the fake sidecars run (KVASS_CYCLE_WORKERS): 0 (default), in the bench's thread and heap, and a cycle's time
 * leaves out theirs (JSON.parse of their answers is the coordinator's and counted); at 1M their statuses share the
 * coordinator's heap (10 GB with discovery), so its garbage collection pays for their objects too. N ≥ 1: in N
 * worker threads with heaps of their own, as real sidecars are processes of their own; a cycle's time is then the
 * coordinator's thread busy in it (event loop utilisation), which includes passing each call and answer between
 * threads.
 * Measured: (1) from nothing to every target placed (cycles, time spent in cycles, each cycle's steps: the first plans
 * nothing, as every target waits for its probe; the second places them; the third sees the new shards; the fourth their
 * first scrapes); (2) a cycle with nothing
 * changed; (3) a cycle after 1% of targets changed (a third of the pods gone, a third new, a third grown by half on
 * their sidecars), then the cycle that places the new ones; (4) a restarted coordinator's first cycle (everything read
 * back whole from the sidecars, populated and planned: the first full pass of a running cluster) and the heap it
 * holds per target with discovery's groups. Sizes: KVASS_CYCLE_SCALE="100000,1000000" (default 100000).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PerformanceObserver } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { silentLogger } from '../src/logger.js';
import { CallError } from '../src/http/client.js';
import { Coordinator, type CoordinatorDiscovery } from '../src/coordinator/coordinator.js';
import type { EnvelopeClient } from '../src/shard/client.js';
import type { ShardInfo, ShardManager } from '../src/shard/types.js';
import { makeGroups, PIPELINE } from './targets.bench.js';
import { BenchSource } from './coordinator-scale.bench.js';
import { FakeSidecarHost, sizeOf, type HostAnswer, type HostRequest } from './fake-sidecar.js';
import { countLargeCalls } from './large-calls.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

type Row = Record<string, string | number>;

class BenchDiscovery extends BenchSource implements CoordinatorDiscovery {
  apply(): void {}
  async waitReady(): Promise<string[]> {
    return [];
  }
  stop(): void {}
}

/**
 * The shards: fake sidecars (fake-sidecar.ts) reached through the contract's calls with the bodies as JSON text
 * both ways, as on the wire, without sockets. KVASS_CYCLE_WORKERS=0 (the default): in the bench's thread, their time
 * taken out of the cycle's; ≥ 1: in that many worker threads (fake-sidecars-worker.ts), each with its own heap.
 */
class FakeCluster implements ShardManager {
  readonly kind = 'local' as const;
  readonly scalable = true;
  count = 0;
  /** Milliseconds the in-thread fake sidecars spent answering (their side of the wire): not the coordinator's. */
  sidecarMs = 0;
  private readonly hosts: Array<(m: HostRequest) => Promise<HostAnswer>>;
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, (a: HostAnswer) => void>();
  private nextReq = 0;
  constructor(readonly threads: number) {
    if (threads === 0) {
      const host = new FakeSidecarHost(0, 1);
      this.hosts = [async (m) => {
        const t0 = performance.now();
        const a = host.answer(m);
        this.sidecarMs += performance.now() - t0;
        return a;
      }];
      return;
    }
    this.hosts = Array.from({ length: threads }, (_, worker) => {
      const w = new Worker(new URL('./fake-sidecars-worker.js', import.meta.url), { workerData: { worker, workers: threads }, resourceLimits: { maxOldGenerationSizeMb: 16_000 } });
      w.on('message', (a: HostAnswer) => {
        this.pending.get(a.req)?.(a);
        this.pending.delete(a.req);
      });
      // A thread that failed answers every waiting call with its error (else the bench would wait for ever).
      w.on('error', (e) => {
        for (const [req, answer] of this.pending) answer({ req, error: `fake sidecars' thread ${worker}: ${e.message}` });
        this.pending.clear();
      });
      this.workers.push(w);
      return (m: HostRequest) => new Promise<HostAnswer>((resolve) => {
        this.pending.set(m.req, resolve);
        w.postMessage(m);
      });
    });
  }
  private ask(host: number, m: DistributiveOmit<HostRequest, 'req'>): Promise<HostAnswer> {
    return this.hosts[host]!({ ...m, req: this.nextReq++ } as HostRequest);
  }
  private all(m: DistributiveOmit<HostRequest, 'req'>): Promise<HostAnswer[]> {
    return Promise.all(this.hosts.map((_, h) => this.ask(h, m)));
  }
  readonly client: EnvelopeClient = {
    data: async (url, o = {}) => {
      const u = new URL(url);
      const m = /^\/s(\d+)(\/.*)$/.exec(u.pathname)!;
      const id = Number(m[1]);
      if (id >= this.count) throw new CallError(`${url}: connection refused`);
      const a = await this.ask(id % this.hosts.length, { op: 'call', id, method: o.method ?? 'GET', path: m[2]!, query: u.search, body: o.body === undefined ? undefined : String(o.body) });
      if (a.error !== undefined) throw new CallError(`${url}: ${a.error}`, a.status);
      return { data: JSON.parse(a.answer!) as unknown, warnings: [] };
    },
  };
  replicas(): number {
    return 1;
  }
  async list(): Promise<ShardInfo[][]> {
    return [Array.from({ length: this.count }, (_, id) => ({ replica: 0, id, name: `shard-${id}`, apiUrl: `http://fake/s${id}`, prometheusUrl: `http://fake/s${id}`, ready: true }))];
  }
  async scale(count: number): Promise<void> {
    this.count = count;
    await this.all({ op: 'scale', count });
  }
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
  async assigned(): Promise<number> {
    return (await this.all({ op: 'assigned' })).reduce((a, r) => a + r.n!, 0);
  }
  /** Every new target scraped three times, as a 10 s interval would between two cycles. */
  async scrapeNew(): Promise<void> {
    await this.all({ op: 'scrapeNew' });
  }
  /** Grows by half those of `hashes` some shard holds; returns how many. */
  async grow(hashes: string[]): Promise<number> {
    return (await this.all({ op: 'grow', hashes })).reduce((a, r) => a + r.grown!, 0);
  }
}

/**
 * KVASS_CYCLE_PROFILE=<dir>: a CPU profile of the first cycle from nothing, of the next three (placing-2 to -4: the targets
 * placed, then first scraped), of each of the second round's 1%-changed cycles (changed-1 to -3) and of the restarted
 * coordinator's first cycle,
 * written as <dir>/<phase>.cpuprofile (open in Chrome DevTools), to see where a cycle's time goes, with what it
 * allocates (<dir>/<phase>.heapprofile, sampled, collected objects included: what the collector pays for); and a heap
 * snapshot of the settled restarted coordinator (<dir>/held-<targets>.heapsnapshot, up to 100k targets), to see what it holds.
 * KVASS_CYCLE_COUNT=1: the calls on maps of over 50,000 entries in the second round's first 1% cycle, by site
 * (large-calls.ts; that cycle's time is then no figure).
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
  // What the phase allocates (sampled; surviving or not): garbage is what the collector's share of a cycle pays for.
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', { samplingInterval: 32768, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(join(dir, `${phase}.cpuprofile`), JSON.stringify(profile));
    const { profile: allocations } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(join(dir, `${phase}.heapprofile`), JSON.stringify(allocations));
    session.disconnect();
  };
}

/**
 * The collector's pauses in this thread (Node's `gc` performance entries), to tell how much of a cycle they were: at
 * 1M a young-generation collection paused the coordinator 30–90 ms, and which cycle it falls in varies from run to run.
 */
function watchCollector(): { pausedWithin(from: number, to: number): number; stop(): void } {
  const pauses: Array<[at: number, ms: number]> = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push([e.startTime, e.duration]);
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    pausedWithin: (from, to) => pauses.reduce((ms, [at, d]) => (at >= from && at < to ? ms + d : ms), 0),
    stop: () => observer.disconnect(),
  };
}

function heap(): number {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

/** Typed arrays' contents (the planner's per-slot arrays): held outside the heap, so not in heapUsed. */
const arrayBuffers = (): number => process.memoryUsage().arrayBuffers;

/** The coordinator's last cycle, step by step. */
const steps = (c: Coordinator): string => Object.entries(c.lastCycleMs ?? {}).map(([k, v]) => `${k} ${Math.round(v)}`).join(', ');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const r1 = (x: number): number => Math.round(x * 10) / 10;

function coordinatorOn(cluster: FakeCluster, discovery: BenchDiscovery, configFile: string): Coordinator {
  return new Coordinator({
    configFile, intervalMs: 10_000, maxSeries: 120_000, minShards: 1, maxShards: 100_000, maxIdleTimeMs: 0, notReadyGraceMs: 60_000,
    exploreConcurrency: 64, sdInitTimeoutMs: 0, defaultSeries: 100, hysteresis: 0.1, manager: cluster, client: cluster.client,
    log: silentLogger(), discovery, probe: async (_client, t) => ({ series: sizeOf(t.target.hash), error: '' }),
  });
}

async function scenario(n: number, dir: string): Promise<Row[]> {
  const rows: Row[] = [];
  const threads = Math.max(0, Number(process.env.KVASS_CYCLE_WORKERS ?? 0));
  const label = n.toLocaleString('en') + (threads > 0 ? ` (sidecars in ${threads} thread${threads > 1 ? 's' : ''})` : '');
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, PIPELINE);
  const hBase = heap();
  const discovery = new BenchDiscovery('kubernetes-pods');
  for (let from = 0; from < n; from += 50_000) for (const g of makeGroups(from, Math.min(50_000, n - from))) discovery.emit(g);
  const hGroups = heap();
  const cluster = new FakeCluster(threads);
  // In-thread sidecars: the cycle's time less theirs. Sidecars in threads: the coordinator's thread busy in the cycle
  // (event loop utilisation: its waits for the answers, which other threads work out, are idle time).
  let lastWindow: [from: number, to: number] = [0, 0];
  const timedCycle = async (c: Coordinator): Promise<number> => {
    const e0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    const before = cluster.sidecarMs;
    await c.runOnce();
    lastWindow = [t0, performance.now()];
    const took = cluster.threads === 0 ? performance.now() - t0 - (cluster.sidecarMs - before) : performance.eventLoopUtilization(e0).active;
    if (c.lastError) throw new Error(c.lastError);
    await cluster.scrapeNew();
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
  let firstSteps = '';
  const laterCycles: string[] = [];
  for (; cycles < 40; cycles++) {
    const profilingCycle = cycles === 0 ? await profileIf('first') : cycles <= 3 ? await profileIf(`placing-${cycles + 1}`) : null;
    const ms = await timedCycle(a);
    await profilingCycle?.();
    if (cycles === 0) (firstCycle = ms), (firstSteps = steps(a));
    else laterCycles.push(`${Math.round(ms)}: ${steps(a)}`);
    inCycles += ms;
    active = a.active.length;
    if ((await cluster.assigned()) >= active && active > 0 && a.lastPlan!.moves.length === 0 && cycles > 2) break;
  }
  rows.push({ bench: `${label}: (1) from nothing to all placed`, cycles: cycles + 1, 'ms in cycles': Math.round(inCycles), 'first cycle ms': Math.round(firstCycle), shards: cluster.count, placed: await cluster.assigned(), active });
  rows.push({ bench: `${label}: (1) steps of the first cycle (ms)`, ms: firstSteps });
  rows.push({ bench: `${label}: (1) the cycles after it, each with its steps (ms)`, ms: laterCycles.join(' | ') });

  // (2) Nothing changed.
  const quiet: number[] = [];
  for (let i = 0; i < 9; i++) quiet.push(await timedCycle(a));
  rows.push({ bench: `${label}: (2) a cycle with nothing changed`, ms: r1(median(quiet)) });

  // (3) 1% changed: a third of the pods gone, a third new, a third grown by half (reported by their sidecars). Three
  // rounds, other pods each time, with the cycles settled in between: the figures are the medians (the machine is
  // noisy, and one round's cycles varied by a factor of two from run to run).
  const changes = Math.max(3, Math.round(n / 100));
  const rounds: number[][] = [];
  const roundSteps: string[] = [];
  const collector = watchCollector();
  const windows: Array<[number, number]> = [];
  let counted = '';
  let grown = 0;
  for (let round = 0; round < 3; round++) {
    for (let k = 0; k < changes / 3; k++) {
      discovery.emit({ source: `pod/${(k * 300 + 7 + round * 100) % n}`, targets: [], labels: {} });
      discovery.emit(makeGroups(n + round * changes + k, 1)[0]!);
    }
    const hashes = a.active.map((t) => t.target.hash);
    const growing: string[] = [];
    for (let k = round * 31; growing.length < changes / 3 && k < hashes.length; k += 97) growing.push(hashes[k]!);
    grown += await cluster.grow(growing);
    // Profiled apart, in the second round (the first runs much of its code for the first time, half again as long): the
    // cycle that sees the change, the one placing the new targets, the one after.
    const profiled = async (k: number): Promise<number> => {
      const profiling = round === 1 ? await profileIf(`changed-${k}`) : null;
      let ms = 0;
      if (round === 1 && k === 1 && process.env.KVASS_CYCLE_COUNT) {
        const calls = await countLargeCalls(async () => (ms = await timedCycle(a!)));
        counted = `${calls.total} calls: ${calls.bySite.slice(0, 12).map(([site, n]) => `${n} ${site}`).join('; ')}`;
      } else ms = await timedCycle(a!);
      windows.push(lastWindow);
      await profiling?.();
      return ms;
    };
    const c1 = await profiled(1);
    const s1 = steps(a);
    const c2 = await profiled(2);
    const s2 = steps(a);
    const c3 = await profiled(3);
    rounds.push([c1, c2, c3]);
    roundSteps.push(`${s1} / ${s2}`);
    // Settled before the next round: transfers completed, nothing moving.
    for (let q = 0; q < 8 && (a.lastPlan!.moves.length > 0 || a.lastPlan!.completed.length > 0 || (a.targetSummary?.byState.in_transfer ?? 0) > 0); q++) await timedCycle(a);
  }
  if (counted) rows.push({ bench: `${label}: (3) calls on maps of over 50,000 entries in the second round's first cycle (KVASS_CYCLE_COUNT; that cycle's time is no figure)`, ms: counted });
  const med = [0, 1, 2].map((j) => Math.round(median(rounds.map((r) => r[j]!))));
  rows.push({ bench: `${label}: (3) 1% changed, median of 3 rounds: the cycle that sees it / the next two (new ones placed)`, ms: med.join(' / '), placed: await cluster.assigned(), active: a.active.length, grown });
  rows.push({ bench: `${label}: (3) each round (ms)`, ms: rounds.map((r) => r.map((x) => Math.round(x)).join(' / ')).join(' | ') });
  await new Promise((r) => setImmediate(r)); // the last pauses reported
  const paused = windows.map(([from, to]) => Math.round(collector.pausedWithin(from, to)));
  collector.stop();
  rows.push({ bench: `${label}: (3) of which the collector paused the thread, each round (ms)`, ms: [0, 1, 2].map((r) => paused.slice(r * 3, r * 3 + 3).join(' / ')).join(' | ') });
  rows.push({ bench: `${label}: (3) steps of the first two cycles of each round (ms)`, ms: roundSteps.join(' | ') });

  // (4) A restarted coordinator: its first cycle reads everything back, populates from nothing, plans. What the
  // coordinator that placed the targets held is measured first: it has what a restarted one does not (each target's
  // probe result, the move log of its placements), and it is the one that runs for days. It is measured after a
  // cycle: the bench's reads of `active` above built the API's views of every target, kept until the next cycle.
  await timedCycle(a);
  const hRunning = heap();
  const aRunning = arrayBuffers();
  if (process.env.KVASS_CYCLE_PROFILE && n <= 100_000) writeHeapSnapshot(join(process.env.KVASS_CYCLE_PROFILE, `placed-${n}.heapsnapshot`));
  await a.stop();
  a = null;
  const hBefore = heap();
  const aBefore = arrayBuffers();
  const placedHeld = `${Math.round((hRunning - hBefore) / n)} (+ ${Math.round((aRunning - aBefore) / n)} in typed arrays)`;
  const b = coordinatorOn(cluster, discovery, configFile);
  await b.start(false);
  const profilingRestart = await profileIf('restart');
  const restart = await timedCycle(b);
  await profilingRestart?.();
  rows.push({ bench: `${label}: (4) steps of the restarted coordinator's first cycle (ms)`, ms: steps(b) });
  const after = await timedCycle(b);
  const hAfter = heap();
  const aAfter = arrayBuffers();
  // KVASS_CYCLE_PROFILE also takes a heap snapshot here: what the restarted coordinator holds, beside discovery. Up to
  // 100k targets only: V8 builds a snapshot in memory, and at 1M that took more than twice the heap (over 17 GB).
  if (process.env.KVASS_CYCLE_PROFILE && n <= 100_000) writeHeapSnapshot(join(process.env.KVASS_CYCLE_PROFILE, `held-${n}.heapsnapshot`));
  rows.push({ bench: `${label}: (4) restarted coordinator: first cycle / second`, ms: `${Math.round(restart)} / ${r1(after)}`, moves: b.lastPlan!.moves.length, 'targets/s': Math.round(n / (restart / 1000)) });
  const gcNote = globalThis.gc ? '' : ' (no --expose-gc: rough)';
  rows.push({ bench: `${label}: (4) heap held per target: discovery groups + coordinator${gcNote}`, bytes: `${Math.round((hGroups - hBase) / n)} + ${Math.round((hAfter - hBefore) / n)} (+ ${Math.round((aAfter - aBefore) / n)} in typed arrays)` });
  rows.push({ bench: `${label}: (4) heap held per target by the coordinator that placed them, before the restart${gcNote}`, bytes: placedHeld });
  await b.stop();
  await cluster.close();
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
