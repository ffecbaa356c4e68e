/**
 * The sidecar's HTTP API (documented in docs/sidecar-api.md), used by the coordinator, plus a pass-through to
 * the shard's Prometheus for every other path, so that a Thanos sidecar (or anything else) pointed at the kvass
 * sidecar sees the original configuration and talks to Prometheus as usual. With a token configured, every
 * request except /metrics, /-/healthy and /-/ready needs `Authorization: Bearer <token>`.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { Document } from 'yaml';
import type { Logger } from '../logger.js';
import { LocatedConfigError } from '../prom/errors.js';
import { AssignmentError, readAssignment } from '../shard/contract.js';
import type { Sidecar } from './sidecar.js';

const MAX_BODY = 64 << 20;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

const success = (res: ServerResponse, data: unknown): void => send(res, 200, { status: 'success', data });
const failure = (res: ServerResponse, status: number, errorType: string, error: string): void => send(res, status, { status: 'error', errorType, error });

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_BODY) throw new Error(`request body over ${MAX_BODY} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function tokenMatches(req: IncomingMessage, token: string): boolean {
  const given = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The original config with the shard's extra external labels merged in, as Prometheus would answer it. */
function statusConfigYaml(sidecar: Sidecar): string {
  const cfg = sidecar.originalConfig!;
  const extra = sidecar.opts.externalLabels;
  if (Object.keys(extra).length === 0) return cfg.text;
  const doc = cfg.document.clone() as Document.Parsed;
  for (const [k, v] of Object.entries(extra)) doc.setIn(['global', 'external_labels', k], v);
  return doc.toString({ lineWidth: 0 });
}

export function createSidecarApi(sidecar: Sidecar, opts: { token?: string; log: Logger }): Server {
  const { log } = opts;
  return createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log.error({ err: (e as Error).message, url: req.url }, 'api: unexpected failure');
      if (!res.headersSent) failure(res, 500, 'internal', (e as Error).message);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    if (path === '/-/healthy' || path === '/-/ready') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('kvass sidecar is ready.\n');
      return;
    }
    if (path === '/metrics') {
      const body = await sidecar.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': sidecar.metrics.registry.contentType }).end(body);
      return;
    }
    if (opts.token !== undefined && !tokenMatches(req, opts.token)) {
      failure(res, 401, 'unauthorized', 'missing or wrong bearer token');
      return;
    }
    switch (`${method} ${path}`) {
      case 'GET /api/v1/shard/runtimeinfo':
        success(res, await sidecar.runtimeInfo());
        return;
      case 'GET /api/v1/shard/targets':
        success(res, { targets: sidecar.status.all() });
        return;
      case 'POST /api/v1/shard/targets':
      case 'PUT /api/v1/shard/targets': {
        let specs;
        try {
          specs = readAssignment(JSON.parse(await readBody(req)));
        } catch (e) {
          sidecar.metrics.assignmentUpdates.inc({ result: 'refused' });
          failure(res, 400, 'bad_data', (e as Error).message);
          return;
        }
        try {
          const r = await sidecar.replaceAssignment(specs);
          sidecar.metrics.assignmentUpdates.inc({ result: 'success' });
          success(res, { targets: r.targets, hashes: sidecar.assignment.map((t) => t.hash) });
        } catch (e) {
          sidecar.metrics.assignmentUpdates.inc({ result: 'refused' });
          const status = e instanceof AssignmentError ? 400 : 409;
          failure(res, status, 'bad_data', (e as Error).message);
        }
        return;
      }
      case 'POST /api/v1/shard/config': {
        try {
          await sidecar.pushConfig(await readBody(req));
          success(res, { configHash: sidecar.configHash });
        } catch (e) {
          failure(res, e instanceof LocatedConfigError ? 400 : 409, 'bad_data', (e as Error).message);
        }
        return;
      }
      case 'GET /api/v1/status/config':
        if (!sidecar.originalConfig) {
          failure(res, 503, 'unavailable', 'no configuration yet');
          return;
        }
        success(res, { yaml: statusConfigYaml(sidecar) });
        return;
    }
    if (path.startsWith('/api/v1/shard/')) {
      failure(res, 404, 'not_found', `no such endpoint: ${method} ${path}`);
      return;
    }
    passThrough(req, res, sidecar.opts.prometheusUrl);
  }
}

/** Streams the request to the shard's Prometheus and its answer back. */
function passThrough(req: IncomingMessage, res: ServerResponse, prometheusUrl: string): void {
  const target = new URL(req.url ?? '/', prometheusUrl);
  const headers = { ...req.headers, host: target.host };
  delete headers.authorization; // the sidecar's token is not Prometheus's business
  const out = httpRequest(target, { method: req.method, headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  out.on('error', (e) => {
    if (!res.headersSent) failure(res, 502, 'unavailable', `prometheus: ${e.message}`);
    else res.destroy();
  });
  req.pipe(out);
}
