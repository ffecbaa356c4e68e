/**
 * The global querier: a real `prometheus` with no scrape jobs whose storage is remote read from the store gateway
 * (`read_recent: true`), so PromQL is Prometheus's own. It runs the original config's `rule_files` and `alerting`
 * (recording rules land in its own TSDB; alerts go to the configured Alertmanagers), keeps `global` (external
 * labels, evaluation interval) and `remote_write` (so rule results are shipped as one Prometheus would), and adds
 * the gateway in front of any `remote_read` the original has.
 *
 * Files in `<dir>`: prometheus.yml (generated), tsdb/, prometheus.log, pid.
 */
import { ApiClient } from '../http/client.js';
import { execFile } from 'node:child_process';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { writeFileAtomic } from '../files.js';
import { dirname, join } from 'node:path';
import YAML, { isMap, isSeq, YAMLMap, YAMLSeq } from 'yaml';
import type { Logger } from '../logger.js';
import { intervalString, loadConfigFile, type PromConfig } from '../config/config.js';
import { injectConfig } from '../sidecar/inject.js';
import { WatchedProcess, findPidsByCommandLine, stopPid } from '../shard/local-process.js';
import { answersReady } from '../shard/types.js';
import { LOOKBACK_HEADER } from './gateway.js';

export interface QuerierOptions {
  /** The original prometheus.yml. */
  configFile: string;
  /** Folder of the querier (created). */
  dir: string;
  /** Base URL of the store gateway (…/api/v1/read is appended). */
  gatewayUrl: string;
  /** Port for the querier's HTTP API (on 127.0.0.1), at first: see `ports`. */
  port: number;
  /**
   * Where a new port comes from when another process holds the querier's before a (re)start (a PortAllocator, as
   * local shards have: keepOrReplace): the querier moves, and its `url` follows. Without it, the port is kept whatever.
   */
  ports?: { keepOrReplace(port: number): Promise<number> };
  lookbackDeltaMs: number;
  /** The querier's remote_timeout towards the gateway. */
  readTimeoutMs: number;
  /**
   * Whether the querier adds its external labels as matchers to every read and strips them from the answers
   * (Prometheus's default, right while every shard shares them). Off when remote stores from other clusters are
   * read: their series carry other values of those labels, and must keep them.
   */
  filterExternalLabels?: boolean;
  /** --web.external-url: the front door, so links in alerts point there. */
  externalUrl?: string;
  prometheusBinary?: string;
  log: Logger;
}

type ConfigOptions = Pick<QuerierOptions, 'configFile' | 'dir' | 'gatewayUrl' | 'lookbackDeltaMs' | 'readTimeoutMs' | 'filterExternalLabels'>;

/** The querier's configuration text, from the original configuration file. */
export async function querierConfig(opts: ConfigOptions): Promise<string> {
  return querierConfigOf(await loadConfigFile(opts.configFile), opts);
}

/** The smallest scrape interval of the jobs of a configuration (the global one when it has no job). */
export function smallestScrapeInterval(cfg: PromConfig): number {
  if (cfg.scrapeConfigs.length === 0) return cfg.global.scrapeInterval;
  return Math.min(...cfg.scrapeConfigs.map((j) => j.scrapeInterval));
}

function querierConfigOf(cfg: PromConfig, opts: ConfigOptions): string {
  // injectConfig keeps comments and secrets as written and makes relative paths absolute for the new folder.
  const text = injectConfig(cfg, [], { proxyUrl: 'http://127.0.0.1:1', keepRulesAndAlerting: true, outputDir: opts.dir });
  const doc = YAML.parseDocument(text);
  const top = isMap(doc.contents) ? doc.contents : new YAMLMap();
  doc.contents = top as never;
  top.delete('scrape_configs');
  const gateway = doc.createNode({
    name: 'kvass-gateway',
    url: `${opts.gatewayUrl.replace(/\/+$/, '')}/api/v1/read`,
    read_recent: true,
    remote_timeout: intervalString(opts.readTimeoutMs),
    headers: { [LOOKBACK_HEADER]: String(opts.lookbackDeltaMs) },
    ...(opts.filterExternalLabels === false ? { filter_external_labels: false } : {}),
  });
  const existing = top.get('remote_read', true);
  const list = isSeq(existing) ? existing : new YAMLSeq();
  list.items.unshift(gateway);
  top.set('remote_read', list);
  return `# Written by kvass from ${opts.configFile}: the global querier (no scrape jobs; data from the store gateway).\n${doc.toString({ lineWidth: 0 })}`;
}

/**
 * kvass's client for the global querier: its own Prometheus on loopback, so no credential goes there. Callers give
 * each call its own deadline and answer cap.
 */
export const QUERIER_CLIENT = new ApiClient({ timeoutMs: 30_000, maxResponseBytes: 256 << 20 });

export class GlobalQuerier {
  private process: WatchedProcess | null = null;
  private smallestInterval = 0;
  private checked: PromConfig | null = null;
  private port: number;

  constructor(private readonly opts: QuerierOptions) {
    this.port = opts.port;
  }

  /** Read it at each use: the querier moves to another port when its own was taken before a restart. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get configPath(): string {
    return join(this.opts.dir, 'prometheus.yml');
  }

  /** The smallest scrape interval of the configuration last checked (0 before the first check). */
  get smallestScrapeIntervalMs(): number {
    return this.smallestInterval;
  }

  private get marker(): string {
    return `--storage.tsdb.path=${join(this.opts.dir, 'tsdb')}`;
  }

  /**
   * Writes the config and has `promtool check config` read it with its rule files, as Prometheus will: a bad rule
   * file is an error with its file, line and reason here, before anything starts, not a querier failing in a loop.
   */
  check(): Promise<void> {
    return this.serial(() => this.checkNow());
  }

  /** check() and reload() run one at a time: they share the checked file. */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const p = this.queue.then(f, f);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private queue: Promise<unknown> = Promise.resolve();

  private async checkNow(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true, mode: 0o700 });
    const next = `${this.configPath}.new`;
    const cfg = await loadConfigFile(this.opts.configFile);
    // It holds the original's remote_write and alerting credentials: private, and never left behind.
    await writeFileAtomic(next, querierConfigOf(cfg, this.opts));
    const promtool = join(dirname(this.opts.prometheusBinary ?? 'prometheus'), 'promtool').replace(/^\.\//, '');
    await new Promise<void>((resolveCheck, reject) => {
      execFile(promtool, ['check', 'config', '--lint=none', next], { timeout: 60_000 }, (err, stdout, stderr) => {
        if (!err) return resolveCheck();
        const why = `${stdout}\n${stderr}`.split('\n').map((l) => l.trim()).filter((l) => /FAILED|error|err/i.test(l)).join('; ');
        reject(new Error(`the global querier's configuration (rule_files, alerting of ${this.opts.configFile}) is refused by promtool: ${why || err.message}`));
      });
    }).catch(async (e: unknown) => {
      await unlink(next).catch(() => undefined);
      throw e;
    });
    // Only a checked config replaces the one Prometheus loads (and reloads after a crash).
    await rename(next, this.configPath);
    this.smallestInterval = smallestScrapeInterval(cfg);
    this.checked = cfg;
  }

  /** The original configuration as last checked (null before the first check). */
  get config(): PromConfig | null {
    return this.checked;
  }

  async start(): Promise<void> {
    await this.check();
    // A querier left running by a coordinator killed earlier holds the TSDB lock: stop it first.
    for (const pid of findPidsByCommandLine(this.marker)) await stopPid(pid);
    this.process = new WatchedProcess({
      label: 'global querier prometheus',
      command: this.opts.prometheusBinary ?? 'prometheus',
      args: () => [
        `--config.file=${this.configPath}`,
        this.marker,
        `--web.listen-address=127.0.0.1:${this.port}`,
        '--web.enable-lifecycle',
        `--query.lookback-delta=${intervalString(this.opts.lookbackDeltaMs)}`,
        ...(this.opts.externalUrl ? [`--web.external-url=${this.opts.externalUrl}`] : []),
      ],
      beforeStart: () => this.keepPort(),
      cwd: this.opts.dir,
      logFile: join(this.opts.dir, 'prometheus.log'),
      log: this.opts.log,
      onPid: (pid) => void writeFile(join(this.opts.dir, 'pid'), pid === null ? '' : String(pid)).catch(() => undefined),
    });
    await this.process.start();
  }

  /** Its port, or a new one when another process holds it (opts.ports). */
  private async keepPort(): Promise<void> {
    if (!this.opts.ports) return;
    const taken = this.port;
    this.port = await this.opts.ports.keepOrReplace(taken);
    if (this.port !== taken) this.opts.log.warn({ taken, port: this.port }, 'the global querier\'s port is held by another process: it moves to a new one');
  }

  async ready(timeoutMs = 1000): Promise<boolean> {
    return answersReady(this.url, timeoutMs);
  }

  /** Rewrites the config from the original file and has Prometheus reload it; throws with Prometheus's reason. */
  reload(): Promise<void> {
    return this.serial(async () => {
      await this.checkNow();
      const res = await fetch(`${this.url}/-/reload`, { method: 'POST', signal: AbortSignal.timeout(30_000) });
      const body = (await res.text()).slice(0, 2000);
      if (!res.ok) throw new Error(`the global querier refused the new configuration: ${body.trim()}`);
    });
  }

  async stop(): Promise<void> {
    await this.process?.stop();
  }
}
