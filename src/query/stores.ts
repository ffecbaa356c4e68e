/**
 * The live set of the global view's remote stores (`--query.store`, `--query.stores-file`; the grammar is in
 * stores-file.ts). The gateway reads current() at every query; /api/v1/stores lists status().
 *
 * Every check interval each store's DNS name is looked up again (a failed lookup keeps the last endpoints and is
 * reported) and every endpoint is asked for /api/v1/status/config, with the store's own credentials, which proves
 * that its API answers and gives its external labels (unless the file gives them), as Thanos learns a store's
 * labels from its Info call; and /api/v1/status/tsdb, for the time its head covers. A cycle's results are applied
 * together when it ends, and a reloaded file's new stores are checked before they are swapped in, so current() only
 * ever shows endpoints that have been checked at least once.
 *
 * The file follows rings-file.ts: an invalid file at start stops the start with its reason; a changed file that is
 * invalid is logged and refused, and the last good set stays. A change is seen by fs.watch on the file's folder
 * (which also sees an atomic rename or a Kubernetes ConfigMap's symlink swap) and, where watching is unreliable
 * (network file systems, some containers), by a stat at every check.
 */
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import YAML from 'yaml';
import { ApiClient } from '../http/client.js';
import type { Logger } from '../logger.js';
import { isValidLabelName } from '../prom/labels.js';
import { loadStoresFile, type StoreSpec } from './stores-file.js';
import { MAX_ENDPOINTS_PER_NAME, resolveStore, storeClientConfig, systemResolver, within, type ResolvedEndpoint, type Resolver } from './store-dns.js';

export { MAX_ENDPOINTS_PER_NAME, resolveStore, storeClientConfig, systemResolver, type ResolvedEndpoint, type Resolver } from './store-dns.js';
export { MAX_STORES, StoresFileError, loadStoresFile, parseStoreUrl, parseStoresFile, storesFromFlags, type StoreSpec, type StoreTarget } from './stores-file.js';

/** One endpoint of one store, as the gateway reads it. */
export interface StoreEndpoint {
  /** The store's name. */
  store: string;
  /** The store's name, or "name/host:port" when DNS gave several endpoints. */
  name: string;
  /** Base URL, no trailing slash. */
  url: string;
  /** Built from the store's http_config (its TLS, client certificate, credential). */
  client: ApiClient;
  externalLabels: Record<string, string>;
  /** The last check succeeded. */
  healthy: boolean;
}

/** A row of GET /api/v1/stores. */
export interface StoreStatus {
  name: string;
  store: string;
  url: string;
  externalLabels: Record<string, string>;
  health: 'up' | 'down' | 'unknown';
  lastError: string | null;
  /** RFC 3339. */
  lastCheck: string | null;
  /** The head's time range (ms), when the store says it. */
  minTime: number | null;
  maxTime: number | null;
  labelsFrom: 'file' | 'store';
}

export interface StoreSetOptions {
  flagStores: StoreSpec[];
  file?: string;
  checkIntervalMs: number;
  /** Per lookup and per call, and the stores' clients' default. */
  timeoutMs: number;
  resolver?: Resolver;
  log: Logger;
  now?: () => number;
  clientFor?: (spec: StoreSpec) => ApiClient;
  /** Where kvass_query_store_* metrics go; unset: none. */
  registry?: Registry;
}

/** DNS names of headless services can list many pods: 256 endpoints per name bounds the work of a check. */
/** Endpoints probed at once in a check: a file of 1,000 stores must not open thousands of connections together. */
const PROBE_CONCURRENCY = 64;
/** fs.watch reports a write as several events (truncate, write): one reload after they settle. */
const WATCH_SETTLE_MS = 50;
/** A Prometheus configuration is a few MiB at most; the TSDB status is a few top-10 lists. */
const MAX_CONFIG_ANSWER = 32 << 20;
const MAX_TSDB_ANSWER = 4 << 20;
/** The gateway passes its own limit per read; this is the default of other calls on a store's client. */
const MAX_ANSWER = 256 << 20;

/** `global.external_labels` of a /api/v1/status/config answer's data (`{ yaml }`). */
export function externalLabelsOf(data: unknown): Record<string, string> {
  const text = (data as { yaml?: unknown } | null)?.yaml;
  if (typeof text !== 'string') throw new Error('no "yaml" in the answer');
  // Prometheus writes `global:` first and at column 0: parsing that section alone spares parsing a configuration of
  // many MiB at every check. Any other layout is parsed whole.
  const section = /^global:[ \t]*\n(?:(?:[ \t]+[^\n]*|[ \t]*|#[^\n]*)(?:\n|$))*/m.exec(text)?.[0];
  const cfg = YAML.parse(section ?? text, { maxAliasCount: 100 }) as { global?: { external_labels?: unknown } } | null;
  const raw = cfg?.global?.external_labels;
  const out: Record<string, string> = {};
  if (raw === undefined || raw === null) return out;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error('global.external_labels is not a mapping');
  for (const [k, v] of Object.entries(raw)) {
    if (!isValidLabelName(k) || (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')) throw new Error(`global.external_labels: bad label ${JSON.stringify(k)}`);
    if (String(v) !== '') out[k] = String(v);
  }
  return out;
}

/** The head's time range of a /api/v1/status/tsdb answer's data; an empty head (min > max) has none. */
export function headTimesOf(data: unknown): { minTime: number | null; maxTime: number | null } {
  const h = (data as { headStats?: { minTime?: unknown; maxTime?: unknown } } | null)?.headStats;
  const min = h?.minTime, max = h?.maxTime;
  if (typeof min !== 'number' || typeof max !== 'number' || !Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min > max) return { minTime: null, maxTime: null };
  return { minTime: min, maxTime: max };
}

interface EndpointState extends ResolvedEndpoint {
  health: 'up' | 'down' | 'unknown';
  lastError: string | null;
  lastCheck: number | null;
  minTime: number | null;
  maxTime: number | null;
  learned: Record<string, string> | null;
}

interface StoreState {
  spec: StoreSpec;
  /** The spec as JSON: a reloaded entry with the same key keeps its state and client. */
  key: string;
  client: ApiClient;
  endpoints: EndpointState[];
  lookupError: string | null;
  lookupCheck: number | null;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export class StoreSet {
  private flagStates: StoreState[] = [];
  private fileStates: StoreState[] = [];
  private readonly resolver: Resolver;
  private readonly now: () => number;
  private queue: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private settle?: NodeJS.Timeout;
  private watcher?: FSWatcher;
  private stamp = '';
  private started = false;
  private stopped = false;

  private readonly reloads?: Counter<'result'>;
  private readonly reloadOk?: Gauge;

  constructor(private readonly opts: StoreSetOptions) {
    this.resolver = opts.resolver ?? systemResolver(opts.timeoutMs);
    this.now = opts.now ?? Date.now;
    if (opts.registry) {
      const registers = [opts.registry];
      // Per store, not per endpoint: store names are bounded by the configuration, DNS answers are not.
      const stores = (): StoreState[] => this.all();
      new Gauge({
        name: 'kvass_query_store_endpoints', help: 'Endpoints of each remote store, by health (up: its last check succeeded).', labelNames: ['store', 'health'], registers,
        collect() {
          this.reset();
          for (const s of stores()) {
            this.set({ store: s.spec.name, health: 'up' }, s.endpoints.filter((e) => e.health === 'up').length);
            this.set({ store: s.spec.name, health: 'down' }, s.endpoints.filter((e) => e.health !== 'up').length);
          }
        },
      });
      this.reloads = new Counter({ name: 'kvass_query_store_file_reloads_total', help: 'Reads of a changed --query.stores-file, by result (success, failure: refused, the last good stores stay).', labelNames: ['result'], registers });
      this.reloadOk = new Gauge({ name: 'kvass_query_store_file_last_reload_successful', help: 'Whether the last read of --query.stores-file succeeded.', registers });
    }
  }

  /** Reads the file (invalid: throws its reason), resolves and checks every store once, then keeps them current. */
  async start(): Promise<void> {
    if (this.started) throw new Error('the store set is already started');
    this.started = true;
    const specs = this.opts.file === undefined ? [] : await this.readFile();
    this.reloadOk?.set(1);
    this.flagStates = this.opts.flagStores.map((s) => this.newState(s));
    this.fileStates = specs.map((s) => this.newState(s));
    await this.check(this.all());
    if (this.stopped) return;
    this.schedule();
    if (this.opts.file !== undefined) this.watchFile(this.opts.file);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.settle);
    this.watcher?.close();
    await this.queue;
    const all = this.all();
    this.flagStates = [];
    this.fileStates = [];
    await Promise.all(all.map((s) => s.client.close().catch(() => undefined)));
  }

  /** Every endpoint of every store, healthy or not. */
  current(): StoreEndpoint[] {
    return this.all().flatMap((s) => s.endpoints.map((e) => ({
      store: s.spec.name, name: this.endpointName(s, e), url: e.url, client: s.client,
      externalLabels: { ...this.labels(s, e) }, healthy: e.health === 'up',
    })));
  }

  /** One row per endpoint, and one per store that DNS has given no endpoint yet. */
  status(): StoreStatus[] {
    const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
    return this.all().flatMap((s): StoreStatus[] => {
      const labelsFrom = s.spec.externalLabels !== undefined ? 'file' : 'store';
      if (s.endpoints.length === 0) {
        return [{
          name: s.spec.name, store: s.spec.name, url: s.spec.url, externalLabels: { ...s.spec.externalLabels }, health: s.lookupError !== null ? 'down' : 'unknown',
          lastError: s.lookupError, lastCheck: iso(s.lookupCheck), minTime: null, maxTime: null, labelsFrom,
        }];
      }
      return s.endpoints.map((e) => ({
        name: this.endpointName(s, e), store: s.spec.name, url: e.url, externalLabels: { ...this.labels(s, e) }, health: e.health,
        lastError: e.lastError ?? s.lookupError, lastCheck: iso(e.lastCheck), minTime: e.minTime, maxTime: e.maxTime, labelsFrom,
      }));
    });
  }

  private all(): StoreState[] {
    return [...this.flagStates, ...this.fileStates];
  }

  private labels(s: StoreState, e: EndpointState): Record<string, string> {
    return s.spec.externalLabels ?? e.learned ?? {};
  }

  private endpointName(s: StoreState, e: EndpointState): string {
    return s.endpoints.length > 1 ? `${s.spec.name}/${e.hostPort}` : s.spec.name;
  }

  private newState(spec: StoreSpec): StoreState {
    const client = this.opts.clientFor?.(spec) ?? new ApiClient({ http: storeClientConfig(spec), timeoutMs: this.opts.timeoutMs, maxResponseBytes: MAX_ANSWER });
    return { spec, key: JSON.stringify(spec), client, endpoints: [], lookupError: null, lookupCheck: null };
  }

  /** One job at a time: checks and reloads never see each other's half-applied state. */
  private serial(job: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(() => (this.stopped ? undefined : job())).catch((e) => {
      this.opts.log.error({ err: message(e) }, 'stores: unexpected error');
    });
    return this.queue;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.serial(async () => {
        if (this.opts.file !== undefined) await this.reloadIfChanged(this.opts.file);
        await this.check(this.all());
      }).finally(() => this.schedule());
    }, this.opts.checkIntervalMs);
    this.timer.unref();
  }

  private watchFile(file: string): void {
    const name = basename(file);
    try {
      this.watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
        // A ConfigMap's files change through its "..data" link: any change in the folder may be ours.
        if (changed !== null && changed !== name && !changed.startsWith('..')) return;
        clearTimeout(this.settle);
        this.settle = setTimeout(() => void this.serial(() => this.reloadIfChanged(file)), WATCH_SETTLE_MS);
        this.settle.unref();
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (e) {
      this.opts.log.warn({ file, err: message(e) }, 'cannot watch the stores file; it is checked at every check interval');
    }
  }

  private async fileStamp(file: string): Promise<string> {
    const st = await stat(file).catch(() => undefined);
    return st ? `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}` : 'missing';
  }

  private async readFile(): Promise<StoreSpec[]> {
    const file = this.opts.file!;
    this.stamp = await this.fileStamp(file);
    return loadStoresFile(file, new Set(this.opts.flagStores.map((s) => s.name)));
  }

  private async reloadIfChanged(file: string): Promise<void> {
    if ((await this.fileStamp(file)) === this.stamp) return;
    let specs: StoreSpec[];
    try {
      specs = await this.readFile();
    } catch (e) {
      this.opts.log.error({ file, err: message(e) }, 'stores file refused; the last good stores stay');
      this.reloads?.inc({ result: 'failure' });
      this.reloadOk?.set(0);
      return;
    }
    this.reloads?.inc({ result: 'success' });
    this.reloadOk?.set(1);
    const old = new Map(this.fileStates.map((s) => [s.key, s]));
    const next = specs.map((spec) => old.get(JSON.stringify(spec)) ?? this.newState(spec));
    const added = next.filter((s) => !old.has(s.key));
    const removed = this.fileStates.filter((s) => !next.includes(s));
    if (added.length === 0 && removed.length === 0) return;
    await this.check(added);
    this.fileStates = next;
    // The gateway may still be reading through a removed store's client: undici's close lets those calls finish.
    await Promise.all(removed.map((s) => s.client.close().catch(() => undefined)));
    this.opts.log.info({ file, stores: next.length, added: added.map((s) => s.spec.name), removed: removed.map((s) => s.spec.name) }, 'stores file reloaded');
  }

  /** Looks up and probes `stores`, then applies every result at once. */
  private async check(stores: StoreState[]): Promise<void> {
    const t = this.opts.timeoutMs;
    const lookups = await mapLimit(stores, PROBE_CONCURRENCY, async (s) => {
      try {
        return { ok: await within(resolveStore(s.spec.target, this.resolver), t, `lookup ${s.spec.target.host}`) };
      } catch (e) {
        return { err: message(e) };
      }
    });
    const lists = stores.map((s, i) => {
      const found = lookups[i]!.ok?.endpoints;
      return found ? found.map((r) => s.endpoints.find((e) => e.url === r.url) ?? { ...r, health: 'unknown' as const, lastError: null, lastCheck: null, minTime: null, maxTime: null, learned: null }) : s.endpoints;
    });
    const pairs = stores.flatMap((s, i) => lists[i]!.map((e) => ({ s, e })));
    const results = await mapLimit(pairs, PROBE_CONCURRENCY, ({ s, e }) => this.probe(s, e));
    const at = this.now();
    pairs.forEach(({ s, e }, i) => this.applyProbe(s, e, results[i]!));
    stores.forEach((s, i) => this.applyLookup(s, lookups[i]!, lists[i]!, at));
  }

  private async probe(s: StoreState, e: EndpointState): Promise<Partial<EndpointState>> {
    const o = { timeoutMs: this.opts.timeoutMs };
    const [cfg, tsdb] = await Promise.allSettled([
      s.client.data(`${e.url}/api/v1/status/config`, { ...o, maxResponseBytes: MAX_CONFIG_ANSWER }),
      s.client.data(`${e.url}/api/v1/status/tsdb`, { ...o, maxResponseBytes: MAX_TSDB_ANSWER }),
    ]);
    const lastCheck = this.now();
    if (cfg.status === 'rejected') return { health: 'down', lastError: message(cfg.reason), lastCheck };
    let learned = e.learned;
    if (s.spec.externalLabels === undefined) {
      try {
        learned = externalLabelsOf(cfg.value.data);
      } catch (err) {
        return { health: 'down', lastError: `${e.url}/api/v1/status/config: cannot read the external labels: ${message(err)}`, lastCheck };
      }
    }
    // Not every store has the TSDB status (an older or partial API): its time range is then unknown, not an error.
    const times = tsdb.status === 'fulfilled' ? headTimesOf(tsdb.value.data) : { minTime: null, maxTime: null };
    return { health: 'up', lastError: null, lastCheck, learned, ...times };
  }

  private applyProbe(s: StoreState, e: EndpointState, r: Partial<EndpointState>): void {
    const log = this.opts.log;
    if (r.health === 'down' && e.health !== 'down') log.warn({ store: s.spec.name, url: e.url, err: r.lastError }, 'store down');
    if (r.health === 'up' && e.health === 'down') log.info({ store: s.spec.name, url: e.url }, 'store up again');
    Object.assign(e, r);
  }

  private applyLookup(s: StoreState, r: { ok?: { endpoints: ResolvedEndpoint[]; dropped: number }; err?: string }, list: EndpointState[], at: number): void {
    const log = this.opts.log;
    s.lookupCheck = at;
    if (r.err !== undefined) {
      if (s.lookupError === null) log.warn({ store: s.spec.name, err: r.err, kept: s.endpoints.length }, 'store lookup failed; its last endpoints stay');
      s.lookupError = r.err;
      return;
    }
    if (s.lookupError !== null) log.info({ store: s.spec.name }, 'store lookup works again');
    s.lookupError = null;
    const changed = list.length !== s.endpoints.length || list.some((e, i) => e !== s.endpoints[i]);
    if (changed && s.spec.target.lookup !== 'none') {
      log.info({ store: s.spec.name, endpoints: list.map((e) => e.url) }, 'store endpoints changed');
      if (r.ok!.dropped > 0) log.warn({ store: s.spec.name, dropped: r.ok!.dropped }, `more than ${MAX_ENDPOINTS_PER_NAME} endpoints: the rest are left out`);
    }
    s.endpoints = list;
  }
}
