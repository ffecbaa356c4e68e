/**
 * Reading a remote store (another kvass, a Prometheus, an ingestor) whose series carry external labels: a query is
 * fitted to each store before it is sent, and the store's answer is fitted back to the query.
 *
 * - Pruning, as Thanos prunes stores: a query with a matcher that a store's external label value does not satisfy
 *   cannot match any of its series and is not sent there.
 * - Matchers on a store's external labels are rewritten before sending (fitMatcher): a Prometheus adds its external
 *   labels only on the way out, so its TSDB would not match `cluster=~"a|b"` (its read handler strips only equality
 *   matchers). A store may still answer more than was asked, so every answer of a store with external labels is
 *   filtered again with the query's own matchers once the external labels are on it: what leaves here always
 *   satisfies every matcher of the query (tenant isolation rests on this, not on the store).
 * - External labels are added to the series that lack them (the series' own value wins, as in Prometheus's read
 *   handler), so a store that does not know the labels the stores file gives it still answers with them.
 */
import { Re2Regex } from '../prom/regex.js';
import { escapeRegex } from './promql.js';
import { remoteProto, type LabelMatcher, type ReadQuery } from './remote/read-proto.js';

const ReadResponseType = remoteProto.lookupType('prometheus.ReadResponse');

/** Whether a label value (the empty string for a label the series lacks) satisfies a matcher, as Prometheus decides. */
export function matcherMatches(m: LabelMatcher, value: string): boolean {
  switch (m.type) {
    case 'EQ':
      return value === m.value;
    case 'NEQ':
      return value !== m.value;
    case 'RE':
      return regex(m.value).test(value);
    case 'NRE':
      return !regex(m.value).test(value);
  }
}

/** Compiled matchers: an answer is filtered series by series with the same few patterns. */
const compiled = new Map<string, Re2Regex>();
function regex(pattern: string): Re2Regex {
  let re = compiled.get(pattern);
  if (!re) {
    if (compiled.size >= 1000) compiled.clear();
    re = Re2Regex.compile(pattern);
    compiled.set(pattern, re);
  }
  return re;
}

/** Every series has a name: the matcher that selects all of a store's series (TSDB selects nothing with no matcher). */
const ALL_SERIES: LabelMatcher = { type: 'RE', name: '__name__', value: '.+' };

/**
 * A matcher on one of a store's external labels, as the store's TSDB must see it: its series either lack the label
 * (they take the external value, which `m` accepts, or the query is pruned) or carry a value of their own, which
 * `m` must accept. So "absent or m": `a` becomes `=~"a|"`; a regex `r` becomes `=~"(?:r)|"`; `!=` and `!~` already
 * accept an absent label unless their value matches "", in which case the matcher is dropped (the answer is
 * filtered again). `undefined`: prune (the external value fails `m`).
 */
export function fitMatcher(m: LabelMatcher, externalValue: string): LabelMatcher | 'drop' | undefined {
  if (!matcherMatches(m, externalValue)) return undefined;
  switch (m.type) {
    case 'EQ':
      return { type: 'RE', name: m.name, value: `${escapeRegex(m.value)}|` };
    case 'RE':
      return { type: 'RE', name: m.name, value: `(?:${m.value})|` };
    case 'NEQ':
    case 'NRE':
      return matcherMatches(m, '') ? m : 'drop';
  }
}

/** The queries to send to one store: `sent[k]` answers the request's query `index[k]`; the others are pruned. */
export interface StoreQueries {
  sent: ReadQuery[];
  index: number[];
  /** Whether the answer must be refitted: filtered again (a matcher was dropped), labelled, or re-indexed. */
  refit: boolean;
}

/** Fits a list of matchers to a store: the matchers to send, or undefined when no series of it can match. */
export function fitMatchers(matchers: readonly LabelMatcher[], externalLabels: Readonly<Record<string, string>>): { matchers: LabelMatcher[]; dropped: boolean } | undefined {
  const kept: LabelMatcher[] = [];
  let dropped = false;
  for (const m of matchers) {
    const ext = externalLabels[m.name];
    if (ext === undefined) {
      kept.push(m);
      continue;
    }
    const fitted = fitMatcher(m, ext);
    if (fitted === undefined) return undefined;
    if (fitted === 'drop') dropped = true;
    else kept.push(fitted);
  }
  // A selector whose matchers all accept "" is refused by Prometheus's API (and selects nothing in its TSDB).
  if (kept.every((m) => matcherMatches(m, ''))) kept.push(ALL_SERIES);
  return { matchers: kept, dropped };
}

/** Fits a request's queries to a store with these external labels. */
export function fitQueries(queries: readonly ReadQuery[], externalLabels: Readonly<Record<string, string>>): StoreQueries {
  const sent: ReadQuery[] = [];
  const index: number[] = [];
  let dropped = false;
  queries.forEach((q, qi) => {
    const fitted = fitMatchers(q.matchers, externalLabels);
    if (!fitted) return;
    dropped ||= fitted.dropped;
    sent.push({ ...q, matchers: fitted.matchers });
    index.push(qi);
  });
  const hasLabels = Object.keys(externalLabels).length > 0;
  // Filtering again costs a decode: only when a matcher was dropped (a narrower answer is exact already), when
  // labels are added, or when pruned queries leave holes in the results. A store may still answer more than asked
  // (e.g. an older kvass that ignores a matcher): a store with external labels is always filtered.
  return { sent, index, refit: dropped || hasLabels || sent.length !== queries.length };
}

interface PbLabel { name: string; value: string }
interface PbSeries { labels?: PbLabel[]; samples?: unknown[] }
interface PbResponse { results?: Array<{ timeseries?: PbSeries[] }> }

/**
 * A store's (decompressed) ReadResponse to `fit.sent`, as the answer to the request's queries: pruned queries get
 * no series, external labels are added where missing, and only series that satisfy every matcher of
 * their original query are kept.
 */
export function refitResponse(raw: Uint8Array, fit: StoreQueries, queries: readonly ReadQuery[], externalLabels: Readonly<Record<string, string>>): Uint8Array {
  const decoded = ReadResponseType.toObject(ReadResponseType.decode(raw), { longs: Number, defaults: true, arrays: true }) as PbResponse;
  const got = decoded.results ?? [];
  if (got.length !== fit.sent.length) throw new Error(`answered ${got.length} results to ${fit.sent.length} queries`);
  const out: PbResponse = { results: queries.map(() => ({ timeseries: [] })) };
  fit.index.forEach((qi, k) => {
    const matchers = queries[qi]!.matchers;
    const kept: PbSeries[] = [];
    for (const s of got[k]!.timeseries ?? []) {
      let labels = s.labels ?? [];
      labels = withLabels(labels, externalLabels);
      const value = (name: string): string => labels.find((l) => l.name === name)?.value ?? '';
      if (matchers.every((m) => matcherMatches(m, value(m.name)))) kept.push({ ...s, labels });
    }
    out.results![qi] = { timeseries: kept };
  });
  return ReadResponseType.encode(ReadResponseType.fromObject(out)).finish();
}

/** The series' labels with the external labels it lacks, sorted by name as Prometheus keeps them. */
function withLabels(labels: PbLabel[], ext: Readonly<Record<string, string>>): PbLabel[] {
  const have = new Set(labels.map((l) => l.name));
  const add = Object.entries(ext).filter(([n]) => !have.has(n)).map(([name, value]) => ({ name, value }));
  if (add.length === 0) return labels;
  return [...labels, ...add].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
}
