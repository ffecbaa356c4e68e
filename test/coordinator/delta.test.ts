/**
 * The coordinator and real sidecars (in process, over HTTP; no Prometheus needed since nothing is scraped here)
 * exchange changes, not whole states: a quiet cycle reads no status, one new target is one change to one sidecar,
 * a stale base falls back to a whole assignment, a restarted sidecar is read whole again. And the statuses read as
 * changes, kept by the population's seats (measured.ts), follow a target that leaves discovery and comes back.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createServer, request, type IncomingMessage } from 'node:http';
import { createLogger, silentLogger } from '../../src/logger.js';
import { ApiClient } from '../../src/http/client.js';
import { Sidecar } from '../../src/sidecar/sidecar.js';
import { SidecarMetrics } from '../../src/sidecar/metrics.js';
import { createSidecarApi } from '../../src/sidecar/api.js';
import { StaticShardManager } from '../../src/shard/static.js';
import { Coordinator } from '../../src/coordinator/coordinator.js';
import { CoordinatorMetrics } from '../../src/coordinator/api.js';
import type { AssignmentChange, TargetStatusDelta } from '../../src/shard/contract.js';
import { metricsBody, startTarget, type TestTarget } from '../helpers/targets.js';
import { tempDir } from '../helpers/tmp.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Calls {
  wholes: number[];
  changes: AssignmentChange[];
  reads: TargetStatusDelta[];
  /** Every request's method and URL, as the sidecar's server received them. */
  requests: string[];
}

/** A real sidecar on a fixed port whose assignment and status calls are recorded (and passed on unchanged). */
async function startSidecar(dir: string, port = 0): Promise<{ sidecar: Sidecar; port: number; calls: Calls; close: () => Promise<void> }> {
  const sidecar = new Sidecar({
    outputFile: join(dir, 'out.yml'), storePath: join(dir, 'store'), prometheusUrl: 'http://127.0.0.1:1', proxyUrl: 'http://127.0.0.1:8008',
    fetchHeadSeries: false, reloadDebounceMs: 3_600_000, keepRulesAndAlerting: false, externalLabels: {}, log: silentLogger(),
    metrics: new SidecarMetrics(false),
  });
  await sidecar.init();
  const calls: Calls = { wholes: [], changes: [], reads: [], requests: [] };
  const replace = sidecar.replaceAssignment.bind(sidecar);
  const change = sidecar.changeAssignment.bind(sidecar);
  const read = sidecar.targetStatuses.bind(sidecar);
  sidecar.replaceAssignment = (specs) => (calls.wholes.push(specs.length), replace(specs));
  sidecar.changeAssignment = (c) => (calls.changes.push(c), change(c));
  sidecar.targetStatuses = (since) => {
    const d = read(since);
    calls.reads.push(d);
    return d;
  };
  const api = await createSidecarApi(sidecar, { log: createLogger('silent') });
  api.server.prependListener('request', (req: IncomingMessage) => calls.requests.push(`${req.method} ${req.url}`));
  api.server.listen(port, '127.0.0.1');
  await once(api.server, 'listening');
  return {
    sidecar, calls, port: (api.server.address() as AddressInfo).port,
    close: async () => {
      api.close();
      api.server.closeAllConnections();
      await new Promise((r) => api.server.close(r));
      await sidecar.close();
    },
  };
}

/** The target figures of /metrics as the cycle kept them, and as read off every target's view: they must agree. */
async function targetFigures(c: Coordinator): Promise<[string, string]> {
  const kept = new CoordinatorMetrics(false);
  kept.update(c);
  const fromViews = new CoordinatorMetrics(false);
  fromViews.update({ cycles: c.cycles, acting: c.acting, shardViews: c.shardViews, active: c.active, opts: c.opts, events: c.events, lastCycleAt: c.lastCycleAt, targetSummary: null });
  const pick = async (m: CoordinatorMetrics) => (await m.registry.metrics()).split('\n').filter((l) => /^kvass_coordinator_(targets|target_series|targets_by_state)[ {]/.test(l)).join('\n');
  return [await pick(kept), await pick(fromViews)];
}

/**
 * A coordinator of one static shard per port (as many shards as ports) and a file_sd job of `initial` targets; it is
 * not started. `writeSd` changes the job's targets.
 */
async function coordinatorOf(dir: string, ports: number[], initial: TestTarget[]): Promise<{ coordinator: Coordinator; writeSd: (ts: TestTarget[]) => Promise<void> }> {
  const shardsFile = join(dir, 'shards.yml');
  await writeFile(shardsFile, `replicas:\n- shards:\n${ports.map((port, i) => `  - id: shard-${i}\n    url: http://127.0.0.1:${port}\n`).join('')}`);
  const sdFile = join(dir, 'sd.json');
  const writeSd = (ts: TestTarget[]) => writeFile(sdFile, JSON.stringify([{ targets: ts.map((t) => t.address) }]));
  await writeSd(initial);
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, `global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: t\n    file_sd_configs: [{files: ['${sdFile}'], refresh_interval: 1s}]\n`);
  const client = new ApiClient({ timeoutMs: 2000, maxResponseBytes: 1 << 20 });
  const coordinator = new Coordinator({
    configFile, intervalMs: 60_000, maxSeries: 1_000_000, minShards: ports.length, maxShards: ports.length, maxIdleTimeMs: 0, notReadyGraceMs: 60_000,
    exploreConcurrency: 4, sdInitTimeoutMs: 2000, defaultSeries: 1000, hysteresis: 0.1,
    manager: new StaticShardManager({ file: shardsFile, log: silentLogger(), client }), client, log: silentLogger(),
  });
  return { coordinator, writeSd };
}

/** Runs the coordinator's cycles, 100 ms apart, until `done` (at most 100). */
async function cyclesUntil(coordinator: Coordinator, what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) {
    await coordinator.runOnce();
    if (!done()) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(done(), what);
}

type StartedSidecar = Awaited<ReturnType<typeof startSidecar>>;

/**
 * A temporary folder, `targetCount` targets and `sidecarCount` sidecars (in folders s0, s1, …, started in turn),
 * closed after the test; a sidecar the test puts in the returned array in place of another is the one closed.
 */
async function setUp(prefix: string, targetCount: number, sidecarCount: number): Promise<{ dir: string; targets: TestTarget[]; sidecars: StartedSidecar[] }> {
  const dir = await tempDir(prefix);
  const targets: TestTarget[] = await Promise.all(Array.from({ length: targetCount }, () => startTarget(metricsBody(20))));
  cleanups.push(() => Promise.all(targets.map((t) => t.close())));
  const sidecars: StartedSidecar[] = [];
  cleanups.push(() => Promise.all(sidecars.map((s) => s.close())));
  for (let i = 0; i < sidecarCount; i++) sidecars.push(await startSidecar(join(dir, `s${i}`)));
  return { dir, targets, sidecars };
}

const clear = (c: Calls): void => {
  c.wholes.length = 0;
  c.changes.length = 0;
  c.reads.length = 0;
  c.requests.length = 0;
};

test('delta protocol: a quiet cycle reads nothing, one new target is one change, a stale base or a restart falls back to whole', async () => {
  const { dir, targets, sidecars } = await setUp('kvass-delta-', 7, 2);
  const { coordinator, writeSd } = await coordinatorOf(dir, sidecars.map((s) => s.port), targets.slice(0, 6));
  await coordinator.start();
  cleanups.push(() => coordinator.stop());
  const assigned = () => sidecars.reduce((a, s) => a + s.sidecar.assignment.length, 0);
  await cyclesUntil(coordinator, 'the 6 targets are placed', () => assigned() === 6);
  await coordinator.runOnce();

  const [settled, settledViews] = await targetFigures(coordinator);
  assert.equal(settled, settledViews);
  assert.match(settled, /kvass_coordinator_targets_by_state\{state="assigned"\} 6/);

  // Settled: a cycle reads no status and pushes nothing.
  for (const s of sidecars) clear(s.calls);
  await coordinator.runOnce();
  for (const [i, s] of sidecars.entries()) {
    assert.equal(s.calls.reads.length, 1, `sidecar ${i} read once`);
    assert.deepEqual([s.calls.reads[0]!.full, s.calls.reads[0]!.targets.length, s.calls.reads[0]!.removed.length], [false, 0, 0], `sidecar ${i}: nothing changed, nothing sent`);
    assert.deepEqual([s.calls.wholes, s.calls.changes], [[], []], `sidecar ${i}: nothing pushed`);
    // One call of the coordinator per sidecar and cycle: the runtime info comes with the statuses. (The static shard
    // manager asks /-/ready on its own.)
    const polls = s.calls.requests.filter((r) => r !== 'GET /-/ready');
    assert.equal(polls.length, 1, `sidecar ${i}: ${s.calls.requests.join(', ')}`);
    assert.match(polls[0]!, /^GET \/api\/v1\/shard\/targets\?since=[^&]+&labels=false&runtime=true$/);
  }

  // One target more: one sidecar receives a change of one target, nobody a whole assignment.
  await writeSd(targets);
  await cyclesUntil(coordinator, 'the 7th target is placed', () => assigned() === 7);
  const changes = sidecars.flatMap((s) => s.calls.changes);
  assert.equal(changes.length, 1, JSON.stringify(changes));
  assert.deepEqual([changes[0]!.set.length, changes[0]!.remove.length], [1, 0]);
  assert.equal(changes[0]!.set[0]!.labels.__address__, targets[6]!.address);
  assert.deepEqual(sidecars.flatMap((s) => s.calls.wholes), []);
  const [kept7, fromViews7] = await targetFigures(coordinator);
  assert.equal(kept7, fromViews7);
  assert.match(kept7, /kvass_coordinator_targets 7/);
  // The next read of that sidecar sends that target (new to it), and only it.
  const receiver = sidecars.find((s) => s.calls.changes.length === 1)!;
  receiver.calls.reads.length = 0;
  await coordinator.runOnce();
  assert.deepEqual(receiver.calls.reads[0]!.targets.map((t) => t.labels.__address__), [targets[6]!.address]);

  // A change built on an assignment that moved meanwhile is refused (409): the coordinator sends it whole.
  for (const s of sidecars) clear(s.calls);
  const other = sidecars.find((s) => s.sidecar.assignment.length > 0)!;
  const change = other.sidecar.changeAssignment.bind(other.sidecar); // the recording one
  other.sidecar.changeAssignment = async (c) => {
    await other.sidecar.replaceAssignment([...other.sidecar.assignment]); // the same targets, a new version
    return change(c);
  };
  await writeSd(targets.filter((t) => !other.sidecar.assignment.some((a) => a.labels.__address__ === t.address)).concat(targets.filter((t) => other.sidecar.assignment.some((a) => a.labels.__address__ === t.address)).slice(1)));
  const before = other.sidecar.assignment.length;
  await cyclesUntil(coordinator, 'one target of that sidecar is gone', () => other.sidecar.assignment.length === before - 1);
  assert.equal(other.calls.changes.length, 1);
  assert.deepEqual([other.calls.changes[0]!.set.length, other.calls.changes[0]!.remove.length], [0, 1]);
  assert.deepEqual(other.calls.wholes.slice(-1), [before - 1], 'then the whole assignment');

  // A restarted sidecar (same store, same port, another process epoch) is read whole, and keeps its assignment.
  const idx = sidecars.indexOf(other);
  const kept = other.sidecar.assignment.map((a) => a.hash).sort();
  await other.close();
  sidecars[idx] = await startSidecar(join(dir, `s${idx}`), other.port);
  await coordinator.runOnce();
  const reads = sidecars[idx]!.calls.reads;
  assert.equal(reads.length, 1);
  assert.equal(reads[0]!.full, true, 'a version of the old process gets a full answer');
  assert.deepEqual(reads[0]!.targets.map((t) => t.hash).sort(), kept);
  assert.deepEqual([sidecars[idx]!.calls.wholes, sidecars[idx]!.calls.changes], [[], []], 'its restored assignment is the plan: nothing pushed');
});

test('delta protocol: a sidecar that answers the statuses without the runtime info is asked for it apart', async () => {
  const { dir, targets, sidecars: [s] } = await setUp('kvass-delta-old-', 3, 1);
  // An older sidecar's API: the same, but it does not know `runtime` (here: taken out of the query on the way).
  const older = createServer((req, res) => {
    const url = new URL(req.url!, 'http://older');
    url.searchParams.delete('runtime');
    const up = request({ host: '127.0.0.1', port: s.port, method: req.method, path: url.pathname + url.search, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  older.listen(0, '127.0.0.1');
  await once(older, 'listening');
  cleanups.push(() => new Promise((r) => older.close(r)));
  const { coordinator } = await coordinatorOf(dir, [(older.address() as AddressInfo).port], targets);
  await coordinator.start(false);
  cleanups.push(() => coordinator.stop());
  for (let i = 0; i < 100 && s.sidecar.assignment.length < 3; i++) {
    await coordinator.runOnce();
    assert.equal(coordinator.lastError, '');
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(s.sidecar.assignment.length, 3, 'placed through the older API');
  // The first cycle (the shard manager's readiness check, then the poll) of a sidecar without a configuration yet: the
  // statuses, the runtime info apart, the push, its check, and the statuses again (what the configuration changed).
  assert.deepEqual(s.calls.requests.slice(0, 7).map((r) => r.replace(/since=[^&]+&/, '')), [
    'GET /-/ready', 'GET /api/v1/shard/targets?labels=false', 'GET /api/v1/shard/runtimeinfo', 'POST /api/v1/shard/config',
    'GET /api/v1/shard/runtimeinfo', 'GET /api/v1/shard/targets?labels=false', 'GET /-/ready',
  ]);
  clear(s.calls);
  await coordinator.runOnce();
  assert.deepEqual(s.calls.requests.filter((r) => r !== 'GET /-/ready').map((r) => r.replace(/\?.*/, '')), ['GET /api/v1/shard/targets', 'GET /api/v1/shard/runtimeinfo']);
  assert.deepEqual([coordinator.shardViews[0]?.[0]?.ready, coordinator.shardViews[0]?.[0]?.targets], [true, 3], JSON.stringify(coordinator.shardViews));
});

test("the statuses the coordinator keeps follow the population's seats: a target back in discovery is sized from its sidecar's unchanged report", async () => {
  const { dir, targets, sidecars: [s] } = await setUp('kvass-seats-', 3, 1);
  const { coordinator, writeSd } = await coordinatorOf(dir, [s.port], targets.slice(0, 2));
  await coordinator.start();
  cleanups.push(() => coordinator.stop());
  const viewOf = (t: TestTarget) => coordinator.active.find((v) => v.target.labels.__address__ === t.address);
  await cyclesUntil(coordinator, 'both targets are placed', () => s.sidecar.assignment.length === 2);
  // A scrape of the first target, as the sidecar's proxy records it: a size no probe of the test target gives.
  const first = s.sidecar.assignment.find((a) => a.labels.__address__ === targets[0]!.address)!;
  const at = new Date();
  s.sidecar.status.record(first.hash, { ok: true, error: '', series: 777, samples: 777, bytes: 1, durationMs: 3, at });
  await cyclesUntil(coordinator, 'the coordinator reads the scrape', () => viewOf(targets[0]!)?.series === 777);
  // The sizes take the reported series in the same cycle (the measured statuses tell sizing which targets changed).
  assert.ok(coordinator.targetSummary!.series >= 777, `the series counted (${coordinator.targetSummary!.series}) take in the scrape's 777`);

  // The sidecar refuses every assignment from now on: it keeps the first target, and reports nothing new of it.
  const refuse = async (): Promise<never> => {
    throw new Error('refused by the test');
  };
  s.sidecar.replaceAssignment = refuse;
  s.sidecar.changeAssignment = refuse;
  // The first target leaves discovery (its seat is given back), the third comes (and takes that seat), then the first
  // comes back, on another seat.
  await writeSd([targets[1]!]);
  await cyclesUntil(coordinator, 'the first target left the population', () => viewOf(targets[0]!) === undefined);
  await writeSd([targets[1]!, targets[2]!]);
  await cyclesUntil(coordinator, 'the third target entered it', () => viewOf(targets[2]!) !== undefined);
  await writeSd(targets);
  await cyclesUntil(coordinator, 'the first target is back', () => viewOf(targets[0]!) !== undefined);
  const back = viewOf(targets[0]!)!;
  assert.deepEqual([back.health, back.series, back.lastScrape], ['up', 777, at.toISOString()], 'as its sidecar still reports it');
  assert.equal(s.sidecar.assignment.some((a) => a.hash === first.hash), true, 'the sidecar still holds it');
});
