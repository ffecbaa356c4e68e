import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fitMatcher, fitMatchers, fitQueries, matcherMatches, refitResponse } from '../../src/query/store-read.js';
import { remoteProto, type LabelMatcher, type MatchType, type ReadQuery } from '../../src/query/remote/read-proto.js';

const ReadResponse = remoteProto.lookupType('prometheus.ReadResponse');
const m = (type: MatchType, name: string, value: string): LabelMatcher => ({ type, name, value });
const query = (...matchers: LabelMatcher[]): ReadQuery => ({ startMs: 0, endMs: 1000, matchers });

test('a matcher that the external value fails prunes; one it satisfies becomes "absent or matches"', () => {
  assert.equal(fitMatcher(m('EQ', 'cluster', 'b'), 'a'), undefined);
  assert.equal(fitMatcher(m('RE', 'cluster', 'b|c'), 'a'), undefined);
  assert.equal(fitMatcher(m('NEQ', 'cluster', 'a'), 'a'), undefined);
  assert.equal(fitMatcher(m('NRE', 'cluster', 'a.*'), 'a'), undefined);
  assert.deepEqual(fitMatcher(m('EQ', 'cluster', 'a.b'), 'a.b'), m('RE', 'cluster', 'a\\.b|'));
  assert.deepEqual(fitMatcher(m('RE', 'cluster', 'a|b'), 'a'), m('RE', 'cluster', '(?:a|b)|'));
  assert.deepEqual(fitMatcher(m('NEQ', 'cluster', 'b'), 'a'), m('NEQ', 'cluster', 'b'));
  // != "" and !~ ".*x|" reject an absent label: dropped, and the answer is filtered again.
  assert.equal(fitMatcher(m('NEQ', 'cluster', ''), 'a'), 'drop');
  assert.equal(fitMatcher(m('NRE', 'cluster', 'b|'), 'a'), 'drop');
});

test('fitted matchers select, on a store\'s own labels, exactly the series the original selects once the external label is added', () => {
  const types: MatchType[] = ['EQ', 'NEQ', 'RE', 'NRE'];
  const values = ['', 'a', 'b', 'a.b', 'ab'];
  const patterns = ['a', 'b', 'a|b', '.*', '.+', 'a.*', '', 'a\\.b'];
  fc.assert(fc.property(fc.constantFrom(...types), fc.constantFrom(...values, ...patterns), fc.constantFrom('a', 'b', 'a.b'), fc.option(fc.constantFrom(...values), { nil: undefined }), (type, value, ext, own) => {
    const original = m(type, 'cluster', value);
    if ((type === 'RE' || type === 'NRE') && !patterns.includes(value)) return;
    // The series as the store's TSDB holds it (own label or none), and as the view sees it (the external label added).
    const stored = own ?? '';
    const seen = own === undefined || own === '' ? ext : own;
    const wanted = matcherMatches(original, seen);
    const fitted = fitMatcher(original, ext);
    if (fitted === undefined) return !matcherMatches(original, ext); // pruned: the external value fails
    if (fitted === 'drop') return true; // the answer is filtered again
    assert.equal(matcherMatches(fitted, stored), wanted, `${JSON.stringify(original)} fitted to ${JSON.stringify(fitted)}, own value ${JSON.stringify(own)}, external ${ext}`);
    return true;
  }), { numRuns: 2000 });
});

test('fitQueries prunes per query and keeps the rest in order; a selector left with only empty-matching matchers selects every series', () => {
  const ext = { cluster: 'a', tenant_id: 'a' };
  const f = fitQueries([query(m('EQ', 'cluster', 'b')), query(m('EQ', '__name__', 'up'), m('EQ', 'tenant_id', 'a')), query(m('EQ', 'cluster', 'a'))], ext);
  assert.deepEqual(f.index, [1, 2]);
  assert.deepEqual(f.sent[0]!.matchers, [m('EQ', '__name__', 'up'), m('RE', 'tenant_id', 'a|')]);
  assert.deepEqual(f.sent[1]!.matchers, [m('RE', 'cluster', 'a|'), m('RE', '__name__', '.+')]);
  assert.equal(f.refit, true);
  assert.equal(fitQueries([query(m('EQ', 'job', 'x'))], {}).refit, false);
  assert.equal(fitMatchers([m('EQ', 'cluster', 'b')], ext), undefined);
});

test('refitResponse adds external labels where missing (the series\' own value wins), filters by the original matchers and re-indexes pruned queries', () => {
  const queries = [query(m('EQ', 'cluster', 'b')), query(m('EQ', 'tenant_id', 'a'), m('EQ', '__name__', 'up'))];
  const ext = { cluster: 'a', tenant_id: 'a' };
  const fit = fitQueries(queries, ext);
  const raw = ReadResponse.encode(ReadResponse.fromObject({
    results: [{
      timeseries: [
        { labels: [{ name: '__name__', value: 'up' }, { name: 'job', value: 'x' }], samples: [{ value: 1, timestamp: 5 }] },
        // A series that carries its own tenant_id wins over the external one, and then fails the query's matcher.
        { labels: [{ name: '__name__', value: 'up' }, { name: 'tenant_id', value: 'b' }], samples: [{ value: 2, timestamp: 5 }] },
      ],
    }],
  })).finish();
  const out = ReadResponse.toObject(ReadResponse.decode(refitResponse(raw, fit, queries, ext)), { longs: Number, defaults: true, arrays: true }) as { results: Array<{ timeseries: Array<{ labels: Array<{ name: string; value: string }> }> }> };
  assert.equal(out.results.length, 2);
  assert.deepEqual(out.results[0]!.timeseries, []);
  assert.deepEqual(out.results[1]!.timeseries.map((s) => s.labels), [[
    { name: '__name__', value: 'up' }, { name: 'cluster', value: 'a' }, { name: 'job', value: 'x' }, { name: 'tenant_id', value: 'a' },
  ]]);
  assert.throws(() => refitResponse(ReadResponse.encode(ReadResponse.fromObject({ results: [] })).finish(), fit, queries, ext), /answered 0 results to 1 queries/);
});
