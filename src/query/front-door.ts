/**
 * The front door of `kvass up` and `kvass query` (--web.listen-address): one Prometheus-compatible HTTP endpoint.
 *
 * - /api/v1/targets, /api/v1/shards, /metrics, /-/healthy, /-/ready, /-/reload: the coordinator's API (or, in
 *   `kvass query`, the coordinator's answers passed through and this process's own health, metrics and reload).
 * - /api/v1/read: the store gateway (remote read over all shards).
 * - /api/v1/labels, /api/v1/label/<name>/values, /api/v1/metadata: fanned out to the shards and the querier
 *   (shard-api.ts), since remote read cannot answer them.
 * - Prometheus's query API and web UI (QUERIER_PATHS): the global querier. The JSON answers of query, query_range
 *   and series get the warnings of the shard reads made while they ran; with partial responses off, an answer
 *   whose read the gateway refused becomes an error (503). Nothing else reaches the querier: not /-/quit or
 *   /-/reload (its lifecycle is kvass's), not the admin API.
 * Access (docs/security.md): reads open as Prometheus's are (unless the web config has basic auth users), /-/reload
 * needs a credential, health and /metrics are open.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import type { Access } from '../http/auth.js';
import { readBody } from '../http/body.js';
import { AllowList, notForwarded, passThrough } from '../http/passthrough.js';
import type { RequestTarget } from '../http/request.js';
import { apiError, apiSuccess } from '../http/respond.js';
import type { Handler } from '../http/server.js';
import type { ApiClient } from '../http/client.js';
import { fanOutApi, type ApiKind } from './shard-api.js';
import type { ReadShard, StoreGateway } from './gateway.js';

export interface FrontDoorOptions {
  /** The coordinator's API handler. */
  coordinator: Handler;
  gateway: StoreGateway;
  shards: () => readonly ReadShard[];
  querierUrl: string;
  replicaLabels: readonly string[];
  shardTimeoutMs: number;
  partialResponse: boolean;
  /** kvass's client for the shards' sidecars. */
  client: ApiClient;
  log: Logger;
}

const COORDINATOR_PATHS = new Set(['/api/v1/targets', '/api/v1/shards', '/metrics', '/-/healthy', '/-/ready', '/-/reload']);
const WARNED_PATHS = new Set(['/api/v1/query', '/api/v1/query_range', '/api/v1/series']);

/** What the front door passes to the global querier: Prometheus's read API and its web UI. */
export const QUERIER_PATHS = new AllowList([
  { methods: ['GET', 'POST'], path: /^\/api\/v1\/(query|query_range|query_exemplars|series|format_query)$/ },
  { methods: ['GET'], path: /^\/api\/v1\/(rules|alerts|alertmanagers|targets\/metadata|status\/(config|flags|runtimeinfo|buildinfo|tsdb|walreplay))$/ },
  { methods: ['GET'], path: /^\/federate$/ },
  { methods: ['GET', 'HEAD'], path: /^\/(graph|alerts|rules|targets|service-discovery|status|tsdb-status|flags|config|agent|starting)?$/ },
  { methods: ['GET', 'HEAD'], path: /^\/(static|assets|classic|user|consoles|console_libraries)\// },
  { methods: ['GET', 'HEAD'], path: /^\/(favicon\.ico|manifest\.json|robots\.txt|version)$/ },
]);

/** The front door's access levels (http/auth.ts). */
export function frontDoorAccess(method: string, path: string): Access {
  if (path === '/-/healthy' || path === '/-/ready' || path === '/metrics') return 'open';
  if (path === '/-/reload') return 'control';
  return 'read';
}

export function createFrontDoor(o: FrontDoorOptions): Handler {
  const toQuerier = (req: IncomingMessage, res: ServerResponse, target: RequestTarget, body?: Buffer, onJson?: (status: number, json: Record<string, unknown>) => { status: number; json: unknown }) =>
    passThrough(req, res, target, {
      upstream: o.querierUrl, name: 'global querier', timeoutMs: 5 * 60_000, maxRequestBytes: 8 << 20, maxResponseBytes: 2 ** 31,
      dropRequestHeaders: ['authorization', 'cookie'], body, onJson,
    });

  async function fanOut(kind: ApiKind, req: IncomingMessage, res: ServerResponse, target: RequestTarget, labelName?: string): Promise<void> {
    let query = target.rawQuery ? `?${target.rawQuery}` : '';
    if (req.method === 'POST') {
      // Grafana sends label queries as forms; shards and querier get them as a GET query string.
      const form = (await readBody(req, 8 << 20)).toString('utf8');
      const merged = new URLSearchParams(target.rawQuery);
      for (const [k, v] of new URLSearchParams(form)) merged.append(k, v);
      query = merged.size > 0 ? `?${merged}` : '';
    }
    if (kind === 'values' && labelName !== undefined && o.replicaLabels.includes(labelName)) return apiSuccess(res, []);
    const r = await fanOutApi(kind, `${target.rawPath}${query}`, o.shards(), o.querierUrl, { timeoutMs: o.shardTimeoutMs, client: o.client, replicaLabels: o.replicaLabels });
    if (!r.complete && !o.partialResponse) return apiError(res, 503, 'unavailable', `partial response disabled and some shards did not answer: ${r.warnings.join('; ')}`);
    apiSuccess(res, r.data, r.warnings);
  }

  return async (req, res, target) => {
    const { path } = target;
    const method = req.method ?? 'GET';
    if (COORDINATOR_PATHS.has(path)) return o.coordinator(req, res, target);
    if (path === '/api/v1/read') return o.gateway.handle(req, res);
    if (path === '/api/v1/labels') return fanOut('labels', req, res, target);
    if (path === '/api/v1/metadata') return fanOut('metadata', req, res, target);
    const values = /^\/api\/v1\/label\/([^/]+)\/values$/.exec(path);
    if (values) return fanOut('values', req, res, target, values[1]!);
    if (!QUERIER_PATHS.allows(method, path)) return notForwarded(res, method, path);
    if (!WARNED_PATHS.has(path)) return toQuerier(req, res, target);
    const since = Date.now();
    const body = method === 'POST' ? await readBody(req, 8 << 20) : undefined;
    await toQuerier(req, res, target, body, (status, json) => {
      // A read the gateway refused (partial responses off) comes back as this request's own warning naming
      // …/api/v1/read: that decides the error. The gateway's shard warnings of the reads made meanwhile say which
      // shard and why; a concurrent request's reads may be among them, so they only inform.
      const own = Array.isArray(json.warnings) ? (json.warnings as string[]) : [];
      const failedRead = own.filter((w) => typeof w === 'string' && w.includes('/api/v1/read'));
      const shardWarnings = o.gateway.warningsSince(since).filter((w) => !own.includes(w));
      if (failedRead.length > 0 && !o.partialResponse) {
        return { status: 503, json: { status: 'error', errorType: 'unavailable', error: `partial response disabled and some shards did not answer: ${failedRead.join('; ')}` } };
      }
      const warnings = [...own, ...shardWarnings];
      if (warnings.length > 0) json.warnings = warnings;
      return { status, json };
    });
  };
}
