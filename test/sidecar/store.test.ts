import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SidecarStore } from '../../src/sidecar/store.js';
import { createLogger } from '../../src/logger.js';
import { readAssignment } from '../../src/shard/contract.js';
import { tempDir } from '../helpers/tmp.js';

const quiet = createLogger('silent');

test('store: an assignment round-trips and the write leaves no temporary file', async () => {
  const dir = await tempDir('kvass-store-');
  const store = new SidecarStore(dir, quiet);
  await store.init();
  assert.equal(await store.loadAssignment(), null);
  const targets = [{ hash: 'abc', job: 'j', labels: { __address__: 'h:1', job: 'j' }, state: 'in_transfer' as const }];
  await store.saveAssignment(targets, new Date('2026-01-02T03:04:05Z'));
  const back = await store.loadAssignment();
  assert.deepEqual(back, { updatedAt: '2026-01-02T03:04:05.000Z', targets });
  assert.deepEqual((await readdir(dir)).sort(), ['assignment.json']);
});

test('store: a corrupt file is moved aside and the sidecar starts empty', async () => {
  const dir = await tempDir('kvass-store-');
  const store = new SidecarStore(dir, quiet);
  await store.init();
  await writeFile(join(dir, 'assignment.json'), '{"version":1,"targets":[{"job":');
  assert.equal(await store.loadAssignment(), null);
  const files = await readdir(dir);
  assert.equal(files.length, 1);
  assert.match(files[0]!, /^assignment\.json\.corrupt-\d+$/);
  assert.equal(await readFile(join(dir, files[0]!), 'utf8'), '{"version":1,"targets":[{"job":');
  // A well-formed file of the wrong shape is corrupt too.
  await writeFile(join(dir, 'assignment.json'), '{"version":1,"targets":[{"job":"j","labels":{}}]}');
  assert.equal(await store.loadAssignment(), null);
  assert.equal((await readdir(dir)).filter((f) => f.includes('corrupt')).length, 2);
});

test('assignment: entries are checked one by one with their position', () => {
  assert.throws(() => readAssignment({}), /expected an object \{"targets"/);
  assert.throws(() => readAssignment({ targets: [{ job: 'j', labels: { __address__: 'a:1' } }, { job: '', labels: {} }] }), /targets\[1\]: "job" must be a non-empty string/);
  assert.throws(() => readAssignment({ targets: [{ job: 'j', labels: { a: 'b' } }] }), /targets\[0\]: labels need a non-empty __address__/);
  assert.throws(() => readAssignment({ targets: [{ job: 'j', labels: { __address__: 'a:1' }, state: 'moving' }] }), /"state" must be one of normal, in_transfer/);
  assert.throws(() => readAssignment({ targets: [{ job: 'j', labels: { __address__: 'a:1', x: 1 } }] }), /label "x" must be a string/);
  const ok = readAssignment({ targets: [{ job: 'j', labels: { __address__: 'a:1', empty: '' } }] });
  assert.deepEqual(ok, [{ hash: '', job: 'j', labels: { __address__: 'a:1' }, state: 'normal' }]);
});
