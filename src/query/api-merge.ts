/**
 * Three Prometheus API answers that only the shards can give, merged into the `data` that one Prometheus holding
 * every shard's series would answer: the TSDB status (`/api/v1/status/tsdb`), the targets' metadata
 * (`/api/v1/targets/metadata`) and exemplars (`/api/v1/query_exemplars`). The caller fans the call out and hands
 * over each shard's `data`; everything here is pure, and an answer (or a field of one) that does not have
 * Prometheus's shape is skipped rather than thrown on, so that one odd shard does not take the view down.
 *
 * What Prometheus 2.42 does, and so what is reproduced:
 * - TSDB status (web/api/v1 serveTSDBStatus, tsdb/index MemPostings.Stats): the head's figures, and four lists of
 *   at most 10 `{name, value}` kept by a bounded heap over map iterations and sorted by value, descending, with an
 *   unstable sort. Among equal values Prometheus's order (and which of them survive the cut) is therefore random;
 *   here it is the name, ascending (bytewise), so that the view answers the same twice. An empty head reports
 *   minTime = MaxInt64 and maxTime = MinInt64.
 * - Targets' metadata (targetMetadata): scrape pools and their targets come from Go maps and a target's metadata
 *   from another, so Prometheus's order is random; here it is the target's labels, then the metric. `limit` is
 *   checked before each target, not each entry: a target's entries are all included or none are.
 * - Exemplars (CircularExemplarStorage.Select): one entry per series, ordered by series labels; a series'
 *   exemplars oldest first (the storage refuses an exemplar older than the series' newest, and ignores a repeat).
 */
import { compareLabelSets, compareUtf8 } from '../prom/labels.js';

/** One line of a TSDB status list. */
export interface TsdbStat {
  name: string;
  value: number;
}

export interface TsdbStatus {
  headStats: { numSeries: number; numLabelPairs: number; chunkCount: number; minTime: number; maxTime: number };
  seriesCountByMetricName: TsdbStat[];
  labelValueCountByLabelName: TsdbStat[];
  memoryInBytesByLabelName: TsdbStat[];
  seriesCountByLabelValuePair: TsdbStat[];
}

export interface TargetMetadata {
  target: Record<string, string>;
  /** Absent when the call named one metric (Go's omitempty). */
  metric?: string;
  type: string;
  help: string;
  unit: string;
}

export interface Exemplar {
  labels: Record<string, string>;
  value: string;
  timestamp: number;
}

export interface ExemplarSeries {
  seriesLabels: Record<string, string>;
  exemplars: Exemplar[];
}

/**
 * An empty head's minTime and maxTime (Go's MaxInt64 and MinInt64) as JSON.parse reads them: ±2^63. Note that
 * JSON.stringify prints them as ±9223372036854776000, which a Go client cannot decode into an int64.
 */
export const EMPTY_HEAD_MIN_TIME = 2 ** 63;
export const EMPTY_HEAD_MAX_TIME = -(2 ** 63);

/** How many lines Prometheus 2.42 puts in each TSDB status list (it has no `limit` parameter). */
export const TSDB_STATUS_LIMIT = 10;

/** Go's string order (the ground floor's compareUtf8, under this module's name for it). */
export const compareBytewise = compareUtf8;

/** A label set as Prometheus holds it: pairs sorted by name. */
type LabelPairs = Array<[string, string]>;

/** A JSON label set (`{"name": "value"}`) as sorted pairs, or undefined when it is not one. */
function labelPairs(v: unknown): LabelPairs | undefined {
  if (!isRecord(v)) return undefined;
  const pairs: LabelPairs = [];
  for (const [name, value] of Object.entries(v)) {
    if (typeof value !== 'string') return undefined;
    pairs.push([name, value]);
  }
  return pairs.sort((x, y) => compareBytewise(x[0], y[0]));
}

const compareLabelPairs = compareLabelSets;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

// ---------------------------------------------------------------------------------------------------------------
// TSDB status

/** A TSDB status list, or undefined when it is missing or any line of it is not `{name: string, value: count}`. */
function statList(v: unknown): TsdbStat[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: TsdbStat[] = [];
  for (const e of v) {
    if (!isRecord(e) || typeof e.name !== 'string' || !isCount(e.value)) return undefined;
    out.push({ name: e.name, value: e.value });
  }
  return out;
}

type ListField = 'seriesCountByMetricName' | 'labelValueCountByLabelName' | 'memoryInBytesByLabelName' | 'seriesCountByLabelValuePair';

/** Each usable answer's list of one field (an answer whose field is malformed gives none). */
function listsOf(answers: readonly unknown[], field: ListField): TsdbStat[][] {
  const lists: TsdbStat[][] = [];
  for (const a of answers) {
    if (!isRecord(a)) continue;
    const list = statList(a[field]);
    if (list) lists.push(list);
  }
  return lists;
}

/** The `limit` largest, by value descending then name ascending (Prometheus leaves ties in random order). */
function top(values: ReadonlyMap<string, number>, limit: number): TsdbStat[] {
  return [...values]
    .map(([name, value]) => ({ name, value }))
    .sort((x, y) => y.value - x.value || compareBytewise(x.name, y.name))
    .slice(0, limit);
}

function sumByName(lists: readonly TsdbStat[][]): Map<string, number> {
  const sum = new Map<string, number>();
  for (const list of lists) for (const { name, value } of list) sum.set(name, (sum.get(name) ?? 0) + value);
  return sum;
}

/**
 * Whether a shard's list names every label it has: Prometheus cuts at 10 (later versions at their `limit`), so a
 * shorter list is whole. Conservative when the shards were asked for more than 10.
 */
function isWhole(list: readonly TsdbStat[], limit: number): boolean {
  return list.length < Math.min(TSDB_STATUS_LIMIT, limit);
}

/**
 * The TSDB status of one Prometheus holding every shard's head, from each shard's answer. Give one answer per
 * shard, a single replica of each: the series of two replicas would be counted twice.
 *
 * - headStats: numSeries and chunkCount summed (the shards' series are disjoint); minTime the least and maxTime the
 *   greatest over the heads that are not empty (an empty head says minTime > maxTime); all heads empty: the
 *   empty-head values EMPTY_HEAD_MIN_TIME and EMPTY_HEAD_MAX_TIME.
 * - numLabelPairs (distinct label name/value pairs) is summed, less what the exact label value counts show was
 *   counted twice: for each name of `exact.labelValueCounts` whose count is known on every shard (it is in the
 *   shard's list, or the list is whole and so the shard lacks the name), the sum of the shards' counts less the
 *   exact count. Exact when every label name whose values recur on several shards (job, __name__, …) is so known;
 *   otherwise an upper bound.
 * - seriesCountByMetricName and seriesCountByLabelValuePair: summed per name, then the top `limit`. Each shard
 *   lists only its own top 10, so a name that is below the cut on some shard gets less than its total there, and
 *   one that is below the cut on every shard is missing: exact when the shards' lists are whole, or when the
 *   counts are far enough apart, as they usually are (a metric's series spread over every shard alike).
 * - labelValueCountByLabelName: distinct values per name cannot be summed (job=x is on every shard). The caller
 *   should count them (label values calls for labelNamesToCount(answers)) and pass `exact.labelValueCounts`,
 *   which win; a name without one gets the greatest of the shards' counts, a lower bound.
 * - memoryInBytesByLabelName (the bytes of a name's distinct values): summed, an approximation from above, since a
 *   value held by several shards is counted on each.
 *
 * `limit`: lines per list (Prometheus 2.42: always 10); a positive integer.
 */
export function mergeTsdbStatus(answers: readonly unknown[], limit = TSDB_STATUS_LIMIT, exact: { labelValueCounts?: Readonly<Record<string, number>> } = {}): TsdbStatus {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, not ${limit}`);
  const heads = answers.filter(isRecord).map((a) => a.headStats).filter(isRecord);
  let numSeries = 0;
  let chunkCount = 0;
  let numLabelPairs = 0;
  let minTime = EMPTY_HEAD_MIN_TIME;
  let maxTime = EMPTY_HEAD_MAX_TIME;
  for (const h of heads) {
    if (isCount(h.numSeries)) numSeries += h.numSeries;
    if (isCount(h.chunkCount)) chunkCount += h.chunkCount;
    if (isCount(h.numLabelPairs)) numLabelPairs += h.numLabelPairs;
    if (isInt(h.minTime) && isInt(h.maxTime) && h.minTime <= h.maxTime) {
      minTime = Math.min(minTime, h.minTime);
      maxTime = Math.max(maxTime, h.maxTime);
    }
  }

  const valueCounts = listsOf(answers, 'labelValueCountByLabelName');
  const exactCounts = new Map<string, number>();
  for (const [name, n] of Object.entries(exact.labelValueCounts ?? {})) if (isCount(n)) exactCounts.set(name, n);
  const counts = new Map<string, number>();
  for (const list of valueCounts) for (const { name, value } of list) counts.set(name, Math.max(counts.get(name) ?? 0, value));
  for (const [name, n] of exactCounts) counts.set(name, n);

  // The shards' pairs of a name counted exactly, less its distinct values, were counted twice. Corrected only when
  // every answer gave both its pair count and its list (else the sum and the lists cover different shards).
  const usable = answers.filter(isRecord);
  if (usable.every((a) => isRecord(a.headStats) && isCount(a.headStats.numLabelPairs)) && valueCounts.length === usable.length) {
    for (const [name, n] of exactCounts) {
      let sum = 0;
      let known = true;
      for (const list of valueCounts) {
        const line = list.find((l) => l.name === name);
        if (line) sum += line.value;
        else if (!isWhole(list, limit)) known = false;
      }
      if (known && sum >= n) numLabelPairs -= sum - n;
    }
  }

  return {
    headStats: { numSeries, numLabelPairs, chunkCount, minTime, maxTime },
    seriesCountByMetricName: top(sumByName(listsOf(answers, 'seriesCountByMetricName')), limit),
    labelValueCountByLabelName: top(counts, limit),
    memoryInBytesByLabelName: top(sumByName(listsOf(answers, 'memoryInBytesByLabelName')), limit),
    seriesCountByLabelValuePair: top(sumByName(listsOf(answers, 'seriesCountByLabelValuePair')), limit),
  };
}

/**
 * The label names whose distinct values the caller should count (one label values call each) and pass to
 * mergeTsdbStatus as `exact.labelValueCounts`: every name in any shard's labelValueCountByLabelName, sorted.
 * Takes the shards' answers (or a single answer). A name in no shard's top 10 is not asked for: its total could
 * still rank in the top 10 (e.g. 6 distinct values on each of 3 shards, each of which has 10 names with 7 shared
 * values), but counting every name of every shard would cost a call per label name.
 */
export function labelNamesToCount(answers: unknown): string[] {
  const names = new Set<string>();
  for (const list of listsOf(Array.isArray(answers) ? answers : [answers], 'labelValueCountByLabelName')) for (const { name } of list) names.add(name);
  return [...names].sort(compareBytewise);
}

// ---------------------------------------------------------------------------------------------------------------
// Targets' metadata

interface MetadataLine {
  entry: TargetMetadata;
  target: LabelPairs;
  /** Identifies the target. */
  targetKey: string;
  key: string;
}

function metadataLine(e: unknown): MetadataLine | undefined {
  if (!isRecord(e)) return undefined;
  const target = labelPairs(e.target);
  if (!target) return undefined;
  if (e.metric !== undefined && typeof e.metric !== 'string') return undefined;
  for (const f of ['type', 'help', 'unit'] as const) if (typeof e[f] !== 'string') return undefined;
  const targetKey = JSON.stringify(target);
  return { entry: e as unknown as TargetMetadata, target, targetKey, key: JSON.stringify([targetKey, e.metric ?? '', e.type, e.help, e.unit]) };
}

/**
 * The targets' metadata of one Prometheus scraping every shard's targets: all the shards' entries, an entry that
 * several shards give (replicas scrape the same targets) once, ordered by target labels (Prometheus's label-set
 * order), then metric, type, help and unit (bytewise) — Prometheus's own order is random. `limit` as Prometheus
 * applies it: before each target, stop when `limit` entries are taken already, so the last target taken brings all
 * its entries (the answer may exceed `limit`) and 0 gives none; undefined or negative: no limit. The shards may
 * each have applied `limit` already: the whole targets taken here are then still a subset Prometheus could give.
 * An answer that is not a list, or an entry without Prometheus's shape, is skipped.
 */
export function mergeTargetMetadata(answers: readonly unknown[], limit?: number): TargetMetadata[] {
  const seen = new Set<string>();
  const lines: MetadataLine[] = [];
  for (const a of answers) {
    if (!Array.isArray(a)) continue;
    for (const e of a) {
      const line = metadataLine(e);
      if (!line || seen.has(line.key)) continue;
      seen.add(line.key);
      lines.push(line);
    }
  }
  lines.sort((x, y) => compareLabelPairs(x.target, y.target) || compareEntries(x.entry, y.entry));
  if (limit === undefined || limit < 0) return lines.map((l) => l.entry);
  const out: TargetMetadata[] = [];
  for (let i = 0; i < lines.length; i++) {
    const startsTarget = i === 0 || lines[i - 1]!.targetKey !== lines[i]!.targetKey;
    if (startsTarget && out.length >= limit) break;
    out.push(lines[i]!.entry);
  }
  return out;
}

function compareEntries(x: TargetMetadata, y: TargetMetadata): number {
  return compareBytewise(x.metric ?? '', y.metric ?? '') || compareBytewise(x.type, y.type) || compareBytewise(x.help, y.help) || compareBytewise(x.unit, y.unit);
}

// ---------------------------------------------------------------------------------------------------------------
// Exemplars

function exemplarOf(e: unknown): { exemplar: Exemplar; labels: LabelPairs } | undefined {
  if (!isRecord(e) || !isInt(e.timestamp) || (typeof e.value !== 'string' && typeof e.value !== 'number')) return undefined;
  const labels = labelPairs(e.labels);
  return labels && { exemplar: e as unknown as Exemplar, labels };
}

/**
 * The exemplars one Prometheus holding every shard's series would answer: one entry per series (the same series
 * from several shards or replicas merged into one), ordered by series labels as Prometheus orders them; its
 * exemplars without repeats (same labels, value and timestamp) and oldest first (ties: by value, then labels, so
 * that the order does not depend on the shards'). A series left with no exemplar is dropped, as Prometheus drops
 * it. An answer that is not a list (Prometheus 2.42 answers a query without a selector with an empty 204, no
 * JSON at all), a malformed series or exemplar is skipped.
 */
export function mergeExemplars(answers: readonly unknown[]): ExemplarSeries[] {
  const series = new Map<string, { labels: LabelPairs; seriesLabels: Record<string, string>; seen: Set<string>; exemplars: Array<{ exemplar: Exemplar; labels: LabelPairs }> }>();
  for (const a of answers) {
    if (!Array.isArray(a)) continue;
    for (const s of a) {
      if (!isRecord(s) || !Array.isArray(s.exemplars)) continue;
      const labels = labelPairs(s.seriesLabels);
      if (!labels) continue;
      const key = JSON.stringify(labels);
      let group = series.get(key);
      if (!group) series.set(key, (group = { labels, seriesLabels: s.seriesLabels as Record<string, string>, seen: new Set(), exemplars: [] }));
      for (const e of s.exemplars) {
        const x = exemplarOf(e);
        if (!x) continue;
        const id = JSON.stringify([x.labels, String(x.exemplar.value), x.exemplar.timestamp]);
        if (group.seen.has(id)) continue;
        group.seen.add(id);
        group.exemplars.push(x);
      }
    }
  }
  return [...series.values()]
    .filter((g) => g.exemplars.length > 0)
    .sort((x, y) => compareLabelPairs(x.labels, y.labels))
    .map((g) => ({
      seriesLabels: g.seriesLabels,
      exemplars: g.exemplars
        .sort((x, y) => x.exemplar.timestamp - y.exemplar.timestamp || compareBytewise(String(x.exemplar.value), String(y.exemplar.value)) || compareLabelPairs(x.labels, y.labels))
        .map((x) => x.exemplar),
    }));
}
