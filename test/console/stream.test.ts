/**
 * The console's streaming reader of /api/v1/targets (src/console/web/stream.ts, compiled for the browser to
 * dist/console/stream.js; ArraySplitter uses no browser API, so Node runs it): whatever the chunking, the
 * elements of data.activeTargets come out exactly, in order, and nothing else does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

interface Splitter {
  feed(chunk: string): string;
  readonly done: boolean;
  status: string | undefined;
}
const { ArraySplitter } = (await import(new URL('../../console/stream.js', import.meta.url).href)) as { ArraySplitter: new (path: readonly string[]) => Splitter };

/** Feeds `text` cut at `cuts`; returns the elements found (parsed) and the splitter. */
function split(text: string, cuts: readonly number[]): { elements: unknown[]; s: Splitter } {
  const s = new ArraySplitter(['data', 'activeTargets']);
  const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const outs: string[] = [];
  let from = 0;
  for (const c of [...at, text.length]) {
    const out = s.feed(text.slice(from, c));
    if (out !== '') outs.push(out);
    from = c;
  }
  return { elements: JSON.parse(`[${outs.join(',')}]`) as unknown[], s };
}

const target = fc.dictionary(fc.string({ unit: 'binary', maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });
const envelope = fc.record({
  targets: fc.array(target, { maxLength: 12 }),
  dropped: fc.array(target, { maxLength: 3 }),
  /** Other members, some of them holding an "activeTargets" deeper down: not the wanted array. */
  decoy: fc.array(target, { maxLength: 3 }),
  statusFirst: fc.boolean(),
  dataKeysOrder: fc.boolean(),
  indent: fc.constantFrom(0, 1, 2),
  cuts: fc.array(fc.nat(), { maxLength: 40 }),
});

test('any envelope, cut anywhere: exactly the elements of data.activeTargets, in order, and the status', () => {
  fc.assert(
    fc.property(envelope, (e) => {
      const data: Record<string, unknown> = e.dataKeysOrder
        ? { activeTargets: e.targets, droppedTargets: e.dropped, nested: { activeTargets: e.decoy } }
        : { nested: { activeTargets: e.decoy }, droppedTargets: e.dropped, activeTargets: e.targets };
      const body = e.statusFirst ? { status: 'success', activeTargets: e.decoy, data } : { data, activeTargets: e.decoy, status: 'success' };
      const text = JSON.stringify(body, null, e.indent);
      const { elements, s } = split(text, e.cuts);
      assert.deepEqual(elements, JSON.parse(JSON.stringify(e.targets)));
      assert.equal(s.done, true);
      assert.equal(s.status, 'success');
      // Cut short: never done.
      if (text.length > 1) assert.equal(split(text.slice(0, text.length - 1), e.cuts).s.done, false);
    }),
    { numRuns: 400, seed: 20261203 },
  );
});

test('escapes, brackets and quotes in strings, cut at every position (one character at a time too)', () => {
  const targets = [
    { labels: { a: 'x\\"}]{[', 'k"ey': '\\\\', '\\': '"' }, scrapeUrl: 'http://h/"a"' },
    { labels: { emoji: '😀 é \u2028', ctl: '\n\t\u0000' }, n: [1, [2, { x: '}' }]], ok: true, no: null, f: -1.5e-7 },
    {},
  ];
  const text = JSON.stringify({ status: 'success', data: { activeTargets: targets, droppedTargets: [{ labels: { b: '[' } }] } });
  for (let c = 0; c <= text.length; c++) {
    const { elements, s } = split(text, [c]);
    assert.deepEqual(elements, targets, `cut at ${c}`);
    assert.equal(s.done, true);
  }
  assert.deepEqual(split(text, Array.from({ length: text.length }, (_, i) => i)).elements, targets);
});

test('the status is read whatever its place; an error envelope yields no elements', () => {
  const ok = split('{"data":{"activeTargets":[{"a":1}]},"status":"success"}', [3, 17]);
  assert.deepEqual(ok.elements, [{ a: 1 }]);
  assert.equal(ok.s.status, 'success');
  const err = split('{"status":"error","errorType":"internal","error":"boom"}', [5]);
  assert.deepEqual(err.elements, []);
  assert.equal(err.s.status, 'error');
  // A key spelled with escapes is still that key.
  assert.deepEqual(split('{"st\\u0061tus":"success","d\\u0061ta":{"activeTargets":[{"b":2}]}}', [4]).elements, [{ b: 2 }]);
});
