/**
 * Leader election (src/coordinator/leader.ts) on a fake clock and an in-memory Lease that honours
 * resourceVersion conflicts. Every elector talks to the Lease through its own Link, whose faults (errors,
 * hangs that honour or ignore the abort signal, writes whose response is lost, latency) are scripted in
 * fake time. The driver fires fake timers one at a time and, after each, checks that at most one elector
 * reports isLeader(); each elector's leading intervals [onStartedLeading, onStoppedLeading] are recorded in
 * fake-clock time and checked for overlap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  LeaderElector, LeaseConflict, microTime, systemClock, validateLeaderElection,
  type Clock, type LeaderElectorOptions, type LeaseRecord, type LeaseStore, type StoredLease,
} from '../../src/coordinator/leader.js';

const T0 = Date.UTC(2026, 11, 3, 17, 0, 0);
const LD = 3000;
const RD = 2000;
const RP = 500;
const JITTER_FACTOR_PLUS_1 = 2.2;
const JMAX = RP * JITTER_FACTOR_PLUS_1; // longest acquire retry interval: retryPeriod * (1 + JitterFactor)

// --- fake clock ---

interface Timer { due: number; seq: number; fire(): void }

class FakeClock implements Clock {
  t = T0;
  private seq = 0;
  private timers: Timer[] = [];
  now(): number { return this.t; }
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const onAbort = (): void => { this.timers = this.timers.filter((x) => x !== timer); resolve(); };
      const timer: Timer = { due: this.t + Math.max(0, ms), seq: this.seq++, fire: () => { signal.removeEventListener('abort', onAbort); resolve(); } };
      this.timers.push(timer);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
  at(time: number, fire: () => void): void { this.timers.push({ due: time, seq: this.seq++, fire }); }
  pending(): number { return this.timers.length; }
  /** Fires timers in (due, seq) order up to `end`, settling all promise work after each; then sets now = end. */
  async runUntil(end: number, check: () => void = () => {}): Promise<void> {
    for (;;) {
      await new Promise((r) => setImmediate(r));
      check();
      let next: Timer | undefined;
      for (const x of this.timers) if (next === undefined || x.due < next.due || (x.due === next.due && x.seq < next.seq)) next = x;
      if (next === undefined || next.due > end) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = Math.max(this.t, next.due);
      next.fire();
    }
    this.t = Math.max(this.t, end);
    await new Promise((r) => setImmediate(r));
    check();
  }
}

// --- in-memory Lease and faulty links ---

interface Op { seq: number; at: number; who: string; op: 'get' | 'create' | 'update' | 'conflict'; record?: LeaseRecord; prev?: LeaseRecord }

class MemLease {
  stored: StoredLease | undefined;
  private rv = 100;
  ops: Op[] = [];
  constructor(private readonly clock: FakeClock, private readonly log: string[]) {}
  private note(who: string, op: Op['op'], record?: LeaseRecord, prev?: LeaseRecord): void {
    this.ops.push({ seq: this.ops.length, at: this.clock.now(), who, op, record, prev });
    this.log.push(`${op}:${who}${record ? `:${record.holderIdentity}` : ''}`);
  }
  get(who: string): StoredLease | undefined {
    this.note(who, 'get');
    return this.stored && structuredClone(this.stored);
  }
  create(who: string, record: LeaseRecord): StoredLease {
    if (this.stored) { this.note(who, 'conflict', record); throw new LeaseConflict('leases.coordination.k8s.io "kvass" already exists'); }
    this.stored = { record: { ...record }, resourceVersion: String(this.rv++) };
    this.note(who, 'create', record);
    return structuredClone(this.stored);
  }
  update(who: string, record: LeaseRecord, resourceVersion: string): StoredLease {
    if (!this.stored) throw new Error('leases.coordination.k8s.io "kvass" not found');
    if (this.stored.resourceVersion !== resourceVersion) { this.note(who, 'conflict', record); throw new LeaseConflict('the object has been modified'); }
    const prev = this.stored.record;
    this.stored = { record: { ...record }, resourceVersion: String(this.rv++) };
    this.note(who, 'update', record, prev);
    return structuredClone(this.stored);
  }
  /** A write from outside the election (someone else's client). */
  force(record: LeaseRecord): void {
    this.stored = { record: { ...record }, resourceVersion: String(this.rv++) };
    this.note('external', 'update', record);
  }
  writes(who?: string): Op[] { return this.ops.filter((o) => (o.op === 'create' || o.op === 'update') && (who === undefined || o.who === who)); }
}

type Mode =
  | { kind: 'ok'; before: number; after: number }
  | { kind: 'fail' }
  | { kind: 'hang'; ignoreSignal: boolean }
  /** The call reaches the server (a write commits) but the response never arrives. */
  | { kind: 'lose-response' };
const OK: Mode = { kind: 'ok', before: 0, after: 0 };

class Link implements LeaseStore {
  mode: Mode = OK;
  calls = 0;
  constructor(private readonly mem: MemLease, private readonly clock: FakeClock, private readonly who: string) {}
  private async call<T>(signal: AbortSignal, op: () => T): Promise<T> {
    this.calls++;
    const m = this.mode;
    const aborted = (): Promise<never> => new Promise((_, reject) => {
      if (signal.aborted) reject(new Error('aborted'));
      signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
    if (m.kind === 'fail') throw new Error('503 Service Unavailable');
    if (m.kind === 'hang') return m.ignoreSignal ? new Promise<never>(() => {}) : aborted();
    if (m.kind === 'ok' && m.before > 0) await this.clock.sleep(m.before, signal);
    if (signal.aborted) throw new Error('aborted');
    const v = op();
    if (m.kind === 'lose-response') return aborted();
    if (m.after > 0) await this.clock.sleep(m.after, signal);
    if (signal.aborted) throw new Error('aborted');
    return v;
  }
  get(signal: AbortSignal): Promise<StoredLease | undefined> { return this.call(signal, () => this.mem.get(this.who)); }
  create(record: LeaseRecord, signal: AbortSignal): Promise<StoredLease> { return this.call(signal, () => this.mem.create(this.who, record)); }
  update(record: LeaseRecord, rv: string, signal: AbortSignal): Promise<StoredLease> { return this.call(signal, () => this.mem.update(this.who, record, rv)); }
}

// --- electors ---

/** Fake-clock times, and positions in Env.log (event order within one instant). */
interface Interval { start: number; stop: number | undefined; maxValid: number; startSeq: number; stopSeq?: number }
interface Member {
  id: string; skew: number; link: Link; elector: LeaderElector; ctrl: AbortController; done: Promise<void>;
  intervals: Interval[]; newLeaders: string[]; leadingSignals: AbortSignal[];
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
}

const quiet = { info() {}, warn() {}, debug() {} };

class Env {
  clock = new FakeClock();
  log: string[] = [];
  mem = new MemLease(this.clock, this.log);
  members: Member[] = [];
  cfg = { leaseDurationMs: LD, renewDeadlineMs: RD, retryPeriodMs: RP };

  /** A new elector; `skew` is how far its clock is ahead of the fake (global) clock. */
  join(id: string, o: { extra?: Partial<LeaderElectorOptions>; seed?: number; mode?: Mode; skew?: number } = {}): Member {
    const link = new Link(this.mem, this.clock, id);
    link.mode = o.mode ?? OK;
    const skew = o.skew ?? 0;
    const clock: Clock = { now: () => this.clock.now() + skew, sleep: (ms, signal) => this.clock.sleep(ms, signal) };
    const m = { id, link, skew, intervals: [], newLeaders: [], leadingSignals: [] } as unknown as Member;
    m.elector = new LeaderElector({
      identity: id, store: link, clock, log: quiet, random: lcg(o.seed ?? id.charCodeAt(0)), ...this.cfg,
      onStartedLeading: (signal) => {
        m.intervals.push({ start: this.clock.now(), stop: undefined, maxValid: m.elector.validUntil() - skew, startSeq: this.log.length });
        m.leadingSignals.push(signal);
        this.log.push(`start:${id}`);
      },
      onStoppedLeading: () => {
        const last = m.intervals.at(-1);
        assert.ok(last && last.stop === undefined, `${id}: onStoppedLeading without onStartedLeading`);
        last.stop = this.clock.now();
        last.stopSeq = this.log.length;
        this.log.push(`stop:${id}`);
      },
      onNewLeader: (l) => m.newLeaders.push(l),
      ...o.extra,
    });
    m.ctrl = new AbortController();
    m.done = m.elector.run(m.ctrl.signal);
    this.members.push(m);
    return m;
  }

  /** After every fake-time step: at most one elector says it leads, and its validUntil is tracked. */
  check = (): void => {
    const leaders = this.members.filter((m) => m.elector.isLeader());
    assert.ok(leaders.length <= 1, `two leaders at ${this.clock.now() - T0}: ${leaders.map((m) => m.id).join(',')}`);
    for (const m of this.members) {
      const last = m.intervals.at(-1);
      if (last && last.stop === undefined) {
        assert.ok(this.clock.now() <= last.maxValid, `${m.id} leading past validUntil`);
        last.maxValid = Math.max(last.maxValid, m.elector.validUntil() - m.skew);
      }
    }
  };

  run(ms: number): Promise<void> { return this.clock.runUntil(this.clock.now() + ms, this.check); }
  runTo(t: number): Promise<void> { return this.clock.runUntil(t, this.check); }

  /** All leading intervals of all electors, by start; asserts that none overlap. */
  intervals(): Array<Interval & { id: string }> {
    const all = this.members.flatMap((m) => m.intervals.map((i) => ({ ...i, id: m.id }))).sort((a, b) => a.start - b.start);
    for (let i = 1; i < all.length; i++) {
      const prev = all[i - 1]!;
      const next = all[i]!;
      // Stopping and the next start may share an instant (after a release, or the same elector re-acquiring its own
      // lease after a late renewal), but never in the wrong order.
      assert.ok(prev.stop !== undefined && prev.stop <= next.start && prev.stopSeq! < next.startSeq,
        `overlap: ${prev.id} [${prev.start - T0}, ${prev.stop === undefined ? '∞' : prev.stop - T0}] and ${next.id} from ${next.start - T0}`);
      assert.ok(prev.stop <= prev.maxValid, `${prev.id} stopped after its validUntil`);
    }
    return all;
  }
}

/** client-go's record rules on every write by an elector. */
function checkRecordRules(mem: MemLease): void {
  for (const w of mem.writes()) {
    if (w.who === 'external') continue;
    const r = w.record!;
    const p = w.prev;
    if (r.holderIdentity === '') { // release
      assert.equal(r.leaseDurationSeconds, 1);
      assert.equal(r.leaseTransitions, p!.leaseTransitions);
    } else if (p === undefined) { // create
      assert.equal(r.leaseTransitions, 0);
      assert.equal(r.acquireTime, r.renewTime);
    } else if (p.holderIdentity === r.holderIdentity) { // renew
      assert.equal(r.acquireTime, p.acquireTime);
      assert.equal(r.leaseTransitions, p.leaseTransitions);
    } else { // takeover
      assert.equal(r.leaseTransitions, p.leaseTransitions + 1);
      assert.equal(r.acquireTime, r.renewTime);
    }
  }
}

async function stopAll(env: Env): Promise<void> {
  for (const m of env.members) m.ctrl.abort();
  await env.run(env.cfg.renewDeadlineMs + 1);
  for (const m of env.members) await m.done;
}

// --- tests ---

test('validateLeaderElection: client-go NewLeaderElector checks, in its order', () => {
  assert.equal(validateLeaderElection(15_000, 10_000, 2_000), undefined);
  assert.equal(validateLeaderElection(LD, RD, RP), undefined);
  assert.equal(validateLeaderElection(10_000, 10_000, 2_000), 'leaseDuration must be greater than renewDeadline');
  assert.equal(validateLeaderElection(5_000, 10_000, 2_000), 'leaseDuration must be greater than renewDeadline');
  assert.equal(validateLeaderElection(15_000, 2_400, 2_000), 'renewDeadline must be greater than retryPeriod*JitterFactor');
  assert.equal(validateLeaderElection(15_000, 2_401, 2_000), undefined);
  assert.equal(validateLeaderElection(0.5, 0.4, 0.1), 'leaseDuration must be greater than zero');
  assert.equal(validateLeaderElection(5, 0.5, 0.1), 'renewDeadline must be greater than zero');
  assert.equal(validateLeaderElection(5, 2, 0), 'retryPeriod must be greater than zero');
  assert.equal(validateLeaderElection(0, 0, 0), 'leaseDuration must be greater than renewDeadline');
  assert.match(validateLeaderElection(Number.NaN, RD, RP) ?? '', /finite/);
  const env = new Env();
  assert.throws(() => env.join('a', { extra: { renewDeadlineMs: LD } }), /leaseDuration must be greater than renewDeadline/);
  assert.throws(() => env.join(''), /Lock identity is empty/);
});

test('microTime: RFC3339 with microseconds, UTC', () => {
  assert.equal(microTime(T0), '2026-12-03T17:00:00.000000Z');
  assert.equal(microTime(T0 + 61_234), '2026-12-03T17:01:01.234000Z');
});

test('systemClock: sleep resolves after the delay, or early (no throw) on abort', async () => {
  const t = systemClock.now();
  await systemClock.sleep(5, new AbortController().signal);
  assert.ok(systemClock.now() - t >= 4);
  const ctrl = new AbortController();
  const p = systemClock.sleep(60_000, ctrl.signal);
  ctrl.abort();
  await p;
  ctrl.abort();
  await systemClock.sleep(60_000, ctrl.signal);
});

test('a single elector creates the Lease, leads, and renews keeping acquireTime and leaseTransitions', async () => {
  const env = new Env();
  const a = env.join('a');
  await env.run(0);
  assert.equal(a.elector.isLeader(), true);
  assert.equal(a.elector.leader(), 'a');
  assert.equal(a.elector.validUntil(), T0 + RD);
  assert.deepEqual(a.intervals, [{ start: T0, stop: undefined, maxValid: T0 + RD, startSeq: 2 }]);
  assert.deepEqual(a.newLeaders, ['a']);
  assert.deepEqual(env.mem.stored?.record, {
    holderIdentity: 'a', leaseDurationSeconds: 3, acquireTime: microTime(T0), renewTime: microTime(T0), leaseTransitions: 0,
  });
  await env.run(10_000);
  assert.equal(a.elector.isLeader(), true);
  assert.deepEqual(env.mem.stored?.record, {
    holderIdentity: 'a', leaseDurationSeconds: 3, acquireTime: microTime(T0), renewTime: microTime(T0 + 10_000), leaseTransitions: 0,
  });
  assert.equal(a.elector.validUntil(), T0 + 10_000 + RD);
  assert.equal(env.mem.writes('a').length, 21); // create + one renewal per retryPeriod
  assert.equal(env.mem.ops.filter((o) => o.op === 'get').length, 1); // renewals take the optimistic path
  assert.equal(a.leadingSignals[0]!.aborted, false);
  a.ctrl.abort();
  await env.run(0);
  await a.done;
  assert.equal(a.leadingSignals[0]!.aborted, true);
  assert.equal(a.intervals[0]!.stop, T0 + 10_000);
  assert.equal(a.elector.isLeader(), false);
  assert.equal(a.elector.validUntil(), 0);
  assert.equal(env.mem.stored?.record.holderIdentity, 'a'); // no release without releaseOnCancel
  assert.equal(env.clock.pending(), 0);
  checkRecordRules(env.mem);
});

test('leaseDurationSeconds is rounded up, never shorter than leaseDurationMs', async () => {
  const env = new Env();
  env.cfg = { leaseDurationMs: 2_500, renewDeadlineMs: 2_000, retryPeriodMs: 500 };
  env.join('a');
  await env.run(0);
  assert.equal(env.mem.stored?.record.leaseDurationSeconds, 3);
  await stopAll(env);
});

test('a standby stays standby while the leader renews', async () => {
  const env = new Env();
  const a = env.join('a');
  await env.run(700);
  const b = env.join('b');
  await env.run(30_000);
  assert.equal(a.elector.isLeader(), true);
  assert.equal(b.elector.isLeader(), false);
  assert.equal(b.elector.validUntil(), 0);
  assert.equal(b.elector.leader(), 'a');
  assert.deepEqual(b.newLeaders, ['a']);
  assert.equal(b.intervals.length, 0);
  assert.equal(a.intervals.length, 1);
  assert.equal(env.mem.stored?.record.leaseTransitions, 0);
  assert.equal(env.mem.writes('b').length, 0);
  await stopAll(env);
  env.intervals();
});

for (const fault of [
  { kind: 'fail' }, { kind: 'hang', ignoreSignal: false }, { kind: 'hang', ignoreSignal: true }, { kind: 'lose-response' },
] as const satisfies readonly Mode[]) {
  test(`leader cut off (${JSON.stringify(fault)}): it stops at validUntil, before the standby takes over`, async () => {
    const env = new Env();
    const a = env.join('a');
    await env.run(300);
    const b = env.join('b');
    await env.run(7_130);
    assert.equal(a.elector.isLeader(), true);
    a.link.mode = fault;
    const cut = env.clock.now();
    const lastOk = env.mem.writes('a').filter((w) => w.at <= cut).at(-1)!.at; // last renewal a knows succeeded
    await env.run(20_000);

    const [ia, ib, ...rest] = env.intervals();
    assert.equal(rest.length, 0);
    assert.equal(ia!.id, 'a');
    assert.equal(ib!.id, 'b');
    assert.equal(ia!.maxValid, lastOk + RD);
    assert.equal(ia!.stop, lastOk + RD, 'a stops exactly when its validUntil passes');
    assert.equal(a.leadingSignals[0]!.aborted, true);
    assert.ok(ia!.maxValid < ib!.start, 'validUntil of the old leader < takeover');
    // b needs leaseDuration without a change: from its first observation of a's last write, plus one retry.
    const lastWrite = env.mem.writes('a').at(-1)!;
    const observed = env.mem.ops.find((o) => o.who === 'b' && o.op === 'get' && o.seq > lastWrite.seq)!.at;
    assert.ok(ib!.start >= observed + LD);
    assert.ok(ib!.start <= observed + LD + JMAX, `takeover ${ib!.start - observed} ms after b observed a's last write`);
    assert.ok(ib!.start <= lastWrite.at + LD + 2 * JMAX);
    assert.equal(b.elector.isLeader(), true);
    assert.equal(a.elector.leader(), 'a'); // a cannot see the change
    assert.deepEqual(b.newLeaders, ['a', 'b']);
    const rec = env.mem.stored!.record;
    assert.equal(rec.holderIdentity, 'b');
    assert.equal(rec.leaseTransitions, 1);
    assert.equal(rec.acquireTime, microTime(ib!.start));

    // a comes back: it sees b's lease and stays standby.
    a.link.mode = OK;
    await env.run(10_000);
    assert.equal(a.elector.leader(), 'b');
    assert.equal(a.elector.isLeader(), false);
    assert.equal(b.elector.isLeader(), true);
    assert.equal(a.intervals.length, 1);
    await stopAll(env);
    env.intervals();
    checkRecordRules(env.mem);
  });
}

test('validUntil counts from the start of the successful try, not from its (late) response', async () => {
  for (let offset = 0; offset < 1_000; offset += 100) {
    const env = new Env();
    env.cfg = { leaseDurationMs: 3_000, renewDeadlineMs: 2_900, retryPeriodMs: 500 };
    const a = env.join('a', { mode: { kind: 'ok', before: 0, after: 400 } }); // commits at once, answers 400 ms later
    await env.run(1_000 + offset);
    const b = env.join('b', { extra: { random: () => 0 } });
    await env.run(5_000 - offset);
    assert.equal(a.elector.isLeader(), true);
    a.link.mode = { kind: 'fail' };
    const lastCommit = env.mem.writes('a').at(-1)!.at;
    await env.run(8_000);
    assert.equal(b.elector.isLeader(), true);
    const [ia, ib] = env.intervals();
    assert.equal(ia!.maxValid, lastCommit + 2_900);
    assert.ok(ia!.maxValid < ib!.start);
    await stopAll(env);
  }
});

test('clock skew: expiry is judged on local observation time, not on renewTime', async () => {
  const env = new Env();
  const a = env.join('a', { skew: -3_600_000 }); // renewTime an hour in the past for the others
  await env.run(300);
  const b = env.join('b', { skew: 3_600_000 });
  const c = env.join('c', { skew: 60_000 });
  await env.run(20_000);
  assert.equal(a.elector.isLeader(), true);
  assert.equal(b.intervals.length + c.intervals.length, 0);
  a.link.mode = { kind: 'fail' };
  const lastWrite = env.mem.writes('a').at(-1)!;
  await env.run(LD + 2 * JMAX);
  const [, next] = env.intervals();
  assert.ok(next!.start >= lastWrite.at + LD);
  assert.ok(next!.start <= lastWrite.at + LD + 2 * JMAX);
  await stopAll(env);
  env.intervals();
});

test('a get error or a timed-out call is a failed try; run() does not throw', async () => {
  const env = new Env();
  const a = env.join('a');
  a.link.mode = { kind: 'fail' };
  await env.run(5_000);
  assert.equal(a.elector.isLeader(), false);
  assert.ok(a.link.calls >= 5 && a.link.calls <= 11, `${a.link.calls} tries in 5 s at retryPeriod ${RP} with jitter`);
  a.link.mode = { kind: 'hang', ignoreSignal: true };
  await env.run(5_000);
  assert.equal(a.elector.isLeader(), false);
  a.link.mode = OK;
  await env.run(2 * JMAX + RD);
  assert.equal(a.elector.isLeader(), true);
  await stopAll(env);
  checkRecordRules(env.mem);
});

test('conflicts: simultaneous creates, a resourceVersion bump, a holder change from outside', async () => {
  const env = new Env();
  const slow: Mode = { kind: 'ok', before: 10, after: 10 };
  const a = env.join('a', { seed: 1, mode: slow });
  const b = env.join('b', { seed: 2, mode: slow });
  await env.run(100);
  // Both saw no Lease and both POSTed: exactly one create succeeded, the other was a conflict (a failed try).
  assert.equal(env.mem.ops.filter((o) => o.op === 'create').length, 1);
  assert.equal(env.mem.ops.filter((o) => o.op === 'conflict').length, 1);
  const [leader, standby] = a.elector.isLeader() ? [a, b] : [b, a];
  assert.equal(leader.elector.isLeader(), true);
  assert.equal(standby.elector.isLeader(), false);
  leader.link.mode = OK;
  standby.link.mode = OK;

  // Someone rewrites the same record (new resourceVersion): the leader's optimistic update conflicts, it falls
  // back to get + update and keeps leading.
  await env.run(2_000);
  env.mem.force(env.mem.stored!.record);
  const n = env.mem.ops.length;
  await env.run(RP);
  assert.deepEqual(env.mem.ops.slice(n).filter((o) => o.who === leader.id).map((o) => o.op), ['conflict', 'get', 'update']);
  assert.equal(leader.intervals.length, 1);
  assert.equal(leader.intervals[0]!.stop, undefined);

  // Another identity writes itself into the Lease: the leader stops at its next try, well before validUntil.
  await env.run(RP / 2);
  const forcedAt = env.clock.now();
  const validUntil = leader.elector.validUntil();
  env.mem.force({ ...env.mem.stored!.record, holderIdentity: 'x', renewTime: microTime(forcedAt), leaseTransitions: 7 });
  const lastRenew = env.mem.writes(leader.id).at(-1)!.at;
  await env.run(RP);
  assert.equal(leader.intervals[0]!.stop, lastRenew + RP, 'stops at its next try');
  assert.ok(leader.intervals[0]!.stop! < validUntil);
  assert.equal(leader.elector.isLeader(), false);
  assert.equal(leader.elector.leader(), 'x');
  assert.ok(leader.newLeaders.includes('x'));
  // 'x' never renews: after leaseDuration without a change one of a, b takes over (transitions 7 + 1).
  await env.run(LD + 2 * JMAX);
  assert.equal([a, b].filter((m) => m.elector.isLeader()).length, 1);
  assert.equal(env.mem.stored!.record.leaseTransitions, 8);
  const takeover = env.intervals().at(-1)!;
  assert.ok(takeover.start >= forcedAt + LD);
  await stopAll(env);
  env.intervals();
  checkRecordRules(env.mem);
});

test('release on cancel: the leader stops, then writes holderIdentity "" and the standby takes over at once', async () => {
  const env = new Env();
  const a = env.join('a', { extra: { releaseOnCancel: true } });
  await env.run(300);
  const b = env.join('b');
  await env.run(4_000);
  assert.equal(a.elector.isLeader(), true);
  const cancelAt = env.clock.now();
  a.ctrl.abort();
  await env.run(0);
  await a.done;
  assert.equal(a.intervals[0]!.stop, cancelAt);
  const rel = env.mem.writes('a').at(-1)!;
  assert.equal(rel.at, cancelAt);
  assert.deepEqual(rel.record, {
    holderIdentity: '', leaseDurationSeconds: 1, acquireTime: microTime(cancelAt), renewTime: microTime(cancelAt), leaseTransitions: 0,
  });
  assert.ok(env.log.indexOf('stop:a') < env.log.lastIndexOf('update:a:'), 'stopped leading before the release was written');
  assert.equal(a.elector.leader(), '');
  await env.run(JMAX);
  assert.equal(b.elector.isLeader(), true);
  const [, ib] = env.intervals();
  assert.ok(ib!.start - cancelAt <= JMAX, `takeover ${ib!.start - cancelAt} ms after the release`);
  assert.equal(env.mem.stored!.record.leaseTransitions, 1);
  await stopAll(env);
  checkRecordRules(env.mem);
});

test('without releaseOnCancel the standby waits leaseDuration after a cancel', async () => {
  const env = new Env();
  const a = env.join('a');
  await env.run(300);
  const b = env.join('b');
  await env.run(4_000);
  const cancelAt = env.clock.now();
  a.ctrl.abort();
  await env.run(LD + 2 * JMAX);
  await a.done;
  const [, ib] = env.intervals();
  assert.ok(ib!.start >= cancelAt + LD - RP, 'b waits for the lease to expire');
  assert.equal(b.elector.isLeader(), true);
  await stopAll(env);
});

test('release is skipped when the Lease names someone else', async () => {
  const env = new Env();
  const a = env.join('a', { extra: { releaseOnCancel: true } });
  await env.run(1_000);
  env.mem.force({ ...env.mem.stored!.record, holderIdentity: 'x' });
  a.ctrl.abort(); // aborts before a notices
  await env.run(0);
  await a.done;
  assert.equal(env.mem.stored!.record.holderIdentity, 'x');
  assert.equal(env.mem.writes('a').filter((w) => w.record!.holderIdentity === '').length, 0);
});

// --- property: random failure schedules for 2–3 electors ---

/** A link fault; latencies in percent of retryPeriod. */
const modeArb: fc.Arbitrary<Mode> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('ok' as const), before: fc.integer({ min: 0, max: 100 }), after: fc.integer({ min: 0, max: 100 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'fail' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('hang' as const), ignoreSignal: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'lose-response' as const }) },
);

const scenarioArb = fc.record({
  ld: fc.integer({ min: 1_500, max: 5_000 }),
  rp: fc.integer({ min: 50, max: 800 }),
  rdFrac: fc.double({ min: 0, max: 1, noNaN: true }),
  releaseOnCancel: fc.boolean(),
  electors: fc.array(fc.record({
    startAt: fc.integer({ min: 0, max: 5_000 }),
    seed: fc.integer(),
    /** Clock offset: clocks differ, but run at the same rate. */
    skew: fc.integer({ min: -3_600_000, max: 3_600_000 }),
    /** [duration ms, fault] from the elector's start; links work again after chaos ends. */
    segments: fc.array(fc.tuple(fc.integer({ min: 0, max: 8_000 }), modeArb), { maxLength: 12 }),
    /** Crash (abort run) this long after start, and maybe restart (new identity) after that long. */
    crash: fc.option(fc.tuple(fc.integer({ min: 0, max: 25_000 }), fc.option(fc.integer({ min: 0, max: 10_000 }))), { freq: 3 }),
  }), { minLength: 2, maxLength: 3 }),
});

test('property: no two electors lead at once under random faults, crashes and restarts', async () => {
  await fc.assert(fc.asyncProperty(scenarioArb, async (s) => {
    const env = new Env();
    const minRd = Math.floor(1.2 * s.rp) + 1;
    const rd = minRd + Math.floor(s.rdFrac * (s.ld - 1 - minRd));
    env.cfg = { leaseDurationMs: s.ld, renewDeadlineMs: rd, retryPeriodMs: s.rp };
    const chaosEnd = T0 + 30_000;
    const scale = (m: Mode): Mode => (m.kind === 'ok' ? { kind: 'ok', before: Math.floor((m.before * s.rp) / 100), after: Math.floor((m.after * s.rp) / 100) } : m);
    s.electors.forEach((e, i) => {
      let gen = 0;
      const start = (): Member => {
        const m = env.join(`e${i}.${gen++}`, { extra: { releaseOnCancel: s.releaseOnCancel }, seed: e.seed + gen, skew: e.skew });
        let t = env.clock.now();
        for (const [dur, mode] of e.segments) {
          env.clock.at(t, () => { if (env.clock.now() < chaosEnd) m.link.mode = scale(mode); });
          t += dur;
        }
        env.clock.at(Math.min(t, chaosEnd), () => { m.link.mode = OK; });
        return m;
      };
      env.clock.at(T0 + e.startAt, () => {
        const m = start();
        if (e.crash === null) return;
        const [after, restart] = e.crash;
        env.clock.at(env.clock.now() + after, () => {
          m.ctrl.abort();
          if (restart !== null) env.clock.at(env.clock.now() + restart, () => { start(); });
        });
      });
    });
    const lastStart = Math.max(...s.electors.map((e) => e.startAt + (e.crash ? e.crash[0] + (e.crash[1] ?? 0) : 0)));
    await env.runTo(Math.max(chaosEnd, T0 + lastStart));
    for (const m of env.members) m.link.mode = OK;
    // Calm: every link works without latency; the live electors settle on exactly one leader within a hung
    // try (renewDeadline), an observation, the advertised lease duration and a retry.
    await env.run(rd + Math.ceil(s.ld / 1000) * 1000 + 3 * JITTER_FACTOR_PLUS_1 * s.rp);
    const live = env.members.filter((m) => !m.ctrl.signal.aborted);
    if (live.length > 0) assert.equal(live.filter((m) => m.elector.isLeader()).length, 1, 'one leader after the calm period');
    await stopAll(env);
    const all = env.intervals();
    // Without release, a new leader starts only after the previous one's validUntil.
    if (!s.releaseOnCancel) for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.maxValid < all[i]!.start || all[i - 1]!.id === all[i]!.id);
    checkRecordRules(env.mem);
  }), { numRuns: Number(process.env.LEADER_PROPERTY_RUNS ?? 100), includeErrorInReport: true });
});
