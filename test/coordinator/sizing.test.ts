/**
 * The coordinator's sizes kept up to date by hash (src/coordinator/sizing.ts) and the measured statuses kept from
 * the sidecars' changes (src/coordinator/measured.ts) must equal what building them afresh gives, over random
 * sequences of changes: targets coming and going (their seats given back and taken again, or every target seated
 * afresh), sidecars reporting, leaving and being read in another order, probes answering, shards' records changing.
 * The measured statuses are kept by the targets' seats, and checked by hash and at each target's seat.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MeasuredStatuses } from '../../src/coordinator/measured.js';
import { SidecarMirror, type StatusSummary } from '../../src/coordinator/sidecar-mirror.js';
import { BULK_SIZING, TargetSizes, type BulkSizing, type SizingSources } from '../../src/coordinator/sizing.js';
import type { ProbeResult } from '../../src/coordinator/explore.js';
import { targetLabelProblem, type TargetStatus } from '../../src/shard/contract.js';
import type { Target } from '../../src/target/populate.js';
import { Seats } from '../../src/coordinator/seats.js';

const HASHES = ['h0', 'h1', 'h2', 'h3', 'h4', 'h5'];

function status(hash: string, health: TargetStatus['health'], series: number, scrapes: number): TargetStatus {
  return {
    hash, job: 'j', labels: {}, state: 'normal', health, lastError: health === 'down' ? 'boom' : '', lastScrape: null, lastScrapeDuration: 0,
    series, lastSeries: series, samples: series, bytes: 0, scrapesSinceAssigned: scrapes, assignedAt: '2026-12-04T00:00:00Z',
  };
}

function target(hash: string, bad: boolean): Target {
  const labels: Record<string, string> = { __address__: bad ? '' : `${hash}:80`, job: 'j' };
  return { hash, job: 'j', labels, discoveredLabels: labels, scrapeUrl: `http://${hash}:80/metrics`, interval: 10_000, timeout: 10_000, seat: -1 } as unknown as Target;
}

/**
 * Targets by hash, seated as the population seats them (seats.ts), each set or delete an update of its own: a target
 * replaced passes its seat on, one gone gives it back.
 */
class SeatedTargets extends Map<string, Target> {
  seats = new Seats();

  constructor(targets: Target[] = []) {
    super();
    for (const t of targets) this.set(t.hash, t);
  }

  override set(hash: string, t: Target): this {
    const old = this.get(hash);
    if (old === t) return this;
    if (old !== undefined) this.seats.release(old);
    this.seats.take(t);
    this.seats.settle();
    return super.set(hash, t);
  }

  override delete(hash: string): boolean {
    const old = this.get(hash);
    if (old !== undefined) this.seats.release(old);
    this.seats.settle();
    return super.delete(hash);
  }

  /** Every target seated afresh, as a population does after an update that failed. */
  reseat(): void {
    this.seats = new Seats();
    const all = [...this.values()].reverse();
    for (const t of all) t.seat = -1;
    for (const t of all) this.seats.take(t);
  }
}

/** The best status per hash as the coordinator defined it before measured.ts: up before down, then the largest. */
function measuredAfresh(mirrors: readonly SidecarMirror[]): Map<string, StatusSummary> {
  const out = new Map<string, StatusSummary>();
  for (const m of mirrors) {
    for (const st of m.statuses.values()) {
      const prev = out.get(st.hash);
      if (!prev || (st.health === 'up' && (prev.health !== 'up' || st.series > prev.series))) out.set(st.hash, st);
    }
  }
  return out;
}

const op = fc.oneof(
  fc.record({ kind: fc.constant('report' as const), mirror: fc.nat(2), hash: fc.constantFrom(...HASHES), health: fc.constantFrom('up', 'down', 'unknown') as fc.Arbitrary<TargetStatus['health']>, series: fc.constantFrom(10, 20, 30), scrapes: fc.nat(3) }),
  fc.record({ kind: fc.constant('unreport' as const), mirror: fc.nat(2), hash: fc.constantFrom(...HASHES) }),
  fc.record({ kind: fc.constant('restart' as const), mirror: fc.nat(2) }),
  fc.record({ kind: fc.constant('read' as const), which: fc.shuffledSubarray([0, 1, 2]) }),
  fc.record({ kind: fc.constant('target' as const), hash: fc.constantFrom(...HASHES), present: fc.boolean(), bad: fc.boolean() }),
  // Several targets coming, going and replaced before the sizes see any (cycles that failed before sizing): seats
  // given back and taken again by others in between.
  fc.record({ kind: fc.constant('churn' as const), changes: fc.array(fc.record({ hash: fc.constantFrom(...HASHES), present: fc.boolean(), bad: fc.boolean() }), { minLength: 2, maxLength: 6 }) }),
  fc.record({ kind: fc.constant('probe' as const), hash: fc.constantFrom(...HASHES), ok: fc.boolean(), series: fc.constantFrom(7, 70), attempts: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('hold' as const), hash: fc.constantFrom(...HASHES), held: fc.boolean() }),
  fc.record({ kind: fc.constant('rebuild' as const) }),
  fc.record({ kind: fc.constant('reseat' as const) }),
);

test('sizes and measured statuses kept by change equal the ones built afresh, over random change sequences', () => {
  const updates = sizedAgainstAfresh(BULK_SIZING, 2000);
  assert.ok(updates > 8000, `${updates} updates compared`);
});

test('an update with most targets to size, sized again whole instead, equals the one built afresh too', () => {
  // Small thresholds, so that these few targets take the bulk path often (and the path by hash sometimes).
  let bulk = 0;
  const updates = sizedAgainstAfresh({ min: 1, fraction: 0.5 }, 500, () => bulk++);
  assert.ok(bulk > 200 && bulk < updates - 200, `${bulk} of ${updates} updates sized whole`);
});

/** Runs the property with the given bulk thresholds; returns how many updates it compared. */
function sizedAgainstAfresh(thresholds: BulkSizing, numRuns: number, onBulk?: () => void): number {
  let updates = 0;
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
      const mirrors = [new SidecarMirror(), new SidecarMirror(), new SidecarMirror()];
      let read: SidecarMirror[] = [];
      const targets = new SeatedTargets();
      // As population keeps them: why a sidecar would refuse a target, for those it would.
      const problems = new Map<string, string>();
      const probes = new Map<string, ProbeResult>();
      const held = new Set<string>();
      // Kept by seat where the targets are seated (measured.ts), following their seats as the coordinator has it follow
      // the population's.
      const measured = new MeasuredStatuses((h) => targets.get(h));
      const sizes = new TargetSizes(thresholds);
      let built = false;
      // What a planner holding the list knows of it: built from the first list taken, then from the changes told.
      let told = new Map<string, number>();
      let list: readonly unknown[] | null = null;
      for (const o of ops) {
        // The hashes to size again, as the coordinator hands them over: the population's changes with their targets
        // now, the measured statuses' with the targets they found, the probed ones by hash.
        const dirty = new Map<string, Target | undefined>();
        const probedHashes: string[] = [];
        let heldChanged = false;
        let reseated = false;
        if (o.kind === 'report') mirrors[o.mirror]!.apply({ full: false, targets: [status(o.hash, o.health, o.series, o.scrapes)], removed: [] });
        else if (o.kind === 'unreport') mirrors[o.mirror]!.apply({ full: false, targets: [], removed: [o.hash] });
        else if (o.kind === 'restart') mirrors[o.mirror]!.apply({ full: true, targets: [...mirrors[o.mirror]!.statuses.values()].slice(1).map((s) => ({ ...status(s.hash, s.health, s.series, s.scrapesSinceAssigned), ...s })), removed: [] });
        else if (o.kind === 'read') read = o.which.map((k) => mirrors[k]!);
        else if (o.kind === 'target' || o.kind === 'churn') {
          for (const c of o.kind === 'target' ? [o] : o.changes) {
            problems.delete(c.hash);
            if (c.present) {
              const t = target(c.hash, c.bad);
              targets.set(c.hash, t);
              const problem = targetLabelProblem(t.labels);
              if (problem !== undefined) problems.set(c.hash, problem);
            } else targets.delete(c.hash);
            dirty.set(c.hash, targets.get(c.hash));
          }
        } else if (o.kind === 'probe') {
          probes.set(o.hash, { ok: o.ok, series: o.series, error: o.ok ? '' : 'refused', attempts: o.attempts, retryAtMs: 0 });
          probedHashes.push(o.hash);
        } else if (o.kind === 'rebuild') {
          built = false;
        } else if (o.kind === 'reseat') {
          // The sizes keep by seat too: the coordinator sizes every target afresh then.
          targets.reseat();
          reseated = true;
          built = false;
        } else {
          if (o.held) held.add(o.hash);
          else held.delete(o.hash);
          heldChanged = true;
        }
        const released = targets.seats.takeReleased();
        // Told as population tells them: a hash taken out by its hash, one put in by its target.
        measured.followSeats(reseated ? null : [...dirty].map(([h, t]) => t ?? h), released);
        // The measured index against the map built afresh from the sidecars read: by hash, and at each target's seat.
        // Each hash it tells comes with the target the population holds for it.
        const measuredChanged = measured.sync(read);
        for (const [h, t] of measuredChanged) assert.equal(t, targets.get(h), `measured tells ${h} with its target`);
        const fresh = measuredAfresh(read);
        for (const h of HASHES) assert.equal(measured.get(h), fresh.get(h), `measured ${h}`);
        for (const t of targets.values()) assert.equal(measured.at(t), fresh.get(t.hash), `measured ${t.hash} at its seat`);

        const src = (m: (t: Target) => StatusSummary | undefined): SizingSources => ({
          targets, problems, measured: m, probe: (t) => probes.get(t.hash), isOnShard: (t) => held.has(t.hash), defaultSeries: 100,
        });
        if (!built) sizes.rebuild(src((t) => measured.at(t)));
        else {
          const before = sizes.entries;
          sizes.update([dirty, measuredChanged], probedHashes, src((t) => measured.at(t)), heldChanged, released);
          if (sizes.entries !== before) onBulk?.();
        }
        built = true;
        updates++;
        const again = new TargetSizes();
        again.rebuild(src((t) => fresh.get(t.hash)));
        const byHash = (l: ReadonlyArray<{ hash: string; series: number }>) => [...l].map((t) => [t.hash, t.series]).sort();
        assert.deepEqual(byHash(sizes.entries), byHash(again.entries), 'the planner list');
        assert.equal(new Set(sizes.entries.map((t) => t.hash)).size, sizes.entries.length, 'each hash once');
        for (const t of sizes.entries) assert.equal(sizes.entryOf(t.hash), t, `entryOf ${t.hash}`);
        assert.equal(sizes.series, again.series, 'the series counted');
        assert.equal(sizes.plannedSeries, sizes.entries.reduce((a, t) => a + t.series, 0), 'the series of the list');
        const probed = (z: TargetSizes): string[] => {
          const hs: string[] = [];
          z.forEachProbe((t) => hs.push(t.hash));
          return hs.sort();
        };
        assert.deepEqual(probed(sizes), probed(again), 'the targets probed');
        for (const h of probed(sizes)) assert.ok(targets.has(h) && measured.get(h)?.health !== 'up' && !probes.get(h)?.ok, `${h} is probed: discovered, neither up nor probed`);
        assert.deepEqual([...sizes.unassignable].sort(), [...again.unassignable].sort(), 'the unassignable targets');
        if (o.kind === 'read' && o.which.length === 0) continue; // not taken this time: the changes add up
        const taken = sizes.take();
        if (taken.changes === undefined || taken.list !== list) {
          assert.ok(taken.changes === undefined && (list === null || taken.list !== list), 'a new array, and only then, comes without changes');
          told = new Map(taken.list.map((t) => [t.hash, t.series]));
        } else {
          assert.deepEqual([...taken.changes.hashes], [...taken.changes.hashes], 'the changed hashes can be read twice');
          for (const h of taken.changes.hashes) {
            const e = taken.changes.entry(h);
            if (e) told.set(h, e.series);
            else told.delete(h);
          }
        }
        list = taken.list;
        assert.deepEqual([...told].sort(), byHash(sizes.entries), 'the list as its changes tell it');
      }
    }),
    { numRuns },
  );
  return updates;
}

test('the list is changed in place and tells what changed; an unchanged entry keeps its object; a rebuild makes a new array', () => {
  const sizes = new TargetSizes();
  const targets = new SeatedTargets([target('a', false), target('b', false)]);
  const m = new Map([['a', status('a', 'up', 10, 3)], ['b', status('b', 'up', 20, 3)]]);
  const src: SizingSources = { targets, problems: new Map(), measured: (t) => m.get(t.hash), probe: () => undefined, isOnShard: () => true, defaultSeries: 100 };
  sizes.rebuild(src);
  const first = sizes.take();
  assert.equal(first.changes, undefined, 'a rebuilt list is handed over whole');
  const [a, b] = first.list;
  m.set('b', status('b', 'up', 25, 3));
  sizes.update([], ['a', 'b'], src, false, targets.seats.takeReleased());
  const second = sizes.take();
  assert.equal(second.list, first.list, 'changed in place');
  assert.equal(second.list[0], a, 'a did not change: the same object');
  assert.notEqual(second.list[1], b);
  assert.deepEqual(second.list[1], { hash: 'b', series: 30 });
  assert.deepEqual([...second.changes!.hashes], ['b'], 'only b is told as changed');
  sizes.update([], [], src, false, targets.seats.takeReleased());
  assert.deepEqual([...sizes.take().changes!.hashes], [], 'nothing changed');
  sizes.rebuild(src);
  assert.notEqual(sizes.take().list, first.list, 'a rebuild makes a new array (the planner may hold the old one)');
});

test('a seat taken by another target before the sizes ran tells nothing of the target that held it; the next update lists each once', () => {
  const sizes = new TargetSizes();
  const a = target('a', false);
  const targets = new SeatedTargets([a, target('b', false)]);
  const m = new Map([['a', status('a', 'up', 10, 3)], ['b', status('b', 'up', 20, 3)], ['c', status('c', 'up', 30, 3)]]);
  const src: SizingSources = { targets, problems: new Map(), measured: (t) => m.get(t.hash), probe: () => undefined, isOnShard: () => true, defaultSeries: 100 };
  sizes.rebuild(src);
  targets.seats.takeReleased();
  const seat = a.seat;
  targets.delete('a');
  const c = target('c', false);
  targets.set('c', c);
  assert.equal(c.seat, seat, 'c has the seat a gave back');
  assert.equal(sizes.entryOf('c'), undefined, 'c is not listed yet: the seat\'s entry is a\'s');
  assert.equal(sizes.entryOf('a'), undefined, 'a is gone');
  sizes.update([], ['a', 'c'], src, false, targets.seats.takeReleased());
  assert.deepEqual(sizes.entries.map((e) => [e.hash, e.series]).sort(), [['b', 25], ['c', 35]]);
  assert.deepEqual(sizes.entryOf('c'), { hash: 'c', series: 35 });
});

test('an update told of most targets (every probe answered) sizes them whole without looking each one up first', () => {
  const all = Array.from({ length: 40 }, (_, i) => target(`t${i}`, false));
  let lookUps = 0;
  const targets = new (class extends SeatedTargets {
    override get(hash: string): Target | undefined {
      lookUps++;
      return super.get(hash);
    }
  })(all);
  const sizes = new TargetSizes({ min: 10, fraction: 0.25 });
  const src: SizingSources = { targets, problems: new Map(), measured: () => undefined, probe: () => undefined, isOnShard: () => true, defaultSeries: 100 };
  sizes.rebuild(src);
  const before = sizes.entries;
  const found = new Map([['t0', targets.get('t0')]]);
  lookUps = 0;
  sizes.update([found], all.map((t) => t.hash), src, false, targets.seats.takeReleased());
  assert.notEqual(sizes.entries, before, 'sized whole: a new list');
  assert.equal(lookUps, 0, 'the hashes told are counted, not looked up');
});

test('a target a sidecar would refuse (its problem, as population found it) is kept out of the list and listed with the reason, by update and rebuild', () => {
  const sizes = new TargetSizes();
  const targets = new SeatedTargets([target('a', false), target('x', true)]);
  const m = new Map([['a', status('a', 'up', 10, 3)], ['x', status('x', 'up', 20, 3)]]);
  const problems = new Map([['x', targetLabelProblem(targets.get('x')!.labels)!]]);
  const src: SizingSources = { targets, problems, measured: (t) => m.get(t.hash), probe: () => undefined, isOnShard: () => true, defaultSeries: 100 };
  for (const size of [() => sizes.rebuild(src), () => sizes.update([], ['a', 'x'], src, false, targets.seats.takeReleased())]) {
    size();
    assert.deepEqual(sizes.take().list.map((e) => e.hash), ['a']);
    assert.deepEqual([...sizes.unassignable], [['x', '__address__ must be host:port with no path, userinfo or spaces, not ""']]);
  }
});

test('the series counted follow each target: after a removal moves the last entry, and for one counted but not listed, sized again', () => {
  const sizes = new TargetSizes();
  const targets = new SeatedTargets([target('a', false), target('b', false), target('c', false), target('x', true)]);
  const problems = new Map([['x', targetLabelProblem(targets.get('x')!.labels)!]]);
  const m = new Map([['a', status('a', 'up', 10, 3)], ['b', status('b', 'up', 200, 3)], ['c', status('c', 'up', 3000, 3)], ['x', status('x', 'up', 40_000, 3)]]);
  const src: SizingSources = { targets, problems, measured: (t) => m.get(t.hash), probe: () => undefined, isOnShard: () => true, defaultSeries: 100 };
  sizes.rebuild(src);
  assert.equal(sizes.series, 43_210, 'x is counted, though not listed');
  assert.deepEqual(sizes.entries.map((e) => e.hash), ['a', 'b', 'c']);
  // a goes: c (the last entry) takes its place, with its own count.
  targets.delete('a');
  sizes.update([], ['a'], src, false, targets.seats.takeReleased());
  assert.deepEqual(sizes.entries.map((e) => e.hash), ['c', 'b']);
  assert.equal(sizes.series, 43_200);
  m.set('c', status('c', 'up', 5000, 4));
  sizes.update([], ['c'], src, false, targets.seats.takeReleased());
  assert.equal(sizes.series, 45_200, 'c counted 5000 instead of 3000');
  // x goes, then is sized again (still gone): counted once, taken out once.
  targets.delete('x');
  problems.delete('x');
  sizes.update([], ['x'], src, false, targets.seats.takeReleased());
  assert.equal(sizes.series, 5200);
  sizes.update([], ['x'], src, false, targets.seats.takeReleased());
  assert.equal(sizes.series, 5200, 'x is not taken out twice');
});

test('measured statuses: on a tie the sidecar read first wins, also after the read order changed', () => {
  const a = new SidecarMirror();
  const b = new SidecarMirror();
  a.apply({ full: false, targets: [status('h', 'down', 10, 0)], removed: [] });
  b.apply({ full: false, targets: [status('h', 'down', 10, 0)], removed: [] });
  const m = new MeasuredStatuses();
  assert.deepEqual([...m.sync([a, b]).keys()], ['h']);
  assert.equal(m.get('h'), a.statuses.get('h'));
  m.sync([b, a]);
  assert.equal(m.get('h'), b.statuses.get('h'), 'b is read first now');
  b.apply({ full: false, targets: [status('h', 'up', 5, 1)], removed: [] });
  m.sync([b, a]);
  assert.equal(m.get('h')!.health, 'up', 'up wins over down');
  assert.deepEqual([...m.sync([a]).keys()], ['h'], 'b left: its targets are sized again');
  assert.equal(m.get('h'), a.statuses.get('h'));
  assert.equal(m.sync([a]).size, 0, 'nothing new: nothing to size again');
});

test('measured statuses: when the chosen sidecar stops reporting, the best of the others counts, down to one', () => {
  const [a, b, c] = [new SidecarMirror(), new SidecarMirror(), new SidecarMirror()];
  a.apply({ full: false, targets: [status('h', 'up', 10, 1)], removed: [] });
  b.apply({ full: false, targets: [status('h', 'up', 30, 1)], removed: [] });
  c.apply({ full: false, targets: [status('h', 'up', 20, 1)], removed: [] });
  const m = new MeasuredStatuses();
  m.sync([a, b, c]);
  assert.equal(m.get('h'), b.statuses.get('h'), 'the largest series');
  b.apply({ full: false, targets: [], removed: ['h'] });
  assert.deepEqual([...m.sync([a, b, c]).keys()], ['h']);
  assert.equal(m.get('h'), c.statuses.get('h'), 'of the two left, the larger');
  c.apply({ full: false, targets: [], removed: ['h'] });
  m.sync([a, b, c]);
  assert.equal(m.get('h'), a.statuses.get('h'), 'the one left');
  a.apply({ full: false, targets: [status('h', 'down', 10, 0)], removed: [] });
  assert.deepEqual([...m.sync([a, b, c]).keys()], ['h'], 'its new status is told');
  assert.equal(m.get('h')!.health, 'down');
  a.apply({ full: false, targets: [], removed: ['h'] });
  m.sync([a, b, c]);
  assert.equal(m.get('h'), undefined, 'no sidecar reports it');
});

test('measured statuses by seat: a seat another hash took before the index followed answers nothing for it', () => {
  const seats = new Map([['a', 0]]);
  const m = new MeasuredStatuses((h) => (seats.has(h) ? { hash: h, seat: seats.get(h)! } : undefined));
  const s = new SidecarMirror();
  s.apply({ full: false, targets: [status('a', 'up', 10, 1)], removed: [] });
  m.sync([s]);
  assert.equal(m.at({ hash: 'a', seat: 0 }), s.statuses.get('a'));
  // The population let a go and seated b at its seat, and the index has not followed (an update that failed half way).
  seats.delete('a');
  seats.set('b', 0);
  assert.equal(m.get('b'), undefined, "a's status is not b's");
  assert.equal(m.at({ hash: 'b', seat: 0 }), undefined, "a's status is not b's, read at the seat");
  // Seated afresh, as the next update does after a failed one: a, back at another seat, has its status there.
  seats.set('a', 1);
  m.followSeats(null, []);
  assert.equal(m.at({ hash: 'a', seat: 1 }), s.statuses.get('a'));
  assert.equal(m.get('b'), undefined);
});

test('measured statuses by seat: after a hash let go, seated again and no longer reported, the other hash held is still found', () => {
  // The index answers a look-up without the population's map only when it has held nothing: a hash let go (kept
  // apart), seated again and dropped must leave the others found.
  const seats = new Map([['a', 0], ['b', 1]]);
  const m = new MeasuredStatuses((h) => (seats.has(h) ? { hash: h, seat: seats.get(h)! } : undefined));
  const s = new SidecarMirror();
  s.apply({ full: false, targets: [status('a', 'up', 10, 1), status('b', 'up', 20, 1)], removed: [] });
  m.sync([s]);
  assert.equal(m.get('b'), s.statuses.get('b'));
  // The population lets a go (its holder moves to the map), then seats it again elsewhere.
  seats.delete('a');
  m.followSeats([], [{ hash: 'a', seat: 0 }]);
  assert.equal(m.get('a'), s.statuses.get('a'), 'kept apart while unseated');
  seats.set('a', 2);
  m.followSeats([{ hash: 'a', seat: 2 }], []);
  assert.equal(m.at({ hash: 'a', seat: 2 }), s.statuses.get('a'), 'at its new seat');
  // The sidecar stops reporting a: b, still reported, is still found.
  s.apply({ full: false, targets: [], removed: ['a'] });
  m.sync([s]);
  assert.equal(m.get('a'), undefined);
  assert.equal(m.get('b'), s.statuses.get('b'), 'b still held');
  s.apply({ full: false, targets: [], removed: ['b'] });
  m.sync([s]);
  assert.equal(m.get('b'), undefined, 'nothing held: nothing found');
});

test('measured statuses: a sync told not to list changes (the caller sizes everything) indexes the same, lists none', () => {
  const read = (): SidecarMirror[] => {
    const [a, b] = [new SidecarMirror(), new SidecarMirror()];
    a.apply({ full: false, targets: [status('h', 'up', 10, 1), status('g', 'up', 7, 1)], removed: [] });
    b.apply({ full: false, targets: [status('h', 'up', 30, 1), status('k', 'down', 0, 0)], removed: [] });
    return [a, b];
  };
  const [told, quiet] = [new MeasuredStatuses(), new MeasuredStatuses()];
  const [x, y] = [read(), read()];
  assert.deepEqual([...told.sync(x).keys()].sort(), ['g', 'h', 'k']);
  assert.equal(quiet.sync(y, false).size, 0);
  for (const h of ['g', 'h', 'k']) assert.equal(quiet.get(h)?.series, told.get(h)?.series, h);
  assert.equal(quiet.get('h'), y[1]!.statuses.get('h'), 'the larger series of two holders');
  // Afterwards it tells changes again when asked.
  y[0]!.apply({ full: false, targets: [status('g', 'up', 8, 2)], removed: [] });
  assert.deepEqual([...quiet.sync(y).keys()], ['g']);
});
