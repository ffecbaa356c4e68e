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
 * - /api/v1/stores: the remote stores (stores.ts) and their health; /kvass/: the web console (src/console/).
 * - /federate (federate-view.ts), /api/v1/status/tsdb, /api/v1/targets/metadata, /api/v1/query_exemplars
 *   (merged-api.ts), the classic UI's status, targets and config pages (classic-ui.ts): answered over the whole view, since the
 *   querier's own answers cover only its TSDB; /api/v1/status/config is the original configuration (secrets
 *   masked), /api/v1/status/flags the querier's with kvass's address and config file.
 * Access (docs/security.md): reads open as Prometheus's are (unless the web config has basic auth users), /-/reload
 * needs a credential, health and /metrics are open. With --query.enforce-tenant, every request is first held to
 * its tenant (tenancy.ts): parameters rewritten, remote read given the tenant's matcher, admin paths refused.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import type { Access } from '../http/auth.js';
import { readBody } from '../http/body.js';
import { AllowList, notForwarded, passThrough } from '../http/passthrough.js';
import type { RequestTarget } from '../http/request.js';
import { apiError, apiSuccess } from '../http/respond.js';
import type { Handler } from '../http/server.js';
import { fanOutApi } from './shard-api.js';
import { MERGED_PATHS, mergedTsdbStatus, serveMergedApi, type MergedApiOptions, type MergedPath } from './merged-api.js';
import { CLASSIC_PAGES, serveClassicPage } from './classic-ui.js';
import type { ViewTarget } from './targets-page.js';
import type { ApiClient } from '../http/client.js';
import type { ReadShard, StoreGateway } from './gateway.js';
import { TenancyError, enforceParams, requestParams, tenantOf, tenantRoute, tenantSelector, type TenancyOptions } from './tenancy.js';
import { tenantMatcher } from './tenant.js';
import { serveFederate } from './federate-view.js';
import { FALLBACK_HEADER, PATH_HEADER, type QueryPushdown } from './pushdown.js';
import type { FallbackReason } from './pushdown-types.js';
import { statusConfigYaml } from '../config/status-config.js';
import type { PromConfig } from '../config/config.js';

export interface FrontDoorOptions {
  /** The coordinator's API handler. */
  coordinator: Handler;
  gateway: StoreGateway;
  shards: () => readonly ReadShard[];
  /** The global querier's base URL, read at each request: it moves when another process took its port (querier.ts). */
  querierUrl: () => string;
  replicaLabels: readonly string[];
  shardTimeoutMs: number;
  partialResponse: boolean;
  /** kvass's client for the shards' sidecars. */
  client: ApiClient;
  /** The rows of GET /api/v1/stores (stores.ts). */
  stores?: () => unknown[];
  /** Query pushdown (pushdown.ts): tried first for /api/v1/query and /api/v1/query_range. */
  pushdown?: QueryPushdown;
  /** --query.enforce-tenant: every request's tenant enforced (tenancy.ts). */
  tenancy?: TenancyOptions;
  /** The querier's --query.lookback-delta (federation's window). */
  lookbackDeltaMs: number;
  /** The original configuration as last loaded (external labels, status/config); null before it is. */
  config: () => PromConfig | null;
  /** The web console's files (/kvass/, src/console/): answers and resolves true for its paths. */
  console?: (req: IncomingMessage, res: ServerResponse, target: RequestTarget) => Promise<boolean>;
  /** The coordinator's active targets (its /api/v1/targets `activeTargets`), for the classic targets page. */
  targets?: () => Promise<unknown[]>;
  /** Where the front door listens and the original config file, for status/flags. */
  flags: () => Record<string, string>;
  log: Logger;
}

const COORDINATOR_PATHS = new Set(['/api/v1/targets', '/api/v1/shards', '/api/v1/moves', '/api/v1/events', '/api/v1/whatif', '/api/v1/console', '/metrics', '/-/healthy', '/-/ready', '/-/reload']);
const WARNED_PATHS = new Set(['/api/v1/query', '/api/v1/query_range', '/api/v1/series']);

/** What the front door passes to the global querier: Prometheus's read API and its web UI. */
export const QUERIER_PATHS = new AllowList([
  { methods: ['GET', 'POST'], path: /^\/api\/v1\/(query|query_range|series|format_query)$/ },
  { methods: ['GET'], path: /^\/api\/v1\/(rules|alerts|alertmanagers|status\/(config|flags|runtimeinfo|buildinfo|walreplay))$/ },
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
  const toQuerier = (req: IncomingMessage, res: ServerResponse, target: RequestTarget, body?: Buffer, onJson?: (status: number, json: Record<string, unknown>) => { status: number; json: unknown }, headers: Record<string, string> = {}) =>
    passThrough(req, res, target, {
      upstream: o.querierUrl(), name: 'global querier', timeoutMs: 5 * 60_000, maxRequestBytes: 8 << 20, maxResponseBytes: 2 ** 31,
      dropRequestHeaders: ['authorization', 'cookie', ...(o.tenancy ? [o.tenancy.header] : [])], body, onJson, setRequestHeaders: headers,
    });

  async function fanOut(kind: 'labels' | 'values' | 'metadata', res: ServerResponse, target: RequestTarget, params: URLSearchParams, labelName?: string, tenant?: string): Promise<void> {
    if (kind === 'values' && labelName !== undefined && o.replicaLabels.includes(labelName)) return apiSuccess(res, []);
    const query = params.size > 0 ? `?${params}` : '';
    const opts = { timeoutMs: o.shardTimeoutMs, client: o.client, replicaLabels: o.replicaLabels };
    const r = await fanOutApi(kind, `${target.rawPath}${query}`, o.shards(), o.querierUrl(), opts);
    if (kind === 'metadata' && tenant !== undefined && o.tenancy) {
      // Metadata is per metric name: a tenant sees the names its own series have.
      const names = await fanOutApi('values', `/api/v1/label/__name__/values?${new URLSearchParams([['match[]', tenantSelector(tenant, o.tenancy)]])}`, o.shards(), o.querierUrl(), opts);
      const own = new Set(names.data as string[]);
      r.data = Object.fromEntries(Object.entries(r.data as Record<string, unknown>).filter(([metric]) => own.has(metric)));
      r.warnings.push(...names.warnings);
      r.complete &&= names.complete;
    }
    if (!r.complete && !o.partialResponse) return apiError(res, 503, 'unavailable', `partial response disabled and some shards or stores did not answer: ${r.warnings.join('; ')}`);
    apiSuccess(res, r.data, r.warnings);
  }

  /**
   * The parameters of a request answered here (Go reads a form body too; Grafana sends label queries as forms): a
   * tenant's, checked and rewritten already, are its target's query.
   */
  const paramsOf = async (req: IncomingMessage, target: RequestTarget, tenant: string | undefined): Promise<URLSearchParams> =>
    tenant !== undefined ? target.query : requestParams(target.query, req.headers['content-type'], req.method === 'POST' ? await readBody(req, 8 << 20) : undefined, false);

  const mergedApi = (): MergedApiOptions => ({ shards: o.shards, querierUrl: o.querierUrl(), timeoutMs: o.shardTimeoutMs, client: o.client, replicaLabels: o.replicaLabels, partialResponse: o.partialResponse });

  /** A tenant's request with its parameters rewritten (tenancy.ts): the target and body to send on, or an answer given. */
  async function asTenant(req: IncomingMessage, res: ServerResponse, target: RequestTarget, tenancy: TenancyOptions): Promise<{ tenant?: string; target: RequestTarget; body?: Buffer; headers?: Record<string, string> } | undefined> {
    const route = tenantRoute(target.path);
    if (route === 'open') return { target };
    const tenant = tenantOf(req, tenancy);
    if (tenant.admin || route === 'harmless') return { target };
    if (route === 'admin') throw new TenancyError(403, 'forbidden', `${target.path} is not offered to tenants: only to --query.tenant-admin`);
    if (route === 'read') {
      const m = tenantMatcher({ labelName: tenancy.labelName, tenant: tenant.name });
      await o.gateway.handle(req, res, [{ type: 'RE', name: m.name, value: m.value }]);
      return undefined;
    }
    const post = req.method === 'POST';
    const given = requestParams(target.query, req.headers['content-type'], post ? await readBody(req, 8 << 20) : undefined, true);
    const params = route === 'metadata' ? given : enforceParams(given, route, target.path, tenant.name, tenancy);
    const encoded = params.toString();
    if (!post) return { tenant: tenant.name, target: { ...target, raw: `${target.rawPath}${encoded ? `?${encoded}` : ''}`, rawQuery: encoded, query: params } };
    return {
      tenant: tenant.name,
      target: { ...target, raw: target.rawPath, rawQuery: '', query: params },
      body: Buffer.from(encoded),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    };
  }

  return async (req, res, originalTarget) => {
    let target = originalTarget;
    let body: Buffer | undefined;
    let headers: Record<string, string> | undefined;
    let tenant: string | undefined;
    if (o.tenancy) {
      try {
        const asked = await asTenant(req, res, target, o.tenancy);
        if (!asked) return;
        ({ target, body, headers, tenant } = asked);
      } catch (e) {
        if (e instanceof TenancyError) return apiError(res, e.status, e.errorType, e.message);
        throw e;
      }
    }
    const { path } = target;
    const method = req.method ?? 'GET';
    if (o.console && (await o.console(req, res, target))) return;
    if (COORDINATOR_PATHS.has(path)) return o.coordinator(req, res, target);
    if (path === '/api/v1/stores') return apiSuccess(res, o.stores?.() ?? []);
    if (path === '/federate' && method === 'GET') {
      const params = target.query;
      return serveFederate(res, params, req.headersDistinct.accept?.[0], { gateway: o.gateway, querierUrl: o.querierUrl(), lookbackDeltaMs: o.lookbackDeltaMs, externalLabels: () => o.config()?.global.externalLabels ?? {}, partialResponse: o.partialResponse, log: o.log });
    }
    if (MERGED_PATHS.has(path) && (method === 'GET' || (method === 'POST' && path === '/api/v1/query_exemplars'))) {
      const params = await paramsOf(req, target, tenant);
      return serveMergedApi(path as MergedPath, res, params, mergedApi());
    }
    if (CLASSIC_PAGES.has(path) && method === 'GET') {
      return serveClassicPage(path, res, {
        querierUrl: o.querierUrl(),
        tsdbStatus: async () => (await mergedTsdbStatus(10, '', mergedApi())).data,
        targets: async () => ((await o.targets?.()) ?? []) as ViewTarget[],
        configYaml: () => (o.config() ? statusConfigYaml(o.config()!) : undefined),
      });
    }
    if (path === '/api/v1/status/config' && method === 'GET' && o.config()) return apiSuccess(res, { yaml: statusConfigYaml(o.config()!) });
    if (path === '/api/v1/status/flags' && method === 'GET') return toQuerier(req, res, target, undefined, (status, json) => {
      // The querier's own flags, but for those that would mislead: kvass's address and the user's config file.
      if (status === 200 && json.data && typeof json.data === 'object') Object.assign(json.data as Record<string, string>, o.flags());
      return { status, json };
    });
    if (path === '/api/v1/read') return o.gateway.handle(req, res);
    const values = /^\/api\/v1\/label\/([^/]+)\/values$/.exec(path);
    if (path === '/api/v1/labels' || path === '/api/v1/metadata' || values) {
      // Grafana sends label queries as forms; shards and querier get them as a GET query string.
      const params = await paramsOf(req, target, tenant);
      const kind = values ? 'values' : path === '/api/v1/labels' ? 'labels' : 'metadata';
      return fanOut(kind, res, target, params, values?.[1], tenant);
    }
    if (!QUERIER_PATHS.allows(method, path)) return notForwarded(res, method, path);
    if (!WARNED_PATHS.has(path)) return toQuerier(req, res, target, body, undefined, headers);
    const since = Date.now();
    body ??= method === 'POST' ? await readBody(req, 8 << 20) : undefined;
    // Pushdown first (pushdown.ts); what it does not answer goes to the querier, saying why.
    let fallback: FallbackReason | undefined;
    let stats = false;
    if (path === '/api/v1/query' || path === '/api/v1/query_range') {
      const params = tenant !== undefined ? target.query : requestParams(target.query, req.headers['content-type'], body, false);
      stats = (params.get('stats') ?? '') !== '';
      if (o.pushdown) {
        const reason = await o.pushdown.serve(path, params, res);
        if (reason === null) return;
        o.pushdown.fellBack(reason);
        fallback = reason;
      } else fallback = 'disabled';
      res.setHeader(PATH_HEADER, 'remote-read');
      res.setHeader(FALLBACK_HEADER, fallback);
    }
    await toQuerier(req, res, target, body, (status, json) => {
      if (stats && fallback && json.data && typeof json.data === 'object') {
        const data = json.data as Record<string, unknown>;
        data.stats = { ...(data.stats as object | undefined), kvass: { path: 'remote-read', reason: fallback } };
      }
      // A read the gateway refused (partial responses off) comes back as this request's own warning naming
      // …/api/v1/read: that decides the error. The gateway's shard warnings of the reads made meanwhile say which
      // shard and why; a concurrent request's reads may be among them, so they only inform.
      const own = Array.isArray(json.warnings) ? (json.warnings as string[]) : [];
      const failedRead = own.filter((w) => typeof w === 'string' && w.includes('/api/v1/read'));
      // A tenant gets only its own request's warnings: another request's reads may name stores it never reads.
      const shardWarnings = tenant === undefined ? o.gateway.warningsSince(since).filter((w) => !own.includes(w)) : [];
      if (failedRead.length > 0 && !o.partialResponse) {
        return { status: 503, json: { status: 'error', errorType: 'unavailable', error: `partial response disabled and some shards or stores did not answer: ${failedRead.join('; ')}` } };
      }
      const warnings = [...own, ...shardWarnings];
      if (warnings.length > 0) json.warnings = warnings;
      return { status, json };
    }, headers);
  };
}
