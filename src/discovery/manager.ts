/**
 * Runs the service discovery of every job and keeps each job's current target groups. A discoverer that fails
 * after a good start keeps its last good groups (the failure is logged and remembered for status). On a new
 * configuration, discoverers whose job and settings are unchanged keep running.
 */
import type { PromConfig, SdEntry } from '../config/config.js';
import type { Logger } from '../logger.js';
import type { TargetGroup } from './types.js';
import { GroupChangeLog, type GroupChanges } from './change-log.js';

interface Provider {
  key: string;
  job: string;
  entry: SdEntry;
  fingerprint: string;
  abort: AbortController;
  groups: Map<string, TargetGroup>;
  /** Has emitted its first full set. */
  ready: boolean;
  /** Last failure, cleared by the next successful emit. */
  lastError?: string;
  errors: string[];
}

export interface JobStatus {
  job: string;
  ready: boolean;
  errors: string[];
}

export class DiscoveryManager {
  private providers = new Map<string, Provider>();
  private listeners = new Set<(jobs: Set<string>) => void>();
  private changed = new Set<string>();
  private timer?: NodeJS.Timeout;
  /**
   * Per job, a number that changes whenever `groups(job)` may return something else (an emit, a discoverer
   * stopped): lets a reader (the coordinator's population cache) skip a job whose groups did not move without
   * walking them. Values come from one sequence, so a job never sees an old value again.
   */
  private readonly versions = new Map<string, number>();
  private versionSeq = 0;
  /** Per job, which groups changed at which version (changesSince). */
  private readonly changeLogs = new Map<string, GroupChangeLog>();

  /** `throttleMs`: changes are delivered at most this often (Prometheus uses 5 s). */
  constructor(private readonly logger: Logger, private readonly throttleMs = 5000) {}

  /** Starts, keeps or stops discoverers to match the configuration. */
  apply(config: PromConfig): void {
    const wanted = new Map<string, { job: string; entry: SdEntry; fingerprint: string }>();
    for (const sc of config.scrapeConfigs) {
      for (const entry of sc.serviceDiscovery) {
        const key = `${sc.jobName}\u0000${entry.key}\u0000${entry.index}`;
        wanted.set(key, { job: sc.jobName, entry, fingerprint: JSON.stringify(entry.config) + config.dir });
      }
    }
    for (const [key, p] of this.providers) {
      const w = wanted.get(key);
      if (!w || w.fingerprint !== p.fingerprint) {
        p.abort.abort();
        this.providers.delete(key);
        this.markChanged(p.job);
        // Its groups went without a change per group: a reader from before must walk the job.
        this.changeLog(p.job).reset(this.version(p.job));
      }
    }
    for (const [key, w] of wanted) {
      if (this.providers.has(key)) continue;
      this.start(key, w.job, w.entry, w.fingerprint, config.dir);
    }
    this.jobs = new Set(config.scrapeConfigs.map((s) => s.jobName));
    // A job no longer configured keeps no log (bounded per job, but job names can come and go).
    for (const job of this.changeLogs.keys()) if (!this.jobs.has(job)) this.changeLogs.delete(job);
  }

  private jobs = new Set<string>();

  private start(key: string, job: string, entry: SdEntry, fingerprint: string, configDir: string): void {
    const p: Provider = { key, job, entry, fingerprint, abort: new AbortController(), groups: new Map(), ready: false, errors: [] };
    this.providers.set(key, p);
    const log = this.logger.child({ job, sd: entry.key, index: entry.index });
    const discoverer = entry.mechanism.create(entry.config, { configDir, jobName: job });
    const ctx = {
      signal: p.abort.signal,
      logger: log,
      emit: (groups: TargetGroup[]) => {
        if (p.abort.signal.aborted) return;
        for (const g of groups) {
          if (g.targets.length === 0) p.groups.delete(g.source);
          else p.groups.set(g.source, g);
        }
        p.ready = true;
        p.lastError = undefined;
        this.markChanged(job);
        this.changeLog(job).record(this.version(job), groups);
      },
      fail: (err: Error) => {
        if (p.abort.signal.aborted) return;
        p.lastError = err.message;
        if (p.errors.length < 20) p.errors.push(err.message);
        log.warn({ err: err.message }, 'service discovery failed; keeping the last good targets');
        this.notifyStatus();
      },
    };
    discoverer.run(ctx).catch((err: Error) => ctx.fail(err));
  }

  private statusWaiters = new Set<() => void>();

  private notifyStatus(): void {
    for (const w of this.statusWaiters) w();
  }

  private markChanged(job: string): void {
    this.versions.set(job, ++this.versionSeq);
    this.changed.add(job);
    this.notifyStatus();
    if (this.timer || this.listeners.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const jobs = this.changed;
      this.changed = new Set();
      for (const l of this.listeners) l(jobs);
    }, this.throttleMs);
  }

  /** Called (throttled) with the jobs whose groups changed. */
  onChange(listener: (jobs: Set<string>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The current groups of a job, all its discoverers together. */
  groups(job: string): TargetGroup[] {
    const ps = [...this.providers.values()].filter((p) => p.job === job);
    // Of the right length from the start: a job can have a million groups (one per pod), and growing the array by
    // push cost more than filling it.
    const out = new Array<TargetGroup>(ps.reduce((a, p) => a + p.groups.size, 0));
    let k = 0;
    for (const p of ps) for (const g of p.groups.values()) out[k++] = g;
    return out;
  }

  /**
   * The job's group changes after `version` (a value of `version(job)`), in order, with each group's object now;
   * undefined when the job has more than one discoverer (two may name groups alike) or the log no longer goes back
   * that far.
   */
  changesSince(job: string, version: number): GroupChanges | undefined {
    let only: Provider | undefined;
    for (const p of this.providers.values()) {
      if (p.job !== job) continue;
      if (only) return undefined;
      only = p;
    }
    const changes = only && this.changeLogs.get(job)?.since(version);
    if (!only || !changes) return undefined;
    const groups = only.groups;
    return { changes, group: (source) => groups.get(source) };
  }

  private changeLog(job: string): GroupChangeLog {
    let log = this.changeLogs.get(job);
    if (!log) this.changeLogs.set(job, (log = new GroupChangeLog()));
    return log;
  }

  /** See `versions`: equal values mean `groups(job)` returns the same group objects in the same order. */
  version(job: string): number {
    return this.versions.get(job) ?? 0;
  }

  status(): JobStatus[] {
    return [...this.jobs].map((job) => {
      const ps = [...this.providers.values()].filter((p) => p.job === job);
      return { job, ready: ps.every((p) => p.ready), errors: ps.flatMap((p) => (p.lastError ? [p.lastError] : [])) };
    });
  }

  /** Every error any discoverer reported so far (for one-shot commands, which must not hide a failure). */
  allErrors(): Array<{ job: string; sd: string; error: string }> {
    return [...this.providers.values()].flatMap((p) => p.errors.map((error) => ({ job: p.job, sd: `${p.entry.key}[${p.entry.index}]`, error })));
  }

  /**
   * Resolves once every discoverer has delivered its first result, or at the deadline. Returns the jobs still
   * waiting. A discoverer that reported an error and has not yet succeeded counts as settled-with-error.
   */
  async waitReady(timeoutMs: number): Promise<string[]> {
    const pending = () => [...new Set([...this.providers.values()].filter((p) => !p.ready && p.errors.length === 0).map((p) => p.job))];
    if (pending().length === 0) return [];
    return new Promise((resolveWait) => {
      const done = () => {
        clearTimeout(timer);
        this.statusWaiters.delete(check);
        resolveWait(pending());
      };
      const check = () => {
        if (pending().length === 0) done();
      };
      const timer = setTimeout(done, timeoutMs);
      this.statusWaiters.add(check);
    });
  }

  stop(): void {
    for (const p of this.providers.values()) {
      p.abort.abort();
      this.versions.set(p.job, ++this.versionSeq);
      this.changeLog(p.job).reset(this.version(p.job));
    }
    this.providers.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
