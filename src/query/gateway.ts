/**
 * The store gateway: Prometheus remote read (`POST /api/v1/read`) over every current shard. Each read is sent to
 * every shard's Prometheus (through its sidecar, which passes /api/v1/read through) and to every remote store
 * (with its own client, each query fitted to its external labels or pruned: store-read.ts), the answers are merged
 * (merge.ts: transfer copies stitched, replicas deduplicated), and the result is sent as SAMPLES or
 * STREAMED_XOR_CHUNKS, as the client accepts.
 *
 * A shard that fails, answers garbage or does not answer within the per-shard timeout is left out and named in a
 * warning: in the `X-Kvass-Warning` response headers, in the log, and in `warningsSince()` for the front door,
 * which adds them to the JSON answers of the queries that caused them (the remote-read protocol has no place for
 * warnings). With partial responses off, a read fails (503) unless every shard ordinal was answered by at least one
 * of its replicas.
 */
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { compressSync } from 'snappy';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { STREAMED_CONTENT_TYPE, MAX_BYTES_IN_FRAME, encodeChunkedReadResponse, frame, type ChunkedSeriesMessage } from './remote/chunked.js';
import { RESPONSE_SAMPLES, RESPONSE_STREAMED_XOR_CHUNKS, decodeReadRequest, encodeReadRequest, readRequestProblem, type LabelMatcher, type ReadQuery, type ReadRequest } from './remote/read-proto.js';
import { encodeReadResponse, lastSample, scanReadResponse, type OutSeries, type SeriesTable, type Samples } from './remote/series-wire.js';
import { SAMPLES_PER_CHUNK, encodeXorChunk } from './remote/xor-chunk.js';
import { readBody, snappyDecode } from '../http/body.js';
import type { ApiClient } from '../http/client.js';
import { isCounterFunc } from './dedup.js';
import { mergeAnswers, sortSeries, type MergeStats } from './merge.js';
import { fitQueries, refitResponse } from './store-read.js';

/** One shard to read from. */
export interface ReadShard {
  /** For warnings and logs: "replica-0/shard-2". */
  name: string;
  /** Base URL answering /api/v1/read (a sidecar API, or a Prometheus). */
  url: string;
  replica: number;
  ordinal: number;
  /** Since when the shard has been seen ready without a break (ms); undefined when it is not ready now. */
  readySinceMs?: number;
  /**
   * Ingestors written with a replication factor: every series is on `replication` distinct members of `group`, so
   * the view is complete while fewer than that many members fail (instead of every ordinal answering).
   */
  copies?: { group: string; replication: number };
  /**
   * A remote store (--query.store, --query.stores-file) rather than a shard: read with its own client and
   * deadline, each query fitted to its external labels (store-read.ts), named "store" in warnings, and needed
   * for a complete view unless the query was pruned from it.
   */
  store?: StoreRead;
}

export interface StoreRead {
  client: ApiClient;
  timeoutMs: number;
  externalLabels: Readonly<Record<string, string>>;
}

export interface GatewayOptions {
  /** The current shards, asked at every read (scale-up and scale-down are followed as they happen). */
  shards: () => readonly ReadShard[];
  /** Labels that tell copies of one series apart (--query.replica-label); dropped from the output. */
  replicaLabels: readonly string[];
  /** Per-shard deadline for a whole answer (--query.shard-timeout). */
  shardTimeoutMs: number;
  /** true: a missing shard gives a partial answer with warnings; false: the read fails. */
  partialResponse: boolean;
  /** kvass's client for the shards' sidecar API (credential, TLS). */
  client: ApiClient;
  /**
   * The scrape interval assumed for a series whose copies hold too few samples to tell theirs (copies.ts): the
   * smallest scrape interval of the configuration. Read at every read (it follows config reloads); unset: unknown.
   */
  fallbackIntervalMs?: () => number;
  /** Largest request body accepted. */
  maxRequestBytes?: number;
  log: Logger;
  registry?: Registry;
}

/** The header a querier sets (its --query.lookback-delta) to allow answering instant selectors with one sample. */
export const LOOKBACK_HEADER = 'x-kvass-lookback-delta-ms';
export const WARNING_HEADER = 'x-kvass-warning';

interface ReadEvent {
  start: number;
  end: number;
  /** Shards left out, and notes (e.g. native histograms not passed on). */
  warnings: string[];
  /** Every shard ordinal was answered by at least one replica. */
  complete: boolean;
}

export class BadReadRequest extends Error {
  constructor(message: string, readonly status = 400) {
    super(message);
  }
}

/** A ReadRequest is a few matchers per query: 32 MiB, compressed or not, is far beyond any real one. */
const MAX_REQUEST_BYTES = 32 << 20;
/** A shard's answer to one read: held whole for the merge, so bounded (compressed, and decoded). */
const MAX_SHARD_ANSWER_BYTES = 1 << 30;
const MAX_SHARD_ANSWER_DECODED = 2 ** 31 - 1;

interface ShardAnswer {
  shard: ReadShard;
  results?: SeriesTable[];
  error?: string;
}

const sanitize = (s: string): string => s.replace(/[\r\n]+/g, ' ').replace(/[^\x20-\x7e]/g, '?').slice(0, 1000);

export class StoreGateway {
  private readonly events: ReadEvent[] = [];
  private readonly reads?: Counter<string>;
  private readonly shardReads?: Counter<string>;
  private readonly storeReads?: Counter<string>;
  private readonly duration?: Histogram<string>;

  constructor(private readonly opts: GatewayOptions) {
    if (opts.registry) {
      this.reads = new Counter({ name: 'kvass_gateway_reads_total', help: 'Remote reads answered, by result (complete, partial, failed, bad_request).', labelNames: ['result'], registers: [opts.registry] });
      this.shardReads = new Counter({ name: 'kvass_gateway_shard_reads_total', help: 'Reads sent to shards, by result.', labelNames: ['result'], registers: [opts.registry] });
      this.storeReads = new Counter({ name: 'kvass_gateway_store_reads_total', help: 'Reads of remote stores, by store and result (pruned: no query could match its external labels; not sent).', labelNames: ['store', 'result'], registers: [opts.registry] });
      this.duration = new Histogram({ name: 'kvass_gateway_read_duration_seconds', help: 'Time to answer a remote read.', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [opts.registry] });
    }
  }

  /** Warnings of the reads that started at or after `since` (ms since the epoch) and are finished. */
  warningsSince(since: number): string[] {
    const out = new Set<string>();
    for (const e of this.events) if (e.start >= since) for (const w of e.warnings) out.add(w);
    return [...out];
  }

  private remember(e: ReadEvent): void {
    this.events.push(e);
    const cutoff = Date.now() - 10 * 60_000;
    while (this.events.length > 0 && (this.events.length > 2000 || this.events[0]!.end < cutoff)) this.events.shift();
  }

  /**
   * Handles POST /api/v1/read. `extraMatchers` are added to every query (a tenant's matcher, which the front door
   * enforces on remote read as on PromQL).
   */
  async handle(req: IncomingMessage, res: ServerResponse, extraMatchers: readonly LabelMatcher[] = []): Promise<void> {
    const start = Date.now();
    const endTimer = this.duration?.startTimer();
    let request: ReadRequest;
    try {
      request = await this.readRequest(req);
      for (const q of request.queries) q.matchers.push(...extraMatchers);
    } catch (e) {
      this.reads?.inc({ result: 'bad_request' });
      const msg = (e as Error).message;
      res.writeHead(e instanceof BadReadRequest ? e.status : 400, { 'content-type': 'text/plain; charset=utf-8' }).end(`${msg}\n`);
      return;
    }
    const types = request.acceptedResponseTypes;
    const responseType = types.length === 0 ? RESPONSE_SAMPLES : types.find((t) => t === RESPONSE_SAMPLES || t === RESPONSE_STREAMED_XOR_CHUNKS);
    if (responseType === undefined) {
      this.reads?.inc({ result: 'bad_request' });
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(`server does not support any of the requested response types: ${JSON.stringify(types)}; supported: [0 (SAMPLES) 1 (STREAMED_XOR_CHUNKS)]\n`);
      return;
    }
    const lookback = Number(req.headers[LOOKBACK_HEADER] ?? NaN);
    const { answers, warnings: failures, complete } = await this.fanOut(request);
    const fannedOut = Date.now();
    const event: ReadEvent = { start, end: 0, warnings: [...failures], complete };
    const finish = (result: string): void => {
      event.end = Date.now();
      this.remember(event);
      this.reads?.inc({ result });
      endTimer?.();
    };
    if (!complete && !this.opts.partialResponse) {
      finish('failed');
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end(`partial response disabled and some shards or stores did not answer: ${failures.join('; ')}\n`);
      return;
    }
    const stats: MergeStats = { series: 0, deduplicated: 0, histograms: 0 };
    const fallbackIntervalMs = this.opts.fallbackIntervalMs?.() ?? 0;
    let merged: OutSeries[][];
    let body: Buffer | null = null;
    try {
      merged = request.queries.map((q, qi) => {
        const perShard = answers.map((a) => a.results![qi]!);
        const out = mergeAnswers(perShard, { counter: isCounterFunc(q.hints?.func ?? ''), fallbackIntervalMs, endMs: q.endMs, lastOnly: needsLastSampleOnly(q, lookback) }, stats);
        if (q.hints?.func === 'series') for (const o of out) o.samples = { t: [], v: [] };
        return sortSeries(out);
      });
      if (responseType === RESPONSE_SAMPLES) body = compressSync(encodeReadResponse(merged));
    } catch (e) {
      // Shard answers are checked when scanned; this is a defect, reported rather than a dropped connection.
      this.opts.log.error({ err: (e as Error).message }, 'cannot merge the shards\' answers');
      event.warnings.push(`cannot merge the shards' answers: ${(e as Error).message}`);
      finish('failed');
      res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' }).end(`cannot merge the shards' answers: ${(e as Error).message}\n`);
      return;
    }
    if (stats.histograms > 0) event.warnings.push(`${stats.histograms} series had native histogram samples, which kvass's store gateway does not pass on`);
    const headers: Record<string, string | string[]> = {};
    if (event.warnings.length > 0) headers[WARNING_HEADER] = event.warnings.map(sanitize);
    if (body) {
      res.writeHead(200, { ...headers, 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'content-length': body.length }).end(body);
    } else {
      res.writeHead(200, { ...headers, 'content-type': STREAMED_CONTENT_TYPE });
      try {
        for (const f of chunkedFrames(merged)) if (!res.write(f)) await once(res, 'drain');
        res.end();
      } catch (e) {
        this.opts.log.error({ err: (e as Error).message }, 'streamed remote read cut');
        res.destroy(e as Error);
      }
    }
    finish(failures.length > 0 ? 'partial' : 'complete');
    this.opts.log.debug({ queries: request.queries.length, shards: answers.length, warnings: event.warnings.length, ...stats, fanOutMs: fannedOut - start, ms: Date.now() - start, hints: request.queries[0]?.hints }, 'remote read');
  }

  /**
   * A read made by kvass itself (federation): each query's series, merged as for a remote read, with their labels and
   * samples decoded, and the shards and stores left out.
   */
  async read(queries: ReadQuery[]): Promise<{ results: Array<Array<{ labels: Array<[string, string]>; samples: Samples }>>; warnings: string[]; complete: boolean }> {
    const { answers, warnings, complete } = await this.fanOut({ queries, acceptedResponseTypes: [RESPONSE_SAMPLES] });
    const fallbackIntervalMs = this.opts.fallbackIntervalMs?.() ?? 0;
    const results = queries.map((q, qi) => sortSeries(mergeAnswers(answers.map((a) => a.results![qi]!), { counter: false, fallbackIntervalMs, endMs: q.endMs })).map((o) => ({ labels: o.table.labels(o.i), samples: o.samples ?? o.table.samples(o.i) })));
    return { results, warnings, complete };
  }

  private async readRequest(req: IncomingMessage): Promise<ReadRequest> {
    if (req.method !== 'POST') throw new BadReadRequest(`method ${req.method} not allowed: remote read is POST`);
    const max = this.opts.maxRequestBytes ?? MAX_REQUEST_BYTES;
    let raw: Buffer;
    try {
      raw = snappyDecode(await readBody(req, max), max);
    } catch (e) {
      throw new BadReadRequest(`${(e as Error).message}`, (e as { status?: number }).status === 413 ? 413 : 400);
    }
    let request: ReadRequest;
    try {
      request = decodeReadRequest(raw);
    } catch (e) {
      throw new BadReadRequest(`cannot decode the ReadRequest protobuf: ${(e as Error).message}`);
    }
    const problem = readRequestProblem(request);
    if (problem) throw new BadReadRequest(problem);
    return request;
  }

  private async fanOut(request: ReadRequest): Promise<{ answers: ShardAnswer[]; warnings: string[]; complete: boolean }> {
    const shards = this.opts.shards();
    const body = compressSync(Buffer.from(encodeReadRequest({ queries: request.queries, acceptedResponseTypes: [RESPONSE_SAMPLES] })));
    const all = await Promise.all(shards.map((s) => (s.store ? this.readStore(s, s.store, request.queries) : this.readShard(s, body, request.queries.length))));
    const warnings: string[] = [];
    for (const a of all) {
      if (a.error === undefined) continue;
      const what = a.shard.store ? 'store' : 'shard';
      warnings.push(`${what} ${a.shard.name} (${a.shard.url}): ${a.error}`);
      this.opts.log.warn({ [what]: a.shard.name, url: a.shard.url, err: a.error }, `${what} left out of a remote read`);
    }
    const answered = new Set(all.filter((a) => a.error === undefined && !a.shard.store).map((a) => a.shard.ordinal));
    const failedIn = new Map<string, number>();
    for (const a of all) if (a.error !== undefined && a.shard.copies) failedIn.set(a.shard.copies.group, (failedIn.get(a.shard.copies.group) ?? 0) + 1);
    const complete = all.every((a) => (a.shard.store ? a.error === undefined : a.shard.copies ? (failedIn.get(a.shard.copies.group) ?? 0) < a.shard.copies.replication : answered.has(a.shard.ordinal)));
    return { answers: all.filter((a) => a.error === undefined), warnings, complete };
  }

  /** Reads one remote store, each query fitted to its external labels (store-read.ts). */
  private async readStore(shard: ReadShard, store: StoreRead, queries: readonly ReadQuery[]): Promise<ShardAnswer> {
    const count = (result: string): void => this.storeReads?.inc({ store: shard.name, result });
    const fit = fitQueries(queries, store.externalLabels);
    if (fit.sent.length === 0) {
      count('pruned');
      return { shard, results: scanReadResponse(encodeReadResponse(queries.map(() => [])), this.opts.replicaLabels) };
    }
    const body = compressSync(Buffer.from(encodeReadRequest({ queries: fit.sent, acceptedResponseTypes: [RESPONSE_SAMPLES] })));
    const got = await this.call(shard, store.client, body, store.timeoutMs, '--query.store-timeout');
    if ('error' in got) {
      count(got.result);
      return { shard, error: got.error };
    }
    let results: SeriesTable[];
    try {
      let raw = snappyDecode(got.body, MAX_SHARD_ANSWER_DECODED);
      if (fit.refit) raw = Buffer.from(refitResponse(raw, fit, queries, store.externalLabels));
      results = scanReadResponse(raw, this.opts.replicaLabels);
    } catch (e) {
      count('garbage');
      return { shard, error: `unreadable answer (${got.body.length} bytes): ${(e as Error).message}` };
    }
    if (results.length !== queries.length) {
      count('garbage');
      return { shard, error: `answered ${results.length} results to ${fit.sent.length} queries` };
    }
    count('success');
    return { shard, results };
  }

  /** POSTs a snappy ReadRequest; the answer's body, or why there is none. */
  private async call(shard: ReadShard, client: ApiClient, body: Buffer, timeout: number, flag: string): Promise<{ body: Buffer } | { error: string; result: string }> {
    const headers: Record<string, string> = {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'accept-encoding': 'snappy',
      'x-prometheus-remote-read-version': '0.1.0',
    };
    let r;
    try {
      r = await client.call(`${shard.url.replace(/\/+$/, '')}/api/v1/read`, { method: 'POST', headers, body, timeoutMs: timeout, maxResponseBytes: MAX_SHARD_ANSWER_BYTES });
    } catch (e) {
      const msg = (e as Error).message;
      const timedOut = msg.includes('no answer within') || msg.includes('not complete in time');
      return timedOut ? { error: `no complete answer within ${timeout / 1000}s (${flag})`, result: 'timeout' } : { error: sanitize(msg), result: 'error' };
    }
    if (r.status < 200 || r.status > 299) return { error: `HTTP ${r.status}: ${sanitize(r.body.toString('utf8', 0, 500).trim())}`, result: 'error' };
    return { body: r.body };
  }

  private async readShard(shard: ReadShard, body: Buffer, queries: number): Promise<ShardAnswer> {
    const got = await this.call(shard, this.opts.client, body, this.opts.shardTimeoutMs, '--query.shard-timeout');
    if ('error' in got) {
      this.shardReads?.inc({ result: got.result });
      return { shard, error: got.error };
    }
    const r = got;
    let results: SeriesTable[];
    try {
      results = scanReadResponse(snappyDecode(r.body, MAX_SHARD_ANSWER_DECODED), this.opts.replicaLabels);
    } catch (e) {
      this.shardReads?.inc({ result: 'garbage' });
      return { shard, error: `unreadable answer (${r.body.length} bytes): ${(e as Error).message}` };
    }
    if (results.length !== queries) {
      this.shardReads?.inc({ result: 'garbage' });
      return { shard, error: `answered ${results.length} results to ${queries} queries` };
    }
    this.shardReads?.inc({ result: 'success' });
    return { shard, results };
  }
}

/**
 * Whether a query can be answered with each series' last sample: an instant vector selector (no range, no step)
 * whose window is exactly the querier's lookback delta, so not inside a subquery. PromQL then reads only the
 * latest sample at or before the end. Only a querier that says its lookback delta (LOOKBACK_HEADER) gets this.
 */
export function needsLastSampleOnly(q: ReadQuery, lookbackMs: number): boolean {
  const h = q.hints;
  if (!h || !Number.isFinite(lookbackMs) || lookbackMs <= 0) return false;
  if (h.stepMs !== 0 || h.rangeMs !== 0 || h.func === 'series') return false;
  // Prometheus 2.x reads [t - lookback, t]; 3.x's left-open window starts 1 ms later.
  const window = (w: number): boolean => w === lookbackMs || w === lookbackMs - 1;
  return window(h.endMs - h.startMs) && window(q.endMs - q.startMs);
}

/** STREAMED_XOR_CHUNKS frames of merged results: chunks of at most 120 samples, frames up to about 1 MiB. */
function* chunkedFrames(results: OutSeries[][]): Generator<Buffer> {
  for (let qi = 0; qi < results.length; qi++) {
    let batch: ChunkedSeriesMessage[] = [];
    let size = 0;
    // Already sorted (mergeAnswers then sortSeries), as Prometheus streams them.
    for (const o of results[qi]!) {
      const labels = o.table.labels(o.i);
      const all: Samples = o.samples ?? o.table.samples(o.i);
      const samples = o.range && !o.samples ? lastSample(all) : all;
      const chunks = [];
      for (let i = 0; i < samples.t.length; i += SAMPLES_PER_CHUNK) {
        const to = Math.min(samples.t.length, i + SAMPLES_PER_CHUNK);
        const data = encodeXorChunk(samples, i, to);
        chunks.push({ minTimeMs: samples.t[i]!, maxTimeMs: samples.t[to - 1]!, type: 1, data });
        size += data.length + 32;
      }
      for (const [n, v] of labels) size += n.length + v.length + 8;
      batch.push({ labels, chunks });
      if (size >= MAX_BYTES_IN_FRAME) {
        yield frame(encodeChunkedReadResponse({ series: batch, queryIndex: qi }));
        batch = [];
        size = 0;
      }
    }
    if (batch.length > 0) yield frame(encodeChunkedReadResponse({ series: batch, queryIndex: qi }));
  }
}
