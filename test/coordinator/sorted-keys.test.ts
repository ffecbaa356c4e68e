import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { editSorted, forEachNotIn, lowerBound, orderKey } from '../../src/coordinator/sorted-keys.js';
import { AssignmentRecord } from '../../src/coordinator/assignment-record.js';
import { ShardTargets, targetView, type ShardTargetView } from '../../src/coordinator/shard-targets.js';
import type { TargetState } from '../../src/shard/contract.js';

// Short keys over a small alphabet, so that edits hit existing keys, new keys and the ends of the list.
const keyArb = fc.stringMatching(/^[0-9a-f]{1,2}$/);
const keysArb = fc.uniqueArray(keyArb, { maxLength: 30 }).map((ks) => ks.sort());
const editsArb = fc.array(fc.tuple(keyArb, fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined })), { maxLength: 20 });

/** The edit applied to a Map, the way the merge must agree with. */
function model(keys: readonly string[], values: readonly number[], edits: ReadonlyArray<readonly [string, number | undefined]>): Array<[string, number]> {
  const m = new Map(keys.map((k, i) => [k, values[i]!]));
  for (const [k, v] of edits) {
    if (v === undefined) m.delete(k);
    else m.set(k, v);
  }
  return [...m].sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

test('editSorted gives the keys and values a Map edited in the same order has, ascending, each key once', () => {
  fc.assert(
    fc.property(keysArb, editsArb, (keys, edits) => {
      const values = keys.map((_, i) => 100 + i);
      const { keys: out, from } = editSorted(keys, edits);
      const got = out.map((k, i): [string, number] => [k, from[i]! >= 0 ? values[from[i]!]! : edits[~from[i]!]![1]!]);
      assert.deepEqual(got, model(keys, values, edits));
      // A kept value comes from the same key's old position.
      for (let i = 0; i < out.length; i++) if (from[i]! >= 0) assert.equal(keys[from[i]!], out[i]);
    }),
    { numRuns: 2000 },
  );
});

test('editSorted orders keys that differ only after a long shared start, or after a non-ASCII character, as the strings compare', () => {
  const tieArb = fc.tuple(fc.constantFrom('', 'abcdef', 'abcdefab', 'ab\u00e9', 'ab\u00e9c'), keyArb).map(([p, k]) => p + k);
  fc.assert(
    fc.property(fc.uniqueArray(tieArb, { maxLength: 20 }).map((ks) => ks.sort()), fc.array(fc.tuple(tieArb, fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined })), { maxLength: 30 }), (keys, edits) => {
      const values = keys.map((_, i) => 100 + i);
      const { keys: out, from } = editSorted(keys, edits);
      const got = out.map((k, i): [string, number] => [k, from[i]! >= 0 ? values[from[i]!]! : edits[~from[i]!]![1]!]);
      assert.deepEqual(got, model(keys, values, edits));
    }),
    { numRuns: 1000 },
  );
});

test('editSorted hands back the same keys array when the edits add and drop no key, and a new one when they do', () => {
  fc.assert(
    fc.property(keysArb, editsArb, (keys, edits) => {
      const values = keys.map((_, i) => 100 + i);
      const copy = keys.slice();
      const { keys: out, from } = editSorted(keys, edits);
      const final = new Map<string, number | undefined>();
      for (const [k, v] of edits) final.set(k, v);
      const sameKeys = [...final].every(([k, v]) => keys.includes(k) === (v !== undefined));
      assert.equal(out === keys, sameKeys);
      assert.deepEqual(keys, copy, 'the keys given are not changed');
      // The values by position still follow the edits.
      const got = out.map((k, i): [string, number] => [k, from[i]! >= 0 ? values[from[i]!]! : edits[~from[i]!]![1]!]);
      assert.deepEqual(got, model(keys, values, edits));
    }),
    { numRuns: 2000 },
  );
});

test('forEachNotIn gives, in order, the keys of the first list that the second does not hold', () => {
  fc.assert(fc.property(keysArb, keysArb, (keys, other) => {
    const got: string[] = [];
    forEachNotIn(keys, other, (k) => got.push(k));
    assert.deepEqual(got, keys.filter((k) => !other.includes(k)));
  }), { numRuns: 1000 });
});

test('lowerBound is the first position whose key is not smaller', () => {
  fc.assert(
    fc.property(keysArb, keyArb, (keys, k) => {
      const p = lowerBound(keys, k);
      assert.equal(p, keys.findIndex((x) => x >= k) < 0 ? keys.length : keys.findIndex((x) => x >= k));
    }),
  );
});

const stateArb = fc.constantFrom<TargetState>('normal', 'in_transfer');

test('an edited record and an edited shard view are the record and view of the edited entries; the originals stay as they were', () => {
  fc.assert(
    fc.property(
      fc.dictionary(keyArb, fc.tuple(stateArb, fc.integer({ min: 0, max: 5 })), { maxKeys: 30 }),
      fc.array(fc.tuple(keyArb, fc.option(fc.tuple(stateArb, fc.integer({ min: 0, max: 5 })), { nil: undefined })), { maxLength: 20 }),
      (obj, edits) => {
        const entries = Object.entries(obj);
        const record = AssignmentRecord.of(entries.map(([h, [st]]) => [h, st] as const));
        const view = ShardTargets.of(entries.map(([h, [st, n]]) => [h, targetView(st, n)] as const));
        const recordJson = JSON.stringify(record);
        const viewJson = JSON.stringify(view);
        const m = new Map(entries);
        for (const [h, v] of edits) {
          if (v === undefined) m.delete(h);
          else m.set(h, v);
        }
        const edited = record.edited(edits.map(([h, v]) => [h, v?.[0]] as const));
        assert.deepEqual(edited.toObject(), AssignmentRecord.of([...m].map(([h, [st]]) => [h, st] as const)).toObject());
        const editedView = view.edited(edits.map(([h, v]) => [h, v && targetView(v[0], v[1])] as const));
        const want = ShardTargets.of([...m].map(([h, [st, n]]) => [h, targetView(st, n)] as const));
        assert.deepEqual([...editedView.hashes], [...want.hashes]);
        assert.deepEqual(editedView.toObject(), want.toObject());
        for (const [h] of edits) assert.deepEqual(editedView.get(h), want.get(h), h);
        assert.equal(editedView.size, m.size);
        assert.equal(JSON.stringify(record), recordJson);
        assert.equal(JSON.stringify(view), viewJson);
      },
    ),
    { numRuns: 1000 },
  );
});

test('a shard view answers has/get as the object it was made of, keys ascending', () => {
  fc.assert(
    fc.property(fc.dictionary(keyArb, fc.integer({ min: 0, max: 5 }), { maxKeys: 30 }), fc.array(keyArb, { maxLength: 10 }), (obj, probes) => {
      const src: Record<string, ShardTargetView> = Object.fromEntries(Object.entries(obj).map(([h, n]) => [h, targetView('normal', n)]));
      const v = ShardTargets.of(src);
      assert.deepEqual([...v.hashes], Object.keys(src).sort());
      for (const k of [...Object.keys(src), ...probes]) {
        assert.equal(v.get(k), Object.hasOwn(src, k) ? src[k] : undefined);
        assert.equal(v.has(k), Object.hasOwn(src, k));
      }
      assert.deepEqual(Object.fromEntries(v.entries()), src);
    }),
    { numRuns: 300 },
  );
});

test('orderKey orders strings as < does wherever two keys differ; 16-hex hashes differing in their first 6 digits never tie', () => {
  const unit = fc.oneof(fc.constantFrom('', '\u0000', '\u007f', '\u0080', '\u00ff', '\u0100', 'é', '😀', 'a', 'z', '0'), fc.string({ maxLength: 1 }), fc.string({ unit: 'grapheme', maxLength: 1 }));
  const str = fc.array(unit, { maxLength: 9 }).map((a) => a.join(''));
  let differing = 0;
  fc.assert(fc.property(str, str, (a, b) => {
    const [ka, kb] = [orderKey(a), orderKey(b)];
    assert.ok(Number.isSafeInteger(ka) && ka >= 0, `an exact key for ${JSON.stringify(a)}`);
    if (ka !== kb) {
      differing++;
      assert.equal(ka < kb, a < b, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    }
  }), { numRuns: 20_000 });
  assert.ok(differing > 10_000, `${differing} pairs with different keys`);
  const hex = fc.stringMatching(/^[0-9a-f]{16}$/);
  fc.assert(fc.property(hex, hex, (a, b) => {
    if (a.slice(0, 6) !== b.slice(0, 6)) assert.notEqual(orderKey(a), orderKey(b));
  }), { numRuns: 5000 });
});

test("a view made from a map's values holds its keys ascending, each with its value's entry, as one made from pairs", () => {
  const states: TargetState[] = ['normal', 'in_transfer'];
  fc.assert(
    fc.property(fc.array(fc.tuple(keyArb, fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 3 })), { maxLength: 40 }), (entries) => {
      const map = new Map(entries.map(([k, s, scrapes]) => [k, { state: states[s]!, scrapes }]));
      const view = ShardTargets.ofMap(map, (v) => targetView(v.state, v.scrapes));
      const keys = [...map.keys()];
      assert.deepEqual([...view.hashes], [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      for (const k of keys) assert.deepEqual(view.get(k), targetView(map.get(k)!.state, map.get(k)!.scrapes), k);
      assert.deepEqual(view.toObject(), ShardTargets.of(keys.map((k) => [k, targetView(map.get(k)!.state, map.get(k)!.scrapes)])).toObject());
    }),
    { numRuns: 300 },
  );
});
