/**
 * Query pushdown: the front door answers /api/v1/query and /api/v1/query_range by having each shard's Prometheus
 * evaluate the parts of the query it can evaluate alone (pushdown-plan.ts), and merging their answers
 * (pushdown-eval.ts), instead of pulling every raw sample of the window into the global querier by remote read.
 *
 * Only when that is exact: every series the query reads lies wholly on one shard for the whole window it reads.
 * So the query falls back to the remote-read path (the querier) when
 *  - a target moved between shards, or was in transfer, within the window (the coordinator's move log, moves.ts);
 *  - an ordinal has more than one replica and none was seen ready through the whole window (the querier's
 *    deduplication would fill one replica's gap from another);
 *  - remote stores or ingestors are read (their series are not on one shard);
 *  - a selector may read the querier's own series (recording rules, ALERTS): they are in no shard;
 *  - the expression is one the planner does not split.
 * The caller then passes the request to the querier; the reason goes to the response header and the metrics.
 * A shard that fails makes the answer partial with a warning, as on the remote-read path.
 */
import type { ServerResponse } from 'node:http';
import { Counter, type Registry } from 'prom-client';
import type { ApiClient } from '../http/client.js';
import type { Logger } from '../logger.js';
import { parseDuration } from '../prom/duration.js';
import { Re2Regex } from '../prom/regex.js';
import { movedWithin, type MoveHistory } from '../coordinator/moves.js';
import type { ReadShard } from './gateway.js';
import type { Matcher } from './promql.js';
import { planPushdown } from './pushdown-plan.js';
import { EvalError, evaluatePlan, type EvalMode } from './pushdown-eval.js';
import type { FallbackReason, PushdownPlan, SelectorRead, ShardData } from './pushdown-types.js';

export const PATH_HEADER = 'x-kvass-query-path';
export const FALLBACK_HEADER = 'x-kvass-pushdown-fallback';

export interface PushdownOptions {
  /** --query.pushdown. */
  enabled: boolean;
  shards: () => readonly ReadShard[];
  client: ApiClient;
  timeoutMs: number;
  partialResponse: boolean;
  lookbackDeltaMs: number;
  /** The coordinator's move log; null while unknown. */
  moves: () => MoveHistory | null;
  /** Metric names the querier holds itself (recording rules, ALERTS); null while unknown. */
  querierNames: () => ReadonlySet<string> | null;
  registry?: Registry;
  log: Logger;
  now?: () => number;
}

/** A query's times, as Prometheus reads them, with the texts to send on unchanged. */
type Times = { kind: 'instant'; timeMs: number; params: Record<string, string> } | { kind: 'range'; startMs: number; endMs: number; stepMs: number; params: Record<string, string> };

/** The shard answers of one part's query, per shard. */
interface ShardAnswer {
  shard: ReadShard;
  status: number;
  body?: Buffer;
  json?: { status?: string; data?: ShardData; error?: string; errorType?: string; warnings?: string[] };
  error?: string;
}

const MAX_ANSWER_BYTES = 1 << 30;
const SHARD_LOOKBACK_DELTA_MS = 300_000;

export class QueryPushdown {
  private readonly pushed?: Counter<string>;
  private readonly fallbacks?: Counter<string>;

  constructor(private readonly o: PushdownOptions) {
    if (o.registry) {
      this.pushed = new Counter({ name: 'kvass_query_pushdown_total', help: 'Queries (/api/v1/query, /api/v1/query_range) answered by pushdown to the shards.', registers: [o.registry] });
      this.fallbacks = new Counter({ name: 'kvass_query_pushdown_fallback_total', help: 'Queries answered by the remote-read path instead, by reason (disabled, unsupported, moved, history, replicas, stores, rules, …).', labelNames: ['reason'], registers: [o.registry] });
    }
  }

  /** Plans of recent query texts: dashboards send the same ones again and again. */
  private readonly plans = new Map<string, ReturnType<typeof planPushdown>>();

  private planOf(query: string): ReturnType<typeof planPushdown> {
    let plan = this.plans.get(query);
    if (plan === undefined) {
      plan = planPushdown(query, { lookbackDeltaMs: this.o.lookbackDeltaMs });
      if (query.length <= 4096) {
        if (this.plans.size >= 1000) this.plans.delete(this.plans.keys().next().value!);
        this.plans.set(query, plan);
      }
    }
    return plan;
  }

  /** Counts a query that takes the remote-read path. */
  fellBack(reason: FallbackReason): void {
    this.fallbacks?.inc({ reason });
  }

  /**
   * Answers the query if it can be pushed down exactly; otherwise answers nothing and says why (the caller sends
   * it to the querier). `params`: the request's parameters (query string and form body).
   */
  async serve(path: '/api/v1/query' | '/api/v1/query_range', params: URLSearchParams, res: ServerResponse): Promise<FallbackReason | null> {
    if (!this.o.enabled) return 'disabled';
    // Shards evaluate with their own lookback delta: Prometheus's default, which kvass does not change.
    if (this.o.lookbackDeltaMs !== SHARD_LOOKBACK_DELTA_MS) return 'lookback';
    const query = params.get('query');
    const times = query === null ? null : readTimes(path, params, this.o.now?.() ?? Date.now());
    if (query === null || times === null) return 'params';
    const plan = this.planOf(query);
    if ('fallback' in plan) return plan.fallback;
    const shards = this.o.shards();
    if (shards.some((s) => s.store)) return 'stores';
    if (shards.some((s) => s.copies)) return 'replicas';
    const [fromMs, toMs] = readWindow(plan.reads, times);
    const names = this.o.querierNames();
    if (names === null || plan.reads.some((r) => readsAnyOf(r.matchers, names))) return 'rules';
    const history = this.o.moves();
    if (history === null) return 'no_coordinator';
    const moved = movedWithin(history, fromMs, toMs);
    if (moved) return moved;
    const chosen = oneReplicaPerOrdinal(shards, fromMs);
    if (chosen === null) return 'replicas';
    const fallback = await this.answer(plan, chosen, times, params.get('stats'), res);
    if (fallback === null) this.pushed?.inc();
    return fallback;
  }

  /** Fans the parts out and answers; 'unsupported' (nothing answered) when the shards' answers are not what the plan can merge (native histograms). */
  private async answer(plan: PushdownPlan, shards: readonly ReadShard[], times: Times, stats: string | null, res: ServerResponse): Promise<FallbackReason | null> {
    const api = times.kind === 'instant' ? '/api/v1/query' : '/api/v1/query_range';
    const calls = plan.parts.map((p) => p.queries.map((q) => shards.map((s) => this.ask(s, api, { ...times.params, query: q }))));
    const got = await Promise.all(calls.map((part) => Promise.all(part.map((perShard) => Promise.all(perShard)))));
    // A shard's query error (bad data, execution) is the query's: one Prometheus would have answered it too.
    for (const part of got) for (const perShard of part) for (const a of perShard) {
      if (a.json?.status === 'error' && a.status >= 400 && a.status < 500) return sendJson(res, a.status, { status: 'error', errorType: a.json.errorType, error: a.json.error });
    }
    const failed = new Map<string, string>();
    for (const part of got) for (const perShard of part) for (const a of perShard) if (a.error !== undefined && !failed.has(a.shard.name)) failed.set(a.shard.name, `shard ${a.shard.name} (${a.shard.url}): ${a.error}`);
    const warnings = [...failed.values()];
    if (warnings.length > 0 && !this.o.partialResponse) {
      return sendJson(res, 503, { status: 'error', errorType: 'unavailable', error: `partial response disabled and some shards or stores did not answer: ${warnings.join('; ')}` });
    }
    for (const w of warnings) this.o.log.warn({ warning: w }, 'shard left out of a pushed-down query');
    const answered = shards.filter((s) => !failed.has(s.name));
    for (const part of got) for (const perShard of part) for (const a of perShard) for (const w of a.json?.warnings ?? []) if (!failed.has(a.shard.name)) warnings.push(`shard ${a.shard.name}: ${w}`);
    if (plan.expr.kind === 'pushed' && plan.expr.merge.kind === 'union' && stats === null && warnings.length === 0 && times.kind === 'instant') {
      // Series of one part, each on one shard: the shards' result arrays, as they wrote them, make the answer.
      const spliced = spliceVectors(got[0]![0]!.filter((a) => !failed.has(a.shard.name)));
      if (spliced) {
        res.setHeader('content-type', 'application/json');
        res.setHeader(PATH_HEADER, 'pushdown');
        res.writeHead(200).end(spliced);
        return null;
      }
    }
    // answers[p][s][q], shards that answered only.
    const answers = got.map((part) => answered.map((s) => part.map((perShard) => perShard.find((a) => a.shard === s)!.json!.data!)));
    const mode: EvalMode = times.kind === 'instant' ? { kind: 'instant', timeS: times.timeMs / 1000 } : { kind: 'range', startS: times.startMs / 1000, endS: times.endMs / 1000, stepS: times.stepMs / 1000 };
    let data: ShardData;
    try {
      data = evaluatePlan(plan.expr, plan.parts, answers, mode);
    } catch (e) {
      if (e instanceof EvalError) return sendJson(res, 422, { status: 'error', errorType: 'execution', error: e.message });
      this.o.log.warn({ err: (e as Error).message }, 'pushed-down answers cannot be merged; the query takes the remote-read path');
      return 'unsupported';
    }
    const out: Record<string, unknown> = { ...data };
    if (stats !== null) out.stats = { kvass: { path: 'pushdown', shards: shards.length, parts: plan.parts.reduce((n, p) => n + p.queries.length, 0) } };
    return sendJson(res, 200, { status: 'success', data: out, ...(warnings.length > 0 ? { warnings } : {}) });
  }

  private async ask(shard: ReadShard, api: string, params: Record<string, string>): Promise<ShardAnswer> {
    const url = `${shard.url.replace(/\/+$/, '')}${api}`;
    try {
      const r = await this.o.client.call(url, {
        method: 'POST', body: new URLSearchParams(params).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' },
        timeoutMs: this.o.timeoutMs, maxResponseBytes: MAX_ANSWER_BYTES,
      });
      let json: ShardAnswer['json'];
      try {
        json = JSON.parse(r.body.toString('utf8')) as ShardAnswer['json'];
      } catch {
        return { shard, status: r.status, error: `HTTP ${r.status}, not JSON` };
      }
      if (r.status === 200 && json?.status === 'success' && json.data) return { shard, status: r.status, body: r.body, json };
      if (json?.status === 'error' && r.status >= 400 && r.status < 500 && r.status !== 429) return { shard, status: r.status, json };
      return { shard, status: r.status, error: `HTTP ${r.status}: ${String(json?.error ?? '').slice(0, 500)}` };
    } catch (e) {
      const msg = (e as Error).message;
      return { shard, status: 0, error: msg.includes('no answer within') ? `no answer within ${this.o.timeoutMs / 1000}s (--query.shard-timeout)` : msg };
    }
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): null {
  res.setHeader('content-type', 'application/json');
  res.setHeader(PATH_HEADER, 'pushdown');
  res.writeHead(status).end(JSON.stringify(body));
  return null;
}

const VECTOR_PREFIX = Buffer.from('{"status":"success","data":{"resultType":"vector","result":[');
const VECTOR_SUFFIX = Buffer.from(']}}');

/**
 * One answer from the shards' instant vectors without decoding them: Prometheus writes a success without warnings
 * as VECTOR_PREFIX, the series, VECTOR_SUFFIX. undefined when an answer is written otherwise.
 */
function spliceVectors(answers: readonly ShardAnswer[]): Buffer | undefined {
  const inner: Buffer[] = [];
  for (const a of answers) {
    const b = a.body;
    if (!b || b.length < VECTOR_PREFIX.length + VECTOR_SUFFIX.length) return undefined;
    if (!b.subarray(0, VECTOR_PREFIX.length).equals(VECTOR_PREFIX) || !b.subarray(b.length - VECTOR_SUFFIX.length).equals(VECTOR_SUFFIX)) return undefined;
    const series = b.subarray(VECTOR_PREFIX.length, b.length - VECTOR_SUFFIX.length);
    if (series.length > 0) inner.push(series);
  }
  const parts: Buffer[] = [VECTOR_PREFIX];
  inner.forEach((x, i) => parts.push(...(i > 0 ? [Buffer.from(','), x] : [x])));
  parts.push(VECTOR_SUFFIX);
  return Buffer.concat(parts);
}

/** Prometheus's parseTime: float seconds or RFC 3339; null for anything else (the querier answers the error). */
function parseTime(text: string): number | null {
  if (/^-?\d+(\.\d+)?$/.test(text)) {
    const x = Number(text);
    const s = Math.trunc(x);
    return s * 1000 + Math.round((x - s) * 1000);
  }
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(text)) {
    const t = Date.parse(text);
    return Number.isFinite(t) ? t : null;
  }
  return null;
}

/** Prometheus's parseDuration of the API (float seconds or a duration); null when not one. */
function parseStep(text: string): number | null {
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  try {
    return parseDuration(text);
  } catch {
    return null;
  }
}

function readTimes(path: string, p: URLSearchParams, nowMs: number): Times | null {
  if (path === '/api/v1/query') {
    const given = p.get('time');
    const timeMs = given === null || given === '' ? nowMs : parseTime(given);
    if (timeMs === null) return null;
    return { kind: 'instant', timeMs, params: { time: given === null || given === '' ? (nowMs / 1000).toFixed(3) : given } };
  }
  const [start, end, step] = ['start', 'end', 'step'].map((k) => p.get(k));
  if (!start || !end || !step) return null;
  const startMs = parseTime(start);
  const endMs = parseTime(end);
  const stepMs = parseStep(step);
  // Errors (end before start, no step, too many points) are the querier's to answer, in Prometheus's words.
  if (startMs === null || endMs === null || stepMs === null || stepMs <= 0 || endMs < startMs || (endMs - startMs) / stepMs > 11000) return null;
  return { kind: 'range', startMs, endMs, stepMs, params: { start, end, step } };
}

/** The earliest and latest sample time any selector reads. */
function readWindow(reads: readonly SelectorRead[], t: Times): [number, number] {
  const [start, end] = t.kind === 'instant' ? [t.timeMs, t.timeMs] : [t.startMs, t.endMs];
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  for (const r of reads) {
    const [a, b] = r.atMs === undefined ? [start, end] : r.atMs === 'start' ? [start, start] : r.atMs === 'end' ? [end, end] : [r.atMs, r.atMs];
    from = Math.min(from, a - r.beforeMs);
    to = Math.max(to, b + r.afterMs);
  }
  return [from, to];
}

const regexes = new Map<string, Re2Regex>();
function regex(pattern: string): Re2Regex {
  let re = regexes.get(pattern);
  if (!re) {
    if (regexes.size >= 1000) regexes.clear();
    re = Re2Regex.compile(pattern);
    regexes.set(pattern, re);
  }
  return re;
}

function nameMatches(m: Matcher, name: string): boolean {
  switch (m.type) {
    case '=': return name === m.value;
    case '!=': return name !== m.value;
    case '=~': return regex(m.value).test(name);
    case '!~': return !regex(m.value).test(name);
  }
}

/** Whether a selector's name matchers accept one of `names` (its other labels are not known here). */
function readsAnyOf(matchers: readonly Matcher[], names: ReadonlySet<string>): boolean {
  const onName = matchers.filter((m) => m.name === '__name__');
  const eq = onName.find((m) => m.type === '=');
  if (eq) return names.has(eq.value) && onName.every((m) => nameMatches(m, eq.value));
  for (const n of names) if (onName.every((m) => nameMatches(m, n))) return true;
  return false;
}

/**
 * The shard to read for every ordinal: its only replica, or else the first replica seen ready since before the
 * window began; null when an ordinal with replicas has none such.
 */
function oneReplicaPerOrdinal(shards: readonly ReadShard[], fromMs: number): ReadShard[] | null {
  const byOrdinal = new Map<number, ReadShard[]>();
  for (const s of shards) (byOrdinal.get(s.ordinal) ?? byOrdinal.set(s.ordinal, []).get(s.ordinal)!).push(s);
  const out: ReadShard[] = [];
  for (const copies of byOrdinal.values()) {
    if (copies.length === 1) {
      out.push(copies[0]!);
      continue;
    }
    const ok = copies.filter((c) => c.readySinceMs !== undefined && c.readySinceMs <= fromMs).sort((a, b) => a.replica - b.replica)[0];
    if (!ok) return null;
    out.push(ok);
  }
  return out;
}
