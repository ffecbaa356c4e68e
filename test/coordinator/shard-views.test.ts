import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { StatusViews, meantView, viewOf } from '../../src/coordinator/shard-views.js';
import { SidecarMirror } from '../../src/coordinator/sidecar-mirror.js';
import { AssignmentRecord } from '../../src/coordinator/assignment-record.js';
import { ShardTargets, targetView } from '../../src/coordinator/shard-targets.js';
import { NO_LABELS, REPORTED_SCRAPES, type TargetState, type TargetStatus } from '../../src/shard/contract.js';

const keyArb = fc.stringMatching(/^[0-9a-f]{1,2}$/);
const stateArb = fc.constantFrom<TargetState>('normal', 'in_transfer');

function status(hash: string, state: TargetState, scrapes: number, series: number): TargetStatus {
  return {
    hash, job: 'j', labels: NO_LABELS, state, health: 'up', lastError: '', lastScrape: null, lastScrapeDuration: 0,
    series, lastSeries: series, samples: 0, bytes: 0, scrapesSinceAssigned: scrapes,
  } as TargetStatus;
}

/** The view made whole from what the sidecars hold: the first's targets and states, the fewest scrapes, capped. */
function wholeView(mirrors: SidecarMirror[]): Record<string, { state: TargetState; scrapes: number }> {
  const out: Record<string, { state: TargetState; scrapes: number }> = {};
  for (const st of mirrors[0]!.statuses.values()) {
    const scrapes = Math.min(...mirrors.map((m) => m.statuses.get(st.hash)?.scrapesSinceAssigned ?? 0), REPORTED_SCRAPES);
    out[st.hash] = { state: st.state, scrapes };
  }
  return out;
}

// One cycle's answer of one sidecar: a full answer or a change, with a version or none (an older sidecar).
const deltaArb = fc.record({
  full: fc.boolean(),
  set: fc.array(fc.tuple(keyArb, stateArb, fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 3 })), { maxLength: 8 }),
  removed: fc.array(keyArb, { maxLength: 4 }),
  versioned: fc.boolean(),
});

test('a shard\'s view follows its sidecars\' changes: as if made whole each cycle, the same object when nothing the planner reads changed, and where it changed is said', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 }), fc.array(fc.array(deltaArb, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 12 }), fc.array(fc.boolean(), { maxLength: 12 }), (replicas, cycles, newMirrors) => {
      const views = new StatusViews();
      let mirrors = Array.from({ length: replicas }, () => new SidecarMirror());
      let version = 0;
      let last: ShardTargets | undefined;
      cycles.forEach((deltas, c) => {
        // Sometimes the shard's sidecars are others (a replaced pod): the view is made anew.
        if (newMirrors[c]) mirrors = Array.from({ length: replicas }, () => new SidecarMirror());
        mirrors.forEach((m, r) => {
          const d = deltas[r]!;
          m.apply({ full: d.full, targets: d.set.map(([h, st, n, s]) => status(h, st, n, s)), removed: d.removed, ...(d.versioned ? { version: String(++version) } : {}) });
        });
        const { view, changedFrom } = views.of(0, mirrors);
        const want = wholeView(mirrors);
        assert.deepEqual(JSON.parse(JSON.stringify(view)), want);
        assert.deepEqual([...view.hashes], Object.keys(want).sort());
        if (last !== undefined && view !== last && changedFrom !== undefined) {
          // The planner then compares the two views at `keys` only: every difference must be there.
          assert.equal(changedFrom.from, last);
          const keys = new Set(changedFrom.keys);
          for (const h of new Set([...last.hashes, ...view.hashes])) {
            const a = last.get(h);
            const b = view.get(h);
            if (a?.state !== b?.state || a?.scrapes !== b?.scrapes) assert.ok(keys.has(h), `${h} changed but is not in changedFrom.keys`);
          }
        }
        if (last !== undefined && view === last) assert.deepEqual(JSON.parse(JSON.stringify(last)), want);
        last = view;
      });
    }),
    { numRuns: 1000 },
  );
});

test('a view unchanged by the sidecars\' answers is the same object (the planner skips it)', () => {
  const views = new StatusViews();
  const m = new SidecarMirror();
  m.apply({ full: true, targets: [status('a', 'normal', 5, 10), status('b', 'normal', 1, 10)], removed: [], version: '1' });
  const first = views.of(0, [m]).view;
  assert.equal(views.of(0, [m]).view, first, 'same version');
  // Series and scrapes beyond the cap change, nothing the planner reads does.
  m.apply({ full: false, targets: [status('a', 'normal', 9, 99)], removed: [], version: '2' });
  assert.equal(views.of(0, [m]).view, first, 'nothing the planner reads changed');
  m.apply({ full: false, targets: [status('b', 'normal', 2, 10)], removed: [], version: '3' });
  const { view, changedFrom } = views.of(0, [m]);
  assert.notEqual(view, first);
  assert.deepEqual(view.get('b'), { state: 'normal', scrapes: 2 });
  assert.deepEqual([...(changedFrom?.keys ?? [])], ['b']);
  assert.deepEqual(first.get('b'), { state: 'normal', scrapes: 1 }, 'the view the planner had is not changed');
});

test('meantView is the record with the scrapes of the view\'s entries in the same state (any state when asked), and the same object when asked again', () => {
  fc.assert(
    fc.property(
      fc.dictionary(keyArb, stateArb, { maxKeys: 30 }),
      fc.dictionary(keyArb, fc.tuple(stateArb, fc.integer({ min: 0, max: 5 })), { maxKeys: 30 }),
      fc.boolean(),
      (wantObj, viewObj, anyState) => {
        const want = AssignmentRecord.of(wantObj);
        const view = ShardTargets.of(Object.entries(viewObj).map(([h, [st, n]]) => [h, targetView(st, n)] as const));
        const meant = meantView(want, view, anyState);
        const expected: Record<string, { state: TargetState; scrapes: number }> = {};
        for (const [h, state] of Object.entries(wantObj).sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
          const had = viewObj[h];
          expected[h] = { state, scrapes: had !== undefined && (anyState || had[0] === state) ? had[1] : 0 };
        }
        assert.deepEqual(JSON.parse(JSON.stringify(meant)), expected);
        assert.equal(meantView(want, meant, anyState), meant);
      },
    ),
    { numRuns: 1000 },
  );
});

test('a sidecar\'s applied assignment is viewed with its scrapes capped, as the status views cap them', () => {
  const m = new SidecarMirror();
  m.apply({ full: true, targets: [status('b', 'in_transfer', 1, 10), status('a', 'normal', 9, 10)], removed: [], version: '1' });
  const view = viewOf(m.statuses);
  assert.deepEqual([...view.hashes], ['a', 'b']);
  assert.deepEqual(view.toObject(), { a: { state: 'normal', scrapes: REPORTED_SCRAPES }, b: { state: 'in_transfer', scrapes: 1 } });
  assert.equal(view.get('a'), targetView('normal', REPORTED_SCRAPES), 'a shared entry');
});
