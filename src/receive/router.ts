/**
 * The remote-write router (`kvass receive`): Prometheus remote write 1.0 in, the tenant's label on every series,
 * each series sent to `replicationFactor` ingestors of the tenant's hashring (hashring.ts: Thanos's hashmod, so
 * kvass and Thanos receivers place a series alike), and an answer that makes Prometheus's remote-write client do
 * the right thing: 2xx once every series reached a quorum of its ingestors (writeQuorum: rf/2 + 1, 1 for rf 2); 5xx (retried) when one did
 * not; 4xx (dropped) for what retrying cannot fix: a malformed body, a conflicting tenant label, an unknown tenant
 * with no soft ring, native histograms (not supported yet), and out-of-order or duplicate samples (409, as Thanos);
 * 413 past the size limit; 429 with Retry-After when an ingestor pushes back.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request, type Dispatcher } from 'undici';
import { compressSync } from 'snappy';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { readBody, snappyDecode } from '../http/body.js';
import { HttpError, type RequestTarget } from '../http/request.js';
import { sendText } from '../http/respond.js';
import type { Rings } from './hashring.js';
import { WriteRequestError, decodeWriteRequest, encodeWriteRequest, withTenantLabel, type WireSeries } from './write-wire.js';

export interface RouterOptions {
  /** The rings in force (the hashrings file is reloaded behind this). */
  rings(): Rings;
  replicationFactor: number;
  tenantHeader: string;
  defaultTenant: string;
  tenantLabel: string;
  /** The remote-write URL of a ring endpoint (`host:port`, or a local ingestor's name under `kvass up`). */
  endpointUrl(endpoint: string): string;
  forwardTimeoutMs: number;
  /** Largest request body, compressed and decoded. */
  maxBodyBytes: number;
  dispatcher?: Dispatcher;
  metrics: RouterMetrics;
  log: Logger;
}

/** Tenants beyond this many are counted as "other" in the metrics (bounded cardinality). */
const MAX_TENANT_SERIES = 100;

export class RouterMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'kvass_receive_requests_total', help: 'Remote-write requests received, by tenant and answer code.', labelNames: ['tenant', 'code'], registers: [this.registry] });
  readonly samples = new Counter({ name: 'kvass_receive_samples_total', help: 'Samples received, by tenant.', labelNames: ['tenant'], registers: [this.registry] });
  readonly forwarded = new Counter({ name: 'kvass_receive_forwarded_samples_total', help: 'Sample copies sent to ingestors, by endpoint and result.', labelNames: ['endpoint', 'result'], registers: [this.registry] });
  readonly forwards = new Counter({ name: 'kvass_receive_forward_requests_total', help: 'Requests sent to ingestors, by endpoint and answer code (0: no answer).', labelNames: ['endpoint', 'code'], registers: [this.registry] });
  readonly quorumFailures = new Counter({ name: 'kvass_receive_quorum_failures_total', help: 'Requests answered 5xx because a series did not reach a quorum of ingestors.', registers: [this.registry] });
  readonly ringEndpoints = new Gauge({ name: 'kvass_receive_hashring_endpoints', help: 'Endpoints per hashring.', labelNames: ['hashring'], registers: [this.registry] });
  private readonly tenants = new Set<string>();

  /** The rings in force, as kvass_receive_hashring_endpoints. */
  setRings(r: Rings): void {
    this.ringEndpoints.reset();
    for (const c of r.configs) this.ringEndpoints.set({ hashring: c.hashring }, c.endpoints.length);
  }

  /** The tenant as a metric label: the first MAX_TENANT_SERIES tenants by name, then "other". */
  tenant(t: string): string {
    if (this.tenants.has(t)) return t;
    if (this.tenants.size >= MAX_TENANT_SERIES) return 'other';
    this.tenants.add(t);
    return t;
  }
}

interface Forwarded {
  endpoint: string;
  status: number;
  message: string;
  retryAfter?: string;
}

/** Prometheus's receiver answers 400 for these: retrying cannot help (Thanos answers 409 Conflict). */
const CONFLICT = /out of order sample|out of bounds|duplicate sample for timestamp|too old sample/i;

function fail(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  sendText(res, status, `${message}\n`);
}

/**
 * Ingestors that must take a series for the write to succeed: rf/2 + 1, except 1 for rf 2, as Thanos since v0.37
 * (thanos#7669): with rf 2 a majority would be both copies, and one ingestor down would fail every write, which is
 * worse than rf 1. The second copy is still written whenever its ingestor is up.
 */
export function writeQuorum(rf: number): number {
  return rf === 2 ? 1 : Math.floor(rf / 2) + 1;
}

export class Router {
  constructor(readonly o: RouterOptions) {}

  /** The router's routes: POST /api/v1/receive (Thanos's path) and /api/v1/write; undefined for others. */
  handles(target: RequestTarget): boolean {
    return target.path === '/api/v1/receive' || target.path === '/api/v1/write';
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headerTenant = req.headers[this.o.tenantHeader.toLowerCase()];
    const tenant = (Array.isArray(headerTenant) ? headerTenant[0] : headerTenant)?.trim() || this.o.defaultTenant;
    const mTenant = this.o.metrics.tenant(tenant);
    const answer = (code: number, message: string, headers?: Record<string, string>): void => {
      this.o.metrics.requests.inc({ tenant: mTenant, code: String(code) });
      if (code >= 300) this.o.log.debug({ tenant, code, message }, 'remote write refused');
      if (code < 300) {
        res.writeHead(code).end();
        return;
      }
      fail(res, code, message, headers);
    };
    if (req.method !== 'POST') return answer(405, `method ${req.method} not allowed: remote write is POST`);
    let series: WireSeries[];
    let metadata: Uint8Array[];
    try {
      const body = snappyDecode(await readBody(req, this.o.maxBodyBytes), this.o.maxBodyBytes);
      ({ series, metadata } = decodeWriteRequest(body));
    } catch (e) {
      if (e instanceof HttpError) return answer(e.status, e.message);
      // Native histograms are refused here too: decodeWriteRequest throws for them (not supported yet).
      if (e instanceof WriteRequestError) return answer(400, `cannot decode the WriteRequest: ${e.message}`);
      throw e;
    }
    const ring = this.o.rings().ringFor(tenant);
    if (!ring) return answer(400, `unknown tenant ${JSON.stringify(tenant)}: no hashring names it and there is no soft ring`);
    let samples = 0;
    const rf = this.o.replicationFactor;
    const byEndpoint = new Map<string, number[]>();
    const replicasOf: string[][] = [];
    for (const [i, s] of series.entries()) {
      // Placed by the labels as received, before the tenant label is added: Thanos's key, so both agree.
      let endpoints: string[];
      try {
        endpoints = ring.replicas(tenant, s.labels, rf);
      } catch (e) {
        return answer(500, `hashring: ${(e as Error).message}`);
      }
      try {
        s.labels = withTenantLabel(s.labels, this.o.tenantLabel, tenant);
      } catch (e) {
        return answer(400, `series ${i}: ${(e as Error).message}`);
      }
      replicasOf.push(endpoints);
      for (const ep of endpoints) (byEndpoint.get(ep) ?? byEndpoint.set(ep, []).get(ep)!).push(i);
      samples += s.samples;
    }
    this.o.metrics.samples.inc({ tenant: mTenant }, samples);
    if (series.length === 0) return answer(200, '');

    const results = new Map<string, Forwarded>();
    await Promise.all([...byEndpoint].map(async ([ep, idx]) => {
      // Metadata goes with every forward: it is small and any ingestor may be asked for it.
      const body = compressSync(encodeWriteRequest(idx.map((i) => series[i]!), metadata));
      const r = await this.forward(ep, body);
      results.set(ep, r);
      const n = idx.reduce((a, i) => a + series[i]!.samples, 0);
      this.o.metrics.forwarded.inc({ endpoint: ep, result: r.status >= 200 && r.status < 300 ? 'success' : 'failure' }, n);
    }));

    const quorum = writeQuorum(rf);
    const failures: Forwarded[] = [];
    for (const endpoints of replicasOf) {
      const ok = endpoints.filter((ep) => { const s = results.get(ep)!.status; return s >= 200 && s < 300; }).length;
      if (ok >= Math.min(quorum, endpoints.length)) continue;
      for (const ep of endpoints) {
        const r = results.get(ep)!;
        if (r.status < 200 || r.status >= 300) failures.push(r);
      }
    }
    if (failures.length === 0) return answer(200, '');
    const first = (pred: (f: Forwarded) => boolean) => failures.find(pred);
    const limited = first((f) => f.status === 429);
    if (limited) return answer(429, `ingestor ${limited.endpoint} pushes back: ${limited.message}`, { 'retry-after': limited.retryAfter ?? '1' });
    const serverSide = first((f) => f.status === 0 || f.status >= 500);
    if (serverSide) {
      this.o.metrics.quorumFailures.inc();
      return answer(503, `quorum not reached (${quorum} of ${rf} ingestors per series): ${serverSide.endpoint}: ${serverSide.message}`);
    }
    const conflict = first((f) => CONFLICT.test(f.message));
    if (conflict) return answer(409, `${conflict.endpoint}: ${conflict.message}`);
    const bad = failures[0]!;
    return answer(bad.status >= 400 && bad.status < 500 ? bad.status : 503, `${bad.endpoint}: ${bad.message}`);
  }

  private async forward(endpoint: string, body: Buffer): Promise<Forwarded> {
    const url = this.o.endpointUrl(endpoint);
    try {
      const r = await request(url, {
        method: 'POST', body, dispatcher: this.o.dispatcher, signal: AbortSignal.timeout(this.o.forwardTimeoutMs),
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0', 'user-agent': 'kvass-receive' },
      });
      const text = (await r.body.text()).slice(0, 2000).trim();
      this.o.metrics.forwards.inc({ endpoint, code: String(r.statusCode) });
      const retry = r.headers['retry-after'];
      return { endpoint, status: r.statusCode, message: text || `status ${r.statusCode}`, retryAfter: Array.isArray(retry) ? retry[0] : retry };
    } catch (e) {
      this.o.metrics.forwards.inc({ endpoint, code: '0' });
      const err = e as Error & { cause?: Error };
      return { endpoint, status: 0, message: err.name === 'TimeoutError' ? `no answer within ${this.o.forwardTimeoutMs / 1000}s` : err.cause?.message ?? err.message };
    }
  }
}
