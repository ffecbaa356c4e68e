/**
 * Seats (src/coordinator/seats.ts): each target held has one, no two alike, a replaced one passes it to the one with
 * its hash, a released one is told with the seat it held when its update ends and handed out again; a set kept by seat holds what a list by hash would, in the same order, while seats
 * change hands between targets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SeatIndex, SeatedSet, Seats } from '../../src/coordinator/seats.js';
import type { Target } from '../../src/target/populate.js';

const HASHES = ['h0', 'h1', 'h2', 'h3', 'h4', 'h5'];

function target(hash: string): Target {
  return { hash, seat: -1 } as unknown as Target;
}

test('seats: dense over the targets held, none shared, a released one told with its seat and handed out again', () => {
  const seats = new Seats();
  const [a, b, c] = [target('a'), target('b'), target('c')];
  for (const t of [a, b, c]) seats.take(t);
  assert.deepEqual([a.seat, b.seat, c.seat], [0, 1, 2]);
  seats.release(b);
  assert.equal(b.seat, -1, 'a released target holds no seat');
  assert.deepEqual(seats.takeReleased(), [], 'told when the update ends');
  seats.settle();
  assert.deepEqual(seats.takeReleased(), [{ hash: 'b', seat: 1 }]);
  assert.deepEqual(seats.takeReleased(), [], 'told once');
  const d = target('d');
  seats.take(d);
  assert.equal(d.seat, 1, 'the seat given back is handed out again');
  assert.equal(seats.capacity, 3, 'no seat beyond the targets ever held at once');
  // In one update: c replaced by another target with its hash, a gone, e new.
  const [c2, e] = [target('c'), target('e')];
  seats.release(c);
  seats.release(a);
  seats.take(e);
  seats.take(c2);
  assert.equal(c2.seat, 2, "a replaced target's seat passes to the one with its hash");
  assert.equal(e.seat, 3, "a seat given back in an update is not handed out before it ends");
  seats.settle();
  assert.deepEqual(seats.takeReleased(), [{ hash: 'a', seat: 0 }], 'only the hash that left is told');
  const f = target('f');
  seats.take(f);
  assert.equal(f.seat, 0, 'then it is');
});

type Op =
  | { kind: 'seat'; hash: string }
  | { kind: 'unseat'; hash: string }
  | { kind: 'set'; hash: string; mark: boolean }
  | { kind: 'delete'; hash: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('seat' as const), hash: fc.constantFrom(...HASHES) }),
  fc.record({ kind: fc.constant('unseat' as const), hash: fc.constantFrom(...HASHES) }),
  fc.record({ kind: fc.constant('set' as const), hash: fc.constantFrom(...HASHES), mark: fc.boolean() }),
  fc.record({ kind: fc.constant('delete' as const), hash: fc.constantFrom(...HASHES) }),
);

test('a set kept by seat holds what a list by hash holds, in its order, while seats change hands (releases taken out first)', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
      const seats = new Seats();
      const held = new Map<string, Target>();
      const set = new SeatedSet();
      // The model: members in order, a removal moving the last into its place; each with the seat it was added with.
      const model: Array<{ t: Target; seat: number; mark: boolean }> = [];
      const remove = (j: number): void => {
        const last = model.pop()!;
        if (j < model.length) model[j] = last;
      };
      // As sizing does: the released targets are taken out (by the seat each held) before anything is added.
      const takeOutReleased = (): void => {
        for (const r of seats.takeReleased()) {
          const j = model.findIndex((m) => m.t.hash === r.hash && m.seat === r.seat);
          assert.equal(set.delete(r.hash, r.seat), j >= 0, `release of ${r.hash} found it iff it was in`);
          if (j >= 0) remove(j);
        }
      };
      for (const o of ops) {
        if (o.kind === 'seat' || o.kind === 'unseat') {
          const old = held.get(o.hash);
          if (old) seats.release(old);
          held.delete(o.hash);
          if (o.kind === 'seat') {
            const t = target(o.hash);
            seats.take(t);
            held.set(o.hash, t);
          }
          seats.settle();
          continue; // seats change hands, and the set is not told yet
        }
        takeOutReleased();
        const t = held.get(o.hash);
        if (!t) continue;
        // A target replaced by another with its hash has its seat: the same member.
        const j = model.findIndex((m) => m.t.hash === t.hash && m.seat === t.seat);
        if (o.kind === 'set') {
          set.set(t, o.mark);
          if (j >= 0) model[j] = { t, seat: t.seat, mark: o.mark };
          else model.push({ t, seat: t.seat, mark: o.mark });
        } else {
          assert.equal(set.delete(t.hash, t.seat), j >= 0, `delete of ${t.hash} found it iff it was in`);
          if (j >= 0) remove(j);
        }
        const seen: Array<[string, boolean]> = [];
        set.forEach((m, mark) => seen.push([m.hash, mark]));
        assert.deepEqual(seen, model.map((m) => [m.t.hash, m.mark]), 'members and marks, in order');
        assert.deepEqual(set.hashes(), model.map((m) => m.t.hash));
        assert.equal(set.size, model.length);
      }
      const seatsHeld = [...held.values()].map((t) => t.seat);
      assert.equal(new Set(seatsHeld).size, seatsHeld.length, 'no two targets held share a seat');
      assert.ok(seatsHeld.every((s) => s >= 0 && s < seats.capacity), 'every seat within the capacity');
    }),
    { numRuns: 1000 },
  );
});

test('a set kept by seat: a seat handed to another target before the old one was taken out does not answer for the old one', () => {
  const seats = new Seats();
  const set = new SeatedSet();
  const a = target('a');
  seats.take(a);
  set.set(a, true);
  seats.release(a);
  seats.settle();
  const b = target('b');
  seats.take(b);
  assert.equal(b.seat, 0, 'b has the seat a held');
  assert.equal(set.delete('b', b.seat), false, 'b was never added');
  set.set(b, false);
  const seen: Array<[string, boolean]> = [];
  set.forEach((t, mark) => seen.push([t.hash, mark]));
  assert.deepEqual(seen, [['a', true], ['b', false]], 'a is still in, b added beside it');
});

test('a seat index: none until set (0 included), kept across growth, none again once unset', () => {
  const at = new SeatIndex();
  assert.equal(at.get(0), -1);
  assert.equal(at.get(-1), -1, 'no seat');
  at.set(10, 0);
  at.set(3, 7);
  at.set(5000, 2); // past the first table: grown, the others kept
  at.set(70_000, 9);
  assert.deepEqual([at.get(10), at.get(3), at.get(5000), at.get(70_000), at.get(4), at.get(80_000)], [0, 7, 2, 9, -1, -1]);
  at.unset(3);
  at.unset(90_000); // past the end: nothing to do
  assert.equal(at.get(3), -1);
  at.reset();
  assert.equal(at.get(10), -1, 'none after a reset');
});
