/** The global view inside `kvass up`: store gateway, global querier and front door (src/query/). */
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { parseDuration } from '../prom/duration.js';
import type { Coordinator } from '../coordinator/coordinator.js';
import { PortAllocator } from '../shard/local-shard.js';
import { StoreGateway, type ReadShard } from '../query/gateway.js';
import { GlobalQuerier } from '../query/querier.js';
import { createFrontDoor } from '../query/front-door.js';
import { UsageError, flagList, type FlagSpec, type FlagValues } from './flags.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isValidLabelName } from '../prom/labels.js';
import { StoreSet, storesFromFlags, type StoreEndpoint } from '../query/stores.js';
import type { TenancyOptions } from '../query/tenancy.js';
import { consoleHandler } from '../console/serve.js';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createKvassServer, type Handler } from '../http/server.js';
import { apiError } from '../http/respond.js';
import type { ApiClient } from '../http/client.js';
import type { MoveHistory } from '../coordinator/moves.js';
import { QueryPushdown } from '../query/pushdown.js';
import { QuerierNames } from '../query/querier-names.js';

export const QUERY_FLAGS: readonly FlagSpec[] = [
  { name: 'query.replica-label', help: 'Label telling replicas apart, dropped from query results when deduplicating (repeatable).', default: 'replica', repeatable: true },
  { name: 'query.shard-timeout', help: 'How long one shard may take to answer a read before it is left out (with a warning).', default: '30s', kind: 'duration' },
  { name: 'query.partial-response', help: 'Answer without a shard that failed, with a warning; --no-query.partial-response fails the query instead.', default: 'true', kind: 'bool' },
  { name: 'query.lookback-delta', help: 'The global querier\'s --query.lookback-delta.', default: '5m', kind: 'duration' },
  { name: 'query.store', help: 'A remote store read besides the shards: the URL of a Prometheus, an ingestor or another kvass front door (dns+ and dnssrv+ hosts as in Thanos; repeatable).', repeatable: true },
  { name: 'query.stores-file', help: 'YAML list of remote stores, each with url, name, external_labels and Prometheus\'s http_config fields (TLS, client certificate, authorization, basic_auth, proxy_url); watched and reloaded.' },
  { name: 'query.store-timeout', help: 'How long one store may take to answer a read before it is left out (with a warning).', default: '30s', kind: 'duration' },
  { name: 'query.store-check-interval', help: 'How often stores are checked (health, external labels, time range) and DNS names looked up again.', default: '15s', kind: 'duration' },
  { name: 'query.pushdown', help: 'Answer a query by having each shard evaluate its part and merging the answers, when that is exact (no target moved within the window read); else, or with --query.pushdown=false, by remote read of every shard.', default: 'true', kind: 'bool' },
  { name: 'query.enforce-tenant', help: 'Every request names its tenant (--query.tenant-header) and reads only series of that tenant.', default: 'false', kind: 'bool' },
  { name: 'query.tenant-header', help: 'The header naming a request\'s tenant.', default: 'THANOS-TENANT' },
  { name: 'query.tenant-label-name', help: 'The label that says which tenant a series belongs to.', default: 'tenant_id' },
  { name: 'query.tenant-admin', help: 'A tenant that reads everything, the targets, shards, stores, status pages and web UI included (repeatable).', repeatable: true },
];

/**
 * The shards to read from, given the coordinator's view (per replica, shards in ordinal order): every shard that has
 * been ready once (one that stops answering is still read, and named in a warning when it fails); a shard never
 * ready yet is starting and holds no data. `seenReady` keeps the URLs seen ready across calls.
 */
export function readShardsOf(replicas: ReadonlyArray<ReadonlyArray<{ id: string; url: string; ready: boolean }>>, seen: ShardSightings, nowMs = Date.now()): ReadShard[] {
  return replicas.flatMap((rep, r) => rep.flatMap((s, ordinal) => {
    if (s.ready) {
      seen.ever.add(s.url);
      if (!seen.readySince.has(s.url)) seen.readySince.set(s.url, nowMs);
    } else seen.readySince.delete(s.url);
    return seen.ever.has(s.url) ? [{ name: `replica-${r}/${s.id}`, url: s.url, replica: r, ordinal, readySinceMs: seen.readySince.get(s.url) }] : [];
  }));
}

/** What readShardsOf remembers between calls: the shards ever seen ready, and since when each has been ready. */
export interface ShardSightings {
  ever: Set<string>;
  readySince: Map<string, number>;
}

export const newSightings = (): ShardSightings => ({ ever: new Set(), readySince: new Map() });

/** readShardsOf over an in-process coordinator's current view. */
export function shardReader(c: Coordinator): () => ReadShard[] {
  const seen = newSightings();
  return () => readShardsOf(c.shardViews, seen);
}

export interface GlobalView {
  handler: Handler;
  querier: GlobalQuerier;
  /** The remote stores, when any are configured. */
  stores?: StoreSet;
  /** Registers what to do on POST /-/reload (besides the coordinator's own reload). */
  onReload(f: () => void): void;
  /** Stops the querier's own gateway listener. */
  close(): void;
}

export interface GlobalViewOptions {
  /** The current shards (shardReader of an in-process coordinator, or polled from a remote one). */
  shards: () => ReadShard[];
  /** Replica labels besides --query.replica-label's (kvass up's ingestors: receive_replica). */
  extraReplicaLabels?: readonly string[];
  /** The coordinator's active targets, for the classic UI's targets page. */
  targets?: () => Promise<unknown[]>;
  /** Answers the coordinator's own paths (/api/v1/targets, /api/v1/shards, /metrics, /-/ready, /-/reload …). */
  coordinatorHandler: Handler;
  /** The original configuration; undefined: none (kvass query over stores alone: no rules). */
  configFile?: string;
  dataDir: string;
  frontDoorUrl: () => string;
  /** kvass's client for the shards' sidecars. */
  client: ApiClient;
  /** The coordinator's move log (for pushdown); null while unknown. */
  moves: () => MoveHistory | null;
  registry: Registry;
  log: Logger;
}

export async function createGlobalView(f: FlagValues, o: GlobalViewOptions): Promise<GlobalView> {
  const log = o.log.child({ component: 'global-view' });
  const replicaLabels = [...flagList(f, 'query.replica-label'), ...(o.extraReplicaLabels ?? [])];
  const shardTimeoutMs = parseDuration(f.get('query.shard-timeout')!);
  const partialResponse = f.get('query.partial-response') === 'true';
  const registry = o.registry;
  const stores = await startStores(f, log, registry);
  const storeTimeoutMs = parseDuration(f.get('query.store-timeout')!);
  const shards = stores ? (): ReadShard[] => [...o.shards(), ...stores.current().map((e) => storeShard(e, storeTimeoutMs))] : o.shards;
  // The querier reads the config (and checks it) at start and at every reload: the gateway takes its smallest interval.
  const fallbackIntervalMs = (): number => querier.smallestScrapeIntervalMs;
  const gateway = new StoreGateway({ shards, replicaLabels, shardTimeoutMs, partialResponse, client: o.client, log, registry, fallbackIntervalMs });
  // The querier's allocator also gives it a new port should another process take its own before a restart.
  const ports = new PortAllocator();
  const port = await ports.one();
  // The querier reads the gateway on a listener of its own on loopback: the front door may have TLS, client
  // certificates or basic auth that the querier's remote_read does not carry; this one serves remote read only.
  const internal = await createKvassServer({
    name: 'gateway for the querier', log, access: () => 'read',
    handler: (req, res, target) => (target.path === '/api/v1/read' ? gateway.handle(req, res) : apiError(res, 404, 'not_found', 'remote read only')),
  });
  internal.server.listen(0, '127.0.0.1');
  await once(internal.server, 'listening');
  const gatewayUrl = `http://127.0.0.1:${(internal.server.address() as AddressInfo).port}`;
  const querier: GlobalQuerier = new GlobalQuerier({
    configFile: o.configFile ?? (await noConfigFile(o.dataDir)),
    filterExternalLabels: !stores,
    dir: join(o.dataDir, 'querier'),
    gatewayUrl,
    port,
    ports,
    lookbackDeltaMs: parseDuration(f.get('query.lookback-delta')!),
    readTimeoutMs: shardTimeoutMs + 30_000,
    get externalUrl() {
      return o.frontDoorUrl();
    },
    log,
  });
  const querierNames = new QuerierNames(() => querier.url, log);
  const pushdown = new QueryPushdown({
    enabled: f.get('query.pushdown') === 'true', shards, client: o.client, timeoutMs: shardTimeoutMs, partialResponse,
    lookbackDeltaMs: parseDuration(f.get('query.lookback-delta')!), moves: o.moves, querierNames: () => querierNames.current, registry, log,
  });
  let reloadHook: () => void = () => undefined;
  const coordinatorHandler: Handler = (req, res, target) => {
    if (target.path === '/-/reload' && (req.method === 'POST' || req.method === 'PUT')) res.once('finish', () => {
      if (res.statusCode < 300) reloadHook();
      querierNames.refreshSoon();
    });
    return o.coordinatorHandler(req, res, target);
  };
  const handler = createFrontDoor({
    coordinator: coordinatorHandler, gateway, shards, querierUrl: () => querier.url, replicaLabels, shardTimeoutMs, partialResponse, client: o.client, log,
    stores: () => stores?.status() ?? [], tenancy: tenancyOf(f), pushdown,
    lookbackDeltaMs: parseDuration(f.get('query.lookback-delta')!), config: () => querier.config, targets: o.targets, console: consoleHandler(),
    flags: () => ({ 'config.file': o.configFile ?? '', 'web.listen-address': f.get('web.listen-address') ?? '', 'web.external-url': o.frontDoorUrl() }),
  });
  querierNames.start();
  const close = (): void => {
    querierNames.stop();
    stores?.stop();
    internal.close();
    internal.server.closeAllConnections();
    internal.server.close();
  };
  return { handler, querier, stores, onReload: (f) => void (reloadHook = () => {
    f();
    querierNames.refreshSoon();
  }), close };
}

/** The remote stores of --query.store and --query.stores-file, started (an invalid file is a usage error). */
async function startStores(f: FlagValues, log: Logger, registry: Registry): Promise<StoreSet | undefined> {
  const urls = flagList(f, 'query.store');
  const file = f.get('query.stores-file');
  if (urls.length === 0 && !file) return undefined;
  let flagStores;
  try {
    flagStores = storesFromFlags(urls);
  } catch (e) {
    throw new UsageError(`invalid --query.store: ${(e as Error).message}`);
  }
  const set = new StoreSet({
    flagStores, file: file ? resolve(file) : undefined, log, registry,
    checkIntervalMs: parseDuration(f.get('query.store-check-interval')!),
    timeoutMs: parseDuration(f.get('query.store-timeout')!),
  });
  try {
    await set.start();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return set;
}

/** A store endpoint as the gateway reads it. */
function storeShard(e: StoreEndpoint, timeoutMs: number): ReadShard {
  return { name: e.name, url: e.url, replica: 0, ordinal: -1, store: { client: e.client, timeoutMs, externalLabels: e.externalLabels } };
}

/** --query.enforce-tenant and its companions. */
function tenancyOf(f: FlagValues): TenancyOptions | undefined {
  if (f.get('query.enforce-tenant') !== 'true') return undefined;
  const header = f.get('query.tenant-header')!.trim().toLowerCase();
  if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(header)) throw new UsageError(`invalid --query.tenant-header ${JSON.stringify(header)}: not an HTTP header name`);
  const labelName = f.get('query.tenant-label-name')!;
  if (!isValidLabelName(labelName)) throw new UsageError(`invalid --query.tenant-label-name ${JSON.stringify(labelName)}: not a label name`);
  return { header, labelName, admins: new Set(flagList(f, 'query.tenant-admin')) };
}

/** kvass query without --config.file: a configuration with no rules, no alerting, no external labels. */
async function noConfigFile(dataDir: string): Promise<string> {
  const file = join(dataDir, 'no-config.yml');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await writeFile(file, '# kvass query without --config.file: no rule_files, no alerting, no external labels.\nglobal: {}\n');
  return file;
}
