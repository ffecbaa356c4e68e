/**
 * Prometheus HTTP API calls that the global querier cannot answer from remote read, fanned out to every shard's
 * Prometheus (through its sidecar), every remote store (selectors fitted to its external labels) and the querier,
 * and merged: label names, label values and metric metadata.
 * (Prometheus 2.42's remote-read storage does not implement label queries, and the querier scrapes nothing, so it
 * has no metadata.) Replica labels are left out, as the gateway leaves them out of series.
 */
import type { ApiClient } from '../http/client.js';
import { QUERIER_CLIENT } from './querier.js';
import type { ReadShard } from './gateway.js';
import { fromReadMatcher, parseSeriesSelector, printSeriesSelector, toReadMatcher } from './promql.js';
import { fitMatchers } from './store-read.js';

export interface FanOutResult {
  /** Merged `data`. */
  data: unknown;
  warnings: string[];
  /** Every shard ordinal answered by at least one replica. */
  complete: boolean;
}

export type ApiKind = 'labels' | 'values' | 'metadata' | 'tsdb' | 'targets-metadata' | 'exemplars';

interface Answer {
  data?: unknown;
  warnings?: string[];
  error?: string;
}

/** Label and metadata answers are small next to series: 256 MiB is far beyond any real one. */
const MAX_ANSWER = 256 << 20;


async function getJson(client: ApiClient, url: string, timeoutMs: number, flag: string): Promise<Answer> {
  try {
    const r = await client.data(url, { timeoutMs, maxResponseBytes: MAX_ANSWER });
    return { data: r.data, warnings: r.warnings };
  } catch (e) {
    const msg = (e as Error).message;
    return { error: msg.includes('no answer within') ? `no answer within ${timeoutMs / 1000}s (${flag})` : msg };
  }
}

function mergeStrings(answers: unknown[], drop: ReadonlySet<string>): string[] {
  const set = new Set<string>();
  for (const a of answers) if (Array.isArray(a)) for (const s of a) if (typeof s === 'string' && !drop.has(s)) set.add(s);
  // Prometheus sorts label names and values bytewise (Go string order): compare UTF-16 code units would differ
  // outside the BMP, so compare the UTF-8 bytes.
  return [...set].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
}

function mergeMetadata(answers: unknown[], limit: number): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  const seen = new Map<string, Set<string>>();
  for (const a of answers) {
    if (!a || typeof a !== 'object') continue;
    for (const [metric, entries] of Object.entries(a as Record<string, unknown>)) {
      if (!Array.isArray(entries)) continue;
      if (!(metric in out)) {
        if (limit > 0 && Object.keys(out).length >= limit) continue;
        out[metric] = [];
        seen.set(metric, new Set());
      }
      for (const e of entries) {
        const key = JSON.stringify(e);
        if (seen.get(metric)!.has(key)) continue;
        seen.get(metric)!.add(key);
        out[metric]!.push(e);
      }
    }
  }
  return out;
}

/**
 * The call to make on a store: `match[]` fitted to its external labels (store-read.ts), or undefined when every
 * selector is pruned (none of its series can match). Throws on a selector that does not parse.
 */
function storeCall(pathAndQuery: string, ext: Readonly<Record<string, string>>): string | undefined {
  if (Object.keys(ext).length === 0) return pathAndQuery;
  const url = new URL(pathAndQuery, 'http://x');
  const given = url.searchParams.getAll('match[]');
  if (given.length === 0) return pathAndQuery;
  const kept: string[] = [];
  for (const sel of given) {
    const fitted = fitMatchers(parseSeriesSelector(sel).map(toReadMatcher), ext);
    if (fitted) kept.push(printSeriesSelector(fitted.matchers.map(fromReadMatcher)));
  }
  if (kept.length === 0) return undefined;
  url.searchParams.delete('match[]');
  for (const k of kept) url.searchParams.append('match[]', k);
  return `${url.pathname}${url.search}`;
}

/**
 * One store's answer, its external labels added: label names get theirs when it has any series matching, the
 * values of an external label get the external value (its series lack the label; those that carry one keep it).
 */
async function askStore(kind: 'labels' | 'values' | 'metadata', pathAndQuery: string, s: ReadShard): Promise<Answer> {
  const store = s.store!;
  const ext = store.externalLabels;
  let call: string | undefined;
  try {
    call = storeCall(pathAndQuery, ext);
  } catch (e) {
    return { error: `bad match[]: ${(e as Error).message}` };
  }
  if (call === undefined) return { data: kind === 'metadata' ? {} : [] };
  const base = s.url.replace(/\/+$/, '');
  const a = await getJson(store.client, `${base}${call}`, store.timeoutMs, '--query.store-timeout');
  if (a.error !== undefined || kind === 'metadata') return a;
  const name = kind === 'values' ? decodeURIComponent(/^\/api\/v1\/label\/([^/?]+)\/values/.exec(call)?.[1] ?? '') : '';
  if (kind === 'labels') {
    if (Array.isArray(a.data) && a.data.length > 0) a.data = [...a.data, ...Object.keys(ext)];
  } else if (name in ext) {
    const url = new URL(call, 'http://x');
    const any = await getJson(store.client, `${base}/api/v1/labels${url.search}`, store.timeoutMs, '--query.store-timeout');
    if (any.error !== undefined) return any;
    if (Array.isArray(any.data) && any.data.length > 0) a.data = [...(Array.isArray(a.data) ? a.data : []), ext[name]];
  }
  return a;
}

/** Each source's `data`, the warnings, and whether every shard ordinal and every store answered. */
export interface Gathered {
  datas: unknown[];
  warnings: string[];
  complete: boolean;
}

/**
 * Runs one API call (path and query string as received, e.g. "/api/v1/labels?match[]=up") on every shard, every
 * store (label calls fitted to its external labels) and, when `querierUrl` is given, the querier.
 */
export async function gatherApi(kind: ApiKind, pathAndQuery: string, shards: readonly ReadShard[], querierUrl: string | undefined, opts: { timeoutMs: number; client: ApiClient }): Promise<Gathered> {
  const call = (s: ReadShard): Promise<Answer> => {
    if (!s.store) return getJson(opts.client, `${s.url.replace(/\/+$/, '')}${pathAndQuery}`, opts.timeoutMs, '--query.shard-timeout');
    if (kind === 'labels' || kind === 'values' || kind === 'metadata') return askStore(kind, pathAndQuery, s);
    return getJson(s.store.client, `${s.url.replace(/\/+$/, '')}${pathAndQuery}`, s.store.timeoutMs, '--query.store-timeout');
  };
  const querierCall = querierUrl === undefined ? Promise.resolve(undefined) : getJson(QUERIER_CLIENT, `${querierUrl}${pathAndQuery}`, opts.timeoutMs, '--query.shard-timeout');
  const [q, ...answers] = await Promise.all([querierCall, ...shards.map(call)]);
  const warnings: string[] = [];
  const datas: unknown[] = [];
  const answered = new Set<number>();
  let storesComplete = true;
  answers.forEach((a, i) => {
    const s = shards[i]!;
    const what = s.store ? 'store' : 'shard';
    if (a.error !== undefined) {
      warnings.push(`${what} ${s.name} (${s.url}): ${a.error}`);
      if (s.store) storesComplete = false;
    } else {
      if (!s.store) answered.add(s.ordinal);
      datas.push(a.data);
      for (const w of a.warnings ?? []) warnings.push(`${what} ${s.name}: ${w}`);
    }
  });
  if (q?.error !== undefined) warnings.push(`global querier: ${q.error}`);
  else if (q) datas.push(q.data);
  const complete = storesComplete && shards.every((s) => s.store || answered.has(s.ordinal));
  return { datas, warnings, complete };
}

/** Label names, label values or metadata of every shard, store and the querier, merged. */
export async function fanOutApi(kind: 'labels' | 'values' | 'metadata', pathAndQuery: string, shards: readonly ReadShard[], querierUrl: string, opts: { timeoutMs: number; client: ApiClient; replicaLabels: readonly string[] }): Promise<FanOutResult> {
  const { datas, warnings, complete } = await gatherApi(kind, pathAndQuery, shards, querierUrl, opts);
  const drop = new Set(kind === 'labels' ? opts.replicaLabels : []);
  let data: unknown;
  if (kind === 'metadata') {
    const limit = Number(new URL(pathAndQuery, 'http://x').searchParams.get('limit') ?? '');
    data = mergeMetadata(datas, Number.isInteger(limit) ? limit : 0);
  } else data = mergeStrings(datas, drop);
  return { data, warnings, complete };
}
