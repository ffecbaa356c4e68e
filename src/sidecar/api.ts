/**
 * The sidecar's HTTP API (docs/sidecar-api.md), used by the coordinator, plus a pass-through of Prometheus's read
 * API to the shard's Prometheus, so that a Thanos sidecar, Grafana or the store gateway pointed at the kvass sidecar
 * sees the original configuration and queries Prometheus as usual. Access (http/auth.ts, docs/security.md):
 * health and /metrics are open; reads (the shard's targets and runtime, status/config with secrets masked, the
 * pass-through) are open unless basic auth users are configured; assignment and config pushes need a credential.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { readBody, snappyDecode } from '../http/body.js';
import { AllowList, notForwarded, passThrough } from '../http/passthrough.js';
import { HttpError, type RequestTarget } from '../http/request.js';
import { apiError, apiSuccess, sendText } from '../http/respond.js';
import { createKvassServer, type KvassServer } from '../http/server.js';
import type { Access } from '../http/auth.js';
import type { WebConfigSource } from '../http/web-config.js';
import { LocatedConfigError } from '../prom/errors.js';
import { statusConfigYaml } from '../config/status-config.js';
import { AssignmentError, isAssignmentChange, readAssignment, readAssignmentChange } from '../shard/contract.js';
import { MAX_CONFIG_BYTES } from '../config/config.js';
import { decodeReadRequest, readRequestProblem } from '../query/remote/read-proto.js';
import { AssignmentConflict, type Sidecar } from './sidecar.js';

/** An assignment of 100k targets is about 50 MB of JSON. */
const MAX_ASSIGNMENT_BYTES = 64 << 20;
/** Prometheus's own limit on a remote-read request (decodeReadLimit), compressed and decoded. */
const MAX_READ_REQUEST_BYTES = 32 << 20;

/** What the pass-through forwards to Prometheus: its read API (no admin, lifecycle or write paths). */
export const SIDECAR_PASS_THROUGH = new AllowList([
  { methods: ['GET', 'POST'], path: /^\/api\/v1\/(query|query_range|query_exemplars|series|labels|label\/[^/]+\/values|metadata|format_query)$/ },
  { methods: ['POST'], path: /^\/api\/v1\/read$/ },
  { methods: ['GET'], path: /^\/api\/v1\/(targets|targets\/metadata|rules|alerts|alertmanagers|status\/(buildinfo|runtimeinfo|flags|tsdb|walreplay))$/ },
  { methods: ['GET'], path: /^\/federate$/ },
]);

function access(method: string, path: string): Access {
  if (path === '/-/healthy' || path === '/-/ready' || path === '/metrics') return 'open';
  if (path === '/api/v1/shard/targets' && (method === 'POST' || method === 'PUT')) return 'control';
  if (path === '/api/v1/shard/config') return 'control';
  return 'read';
}

export function createSidecarApi(sidecar: Sidecar, opts: { token?: string; webConfig?: WebConfigSource; log: Logger }): Promise<KvassServer> {
  return createKvassServer({ name: 'sidecar API', log: opts.log, token: opts.token, webConfig: opts.webConfig, access, handler: (req, res, target) => handle(sidecar, req, res, target) });
}

async function handle(sidecar: Sidecar, req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> {
  const { path } = target;
  const method = req.method ?? 'GET';
  if (path === '/-/healthy') return sendText(res, 200, 'kvass sidecar is healthy.\n');
  if (path === '/-/ready') {
    const why = sidecar.notReadyReason;
    return why ? sendText(res, 503, `kvass sidecar is not ready: ${why}\n`) : sendText(res, 200, 'kvass sidecar is ready.\n');
  }
  if (path === '/metrics') {
    const body = await sidecar.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': sidecar.metrics.registry.contentType }).end(body);
    return;
  }
  switch (`${method} ${path}`) {
    case 'GET /api/v1/shard/runtimeinfo':
    case 'GET /api/v1/shard/runtime':
      return apiSuccess(res, await sidecar.runtimeInfo());
    case 'GET /api/v1/shard/targets':
    {
      const flag = (name: string, byDefault: boolean): boolean | string => {
        const v = target.query.get(name);
        if (v === null) return byDefault;
        return v === 'true' || v === 'false' ? v === 'true' : `invalid parameter "${name}": ${JSON.stringify(v)}: expected true or false`;
      };
      const labels = flag('labels', true);
      const runtime = flag('runtime', false);
      for (const f of [labels, runtime]) if (typeof f === 'string') return apiError(res, 400, 'bad_data', f);
      // The runtime info first: the statuses are then the latest, at the version the answer names.
      const info = runtime === true ? await sidecar.runtimeInfo() : undefined;
      const delta = sidecar.targetStatuses(target.query.get('since') ?? undefined, labels === true);
      return apiSuccess(res, info ? { ...delta, runtime: info } : delta);
    }
    case 'POST /api/v1/shard/targets':
    case 'PUT /api/v1/shard/targets': {
      // A whole assignment ({"targets":[…]}) or a change to the applied one ({"base":…,"set":[…],"remove":[…]}).
      let apply: () => Promise<{ targets: number }>;
      let whole = true;
      try {
        const body = parseJson(await readBody(req, MAX_ASSIGNMENT_BYTES));
        if (isAssignmentChange(body)) {
          const change = readAssignmentChange(body);
          apply = () => sidecar.changeAssignment(change);
          whole = false;
        } else {
          const specs = readAssignment(body);
          apply = () => sidecar.replaceAssignment(specs);
        }
      } catch (e) {
        sidecar.metrics.assignmentUpdates.inc({ result: 'refused' });
        if (e instanceof HttpError) throw e;
        return apiError(res, 400, 'bad_data', (e as Error).message);
      }
      try {
        const r = await apply();
        sidecar.metrics.assignmentUpdates.inc({ result: 'success' });
        // The hashes only for a whole assignment: the answer to a change stays as small as the change.
        return apiSuccess(res, { targets: r.targets, version: sidecar.assignmentVersion, ...(whole ? { hashes: sidecar.assignment.map((t) => t.hash) } : {}) });
      } catch (e) {
        sidecar.metrics.assignmentUpdates.inc({ result: 'refused' });
        return apiError(res, e instanceof AssignmentError && !(e instanceof AssignmentConflict) ? 400 : 409, 'bad_data', (e as Error).message);
      }
    }
    case 'POST /api/v1/shard/config': {
      const text = (await readBody(req, MAX_CONFIG_BYTES)).toString('utf8');
      try {
        await sidecar.pushConfig(text);
        return apiSuccess(res, { configHash: sidecar.configHash });
      } catch (e) {
        return apiError(res, e instanceof LocatedConfigError ? 400 : 409, 'bad_data', (e as Error).message);
      }
    }
    case 'GET /api/v1/status/config': {
      const cfg = sidecar.originalConfig;
      if (!cfg) return apiError(res, 503, 'unavailable', 'no configuration yet');
      return apiSuccess(res, { yaml: statusConfigYaml(cfg, sidecar.opts.externalLabels) });
    }
  }
  if (path.startsWith('/api/v1/shard/')) return apiError(res, 404, 'not_found', `no such endpoint: ${method} ${path}`);
  if (!SIDECAR_PASS_THROUGH.allows(method, path)) return notForwarded(res, method, path);
  const read = path === '/api/v1/read';
  let body: Buffer | undefined;
  if (read) {
    body = await readBody(req, MAX_READ_REQUEST_BYTES);
    const problem = readRequestRefusal(body);
    if (problem) return sendText(res, problem.status, `${problem.message}\n`);
  }
  await passThrough(req, res, target, {
    upstream: sidecar.opts.prometheusUrl,
    name: 'prometheus',
    timeoutMs: 150_000,
    body,
    maxRequestBytes: read ? MAX_READ_REQUEST_BYTES : 8 << 20,
    maxResponseBytes: 2 ** 31,
    // The caller's credential is for kvass, not Prometheus's business.
    dropRequestHeaders: ['authorization', 'cookie'],
  });
}

/**
 * Why a remote-read body must not reach Prometheus, or undefined. Checked here because Prometheus 2.42 trusts the
 * length a snappy block declares and allocates it before decoding: 15 bytes declaring 4 GiB each, a few at a time,
 * end the shard's Prometheus by OOM. Matchers it cannot run (a bad regex) are answered 400, not Prometheus's 500.
 */
function readRequestRefusal(body: Buffer): { status: number; message: string } | undefined {
  let request;
  try {
    request = decodeReadRequest(snappyDecode(body, MAX_READ_REQUEST_BYTES));
  } catch (e) {
    if (e instanceof HttpError) return { status: e.status, message: e.message };
    return { status: 400, message: `cannot decode the ReadRequest protobuf: ${(e as Error).message}` };
  }
  const problem = readRequestProblem(request);
  return problem ? { status: 400, message: problem } : undefined;
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new AssignmentError(`the body is not JSON: ${(e as Error).message}`);
  }
}
