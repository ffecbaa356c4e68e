/**
 * The scrape proxy. Prometheus scrapes every target of the shard through it (`proxy_url` in the injected
 * config), asking for the target's URL with the target's hash in the `kvass_target` query parameter. The proxy
 * forwards the scrape to the target's real URL (from the assignment, never from the request: it is not an open
 * proxy) with the job's scheme, TLS, auth and timeout, streams the body back unchanged (gzip stays gzip), and
 * counts samples and unique series on the way. A request for a target this shard is not assigned gets 403 and
 * the target is never contacted.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { createGunzip, type Gunzip } from 'node:zlib';
import type { Logger } from '../logger.js';
import { drainOrClose } from '../http/chunked.js';
import type { ConfiguredHttpClient } from '../config/http-client.js';
import { formatDuration } from '../prom/duration.js';
import { publicLabels } from '../prom/labels.js';
import { SeriesCounter, isOpenMetrics } from '../prom/exposition.js';
import type { ResolvedTarget } from './assignment.js';
import { TARGET_PARAM } from './inject.js';
import type { SidecarMetrics } from './metrics.js';
import type { ScrapeResult } from './target-status.js';

export interface ScrapeProxyDeps {
  lookup(hash: string): ResolvedTarget | undefined;
  clientFor(target: ResolvedTarget): ConfiguredHttpClient;
  record(hash: string, result: ScrapeResult): void;
  metrics: SidecarMetrics;
  log: Logger;
}

/** How long after the scrape timeout the proxy ends a scrape whose client has not hung up (see forward). */
export const DEADLINE_GRACE_MS = 500;

/** Request headers Prometheus sends that the target should see. Authorization is the job's, set by the client. */
const FORWARDED_REQUEST_HEADERS = ['accept', 'accept-encoding', 'user-agent', 'x-prometheus-scrape-timeout-seconds'];
/** Response headers Prometheus reads. Content-Length is not passed on: the body streams (chunked). */
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'content-encoding'];

/** Body bytes a scrape may keep for counting after the response (see forward), and all scrapes together. */
const DEFER_PER_SCRAPE = 2 << 20;
const DEFER_TOTAL = 64 << 20;
let deferredTotal = 0;

export function createScrapeProxy(deps: ScrapeProxyDeps): Server {
  const server = createServer((req, res) => {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    proxyScrape(deps, req, res).catch((e: unknown) => {
      deps.log.error({ err: (e as Error).message }, 'proxy: unexpected failure');
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  // Never a tunnel: CONNECT (https through the proxy) is refused outright.
  server.on('connect', (_req, socket) => {
    // The socket is ours now (Node's own listeners are gone): a client that resets it must not end the process.
    socket.on('error', () => socket.destroy());
    deps.metrics.refused.inc();
    socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
  });
  server.keepAliveTimeout = 75_000;
  return server;
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(message + '\n');
}

async function proxyScrape(deps: ScrapeProxyDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let hash: string | null = null;
  try {
    hash = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`).searchParams.get(TARGET_PARAM);
  } catch {
    hash = null;
  }
  const target = hash === null ? undefined : deps.lookup(hash);
  if (req.method !== 'GET' || target === undefined) {
    deps.metrics.refused.inc();
    deps.log.debug({ url: req.url, method: req.method }, 'proxy: refused a request for a target not assigned here');
    refuse(res, 403, `kvass sidecar: ${hash === null ? `no ${TARGET_PARAM} parameter` : `target ${hash} is not assigned to this shard`}`);
    return;
  }
  await forward(deps, target, req, res);
}

async function forward(deps: ScrapeProxyDeps, t: ResolvedTarget, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = Date.now();
  const at = new Date(started);
  const job = t.job;
  const headerTimeout = Number(req.headers['x-prometheus-scrape-timeout-seconds']);
  const timeoutMs = Number.isFinite(headerTimeout) && headerTimeout > 0 ? headerTimeout * 1000 : t.timeout;
  const abort = new AbortController();
  // Prometheus's own deadline ends the scrape (it hangs up: onClose records it as a deadline); this one only ends a
  // scrape whose client waits longer. At the same instant, a 502 of the proxy's could reach a Prometheus slowed by
  // load before its deadline did, and it would report the proxy's error instead of its own.
  const timer = setTimeout(() => abort.abort(new Error(`context deadline exceeded (scrape_timeout ${formatDuration(timeoutMs)})`)), timeoutMs + DEADLINE_GRACE_MS);
  let clientGone = false;
  const onClose = (): void => {
    if (res.writableFinished) return;
    clientGone = true;
    const late = Date.now() - started >= timeoutMs * 0.95;
    abort.abort(new Error(late ? `context deadline exceeded (scrape_timeout ${formatDuration(timeoutMs)})` : 'scrape cancelled by Prometheus before the body was complete'));
  };
  res.on('close', onClose);

  const finish = (r: Omit<ScrapeResult, 'at' | 'durationMs'>): void => {
    clearTimeout(timer);
    res.off('close', onClose);
    const durationMs = Date.now() - started;
    deps.record(t.hash, { ...r, at, durationMs });
    deps.metrics.scrapes.inc({ job, result: r.ok ? 'success' : 'error' });
    deps.metrics.scrapeDuration.observe({ job }, durationMs / 1000);
  };

  const headers: Record<string, string> = {};
  for (const h of FORWARDED_REQUEST_HEADERS) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }

  let upstream;
  try {
    upstream = await deps.clientFor(t).request(t.scrapeUrl, headers, abort.signal);
  } catch (e) {
    const error = abort.signal.aborted ? (abort.signal.reason as Error).message : `${(e as Error).message}${causeOf(e)}`;
    finish({ ok: false, error, series: 0, samples: 0, bytes: 0 });
    if (!clientGone && !res.headersSent) refuse(res, 502, `kvass sidecar: scraping ${t.scrapeUrl}: ${error}`);
    return;
  }

  const status = upstream.statusCode;
  const outHeaders: Record<string, string> = {};
  for (const h of FORWARDED_RESPONSE_HEADERS) {
    const v = upstream.headers[h];
    if (typeof v === 'string') outHeaders[h] = v;
  }
  res.writeHead(status, outHeaders);

  const gzip = /\bgzip\b/i.test(outHeaders['content-encoding'] ?? '');
  const counter = status === 200
    ? new SeriesCounter({
      openMetrics: isOpenMetrics(outHeaders['content-type']),
      honorLabels: t.scrapeConfig.honorLabels,
      targetLabels: publicLabels(t.labels),
      metricRelabelConfigs: t.scrapeConfig.metricRelabelConfigs,
      bodySizeLimit: t.scrapeConfig.bodySizeLimit,
    })
    : null;
  let gunzip: Gunzip | null = null;
  let gunzipError = '';
  if (counter && gzip) {
    gunzip = createGunzip();
    gunzip.on('data', (c: Buffer) => counter.push(c));
    gunzip.on('error', (e) => (gunzipError = `gzip: ${e.message}`));
  }

  let sent = 0;
  let readError = '';
  // Counting is deferred while the scrape streams, so that it adds no latency: chunks are kept (not copied) until
  // the response has ended, within a per-scrape and a process-wide byte cap; beyond them they are counted on the
  // way, so memory stays bounded for big targets.
  const deferred: Buffer[] = [];
  let deferredBytes = 0;
  let inline = false;
  const countChunk = (chunk: Buffer): void => {
    if (gunzip) gunzip.write(chunk);
    else counter?.push(chunk);
  };
  const flushDeferred = (): void => {
    for (const c of deferred) countChunk(c);
    deferred.length = 0;
    deferredTotal -= deferredBytes;
    deferredBytes = 0;
  };
  try {
    for await (const chunk of upstream.body as AsyncIterable<Buffer>) {
      sent += chunk.length;
      const more = res.write(chunk);
      if (!inline && counter && deferredBytes + chunk.length <= DEFER_PER_SCRAPE && deferredTotal + chunk.length <= DEFER_TOTAL) {
        deferred.push(chunk);
        deferredBytes += chunk.length;
        deferredTotal += chunk.length;
      } else {
        flushDeferred(); // the counter must see the body in order
        inline = true;
        countChunk(chunk);
      }
      if (!more) {
        await drainOrClose(res);
        if (clientGone) break;
      }
    }
  } catch (e) {
    readError = abort.signal.aborted ? (abort.signal.reason as Error).message : `error reading the body: ${(e as Error).message}`;
  }
  deps.metrics.bytes.inc({ job }, sent);
  // The scrape is over for Prometheus before the count is: end (or cut, for a truncated body) first.
  if (readError && !clientGone) res.destroy(); // a truncated body must reach Prometheus as one, not as a short success
  else if (!clientGone) res.end();
  flushDeferred();
  if (gunzip) {
    gunzip.end();
    if (!gunzipError && !gunzip.readableEnded) await once(gunzip, 'end').catch(() => undefined); // 'error' rejects once()
  }
  const count = counter?.end();

  let error = '';
  if (status !== 200) error = `server returned HTTP status ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();
  else if (count?.error) error = count.error;
  else if (readError) error = readError;
  else if (clientGone) error = (abort.signal.reason as Error | undefined)?.message ?? 'scrape cancelled by Prometheus';
  else if (gunzipError) error = gunzipError;

  upstream.body.destroy();
  finish({ ok: error === '', error, series: count?.series ?? 0, samples: count?.samples ?? 0, bytes: count?.bytes ?? sent });
}

function causeOf(e: unknown): string {
  const c = (e as { cause?: { message?: string; code?: string } }).cause;
  return c ? `: ${c.code ?? ''}${c.code && c.message ? ' ' : ''}${c.message ?? ''}` : '';
}
