import { test } from 'node:test';
import assert from 'node:assert/strict';
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
