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
import { HashIndex } from './hash-index.js';
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

/** What a probe reads of a target (population's targets are such). */
export interface Probed {
  hash: string;
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
 * Why targets have slots. A first cycle asks for a million probes, and a million answers follow: with a map of
 * results by hash and a set of the changed hashes, each ask cost two operations on million-entry maps and each answer
 * three (about 2.5 s of a profiled first cycle at a million). Here a target's hash gets a slot once (HashIndex: a
 * look-up that misses, then an insert into the bucket it found), the queue and each running probe carry the slot,
 * and an answer is written by slot, with no look-up at all. A slot's generation, raised when its target is
 * forgotten, tells a queued or running probe that its target went away meanwhile.
 *
 * Why the results are columns. Every target keeps its last result for as long as it is known, and a result object
 * and its time boxed as a number was about 100 bytes per target (100 MB held at a million). Typed arrays by slot hold
 * what every result has (series, attempts, flags) in 9; a failed one's error and next try are kept beside them.
 * `result` makes an object when asked.
 */
export class Explorer {
  /** Each known target's slot: with a result, or a first probe queued or running. */
  private readonly slots = new HashIndex();
  /** By slot: the hash; free slots. */
  private readonly hashes: string[] = [];
  private readonly free: number[] = [];
  /** By slot, columns: the slot's generation; the last result's flags (KNOWN…BUSY; 0: free), series, attempts. */
  private generation = new Uint32Array(1024);
  private flags = new Uint8Array(1024);
  private series = new Int32Array(1024);
  private attempts = new Uint32Array(1024);
  /** By slot, a failed last result's error and when the next attempt may run. */
  private readonly failures = new Map<number, { error: string; retryAtMs: number }>();
  /**
   * What changed since the last takeChanged() (the coordinator re-sizes only those): the slots whose target's result
   * changed, and the hashes forgotten with a result (apart: a forgotten slot may be given to another hash before the
   * take).
   */
  private readonly changedSlots = new SlotFlags();
  private readonly gone = new Set<string>();
  /**
   * Waiting probes from `head` on (an index, not shift(): shift moves the whole array, and it can hold 1M), with their
   * jobs' configs, slots and the slots' generations at the same places (parallel arrays: asking for a million probes,
   * a first cycle, makes no object per target).
   */
  private queue: Probed[] = [];
  private queueSc: ScrapeConfig[] = [];
  private queueSlot: number[] = [];
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
  result(hash: string): ProbeResult | undefined {
    const i = this.slots.get(hash);
    if (i === undefined) return undefined;
    const f = this.flags[i]!;
    if ((f & RESULT) === 0) return undefined;
    const failure = (f & OK) === 0 ? this.failures.get(i) : undefined;
    return { ok: (f & OK) !== 0, series: this.series[i]!, error: failure?.error ?? '', attempts: this.attempts[i]!, retryAtMs: failure?.retryAtMs ?? 0 };
  }

  /** The targets known: with a result, or a first probe queued or running. */
  get size(): number {
    return this.slots.size;
  }

  /** Asks for a probe unless one is done, running, queued, or waiting for its retry time. */
  want(t: Probed, sc: ScrapeConfig): void {
    const hash = t.hash;
    let i = this.slots.get(hash);
    if (i === undefined) i = this.slotFor(hash);
    else {
      const f = this.flags[i]!;
      if ((f & RESULT) === 0 || (f & (BUSY | OK)) !== 0 || this.now() < this.failures.get(i)!.retryAtMs) return;
      this.flags[i] = f | BUSY;
    }
    this.queue.push(t);
    this.queueSc.push(sc);
    this.queueSlot.push(i);
    this.queueGen.push(this.generation[i]!);
    this.pump();
  }

  /** Forgets every target not in `hashes`. */
  retain(hashes: ReadonlySet<string> | ReadonlyMap<string, unknown>): void {
    for (let i = 0; i < this.hashes.length; i++) {
      const h = this.hashes[i]!;
      if (this.flags[i] !== 0 && !hashes.has(h)) this.forget(h);
    }
  }

  /** Forgets a target that is gone: a probe of it that is queued does not run, one that is running is answered to nobody. */
  forget(hash: string): void {
    const i = this.slots.get(hash);
    if (i === undefined) return;
    if ((this.flags[i]! & RESULT) !== 0) this.gone.add(hash);
    this.slots.delete(hash);
    this.changedSlots.delete(i);
    this.hashes[i] = '';
    this.flags[i] = 0;
    this.failures.delete(i);
    this.generation[i]!++;
    this.free.push(i);
  }

  /** The distinct hashes whose result changed (new, another attempt, forgotten) since the last call. */
  takeChanged(): readonly string[] {
    if (this.changedSlots.size === 0 && this.gone.size === 0) return [];
    const slots = this.changedSlots.toArray();
    const out = new Array<string>(slots.length + this.gone.size);
    let n = 0;
    // A hash forgotten, asked for again and answered is in both: told once, from `gone`.
    for (let k = 0; k < slots.length; k++) {
      const h = this.hashes[slots[k]!]!;
      if (this.gone.size === 0 || !this.gone.has(h)) out[n++] = h;
    }
    for (const h of this.gone) out[n++] = h;
    out.length = n;
    this.changedSlots.clear();
    this.gone.clear();
    return out;
  }

  get pending(): number {
    return this.queue.length - this.head + this.running;
  }

  /** A slot for a hash that has none, its first probe to come. */
  private slotFor(hash: string): number {
    let i = this.free.pop();
    if (i === undefined) {
      i = this.hashes.length;
      this.hashes.push(hash);
      if (i === this.flags.length) this.growColumns();
    } else this.hashes[i] = hash;
    this.flags[i] = KNOWN;
    this.slots.set(hash, i);
    return i;
  }

  /** The columns twice as long. */
  private growColumns(): void {
    const n = this.flags.length * 2;
    this.generation = grown(this.generation, n);
    this.flags = grown(this.flags, n);
    this.series = grown(this.series, n);
    this.attempts = grown(this.attempts, n);
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
      const i = this.queueSlot[k]!;
      const gen = this.queueGen[k]!;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.queueSc = [];
        this.queueSlot = [];
        this.queueGen = [];
        this.head = 0;
      } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.queueSc = this.queueSc.slice(this.head);
        this.queueSlot = this.queueSlot.slice(this.head);
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
    this.changedSlots.add(i);
    if (!ok) this.log.warn({ target: t.scrapeUrl, err: r.error, attempts }, 'explore: probe failed; will retry');
  }

  async close(): Promise<void> {
    this.queue = [];
    this.queueSc = [];
    this.queueSlot = [];
    this.queueGen = [];
    this.head = 0;
    await Promise.all([...this.clients.values()].map((c) => c.close()));
  }
}
