/**
 * Leader election over a coordination.k8s.io/v1 Lease, with client-go's tools/leaderelection semantics
 * (leaderelection.go + resourcelock/leaselock.go), so that kvass coordinators and Go controllers agree on the
 * rules and so that no two kvass coordinators act as leader at once. Pure: the API server (LeaseStore), time
 * (Clock) and randomness are injected.
 *
 * Rules kept from client-go:
 * - Expiry is judged on the local time a change of the record was *observed* (observedTime) plus the record's
 *   leaseDurationSeconds, never on its renewTime (clocks differ). A record with holderIdentity '' is free.
 * - A renewal keeps acquireTime and leaseTransitions; a change of holder sets acquireTime and adds 1 to
 *   leaseTransitions. The holder first tries an optimistic update with the last resourceVersion it saw, then
 *   falls back to get + update. resourceVersion conflicts, create conflicts and get errors are failed tries.
 * - Acquire is retried every retryPeriod with client-go's jitter (retryPeriod * (1 + rand * 1.2)).
 *
 * Why no two leaders (assuming clocks that run at the same rate, as client-go does, and quorum reads): a
 * successful try that started at t makes this process leader until validUntil() = t + renewDeadline. Its
 * write is committed at or after t, so a standby observes it at some time o >= t and may only take the lease
 * (with an update conditional on the resourceVersion it read) in a try that starts at or after
 * o + leaseDuration > t + renewDeadline. Takeover comes at most one acquire retry later (retryPeriod * 2.2).
 * Each try (all its store calls) is bounded by a timeout that fires at validUntil() (at renewDeadline for
 * acquire tries), even if the store ignores its signal; the leader stops when validUntil() passes.
 * Callers must check `clock.now() < validUntil()` (or isLeader(), which does) before each leader-only write:
 * the `signal` given to onStartedLeading aborts at the same moment but a caller may be mid-await.
 *
 * Differences from client-go, each on the safe side: leaseDurationSeconds is rounded up (not truncated) to
 * whole seconds; the renew deadline counts from the start of the last successful try (client-go: from the
 * start of the renew round); a leader that sees another holder (or '') in the record stops at once; after
 * losing, run() goes back to acquiring instead of returning; onStoppedLeading is only called after
 * onStartedLeading; release (releaseOnCancel) happens after leading stopped and only if the stored record
 * still names this identity; onNewLeader is not called for ''.
 */

/** Lease spec; holderIdentity '' when released; times are MicroTime, see microTime(). */
export interface LeaseRecord { holderIdentity: string; leaseDurationSeconds: number; acquireTime: string; renewTime: string; leaseTransitions: number }
export interface StoredLease { record: LeaseRecord; resourceVersion: string }
/** What the elector needs from the API server. */
export interface LeaseStore {
  /** undefined when the Lease does not exist (404). */
  get(signal: AbortSignal): Promise<StoredLease | undefined>;
  /** POST; throws LeaseConflict when it already exists (409). */
  create(record: LeaseRecord, signal: AbortSignal): Promise<StoredLease>;
  /** PUT with metadata.resourceVersion = resourceVersion; throws LeaseConflict on 409. */
  update(record: LeaseRecord, resourceVersion: string, signal: AbortSignal): Promise<StoredLease>;
}
export class LeaseConflict extends Error { override name = 'LeaseConflict'; }
/** sleep resolves early (no throw) when `signal` aborts. */
export interface Clock { now(): number; sleep(ms: number, signal: AbortSignal): Promise<void> }
export interface LeaderElectorOptions {
  identity: string; store: LeaseStore; clock: Clock;
  leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void; debug?(o: object, m: string): void };
  /** Called when this process becomes leader; `signal` aborts when it stops leading. */
  onStartedLeading(signal: AbortSignal): void;
  /** Called when this process stops leading (only after onStartedLeading). */
  onStoppedLeading(): void;
  /** Called when a new non-empty holder is observed (including this identity). */
  onNewLeader?(identity: string): void;
  /** On abort of run() while leading, write holderIdentity '' so a standby can take over at once. */
  releaseOnCancel?: boolean;
  /** Random source for the acquire jitter, [0, 1); default Math.random. */
  random?: () => number;
}

export const JITTER_FACTOR = 1.2;

/** The real clock; sleep resolves early when `signal` aborts. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => { clearTimeout(timer); signal.removeEventListener('abort', done); resolve(); };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  }),
};

/** client-go NewLeaderElector's checks; the error message, or undefined when valid. */
export function validateLeaderElection(leaseDurationMs: number, renewDeadlineMs: number, retryPeriodMs: number): string | undefined {
  if (![leaseDurationMs, renewDeadlineMs, retryPeriodMs].every(Number.isFinite)) return 'leaseDuration, renewDeadline and retryPeriod must be finite';
  if (leaseDurationMs <= renewDeadlineMs) return 'leaseDuration must be greater than renewDeadline';
  if (renewDeadlineMs <= JITTER_FACTOR * retryPeriodMs) return 'renewDeadline must be greater than retryPeriod*JitterFactor';
  if (leaseDurationMs < 1) return 'leaseDuration must be greater than zero';
  if (renewDeadlineMs < 1) return 'renewDeadline must be greater than zero';
  if (retryPeriodMs < 1) return 'retryPeriod must be greater than zero';
  return undefined;
}

/** Kubernetes MicroTime (RFC3339, microseconds, UTC): 2026-12-03T17:00:00.000000Z. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

const KEYS = ['holderIdentity', 'leaseDurationSeconds', 'acquireTime', 'renewTime', 'leaseTransitions'] as const;
const sameRecord = (a: LeaseRecord | undefined, b: LeaseRecord): boolean => a !== undefined && KEYS.every((k) => a[k] === b[k]);

/** `call(signal)`, rejected as soon as `signal` aborts even if the store ignores it. */
function bounded<T>(call: (s: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const off = (): void => signal.removeEventListener('abort', onAbort);
    Promise.resolve().then(() => call(signal)).then((v) => { off(); resolve(v); }, (e: unknown) => { off(); reject(e); });
  });
}

type Outcome = 'ok' | 'failed' | 'lost';

export class LeaderElector {
  private readonly o: LeaderElectorOptions;
  private observed: LeaseRecord | undefined;
  private observedTime = 0;
  private resourceVersion: string | undefined;
  private reported = '';
  private leading: AbortController | undefined;
  /** Clock time at which the last successful try started. */
  private lastOk = 0;

  constructor(o: LeaderElectorOptions) {
    const err = validateLeaderElection(o.leaseDurationMs, o.renewDeadlineMs, o.retryPeriodMs) ?? (o.identity === '' ? 'Lock identity is empty' : undefined);
    if (err !== undefined) throw new Error(err);
    this.o = o;
  }

  /** Leading, and clock.now() < validUntil(). */
  isLeader(): boolean { return this.leading !== undefined && this.o.clock.now() < this.validUntil(); }
  /** Until when (clock ms) this process may act as leader: start of the last successful try + renewDeadline; 0 when not leading. */
  validUntil(): number { return this.leading === undefined ? 0 : this.lastOk + this.o.renewDeadlineMs; }
  /** The holder last observed ('' when unknown or released). */
  leader(): string { return this.observed?.holderIdentity ?? ''; }

  /** Acquire, lead and renew until `signal` aborts (never throws); after losing the lease, acquire again. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, log, identity, renewDeadlineMs: rd, retryPeriodMs: rp } = this.o;
    while (!signal.aborted) {
      log.info({ identity }, 'attempting to acquire leader lease');
      let ok = (await this.tryAcquireOrRenew(signal, rd)) === 'ok';
      while (!ok && !signal.aborted) {
        await clock.sleep(Math.floor(rp * (1 + (this.o.random ?? Math.random)() * JITTER_FACTOR)), signal);
        if (!signal.aborted) ok = (await this.tryAcquireOrRenew(signal, rd)) === 'ok';
      }
      if (!ok) break;
      if (!signal.aborted) {
        this.startLeading();
        let outcome: Outcome | 'deadline' | 'aborted' = 'ok';
        while (outcome === 'ok' || outcome === 'failed') {
          const left = this.lastOk + rd - clock.now();
          if (left > 0) await clock.sleep(Math.min(rp, left), signal);
          const remaining = this.lastOk + rd - clock.now();
          if (signal.aborted) outcome = 'aborted';
          else if (remaining <= 0) outcome = 'deadline';
          else outcome = await this.tryAcquireOrRenew(signal, remaining);
        }
        this.stopLeading(signal.aborted ? 'aborted' : outcome);
      }
      if (signal.aborted && this.o.releaseOnCancel) await this.release();
    }
  }

  private startLeading(): void {
    this.leading = new AbortController();
    this.o.log.info({ identity: this.o.identity, validUntil: this.validUntil() }, 'became leader');
    this.callback(() => this.o.onStartedLeading(this.leading!.signal));
  }

  private stopLeading(reason: string): void {
    const leading = this.leading!;
    this.leading = undefined;
    leading.abort(new Error(`stopped leading: ${reason}`));
    this.o.log.info({ identity: this.o.identity, reason, leader: this.leader() }, 'stopped leading');
    this.callback(() => this.o.onStoppedLeading());
  }

  private callback(f: () => void): void {
    try { f(); } catch (err) { this.o.log.warn({ err }, 'leader election callback threw'); }
  }

  private setObserved(s: StoredLease): void {
    this.resourceVersion = s.resourceVersion;
    if (!sameRecord(this.observed, s.record)) {
      this.observed = { ...s.record };
      this.observedTime = this.o.clock.now();
    }
    const holder = s.record.holderIdentity;
    if (holder !== this.reported) {
      this.reported = holder;
      const onNewLeader = this.o.onNewLeader;
      if (holder !== '' && onNewLeader) this.callback(() => onNewLeader(holder));
    }
  }

  private isLeaseValid(t: number): boolean {
    return this.observed !== undefined && this.observedTime + this.observed.leaseDurationSeconds * 1000 > t;
  }

  /** A signal that aborts after `ms` of clock time or when `outer` aborts; done() frees the timer. */
  private timeout(outer: AbortSignal | undefined, ms: number): { signal: AbortSignal; done(): void } {
    const ctrl = new AbortController();
    const timer = new AbortController();
    const onOuter = (): void => ctrl.abort(outer?.reason);
    outer?.addEventListener('abort', onOuter, { once: true });
    if (outer?.aborted) onOuter();
    void this.o.clock.sleep(ms, timer.signal).then(() => { if (!timer.signal.aborted) ctrl.abort(new Error(`timed out after ${ms}ms`)); });
    return { signal: ctrl.signal, done: () => { timer.abort(); outer?.removeEventListener('abort', onOuter); } };
  }

  /** client-go tryAcquireOrRenew, all store calls bounded by `timeoutMs`. */
  private async tryAcquireOrRenew(outer: AbortSignal, timeoutMs: number): Promise<Outcome> {
    const { store, identity, clock, log } = this.o;
    const start = clock.now();
    const t = this.timeout(outer, timeoutMs);
    const rec: LeaseRecord = {
      holderIdentity: identity, leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
      acquireTime: microTime(start), renewTime: microTime(start), leaseTransitions: 0,
    };
    const won = (s: StoredLease): Outcome => { this.setObserved(s); this.lastOk = start; return 'ok'; };
    try {
      // 1. Fast path: the holder updates optimistically with the last resourceVersion it saw.
      if (this.observed?.holderIdentity === identity && this.resourceVersion !== undefined && this.isLeaseValid(start)) {
        const upd = { ...rec, acquireTime: this.observed.acquireTime, leaseTransitions: this.observed.leaseTransitions };
        const rv = this.resourceVersion;
        try {
          return won(await bounded((s) => store.update(upd, rv, s), t.signal));
        } catch (err) {
          if (t.signal.aborted) throw err;
          log.debug?.({ err: String(err) }, 'optimistic lease update failed, falling back to get');
        }
      }
      // 2. Get, or create when missing.
      const cur = await bounded((s) => store.get(s), t.signal);
      if (cur === undefined) return won(await bounded((s) => store.create(rec, s), t.signal));
      // 3. Observe; a valid lease held by someone else is left alone.
      this.setObserved(cur);
      const holder = cur.record.holderIdentity;
      if (this.leading !== undefined && holder !== identity) return 'lost';
      if (holder !== '' && holder !== identity && this.isLeaseValid(start)) return 'failed';
      // 4. Take over (transitions + 1) or renew (acquireTime and transitions kept).
      const upd = holder === identity
        ? { ...rec, acquireTime: cur.record.acquireTime, leaseTransitions: cur.record.leaseTransitions }
        : { ...rec, leaseTransitions: cur.record.leaseTransitions + 1 };
      return won(await bounded((s) => store.update(upd, cur.resourceVersion, s), t.signal));
    } catch (err) {
      if (err instanceof LeaseConflict) log.debug?.({ identity, err: String(err) }, 'lease try failed: conflict');
      else log.warn({ identity, err: String(err) }, 'lease try failed');
      return 'failed';
    } finally {
      t.done();
    }
  }

  /** client-go release: holderIdentity '' and leaseDurationSeconds 1, retried on conflict, bounded by renewDeadline. */
  private async release(): Promise<void> {
    const { store, identity, clock, log } = this.o;
    const t = this.timeout(undefined, this.o.renewDeadlineMs);
    try {
      while (!t.signal.aborted) {
        const cur = await bounded((s) => store.get(s), t.signal);
        if (cur === undefined || cur.record.holderIdentity !== identity) return;
        const now = microTime(clock.now());
        const rec = { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: cur.record.leaseTransitions };
        try {
          this.setObserved(await bounded((s) => store.update(rec, cur.resourceVersion, s), t.signal));
          log.info({ identity }, 'released leader lease');
          return;
        } catch (err) {
          if (!(err instanceof LeaseConflict)) throw err;
        }
      }
    } catch (err) {
      log.warn({ identity, err: String(err) }, 'failed to release leader lease');
    } finally {
      t.done();
    }
  }
}
