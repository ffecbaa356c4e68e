/**
 * The coordinator's incremental population (src/coordinator/population.ts) must give exactly what re-populating
 * every job with jobTargets gives (the coordinator's behaviour before it): same targets (the Map's order is not
 * kept once changed in place), first job winning a duplicate hash, every dropped target in order; and `changed`
 * names every hash whose entry changed. Checked over random sequences of group
 * changes and config reloads, with and without discovery versions; and relabeling must happen only for groups
 * (and jobs) that changed, counted through an injected populate function.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseConfig, type ScrapeConfig } from '../../src/config/config.js';
import type { TargetGroup } from '../../src/discovery/types.js';
import { Population, type GroupSource, type PopulationResult } from '../../src/coordinator/population.js';
import { targetLabelProblem } from '../../src/shard/contract.js';
import { jobDefaults, jobTargets, targetsFromGroup, type DroppedTarget, type Target } from '../../src/target/populate.js';
import type { Labels } from '../../src/prom/labels.js';
import { DiscoveryManager } from '../../src/discovery/manager.js';
import { GroupChangeLog, type GroupChanges } from '../../src/discovery/change-log.js';
import { applyParts, partOf, touchedHash, withRoomToGrow } from '../../src/coordinator/population-state.js';
import { Seats } from '../../src/coordinator/seats.js';
import { silentLogger } from '../../src/logger.js';
import { tempDir } from '../helpers/tmp.js';

/** Relabel variants a job may get: plain, a keep rule (drops), a shared `job` label (hashes shared across jobs). */
const RELABEL = [
  '',
  `    relabel_configs:
      - source_labels: [keep]
        regex: 'yes'
        action: keep
`,
  `    relabel_configs:
      - target_label: job
        replacement: shared
      - source_labels: [zone]
        target_label: region
`,
];

interface JobSpec {
  name: string;
  relabel: number;
  /** Not relevant to population: a change only swaps the `sc` objects. */
  sampleLimit: number;
  interval: number;
}

function configOf(jobs: JobSpec[]): ScrapeConfig[] {
  const text = 'scrape_configs:\n' + jobs.map((j) =>
    `  - job_name: ${j.name}\n    sample_limit: ${j.sampleLimit}\n    scrape_interval: ${j.interval}s\n    scrape_timeout: 1s\n${RELABEL[j.relabel]}`).join('');
  return parseConfig(text, 'population.yml', '/tmp').scrapeConfigs;
}

/**
 * A fake discovery: per job, groups by source (insertion order kept, as in DiscoveryManager), and versions; with
 * `changes`, the log of changed groups DiscoveryManager keeps (GroupChangeLog, small so that it is cut sometimes).
 */
class FakeSource implements GroupSource {
  readonly jobs = new Map<string, Map<string, TargetGroup>>();
  private readonly versions = new Map<string, number>();
  private readonly logs = new Map<string, GroupChangeLog>();
  private seq = 0;
  constructor(withVersions: boolean, changes = false, private readonly logSize = 12) {
    if (!withVersions) this.version = undefined;
    if (!changes) this.changesSince = undefined;
  }
  changesSince?(job: string, version: number): GroupChanges | undefined {
    const changes = this.logs.get(job)?.since(version);
    return changes && { changes, group: (source) => this.jobs.get(job)?.get(source) };
  }
  groups(job: string): TargetGroup[] {
    return [...(this.jobs.get(job)?.values() ?? [])];
  }
  version?(job: string): number {
    return this.versions.get(job) ?? 0;
  }
  emit(job: string, g: TargetGroup): void {
    const m = this.jobs.get(job) ?? this.jobs.set(job, new Map()).get(job)!;
    if (g.targets.length === 0) m.delete(g.source);
    else m.set(g.source, g);
    this.versions.set(job, ++this.seq);
    (this.logs.get(job) ?? this.logs.set(job, new GroupChangeLog(this.logSize)).get(job)!).record(this.seq, [g]);
  }
}

/** The coordinator's collectTargets before population.ts: every job re-populated. */
function full(scs: ScrapeConfig[], src: GroupSource): PopulationResult {
  const targets = new Map<string, Target>();
  const problems = new Map<string, string>();
  const dropped: DroppedTarget[] = [];
  for (const sc of scs) {
    const res = jobTargets(src.groups(sc.jobName), jobDefaults(sc));
    for (const t of res.active) {
      if (targets.has(t.hash)) continue;
      targets.set(t.hash, t);
      const problem = targetLabelProblem(t.labels);
      if (problem !== undefined) problems.set(t.hash, problem);
    }
    dropped.push(...res.dropped);
  }
  return { targets, problems, dropped };
}

function assertSame(got: PopulationResult, want: PopulationResult): void {
  assert.deepEqual([...got.targets.keys()].sort(), [...want.targets.keys()].sort());
  for (const [hash, w] of want.targets) {
    const g = got.targets.get(hash)!;
    assert.equal(g.job, w.job);
    assert.deepEqual(g.labels, w.labels);
    assert.deepEqual(g.discoveredLabels, w.discoveredLabels);
    assert.equal(g.scrapeUrl, w.scrapeUrl);
    assert.equal(g.interval, w.interval);
    assert.equal(g.timeout, w.timeout);
  }
  assert.deepEqual([...got.problems].sort(), [...want.problems].sort(), 'why a sidecar would refuse a target, by hash');
  assert.deepEqual(got.dropped.map((d) => [d.job, d.discoveredLabels]), want.dropped.map((d) => [d.job, d.discoveredLabels]));
}

const JOB_NAMES = ['a', 'b', 'c'];

/**
 * A small target: few distinct addresses so that duplicates (within and across jobs) happen; port 0 is one a sidecar
 * would refuse (the result's problems).
 */
const targetArb = fc.record({
  addr: fc.constantFrom('h1:80', 'h2:80', 'h3', '', 'h4:0'),
  keep: fc.constantFrom('yes', 'no'),
  zone: fc.constantFrom('', 'z1', 'z2'),
}).map(({ addr, keep, zone }): Labels => ({ __address__: addr, keep, ...(zone ? { zone } : {}) }));

const groupArb = fc.record({
  source: fc.constantFrom('s0', 's1', 's2', 's3'),
  targets: fc.array(targetArb, { maxLength: 3 }),
  labels: fc.dictionary(fc.constantFrom('zone', 'team', 'keep'), fc.constantFrom('', 'z1', 'x', 'yes')),
});

type Op =
  | { kind: 'emit'; job: number; group: { source: string; targets: Labels[]; labels: Labels } }
  | { kind: 'reemit'; job: number; pick: number }
  | { kind: 'config'; job: number; relabel: number; sampleLimit: number; interval: number }
  | { kind: 'reorder' }
  | { kind: 'noop' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('emit' as const), job: fc.nat(2), group: groupArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reemit' as const), job: fc.nat(2), pick: fc.nat(5) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('config' as const), job: fc.nat(2), relabel: fc.nat(2), sampleLimit: fc.nat(2), interval: fc.constantFrom(5, 10) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reorder' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'noop' as const }) },
);

for (const [withVersions, withChanges] of [[true, true], [true, false], [false, false]] as const) {
  test(`incremental population equals full re-population over random changes (${withChanges ? 'with versions and changes by source' : withVersions ? 'with versions' : 'without versions'}), in place and rebuilt`, () => {
    const results = { reused: 0, 'in place': 0, rebuilt: 0 };
    let patched = 0;
    let replacedInJob = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 25 }), fc.nat(2), (ops, initialRelabel) => {
        const src = new FakeSource(withVersions, withChanges);
        let jobs: JobSpec[] = JOB_NAMES.map((name) => ({ name, relabel: initialRelabel, sampleLimit: 0, interval: 10 }));
        let scs = configOf(jobs);
        const pop = new Population();
        let before = new Map(pop.update(scs, src).targets);
        assertSame(pop.update(scs, src), full(scs, src));
        let seatsBefore = seatsOf(before);
        pop.seats.takeReleased();
        // `changed` names every hash whose entry is another one (added, replaced, removed) since the last update;
        // every target held is seated, no two alike; a hash that stays keeps its seat, also when its target is
        // replaced by one of the same job (the one change that replaces it hands the seat on); a hash that leaves
        // its seat is released with it.
        const check = (res: PopulationResult): void => {
          assert.ok(pop.changed !== null, 'after the first update, changes are known');
          const named = new Set(pop.changed.map(touchedHash));
          // The last time `changed` names a hash tells its entry now: the target put in, or none (the hash).
          const last = new Map(pop.changed.map((c) => [touchedHash(c), c]));
          for (const [h, c] of last) assert.equal(res.targets.get(h), typeof c === 'string' ? undefined : c, `${h}: changed tells its entry now`);
          const released = pop.seats.takeReleased();
          // A hash may be released twice in one update (taken out by one job's change, put in by another's, then
          // shadowed by a rebuild); one not held before or after may be released too.
          const releasedSeats = new Map<string, number[]>();
          for (const r of released) releasedSeats.set(r.hash, [...(releasedSeats.get(r.hash) ?? []), r.seat]);
          for (const h of new Set([...before.keys(), ...res.targets.keys()])) {
            const [was, is] = [before.get(h), res.targets.get(h)];
            if (was !== is) assert.ok(named.has(h), `${h} changed but is not in changed`);
            const kept = was !== undefined && is?.seat === seatsBefore.get(h);
            if (was !== undefined && !kept) assert.ok(releasedSeats.get(h)?.includes(seatsBefore.get(h)!), `${h} left its seat: released with it`);
            if (kept) assert.ok(!releasedSeats.has(h), `${h} kept its seat: not released`);
            if (was !== undefined && is !== undefined && was.job === is.job) {
              assert.ok(kept, `${h} stayed in its job: same seat${was === is ? '' : ' (replaced)'}`);
              if (was !== is) replacedInJob++;
            }
          }
          const seats = seatsOf(res.targets);
          for (const [h, seat] of seats) assert.ok(seat >= 0 && seat < pop.seats.capacity, `${h} is seated within the capacity`);
          // A released seat may go to a new hash in the same update (stages take releases out first), never to one that stayed.
          const holderOf = new Map([...seats].map(([h, seat]) => [seat, h]));
          for (const r of released) {
            const holder = holderOf.get(r.seat);
            assert.ok(holder === undefined || !before.has(holder), `${r.hash}'s seat ${r.seat}, released, is held by ${holder}, which stayed`);
          }
          for (const [h, seat] of seats) {
            assert.ok(seat >= 0 && seat < pop.seats.capacity, `${h} is seated within the capacity`);
            if (before.has(h)) assert.equal(seat, seatsBefore.get(h), `${h} stayed: same seat${before.get(h) === res.targets.get(h) ? '' : ' (replaced)'}`);
          }
          assert.equal(new Set(seats.values()).size, seats.size, 'no two targets share a seat');
          before = new Map(res.targets);
          seatsBefore = seats;
        };
        for (const op of ops) {
          if (op.kind === 'emit') {
            src.emit(JOB_NAMES[op.job]!, { source: op.group.source, targets: op.group.targets, labels: op.group.labels });
          } else if (op.kind === 'reemit') {
            // The same content as a new object (as a Kubernetes rebuild does): relabeled again, same result.
            const gs = src.groups(JOB_NAMES[op.job]!);
            const g = gs[op.pick % Math.max(1, gs.length)];
            if (g) src.emit(JOB_NAMES[op.job]!, { source: g.source, targets: g.targets.map((t) => ({ ...t })), labels: { ...g.labels } });
          } else if (op.kind === 'config') {
            jobs = jobs.map((j) => (j.name === JOB_NAMES[op.job] ? { ...j, relabel: op.relabel, sampleLimit: op.sampleLimit, interval: op.interval } : j));
            scs = configOf(jobs);
          } else if (op.kind === 'reorder') {
            jobs = [...jobs.slice(1), jobs[0]!];
            scs = configOf(jobs);
          }
          const res = pop.update(scs, src);
          results[pop.stats.result]++;
          patched += pop.stats.jobsPatched;
          assertSame(res, full(scs, src));
          for (const sc of scs) assert.equal(pop.scOf(sc.jobName), sc, 'a job\'s config is the current one');
          check(res);
        }
      }),
      { numRuns: 250 },
    );
    assert.ok(results['in place'] > 100 && results.rebuilt > 100, `both ways of updating are exercised: ${JSON.stringify(results)}`);
    if (withChanges) assert.ok(patched > 300, `jobs are brought up to date from the changes: ${patched}`);
    assert.ok(replacedInJob > 30, `targets replaced in their job, keeping their seats: ${replacedInJob}`);
  });
}

/** Each target's seat, by hash. */
function seatsOf(targets: ReadonlyMap<string, Target>): Map<string, number> {
  return new Map([...targets].map(([h, t]) => [h, t.seat]));
}

/** A population whose relabeling is counted (groups handed to targetsFromGroup). */
function counted(): { pop: Population; calls: () => number; reset: () => void } {
  let n = 0;
  const pop = new Population((g, jd, into) => {
    n++;
    targetsFromGroup(g, jd, into);
  });
  return { pop, calls: () => n, reset: () => (n = 0) };
}

function seed(src: FakeSource, job: string, groups: number): void {
  // Group 0's target has port 0: a sidecar would refuse it (contract.ts targetLabelProblem).
  for (let i = 0; i < groups; i++) src.emit(job, { source: `g${i}`, targets: [{ __address__: `${job}-${i}:${i === 0 ? 0 : 80}`, keep: 'yes' }], labels: { team: 't' } });
}

test('unchanged groups are not relabeled again; a changed group is relabeled alone', () => {
  for (const [withVersions, withChanges] of [[true, true], [true, false], [false, false]] as const) {
    const src = new FakeSource(withVersions, withChanges);
    seed(src, 'a', 50);
    seed(src, 'b', 30);
    const scs = configOf([{ name: 'a', relabel: 1, sampleLimit: 0, interval: 10 }, { name: 'b', relabel: 0, sampleLimit: 0, interval: 10 }]);
    const { pop, calls, reset } = counted();
    const first = pop.update(scs, src);
    assert.equal(calls(), 80);
    assert.equal(first.targets.size, 80);
    reset();
    const second = pop.update(scs, src);
    assert.equal(calls(), 0, 'nothing changed: nothing relabeled');
    if (withVersions) {
      assert.equal(second, first, 'nothing changed: the last result, as it is');
      assert.equal(pop.stats.jobsWalked, 0, 'nothing changed: no job walked');
    }
    assertSame(second, full(scs, src));
    src.emit('b', { source: 'g7', targets: [{ __address__: 'new:80' }], labels: {} });
    src.emit('b', { source: 'g8', targets: [], labels: {} }); // gone
    reset();
    const third = pop.update(scs, src);
    assert.equal(calls(), 1, 'one changed group, one relabeled (a removal needs none)');
    if (withChanges) assert.deepEqual([pop.stats.jobsWalked, pop.stats.jobsPatched], [0, 1], 'the job that changed is brought up to date from its changes, not walked');
    else if (withVersions) assert.equal(pop.stats.jobsWalked, 1, 'only the job that changed is walked');
    assertSame(third, full(scs, src));
    assert.equal(third.targets.size, 79);
  }
});

test('a target two groups hold (the first wins) stays when the first goes away, and goes with the second', () => {
  for (const [withVersions, withChanges] of [[true, true], [true, false], [false, false]] as const) {
    const src = new FakeSource(withVersions, withChanges);
    const scs = configOf([{ name: 'a', relabel: 0, sampleLimit: 0, interval: 10 }]);
    src.emit('a', { source: 'g1', targets: [{ __address__: 'twice:80' }, { __address__: 'one:80' }], labels: {} });
    src.emit('a', { source: 'g2', targets: [{ __address__: 'twice:80' }], labels: {} });
    const pop = new Population();
    const first = pop.update(scs, src);
    assert.equal(first.targets.size, 2);
    assertSame(first, full(scs, src));
    // g1, whose target won, goes away: the same target from g2 takes its place (only a rebuild knows that).
    src.emit('a', { source: 'g1', targets: [], labels: {} });
    const second = pop.update(scs, src);
    assertSame(second, full(scs, src));
    assert.deepEqual([...second.targets.values()].map((t) => t.labels.__address__), ['twice:80'], `kept from g2 (${withVersions}, ${withChanges})`);
    src.emit('a', { source: 'g2', targets: [], labels: {} });
    assert.equal(pop.update(scs, src).targets.size, 0, 'gone with g2');
  }
});

test('a config reload re-populates only the jobs whose population-relevant config changed', () => {
  const src = new FakeSource(true);
  seed(src, 'a', 40);
  seed(src, 'b', 25);
  seed(src, 'c', 10);
  const spec = (relabelB: number, sampleLimitA: number, intervalC: number): JobSpec[] => [
    { name: 'a', relabel: 0, sampleLimit: sampleLimitA, interval: 10 },
    { name: 'b', relabel: relabelB, sampleLimit: 0, interval: 10 },
    { name: 'c', relabel: 0, sampleLimit: 0, interval: intervalC },
  ];
  const { pop, calls, reset } = counted();
  pop.update(configOf(spec(0, 0, 10)), src);
  assert.equal(calls(), 75);

  reset();
  let scs = configOf(spec(2, 0, 10)); // b's relabeling changed (a and c re-parsed, unchanged)
  let res = pop.update(scs, src);
  assert.equal(calls(), 25, 'only b relabeled');
  assertSame(res, full(scs, src));

  reset();
  scs = configOf(spec(2, 100, 10)); // a's sample_limit: no relabeling, but the new sc is carried
  res = pop.update(scs, src);
  assert.equal(calls(), 0);
  assert.equal(pop.scOf('a'), scs[0], 'the current scrape config object');
  assert.equal(pop.scOf('a')!.sampleLimit, 100);
  assert.equal(pop.scOf('b'), scs[1]);
  assertSame(res, full(scs, src));
  // Checked once when populated, and kept with the new sc: the targets a sidecar would refuse, and why.
  const refused = [...res.problems].map(([h, problem]) => `${res.targets.get(h)!.labels.__address__}: ${problem}`);
  assert.deepEqual(refused.sort(), ['a-0:0', 'b-0:0', 'c-0:0'].map((a) => `${a}: __address__ must be host:port with no path, userinfo or spaces, not "${a}"`));
  reset();
  src.emit('a', { source: 'g3', targets: [{ __address__: 'a-3-new:80' }], labels: {} });
  res = pop.update(scs, src);
  assert.equal(calls(), 1, 'after a reload that kept the targets, a changed group is still relabeled alone');
  assertSame(res, full(scs, src));

  reset();
  scs = configOf(spec(2, 100, 5)); // c's scrape interval: its targets' __scrape_interval__ changes
  res = pop.update(scs, src);
  assert.equal(calls(), 10, 'only c relabeled');
  assert.ok([...res.targets.values()].filter((e) => e.job === 'c').every((e) => e.interval === 5000));
  assertSame(res, full(scs, src));

  reset();
  scs = configOf(spec(2, 100, 5).filter((j) => j.name !== 'b')); // b removed
  res = pop.update(scs, src);
  assert.equal(calls(), 0);
  assertSame(res, full(scs, src));
  reset();
  scs = configOf(spec(2, 100, 5)); // b back: populated afresh
  res = pop.update(scs, src);
  assert.equal(calls(), 25);
  assertSame(res, full(scs, src));
});

test("a reload that gives every target of a job another hash hands the gone hashes' seats to the new ones", () => {
  const src = new FakeSource(true);
  seed(src, 'a', 40);
  const pop = new Population();
  const first = pop.update(configOf([{ name: 'a', relabel: 0, sampleLimit: 0, interval: 10 }]), src);
  assert.equal(pop.seats.capacity, 40);
  // Copied: the result may be changed in place.
  const hashesBefore = new Set(first.targets.keys());
  const before = new Set([...first.targets.values()].map((t) => t.seat));
  // Relabeled with another `job`: every hash changes.
  const res = pop.update(configOf([{ name: 'a', relabel: 2, sampleLimit: 0, interval: 10 }]), src);
  assert.ok([...res.targets.keys()].every((h) => !hashesBefore.has(h)), 'every hash is new');
  const released = pop.seats.takeReleased();
  assert.equal(released.length, 40, 'every old hash released');
  assert.deepEqual(new Set([...res.targets.values()].map((t) => t.seat)), before, 'the new targets sit in the seats given back');
  assert.equal(pop.seats.capacity, 40, 'no seat beyond them');
});

test('a change that finds a hash held twice stops with every target in the result seated, a replaced one in its seat', () => {
  const target = (hash: string): Target => ({ hash, seat: -1, labels: { __address__: `${hash}:80` } }) as unknown as Target;
  const seats = new Seats();
  const [x, r] = [target('x'), target('r')];
  seats.take(x);
  seats.take(r);
  const result = { targets: new Map([['x', x], ['r', r]]), problems: new Map<string, string>() };
  // r replaced, y new, then a second target for x (held already): only a rebuild can tell which x wins.
  const [r2, y, x2] = [target('r'), target('y'), target('x')];
  assert.equal(applyParts(result, [partOf([r], [])], [partOf([r2, y, x2], [])], [], seats), false);
  assert.deepEqual([...result.targets.values()], [x, r2, y]);
  assert.equal(r2.seat, 1, "r's replacement in r's seat");
  assert.ok([...result.targets.values()].every((t) => t.seat >= 0), 'every target in the result seated');
  assert.equal(new Set([...result.targets.values()].map((t) => t.seat)).size, 3, 'no two alike');
  assert.equal(x2.seat, -1, 'the one not put in has no seat');
});

test('with DiscoveryManager: its versions let unchanged jobs go unwalked, a restarted discoverer re-walks its job', async () => {
  const dm = new DiscoveryManager(silentLogger(), 0);
  const text = (bTargets: string) => `scrape_configs:
  - job_name: a
    static_configs: [{targets: ['a1:80', 'a2:80']}, {targets: ['a3:80']}]
  - job_name: b
    static_configs: [{targets: [${bTargets}]}]
`;
  try {
    let cfg = parseConfig(text("'b1:80'"), 'dm.yml', '/tmp');
    dm.apply(cfg);
    assert.deepEqual(await dm.waitReady(5000), []);
    const { pop, calls, reset } = counted();
    let res = pop.update(cfg.scrapeConfigs, dm);
    assert.equal(calls(), 3);
    assert.deepEqual([...res.targets.values()].map((e) => e.labels.instance), ['a1:80', 'a2:80', 'a3:80', 'b1:80']);
    reset();
    const again = pop.update(cfg.scrapeConfigs, dm);
    assert.equal(again, res);
    assert.equal(pop.stats.jobsWalked, 0);
    cfg = parseConfig(text("'b1:80', 'b2:80'"), 'dm.yml', '/tmp');
    dm.apply(cfg); // b's static_configs changed: its discoverer restarts; a's stays
    assert.deepEqual(await dm.waitReady(5000), []);
    await new Promise((r) => setImmediate(r));
    reset();
    res = pop.update(cfg.scrapeConfigs, dm);
    assert.equal(pop.stats.jobsWalked, 1, 'only b walked');
    assert.equal(calls(), 1, "b's one new group relabeled");
    assertSame(res, full(cfg.scrapeConfigs, dm));
    assert.equal(res.targets.size, 5);
  } finally {
    dm.stop();
  }
});

test('changes by source keep discovery\'s order: a group that went away and came back is last, many gone ones leave no trace', () => {
  const src = new FakeSource(true, true, 100_000);
  const scs = configOf([{ name: 'a', relabel: 1, sampleLimit: 0, interval: 10 }]);
  const group = (source: string, addr: string, keep: string): TargetGroup => ({ source, targets: [{ __address__: addr, keep }], labels: {} });
  for (let i = 0; i < 3000; i++) src.emit('a', group(`g${i}`, `h${i}:80`, i % 3 === 0 ? 'no' : 'yes'));
  const pop = new Population();
  pop.update(scs, src);
  // g0 goes away and comes back: in discovery it is now last, and so its dropped target is listed last.
  src.emit('a', { source: 'g0', targets: [], labels: {} });
  assertSame(pop.update(scs, src), full(scs, src));
  src.emit('a', group('g0', 'h0:80', 'no'));
  let res = pop.update(scs, src);
  assert.equal(pop.stats.jobsPatched, 1);
  assertSame(res, full(scs, src));
  assert.deepEqual(res.dropped.at(-1)!.discoveredLabels.__address__, 'h0:80');
  // Most groups go (their holes are closed up), some come back with new content, one more arrives.
  for (let i = 1; i < 2500; i++) src.emit('a', { source: `g${i}`, targets: [], labels: {} });
  for (let i = 2400; i < 2600; i += 7) src.emit('a', group(`g${i}`, `n${i}:80`, i % 2 ? 'yes' : 'no'));
  src.emit('a', group('late', 'late:80', 'yes'));
  res = pop.update(scs, src);
  assert.equal(pop.stats.jobsPatched, 1);
  assertSame(res, full(scs, src));
  src.emit('a', group('g2999', 'h2999:80', 'no'));
  assertSame(pop.update(scs, src), full(scs, src));
});

test('with DiscoveryManager: a job of one discoverer is brought up to date from its changed groups; a job of two is walked', async () => {
  const dir = await tempDir('kvass-pop-');
  const dm = new DiscoveryManager(silentLogger(), 0);
  const write = (file: string, groups: string[][]) => writeFile(join(dir, file), JSON.stringify(groups.map((targets) => ({ targets }))));
  try {
    await write('one.json', [['o1:80'], ['o2:80']]);
    await write('two-a.json', [['t1:80']]);
    await write('two-b.json', [['t2:80']]);
    const cfg = parseConfig(`scrape_configs:
  - job_name: one
    file_sd_configs: [{files: [one.json], refresh_interval: 1s}]
  - job_name: two
    file_sd_configs: [{files: [two-a.json], refresh_interval: 1s}, {files: [two-b.json], refresh_interval: 1s}]
`, join(dir, 'prometheus.yml'), dir);
    dm.apply(cfg);
    assert.deepEqual(await dm.waitReady(5000), []);
    const { pop, calls, reset } = counted();
    pop.update(cfg.scrapeConfigs, dm);
    assert.equal(calls(), 4);
    const changedBy = async (job: string, change: () => Promise<void>) => {
      const v = dm.version(job);
      await change();
      for (let i = 0; i < 100 && dm.version(job) === v; i++) await new Promise((r) => setTimeout(r, 50));
      assert.notEqual(dm.version(job), v, `${job}'s discovery saw the change`);
    };
    await changedBy('one', () => write('one.json', [['o1:80'], ['o2:80'], ['o3:80']]));
    reset();
    let res = pop.update(cfg.scrapeConfigs, dm);
    assert.deepEqual([pop.stats.jobsWalked, pop.stats.jobsPatched], [0, 1], 'one: from its changes');
    assertSame(res, full(cfg.scrapeConfigs, dm));
    await changedBy('two', () => write('two-b.json', [['t2:80'], ['t3:80']]));
    reset();
    res = pop.update(cfg.scrapeConfigs, dm);
    assert.deepEqual([pop.stats.jobsWalked, pop.stats.jobsPatched], [1, 0], 'two: two discoverers, walked');
    assertSame(res, full(cfg.scrapeConfigs, dm));
    assert.equal(res.targets.size, 6);
  } finally {
    dm.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('an update that fails half-way (relabeling threw) leaves the next one to start over, with the right result', () => {
  const src = new FakeSource(true, true, 1000);
  seed(src, 'a', 20);
  const scs = configOf([{ name: 'a', relabel: 0, sampleLimit: 0, interval: 10 }]);
  let failNext = false;
  const pop = new Population((g, jd, into) => {
    if (failNext) {
      failNext = false;
      throw new Error('relabeling failed');
    }
    targetsFromGroup(g, jd, into);
  });
  pop.update(scs, src);
  // Two groups change; relabeling the second throws after the first was patched into the job's state.
  src.emit('a', { source: 'g3', targets: [], labels: {} });
  src.emit('a', { source: 'g5', targets: [{ __address__: 'moved:80' }], labels: {} });
  src.emit('a', { source: 'g30', targets: [{ __address__: 'new:80' }], labels: {} });
  failNext = true;
  assert.throws(() => pop.update(scs, src), /relabeling failed/);
  const res = pop.update(scs, src);
  assert.equal(pop.stats.result, 'rebuilt');
  assert.equal(pop.changed, null, 'no earlier result to compare with: every target counts as changed');
  assertSame(res, full(scs, src));
});

test('withRoomToGrow gives back the same array with the same elements (the store it grows is V8\'s)', () => {
  const a = ['x', 'y', 'z'];
  assert.equal(withRoomToGrow(a), a);
  assert.deepEqual(a, ['x', 'y', 'z']);
  const holes = new Array<string>(3);
  holes[0] = 'first';
  assert.equal(withRoomToGrow(holes).length, 3);
  assert.deepEqual([...holes.entries()], [[0, 'first'], [1, undefined], [2, undefined]]);
  assert.deepEqual(withRoomToGrow([]), []);
});
