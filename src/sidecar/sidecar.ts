/**
 * One shard's sidecar: holds the original configuration and the assignment, writes the injected config,
 * runs the scrape proxy and the API. State changes go through here, in order: a new assignment is checked
 * against the configuration, stored on disk, then injected; a new configuration is checked before it
 * replaces the old one (a bad one is refused and the last good one stays).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Server } from 'node:http';
import type { Logger } from '../logger.js';
import { parseConfig, type PromConfig } from '../prom/config.js';
import { ConfiguredHttpClient } from '../prom/http-client.js';
import type { Labels } from '../prom/labels.js';
import { resolveTargets, type AssignedTargetSpec, type ResolvedTarget } from './assignment.js';
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

export interface RuntimeInfo {
  headSeries: number;
  headSeriesError: string;
  processSeries: number;
  targets: number;
  configHash: string;
  idleSince: string | null;
  prometheusReady: boolean;
  lastReloadError: string;
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
    this.writer = new ConfigWriter(opts.outputFile, this.prometheus, opts.reloadDebounceMs, this.metrics, opts.log);
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
    const text = this.opts.configFile ? await readFile(this.opts.configFile, 'utf8') : await this.store.loadConfig();
    if (text !== null) this.applyConfigText(text, this.opts.configFile ?? this.store.configFile); // a bad file at start is fatal: nothing good to keep
    const stored = await this.store.loadAssignment();
    if (stored) {
      this.setSpecs(stored.targets);
      this.log.info({ targets: stored.targets.length, updatedAt: stored.updatedAt }, 'assignment restored from the store');
    }
    await this.inject();
  }

  private applyConfigText(text: string, file: string): void {
    const cfg = parseConfig(text, file, this.opts.configFile ? dirname(resolve(this.opts.configFile)) : dirname(resolve(file)));
    this.config = cfg;
    this.configHashValue = createHash('sha256').update(text).digest('hex').slice(0, 16);
    for (const c of this.clients.values()) void c.close();
    this.clients.clear();
  }

  /** Re-reads --config.file (SIGHUP, or its content changed). A bad file is refused and the old config stays. */
  reloadConfigFile(): Promise<boolean> {
    return this.serial(async () => {
      if (!this.opts.configFile) return false;
      const text = await readFile(this.opts.configFile, 'utf8');
      if (this.config && text === this.config.text) return false;
      this.applyConfigText(text, this.opts.configFile);
      this.setSpecs(this.specs);
      await this.inject();
      this.log.info({ file: this.opts.configFile }, 'configuration reloaded');
      return true;
    });
  }

  /** The original config pushed by the coordinator (when no --config.file). Throws on a bad config. */
  pushConfig(text: string): Promise<void> {
    return this.serial(async () => {
      if (this.opts.configFile) throw new Error('this sidecar reads its configuration from --config.file; pushing is disabled');
      if (this.config && this.config.text === text) return;
      this.applyConfigText(text, this.store.configFile);
      await this.store.saveConfig(text);
      this.setSpecs(this.specs);
      await this.inject();
    });
  }

  /** Replaces the assignment (the full set). Throws AssignmentError when an entry is wrong; then nothing changes. */
  replaceAssignment(specs: AssignedTargetSpec[]): Promise<{ targets: number; unknownJobs: string[] }> {
    return this.serial(async () => {
      if (!this.config) throw new Error('no configuration yet: push it first (POST /api/v1/shard/config)');
      const { targets, unknownJobs } = resolveTargets(specs, this.config);
      if (unknownJobs.length) throw new Error(`unknown job(s) ${unknownJobs.map((j) => JSON.stringify(j)).join(', ')}: not in this sidecar's configuration`);
      const withHashes = targets.map(({ hash, job, labels, state }) => ({ hash, job, labels, state }));
      await this.store.saveAssignment(withHashes, this.now());
      this.setSpecs(withHashes);
      await this.inject();
      return { targets: withHashes.length, unknownJobs };
    });
  }

  private setSpecs(specs: AssignedTargetSpec[]): void {
    this.specs = specs;
    this.resolved = new Map();
    if (this.config) {
      const { targets, unknownJobs } = resolveTargets(specs, this.config);
      if (unknownJobs.length) this.log.error({ jobs: unknownJobs }, 'assigned targets of jobs the configuration does not have are not scraped');
      for (const t of targets) this.resolved.set(t.hash, t);
    }
    this.status.assign([...this.resolved.values()], this.now());
    if (this.resolved.size === 0) this.idleSince ??= this.now();
    else this.idleSince = null;
    this.metrics.targets.reset();
    for (const t of this.resolved.values()) this.metrics.targets.inc({ state: t.state });
  }

  private async inject(): Promise<void> {
    if (!this.config) return;
    const text = injectConfig(this.config, [...this.resolved.values()], {
      proxyUrl: this.proxyUrl,
      keepRulesAndAlerting: this.opts.keepRulesAndAlerting,
      outputDir: dirname(resolve(this.opts.outputFile)),
      extraExternalLabels: this.opts.externalLabels,
    });
    await this.writer.write(text);
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
    };
  }

  async close(): Promise<void> {
    this.writer.stop();
    await Promise.all([...this.clients.values()].map((c) => c.close()));
  }
}
