/**
 * Merging the answers of several shards to one remote-read query: series are matched on their labels without the
 * replica labels, copies of a series (replicas, or a target scraped by two shards while it moves) are merged into
 * one (copies.ts), and replica labels are left out of the output.
 *
 * Matching is a hash join on the label bytes (series-wire.ts keys). The output is then sorted as Prometheus
 * sorts series (shards answer in their TSDB's series order): the Prometheus that reads it sorts again, and its
 * sort is linear on sorted input but costly otherwise (it copies both label sets at every comparison).
 */
import { lastSample, type OutSeries, type SeriesTable, type SortScratch } from './remote/series-wire.js';
import { mergeCopies, type MergeCopiesOptions } from './copies.js';

export interface MergeStats {
  /** Series in the output. */
  series: number;
  /** Output series that were made from more than one copy. */
  deduplicated: number;
  /** Series that carried native histograms, which are not passed on. */
  histograms: number;
}

const sameBytes = (a: Buffer, a0: number, a1: number, b: Buffer, b0: number, b1: number): boolean => a1 - a0 === b1 - b0 && a.compare(b, b0, b1, a0, a1) === 0;

export interface MergeOptions extends MergeCopiesOptions {
  /** Keep only each series' last sample (the query needs no more; see gateway.ts). */
  lastOnly?: boolean;
}

/** Merges one query's answers (one table per shard). */
export function mergeAnswers(tables: readonly SeriesTable[], opts: MergeOptions, stats?: MergeStats): OutSeries[] {
  const out: OutSeries[] = [];
  // Output index of each key; extra copies by output index.
  const seen = new Map<string, number>();
  const copies = new Map<number, Array<{ table: SeriesTable; i: number }>>();
  const single = tables.length === 1;
  for (const table of tables) {
    for (let i = 0; i < table.n; i++) {
      if (stats && table.hasHistograms(i)) stats.histograms++;
      if (single) {
        out.push({ table, i });
        continue;
      }
      const key = table.key(i);
      const at = seen.get(key);
      if (at === undefined) {
        seen.set(key, out.length);
        out.push({ table, i });
      } else {
        const list = copies.get(at) ?? copies.set(at, [{ table: out[at]!.table, i: out[at]!.i }]).get(at)!;
        list.push({ table, i });
      }
    }
  }
  for (const [at, list] of copies) {
    // Byte-identical copies (the same samples) need no merging.
    const first = list[0]!;
    const [f0, f1] = first.table.samplesRange(first.i);
    const distinct = list.filter((c, k) => {
      if (k === 0) return true;
      const [c0, c1] = c.table.samplesRange(c.i);
      return !sameBytes(first.table.buf(first.i), f0, f1, c.table.buf(c.i), c0, c1);
    });
    if (distinct.length > 1) {
      out[at]!.samples = mergeCopies(distinct.map((c) => ({ samples: c.table.samples(c.i), replica: c.table.replicaKey(c.i) })), opts);
      if (stats) stats.deduplicated++;
    }
  }
  if (opts.lastOnly) {
    for (const o of out) {
      if (o.samples) o.samples = lastSample(o.samples);
      else o.range = o.table.lastSampleRange(o.i);
    }
  }
  if (stats) stats.series += out.length;
  return out;
}

/** Sorts merged series into Prometheus's label-set order (series-wire.ts sortKey). */
export function sortSeries(out: OutSeries[]): OutSeries[] {
  const scratch: SortScratch = { buf: Buffer.allocUnsafe(4096) };
  const keyed = out.map((o) => ({ o, k: o.table.sortKey(o.i, scratch) }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map((x) => x.o);
}
