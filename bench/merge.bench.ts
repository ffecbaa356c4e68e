/**
 * The gateway's merge of shard answers (src/query/merge.ts) for one remote read of 50k series × 21 samples (5
 * minutes at 15 s): disjoint shards (nothing to merge: the common case without replicas), two replicas of every
 * series (scraped at other phases: the penalty merge), and every series in transfer (two copies of the same scrapes,
 * the old one ending with a staleness marker: stitched). Then the algorithms alone on copies decoded beforehand:
 * Thanos's penalty algorithm (the interval unknown: no estimate, no gap rule, as kvass merged every copy before)
 * against kvass's replica merge and transfer stitch on the same copies.
 */
import { dedupSamples } from '../src/query/dedup.js';
import { mergeAnswers } from '../src/query/merge.js';
import { mergeCopies } from '../src/query/copies.js';
import { encodeQueryResult, scanReadResponse, type Samples, type SeriesTable } from '../src/query/remote/series-wire.js';

const SERIES = 50_000;
const STEP = 15_000;
const SAMPLES = 21;
const T0 = 1_700_000_000_000;

function samples(first: number, count: number, phase: number, staleAtEnd = false): Samples {
  const s: Samples = { t: [], v: [] };
  for (let i = 0; i < count; i++) {
    s.t.push(T0 + (first + i) * STEP + phase);
    s.v.push(first + i);
  }
  if (staleAtEnd) {
    s.stale = s.t.map(() => false);
    s.t.push(T0 + (first + count) * STEP + phase);
    s.v.push(Number.NaN);
    s.stale.push(true);
  }
  return s;
}

const labels = (i: number, replica?: string): Array<[string, string]> => [
  ['__name__', 'demo_metric'], ['instance', `10.0.${i >> 8}.${i & 255}:9100`], ['job', 'demo'], ...(replica === undefined ? [] : [['replica', replica] as [string, string]]),
];

function table(series: Array<{ labels: Array<[string, string]>; samples: Samples }>): SeriesTable {
  return scanReadResponse(encodeQueryResult(series), ['replica'])[0]!;
}

function median(f: () => void, runs = 5): number {
  f();
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    f();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return ms[ms.length >> 1]!;
}

export function run(only?: string): Array<Record<string, string | number>> {
  const ids = Array.from({ length: SERIES }, (_, i) => i);
  const disjoint = [0, 1, 2].map((k) => table(ids.filter((i) => i % 3 === k).map((i) => ({ labels: labels(i), samples: samples(0, SAMPLES, 0) }))));
  const replicas = [table(ids.map((i) => ({ labels: labels(i, '0'), samples: samples(0, SAMPLES, 0) }))), table(ids.map((i) => ({ labels: labels(i, '1'), samples: samples(0, SAMPLES, 6_100) })))];
  const transfer = [table(ids.map((i) => ({ labels: labels(i), samples: samples(0, 12, 3, true) }))), table(ids.map((i) => ({ labels: labels(i), samples: samples(10, 11, 0) })))];
  const opts = { counter: false, fallbackIntervalMs: 0 };
  const rows: Array<Record<string, string | number>> = [];
  const bench = (what: string, f: () => void) => {
    if (only && !what.startsWith(only)) return;
    const ms = median(f);
    rows.push({ merge: what, 'ms per 50k series': Number(ms.toFixed(1)), 'series/s': Math.round(SERIES / (ms / 1000)) });
  };
  // A whole read: hash join on labels, decoding of the copies, merge.
  bench('read: disjoint shards (no copies)', () => mergeAnswers(disjoint, opts));
  bench('read: 2 replicas', () => mergeAnswers(replicas, opts));
  bench('read: transfer copies', () => mergeAnswers(transfer, opts));
  // The algorithms alone, on copies decoded beforehand.
  const decoded = (ts: SeriesTable[]) => ids.map((i) => ts.map((t) => ({ samples: t.samples(i), replica: t.replicaKey(i) })));
  const rep = decoded(replicas);
  const tra = decoded(transfer);
  bench('algorithm: 2 replicas, Thanos\'s penalty (interval unknown)', () => {
    for (const c of rep) dedupSamples([c[0]!.samples, c[1]!.samples], false, 0);
  });
  bench('algorithm: 2 replicas, kvass (interval, gap rule)', () => {
    for (const c of rep) mergeCopies(c, opts);
  });
  bench('algorithm: transfer copies, kvass stitch', () => {
    for (const c of tra) mergeCopies(c, opts);
  });
  return rows;
}
