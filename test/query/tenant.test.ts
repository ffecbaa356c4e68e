/**
 * Tenant enforcement: every selector of every query narrowed to the tenant, by text splicing. Each result is
 * checked with a walk of its own over lezer's tree (not the module's), so that a selector the module missed
 * would show here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RE2JS } from 're2js';
import type { LRParser } from '@lezer/lr';
// @ts-expect-error: the package's "exports" has no "types" condition, so TypeScript does not find its index.d.ts.
import { parser as lezerParser } from '@prometheus-io/lezer-promql';
import { enforceTenantInQuery, enforceTenantInSelector, tenantMatcher, type TenantOptions } from '../../src/query/tenant.js';
import { escapeRegex, quotePromQLString, unquotePromQLString } from '../../src/query/promql.js';

const parser: LRParser = lezerParser;
const A: TenantOptions = { labelName: 'tenant_id', tenant: 'a' };

/** The matchers of every VectorSelector of `q`; fails on any error node. */
function selectorsOf(q: string): Array<{ text: string; matchers: Array<{ name: string; op: string; value: string }> }> {
  const out: ReturnType<typeof selectorsOf> = [];
  parser.parse(q).iterate({
    enter(n) {
      assert.ok(!n.type.isError, `error node at ${n.from} in ${JSON.stringify(q)}`);
      if (n.name !== 'VectorSelector') return;
      const matchers = n.node.getChildren('LabelMatchers').flatMap((ms) => ms.getChildren('LabelMatcher')).map((m) => ({
        name: q.slice(m.getChild('LabelName')!.from, m.getChild('LabelName')!.to),
        op: q.slice(m.getChild('MatchOp')!.from, m.getChild('MatchOp')!.to),
        value: unquotePromQLString(q.slice(m.getChild('StringLiteral')!.from, m.getChild('StringLiteral')!.to)),
      }));
      out.push({ text: q.slice(n.from, n.to), matchers });
    },
  });
  return out;
}

/** Every selector of `q` carries the tenant: its equality, or exactly the injected regex. */
function assertEnforced(q: string, o: TenantOptions = A): void {
  for (const s of selectorsOf(q)) {
    const ok = s.matchers.some((m) => m.name === o.labelName && ((m.op === '=' && m.value === o.tenant) || (m.op === '=~' && m.value === escapeRegex(o.tenant))));
    assert.ok(ok, `selector ${s.text} of ${JSON.stringify(q)} is not narrowed to ${JSON.stringify(o.tenant)}`);
    assert.ok(!s.matchers.some((m) => m.name === o.labelName && m.op === '=' && m.value !== o.tenant), `selector ${s.text} asks for another tenant`);
  }
}

function enforced(q: string, o: TenantOptions = A): string {
  const r = enforceTenantInQuery(q, o);
  assert.ok(r.ok, `${JSON.stringify(q)} refused: ${r.ok ? '' : r.error}`);
  assertEnforced(r.query, o);
  assert.equal(selectorsOf(r.query).length, selectorsOf(q).length, 'as many selectors as before');
  return r.query;
}

const T = 'tenant_id=~"a"';

test('the rewrites of the issue, byte for byte', () => {
  assert.equal(enforced('foo'), `foo{${T}}`);
  assert.equal(enforced('foo{}'), `foo{${T}}`);
  assert.equal(enforced('foo{x="y"}'), `foo{${T},x="y"}`);
  assert.equal(enforced('{__name__="x"}'), `{${T},__name__="x"}`);
  assert.equal(enforced('foo[5m]'), `foo{${T}}[5m]`);
});

test('attacks and odd corners: every selector ends up narrowed to the tenant', () => {
  const cases: Array<[string, string]> = [
    ['foo{tenant_id=~".*"}', `foo{${T},tenant_id=~".*"}`],
    ['{tenant_id=~".*",job="x"}', `{${T},tenant_id=~".*",job="x"}`],
    ['foo{tenant_id!="a"}', `foo{${T},tenant_id!="a"}`],
    ['foo or bar', `foo{${T}} or bar{${T}}`],
    ['label_replace(foo, "tenant_id", "b", "", "")', `label_replace(foo{${T}}, "tenant_id", "b", "", "")`],
    ['max_over_time(foo[5m:1m])', `max_over_time(foo{${T}}[5m:1m])`],
    ['min_over_time(max_over_time(rate(foo{x="1"}[1m])[5m:1m])[1h:])', `min_over_time(max_over_time(rate(foo{${T},x="1"}[1m])[5m:1m])[1h:])`],
    ['absent(nonexistent)', `absent(nonexistent{${T}})`],
    ['absent_over_time(nonexistent{job="x"}[5m])', `absent_over_time(nonexistent{${T},job="x"}[5m])`],
    ['count_values("tenant_id", foo)', `count_values("tenant_id", foo{${T}})`],
    ['foo offset 5m', `foo{${T}} offset 5m`],
    ['foo @ start()', `foo{${T}} @ start()`],
    ['foo[5m] offset -1h @ 1609746000', `foo{${T}}[5m] offset -1h @ 1609746000`],
    ['foo * on(tenant_id) group_left(x) bar', `foo{${T}} * on(tenant_id) group_left(x) bar{${T}}`],
    ['sum by (tenant_id) (foo) / ignoring(tenant_id) group_right bar', `sum by (tenant_id) (foo{${T}}) / ignoring(tenant_id) group_right bar{${T}}`],
    ['foo # {tenant_id="b"}', `foo{${T}} # {tenant_id="b"}`],
    ['foo # ) or {tenant_id="b"}\n+ bar', `foo{${T}} # ) or {tenant_id="b"}\n+ bar{${T}}`],
    ['label_replace(foo, "x", "{tenant_id=\\"b\\"}", "", "")', `label_replace(foo{${T}}, "x", "{tenant_id=\\"b\\"}", "", "")`],
    ['label_replace(foo, "x", `{tenant_id="b"} or bar`, "", "")', `label_replace(foo{${T}}, "x", \`{tenant_id="b"} or bar\`, "", "")`],
    ['foo{x=`y"}`}', `foo{${T},x=\`y"}\`}`],
    ["foo{x='}\\''}", `foo{${T},x='}\\''}`],
    ['{__name__=~"foo|bar"}', `{${T},__name__=~"foo|bar"}`],
    ['foo{by="x"}', `foo{${T},by="x"}`],
    ['foo{on="1",offset="2",bool="3",group_left="4",inf="5",start="6"}', `foo{${T},on="1",offset="2",bool="3",group_left="4",inf="5",start="6"}`],
    ['sum + by - start', `sum{${T}} + by{${T}} - start{${T}}`], // keywords Prometheus also takes as metric names
    ['foo{x="日本語😀é"}', `foo{${T},x="日本語😀é"}`],
    ['foo {x="y",}', `foo {${T},x="y",}`],
    ['foo # c\n{x="y"}', `foo # c\n{${T},x="y"}`],
    ['foo{ # c\n}', `foo{${T} # c\n}`],
    ['foo{tenant_id="a"} + foo{tenant_id=\'a\'} + foo{tenant_id=`a`} + foo{tenant_id="\\x61"}', 'foo{tenant_id="a"} + foo{tenant_id=\'a\'} + foo{tenant_id=`a`} + foo{tenant_id="\\x61"}'],
    ['histogram_quantile(0.9, sum by (le) (rate(foo_bucket{job="x"}[5m])))', `histogram_quantile(0.9, sum by (le) (rate(foo_bucket{${T},job="x"}[5m])))`],
    ['topk(3, -(foo)) > bool 1 unless quantile(0.5, bar)', `topk(3, -(foo{${T}})) > bool 1 unless quantile(0.5, bar{${T}})`],
    ['scalar(foo) * vector(time()) and on() (a:b:c)', `scalar(foo{${T}}) * vector(time()) and on() (a:b:c{${T}})`],
    ['1 + 2 * time()', '1 + 2 * time()'],
    ['"just a string"', '"just a string"'],
    ['foo\r\n+ bar # x\r\n', `foo{${T}}\r\n+ bar{${T}} # x\r\n`],
  ];
  for (const [q, want] of cases) assert.equal(enforced(q), want, q);
});

test('another tenant\'s equality refuses the whole query with 403, naming the selector', () => {
  const refused = [
    '{tenant_id="b"}', 'foo or {tenant_id="b"}', 'absent(foo{tenant_id="b"})', 'foo{tenant_id=""}',
    'max_over_time(foo{tenant_id="b"}[5m:1m])', 'foo{tenant_id="a",tenant_id="b"}', "foo{tenant_id='b'}", 'foo{tenant_id=`b`}',
    'foo{tenant_id="\\x62"}', 'sum(rate(bar[5m])) / sum(rate(foo{job="x", tenant_id="A"}[5m]))',
  ];
  for (const q of refused) {
    const r = enforceTenantInQuery(q, A);
    assert.ok(!r.ok && r.status === 403, q);
    assert.match(r.error, /^selector .*tenant_id=.* asks for tenant_id=".*": tenant "a" may only read its own series$/, q);
  }
  const r = enforceTenantInQuery('foo + bar{job="x",tenant_id="b"}', A);
  assert.ok(!r.ok);
  assert.equal(r.error, 'selector bar{job="x",tenant_id="b"} asks for tenant_id="b": tenant "a" may only read its own series');
});

test('tenants with any characters are quoted and escaped', () => {
  for (const tenant of ['a"b', 'back\\slash', '.*', '}', 'a.b|c', '{tenant_id="b"}', 'team 1', 'x\ny', '日本', '😀', '\ufffd', '\u0000', '`']) {
    const o = { labelName: 'tenant_id', tenant };
    const q = enforced('foo + {job="x"}[5m] # c', o);
    const value = quotePromQLString(escapeRegex(tenant));
    assert.equal(q, `foo{tenant_id=~${value}} + {tenant_id=~${value},job="x"}[5m] # c`);
    assert.ok(RE2JS.compile(`^(?:${escapeRegex(tenant)})$`).matches(tenant));
    assert.equal(enforced(`foo{tenant_id=${quotePromQLString(tenant)}}`, o), `foo{tenant_id=${quotePromQLString(tenant)}}`, 'its own equality is kept');
  }
  assert.equal(enforced('foo', { labelName: 'tenant_id', tenant: 'a"b' }), 'foo{tenant_id=~"a\\"b"}');
  assert.equal(enforced('foo', { labelName: 'tenant_id', tenant: '\\' }), 'foo{tenant_id=~"\\\\\\\\"}');
  assert.equal(enforced('foo', { labelName: 'tenant_id', tenant: '.*' }), 'foo{tenant_id=~"\\\\.\\\\*"}');
  assert.equal(enforced('foo', { labelName: 'tenant_id', tenant: '}' }), 'foo{tenant_id=~"\\\\}"}');
});

test('a keyword as the tenant label name works as the grammar allows', () => {
  for (const labelName of ['on', 'offset', 'by', 'bool', 'group_left', 'inf']) {
    const o = { labelName, tenant: 'a' };
    assert.equal(enforced('sum by (x) (foo{x="1"}) or bar', o), `sum by (x) (foo{${labelName}=~"a",x="1"}) or bar{${labelName}=~"a"}`);
  }
});

test('malformed queries are refused with 400 naming the position', () => {
  const cases: Array<[string, string]> = [
    ['foo{', 'parse error at 1:5: unexpected end of input'],
    ['foo}', 'parse error at 1:4: unexpected "}"'],
    ['sum(foo', 'parse error at 1:8: unexpected end of input'],
    ['foo[5m', 'parse error at 1:7: unexpected end of input'],
    ['foo{a="b" c="d"}', 'parse error at 1:11: unexpected "c"'],
    ['foo $ bar', 'parse error at 1:5: unexpected "$"'],
    ['nofunc(foo)', 'parse error at 1:7: unexpected "("'],
    ['foo{a="b}', 'parse error at 1:7: invalid string literal "b}: not terminated'],
    ['x # c\r or {tenant_id="b"}', 'parse error at 1:6: a carriage return inside a comment ends it for Prometheus; put the rest on its own line'],
    ['foo\u2003or {tenant_id="b"}', 'parse error at 1:4: unexpected character "\u2003"'],
    ['foo\nor\n  bar{x=~"\\d"}', 'parse error at 3:10: invalid string literal "\\d": unknown escape sequence \\d'],
    ['', 'parse error at 1:1: unexpected end of input'],
  ];
  for (const [q, error] of cases) assert.deepEqual(enforceTenantInQuery(q, A), { ok: false, status: 400, error }, JSON.stringify(q));
});

test('a braces-only selector needs a matcher that does not match "", as in Prometheus', () => {
  for (const q of ['{}', '{x=""}', '{tenant_id=~".*"}', 'foo + {tenant_id!="b"}', '{x=~".*",y!~"z"}']) {
    const r = enforceTenantInQuery(q, A);
    assert.ok(!r.ok && r.status === 400, q);
    assert.match(r.error, /^parse error at 1:\d+: vector selector must contain at least one non-empty matcher$/, q);
  }
  const bad = enforceTenantInQuery('{x=~"("}', A);
  assert.ok(!bad.ok && bad.status === 400 && /invalid regular expression in x=~"\(": error parsing regexp/.test(bad.error));
  assert.equal(enforced('{x=~".+"}'), `{${T},x=~".+"}`);
});

test('programming errors throw', () => {
  assert.throws(() => enforceTenantInQuery('foo', { labelName: 'tenant_id', tenant: '' }), /without a tenant/);
  assert.throws(() => enforceTenantInSelector('foo', { labelName: 'tenant_id', tenant: '' }), /without a tenant/);
  assert.throws(() => tenantMatcher({ labelName: 'tenant-id', tenant: 'a' }), /invalid tenant label name/);
});

test('tenantMatcher and enforceTenantInSelector (match[] of series, labels, label values, federate)', () => {
  assert.deepEqual(tenantMatcher({ labelName: 'tenant_id', tenant: 'a.b' }), { name: 'tenant_id', type: '=~', value: 'a\\.b' });
  const ok: Array<[string, string]> = [
    ['foo', `{${T},__name__="foo"}`],
    ['up{job="x"}', `{${T},job="x",__name__="up"}`],
    ['{__name__=~"foo|bar"}', `{${T},__name__=~"foo|bar"}`],
    ['{tenant_id="a"}', '{tenant_id="a"}'],
    ["up{tenant_id='a'}", '{tenant_id="a",__name__="up"}'],
    ['{tenant_id=~".*",x="1"}', `{${T},tenant_id=~".*",x="1"}`],
    ['foo{by="x"} # c', `{${T},by="x",__name__="foo"}`],
  ];
  for (const [sel, want] of ok) assert.deepEqual(enforceTenantInSelector(sel, A), { ok: true, selector: want }, sel);
  const odd = enforceTenantInSelector('foo', { labelName: 'tenant_id', tenant: 'x"}' });
  assert.deepEqual(odd, { ok: true, selector: '{tenant_id=~"x\\"\\\\}",__name__="foo"}' });
  const refused: Array<[string, 400 | 403, RegExp]> = [
    ['{tenant_id="b"}', 403, /may only read its own series/],
    ['up{tenant_id=""}', 403, /may only read its own series/],
    ['foo[5m]', 400, /not a range selector/],
    ['foo or bar', 400, /not an expression/],
    ['{}', 400, /^match\[\] must contain at least one non-empty matcher$/],
    ['{tenant_id=~".*"}', 400, /non-empty matcher/],
    ['foo{', 400, /^parse error at 1:5: unexpected end of input$/],
  ];
  for (const [sel, status, re] of refused) {
    const r = enforceTenantInSelector(sel, A);
    assert.ok(!r.ok && r.status === status && re.test(r.error), `${sel}: ${JSON.stringify(r)}`);
  }
});

// ---------------------------------------------------------------------------------------------------------
// Property: random expressions. The generator builds the input and, at the same time, the expected output
// (the input with the tenant matcher inserted where each selector needs it), so the check "the output with
// the injected matchers removed is the input" is the stronger "the output is exactly the input plus them".
// ---------------------------------------------------------------------------------------------------------

type Piece = string | { inject: 'bare' | 'first' | 'first,' } | { own: 'double' | 'raw' } | { other: true };
interface Expr { pieces: Piece[]; foreign: boolean; empty: boolean }

const cat = (...parts: Array<Expr | Piece>): Expr => {
  const out: Expr = { pieces: [], foreign: false, empty: false };
  for (const p of parts) {
    if (typeof p === 'object' && 'pieces' in p) {
      out.pieces.push(...p.pieces);
      out.foreign ||= p.foreign;
      out.empty ||= p.empty;
    } else out.pieces.push(p);
  }
  return out;
};

const regexEmpty = (v: string) => RE2JS.compile(`^(?:${v})$`).matches('');
const ws = fc.constantFrom('', ' ', '  ', '\n', '\t', ' # {tenant_id="b"} ) or x\n', '\r\n');
const ws1 = fc.constantFrom(' ', '\n ', ' # c {\n');
const labelValue = fc.constantFrom(['"x"', 'x'], ['""', ''], ["'y z'", 'y z'], ['`a.*`', 'a.*'], ['".*"', '.*'], ['".+"', '.+'], ['"a|b"', 'a|b'],
  ['"\\\\{tenant_id=\\"b\\"\\\\}"', '\\{tenant_id="b"\\}'], ['"日本😀"', '日本😀'], ['"\\n\\x41"', '\nA']);
const otherMatcher = fc.tuple(fc.constantFrom('job', 'by', 'on', 'offset', '__name__', 'x'), fc.constantFrom('=', '!=', '=~', '!~'), labelValue, ws)
  .map(([name, op, [lit, v], w]) => ({
    pieces: [name, op, lit, w] as Piece[], foreign: false,
    empty: op === '=' ? v === '' : op === '!=' ? v !== '' : op === '=~' ? regexEmpty(v) : !regexEmpty(v),
    own: false,
  }));
type Generated = { pieces: Piece[]; foreign: boolean; empty: boolean; own: boolean };
const foreignMatcher = fc.constantFrom<Generated>(
  { pieces: ['tenant_id=', { other: true }], foreign: true, empty: false, own: false },
  { pieces: ['tenant_id=""'], foreign: true, empty: true, own: false },
);
const tenantLabelMatcher = fc.oneof({ weight: 6, arbitrary: fc.constantFrom<Generated>(
  { pieces: ['tenant_id=', { own: 'double' }], foreign: false, empty: false, own: true },
  { pieces: ['tenant_id = ', { own: 'raw' }], foreign: false, empty: false, own: true },
  { pieces: ['tenant_id=~".*"'], foreign: false, empty: true, own: false },
  { pieces: ['tenant_id!="b"'], foreign: false, empty: true, own: false },
  { pieces: ['tenant_id=~"a|b"'], foreign: false, empty: false, own: false },
) }, { weight: 1, arbitrary: foreignMatcher });
const selector: fc.Arbitrary<Expr> = fc.record({
  name: fc.option(fc.constantFrom('foo', 'http_requests_total', 'job:rate5m:sum', 'sum', 'by', 'start', 'rate', 'nan_x'), { nil: undefined }),
  braces: fc.option(fc.tuple(ws, fc.array(fc.oneof({ weight: 4, arbitrary: otherMatcher }, { weight: 1, arbitrary: tenantLabelMatcher }), { maxLength: 3 }), fc.boolean(), ws), { nil: undefined }),
}).filter((s) => s.name !== undefined || s.braces !== undefined).map(({ name, braces }) => {
  const own = braces?.[1].some((m) => m.own) ?? false;
  const out = cat();
  if (name) out.pieces.push(name);
  if (!braces) {
    out.pieces.push({ inject: 'bare' });
    return out;
  }
  const [before, matchers, trailingComma, inside] = braces;
  out.pieces.push(before, '{');
  if (!own) out.pieces.push({ inject: matchers.length > 0 ? 'first,' : 'first' });
  out.pieces.push(inside);
  matchers.forEach((m, i) => {
    if (i > 0) out.pieces.push(',');
    out.pieces.push(...m.pieces);
  });
  if (trailingComma && matchers.length > 0) out.pieces.push(',');
  out.pieces.push('}');
  out.foreign = matchers.some((m) => m.foreign);
  out.empty = !name && matchers.every((m) => m.empty);
  return out;
});

const { expr } = fc.letrec<{ expr: Expr; range: Expr }>((tie) => ({
  expr: fc.oneof({ depthSize: 'medium', withCrossShrink: true },
    { weight: 3, arbitrary: selector },
    fc.constant(cat('1')),
    tie('range').map((r) => cat('rate(', r, ')')),
    tie('range').map((r) => cat('absent_over_time(', r, ')')),
    fc.tuple(tie('expr'), ws).map(([e, w]) => cat('sum by (tenant_id, on) (', w, e, w, ')')),
    fc.tuple(tie('expr'), tie('expr'), ws, ws1).map(([a, b, w, w1]) => cat(a, w, '+', w, b)),
    fc.tuple(tie('expr'), tie('expr'), ws1).map(([a, b, w]) => cat(a, w, '* on(tenant_id) group_left(x)', w, b)),
    fc.tuple(tie('expr'), tie('expr'), ws1).map(([a, b, w]) => cat(a, w, 'unless', w, b)),
    tie('expr').map((e) => cat('absent(', e, ')')),
    tie('expr').map((e) => cat('label_replace(', e, ', "tenant_id", "{tenant_id=\\"b\\"}", "x", "(.*)")')),
    tie('expr').map((e) => cat('count_values(`tenant_id`, ', e, ')')),
    tie('expr').map((e) => cat('-(', e, ')')),
    fc.tuple(selector, ws1).map(([s, w]) => cat(s, w, 'offset 5m')),
    selector.map((s) => cat(s, ' @ start()')),
    tie('expr').map((e) => cat('max_over_time((', e, ')[10m:1m] offset 1m)')),
  ),
  range: fc.oneof({ depthSize: 'medium' },
    selector.map((s) => cat(s, '[5m]')),
    fc.tuple(selector, ws1).map(([s, w]) => cat(s, '[5m]', w, 'offset 1h')),
    tie('expr').map((e) => cat('(', e, ')[5m:]')),
  ),
}));

const binaryOp = fc.constantFrom(' + ', ' or ', '\nand on(tenant_id) ', ' / ignoring(x) group_left() ', ' > bool ', ' unless # or {tenant_id="b"}\n');
const program = fc.tuple(expr, fc.array(fc.tuple(binaryOp, expr), { maxLength: 4 })).map(([first, rest]) => cat(first, ...rest.flatMap(([op, e]) => [op, e])));

const tenantArb = fc.oneof(fc.constantFrom('a', 'team-1', 'a.b*c', 'x"y', 'back\\slash', '}{', 'é', '😀', 'x\ny', '`'), fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }));

function assemble(pieces: Piece[], tenant: string, inject: boolean): string {
  const injected = `tenant_id=~${quotePromQLString(escapeRegex(tenant))}`;
  return pieces.map((p) => {
    if (typeof p === 'string') return p;
    if ('own' in p) return p.own === 'raw' && !/[`\ufffd]/.test(tenant) ? '`' + tenant + '`' : quotePromQLString(tenant);
    if ('other' in p) return quotePromQLString(tenant + '_other');
    if (!inject) return '';
    return p.inject === 'bare' ? `{${injected}}` : p.inject === 'first' ? injected : injected + ',';
  }).join('');
}

test('property: random expressions come out narrowed, parseable, and otherwise unchanged', () => {
  fc.assert(fc.property(tenantArb, program, (tenant, e) => {
    const o = { labelName: 'tenant_id', tenant };
    const input = assemble(e.pieces, tenant, false);
    const r = enforceTenantInQuery(input, o);
    if (e.foreign) {
      assert.ok(!r.ok && r.status === 403, `${JSON.stringify(input)}: ${JSON.stringify(r)}`);
    } else if (e.empty) {
      assert.ok(!r.ok && r.status === 400 && r.error.endsWith('vector selector must contain at least one non-empty matcher'), `${JSON.stringify(input)}: ${JSON.stringify(r)}`);
    } else {
      assert.ok(r.ok, `${JSON.stringify(input)}: ${JSON.stringify(r)}`);
      assertEnforced(r.query, o); // parses without error nodes; every selector narrowed
      assert.equal(selectorsOf(r.query).length, selectorsOf(input).length);
      assert.equal(r.query, assemble(e.pieces, tenant, true));
    }
  }), { numRuns: 600 });
});
