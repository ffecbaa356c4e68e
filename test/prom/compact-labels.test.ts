import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LabelSetCompactor } from '../../src/prom/compact-labels.js';
import { compactGroup, type TargetGroup } from '../../src/discovery/types.js';
import type { Labels } from '../../src/prom/labels.js';

/** Short values, and longer ones (which the compactor's tables share) that repeat across sets or do not. */
const valueArb = fc.oneof(
  fc.string(),
  fc.constantFrom('registry.local/app:1.2.3', 'ip-10-0-1-23.ec2.internal', 'x'.repeat(11)),
  fc.string({ minLength: 11, maxLength: 30 }),
);

/** Label sets whose names repeat across sets (in differing orders), as discovery's do. */
const labelSets = fc.array(
  fc.uniqueArray(fc.tuple(fc.constantFrom('__address__', '__meta_a', '__meta_b', 'job', 'x', 'y_1', 'ä', 'constructor', 'toString', 'z'), valueArb), { selector: (p) => p[0], maxLength: 10 }),
  { minLength: 1, maxLength: 30 },
).map((sets) => sets.map((pairs) => Object.fromEntries(pairs) as Labels));

test('a compacted label set has the same names, in the same order, with the same values, as a plain object', () => {
  fc.assert(fc.property(labelSets, (sets) => {
    const c = new LabelSetCompactor();
    for (const ls of sets) {
      const out = c.compact(ls);
      assert.deepEqual(Object.entries(out), Object.entries(ls));
      assert.equal(Object.getPrototypeOf(out), Object.prototype);
      out.extra = 'added';
      assert.equal(ls.extra, undefined, 'a copy, not the input');
    }
    // A second pass over the same sets adds no names to the trie: the templates are reused.
    const size = c.size;
    for (const ls of sets) assert.deepEqual(Object.entries(c.compact(ls)), Object.entries(ls));
    assert.equal(c.size, size);
  }), { numRuns: 500 });
});

test('past its bound, and for a __proto__ name, a label set is returned as it is', () => {
  const c = new LabelSetCompactor(3);
  const small = { a: '1', b: '2' };
  assert.notEqual(c.compact(small), small);
  const big = { a: '1', b: '2', c: '3', d: '4' };
  const out = c.compact(big);
  assert.equal(out, big, 'the trie is full');
  assert.equal(c.size, 3);
  assert.deepEqual(c.compact({ a: 'x', b: 'y' }), { a: 'x', b: 'y' }, 'names already in the trie still compact');
  const proto = JSON.parse('{"__proto__": "v", "q": "w"}') as Labels;
  assert.equal(new LabelSetCompactor().compact(proto), proto);
});

test('compactGroup replaces a group\'s label sets and arrays with equal ones and leaves the discoverer\'s arrays alone', () => {
  const targets: Labels[] = [{ __address__: 'a:1' }, { __address__: 'b:2', x: 'y' }];
  const g: TargetGroup = { source: 's', labels: { job: 'j' }, targets };
  const kept = compactGroup(g);
  assert.equal(kept, g);
  assert.notEqual(g.targets, targets);
  assert.equal(targets[0]!.__address__, 'a:1');
  assert.deepEqual(g.targets, targets);
  assert.deepEqual(g.labels, { job: 'j' });
});

test('a long value is held once per trie node and shared after; short values are not looked up (counted: string identity is not visible)', () => {
  const c = new LabelSetCompactor();
  const long = (s: string) => `${s}-0123456789`;
  for (let i = 0; i < 1000; i++) {
    const ls = { node: long(`node-${i % 10}`), short: `n${i % 3}` };
    assert.deepEqual(Object.entries(c.compact(ls)), Object.entries(ls));
    // The same name at another place in another sequence: another trie node, with its own table.
    const other = { a: 'x', node: long(`node-${i % 10}`) };
    assert.deepEqual(Object.entries(c.compact(other)), Object.entries(other));
  }
  assert.equal(c.heldValues, 20);
  assert.equal(c.shared, 2 * (1000 - 10));
});

test('a full table whose values repeated starts over; one whose values did not is dropped for good', () => {
  const c = new LabelSetCompactor();
  const set = (ls: Labels) => assert.deepEqual(Object.entries(c.compact(ls)), Object.entries(ls));
  // image: 100 values repeating, then new ones until the table is full (16,384).
  for (let i = 0; i < 4096; i++) set({ image: `registry/app:${i % 100}` });
  for (let i = 100; i < 16_384; i++) set({ image: `registry/app:${i}` });
  assert.equal(c.heldValues, 16_384);
  set({ image: 'registry/app:16384' });
  assert.equal(c.heldValues, 1, 'the full table started over with the new value');
  let shared = c.shared;
  set({ image: 'registry/app:5' });
  assert.equal(c.shared, shared, 'a value of the cleared table is new again');
  assert.equal(c.heldValues, 2);
  // uid: every value new until its table is full: dropped, and the node looks up no more.
  for (let i = 0; i < 16_384; i++) set({ uid: `uid-${i}-0123456789` });
  assert.equal(c.heldValues, 2 + 16_384);
  shared = c.shared;
  set({ uid: 'uid-x-0123456789' });
  assert.equal(c.heldValues, 2, 'the table of uid was dropped');
  set({ uid: 'uid-x-0123456789' });
  assert.equal(c.shared, shared, 'uid is not looked up any more');
  assert.equal(c.heldValues, 2);
});

test('all tables together hold at most maxHeldValues; reaching it, every table starts over', () => {
  const c = new LabelSetCompactor(50_000, 5);
  const set = (ls: Labels) => assert.deepEqual(Object.entries(c.compact(ls)), Object.entries(ls));
  for (let i = 0; i < 3; i++) set({ a: `value-of-a-${i}`, b: `value-of-b-${i}` }); // 6 values: the 6th starts over
  assert.equal(c.heldValues, 1);
  set({ a: 'value-of-a-0', b: 'value-of-b-2' });
  assert.equal(c.shared, 1, 'only b\'s last value survived the start over');
  assert.equal(c.heldValues, 2);
});
