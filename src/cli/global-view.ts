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
import { flagList, type FlagSpec, type FlagValues } from './flags.js';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createKvassServer, type Handler } from '../http/server.js';
import { apiError } from '../http/respond.js';
import type { ApiClient } from '../http/client.js';

export const QUERY_FLAGS: readonly FlagSpec[] = [
  { name: 'query.replica-label', help: 'Label telling replicas apart, dropped from query results when deduplicating (repeatable).', default: 'replica', repeatable: true },
  { name: 'query.shard-timeout', help: 'How long one shard may take to answer a read before it is left out (with a warning).', default: '30s', kind: 'duration' },
  { name: 'query.partial-response', help: 'Answer without a shard that failed, with a warning; --no-query.partial-response fails the query instead.', default: 'true', kind: 'bool' },
  { name: 'query.lookback-delta', help: 'The global querier\'s --query.lookback-delta.', default: '5m', kind: 'duration' },
];

/**
 * The shards to read from, given the coordinator's view (per replica, shards in ordinal order): every shard that has
 * been ready once (one that stops answering is still read, and named in a warning when it fails); a shard never
 * ready yet is starting and holds no data. `seenReady` keeps the URLs seen ready across calls.
 */
export function readShardsOf(replicas: ReadonlyArray<ReadonlyArray<{ id: string; url: string; ready: boolean }>>, seenReady: Set<string>): ReadShard[] {
  return replicas.flatMap((rep, r) => rep.flatMap((s, ordinal) => {
    if (s.ready) seenReady.add(s.url);
    return seenReady.has(s.url) ? [{ name: `replica-${r}/${s.id}`, url: s.url, replica: r, ordinal }] : [];
  }));
}

/** readShardsOf over an in-process coordinator's current view. */
export function shardReader(c: Coordinator): () => ReadShard[] {
  const seenReady = new Set<string>();
  return () => readShardsOf(c.shardViews, seenReady);
}

export interface GlobalView {
  handler: Handler;
  querier: GlobalQuerier;
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
  /** Answers the coordinator's own paths (/api/v1/targets, /api/v1/shards, /metrics, /-/ready, /-/reload …). */
  coordinatorHandler: Handler;
  configFile: string;
  dataDir: string;
  frontDoorUrl: () => string;
  /** kvass's client for the shards' sidecars. */
  client: ApiClient;
  registry: Registry;
  log: Logger;
}

export async function createGlobalView(f: FlagValues, o: GlobalViewOptions): Promise<GlobalView> {
  const log = o.log.child({ component: 'global-view' });
  const replicaLabels = [...flagList(f, 'query.replica-label'), ...(o.extraReplicaLabels ?? [])];
  const shardTimeoutMs = parseDuration(f.get('query.shard-timeout')!);
  const partialResponse = f.get('query.partial-response') === 'true';
  const registry = o.registry;
  const shards = o.shards;
  // The querier reads the config (and checks it) at start and at every reload: the gateway takes its smallest interval.
  const fallbackIntervalMs = (): number => querier.smallestScrapeIntervalMs;
  const gateway = new StoreGateway({ shards, replicaLabels, shardTimeoutMs, partialResponse, client: o.client, log, registry, fallbackIntervalMs });
  const port = await new PortAllocator().one();
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
    configFile: o.configFile,
    dir: join(o.dataDir, 'querier'),
    gatewayUrl,
    port,
    lookbackDeltaMs: parseDuration(f.get('query.lookback-delta')!),
    readTimeoutMs: shardTimeoutMs + 30_000,
    get externalUrl() {
      return o.frontDoorUrl();
    },
    log,
  });
  let reloadHook: () => void = () => undefined;
  const coordinatorHandler: Handler = (req, res, target) => {
    if (target.path === '/-/reload' && (req.method === 'POST' || req.method === 'PUT')) res.once('finish', () => {
      if (res.statusCode < 300) reloadHook();
    });
    return o.coordinatorHandler(req, res, target);
  };
  const handler = createFrontDoor({ coordinator: coordinatorHandler, gateway, shards, querierUrl: querier.url, replicaLabels, shardTimeoutMs, partialResponse, client: o.client, log });
  const close = (): void => {
    internal.close();
    internal.server.closeAllConnections();
    internal.server.close();
  };
  return { handler, querier, onReload: (f) => void (reloadHook = f), close };
}
