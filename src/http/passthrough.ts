/**
 * The pass-through: a request answered by another server (a shard's Prometheus behind its sidecar, the global
 * querier behind the front door, the coordinator behind `kvass query`). The upstream is fixed (only the request's
 * origin-form path and query are appended to it, so no request can reach another host), each server lets through
 * only the paths of its allow-list (AllowList; documented in docs/security.md), hop-by-hop headers stay behind in
 * both directions, and both the request body and the answer are bounded in size and time.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request, type Dispatcher } from 'undici';
import { readBody } from './body.js';
import { HttpError, type RequestTarget } from './request.js';
import { apiError, sendJson } from './respond.js';

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'trailers', 'transfer-encoding', 'upgrade', 'host', 'content-length', 'expect'];

/** Paths a pass-through may forward: method and path patterns (regexes over the decoded path). */
export class AllowList {
  constructor(private readonly rules: ReadonlyArray<{ methods: readonly string[]; path: RegExp }>) {}

  allows(method: string, path: string): boolean {
    return this.rules.some((r) => r.methods.includes(method) && r.path.test(path));
  }
}

export interface PassThroughOptions {
  /** Where to: base URL of the upstream (its path prefix, if any, is kept). */
  upstream: string;
  /** For error messages: "prometheus", "global querier", "coordinator". */
  name: string;
  timeoutMs: number;
  maxRequestBytes: number;
  maxResponseBytes: number;
  /** Request headers kept back besides the hop-by-hop ones (e.g. the caller's credential for kvass itself). */
  dropRequestHeaders?: readonly string[];
  /** Headers set on the upstream request (e.g. kvass's own credential for the upstream). */
  setRequestHeaders?: Record<string, string>;
  dispatcher?: Dispatcher;
  /** Rewrites a JSON answer (read whole, within maxResponseBytes) before it is sent. */
  onJson?: (status: number, json: Record<string, unknown>) => { status: number; json: unknown };
  /** The request body, when the caller has read it already. */
  body?: Buffer;
}

function headersWithout(h: Record<string, string | string[] | undefined>, drop: readonly string[]): Record<string, string | string[]> {
  const named = String(h.connection ?? '').split(',').map((x) => x.trim().toLowerCase()).filter(Boolean);
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) {
    const key = k.toLowerCase();
    if (v === undefined || HOP_BY_HOP.includes(key) || named.includes(key) || drop.includes(key)) continue;
    out[key] = v;
  }
  return out;
}

/** Forwards the request (see the header); the answer, or a 502/504 in Prometheus's envelope, goes to `res`. */
export async function passThrough(req: IncomingMessage, res: ServerResponse, target: RequestTarget, o: PassThroughOptions): Promise<void> {
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const body = o.body ?? (hasBody ? await readBody(req, o.maxRequestBytes) : undefined);
  const headers = headersWithout(req.headers, o.dropRequestHeaders ?? []);
  if (o.body) delete headers['content-length']; // a body given may be a rewritten one: undici sets its length
  if (o.onJson) delete headers['accept-encoding']; // read and rewritten here: plain JSON
  Object.assign(headers, o.setRequestHeaders ?? {});
  const url = o.upstream.replace(/\/+$/, '') + target.raw;
  const signal = AbortSignal.timeout(o.timeoutMs);
  let up: Dispatcher.ResponseData;
  try {
    // undici follows no redirect unless told to: a redirect is passed back to the caller as it came.
    up = await request(url, { method: method as Dispatcher.HttpMethod, headers, body, signal, dispatcher: o.dispatcher });
  } catch (e) {
    if (signal.aborted) throw new HttpError(504, 'timeout', `${o.name}: no answer within ${o.timeoutMs / 1000}s`);
    const err = e as Error & { cause?: Error };
    throw new HttpError(502, 'unavailable', `${o.name}: ${err.cause?.message ?? err.message}`);
  }
  const declared = Number(up.headers['content-length']);
  if (Number.isFinite(declared) && declared > o.maxResponseBytes) {
    up.body.destroy();
    throw new HttpError(502, 'unavailable', `${o.name}: answer of ${declared} bytes is over the limit of ${o.maxResponseBytes}`);
  }
  const outHeaders = headersWithout(up.headers as Record<string, string | string[] | undefined>, []);
  const isJson = String(up.headers['content-type'] ?? '').includes('application/json');
  if (o.onJson && isJson) {
    const text = await readAll(up.body, o.maxResponseBytes, o.name, signal);
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(text.toString('utf8')) as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    if (json === undefined || typeof json !== 'object' || json === null) {
      res.writeHead(up.statusCode, outHeaders).end(text);
      return;
    }
    const r = o.onJson(up.statusCode, json);
    sendJson(res, r.status, r.json);
    return;
  }
  if (Number.isFinite(declared)) outHeaders['content-length'] = String(declared);
  res.writeHead(up.statusCode, outHeaders);
  let sent = 0;
  try {
    for await (const chunk of up.body as AsyncIterable<Buffer>) {
      sent += chunk.length;
      if (sent > o.maxResponseBytes) throw new Error(`answer over the limit of ${o.maxResponseBytes} bytes`);
      if (!res.write(chunk)) await new Promise<void>((r) => { res.once('drain', r); res.once('close', r); });
      if (res.destroyed) break;
    }
    res.end();
  } catch {
    res.destroy(); // cut: a truncated answer must not look complete
  } finally {
    up.body.destroy();
  }
}

/** A body read whole within `max` bytes. */
export async function readAll(body: AsyncIterable<Buffer> & { destroy(): unknown }, max: number, name: string, signal?: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of body) {
      n += c.length;
      if (n > max) throw new HttpError(502, 'unavailable', `${name}: answer over the limit of ${max} bytes`);
      chunks.push(c);
    }
  } catch (e) {
    body.destroy();
    if (e instanceof HttpError) throw e;
    if (signal?.aborted) throw new HttpError(504, 'timeout', `${name}: answer not complete in time`);
    throw new HttpError(502, 'unavailable', `${name}: ${(e as Error).message}`);
  }
  return Buffer.concat(chunks);
}

/** 404 in the envelope for a path a pass-through does not forward. */
export function notForwarded(res: ServerResponse, method: string, path: string): void {
  apiError(res, 404, 'not_found', `no such endpoint: ${method} ${path}`);
}
