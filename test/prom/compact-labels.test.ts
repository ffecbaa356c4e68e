import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LabelSetCompactor } from '../../src/prom/compact-labels.js';
import { compactGroup, type TargetGroup } from '../../src/discovery/types.js';
import type { Labels } from '../../src/prom/labels.js';

/** Label sets whose names repeat across sets (in differing orders), as discovery's do. */
const labelSets = fc.array(
  fc.uniqueArray(fc.tuple(fc.constantFrom('__address__', '__meta_a', '__meta_b', 'job', 'x', 'y_1', 'ä', 'constructor', 'toString', 'z'), fc.string()), { selector: (p) => p[0], maxLength: 10 }),
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
