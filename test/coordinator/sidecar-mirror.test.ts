/** The coordinator's mirror of a sidecar's statuses (src/coordinator/sidecar-mirror.ts): what it keeps of each. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SidecarMirror, MirrorReader } from '../../src/coordinator/sidecar-mirror.js';
import type { TargetStatus } from '../../src/shard/contract.js';

const status = (hash: string, series: number): TargetStatus => ({
  hash, job: 'pods', labels: { __address__: 'a:80' }, state: 'in_transfer', health: 'down', lastError: 'boom', lastScrape: '2026-12-05T18:00:00Z',
  lastScrapeDuration: 0.25, series, lastSeries: 7, samples: 9, bytes: 11, scrapesSinceAssigned: 2, assignedAt: '2026-12-05T17:00:00Z',
});

test('a mirror keeps of each status what the coordinator decides on and shows, and follows changes and removals', () => {
  const m = new SidecarMirror();
  m.takeChanged(MirrorReader.Measured); // a reader that read it whole (here: empty)
  m.apply({ full: true, targets: [status('abcd', 5)], removed: [], version: 'v1', assignmentVersion: 'a1' });
  const { from, ...kept } = m.statuses.get('abcd')!;
  assert.equal(from, m, 'names its mirror');
  assert.deepEqual(kept, {
    hash: 'abcd', state: 'in_transfer', health: 'down', lastError: 'boom', lastScrape: '2026-12-05T18:00:00Z', lastScrapeDuration: 0.25, series: 5, scrapesSinceAssigned: 2,
  });
  assert.deepEqual([...m.takeChanged(MirrorReader.Measured)], ['abcd']);
  m.apply({ full: false, targets: [status('abcd', 6)], removed: [], version: 'v2', assignmentVersion: 'a1' });
  assert.equal(m.statuses.get('abcd')!.series, 6, 'the new status replaces the old');
  assert.deepEqual([...m.takeChanged(MirrorReader.Measured)], ['abcd']);
  m.apply({ full: false, targets: [], removed: ['abcd'], version: 'v3', assignmentVersion: 'a2' });
  assert.equal(m.statuses.size, 0);
  assert.deepEqual([m.version, m.assignmentVersion], ['v3', 'a2']);
});

test("a mirror keeps each reader's changes from its first take on, and every kind of change after it", () => {
  const m = new SidecarMirror();
  m.apply({ full: true, targets: [status('a', 1), status('b', 1)], removed: [], version: 'v1', assignmentVersion: 'a1' });
  // Neither reader took anything yet: they read the mirror whole when they first do, so nothing was gathered.
  assert.deepEqual([...m.takeChanged(MirrorReader.View)], []);
  m.apply({ full: false, targets: [status('c', 1)], removed: ['a'], version: 'v2', assignmentVersion: 'a1' });
  assert.deepEqual([...m.takeChanged(MirrorReader.View)].sort(), ['a', 'c'], 'the reader that took: the removed and the new');
  assert.deepEqual([...m.takeChanged(MirrorReader.Measured)], [], 'the other: still nothing (its first take)');
  m.apply({ full: false, targets: [status('b', 2)], removed: ['c'], version: 'v3', assignmentVersion: 'a1' });
  m.apply({ full: true, targets: [status('d', 1)], removed: [], version: 'v4', assignmentVersion: 'a2' });
  // For both readers now: the changed and the removed, then a full answer's every hash held before it and in it.
  for (const reader of [MirrorReader.Measured, MirrorReader.View]) {
    assert.deepEqual([...m.takeChanged(reader)].sort(), ['b', 'c', 'd'], `reader ${reader}`);
    assert.deepEqual([...m.takeChanged(reader)], [], `reader ${reader}: taken`);
  }
  assert.deepEqual([...m.statuses.keys()], ['d']);
});
