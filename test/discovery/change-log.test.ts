import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GroupChangeLog, type GroupChange } from '../../src/discovery/change-log.js';

type Step = { kind: 'emit'; groups: Array<{ source: string; empty: boolean }> } | { kind: 'reset' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 9, arbitrary: fc.record({ kind: fc.constant('emit' as const), groups: fc.array(fc.record({ source: fc.constantFrom('a', 'b', 'c', 'd'), empty: fc.boolean() }), { maxLength: 5 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reset' as const }) },
);

test('the change log answers every version it still covers with exactly the changes after it, in order, and no other', () => {
  fc.assert(
    fc.property(fc.array(stepArb, { maxLength: 40 }), fc.integer({ min: 2, max: 20 }), (steps, max) => {
      const log = new GroupChangeLog(max);
      const all: GroupChange[] = [];
      let lastReset = 0;
      let version = 0;
      const versions = [0];
      for (const step of steps) {
        version++;
        if (step.kind === 'reset') {
          log.reset(version);
          lastReset = version;
        } else {
          log.record(version, step.groups.map((g) => ({ source: g.source, targets: g.empty ? [] : [1] })));
          for (const g of step.groups) all.push({ version, source: g.source, gone: g.empty });
        }
        versions.push(version);
        for (const since of versions) {
          const got = log.since(since);
          if (since < lastReset) assert.equal(got, undefined, `version ${since} is from before a reset`);
          if (got === undefined) continue;
          assert.deepEqual(got, all.filter((c) => c.version > since));
        }
        // The newest version is always answered (with nothing), and so is one whose changes since fit in half the log.
        assert.deepEqual(log.since(version), []);
        const recent = versions.filter((v) => v >= lastReset && all.filter((c) => c.version > v).length <= max >> 1);
        for (const v of recent) assert.notEqual(log.since(v), undefined, `version ${v}: few changes since`);
      }
    }),
    { numRuns: 1000 },
  );
});
