/**
 * The front door of `kvass up` (--web.listen-address): one Prometheus-compatible HTTP endpoint.
 *
 * - /api/v1/targets, /api/v1/shards, /metrics, /-/healthy, /-/ready, /-/reload: the coordinator's API.
 * - /api/v1/read: the store gateway (remote read over all shards).
 * - /api/v1/labels, /api/v1/label/<name>/values, /api/v1/metadata: fanned out to the shards and the querier
 *   (shard-api.ts), since remote read cannot answer them.
 * - everything else (query, query_range, series, rules, alerts, status, the web UI): the global querier. The
 *   JSON answers of query, query_range and series get the warnings of the shard reads made while they ran; with
 *   partial responses off, an answer whose read the gateway refused becomes an error (503).
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { readBody } from './body.js';
import { fanOutApi, type ApiKind } from './shard-api.js';
import type { ReadShard, StoreGateway } from './gateway.js';

export interface FrontDoorOptions {
  /** The coordinator's API handler (its server's 'request' listener). */
  coordinator: (req: IncomingMessage, res: ServerResponse) => void;
  gateway: StoreGateway;
  shards: () => readonly ReadShard[];
  querierUrl: string;
  replicaLabels: readonly string[];
  shardTimeoutMs: number;
  partialResponse: boolean;
  token?: string;
  log: Logger;
}

const COORDINATOR_PATHS = new Set(['/api/v1/targets', '/api/v1/shards', '/metrics', '/-/healthy', '/-/ready', '/-/reload']);
const WARNED_PATHS = new Set(['/api/v1/query', '/api/v1/query_range', '/api/v1/series']);
const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer'];

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

const readAll = (req: IncomingMessage): Promise<Buffer> => readBody(req, 8 << 20);

export function createFrontDoor(o: FrontDoorOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const querier = new URL(o.querierUrl);

  /** Streams a request to the querier; `onJson` (when given) may rewrite a JSON answer before it is sent. */
  function toQuerier(req: IncomingMessage, res: ServerResponse, body: Buffer | null, onJson?: (status: number, json: Record<string, unknown>) => { status: number; json: unknown }): void {
    const headers: Record<string, string | string[] | undefined> = { ...req.headers, host: querier.host };
    for (const h of HOP_BY_HOP) delete headers[h];
    if (body) headers['content-length'] = String(body.length);
    if (onJson) delete headers['accept-encoding']; // the answer is read and rewritten here: plain JSON
    const out = httpRequest({ host: querier.hostname, port: querier.port, path: req.url, method: req.method, headers }, (up) => {
      const type = String(up.headers['content-type'] ?? '');
      if (!onJson || !type.includes('application/json')) {
        const h = { ...up.headers };
        for (const x of HOP_BY_HOP) delete h[x];
        res.writeHead(up.statusCode ?? 502, h);
        up.on('error', () => res.destroy());
        up.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('error', () => res.destroy());
      up.on('end', () => {
        let json: Record<string, unknown>;
        try {
          json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          const h = { ...up.headers };
          for (const x of HOP_BY_HOP) delete h[x];
          res.writeHead(up.statusCode ?? 502, h).end(Buffer.concat(chunks));
          return;
        }
        const r = onJson(up.statusCode ?? 502, json);
        sendJson(res, r.status, r.json);
      });
    });
    out.on('error', (e) => {
      if (!res.headersSent) sendJson(res, 503, { status: 'error', errorType: 'unavailable', error: `global querier: ${e.message}` });
      else res.destroy();
    });
    if (body) out.end(body);
    else req.pipe(out);
  }

  async function fanOut(kind: ApiKind, req: IncomingMessage, res: ServerResponse, url: URL, labelName?: string): Promise<void> {
    let query = url.search;
    if (req.method === 'POST') {
      // Grafana sends label queries as forms; shards and querier get them as a GET query string.
      const form = (await readAll(req)).toString('utf8');
      const merged = new URLSearchParams(url.search);
      for (const [k, v] of new URLSearchParams(form)) merged.append(k, v);
      query = merged.size > 0 ? `?${merged}` : '';
    }
    if (kind === 'values' && labelName !== undefined && o.replicaLabels.includes(labelName)) {
      sendJson(res, 200, { status: 'success', data: [] });
      return;
    }
    const r = await fanOutApi(kind, `${url.pathname}${query}`, o.shards(), o.querierUrl, { timeoutMs: o.shardTimeoutMs, token: o.token, replicaLabels: o.replicaLabels });
    if (!r.complete && !o.partialResponse) {
      sendJson(res, 503, { status: 'error', errorType: 'unavailable', error: `partial response disabled and some shards did not answer: ${r.warnings.join('; ')}` });
      return;
    }
    sendJson(res, 200, r.warnings.length > 0 ? { status: 'success', data: r.data, warnings: r.warnings } : { status: 'success', data: r.data });
  }

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    void (async () => {
      if (COORDINATOR_PATHS.has(path)) return o.coordinator(req, res);
      if (path === '/api/v1/read') return o.gateway.handle(req, res);
      if (path === '/api/v1/labels') return fanOut('labels', req, res, url);
      if (path === '/api/v1/metadata') return fanOut('metadata', req, res, url);
      const values = /^\/api\/v1\/label\/([^/]+)\/values$/.exec(path);
      if (values) return fanOut('values', req, res, url, decodeURIComponent(values[1]!));
      if (!WARNED_PATHS.has(path)) return toQuerier(req, res, null);
      const since = Date.now();
      const body = req.method === 'POST' ? await readAll(req) : null;
      toQuerier(req, res, body, (status, json) => {
        // A read the gateway refused (partial responses off) comes back as this request's own warning naming
        // …/api/v1/read: that decides the error. The gateway's shard warnings of the reads made meanwhile say which
        // shard and why; a concurrent request's reads may be among them, so they only inform.
        const own = Array.isArray(json.warnings) ? (json.warnings as string[]) : [];
        const failedRead = own.filter((w) => w.includes('/api/v1/read'));
        const shardWarnings = o.gateway.warningsSince(since).filter((w) => !own.includes(w));
        if (failedRead.length > 0 && !o.partialResponse) {
          return { status: 503, json: { status: 'error', errorType: 'unavailable', error: `partial response disabled and some shards did not answer: ${failedRead.join('; ')}` } };
        }
        const warnings = [...own, ...shardWarnings];
        if (warnings.length > 0) json.warnings = warnings;
        return { status, json };
      });
    })().catch((e: Error) => {
      o.log.error({ err: e.message, path }, 'front door');
      if (!res.headersSent) sendJson(res, 500, { status: 'error', errorType: 'internal', error: e.message });
      else res.destroy();
    });
  };
}
