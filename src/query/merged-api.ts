/**
 * API calls the global querier cannot answer for the view, since it holds no series of its own: the TSDB status,
 * the targets' metadata and exemplars live in the shards' (and stores') Prometheus. Each is asked of every one of
 * them and merged (api-merge.ts) into what one Prometheus holding every series would answer.
 *
 * One figure of the TSDB status cannot be merged from the shards' answers: how many distinct values a label name
 * has across all of them. It is counted exactly, with one label values call per name that any shard ranks.
 */
import type { ServerResponse } from 'node:http';
import type { ApiClient } from '../http/client.js';
import { apiError, apiSuccess } from '../http/respond.js';
import { labelNamesToCount, mergeExemplars, mergeTargetMetadata, mergeTsdbStatus, type TsdbStatus } from './api-merge.js';
import type { ReadShard } from './gateway.js';
import { fanOutApi, gatherApi, type Gathered } from './shard-api.js';

export interface MergedApiOptions {
  shards: () => readonly ReadShard[];
  querierUrl: string;
  timeoutMs: number;
  client: ApiClient;
  replicaLabels: readonly string[];
  partialResponse: boolean;
}

export type MergedPath = '/api/v1/status/tsdb' | '/api/v1/targets/metadata' | '/api/v1/query_exemplars';

export const MERGED_PATHS: ReadonlySet<string> = new Set<MergedPath>(['/api/v1/status/tsdb', '/api/v1/targets/metadata', '/api/v1/query_exemplars']);

/** The view's TSDB status: every head merged, label value counts counted over the whole view. */
export async function mergedTsdbStatus(limit: number, query: string, o: MergedApiOptions): Promise<{ g: Gathered; data: TsdbStatus }> {
  const shards = o.shards();
  // One head per shard ordinal: a replica's head holds the same series again.
  const heads = shards.filter((s) => s.store || s.replica === 0);
  const g = await gatherApi('tsdb', `/api/v1/status/tsdb${query}`, heads, o.querierUrl, o);
  // Every label name's distinct values, counted over the whole view: the ranking, and the label pairs (a pair is
  // a name and one of its values), which the heads' own figures count once per head.
  const all = await fanOutApi('labels', '/api/v1/labels', shards, o.querierUrl, o);
  const names = [...new Set([...labelNamesToCount(g.datas), ...(all.data as string[])])];
  const counts: Record<string, number> = {};
  await Promise.all(names.map(async (name) => {
    const values = await fanOutApi('values', `/api/v1/label/${encodeURIComponent(name)}/values`, shards, o.querierUrl, o);
    counts[name] = (values.data as unknown[]).length;
    g.warnings.push(...values.warnings);
    g.complete &&= values.complete;
  }));
  const data = mergeTsdbStatus(g.datas, limit, { labelValueCounts: counts });
  if (all.complete) data.headStats.numLabelPairs = Object.values(counts).reduce((a, b) => a + b, 0);
  return { g, data };
}

/** Answers one of MERGED_PATHS; `params` are the request's (query string and form). */
export async function serveMergedApi(path: MergedPath, res: ServerResponse, params: URLSearchParams, o: MergedApiOptions): Promise<void> {
  const query = params.size > 0 ? `?${params}` : '';
  const shards = o.shards();
  let g: Gathered;
  let data: unknown;
  if (path === '/api/v1/status/tsdb') {
    const limit = Number(params.get('limit') ?? 10);
    ({ g, data } = await mergedTsdbStatus(Number.isInteger(limit) && limit > 0 ? limit : 10, query, o));
  } else if (path === '/api/v1/targets/metadata') {
    g = await gatherApi('targets-metadata', `${path}${query}`, shards, undefined, o);
    const limit = Number(params.get('limit') ?? '');
    data = mergeTargetMetadata(g.datas, Number.isInteger(limit) && limit >= 0 && params.has('limit') ? limit : undefined);
  } else {
    g = await gatherApi('exemplars', `${path}${query}`, shards, undefined, o);
    data = mergeExemplars(g.datas);
  }
  if (!g.complete && !o.partialResponse) return apiError(res, 503, 'unavailable', `partial response disabled and some shards or stores did not answer: ${g.warnings.join('; ')}`);
  apiSuccess(res, data, [...new Set(g.warnings)]);
}
