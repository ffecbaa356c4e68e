import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applyAssignmentChange } from '../../src/shard/contract.js';
import { SERIES_WINDOW, TargetStatusBook } from '../../src/sidecar/target-status.js';

const spec = (hash: string, state: 'normal' | 'in_transfer' = 'normal') => ({ hash, job: 'j', labels: { __address__: `${hash}:1` }, state });
const ok = (series: number) => ({ ok: true, error: '', series, samples: series, bytes: 10, durationMs: 5, at: new Date(0) });

test('status: series is the maximum of the last successful scrapes; errors do not count', () => {
  const book = new TargetStatusBook();
  book.assign([spec('a')], new Date(0));
  assert.equal(book.get('a')!.health, 'unknown');
  for (const n of [100, 300, 200]) book.record('a', ok(n));
  assert.equal(book.get('a')!.series, 300);
  book.record('a', { ...ok(0), ok: false, error: 'boom' });
  assert.equal(book.get('a')!.health, 'down');
  assert.equal(book.get('a')!.lastError, 'boom');
  assert.equal(book.get('a')!.series, 300);
  // After SERIES_WINDOW smaller scrapes the peak is forgotten.
  for (let i = 0; i < SERIES_WINDOW; i++) book.record('a', ok(50));
  assert.equal(book.get('a')!.series, 50);
  assert.equal(book.get('a')!.scrapesSinceAssigned, 3 + SERIES_WINDOW);
  assert.equal(book.totalSeries(), 50);
});

test('status: a new assignment keeps the history of kept targets and forgets removed ones', () => {
  const book = new TargetStatusBook();
  book.assign([spec('a'), spec('b')], new Date(0));
  book.record('a', ok(10));
  book.record('b', ok(20));
  book.assign([spec('a', 'in_transfer'), spec('c')], new Date(1));
  assert.equal(book.get('a')!.scrapesSinceAssigned, 1);
  assert.equal(book.get('a')!.state, 'in_transfer');
  assert.equal(book.get('b'), undefined);
  assert.equal(book.get('c')!.scrapesSinceAssigned, 0);
  book.record('b', ok(5)); // a late scrape of a removed target is ignored
  assert.equal(book.get('b'), undefined);
});

test('status deltas: only targets whose decided-on fields changed are sent, removals are named, another epoch gets everything', () => {
  const book = new TargetStatusBook('e1');
  book.assign([spec('a'), spec('b'), spec('c')], new Date(0));
  const first = book.since(undefined, 'e1.1');
  assert.equal(first.full, true);
  assert.deepEqual(first.targets.map((t) => t.hash).sort(), ['a', 'b', 'c']);
  assert.equal(first.assignmentVersion, 'e1.1');

  // Nothing happened: nothing is sent, and the version stays.
  const none = book.since(first.version, 'e1.1');
  assert.deepEqual([none.full, none.targets, none.removed, none.version], [false, [], [], first.version]);

  // A first scrape changes health, series and the scrape count: sent. The same figures again only move
  // lastScrape and the count until it passes what the planner asks (2): sent until then, then not.
  book.record('a', ok(10));
  const d1 = book.since(first.version, 'e1.1');
  assert.deepEqual(d1.targets.map((t) => [t.hash, t.health, t.series]), [['a', 'up', 10]]);
  book.record('a', ok(10));
  book.record('a', ok(10));
  const d2 = book.since(d1.version, 'e1.1');
  assert.deepEqual(d2.targets.map((t) => [t.hash, t.scrapesSinceAssigned]), [['a', 3]]);
  for (let i = 0; i < 5; i++) book.record('a', ok(10));
  const quiet = book.since(d2.version, 'e1.1');
  assert.deepEqual(quiet.targets, [], 'more scrapes with the same figures are not a change');
  assert.equal(book.get('a')!.scrapesSinceAssigned, 8, 'the book itself still counts every scrape');

  // Grown, failed, moved into transfer, removed, added.
  book.record('b', ok(5));
  const base = book.since(undefined, 'x').version;
  book.record('b', ok(50));
  book.record('c', { ...ok(0), ok: false, error: 'refused' });
  book.assign([spec('a', 'in_transfer'), spec('b'), spec('d')], new Date(2));
  const d3 = book.since(base, 'e1.2');
  assert.deepEqual(d3.targets.map((t) => t.hash).sort(), ['a', 'b', 'd']);
  assert.deepEqual(d3.removed, ['c']);
  assert.equal(d3.full, false);

  // A version of another process (a restarted sidecar), from the future, or not a version at all: everything.
  for (const v of ['e0.3', 'e1.999', 'nonsense', 'e1.-1']) {
    const all = book.since(v, 'e1.2');
    assert.equal(all.full, true, v);
    assert.deepEqual(all.targets.map((t) => t.hash).sort(), ['a', 'b', 'd'], v);
  }
});

test('status: a change to the assignment (each hash set once) leaves the book as the whole changed assignment would, and names the same changes', () => {
  const hashArb = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
  const specArb = fc.record({ hash: hashArb, state: fc.constantFrom<'normal' | 'in_transfer'>('normal', 'in_transfer'), port: fc.integer({ min: 1, max: 2 }) })
    .map(({ hash, state, port }) => ({ hash, job: 'j', labels: { __address__: `${hash}:${port}` }, state }));
  fc.assert(
    fc.property(fc.uniqueArray(specArb, { selector: (s) => s.hash }), fc.uniqueArray(specArb, { selector: (s) => s.hash, maxLength: 6 }), fc.array(hashArb, { maxLength: 4 }), fc.array(hashArb), (before, set, remove, scraped) => {
      const whole = new TargetStatusBook('e');
      const changed = new TargetStatusBook('e');
      for (const b of [whole, changed]) {
        b.assign(before, new Date(0));
        for (const h of scraped) b.record(h, ok(10));
      }
      const from = whole.since(undefined, 'x').version!;
      whole.assign(applyAssignmentChange(before, { base: 'x', set, remove }), new Date(1));
      changed.change(set, remove, new Date(1));
      const byHash = (sts: Array<{ hash: string }>) => [...sts].sort((x, y) => (x.hash < y.hash ? -1 : 1));
      assert.deepEqual(byHash(changed.all()), byHash(whole.all()));
      // What a coordinator reading from before the change is told: the same statuses and removals.
      const a = whole.since(from, 'x');
      const b = changed.since(from, 'x');
      assert.deepEqual([byHash(b.targets), [...b.removed].sort()], [byHash(a.targets), [...a.removed].sort()]);
    }),
    { numRuns: 1000 },
  );
});
