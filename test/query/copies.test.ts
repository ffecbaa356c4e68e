/** The rule for which copies are transfer copies and which are replicas, and the merge built on it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeCopies, replicaGroups } from '../../src/query/copies.js';
import { mergeAnswers } from '../../src/query/merge.js';
import { encodeQueryResult, scanReadResponse, type Samples } from '../../src/query/remote/series-wire.js';

const at = (ts: number[], stale: number[] = []): Samples => {
  const out: Samples = { t: ts.map((t) => Math.round(t * 1000)), v: ts.map((t) => t) };
  if (stale.length > 0) out.stale = ts.map((t) => stale.includes(t));
  return out;
};
const secs = (s: Samples) => s.t.map((t) => t / 1000);
const range = (from: number, to: number, step: number) => Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);

test('the rule: copies with the same replica labels are one group (the same scrapes); different replica labels, different groups', () => {
  const c = (replica: string, id: number) => ({ replica, id });
  assert.deepEqual(replicaGroups([c('', 0), c('', 1)]).map((g) => g.map((x) => x.id)), [[0, 1]]);
  assert.deepEqual(replicaGroups([c('r0', 0), c('r1', 1), c('r0', 2)]).map((g) => g.map((x) => x.id)), [[0, 2], [1]]);
  assert.deepEqual(replicaGroups([c('r1', 0), c('r0', 1)]).map((g) => g.map((x) => x.id)), [[0], [1]]);
  assert.deepEqual(replicaGroups([]), []);
});

test('a move in each of two replicas: each replica stitched, then the replicas merged; nothing lost, nothing doubled', () => {
  // Replica 0 at phase 0, replica 1 at phase 0.4 s; in each, the target moves from one shard to another around 30 s.
  const copies = [
    { replica: 'r0', samples: at([...range(0, 30, 1), 31], [31]) },
    { replica: 'r0', samples: at(range(28, 60, 1)) },
    { replica: 'r1', samples: at([...range(0.4, 30.4, 1), 31.4], [31.4]) },
    { replica: 'r1', samples: at(range(28.4, 60.4, 1)) },
  ];
  const out = mergeCopies(copies, { counter: false, fallbackIntervalMs: 0 });
  assert.deepEqual(secs(out), range(0, 60, 1));
  assert.equal(out.stale, undefined);
});

test('replica 0 stops for 6 s in the middle of a move: replica 1 fills it, the largest spacing is one interval and a half at most', () => {
  const copies = [
    { replica: 'r0', samples: at(range(0, 20, 1)) },
    { replica: 'r0', samples: at(range(27, 60, 1)) }, // replica 0's new shard, after its outage
    { replica: 'r1', samples: at(range(0.7, 60.7, 1)) },
  ];
  const out = secs(mergeCopies(copies, { counter: false, fallbackIntervalMs: 0 }));
  const gaps = out.slice(1).map((t, i) => t - out[i]!);
  assert.ok(Math.max(...gaps) <= 1.5, `${out}`);
  assert.ok(Math.min(...gaps) > 0.5, `${out}`);
  assert.equal(out[0], 0);
  assert.ok(out.at(-1)! >= 60);
});

test('too few samples to tell the interval: the fallback interval says whether two samples are one scrape', () => {
  const copies = [{ replica: '', samples: at([10]) }, { replica: '', samples: at([12]) }];
  assert.deepEqual(secs(mergeCopies(copies, { counter: false, fallbackIntervalMs: 15_000 })), [10]);
  assert.deepEqual(secs(mergeCopies(copies, { counter: false, fallbackIntervalMs: 2000 })), [10, 12]);
  assert.deepEqual(secs(mergeCopies(copies, { counter: false, fallbackIntervalMs: 0 })), [10, 12]);
});

test('mergeAnswers: shards of one replica are stitched, replicas deduplicated (the replica label read from each series)', () => {
  const table = (series: Array<[Array<[string, string]>, Samples]>) =>
    scanReadResponse(encodeQueryResult(series.map(([labels, samples]) => ({ labels, samples }))), ['replica'])[0]!;
  // No replica label: shard-0 and shard-2 of one replica hold the moved target's `up` with two slots of overlap.
  const shard0 = table([[[['__name__', 'up'], ['instance', 'a']], at([0, 5, 10, 15, 20], [20])]]);
  const shard2 = table([[[['__name__', 'up'], ['instance', 'a']], at([10.001, 15.002, 20.001, 25, 30])]]);
  const [one] = mergeAnswers([shard0, shard2], { counter: false, fallbackIntervalMs: 0 });
  assert.deepEqual(secs(one!.samples!), [0, 5, 10, 15, 20.001, 25, 30]);
  assert.equal(one!.samples!.stale, undefined);
  // With replica labels: copies of replica 0 are stitched; replica 1 fills what replica 0 lacks.
  const r0a = table([[[['__name__', 'up'], ['instance', 'a'], ['replica', '0']], at([0, 5, 10])]]);
  const r0b = table([[[['__name__', 'up'], ['instance', 'a'], ['replica', '0']], at([30, 35])]]);
  const r1 = table([[[['__name__', 'up'], ['instance', 'a'], ['replica', '1']], at([2, 7, 12, 17, 22, 27, 32, 37])]]);
  const [merged] = mergeAnswers([r0a, r0b, r1], { counter: false, fallbackIntervalMs: 0 });
  assert.deepEqual(secs(merged!.samples!), [0, 5, 10, 17, 22, 27, 32, 37]);
  assert.deepEqual(merged!.table.labels(merged!.i), [['__name__', 'up'], ['instance', 'a']]);
});
