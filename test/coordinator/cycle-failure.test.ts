/**
 * A coordinator cycle that fails part-way (the shard list could not be read) loses none of what discovery changed:
 * population changes its target map in place, so the changes of that cycle's update must still reach the sizes and
 * the plan of the next cycle. And what the population releases reaches the explorer: a target gone before its probe
 * ran is not probed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../../src/logger.js';
import { Coordinator, type CoordinatorDiscovery } from '../../src/coordinator/coordinator.js';
import type { TargetGroup } from '../../src/discovery/types.js';
import type { ShardInfo, ShardManager } from '../../src/shard/types.js';
import { tempDir } from '../helpers/tmp.js';

class MemoryDiscovery implements CoordinatorDiscovery {
  readonly bySource = new Map<string, TargetGroup>();
  private v = 1;
  groups(job: string): TargetGroup[] {
    return job === 'node' ? [...this.bySource.values()] : [];
  }
  version(): number {
    return this.v;
  }
  emit(source: string, addresses: string[]): void {
    if (addresses.length === 0) this.bySource.delete(source);
    else this.bySource.set(source, { source, targets: addresses.map((a) => ({ __address__: a })), labels: {} });
    this.v++;
  }
  apply(): void {}
  async waitReady(): Promise<string[]> {
    return [];
  }
  stop(): void {}
}

/** No shard yet (the plan's records are what the test reads); `failNext` makes the next list() fail. */
class NoShards implements ShardManager {
  readonly kind = 'local' as const;
  readonly scalable = false;
  failNext = false;
  replicas(): number {
    return 1;
  }
  async list(): Promise<ShardInfo[][]> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('shard list unavailable');
    }
    return [[]];
  }
  async scale(): Promise<void> {}
  async close(): Promise<void> {}
}

type Probe = NonNullable<ConstructorParameters<typeof Coordinator>[0]['probe']>;

/** A coordinator of one job, `node`, over `discovery`, with no sidecar to read and `probe` for new targets. */
async function coordinatorOf(discovery: MemoryDiscovery, probe: Probe, opts: { manager?: ShardManager; exploreConcurrency?: number } = {}): Promise<Coordinator> {
  const dir = await tempDir('kvass-cycle-');
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, 'scrape_configs:\n  - job_name: node\n');
  return new Coordinator({
    configFile, intervalMs: 10_000, maxSeries: 10_000, minShards: 1, maxShards: 10, maxIdleTimeMs: 0, notReadyGraceMs: 60_000,
    exploreConcurrency: opts.exploreConcurrency ?? 4, sdInitTimeoutMs: 0, defaultSeries: 100, hysteresis: 0.1,
    manager: opts.manager ?? new NoShards(), client: { data: async () => { throw new Error('no sidecar'); } }, log: silentLogger(),
    discovery, probe,
  });
}

test('a cycle that fails after population still hands its target changes to the next cycle', async () => {
  const discovery = new MemoryDiscovery();
  const manager = new NoShards();
  const c = await coordinatorOf(discovery, async () => ({ series: 10, error: '' }), { manager });
  const cycle = async (): Promise<void> => {
    await c.runOnce();
    await new Promise((r) => setImmediate(r)); // probes answer
  };
  const planned = (): string[] => (c.lastPlan?.assignments ?? []).flatMap((a) => [...a.keys]).sort();
  await c.start(false);
  discovery.emit('a', ['a:9100']);
  await cycle();
  await cycle();
  assert.equal(planned().length, 1, 'the first target is placed');
  const [first] = planned();

  // The next cycle populates (b new, a gone), then cannot read the shards and fails.
  discovery.emit('b', ['b:9100']);
  discovery.emit('a', []);
  manager.failNext = true;
  await assert.rejects(c.runOnce(), /shard list unavailable/);
  await new Promise((r) => setImmediate(r));

  await cycle();
  await cycle();
  const now = planned();
  assert.equal(now.length, 1, `one target planned: ${now.join(', ')}`);
  assert.notEqual(now[0], first, 'the gone target left the plan, the new one entered it');
  assert.equal(c.active.length, 1);
  assert.equal(c.active[0]!.target.labels.instance, 'b:9100');
  await c.stop();
});

test("a target gone while its probe waits in the explorer's queue is not probed", async () => {
  const discovery = new MemoryDiscovery();
  const probed: string[] = [];
  const gates: Array<() => void> = [];
  // One probe at a time, each held until the test lets it answer: the second target's waits in the queue.
  const c = await coordinatorOf(discovery, async (_client, t) => {
    probed.push(String(t.target.labels.instance));
    await new Promise<void>((r) => gates.push(r));
    return { series: 10, error: '' };
  }, { exploreConcurrency: 1 });
  await c.start(false);
  discovery.emit('a', ['a:9100']);
  discovery.emit('b', ['b:9100']);
  await c.runOnce();
  assert.deepEqual(probed, ['a:9100'], "a's probe runs, b's waits");
  discovery.emit('b', []);
  await c.runOnce();
  for (let k = 0; k < 10; k++) {
    gates.splice(0).forEach((open) => open());
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual(probed, ['a:9100'], 'b, gone before its turn, was not probed');
  await c.stop();
});

test('after a population update fails half-way, targets seated afresh keep their probe results, and the plan keeps them', async () => {
  const discovery = new MemoryDiscovery();
  let failGroups = false;
  const groups = discovery.groups.bind(discovery);
  discovery.groups = (job: string): TargetGroup[] => {
    if (failGroups) {
      failGroups = false;
      throw new Error('groups unavailable');
    }
    return groups(job);
  };
  let probes = 0;
  const c = await coordinatorOf(discovery, async () => (probes++, { series: 10, error: '' }));
  const cycle = async (): Promise<void> => {
    await c.runOnce();
    await new Promise((r) => setImmediate(r)); // probes answer
  };
  const planned = (): number => (c.lastPlan?.assignments ?? []).reduce((n, a) => n + a.keys.length, 0);
  await c.start(false);
  for (const s of ['a', 'b', 'c']) discovery.emit(s, [`${s}:9100`]);
  await cycle();
  await cycle();
  assert.equal(planned(), 3, 'each target probed and placed');
  assert.equal(probes, 3);
  // a goes and comes back (now last in discovery's order), then population fails half-way: its next update seats
  // every target afresh, in another order.
  discovery.emit('a', []);
  discovery.emit('a', ['a:9100']);
  failGroups = true;
  await assert.rejects(c.runOnce(), /groups unavailable/);
  await cycle();
  await cycle();
  assert.equal(planned(), 3, 'every target still placed, sized by the probe it had');
  assert.equal(probes, 3, 'none probed again');
  await c.stop();
});
