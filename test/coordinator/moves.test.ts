/**
 * The move log (src/coordinator/moves.ts): moves noted from what each cycle's shards hold, windows judged against
 * them with the margin, history kept across a restart through its file, and where history starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MoveLog, movedWithin } from '../../src/coordinator/moves.js';
import { silentLogger } from '../../src/logger.js';
import fc from 'fast-check';
import { holderChanges } from '../helpers/holder-changes.js';
import { tempDir } from '../helpers/tmp.js';

// A lone holder as the coordinator gives it (a number), for every other target name; as a list for the rest.
const holders = (entries: Array<[string, number[]]>) => new Map(entries.map(([hash, ordinals]) => [hash, ordinals.length === 1 && hash.charCodeAt(hash.length - 1) % 2 ? ordinals[0]! : ordinals]));
// The job of a target, as the coordinator looks it up: named after the target, so a lookup by another hash shows.
const jobOf = (hash: string): string => `job-${hash}`;

test('a transfer is a move from its start until the old shard lets go; windows touching both sides are refused, others not', () => {
  const log = new MoveLog({ marginMs: 1000, log: silentLogger() });
  log.observe(10_000, holders([['a', [0]], ['b', [1]]]), jobOf, false);
  assert.equal(log.history().sinceMs, 0, 'a first start with nothing placed knows the whole history');
  assert.deepEqual(log.history().moves, []);
  log.observe(20_000, holders([['a', [0, 2]], ['b', [1]]]), jobOf, true);
  assert.deepEqual(log.history().moves, [{ hash: 'a', job: 'job-a', from: 0, to: 2, startMs: 20_000, endMs: null }]);
  assert.equal(movedWithin(log.history(), 0, 15_000), null, 'before the transfer began (and its margin)');
  assert.equal(movedWithin(log.history(), 0, 19_500), 'moved', 'within the margin of its start');
  assert.equal(movedWithin(log.history(), 50_000, 60_000), 'moved', 'still in transfer: every later window');
  log.observe(30_000, holders([['a', [2]], ['b', [1]]]), jobOf, true);
  assert.equal(log.history().moves[0]!.endMs, 30_000);
  assert.equal(movedWithin(log.history(), 30_500, 60_000), 'moved', 'within the margin of its end');
  assert.equal(movedWithin(log.history(), 31_001, 60_000), null, 'after the old shard let go: only the new one holds it');
  assert.equal(movedWithin(log.history(), 0, 18_999), null);
});

test('a target that leaves every shard and comes back on another is a move across the gap; back on the same shard it is not', () => {
  const log = new MoveLog({ marginMs: 0, log: silentLogger() });
  log.observe(1000, holders([['a', [0]], ['b', [0]]]), jobOf, false);
  log.observe(2000, holders([['b', [0]]]), jobOf, true);
  log.observe(3000, holders([['a', [1]], ['b', [0]]]), jobOf, true);
  assert.deepEqual(log.history().moves, [{ hash: 'a', job: 'job-a', from: 0, to: 1, startMs: 3000, endMs: 2000 }]);
  assert.equal(movedWithin(log.history(), 1500, 3500), 'moved', 'the window reads both halves');
  assert.equal(movedWithin(log.history(), 2001, 3500), null, 'only the new half');
  assert.equal(movedWithin(log.history(), 500, 2999), null, 'only the old half');
  log.observe(4000, holders([['a', [1]]]), jobOf, true);
  log.observe(5000, holders([['a', [1]], ['b', [0]]]), jobOf, true);
  assert.equal(log.history().moves.length, 1, 'b came back where it was');
});

test('a coordinator that finds targets placed and no file starts its history then; windows before it are "history"', () => {
  const log = new MoveLog({ marginMs: 0, log: silentLogger() });
  assert.equal(movedWithin(log.history(), 0, 1), 'history', 'before the first cycle nothing is known');
  log.observe(7000, holders([['a', [0]]]), jobOf, true);
  assert.equal(log.history().sinceMs, 7000);
  assert.equal(movedWithin(log.history(), 6999, 8000), 'history');
  assert.equal(movedWithin(log.history(), 7000, 8000), null);
});

test('the log survives a restart through its file (private), and an unreadable file starts history anew', async () => {
  const dir = await tempDir('kvass-moves-');
  const file = join(dir, 'moves.json');
  const first = new MoveLog({ file, marginMs: 0, log: silentLogger() });
  first.observe(1000, holders([['a', [0]]]), jobOf, false);
  first.observe(2000, holders([['a', [0, 1]]]), jobOf, true);
  await first.save();
  assert.equal((await stat(file)).mode & 0o077, 0, 'not readable by others');
  assert.deepEqual(JSON.parse(await readFile(file, 'utf8')).residency, { a: [0, 1] });
  const second = new MoveLog({ file, marginMs: 0, log: silentLogger() });
  second.load();
  assert.equal(second.history().sinceMs, 0);
  assert.equal(second.history().moves.length, 1);
  // The restarted coordinator sees the transfer end: the move it knew of is closed, not a new one.
  second.observe(3000, holders([['a', [1]]]), jobOf, true);
  assert.deepEqual(second.history().moves, [{ hash: 'a', job: 'job-a', from: 0, to: 1, startMs: 2000, endMs: 3000 }]);
  await second.save();
  assert.equal(JSON.parse(await readFile(file, 'utf8')).moves[0].endMs, 3000);
  assert.deepEqual(JSON.parse(await readFile(file, 'utf8')).residency, { a: [1] }, 'one holder is still written as a list');

  await writeFile(file, '{not json');
  const third = new MoveLog({ file, marginMs: 0, log: silentLogger() });
  third.load();
  third.observe(9000, holders([['a', [1]]]), jobOf, true);
  assert.equal(third.history().sinceMs, 9000, 'what it cannot read it does not claim to know');

  await writeFile(file, JSON.stringify({ version: 1, sinceMs: 0, moves: [{ hash: 'a', job: 'j', from: 0, to: 1, startMs: 2000, endMs: null }], residency: { a: null }, departed: {} }));
  const fourth = new MoveLog({ file, marginMs: 0, log: silentLogger() });
  fourth.load();
  fourth.observe(9000, holders([['a', [1]]]), jobOf, true);
  assert.equal(fourth.history().sinceMs, 9000, 'a residency that is not a list of ordinals: nothing is taken from the file');
  assert.deepEqual(fourth.history().moves, []);
});

test('moves older than the age limit are forgotten and history starts after them', () => {
  const log = new MoveLog({ marginMs: 0, maxAgeMs: 10_000, log: silentLogger() });
  log.observe(1000, holders([['a', [0]]]), jobOf, false);
  log.observe(2000, holders([['a', [0, 1]]]), jobOf, true);
  log.observe(3000, holders([['a', [1]]]), jobOf, true);
  assert.equal(log.history().moves.length, 1);
  log.observe(20_000, holders([['a', [1]]]), jobOf, true);
  assert.equal(log.history().moves.length, 0);
  assert.ok(log.history().sinceMs > 3000, 'history now starts after the forgotten move');
  assert.equal(movedWithin(log.history(), 2500, 25_000), 'history');
});

test('more moves than the log keeps, begun in one cycle (200,000): the oldest are forgotten and history starts after them', () => {
  // The time history starts from was the largest of the dropped moves' times, taken as Math.max(...dropped): past
  // about 120,000 dropped moves that overflowed the stack, and every cycle after it failed.
  const n = 200_000;
  const log = new MoveLog({ marginMs: 0, maxMoves: 1000, log: silentLogger() });
  const hashes = Array.from({ length: n }, (_, i) => `t${i}`);
  log.observe(1000, new Map(hashes.map((h) => [h, 0])), jobOf, false);
  log.observe(2000, new Map(hashes.map((h) => [h, [0, 1]])), jobOf, true);
  assert.equal(log.history().moves.length, 1000);
  assert.equal(log.history().sinceMs, 2001, 'history starts after the forgotten moves (still open: counted at now)');
  log.observe(3000, new Map(hashes.map((h) => [h, 1])), jobOf, true);
  assert.ok(log.history().moves.every((m) => m.endMs === 3000), 'the kept moves end when the old shard lets go');
});

test('observeChanges (told only what changed) keeps exactly the history observe (told every holder) keeps', () => {
  // Random cycles over 6 targets and 4 ordinals: each target on none, one or two ordinals (a transfer).
  const cycle = fc.array(fc.oneof(fc.constant([] as number[]), fc.integer({ min: 0, max: 3 }).map((o) => [o]), fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 2, maxLength: 2 })), { minLength: 6, maxLength: 6 });
  fc.assert(fc.property(fc.array(cycle, { minLength: 1, maxLength: 12 }), fc.boolean(), (cycles, placedBefore) => {
    const full = new MoveLog({ marginMs: 1000, log: silentLogger() });
    const delta = new MoveLog({ marginMs: 1000, log: silentLogger() });
    let prev = new Map<string, number[]>();
    cycles.forEach((c, k) => {
      const now = new Map(c.flatMap((ordinals, t) => (ordinals.length ? [[`t${t}`, [...ordinals].sort()] as [string, number[]]] : [])));
      const nowMs = 10_000 * (k + 1);
      full.observe(nowMs, holders([...now]), jobOf, placedBefore);
      if (k === 0) delta.observe(nowMs, holders([...now]), jobOf, placedBefore);
      else {
        delta.observeChanges(nowMs, holderChanges(prev, now), jobOf, placedBefore);
      }
      prev = now;
      assert.deepEqual(delta.history(), full.history(), `after cycle ${k}`);
    });
  }), { numRuns: 1000, seed: 16 });
});
