import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NameLayouts, omitMaskOf } from '../../src/prom/relabel-layout.js';

test('name layouts: one per pair of name lists, found again after others; own names hide the lower ones', () => {
  const layouts = new NameLayouts();
  const a = layouts.find(['__address__', 'x'], ['app', 'x', 'team']);
  assert.ok(a !== null);
  assert.deepEqual(a.names, ['__address__', 'x', 'app', 'team']);
  assert.deepEqual([...a.lowerAt], [0, 2]);
  assert.deepEqual([...a.at], [['__address__', 0], ['x', 1], ['app', 2], ['team', 3]]);
  const b = layouts.find(['__address__'], ['app', 'x', 'team']);
  assert.ok(b !== null && b !== a);
  assert.deepEqual(b.names, ['__address__', 'app', 'x', 'team']);
  // The same names as fresh arrays (as Object.keys returns them), after another layout: the trie finds it.
  assert.equal(layouts.find(['__address__', 'x'], ['app', 'x', 'team']), a);
  assert.equal(layouts.find(['__address__', 'x'], ['app', 'x', 'team']), a);
  // Where the boundary between the layers falls matters.
  const c = layouts.find(['__address__', 'x', 'app'], ['x', 'team']);
  assert.ok(c !== null && c !== a);
  assert.deepEqual(c.names, ['__address__', 'x', 'app', 'team']);
  // Other order, other layout (positions differ).
  assert.notEqual(layouts.find(['x', '__address__'], ['app', 'x', 'team']), a);
  assert.ok(Object.isFrozen(a.names));
});

test('name layouts: bounded; past the bound new names get none, known ones are still found', () => {
  const layouts = new NameLayouts(6);
  const a = layouts.find(['a'], ['b', 'c']);
  assert.ok(a !== null);
  assert.equal(layouts.size, 4); // a, the boundary, b, c
  assert.ok(layouts.find(['a'], ['b', 'd']) !== null); // one more name: 5
  assert.ok(layouts.find(['a'], ['e']) !== null); // 6
  assert.equal(layouts.find(['a'], ['f']), null);
  assert.equal(layouts.find(['z'], []), null);
  assert.equal(layouts.size, 6);
  assert.equal(layouts.find(['a'], ['b', 'c']), a);
});

test('name layouts: the omit mask marks the names with the prefix, made again for another prefix', () => {
  const layouts = new NameLayouts();
  const l = layouts.find(['__address__', '__meta_x'], ['__meta_y', 'app'])!;
  assert.deepEqual([...omitMaskOf(l, '__meta_')], [0, 1, 1, 0]);
  assert.deepEqual([...omitMaskOf(l, '__')], [1, 1, 1, 0]);
  assert.deepEqual([...omitMaskOf(l, '__meta_')], [0, 1, 1, 0]);
});
