/**
 * Copies of one series in the gateway's merge, and the rule for what kind they are.
 *
 * Copies are series with the same labels once the replica labels (--query.replica-label) are left out. Copies that
 * also agree on their replica labels (none, or the same values) are the same scrapes of the same target: a target
 * scraped by two shards of one replica while it moves, or a received series written to several ingestors by the
 * replication factor. They hold the same samples and are stitched exactly (stitch.ts). Copies that differ in a
 * replica label are replicas, each scraping at its own phase: each replica's copies are stitched first, then the
 * replicas are merged with the penalty algorithm (dedup.ts).
 */
import type { Samples } from './remote/samples.js';
import { dedupSamples } from './dedup.js';
import { scrapeInterval } from './slots.js';
import { stitchCopies } from './stitch.js';

export interface SeriesCopy {
  samples: Samples;
  /** The copy's replica labels as one string (series-wire.ts replicaKey): '' when it carries none. */
  replica: string;
}

/** The rule: copies grouped by their replica labels, groups in the order of their first copy. */
export function replicaGroups<T extends { replica: string }>(copies: readonly T[]): T[][] {
  // A handful of copies per series: a scan beats a Map.
  const groups: T[][] = [];
  for (const c of copies) {
    const g = groups.find((x) => x[0]!.replica === c.replica);
    if (g) g.push(c);
    else groups.push([c]);
  }
  return groups;
}

export interface MergeCopiesOptions {
  /** The query reads counters (dedup.ts's counter adjustment between replicas). */
  counter: boolean;
  /** Scrape interval assumed when no copy has two samples to tell it; 0: unknown. */
  fallbackIntervalMs: number;
  /** The end of the read (ms) the copies come from; unset: unknown (slots.ts goesOnPastEnd). */
  endMs?: number;
}

/** One series from its copies: each replica's copies stitched, then the replicas penalty-merged. */
export function mergeCopies(copies: readonly SeriesCopy[], opts: MergeCopiesOptions): Samples {
  const interval = scrapeInterval(copies.map((c) => c.samples)) || opts.fallbackIntervalMs;
  const groups = replicaGroups(copies);
  const endMs = opts.endMs ?? Number.POSITIVE_INFINITY;
  const replicas = groups.length === copies.length ? copies.map((c) => c.samples) : groups.map((g) => stitchCopies(g.map((c) => c.samples), interval, endMs));
  return dedupSamples(replicas, opts.counter, interval, endMs);
}
