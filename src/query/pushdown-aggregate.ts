/**
 * Aggregation over a complete vector at one step, as Prometheus 2.42's engine.go `aggregation` computes it: groups
 * in order of appearance, the incremental mean of avg, Welford's stddev/stdvar, topk/bottomk through Go's
 * container/heap and unstable sort.Sort (go-sort.ts) so that ties and NaN come out as there, quantile.go's
 * quantile. Used both for aggregate nodes and to merge the shards' topk/bottomk candidates.
 */
import { isValidLabelName, type Labels } from '../prom/labels.js';
import { goSort, swapIn } from './go-sort.js';
import { formatFloatE, formatFloatF } from './pushdown-gomath.js';
import type { AggregateOp, Grouping } from './pushdown-types.js';
import { EvalError, keepLabels, labelsKey, METRIC_NAME, withoutLabels, type EvalSample } from './pushdown-vector.js';

const MAX_INT64_FLOAT = 9223372036854774784;
const MIN_INT64_FLOAT = -9223372036854775808;

/** Go's %v of a float64: strconv's shortest 'g', so an exponent (two digits at least) below 1e-4 and from 1e6. */
function goFormatV(v: number): string {
  if (!Number.isFinite(v) || v === 0) return formatFloatF(v);
  const e = Number(v.toExponential().split('e')[1]); // the decimal exponent of the shortest digits
  return e >= -4 && e < 6 ? formatFloatF(v) : formatFloatE(v);
}

/** topk/bottomk's k: Prometheus truncates the float and rejects what overflows int64. */
export function aggregationK(param: number | string | undefined): number {
  const f = Number(param);
  if (!(f <= MAX_INT64_FLOAT && f >= MIN_INT64_FLOAT)) throw new EvalError(`Scalar value ${goFormatV(f)} overflows int64`);
  return Math.trunc(f);
}

/** The group of a series: its key and the labels the aggregation's output has. */
export function groupOf(metric: Labels, grouping: Grouping): { key: string; labels: Labels } {
  const labels = grouping.without ? withoutLabels(metric, [...grouping.labels, METRIC_NAME]) : keepLabels(metric, grouping.labels);
  return { key: labelsKey(labels), labels };
}

/** A heap of container/heap with the value order of vectorByValueHeap (topk) or its reverse (bottomk). */
class SampleHeap {
  readonly items: EvalSample[] = [];
  constructor(private readonly reverse: boolean) {}

  less(i: number, j: number): boolean {
    const a = this.items[i]!.value;
    const b = this.items[j]!.value;
    if (Number.isNaN(a)) return true;
    return this.reverse ? a > b : a < b;
  }

  private up(j: number): void {
    for (;;) {
      const i = Math.trunc((j - 1) / 2); // Go's integer division: (0-1)/2 is 0
      if (i === j || !this.less(j, i)) break;
      swapIn(this.items, i, j);
      j = i;
    }
  }

  private down(i: number, n: number): void {
    for (;;) {
      const j1 = 2 * i + 1;
      if (j1 >= n) break;
      let j = j1;
      if (j1 + 1 < n && this.less(j1 + 1, j1)) j = j1 + 1;
      if (!this.less(j, i)) break;
      swapIn(this.items, i, j);
      i = j;
    }
  }

  push(s: EvalSample): void {
    this.items.push(s);
    this.up(this.items.length - 1);
  }

  pop(): void {
    const n = this.items.length - 1;
    swapIn(this.items, 0, n);
    this.down(0, n);
    this.items.pop();
  }

  /** sort.Sort(sort.Reverse(heap)): best first. */
  sortedBestFirst(): EvalSample[] {
    if (this.items.length > 1) goSort(this.items.length, { less: (i, j) => this.less(j, i), swap: (i, j) => swapIn(this.items, i, j) });
    return this.items;
  }
}

interface Group {
  labels: Labels;
  value: number;
  mean: number;
  count: number;
  heap?: SampleHeap;
  values?: EvalSample[];
}

/** quantile(q, values) of quantile.go, over the values of a `quantile` aggregation group. */
function quantileOf(q: number, samples: EvalSample[]): number {
  if (samples.length === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const v = [...samples];
  goSort(v.length, { less: (i, j) => Number.isNaN(v[i]!.value) || v[i]!.value < v[j]!.value, swap: (i, j) => swapIn(v, i, j) });
  const n = v.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return v[lower]!.value * (1 - weight) + v[upper]!.value * weight;
}

/** One aggregation over a complete vector at one step, as Prometheus 2.42 computes it (groups in order of appearance). */
export function aggregate(op: AggregateOp, grouping: Grouping, param: number | string | undefined, vec: readonly EvalSample[]): EvalSample[] {
  let k = 0;
  if (op === 'topk' || op === 'bottomk') {
    k = aggregationK(param);
    if (k < 1) return [];
  }
  let valueLabel = '';
  let effective = grouping;
  if (op === 'count_values') {
    valueLabel = String(param);
    if (!isValidLabelName(valueLabel)) throw new EvalError(`invalid label name ${JSON.stringify(valueLabel)}`);
    if (!grouping.without) effective = { without: false, labels: [...grouping.labels, valueLabel] };
  }
  const groups = new Map<string, Group>();
  const ordered: Group[] = [];
  for (const sample of vec) {
    const metric = op === 'count_values' ? { ...sample.metric, [valueLabel]: formatFloatF(sample.value) } : sample.metric;
    const s = { metric, value: sample.value };
    const { key, labels } = groupOf(metric, effective);
    const group = groups.get(key);
    if (group === undefined) {
      const g: Group = { labels, value: s.value, mean: s.value, count: 1 };
      if (op === 'stddev' || op === 'stdvar') g.value = 0;
      else if (op === 'group') g.value = 1;
      else if (op === 'topk' || op === 'bottomk') {
        g.heap = new SampleHeap(op === 'bottomk');
        g.heap.items.push(s);
      } else if (op === 'quantile') g.values = [s];
      groups.set(key, g);
      ordered.push(g);
      continue;
    }
    const v = s.value;
    switch (op) {
      case 'sum':
        group.value += v;
        break;
      case 'avg': {
        group.count++;
        if (!Number.isFinite(group.mean) && !Number.isNaN(group.mean)) {
          if (!Number.isFinite(v) && !Number.isNaN(v) && group.mean > 0 === v > 0) break;
          if (Number.isFinite(v)) break;
        }
        group.mean += v / group.count - group.mean / group.count;
        break;
      }
      case 'max':
        if (group.value < v || Number.isNaN(group.value)) group.value = v;
        break;
      case 'min':
        if (group.value > v || Number.isNaN(group.value)) group.value = v;
        break;
      case 'count':
      case 'count_values':
        group.count++;
        break;
      case 'stddev':
      case 'stdvar': {
        group.count++;
        const delta = v - group.mean;
        group.mean += delta / group.count;
        group.value += delta * (v - group.mean);
        break;
      }
      case 'topk':
      case 'bottomk': {
        const heap = group.heap!;
        const top = heap.items[0]!.value;
        if (heap.items.length < k || (op === 'topk' ? top < v : top > v) || Number.isNaN(top)) {
          if (heap.items.length === k) {
            if (k === 1) {
              heap.items[0] = s;
              break;
            }
            heap.pop();
          }
          heap.push(s);
        }
        break;
      }
      case 'quantile':
        group.values!.push(s);
        break;
      case 'group':
        break;
    }
  }
  const out: EvalSample[] = [];
  for (const g of ordered) {
    switch (op) {
      case 'topk':
      case 'bottomk':
        // A loop, not push(...): k can be large (topk(1e6, …)), and past about 120,000 spread arguments overflow the stack.
        for (const s of g.heap!.sortedBestFirst()) out.push(s);
        continue;
      case 'avg':
        g.value = g.mean;
        break;
      case 'count':
      case 'count_values':
        g.value = g.count;
        break;
      case 'stdvar':
        g.value = g.value / g.count;
        break;
      case 'stddev':
        g.value = Math.sqrt(g.value / g.count);
        break;
      case 'quantile':
        g.value = quantileOf(Number(param), g.values!);
        break;
      default:
        break;
    }
    out.push({ metric: g.labels, value: g.value });
  }
  return out;
}
