/** PromQL text utilities: string literals as Prometheus 2.42 reads them, RE2 escaping, series selectors, the checked parse. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RE2JS } from 're2js';
import {
  escapeRegex, parsePromQL, parseSeriesSelector, printSeriesSelector, PromQLSyntaxError, quotePromQLString, unquotePromQLString,
  type Matcher,
} from '../../src/query/promql.js';

test('unquotePromQLString: every quote kind and every escape, as Go decodes them', () => {
  const cases: Array<[string, string]> = [
    ['""', ''],
    ['"plain"', 'plain'],
    ["'single'", 'single'],
    ['`raw`', 'raw'],
    ['"\\a\\b\\f\\n\\r\\t\\v\\\\"', '\x07\b\f\n\r\t\v\\'],
    ['"say \\"hi\\""', 'say "hi"'],
    ["'it\\'s'", "it's"],
    ['"it\'s"', "it's"], // the other quote needs no escape
    ["'a \"b\"'", 'a "b"'],
    ['"\\x41\\x7a"', 'Az'],
    ['"\\101\\172\\000"', 'Az\0'],
    ['"\\xc3\\xa9"', 'é'], // \x escapes are bytes: two of them make one UTF-8 character
    ['"\\303\\251"', 'é'],
    ['"\\u00e9\\u20AC"', 'é€'],
    ['"\\U0001F600"', '\u{1F600}'],
    ['"é😀"', 'é😀'],
    ['"{tenant_id=\\"b\\"}"', '{tenant_id="b"}'],
    ['`a\\nb "c" \'d\'`', 'a\\nb "c" \'d\''], // raw: backslashes are kept
    ['`two\nlines\r`', 'two\nlines\r'], // raw strings keep newlines and "\r" (strutil, unlike strconv, keeps "\r")
    ['"#"', '#'],
  ];
  for (const [lit, want] of cases) assert.equal(unquotePromQLString(lit), want, lit);
});

test('unquotePromQLString: invalid literals throw', () => {
  const bad = [
    '', '"', "'", '`', 'abc', '"abc', "'abc\"", '"a"b"', "'a'b'", '`a`b`', '"\\"', // unterminated or stray quotes
    '"a\nb"', "'a\nb'", // newline in a quoted string
    '"\\q"', '"\\ "', '"\\\n"', // unknown escapes
    "'\\\"'", '"\\\'"', // the other quote may not be escaped
    '"\\x4"', '"\\x4g"', '"\\u00e"', '"\\u{41}"', '"\\U0010FF"', // short or bad hex
    '"\\400"', '"\\12"', '"\\18"', // octal: three digits, at most \377
    '"\\ud800"', '"\\uDFFF"', '"\\U00110000"', // surrogates and beyond U+10FFFF
    '"\\xff"', '"\\xc3"', '"\\377"', // bytes that are not UTF-8
    '"\ufffd"', '`\ufffd`', // Go's lexer cannot tell U+FFFD from an invalid byte
    '"\ud800"', // a lone surrogate
  ];
  for (const lit of bad) assert.throws(() => unquotePromQLString(lit), /invalid string literal/, JSON.stringify(lit));
});

test('quotePromQLString: Go strconv.Quote output', () => {
  assert.equal(quotePromQLString(''), '""');
  assert.equal(quotePromQLString('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(quotePromQLString('\x07\b\f\n\r\t\v'), '"\\a\\b\\f\\n\\r\\t\\v"');
  assert.equal(quotePromQLString('\x01\x1f\x7f'), '"\\x01\\x1f\\x7f"');
  assert.equal(quotePromQLString("it's é 😀 {}"), '"it\'s é 😀 {}"');
  assert.equal(quotePromQLString('\u00a0\u2028\ue000\u{f0000}'), '"\\u00a0\\u2028\\ue000\\U000f0000"'); // not printable in Go
  assert.equal(quotePromQLString('\ufffd'), '"\\ufffd"'); // escaped so that Prometheus's lexer accepts it
  assert.throws(() => quotePromQLString('\ud800'), /surrogate/);
});

test('a string that begins with U+FEFF keeps it through quoting and unquoting (not taken off as a byte order mark)', () => {
  for (const s of ['\ufeff', '\ufeffa', 'a\ufeff']) assert.equal(unquotePromQLString(quotePromQLString(s)), s, JSON.stringify(s));
  assert.equal(unquotePromQLString('"\\xef\\xbb\\xbfa"'), '\ufeffa');
  assert.equal(unquotePromQLString('"\ufeffa"'), '\ufeffa');
});

test('quotePromQLString/unquotePromQLString round trip on any string', () => {
  fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.string()), (s) => {
    const lit = quotePromQLString(s);
    assert.equal(unquotePromQLString(lit), s);
    assert.doesNotThrow(() => parsePromQL(`foo{a=${lit}}`)); // and the whole query passes the checked parse
  }), { numRuns: 1000 });
});

test('escapeRegex: Go regexp.QuoteMeta', () => {
  assert.equal(escapeRegex('1.5-2.0?'), '1\\.5-2\\.0\\?'); // Go's documentation example
  assert.equal(escapeRegex('\\.+*?()|[]{}^$'), '\\\\\\.\\+\\*\\?\\(\\)\\|\\[\\]\\{\\}\\^\\$');
  assert.equal(escapeRegex('a-b_c/d é#"'), 'a-b_c/d é#"');
});

test('escapeRegex: the anchored pattern matches exactly the string (re2js)', () => {
  const tricky = fc.constantFrom('.', '*', '\\', '(', ')', '[', ']', '{', '}', '|', '^', '$', '+', '?', '\n', 'a', 'é', '😀', '\\Q', '\\E');
  const text = fc.oneof(fc.string({ unit: 'binary' }), fc.array(tricky).map((a) => a.join('')));
  fc.assert(fc.property(text, text, (s, other) => {
    const re = RE2JS.compile('^(?:' + escapeRegex(s) + ')$');
    assert.equal(re.matches(s), true, JSON.stringify(s));
    assert.equal(re.matches(other), other === s, `${JSON.stringify(s)} vs ${JSON.stringify(other)}`);
  }), { numRuns: 1000 });
});

test('parseSeriesSelector: what ParseMetricSelector accepts, the metric name last', () => {
  assert.deepEqual(parseSeriesSelector('foo'), [{ name: '__name__', type: '=', value: 'foo' }]);
  assert.deepEqual(parseSeriesSelector('foo{a="b"}'), [{ name: 'a', type: '=', value: 'b' }, { name: '__name__', type: '=', value: 'foo' }]);
  assert.deepEqual(parseSeriesSelector('{a=~"x"}'), [{ name: 'a', type: '=~', value: 'x' }]);
  assert.deepEqual(parseSeriesSelector(' job:rate5m { by != \'x\' , on !~ `y.*`, } # comment'), [
    { name: 'by', type: '!=', value: 'x' }, { name: 'on', type: '!~', value: 'y.*' }, { name: '__name__', type: '=', value: 'job:rate5m' },
  ]);
  assert.deepEqual(parseSeriesSelector('{__name__=~"foo|bar"}'), [{ name: '__name__', type: '=~', value: 'foo|bar' }]);
  assert.deepEqual(parseSeriesSelector('sum{x="1"}'), [{ name: 'x', type: '=', value: '1' }, { name: '__name__', type: '=', value: 'sum' }]);
});

test('parseSeriesSelector: anything but one selector is refused, with a clear message', () => {
  const refused: Array<[string, RegExp]> = [
    ['foo[5m]', /not a range selector/],
    ['foo[5m:1m]', /not a subquery/],
    ['foo offset 5m', /not a selector with offset/],
    ['foo @ 1', /not a selector with @/],
    ['(foo)', /not a parenthesized expression/],
    ['rate(foo[5m])', /not an expression/],
    ['foo or bar', /not an expression/],
    ['1', /not an expression/],
    ['"foo"', /not an expression/],
    ['{}', /^match\[\] must contain at least one non-empty matcher$/],
    ['{a=""}', /at least one non-empty matcher/],
    ['{a=~".*",b!="x"}', /at least one non-empty matcher/],
    ['{a=~"("}', /invalid regular expression in a=~"\(": error parsing regexp/],
    ['foo{b!~"a**"}', /invalid regular expression in b!~"a\*\*": error parsing regexp: invalid nested repetition operator/],
    ['foo{', /^parse error at 1:5: unexpected end of input$/],
    ['foo{a="b"', /^parse error at 1:10: unexpected end of input$/],
    ['foo}', /^parse error at 1:4: unexpected "}"$/],
    ['foo{a=b}', /^parse error at 1:7: unexpected/],
    ['', /^parse error at 1:1: unexpected end of input$/],
  ];
  for (const [sel, re] of refused) assert.throws(() => parseSeriesSelector(sel), (e: Error) => re.test(e.message), sel);
});

test('printSeriesSelector: braces, Go quoting, and it reads back the same', () => {
  assert.equal(printSeriesSelector([{ name: 'a', type: '=', value: 'b' }, { name: '__name__', type: '=', value: 'foo' }]), '{a="b",__name__="foo"}');
  assert.equal(printSeriesSelector([{ name: 'by', type: '!~', value: 'x"\\\n' }]), '{by!~"x\\"\\\\\\n"}');
  assert.throws(() => printSeriesSelector([{ name: 'a-b', type: '=', value: '' }]), /invalid label name/);
  const matcher = fc.record({
    name: fc.constantFrom('a', 'job', 'by', 'offset', '__name__', '_x9'),
    type: fc.constantFrom('=' as const, '!=' as const, '=~' as const, '!~' as const),
    value: fc.string({ unit: 'binary' }),
  });
  fc.assert(fc.property(fc.array(matcher, { minLength: 1, maxLength: 4 }), (ms) => {
    const sel: Matcher[] = [...ms, { name: 'z', type: '=', value: 'nonempty' }];
    const valid = sel.map((m) => (m.type === '=~' || m.type === '!~' ? { ...m, value: escapeRegex(m.value) } : m));
    assert.deepEqual(parseSeriesSelector(printSeriesSelector(valid)), valid.map((m) => ({ ...m })));
  }), { numRuns: 300 });
});

test('parsePromQL refuses what Prometheus would read differently, naming the position', () => {
  const refused: Array<[string, RegExp]> = [
    ['x # c\r or {tenant_id="b"}', /^parse error at 1:6: a carriage return inside a comment/],
    ['foo\f', /^parse error at 1:4: unexpected character "\\f"/],
    ['foo\v+ bar', /^parse error at 1:4: unexpected character/],
    ['foo\u00a0or bar', /^parse error at 1:4: unexpected character/],
    ['foo{a="b}', /^parse error at 1:7: invalid string literal "b}: not terminated/],
    ['foo{a="b\n"}', /^parse error at 1:7: invalid string literal/],
    ['foo{a="\\q"}', /^parse error at 1:7: invalid string literal "\\q": unknown escape sequence/],
    ['sum(foo)\n  + bar{a=1}', /^parse error at 2:11: unexpected "1"/],
    ['foo\ud800', /^parse error at 1:4: invalid Unicode/],
    ['"😀" + \udc00', /^parse error at 1:7: invalid Unicode/],
    ['foo é', /^parse error at 1:5: unexpected "é"/],
    ['foo bar', /^parse error at 1:5: unexpected "bar"/],
    ['((foo)', /^parse error at 1:7: unexpected end of input/],
  ];
  for (const [q, re] of refused) {
    assert.throws(() => parsePromQL(q), (e: unknown) => e instanceof PromQLSyntaxError && re.test(e.message), JSON.stringify(q));
  }
  // Carriage returns that end a line as Prometheus sees it are fine.
  assert.doesNotThrow(() => parsePromQL('foo # comment\r\n+ bar\r\n'));
  assert.doesNotThrow(() => parsePromQL('foo # comment \r \r\n+ bar'));
  assert.doesNotThrow(() => parsePromQL('foo{a="\u00a0\ufeff"} # \u2028 é'));
});
