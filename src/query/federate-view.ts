/**
 * `GET /federate` over the whole view, as Prometheus 2.42's web/federate.go answers it for its own TSDB: for every
 * series matching any `match[]` selector, its latest sample in `[now − lookback delta, now]` unless that sample is
 * a staleness marker, written by federate.ts (text, or protobuf when the client asks for it).
 *
 * The global querier cannot do this: its /federate reads only its own TSDB (recording-rule results), never remote
 * storage. So the series come from the store gateway (every shard and store, copies merged as in every read), and
 * the querier's own /federate adds the rule results. Each shard and store adds its external labels on the way out;
 * the configuration's external labels are added to series that lack them, as federate.go does.
 */
import type { ServerResponse } from 'node:http';
import { compareLabelSets } from '../prom/labels.js';
import type { Logger } from '../logger.js';
import { negotiateFormat, parseFederationText, renderFederation, type FederatedSample } from './federate.js';
import { WARNING_HEADER, type StoreGateway } from './gateway.js';
import { parseSeriesSelector, toReadMatcher } from './promql.js';
import { QUERIER_CLIENT } from './querier.js';
import { isStale } from './remote/samples.js';
import type { LabelMatcher, ReadQuery } from './remote/read-proto.js';

export interface FederateOptions {
  gateway: StoreGateway;
  querierUrl: string;
  lookbackDeltaMs: number;
  /** The configuration's external labels (global.external_labels). */
  externalLabels: () => Readonly<Record<string, string>>;
  partialResponse: boolean;
  log: Logger;
  now?: () => number;
}


const keyOf = (labels: ReadonlyArray<readonly [string, string]>): string => JSON.stringify(labels);

export async function serveFederate(res: ServerResponse, params: URLSearchParams, accept: string | undefined, o: FederateOptions): Promise<void> {
  const selectors = params.getAll('match[]');
  let matcherSets: LabelMatcher[][];
  try {
    matcherSets = selectors.map((s) => parseSeriesSelector(s).map(toReadMatcher));
  } catch (e) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(`${(e as Error).message}\n`);
    return;
  }
  const now = (o.now ?? Date.now)();
  const mint = now - o.lookbackDeltaMs;
  const queries: ReadQuery[] = matcherSets.map((matchers) => ({ startMs: mint, endMs: now, matchers, hints: { stepMs: 0, func: '', startMs: mint, endMs: now, grouping: [], by: false, rangeMs: 0 } }));
  const [read, rules] = await Promise.all([
    queries.length > 0 ? o.gateway.read(queries) : { results: [], warnings: [], complete: true },
    queries.length > 0 ? querierFederation(o.querierUrl, params) : { series: [] as FederatedSample[], error: undefined },
  ]);
  const warnings = [...read.warnings, ...(rules.error ? [`global querier: ${rules.error}`] : [])];
  if (!read.complete && !o.partialResponse) {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end(`partial response disabled and some shards or stores did not answer: ${warnings.join('; ')}\n`);
    return;
  }
  // One sample per series, whichever match[] found it: the latest in the window, unless it is a staleness marker.
  const latest = new Map<string, FederatedSample>();
  for (const result of read.results) {
    for (const { labels, samples } of result) {
      let i = samples.t.length - 1;
      while (i >= 0 && samples.t[i]! > now) i--;
      if (i < 0 || samples.t[i]! < mint || isStale(samples, i)) continue;
      latest.set(keyOf(labels), { labels, t: samples.t[i]!, v: samples.v[i]! });
    }
  }
  for (const s of rules.series) {
    const k = keyOf(s.labels);
    if ((latest.get(k)?.t ?? -Infinity) < s.t) latest.set(k, s);
  }
  // The configuration's external labels come back on every series (the shards add them on the way out); a TSDB
  // holds series without them, and federate.go appends them after the series' own labels: as it writes them.
  const external = o.externalLabels();
  const own = (labels: Array<[string, string]>): Array<[string, string]> => labels.filter(([n, v]) => external[n] !== v);
  const series = [...latest.values()].map((s) => ({ ...s, labels: own(s.labels) })).sort((a, b) => compareLabelSets(a.labels, b.labels));
  const { contentType, body } = renderFederation(series, { ...external }, negotiateFormat(accept));
  const headers: Record<string, string | string[]> = { 'content-type': contentType };
  if (warnings.length > 0) {
    headers[WARNING_HEADER] = warnings.map((w) => w.replace(/[^\x20-\x7e]/g, '?').slice(0, 1000));
    o.log.warn({ warnings }, 'federation answered without some shards or stores');
  }
  res.writeHead(200, headers).end(body);
}

/** The querier's own /federate (its TSDB holds the recording rules' results). */
async function querierFederation(querierUrl: string, params: URLSearchParams): Promise<{ series: FederatedSample[]; error?: string }> {
  const only = new URLSearchParams(params.getAll('match[]').map((m): [string, string] => ['match[]', m]));
  try {
    const r = await QUERIER_CLIENT.call(`${querierUrl}/federate?${only}`, { headers: { accept: 'text/plain' }, timeoutMs: 60_000, maxResponseBytes: 1 << 30 });
    if (r.status !== 200) return { series: [], error: `HTTP ${r.status}: ${r.body.toString('utf8', 0, 300).trim()}` };
    return { series: parseFederationText(r.body.toString('utf8')) };
  } catch (e) {
    return { series: [], error: (e as Error).message };
  }
}
