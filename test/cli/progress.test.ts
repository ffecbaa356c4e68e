import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDone, progressText } from '../../src/cli/progress.js';

test('the start-up progress says shards ready, targets placed and scraped, and is done only when all are', () => {
  const s = { shardsReady: 2, shards: 3, targets: 6, placed: 4, scraped: 3 };
  assert.equal(progressText(s, 7400), '7s: 2/3 shard(s) ready, 4/6 targets placed, 3/6 scraped');
  assert.equal(isDone(s), false);
  assert.equal(isDone({ shardsReady: 3, shards: 3, targets: 6, placed: 6, scraped: 6 }), true);
  assert.equal(isDone({ shardsReady: 0, shards: 0, targets: 0, placed: 0, scraped: 0 }), false, 'nothing discovered yet is not done');
});
