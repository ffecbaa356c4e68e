import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AssignmentRecord } from '../../src/coordinator/assignment-record.js';
import { recordChanges, recordEdits } from '../../src/coordinator/shard-views.js';
import { assignmentChange, isApplied } from '../../src/coordinator/sidecar-mirror.js';
import type { TargetState, TargetStatus } from '../../src/shard/contract.js';

const stateArb = fc.constantFrom<TargetState>('normal', 'in_transfer');
// Short keys over a small alphabet, so that records share keys and differ in few.
const recordArb = fc.dictionary(fc.stringMatching(/^[0-9a-f]{1,3}$/), stateArb, { maxKeys: 40 }).map((o): Record<string, TargetState> => ({ ...o }));

test('a record answers has/get/indexOf as the object it was made of, keys ascending, and toJSON gives that object', () => {
  fc.assert(
    fc.property(recordArb, fc.array(fc.stringMatching(/^[0-9a-f]{1,3}$/), { maxLength: 20 }), (obj, probes) => {
      const r = AssignmentRecord.of(obj);
      assert.deepEqual([...r.keys], Object.keys(obj).sort());
      assert.equal(r.size, Object.keys(obj).length);
      for (const k of [...Object.keys(obj), ...probes]) {
        const want = Object.hasOwn(obj, k) ? obj[k] : undefined;
        assert.equal(r.get(k), want, k);
        assert.equal(r.has(k), want !== undefined, k);
        assert.equal(r.indexOf(k) >= 0 ? r.keys[r.indexOf(k)] : undefined, want === undefined ? undefined : k);
      }
      assert.deepEqual(JSON.parse(JSON.stringify(r)), obj);
      assert.deepEqual(Object.fromEntries(r.entries()), obj);
    }),
    { numRuns: 300 },
  );
});

test('recordChanges finds per target the shards whose record gained or lost it, as a comparison of the objects does', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(recordArb, recordArb), { maxLength: 5 }), fc.integer({ min: 0, max: 2 }), (pairs, extra) => {
      const prev = pairs.map(([a]) => AssignmentRecord.of(a));
      const next = pairs.map(([, b]) => AssignmentRecord.of(b));
      // Lists of different lengths: a shard only in one of them.
      for (let i = 0; i < extra; i++) next.push(AssignmentRecord.of({ [`x${i}`]: 'normal' }));
      const want = new Map<string, { added: number[]; removed: number[] }>();
      const entry = (h: string) => want.get(h) ?? want.set(h, { added: [], removed: [] }).get(h)!;
      for (let i = 0; i < next.length; i++) {
        const a = prev[i]?.toObject() ?? {};
        const b = next[i]!.toObject();
        for (const h of Object.keys(b)) if (!Object.hasOwn(a, h)) entry(h).added.push(i);
        for (const h of Object.keys(a)) if (!Object.hasOwn(b, h)) entry(h).removed.push(i);
      }
      const sorted = (m: Map<string, { added: number[]; removed: number[] }>) => [...m].sort((x, y) => (x[0] < y[0] ? -1 : 1));
      assert.deepEqual(sorted(recordChanges(prev, next)), sorted(want));
      // recordEdits counts the same pairs without the map, either way round.
      const pairsChanged = [...want.values()].reduce((n, c) => n + c.added.length + c.removed.length, 0);
      assert.equal(recordEdits(prev, next), pairsChanged);
      assert.equal(recordEdits(next, prev), pairsChanged);
    }),
    { numRuns: 300 },
  );
});

test('assignmentChange turns what a sidecar applies into the record (or is undefined when not smaller), and isApplied tells them apart', () => {
  const status = (hash: string, state: TargetState): TargetStatus => ({ hash, state } as TargetStatus);
  fc.assert(
    fc.property(recordArb, recordArb, (wantObj, haveObj) => {
      const want = AssignmentRecord.of(wantObj);
      const have = new Map(Object.entries(haveObj).map(([h, st]) => [h, status(h, st)]));
      const same = JSON.stringify(Object.entries(wantObj).sort()) === JSON.stringify(Object.entries(haveObj).sort());
      assert.equal(isApplied(want, have), same);
      const change = assignmentChange(want, have, 'v1', (hash, state) => ({ hash, job: 'j', labels: {}, state }));
      // The smallest change: the record's entries the sidecar lacks or holds in another state, and what it holds beyond.
      const needed = Object.keys(wantObj).filter((h) => haveObj[h] !== wantObj[h]).length + Object.keys(haveObj).filter((h) => !Object.hasOwn(wantObj, h)).length;
      if (change === undefined) {
        assert.ok(needed >= want.size, 'undefined only when the change is not smaller than the record');
        return;
      }
      assert.equal(change.set.length + change.remove.length, needed);
      assert.ok(needed < want.size);
      const applied: Record<string, TargetState> = { ...haveObj };
      for (const h of change.remove) delete applied[h];
      for (const t of change.set) applied[t.hash] = t.state;
      assert.deepEqual(Object.entries(applied).sort(), Object.entries(wantObj).sort());
    }),
    { numRuns: 500 },
  );
});
