/**
 * Prometheus HTTP API calls that the global querier cannot answer from remote read, fanned out to every shard's
 * Prometheus (through its sidecar) and to the querier, and merged: label names, label values and metric metadata.
 * (Prometheus 2.42's remote-read storage does not implement label queries, and the querier scrapes nothing, so it
 * has no metadata.) Replica labels are left out, as the gateway leaves them out of series.
 */
import { ApiClient } from '../http/client.js';
import type { ReadShard } from './gateway.js';

export interface FanOutResult {
  /** Merged `data`. */
  data: unknown;
  warnings: string[];
  /** Every shard ordinal answered by at least one replica. */
  complete: boolean;
}

export type ApiKind = 'labels' | 'values' | 'metadata';

interface Answer {
  data?: unknown;
  warnings?: string[];
  error?: string;
}

/** Label and metadata answers are small next to series: 256 MiB is far beyond any real one. */
const MAX_ANSWER = 256 << 20;

/** The querier is kvass's own Prometheus on loopback: no credential goes there. */
const toQuerier = new ApiClient({ timeoutMs: 30_000, maxResponseBytes: MAX_ANSWER });

async function getJson(client: ApiClient, url: string, timeoutMs: number): Promise<Answer> {
  try {
    const r = await client.data(url, { timeoutMs, maxResponseBytes: MAX_ANSWER });
    return { data: r.data, warnings: r.warnings };
  } catch (e) {
    const msg = (e as Error).message;
    return { error: msg.includes('no answer within') ? `no answer within ${timeoutMs / 1000}s (--query.shard-timeout)` : msg };
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
 * Runs one API call (path and query string as received, e.g. "/api/v1/labels?match[]=up") on every shard and on the
 * querier, and merges the answers.
 */
export async function fanOutApi(kind: ApiKind, pathAndQuery: string, shards: readonly ReadShard[], querierUrl: string, opts: { timeoutMs: number; client: ApiClient; replicaLabels: readonly string[] }): Promise<FanOutResult> {
  const shardCalls = shards.map((s) => getJson(opts.client, `${s.url.replace(/\/+$/, '')}${pathAndQuery}`, opts.timeoutMs));
  const querierCall = getJson(toQuerier, `${querierUrl}${pathAndQuery}`, opts.timeoutMs);
  const [q, ...answers] = await Promise.all([querierCall, ...shardCalls]);
  const warnings: string[] = [];
  const datas: unknown[] = [];
  const answered = new Set<number>();
  answers.forEach((a, i) => {
    const s = shards[i]!;
    if (a.error !== undefined) warnings.push(`shard ${s.name} (${s.url}): ${a.error}`);
    else {
      answered.add(s.ordinal);
      datas.push(a.data);
      for (const w of a.warnings ?? []) warnings.push(`shard ${s.name}: ${w}`);
    }
  });
  if (q!.error !== undefined) warnings.push(`global querier: ${q!.error}`);
  else datas.push(q!.data);
  const complete = shards.every((s) => answered.has(s.ordinal));
  const drop = new Set(kind === 'labels' ? opts.replicaLabels : []);
  let data: unknown;
  if (kind === 'metadata') {
    const limit = Number(new URL(pathAndQuery, 'http://x').searchParams.get('limit') ?? '');
    data = mergeMetadata(datas, Number.isInteger(limit) ? limit : 0);
  } else data = mergeStrings(datas, drop);
  return { data, warnings, complete };
}
