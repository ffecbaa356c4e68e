/**
 * Explore: each new target is probed once for its size before it is placed, with bounded concurrency and the
 * job's own client and timeout. A failed probe is retried with back-off (and the target is shown down with its
 * error); after PROBE_ATTEMPTS_BEFORE_DEFAULT failures the target is placed with a default size anyway, so that
 * its `up` series exists in some shard and tells the user it is down.
 */
import { createGunzip } from 'node:zlib';
import type { Logger } from '../logger.js';
import { ConfiguredHttpClient } from '../config/http-client.js';
import { publicLabels } from '../prom/labels.js';
import { SeriesCounter, isOpenMetrics } from '../prom/exposition.js';
import type { ScrapeConfig } from '../config/config.js';
import { SlotFlags } from './slot-set.js';
import { grown } from './columns.js';

/** What Prometheus 2.42 sends as Accept when scraping. */
export const SCRAPE_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
export const PROBE_ATTEMPTS_BEFORE_DEFAULT = 2;

export interface ProbeResult {
  ok: boolean;
  series: number;
  error: string;
  attempts: number;
  /** Failed: when the next attempt may run. */
  retryAtMs: number;
}

/** A target as the explorer keeps it: by its seat (seats.ts), for its hash. */
export interface Seated {
  hash: string;
  seat: number;
}

/** What a probe reads of a target (population's targets are such). */
export interface Probed extends Seated {
  scrapeUrl: string;
  labels: Record<string, string>;
  timeout: number;
}

/** A target to probe, with its job's config. */
export interface ProbeTarget {
  target: Probed;
  sc: ScrapeConfig;
}

/** Scrapes a target once and counts its unique series the way the sidecar's proxy does. */
export async function probeTarget(client: ConfiguredHttpClient, probed: ProbeTarget): Promise<{ series: number; error: string }> {
  const { target: t, sc } = probed;
  const signal = AbortSignal.timeout(t.timeout);
  try {
    const res = await client.request(t.scrapeUrl, { accept: SCRAPE_ACCEPT, 'accept-encoding': 'gzip', 'x-prometheus-scrape-timeout-seconds': String(t.timeout / 1000) }, signal);
    if (res.statusCode !== 200) {
      await res.body.dump().catch(() => undefined);
      return { series: 0, error: `server returned HTTP status ${res.statusCode}` };
    }
    const ct = res.headers['content-type'];
    const counter = new SeriesCounter({
      openMetrics: isOpenMetrics(typeof ct === 'string' ? ct : undefined),
      honorLabels: sc.honorLabels,
      targetLabels: publicLabels(t.labels),
      metricRelabelConfigs: sc.metricRelabelConfigs,
      bodySizeLimit: sc.bodySizeLimit,
    });
    const enc = res.headers['content-encoding'];
    if (typeof enc === 'string' && /gzip/i.test(enc)) {
      const gunzip = createGunzip();
      gunzip.on('data', (c: Buffer) => counter.push(c));
      const done = new Promise<void>((resolve, reject) => {
        gunzip.on('end', resolve);
        gunzip.on('error', reject);
      });
      for await (const chunk of res.body as AsyncIterable<Buffer>) gunzip.write(chunk);
      gunzip.end();
      await done;
    } else {
      for await (const chunk of res.body as AsyncIterable<Buffer>) counter.push(chunk);
    }
    const count = counter.end();
    return count.error ? { series: count.series, error: count.error } : { series: count.series, error: '' };
  } catch (e) {
    const err = signal.aborted ? `context deadline exceeded (timeout ${t.timeout}ms)` : (e as Error).message;
    return { series: 0, error: err };
  }
}

/** Explorer.flags: in use; with a result (else its first probe is queued or running); ok; asked again. */
const KNOWN = 1;
const RESULT = 2;
const OK = 4;
const BUSY = 8;

/**
 * Probes targets in the background, at most `concurrency` at a time. Results are read by the coordinator's
 * loop; a target whose probe failed is retried after a back-off (5 s doubling to 5 min).
 *
 * Why kept by seat. A first cycle asks for a million probes, and a million answers follow: with a map of results by
 * hash, each ask and each answer cost operations on million-entry maps (about 2.5 s of a profiled first cycle at a
 * million). A table of slots by hash (a look-up that misses, then an insert) still took about 0.8 s of it. Each target
 * carries its seat (seats.ts): its state is at that place in typed arrays, the queue and each running probe carry the
 * seat, and an answer is written by seat, with no look-up at all. A seat's state counts only for the hash kept with it;
 * its generation, raised when its target is forgotten, tells a queued or running probe that the target went away
 * meanwhile. A population that seats every target afresh (after a failed update) is followed by `retain`, which moves
 * each state to its target's seat.
 *
 * Why the results are columns. Every target keeps its last result for as long as it is known, and a result object
 * and its time boxed as a number was about 100 bytes per target (100 MB held at a million). Typed arrays by seat hold
 * what every result has (series, attempts, flags) in 9; a failed one's error and next try are kept beside them.
 * `result` makes an object when asked.
 */
export class Explorer {
  /** The targets known: with a result, or a first probe queued or running. */
  private known = 0;
  /** By seat: the hash whose state is kept there ('' for none). */
  private hashes: string[] = [];
  /** By seat, columns: the generation; the last result's flags (KNOWN…BUSY; 0: none kept), series, attempts. */
  private generation = new Uint32Array(0);
  private flags = new Uint8Array(0);
  private series = new Int32Array(0);
  private attempts = new Uint32Array(0);
  /** By seat, a failed last result's error and when the next attempt may run. */
  private readonly failures = new Map<number, { error: string; retryAtMs: number }>();
  /**
   * What changed since the last takeChanged() (the coordinator re-sizes only those): the seats whose target's result
   * changed, and the hashes forgotten with a result (apart: a forgotten seat may be given to another hash before the
   * take).
   */
  private readonly changedSeats = new SlotFlags();
  private readonly gone = new Set<string>();
  /**
   * Waiting probes from `head` on (an index, not shift(): shift moves the whole array, and it can hold 1M), with their
   * jobs' configs, seats and the seats' generations at the same places (parallel arrays: asking for a million probes,
   * a first cycle, makes no object per target).
   */
  private queue: Probed[] = [];
  private queueSc: ScrapeConfig[] = [];
  private queueSeat: number[] = [];
  private queueGen: number[] = [];
  private head = 0;
  private running = 0;
  private readonly clients = new Map<ScrapeConfig, ConfiguredHttpClient>();

  constructor(
    private readonly concurrency: number,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    /** How a target is probed (I/O at the edge: a bench measures the coordinator with targets that answer at once). */
    private readonly probe: (client: ConfiguredHttpClient, t: ProbeTarget) => Promise<{ series: number; error: string }> = probeTarget,
  ) {}

  /** The last result of the target's probes; undefined before the first one ends. */
  result(t: Seated): ProbeResult | undefined {
    const i = t.seat;
    if (!this.holds(i, t.hash)) return undefined;
    const f = this.flags[i]!;
    if ((f & RESULT) === 0) return undefined;
    const failure = (f & OK) === 0 ? this.failures.get(i) : undefined;
    return { ok: (f & OK) !== 0, series: this.series[i]!, error: failure?.error ?? '', attempts: this.attempts[i]!, retryAtMs: failure?.retryAtMs ?? 0 };
  }

  /** The targets known: with a result, or a first probe queued or running. */
  get size(): number {
    return this.known;
  }

  /** Asks for a probe unless one is done, running, queued, or waiting for its retry time. */
  want(t: Probed, sc: ScrapeConfig): void {
    const i = t.seat;
    if (i < 0) return;
    if (!this.holds(i, t.hash)) this.keep(i, t.hash, KNOWN);
    else {
      const f = this.flags[i]!;
      if ((f & RESULT) === 0 || (f & (BUSY | OK)) !== 0 || this.now() < this.failures.get(i)!.retryAtMs) return;
      this.flags[i] = f | BUSY;
    }
    this.queue.push(t);
    this.queueSc.push(sc);
    this.queueSeat.push(i);
    this.queueGen.push(this.generation[i]!);
    this.pump();
  }

  /**
   * Forgets every target not in `targets`, and moves the state of each target that has another seat now to that seat
   * (a population seated afresh). A moved target's result stays; a probe of it queued or running is answered to nobody
   * (a first probe is asked for again by the next `want`).
   */
  retain(targets: ReadonlyMap<string, Seated>): void {
    const moved: number[] = [];
    for (let i = 0; i < this.hashes.length; i++) {
      if (this.flags[i] === 0) continue;
      const t = targets.get(this.hashes[i]!);
      if (t === undefined || t.seat < 0) this.forgetSeat(i);
      else if (t.seat !== i) moved.push(i);
    }
    if (moved.length > 0) this.move(moved, targets);
  }

  /** Forgets a target that is gone: a probe of it that is queued does not run, one that is running is answered to nobody. */
  forget(t: Seated): void {
    if (this.holds(t.seat, t.hash)) this.forgetSeat(t.seat);
  }

  /** The distinct hashes whose result changed (new, another attempt, forgotten) since the last call. */
  takeChanged(): readonly string[] {
    if (this.changedSeats.size === 0 && this.gone.size === 0) return [];
    const seats = this.changedSeats.toArray();
    const out = new Array<string>(seats.length + this.gone.size);
    let n = 0;
    // A hash forgotten, asked for again and answered is in both: told once, from `gone`.
    for (let k = 0; k < seats.length; k++) {
      const h = this.hashes[seats[k]!]!;
      if (this.gone.size === 0 || !this.gone.has(h)) out[n++] = h;
    }
    for (const h of this.gone) out[n++] = h;
    out.length = n;
    this.changedSeats.clear();
    this.gone.clear();
    return out;
  }

  get pending(): number {
    return this.queue.length - this.head + this.running;
  }

  /** Whether the state at `seat` is kept for `hash`. */
  private holds(seat: number, hash: string): boolean {
    return seat >= 0 && seat < this.flags.length && this.flags[seat] !== 0 && this.hashes[seat] === hash;
  }

  /**
   * Keeps state for `hash` at `seat` (none kept for it there), with `flags`. What another hash kept there is forgotten
   * first: its target was released and not forgotten (a caller out of contract).
   */
  private keep(seat: number, hash: string, flags: number): void {
    if (seat >= this.flags.length) this.growColumns(seat + 1);
    else if (this.flags[seat] !== 0) this.forgetSeat(seat);
    this.hashes[seat] = hash;
    this.flags[seat] = flags;
    this.known++;
  }

  /** Forgets the state at `seat`: a hash with a result is told as changed. */
  private forgetSeat(i: number): void {
    if ((this.flags[i]! & RESULT) !== 0) this.gone.add(this.hashes[i]!);
    this.drop(i);
  }

  /** Empties `seat`; its queued or running probe is answered to nobody. */
  private drop(i: number): void {
    this.changedSeats.delete(i);
    this.hashes[i] = '';
    this.flags[i] = 0;
    this.failures.delete(i);
    this.generation[i]!++;
    this.known--;
  }

  /** Moves the states at `seats` to their targets' seats now (see retain). */
  private move(seats: readonly number[], targets: ReadonlyMap<string, Seated>): void {
    const states = seats.map((i) => {
      const hash = this.hashes[i]!;
      const state = { hash, flags: this.flags[i]! & ~BUSY, series: this.series[i]!, attempts: this.attempts[i]!, failure: this.failures.get(i), changed: this.changedSeats.has(i) };
      this.drop(i);
      return state;
    });
    for (const st of states) {
      const to = targets.get(st.hash)!.seat;
      // Without a result, its first probe is asked for again; a hash kept at its own seat already keeps that state.
      if ((st.flags & RESULT) === 0 || this.holds(to, st.hash)) continue;
      this.keep(to, st.hash, st.flags);
      this.series[to] = st.series;
      this.attempts[to] = st.attempts;
      if (st.failure) this.failures.set(to, st.failure);
      if (st.changed) this.changedSeats.add(to);
    }
  }

  /** The columns long enough for `n` seats, at least twice as long as they were. */
  private growColumns(n: number): void {
    const length = Math.max(n, this.flags.length * 2, 1024);
    this.generation = grown(this.generation, length);
    this.flags = grown(this.flags, length);
    this.series = grown(this.series, length);
    this.attempts = grown(this.attempts, length);
    while (this.hashes.length < length) this.hashes.push('');
  }

  private clientFor(sc: ScrapeConfig): ConfiguredHttpClient {
    let c = this.clients.get(sc);
    if (!c) {
      c = new ConfiguredHttpClient(sc.http, 'kvass-coordinator');
      this.clients.set(sc, c);
    }
    return c;
  }

  private pump(): void {
    while (this.running < this.concurrency && this.head < this.queue.length) {
      const k = this.head++;
      const t = this.queue[k]!;
      const sc = this.queueSc[k]!;
      const i = this.queueSeat[k]!;
      const gen = this.queueGen[k]!;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.queueSc = [];
        this.queueSeat = [];
        this.queueGen = [];
        this.head = 0;
      } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.queueSc = this.queueSc.slice(this.head);
        this.queueSeat = this.queueSeat.slice(this.head);
        this.queueGen = this.queueGen.slice(this.head);
        this.head = 0;
      }
      // Gone before its turn: not probed.
      if (this.generation[i] !== gen) continue;
      this.running++;
      void this.probe(this.clientFor(sc), { target: t, sc }).then((r) => {
        this.running--;
        this.answered(i, gen, t, r);
        this.pump();
      });
    }
  }

  /** A probe's answer: the target's result now (none: it was forgotten meanwhile, and the answer is dropped). */
  private answered(i: number, gen: number, t: Probed, r: { series: number; error: string }): void {
    if (this.generation[i] !== gen) return;
    const f = this.flags[i]!;
    const ok = r.error === '';
    const attempts = (f & RESULT) === 0 ? 1 : this.attempts[i]! + 1;
    this.flags[i] = KNOWN | RESULT | (ok ? OK : 0);
    // An Int32Array, not a Float64Array: a number read from the latter is a double, and the planner's list entries
    // made from it held their series boxed from then on, in every coordinator of the process (16 bytes per target).
    // No target has two billion series.
    this.series[i] = Math.min(r.series, 0x7fffffff);
    this.attempts[i] = attempts;
    if (ok) this.failures.delete(i);
    else this.failures.set(i, { error: r.error, retryAtMs: this.now() + Math.min(300_000, 5000 * 2 ** (attempts - 1)) });
    this.changedSeats.add(i);
    if (!ok) this.log.warn({ target: t.scrapeUrl, err: r.error, attempts }, 'explore: probe failed; will retry');
  }

  async close(): Promise<void> {
    this.queue = [];
    this.queueSc = [];
    this.queueSeat = [];
    this.queueGen = [];
    this.head = 0;
    await Promise.all([...this.clients.values()].map((c) => c.close()));
  }
}
