/**
 * The global view of the query bench in a thread of its own: the store gateway and two front doors (query pushdown
 * on and off), as `kvass up` runs them in its own process. In the bench's own thread they would share one event loop
 * with the client that times them, which a real front door does not.
 *
 * workerData: { shardUrls, querierUrl }. Posts { gatewayUrl, pushdownUrl, remoteReadUrl } once listening; on the
 * message 'querier-started' reads the querier's own metric names and posts 'ready'.
 */
import { once } from 'node:events';
import { parentPort, workerData } from 'node:worker_threads';
import { ApiClient } from '../src/http/client.js';
import { apiError } from '../src/http/respond.js';
import { createKvassServer } from '../src/http/server.js';
import { silentLogger } from '../src/logger.js';
import { createFrontDoor } from '../src/query/front-door.js';
import { StoreGateway, type ReadShard } from '../src/query/gateway.js';
import { QueryPushdown } from '../src/query/pushdown.js';
import { QuerierNames } from '../src/query/querier-names.js';

const { shardUrls, querierUrl } = workerData as { shardUrls: string[]; querierUrl: string };
const log = silentLogger();
const shards = (): ReadShard[] => shardUrls.map((url, k) => ({ name: `shard-${k}`, url, replica: 0, ordinal: k, readySinceMs: 0 }));
const client = new ApiClient({ timeoutMs: 60_000, maxResponseBytes: 1 << 30 });
const gateway = new StoreGateway({ shards, replicaLabels: ['replica'], shardTimeoutMs: 60_000, partialResponse: true, client, log });
const names = new QuerierNames(() => querierUrl, log);

async function listen(handler: Parameters<typeof createKvassServer>[0]['handler']): Promise<string> {
  const s = await createKvassServer({ name: 'bench', log, access: () => 'read', handler });
  s.server.listen(0, '127.0.0.1');
  await once(s.server, 'listening');
  return `http://127.0.0.1:${(s.server.address() as { port: number }).port}`;
}

function frontDoor(pushdown: boolean): Promise<string> {
  const p = new QueryPushdown({
    enabled: pushdown, shards, client, timeoutMs: 60_000, partialResponse: true, lookbackDeltaMs: 300_000,
    // No coordinator: nothing ever moved between these shards.
    moves: () => ({ sinceMs: 0, marginMs: 0, moves: [] }), querierNames: () => names.current, log,
  });
  return listen(createFrontDoor({
    coordinator: (_req, res) => apiError(res, 404, 'not_found', 'no coordinator in the bench'), gateway, shards, querierUrl: () => querierUrl,
    replicaLabels: ['replica'], shardTimeoutMs: 60_000, partialResponse: true, client, lookbackDeltaMs: 300_000, config: () => null, flags: () => ({}), log, pushdown: p,
  }));
}

const gatewayUrl = await listen((req, res, target) => (target.path === '/api/v1/read' ? gateway.handle(req, res) : apiError(res, 404, 'not_found', 'remote read only')));
parentPort!.postMessage({ gatewayUrl, pushdownUrl: await frontDoor(true), remoteReadUrl: await frontDoor(false) });
parentPort!.on('message', (m) => {
  if (m === 'querier-started') void names.refresh().then(() => parentPort!.postMessage('ready'));
});
