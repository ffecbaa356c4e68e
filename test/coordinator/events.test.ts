import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AssignmentRecord } from '../../src/coordinator/assignment-record.js';
import { recordChanges } from '../../src/coordinator/shard-views.js';
import { EventLog, cycleEvents, scaleEvent } from '../../src/coordinator/events.js';
import { planFromNothing } from '../../src/coordinator/what-if.js';
import { planAssignments, ShardTargets, type PlannerOptions, type PlannerShard } from '../../src/coordinator/planner.js';

const options: PlannerOptions = { maxSeries: 30000, minShards: 0, maxShards: 100, maxIdleTimeMs: 0, notReadyGraceMs: 60_000, transferMinScrapes: 2, hysteresis: 0.1 };
const targets = Array.from({ length: 6 }, (_, i) => ({ hash: `t${i}`, series: 10050 }));
/** Each shard's load: the series of the targets its record holds. */
const loadOf = (shards: readonly PlannerShard[], list: typeof targets) => (s: number): number =>
  (shards[s]?.targets.hashes ?? []).reduce((a, h) => a + (list.find((t) => t.hash === h)?.series ?? 0), 0);

test('the event log keeps the newest events, newest first, within its capacity', () => {
  let now = Date.parse('2026-12-03T22:00:00Z');
  const log = new EventLog(3, () => now++);
  for (let i = 0; i < 5; i++) log.record('place', `event ${i}`);
  assert.deepEqual(log.list().map((e) => e.message), ['event 4', 'event 3', 'event 2']);
  assert.deepEqual(log.list(1).map((e) => e.message), ['event 4']);
  assert.equal(log.list(0).length, 0);
  assert.equal(log.list()[0]!.time, '2026-12-03T22:00:00.004Z');
});

test('a first plan reads as placements per shard; a scale-up says how many series at which budget', () => {
  const plan = planAssignments({ nowMs: 0, targets, shards: [], options });
  const events = cycleEvents(plan, [], loadOf([], targets), options.maxSeries, new Set());
  assert.deepEqual(cycleEvents(plan, [], loadOf([], targets), options.maxSeries, new Set(targets.map((t) => t.hash))), [], 'placed by an earlier plan: not new');
  assert.deepEqual(events.map((e) => e.message), ['placed 2 new targets on shard-0', 'placed 2 new targets on shard-1', 'placed 2 new targets on shard-2']);
  assert.deepEqual(scaleEvent(0, 3, 60300, 30000), { kind: 'scale-up', message: 'scale-up from 0 to 3 shards: 60300 series to place at 30000 per shard' });
  assert.equal(scaleEvent(3, 2, 0, 30000).kind, 'scale-down');
});

test('a coordinator\'s first plan: what a shard itself reports is not new; what no shard reports and no plan placed is', () => {
  const view = (hs: string[]): PlannerShard['targets'] => ShardTargets.of(hs.map((h) => [h, { state: 'normal' as const, scrapes: 5 }]));
  // Shard 0 reports t0 and t1, shard 1 reports t5 (a target the planner may place elsewhere).
  const shards: PlannerShard[] = [
    { id: 0, ready: true, notReadySinceMs: null, targets: view(['t0', 't1']), idleSinceMs: null },
    { id: 1, ready: true, notReadySinceMs: null, targets: view(['t5']), idleSinceMs: null },
  ];
  const plan = planAssignments({ nowMs: 0, targets, shards, options });
  const holding = (h: string): number => plan.assignments.findIndex((a) => a.has(h));
  // Told nothing else (no earlier plan, no shard found through onShard), only each shard's own view can tell.
  const nobody = (): boolean => false;
  const placed = (onShard: (h: string) => boolean): Map<number, number> => {
    const counts = new Map<number, number>();
    for (const e of cycleEvents(plan, shards, loadOf(shards, targets), options.maxSeries, new Set(), [], null, onShard)) {
      const m = /^placed (\d+) new targets? on shard-(\d+)$/.exec(e.message);
      if (m) counts.set(Number(m[2]), Number(m[1]));
    }
    return counts;
  };
  const expected = (onShard: (h: string) => boolean): Map<number, number> => {
    const counts = new Map<number, number>();
    for (const t of targets) {
      const i = holding(t.hash);
      if (shards[i]?.targets.has(t.hash) || onShard(t.hash)) continue;
      counts.set(i, (counts.get(i) ?? 0) + 1);
    }
    return counts;
  };
  assert.deepEqual(placed(nobody), expected(nobody));
  assert.ok([...placed(nobody).values()].reduce((a, n) => a + n, 0) >= 3, 'at least the three targets no shard reports');
  const t5 = (h: string): boolean => h === 't5';
  assert.deepEqual(placed(t5), expected(t5), 'a target another shard reports is known through onShard');
});

test('an overloaded shard\'s moves are grouped with its fill against the budget', () => {
  // Shard 0 holds 4 targets of 10050 (134% of 30000), shard 1 is empty.
  const view = (hs: string[]): PlannerShard['targets'] => ShardTargets.of(hs.map((h) => [h, { state: 'normal' as const, scrapes: 5 }]));
  const shards: PlannerShard[] = [
    { id: 0, ready: true, notReadySinceMs: null, targets: view(['t0', 't1', 't2', 't3']), idleSinceMs: null },
    { id: 1, ready: true, notReadySinceMs: null, targets: ShardTargets.EMPTY, idleSinceMs: 0 },
  ];
  const plan = planAssignments({ nowMs: 1000, targets: targets.slice(0, 4), shards, options });
  assert.ok(plan.moves.length > 0, 'the planner relieves shard 0');
  const moves = cycleEvents(plan, shards, loadOf(shards, targets.slice(0, 4)), options.maxSeries, new Set()).filter((e) => e.kind === 'move');
  assert.equal(moves.length, 1);
  assert.match(moves[0]!.message, new RegExp(`^shard-0 at 134% of budget: moving ${plan.moves.length} targets? to shard-1$`));
});

test('what if: the same planner from nothing with another budget gives the shard count and each shard\'s load', () => {
  const one = planFromNothing(targets, { ...options, maxSeries: 70000 });
  assert.equal(one.shards, 1);
  assert.deepEqual(one.placement, [{ shard: 'shard-0', series: 60300, targets: 6 }]);
  const three = planFromNothing(targets, options);
  assert.equal(three.shards, 3);
  assert.equal(three.placement.reduce((a, p) => a + p.targets, 0), 6);
  assert.ok(three.placement.every((p) => p.series <= 30000));
});

test('the placements counted from the records\' changes equal those counted from the records whole (the bulk path)', () => {
  const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  const recordsArb = fc.array(fc.subarray(keys), { minLength: 1, maxLength: 4 });
  fc.assert(fc.property(recordsArb, recordsArb, fc.array(fc.subarray(keys), { maxLength: 4 }), fc.subarray(keys), (was, now, reported, alsoPlaced) => {
    const record = (ks: string[]) => AssignmentRecord.of(Object.fromEntries(ks.map((k) => [k, 'normal' as const])));
    const previous = was.map(record);
    // Some records the same objects as before (not read), the others made anew.
    const assignments = now.map((ks, i) => (i < previous.length && ks.length === 0 ? previous[i]! : record(ks)));
    const shards: PlannerShard[] = reported.map((ks, id) => ({ id, ready: true, notReadySinceMs: null, idleSinceMs: null, targets: ShardTargets.of(ks.map((h) => [h, { state: 'normal' as const, scrapes: 1 }])) }));
    // Every target of the last plan's records was placed before it, and maybe others.
    const placedBefore = new Set([...previous.flatMap((r) => [...r.keys]), ...alsoPlaced]);
    const plan = { assignments, desiredShards: assignments.length, moves: [], reassigned: [], completed: [], oversized: [], unplaced: [] };
    const byChanges = cycleEvents(plan, shards, () => 0, options.maxSeries, placedBefore, previous, recordChanges(previous, assignments));
    const whole = cycleEvents(plan, shards, () => 0, options.maxSeries, placedBefore, previous, null);
    assert.deepEqual(byChanges, whole);
  }), { numRuns: 500 });
});
