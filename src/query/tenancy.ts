/**
 * Tenancy at the front door (--query.enforce-tenant): every request names its tenant in a header
 * (--query.tenant-header, THANOS-TENANT as in Thanos), set by the authenticating proxy in front of kvass, and a
 * tenant reads only series whose tenant label (--query.tenant-label-name) is its own.
 *
 * The matcher is enforced in the request, before anything evaluates it (tenant.ts rewrites PromQL with the grammar
 * of Prometheus's own UI): the querier, the shards and the stores never see a tenant's request without it. Remote
 * read gets it added to every query by the gateway. Parameters are read the way Prometheus reads them (the query
 * string and a form body, both) and sent on re-encoded from what was checked, so a parameter that kvass and Go
 * would read differently cannot slip past; a body that is not a form is refused.
 *
 * What is not per series (targets, rules, alerts, status, the shard and store lists, the web UI) belongs to the
 * admin tenants (--query.tenant-admin), who read everything unchanged; other tenants get 403.
 */
import type { IncomingMessage } from 'node:http';
import { enforceTenantInQuery, enforceTenantInSelector, printSeriesSelector, tenantMatcher } from './tenant.js';

export interface TenancyOptions {
  /** Header naming the tenant (lower case). */
  header: string;
  labelName: string;
  admins: ReadonlySet<string>;
}

export type Tenant = { admin: true; name: string } | { admin: false; name: string };

export class TenancyError extends Error {
  constructor(readonly status: number, readonly errorType: string, message: string) {
    super(message);
  }
}

/** The request's tenant; throws TenancyError (401) when it has none, (400) when it has several. */
export function tenantOf(req: IncomingMessage, o: TenancyOptions): Tenant {
  const values: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === o.header) values.push(req.rawHeaders[i + 1]!);
  if (values.length === 0 || values[0]!.trim() === '') throw new TenancyError(401, 'unauthorized', `no tenant: the ${o.header} header is required (--query.enforce-tenant)`);
  // A repeated header may reach kvass joined by a proxy ("a, b"): a comma is never part of a tenant.
  if (values.length > 1 || values[0]!.includes(',')) throw new TenancyError(400, 'bad_data', `the ${o.header} header is given more than once`);
  const name = values[0]!.trim();
  return { admin: o.admins.has(name), name };
}

/**
 * What a path is to a tenant: open to all (health, kvass's own metrics, reload which has its own credential), data
 * read through PromQL (`query`), series selectors (`match[]`), remote read, metadata, harmless, or admin only.
 */
export type TenantRoute = 'open' | 'query' | 'selectors' | 'read' | 'metadata' | 'harmless' | 'admin';

export function tenantRoute(path: string): TenantRoute {
  if (path === '/-/healthy' || path === '/-/ready' || path === '/metrics' || path === '/-/reload') return 'open';
  if (path === '/api/v1/query' || path === '/api/v1/query_range' || path === '/api/v1/query_exemplars') return 'query';
  if (path === '/api/v1/series' || path === '/api/v1/labels' || path === '/federate' || /^\/api\/v1\/label\/[^/]+\/values$/.test(path)) return 'selectors';
  if (path === '/api/v1/read') return 'read';
  if (path === '/api/v1/metadata') return 'metadata';
  if (path === '/api/v1/format_query') return 'harmless';
  return 'admin';
}

/**
 * A request's parameters as Prometheus reads them (Go's Request.ParseForm: a urlencoded body, then the query
 * string). A body that is not a form is left out, as Go leaves it, or with `strict` (a tenant's request, whose
 * every parameter must be seen) refused with TenancyError 415.
 */
export function requestParams(query: URLSearchParams, contentType: string | undefined, body: Buffer | undefined, strict: boolean): URLSearchParams {
  const out = new URLSearchParams();
  if (body && body.length > 0) {
    const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
    if (type === 'application/x-www-form-urlencoded') for (const [k, v] of new URLSearchParams(body.toString('utf8'))) out.append(k, v);
    else if (strict) throw new TenancyError(415, 'bad_data', `a tenant's request body must be application/x-www-form-urlencoded, not ${JSON.stringify(type)}`);
  }
  for (const [k, v] of query) out.append(k, v);
  return out;
}

/**
 * The parameters with the tenant enforced: every `query` rewritten (tenant.ts), every `match[]` too, and for label
 * names and values without `match[]` one that selects the tenant's series. Throws TenancyError (400, 403).
 */
export function enforceParams(params: URLSearchParams, route: 'query' | 'selectors', path: string, tenant: string, o: TenancyOptions): URLSearchParams {
  const t = { labelName: o.labelName, tenant };
  const out = new URLSearchParams();
  let selectors = 0;
  for (const [k, v] of params) {
    if (route === 'query' && k === 'query') {
      const r = enforceTenantInQuery(v, t);
      if (!r.ok) throw new TenancyError(r.status, r.status === 403 ? 'forbidden' : 'bad_data', r.error);
      out.append(k, r.query);
    } else if (route === 'selectors' && k === 'match[]') {
      const r = enforceTenantInSelector(v, t);
      if (!r.ok) throw new TenancyError(r.status, r.status === 403 ? 'forbidden' : 'bad_data', r.error);
      out.append(k, r.selector);
      selectors++;
    } else out.append(k, v);
  }
  if (route === 'selectors' && selectors === 0 && path !== '/api/v1/series' && path !== '/federate') out.append('match[]', tenantSelector(tenant, o));
  return out;
}

/** The selector of all of a tenant's series. */
export function tenantSelector(tenant: string, o: TenancyOptions): string {
  return printSeriesSelector([tenantMatcher({ labelName: o.labelName, tenant })]);
}
