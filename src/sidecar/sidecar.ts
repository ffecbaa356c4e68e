/**
 * One shard's sidecar: holds the original configuration and the assignment, writes the injected config,
 * runs the scrape proxy and the API. State changes go through here, in order: a new assignment is checked
 * against the configuration, stored on disk, then injected; a new configuration is checked before it
 * replaces the old one (a bad one is refused and the last good one stays).
 */
import { dirname, join, resolve } from 'node:path';
import type { Server } from 'node:http';
import type { Logger } from '../logger.js';
import { parseConfig, readConfigText, type PromConfig } from '../config/config.js';
import { ConfiguredHttpClient } from '../config/http-client.js';
import type { Labels } from '../prom/labels.js';
import { resolveTargets, type ResolvedTarget } from './assignment.js';
import { AssignmentError, applyAssignmentChange, configHash, type AssignedTargetSpec, type AssignmentChange, type RuntimeInfo, type TargetStatusDelta } from '../shard/contract.js';
import { ConfigWriter } from './config-writer.js';
import { injectConfig } from './inject.js';
import { SidecarMetrics } from './metrics.js';
import { PrometheusClient } from './prometheus.js';
import { createScrapeProxy } from './proxy.js';
import { SidecarStore } from './store.js';
import { TargetStatusBook } from './target-status.js';

export interface SidecarOptions {
  /** The original Prometheus config; without it the config must be pushed through the API. */
  configFile?: string;
  outputFile: string;
  storePath: string;
  prometheusUrl: string;
  /** The URL Prometheus reaches the proxy at (written as proxy_url). */
  proxyUrl: string;
  fetchHeadSeries: boolean;
  reloadDebounceMs: number;
  keepRulesAndAlerting: boolean;
  externalLabels: Labels;
  log: Logger;
  metrics?: SidecarMetrics;
  now?: () => Date;
}

interface Prepared {
  resolved: Map<string, ResolvedTarget>;
  /** The injected config; null without a configuration. */
  text: string | null;
}

export class Sidecar {
  readonly metrics: SidecarMetrics;
  readonly store: SidecarStore;
  readonly prometheus: PrometheusClient;
  readonly writer: ConfigWriter;
  readonly status = new TargetStatusBook();
  private readonly log: Logger;
  private readonly now: () => Date;
  private config: PromConfig | null = null;
  private configHashValue = '';
  private specs: AssignedTargetSpec[] = [];
  /** Counts applied assignments; with the status book's epoch it is the assignmentVersion. */
  private assignmentSeq = 0;
  private resolved = new Map<string, ResolvedTarget>();
  private clients = new Map<string, ConfiguredHttpClient>();
  private idleSince: Date | null;
  private lastHeadSeries = 0;
  private lastHeadError = '';
  /** Serialises state changes (assignment and config updates interleave otherwise). */
  private queue: Promise<unknown> = Promise.resolve();

  /** The proxy_url written into the injected config; settable until init() (the proxy's port may be known late). */
  proxyUrl: string;

  constructor(readonly opts: SidecarOptions) {
    this.proxyUrl = opts.proxyUrl;
    this.log = opts.log;
    this.now = opts.now ?? (() => new Date());
    this.metrics = opts.metrics ?? new SidecarMetrics();
    this.store = new SidecarStore(opts.storePath, opts.log);
    this.prometheus = new PrometheusClient(opts.prometheusUrl);
    this.writer = new ConfigWriter(opts.outputFile, join(opts.storePath, 'reloaded-config.sha256'), this.prometheus, opts.reloadDebounceMs, this.metrics, opts.log);
    this.idleSince = this.now();
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const p = this.queue.then(f, f);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Restores the stored state and writes the injected config. Never waits for Prometheus. */
  async init(): Promise<void> {
    await this.store.init();
    const file = this.opts.configFile ?? this.store.configFile;
    const text = this.opts.configFile ? await readConfigText(this.opts.configFile) : await this.store.loadConfig();
    // A bad config at start is fatal: there is no good one to keep.
    const cfg = text === null ? null : this.parse(text, file);
    const stored = await this.store.loadAssignment();
    let specs = stored?.targets ?? [];
    let next: Prepared;
    try {
      next = this.prepare(cfg, specs);
    } catch (e) {
      // A stored assignment the config cannot carry (the config changed while the sidecar was down): start empty.
      this.log.error({ err: (e as Error).message }, 'stored assignment does not fit the configuration; starting without targets');
      specs = [];
      next = this.prepare(cfg, specs);
    }
    this.commit(cfg, specs, next);
    if (stored) this.log.info({ targets: specs.length, updatedAt: stored.updatedAt }, 'assignment restored from the store');
    if (next.text !== null && !(await this.writer.write(next.text))) await this.writer.ensureLoaded();
  }

  private parse(text: string, file: string): PromConfig {
    const dir = this.opts.configFile ? dirname(resolve(this.opts.configFile)) : dirname(resolve(file));
    return parseConfig(text, file, dir);
  }

  /**
   * Everything a state change needs, computed before anything changes: a config or assignment that fails here
   * (an unknown job, a label the injected config cannot carry) is refused while the old state stays.
   */
  private prepare(cfg: PromConfig | null, specs: readonly AssignedTargetSpec[]): Prepared {
    const resolved = new Map<string, ResolvedTarget>();
    if (cfg === null) return { resolved, text: null };
    const { targets, unknownJobs } = resolveTargets(specs, cfg);
    if (unknownJobs.length) throw new Error(`unknown job(s) ${unknownJobs.map((j) => JSON.stringify(j)).join(', ')}: not in this sidecar's configuration`);
    for (const t of targets) resolved.set(t.hash, t);
    const text = injectConfig(cfg, targets, {
      proxyUrl: this.proxyUrl,
      keepRulesAndAlerting: this.opts.keepRulesAndAlerting,
      outputDir: dirname(resolve(this.opts.outputFile)),
      extraExternalLabels: this.opts.externalLabels,
    });
    return { resolved, text };
  }

  private commit(cfg: PromConfig | null, specs: AssignedTargetSpec[], next: Prepared): void {
    if (cfg !== this.config) {
      this.config = cfg;
      this.configHashValue = cfg ? configHash(cfg.text) : '';
      for (const c of this.clients.values()) void c.close();
      this.clients.clear();
    }
    this.specs = specs;
    this.assignmentSeq++;
    this.resolved = next.resolved;
    this.status.assign([...this.resolved.values()], this.now());
    if (this.resolved.size === 0) this.idleSince ??= this.now();
    else this.idleSince = null;
    this.metrics.targets.reset();
    for (const t of this.resolved.values()) this.metrics.targets.inc({ state: t.state });
  }

  /** The assigned targets whose job a new config still has; the others are dropped, loudly (the config rules). */
  private specsOfJobsIn(cfg: PromConfig): AssignedTargetSpec[] {
    const jobs = new Set(cfg.scrapeConfigs.map((sc) => sc.jobName));
    const gone = this.specs.filter((s) => !jobs.has(s.job));
    if (gone.length) this.log.error({ jobs: [...new Set(gone.map((s) => s.job))], targets: gone.length }, 'the new configuration no longer has these jobs: their targets are no longer scraped');
    return gone.length ? this.specs.filter((s) => jobs.has(s.job)) : this.specs;
  }

  /** Re-reads --config.file (SIGHUP, or its content changed). A bad file is refused and the old config stays. */
  reloadConfigFile(): Promise<boolean> {
    return this.serial(async () => {
      if (!this.opts.configFile) return false;
      const text = await readConfigText(this.opts.configFile);
      if (this.config && text === this.config.text) return false;
      const cfg = this.parse(text, this.opts.configFile);
      const specs = this.specsOfJobsIn(cfg);
      const next = this.prepare(cfg, specs);
      this.commit(cfg, specs, next);
      await this.writer.write(next.text!);
      this.log.info({ file: this.opts.configFile }, 'configuration reloaded');
      return true;
    });
  }

  /** The original config pushed by the coordinator (when no --config.file). Throws on a bad config. */
  pushConfig(text: string): Promise<void> {
    return this.serial(async () => {
      if (this.opts.configFile) throw new Error('this sidecar reads its configuration from --config.file; pushing is disabled');
      if (this.config && this.config.text === text) return;
      const cfg = this.parse(text, this.store.configFile);
      const specs = this.specsOfJobsIn(cfg);
      const next = this.prepare(cfg, specs);
      this.commit(cfg, specs, next);
      this.pushedConfigUnsaved = true;
      await this.persist();
      await this.writer.write(next.text!);
    });
  }

  /**
   * Replaces the assignment (the full set). Throws when an entry is wrong; then nothing changes. A valid one is
   * applied at once; storing it is retried while the disk refuses (the sidecar is not ready meanwhile, and a
   * restart before it is stored brings back the older one, which the coordinator then pushes again).
   */
  replaceAssignment(specs: AssignedTargetSpec[]): Promise<{ targets: number }> {
    return this.serial(() => this.applyAssignment(specs));
  }

  private async applyAssignment(specs: AssignedTargetSpec[]): Promise<{ targets: number }> {
    if (!this.config) throw new Error('no configuration yet: push it first (POST /api/v1/shard/config)');
    const next = this.prepare(this.config, specs);
    const withHashes = [...next.resolved.values()].map(({ hash, job, labels, state }) => ({ hash, job, labels, state }));
    this.commit(this.config, withHashes, next);
    this.assignmentUnsaved = true;
    await this.persist();
    await this.writer.write(next.text!);
    return { targets: withHashes.length };
  }

  /**
   * Applies a change to the assignment (AssignmentChange) when the applied one is still `base`; else throws
   * AssignmentConflict and nothing changes (the sender then sends the whole assignment).
   */
  changeAssignment(change: AssignmentChange): Promise<{ targets: number }> {
    return this.serial(async () => {
      if (change.base !== this.assignmentVersion) throw new AssignmentConflict(`the assignment is at ${this.assignmentVersion}, not ${change.base}: send it whole`);
      return this.applyAssignment(applyAssignmentChange(this.specs, change));
    });
  }

  /** The version of the applied assignment ("<epoch>.<n>"): what a change must name as its base. */
  get assignmentVersion(): string {
    return `${this.status.epoch}.${this.assignmentSeq}`;
  }

  /** GET /api/v1/shard/targets: the statuses, whole or changed since a version, with or without their labels. */
  targetStatuses(since: string | undefined, labels = true): TargetStatusDelta {
    return this.status.since(since, this.assignmentVersion, labels);
  }

  private assignmentUnsaved = false;
  private pushedConfigUnsaved = false;
  private storeError = '';
  private storeRetryMs = 0;
  private storeTimer: NodeJS.Timeout | null = null;

  /** Stores what is applied but not stored yet; on failure, says why and tries again later (with back-off). */
  private async persist(): Promise<void> {
    if (this.storeTimer) {
      clearTimeout(this.storeTimer);
      this.storeTimer = null;
    }
    try {
      if (this.pushedConfigUnsaved && this.config) {
        await this.store.saveConfig(this.config.text);
        this.pushedConfigUnsaved = false;
      }
      if (this.assignmentUnsaved) {
        await this.store.saveAssignment(this.specs, this.now());
        this.assignmentUnsaved = false;
      }
      if (this.storeError) this.log.info({ store: this.store.dir }, 'store writable again: state stored');
      this.storeError = '';
      this.storeRetryMs = 0;
    } catch (e) {
      this.storeError = `cannot write the store ${this.store.dir}: ${(e as Error).message}`;
      this.storeRetryMs = Math.min(30_000, this.storeRetryMs ? this.storeRetryMs * 2 : 500);
      this.log.error({ err: this.storeError, retryInMs: this.storeRetryMs }, 'state applied but not stored; will retry');
      if (!this.closed) {
        this.storeTimer = setTimeout(() => {
          this.storeTimer = null;
          void this.serial(() => this.persist());
        }, this.storeRetryMs);
      }
    }
  }

  private closed = false;

  /** Why the sidecar is not ready ("" when it is): a store or config write that keeps failing. */
  get notReadyReason(): string {
    return [this.storeError, this.writer.writeError].filter(Boolean).join('; ');
  }

  lookup(hash: string): ResolvedTarget | undefined {
    return this.resolved.get(hash);
  }

  clientFor(t: ResolvedTarget): ConfiguredHttpClient {
    let c = this.clients.get(t.job);
    if (!c) {
      c = new ConfiguredHttpClient(t.scrapeConfig.http, 'kvass-sidecar');
      this.clients.set(t.job, c);
    }
    return c;
  }

  createProxy(): Server {
    return createScrapeProxy({
      lookup: (h) => this.lookup(h),
      clientFor: (t) => this.clientFor(t),
      record: (h, r) => this.status.record(h, r),
      metrics: this.metrics,
      log: this.log,
    });
  }

  get originalConfig(): PromConfig | null {
    return this.config;
  }

  get configHash(): string {
    return this.configHashValue;
  }

  get assignment(): AssignedTargetSpec[] {
    return this.specs;
  }

  async runtimeInfo(): Promise<RuntimeInfo> {
    const ready = await this.prometheus.ready();
    if (this.opts.fetchHeadSeries && ready) {
      try {
        this.lastHeadSeries = await this.prometheus.headSeries();
        this.lastHeadError = '';
      } catch (e) {
        this.lastHeadError = (e as Error).message;
      }
    } else if (!ready) {
      this.lastHeadError = 'prometheus is not ready';
    }
    const processSeries = this.status.totalSeries();
    this.metrics.headSeries.set(this.lastHeadSeries);
    this.metrics.targetSeries.set(processSeries);
    return {
      headSeries: this.lastHeadSeries,
      headSeriesError: this.lastHeadError,
      processSeries,
      targets: this.resolved.size,
      configHash: this.configHashValue,
      idleSince: this.idleSince?.toISOString() ?? null,
      prometheusReady: ready,
      lastReloadError: this.writer.lastReloadError,
      ready: this.notReadyReason === '',
      notReadyReason: this.notReadyReason,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.storeTimer) clearTimeout(this.storeTimer);
    this.writer.stop();
    await Promise.all([...this.clients.values()].map((c) => c.close()));
  }
}

/** A change whose base is not the applied assignment (409: the sender sends the whole assignment). */
export class AssignmentConflict extends AssignmentError {
  constructor(message: string) {
    super(message);
    this.name = 'AssignmentConflict';
  }
}
