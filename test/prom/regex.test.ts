/**
 * Re2Regex against Go 1.19's regexp as Prometheus 2.42 uses it (`^(?:<regex>)$`). The expected values in
 * the tables were produced by Go 1.19.8's regexp (FindStringSubmatch, Expand) and are facts here; every row
 * is checked on the fast path (auto) and on re2js alone. A property test then compares the two engines
 * on random patterns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseTemplate, Re2Regex, type Re2Engine } from '../../src/prom/regex.js';

const ENGINES: Re2Engine[] = ['auto', 're2js'];

function execNull(re: Re2Regex, s: string): (string | null)[] | null {
  const m = re.exec(s);
  return m === null ? null : Array.from(m, (x) => (x === undefined ? null : x));
}

const MATCHES: [string, string, (string | null)[] | null][] = [
  ["(.*)", "", ["", ""]],
  ["(.*)", "abc", ["abc", "abc"]],
  ["(.*)", "a\nb", null],
  ["(.*)", "😀", ["😀", "😀"]],
  [".*", "", [""]],
  [".*", "x", ["x"]],
  [".*", "\n", null],
  ["(.+)", "", null],
  ["(.+)", "x", ["x", "x"]],
  ["(.+)", "x\ny", null],
  ["foo(.*)", "foo", ["foo", ""]],
  ["foo(.*)", "foobar", ["foobar", "bar"]],
  ["foo(.*)", "fo", null],
  ["foo(.*)", "xfoo", null],
  ["foo(.*)", "foo\n", null],
  ["(.*)bar", "bar", ["bar", ""]],
  ["(.*)bar", "xbar", ["xbar", "x"]],
  ["(.*)bar", "barx", null],
  ["foo(.+)bar", "foobar", null],
  ["foo(.+)bar", "fooxbar", ["fooxbar", "x"]],
  ["foo(.+)bar", "foo\nbar", null],
  ["__meta_kubernetes_pod_label_(.+)", "__meta_kubernetes_pod_label_app", ["__meta_kubernetes_pod_label_app", "app"]],
  ["__meta_kubernetes_pod_label_(.+)", "__meta_kubernetes_pod_label_", null],
  ["__meta_kubernetes_pod_label_(.+)", "app", null],
  ["abc", "abc", ["abc"]],
  ["abc", "ab", null],
  ["abc", "abcd", null],
  ["abc", "ABC", null],
  ["", "", [""]],
  ["", "a", null],
  ["kube-system|monitoring", "kube-system", ["kube-system"]],
  ["kube-system|monitoring", "monitoring", ["monitoring"]],
  ["kube-system|monitoring", "kube-systemmonitoring", null],
  ["kube-system|monitoring", "default", null],
  ["(?s)(.*)", "a\nb", ["a\nb", "a\nb"]],
  ["(?s:.+)x", "\nx", ["\nx"]],
  ["(?s:.+)x", "x", null],
  ["a|b", "a", ["a"]],
  ["a|b", "b", ["b"]],
  ["a|b", "ab", null],
  ["a|b", "", null],
  ["a|ab", "a", ["a"]],
  ["a|ab", "ab", ["ab"]],
  ["a|ab", "abb", null],
  ["(a|ab)(c|bcd)(d*)", "abcd", ["abcd", "a", "bcd", ""]],
  ["(a|ab)(c|bcd)(d*)", "acd", ["acd", "a", "c", "d"]],
  ["x*", "", [""]],
  ["x*", "xxx", ["xxx"]],
  ["x*", "xxy", null],
  ["a.b", "axb", ["axb"]],
  ["a.b", "a\nb", null],
  ["a.b", "a😀b", ["a😀b"]],
  ["a.b", "aéb", ["aéb"]],
  ["[^a]", "\n", ["\n"]],
  ["[^a]", "b", ["b"]],
  ["[^a]", "a", null],
  ["(?s)a.b", "a\nb", ["a\nb"]],
  ["(?-s)(?s:.)", "\n", ["\n"]],
  [".", "😀", ["😀"]],
  [".", "e\u0301", null],
  [".", "é", ["é"]],
  [".", "", null],
  ["..", "😀", null],
  ["..", "e\u0301", ["e\u0301"]],
  ["..", "😀😀", ["😀😀"]],
  ["\\x{1F600}", "😀", ["😀"]],
  ["\\x{1F600}", "😁", null],
  ["[😀-😂]+", "😀😁😂", ["😀😁😂"]],
  ["[😀-😂]+", "😃", null],
  ["\\pL+", "héllo", ["héllo"]],
  ["\\pL+", "αβγ", ["αβγ"]],
  ["\\pL+", "a1", null],
  ["\\p{L}\\pM", "e\u0301", ["e\u0301"]],
  ["\\p{L}\\pM", "é", null],
  ["\\p{Greek}+", "αβγ", ["αβγ"]],
  ["\\p{Greek}+", "abc", null],
  ["\\PL", "1", ["1"]],
  ["\\PL", "a", null],
  ["\\PL", "😀", ["😀"]],
  ["\\p{^Greek}", "a", ["a"]],
  ["\\p{^Greek}", "α", null],
  ["[\\p{Greek}\\d]+", "α1β2", ["α1β2"]],
  ["[\\p{Greek}\\d]+", "a", null],
  ["[^\\p{Greek}a]", "b", ["b"]],
  ["[^\\p{Greek}a]", "a", null],
  ["[^\\p{Greek}a]", "α", null],
  ["\\pC", "\u0378", null],
  ["\\pC", "\u0001", ["\u0001"]],
  ["\\pC", "\u200b", ["\u200b"]],
  ["\\p{Han}", "中", ["中"]],
  ["\\p{Han}", "\u9ffd", null],
  ["\\p{Lu}", "A", ["A"]],
  ["\\p{Lu}", "a", null],
  ["\\p{Lu}", "\u2c2f", null],
  ["\\pN+", "123", ["123"]],
  ["\\pN+", "٣", ["٣"]],
  ["[[:alpha:]]+", "abcXYZ", ["abcXYZ"]],
  ["[[:alpha:]]+", "é", null],
  ["[[:^digit:]]+", "abc", ["abc"]],
  ["[[:^digit:]]+", "a1", null],
  ["[[:word:]]+", "a_1", ["a_1"]],
  ["[[:word:]]+", "a-b", null],
  ["[[:punct:]]+", "!-/:@[`{~", ["!-/:@[`{~"]],
  ["[[:punct:]]+", "a", null],
  ["[[:space:]]+", " \t\n\u000b\f\r", [" \t\n\u000b\f\r"]],
  ["[[:space:]]+", "\u00a0", null],
  ["[[:upper:][:digit:]]+", "AB12", ["AB12"]],
  ["[[:upper:][:digit:]]+", "ab", null],
  ["\\s", " ", [" "]],
  ["\\s", "\t", ["\t"]],
  ["\\s", "\n", ["\n"]],
  ["\\s", "\f", ["\f"]],
  ["\\s", "\r", ["\r"]],
  ["\\s", "\u000b", null],
  ["\\s", "\u00a0", null],
  ["\\s", "\u2028", null],
  ["\\S", "\u000b", ["\u000b"]],
  ["\\S", " ", null],
  ["\\S", "a", ["a"]],
  ["[\\S]", "\u000b", ["\u000b"]],
  ["[\\S]", " ", null],
  ["\\d+", "0123456789", ["0123456789"]],
  ["\\d+", "٣", null],
  ["\\D", "a", ["a"]],
  ["\\D", "1", null],
  ["\\D", "٣", ["٣"]],
  ["\\w+", "a_Z9", ["a_Z9"]],
  ["\\w+", "é", null],
  ["\\W", "é", ["é"]],
  ["\\W", "-", ["-"]],
  ["\\W", "a", null],
  ["a\\b", "a", ["a"]],
  [".*\\bfoo\\b.*", "a foo b", ["a foo b"]],
  [".*\\bfoo\\b.*", "afoo", null],
  [".*\\bfoo\\b.*", "é foo", ["é foo"]],
  ["\\Bx\\B", "x", null],
  [".\\B.", "ab", ["ab"]],
  [".\\B.", "a-", null],
  ["\\Q.*+\\E", ".*+", [".*+"]],
  ["\\Q.*+\\E", "abc", null],
  ["\\Qa(b\\E+", "a(bbb", ["a(bbb"]],
  ["\\Qa(b\\E+", "a(ba(b", null],
  ["\\Q\\E", "", [""]],
  ["\\Aabc\\z", "abc", ["abc"]],
  ["\\141\\x62\\x{63}", "abc", ["abc"]],
  ["\\0", "\u0000", ["\u0000"]],
  ["\\.\\-\\_\\{\\}", ".-_{}", [".-_{}"]],
  ["\\a\\f\\t\\n\\r\\v", "\u0007\f\t\n\r\u000b", ["\u0007\f\t\n\r\u000b"]],
  ["a{,5}", "a{,5}", ["a{,5}"]],
  ["a{,5}", "aaaaa", null],
  ["a{5", "a{5", ["a{5"]],
  ["x{2,3}", "x", null],
  ["x{2,3}", "xx", ["xx"]],
  ["x{2,3}", "xxx", ["xxx"]],
  ["x{2,3}", "xxxx", null],
  ["x{2,}", "x", null],
  ["x{2,}", "xxxxx", ["xxxxx"]],
  ["(x){0}", "", ["", null]],
  ["{", "{", ["{"]],
  ["[a-]+", "a-a", ["a-a"]],
  ["[a-]+", "b", null],
  ["[]a]+", "]a]", ["]a]"]],
  ["[]a]+", "b", null],
  ["[^]a]", "b", ["b"]],
  ["[^]a]", "]", null],
  ["[[:]+", "[:", ["[:"]],
  ["[[:]+", "]", null],
  ["[$^.*]+", "$^.*", ["$^.*"]],
  ["(?i)abc", "ABC", ["ABC"]],
  ["(?i)abc", "aBc", ["aBc"]],
  ["(?i)abc", "abd", null],
  ["(?i)k", "K", ["K"]],
  ["(?i)k", "k", ["k"]],
  ["(?i)k", "\u212a", ["\u212a"]],
  ["(?i)s+", "sSſ", ["sSſ"]],
  ["(?i)[a-c]+", "AbC", ["AbC"]],
  ["(?i)[a-c]+", "d", null],
  ["(?i)[^k]", "K", null],
  ["(?i)[^k]", "\u212a", null],
  ["(?i)[^k]", "j", ["j"]],
  ["(?i)\\w", "ſ", ["ſ"]],
  ["(?i)\\w", "\u212a", ["\u212a"]],
  ["(?i)\\w", "é", null],
  ["(?i)\\W", "ſ", null],
  ["(?i)\\W", "-", ["-"]],
  ["(?i)[[:^alpha:]]", "ſ", null],
  ["(?i)[[:^alpha:]]", "\u212a", null],
  ["(?i)[[:^alpha:]]", "1", ["1"]],
  ["(?i)é", "É", ["É"]],
  ["(?i)é", "é", ["é"]],
  ["(?i)é", "e", null],
  ["(?i)\\p{Lu}", "a", ["a"]],
  ["(?i)\\p{Lu}", "A", ["A"]],
  ["(?i)\\p{Lu}", "1", null],
  ["(?i:a)b", "Ab", ["Ab"]],
  ["(?i:a)b", "AB", null],
  ["a(?i)b|c", "aB", ["aB"]],
  ["a(?i)b|c", "C", ["C"]],
  ["(?i)ß", "ẞ", ["ẞ"]],
  ["(?i)ß", "ss", null],
  ["(a+?)(a*)", "aaa", ["aaa", "a", "aa"]],
  ["(?U)(a+)(a*)", "aaa", ["aaa", "a", "aa"]],
  ["(?U)(a+?)(a*)", "aaa", ["aaa", "aaa", ""]],
  ["(a*?)(a*?)", "aa", ["aa", "", "aa"]],
  ["(?m)a$\\n^b", "a\nb", ["a\nb"]],
  ["(?m:$)\\n(?m:^)", "\n", ["\n"]],
  ["(?m)^", "", [""]],
  ["(a*)+", "", ["", ""]],
  ["(a*)+", "b", null],
  ["((a)|b)+", "ab", ["ab", "b", "a"]],
  ["((a)|b)+", "ba", ["ba", "a", "a"]],
  ["(?:(a)|b)+", "ab", ["ab", "a"]],
  ["(a|b)*", "ab", ["ab", "b"]],
  ["(a|b)*", "", ["", null]],
  ["(ab)+", "abab", ["abab", "ab"]],
  ["(a*)*", "", ["", ""]],
  ["(a*)*", "aa", ["aa", "aa"]],
  ["(a|)+", "a", ["a", "a"]],
  ["(a|)+", "", ["", ""]],
  ["(|a)*", "a", ["a", "a"]],
  ["(|a)*", "aa", ["aa", "a"]],
  ["(a?)?", "", ["", ""]],
  ["(a+)+b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaac", null],
  ["(a+)+b", "aab", ["aab", "aa"]],
  ["(?:(a)|(b))+", "ab", ["ab", "a", "b"]],
  ["(a)?(b)?", "b", ["b", null, "b"]],
  ["(a)?(b)?", "", ["", null, null]],
  ["(?P<first>\\w+) (?P<last>\\w+)", "John Smith", ["John Smith", "John", "Smith"]],
  ["(?P<n>a)|(?P<n>b)", "b", ["b", null, "b"]],
  ["(?P<n>a)|(?P<n>b)", "a", ["a", "a", null]],
  ["(?P<1x>a)", "a", ["a", "a"]],
  ["a)|(b", "a", ["a", null]],
  ["a)|(b", "ax", ["a", null]],
  ["a)|(b", "xb", ["b", "b"]],
  ["a)|(b", "x", null],
  ["a)(b", "ab", ["ab", "b"]],
  ["a)(b", "a)(b", null],
];

const ERRORS: [string, string][] = [
  ["(a", "error parsing regexp: missing closing ): `^(?:(a)$`"],
  ["a)", "error parsing regexp: unexpected ): `^(?:a))$`"],
  ["(?<n>a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?<`"],
  ["(?<=a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?<`"],
  ["(?=a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"],
  ["(?!a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?!`"],
  ["\\1", "error parsing regexp: invalid escape sequence: `\\1`"],
  ["a++", "error parsing regexp: invalid nested repetition operator: `++`"],
  ["a**", "error parsing regexp: invalid nested repetition operator: `**`"],
  ["a{1001}", "error parsing regexp: invalid repeat count: `{1001}`"],
  ["a{2,1}", "error parsing regexp: invalid repeat count: `{2,1}`"],
  ["(a{1000}){1000}", "error parsing regexp: invalid repeat count: `{1000}`"],
  ["\\C", "error parsing regexp: invalid escape sequence: `\\C`"],
  ["\\Z", "error parsing regexp: invalid escape sequence: `\\Z`"],
  ["\\z\\", "error parsing regexp: missing closing ): `^(?:\\z\\)$`"],
  ["[z-a]", "error parsing regexp: invalid character class range: `z-a`"],
  ["[a", "error parsing regexp: missing closing ]: `[a)$`"],
  ["*", "error parsing regexp: missing argument to repetition operator: `*`"],
  ["(?P<>a)", "error parsing regexp: invalid named capture: `(?P<>`"],
  ["(?P<a-b>x)", "error parsing regexp: invalid named capture: `(?P<a-b>`"],
  ["(?P=n)", "error parsing regexp: invalid or unsupported Perl syntax: `(?P`"],
  ["\\e", "error parsing regexp: invalid escape sequence: `\\e`"],
  ["\\cA", "error parsing regexp: invalid escape sequence: `\\c`"],
  ["(?#c)", "error parsing regexp: invalid or unsupported Perl syntax: `(?#`"],
  ["(?x)a", "error parsing regexp: invalid or unsupported Perl syntax: `(?x`"],
  ["\\p{Foo}", "error parsing regexp: invalid character class range: `\\p{Foo}`"],
  ["\\p{Kawi}", "error parsing regexp: invalid character class range: `\\p{Kawi}`"],
  ["\\p{Cn}", "error parsing regexp: invalid character class range: `\\p{Cn}`"],
  ["\\p{Assigned}", "error parsing regexp: invalid character class range: `\\p{Assigned}`"],
  ["\\p{Lc}", "error parsing regexp: invalid character class range: `\\p{Lc}`"],
  ["\\p{latin}", "error parsing regexp: invalid character class range: `\\p{latin}`"],
  ["\\p{Script=Latin}", "error parsing regexp: invalid character class range: `\\p{Script=Latin}`"],
  ["[[:foo:]]", "error parsing regexp: invalid character class range: `[:foo:]`"],
  ["[[:]abc:]", "error parsing regexp: invalid character class range: `[:]abc:]`"],
  ["a)(?<x>b", "error parsing regexp: invalid or unsupported Perl syntax: `(?<`"],
  ["(?<x>b)(", "error parsing regexp: invalid or unsupported Perl syntax: `(?<`"],
  ["[[:]](?<x>", "error parsing regexp: invalid or unsupported Perl syntax: `(?<`"],
  ["\\x{110000}", "error parsing regexp: invalid escape sequence: `\\x{110000`"],
  ["\\8", "error parsing regexp: invalid escape sequence: `\\8`"],
  ["x{2}{3}", "error parsing regexp: invalid nested repetition operator: `{2}{3}`"],
  ["(?i", "error parsing regexp: missing closing ): `^(?:(?i)$`"],
  ["(?P<n>a)(?<m>b)", "error parsing regexp: invalid or unsupported Perl syntax: `(?<`"],
];

const VALID: string[] = ["(?P<n>a)(?P<n>b)", "[[:]", "\\p{Greek}", "\\pN", "\\p{Any}", "\\p{Yi}", "a{1000}", "(?i)(?-i)a", "(?U)a+", "(?m)^a$", "\\x{10FFFF}", "[\\d-z]"];

const EXPANSIONS: [string, string, string, string][] = [
  ["(a)(b)?", "a", "$1", "a"],
  ["(a)(b)?", "a", "${1}", "a"],
  ["(a)(b)?", "a", "$2", ""],
  ["(a)(b)?", "a", "[$2]", "[]"],
  ["(a)(b)?", "a", "$$", "$"],
  ["(a)(b)?", "a", "$$1", "$1"],
  ["(a)(b)?", "a", "$1x", ""],
  ["(a)(b)?", "a", "${1}x", "ax"],
  ["(a)(b)?", "a", "$", "$"],
  ["(a)(b)?", "a", "a$", "a$"],
  ["(a)(b)?", "a", "${", "${"],
  ["(a)(b)?", "a", "${1", "${1"],
  ["(a)(b)?", "a", "${}", "${}"],
  ["(a)(b)?", "a", "$-", "$-"],
  ["(a)(b)?", "a", "$01", ""],
  ["(a)(b)?", "a", "$0", "a"],
  ["(a)(b)?", "a", "${0}", "a"],
  ["(a)(b)?", "a", "$10", ""],
  ["(a)(b)?", "a", "$100000000", ""],
  ["(a)(b)?", "a", "$ 1", "$ 1"],
  ["(a)(b)?", "a", "$1$1", "aa"],
  ["(a)(b)?", "a", "$é", ""],
  ["(?P<host>[^:]+):(?P<port>\\d+)", "example:80", "$host", "example"],
  ["(?P<host>[^:]+):(?P<port>\\d+)", "example:80", "${host}", "example"],
  ["(?P<host>[^:]+):(?P<port>\\d+)", "example:80", "${port}/$host", "80/example"],
  ["(?P<host>[^:]+):(?P<port>\\d+)", "example:80", "$hostx", ""],
  ["(?P<host>[^:]+):(?P<port>\\d+)", "example:80", "${host}x", "examplex"],
  ["(?P<host>[^:]+):(?P<port>\\d+)", "example:80", "$port_", ""],
  ["(?P<host>[^:]+):(?P<port>\\d+)", "example:80", "$2:$1", "80:example"],
  ["(?P<host>[^:]+):(?P<port>\\d+)", "example:80", "${3}", ""],
  ["(?P<n>a)|(?P<n>b)", "b", "$n", "b"],
  ["(?P<n>a)|(?P<n>b)", "b", "${n}", "b"],
  ["(?P<n>a)|(?P<n>b)", "b", "$1|$2", "|b"],
  ["(?P<01>x)(y)", "xy", "$01", "x"],
  ["(?P<01>x)(y)", "xy", "$1", "x"],
  ["(?P<01>x)(y)", "xy", "${01}", "x"],
  ["(.*)", "v", "pre_${1}_post", "pre_v_post"],
  ["(.*)", "v", "$1$1", "vv"],
  ["(.*)", "v", "\\$1", "\\v"],
];

test('matches and submatches as Go gives them', () => {
  for (const engine of ENGINES) {
    const cache = new Map<string, Re2Regex>();
    for (const [pattern, input, expected] of MATCHES) {
      let re = cache.get(pattern);
      if (!re) cache.set(pattern, (re = Re2Regex.compile(pattern, { engine })));
      const what = `${engine} ${JSON.stringify(pattern)} on ${JSON.stringify(input)} (${re.strategy})`;
      assert.deepEqual(execNull(re, input), expected, what);
      assert.equal(re.test(input), expected !== null, what);
    }
  }
});

test('Go error messages for patterns Go rejects', () => {
  for (const [pattern, message] of ERRORS) {
    for (const engine of ENGINES) {
      assert.throws(() => Re2Regex.compile(pattern, { engine }), (e: unknown) => e instanceof Error && e.message === message, JSON.stringify(pattern));
    }
  }
  for (const pattern of VALID) assert.doesNotThrow(() => Re2Regex.compile(pattern), JSON.stringify(pattern));
});

test('Expand as Go does it', () => {
  for (const engine of ENGINES) {
    for (const [pattern, input, template, expected] of EXPANSIONS) {
      const re = Re2Regex.compile(pattern, { engine });
      const m = re.exec(input);
      assert.ok(m, pattern);
      assert.equal(re.expand(template, m), expected, `${pattern} ${template}`);
    }
  }
});

test('group names', () => {
  const re = Re2Regex.compile('(?P<host>[^:]+)(:)(?P<port>\\d+)(?P<host>x)?');
  assert.equal(re.numGroups, 4);
  assert.deepEqual(re.subexpNames, ['', 'host', '', 'port', 'host']);
  assert.deepEqual([...re.groupNames], [['host', 1], ['port', 3]]);
  assert.equal(re.source, '(?P<host>[^:]+)(:)(?P<port>\\d+)(?P<host>x)?');
  assert.equal(Re2Regex.compile('a(b)c').groupNames.size, 0);
});

/** Which path a pattern takes, and why it falls back. */
const STRATEGIES: [string, string, string][] = [
  ['(.*)', 'star', ''],
  ['.+', 'star', ''],
  ['foo_(.+)_bar', 'star', ''],
  ['(?s)x(.*)', 'star', ''],
  ['abc', 'literal', ''],
  ['\\Qa.b\\E', 'literal', ''],
  ['', 'literal', ''],
  ['a|bc|', 'literal-set', ''],
  ['(?i)abc', 'native', ''],
  ['(?P<a>x)|y', 'native', ''],
  ['[[:alpha:]]+\\s\\pL\\p{Greek}\\z', 'native', ''],
  ['(?m)^a$', 'native', ''],
  ['(?U)a+b*?', 'native', ''],
  ['([^:]+)(?::\\d+)?;(\\d+)', 'native', ''],
  ['(ab)+', 'native', ''],
  ['(?i)é', 're2js', 'case-insensitive non-ASCII'],
  ['((a)|b)+', 're2js', 'capture inside a repeated group'],
  ['(?:a|b)+', 're2js', 'nested repetition or alternation inside a repeated group'],
  ['(?:a+b)*', 're2js', 'nested repetition or alternation inside a repeated group'],
  ['(a*)*', 're2js', 'repetition of something that can match empty'],
  ['(a*)?', 're2js', 'repetition of something that can match empty'],
  ['(?:^)*', 're2js', 'repeated assertion'],
  ['\\b+', 're2js', 'repeated assertion'],
  ['(a|b)(c|d)(e|f)(g|h)(i|j)(k|l)(m|n)(o|p)(q|r)(s|t)(u|v)(w|x)(y|z)(a|b)(c|d)(e|f)(g|h)(i|j)(k|l)(m|n)(o|p)(q|r)(s|t)(u|v)', 're2js', 'too many choices for a backtracking engine'],
];

test('fast paths and fallback reasons', () => {
  for (const [pattern, strategy, reason] of STRATEGIES) {
    const re = Re2Regex.compile(pattern);
    assert.equal(re.strategy, strategy, pattern);
    assert.equal(re.fallbackReason, reason, pattern);
    assert.equal(Re2Regex.compile(pattern, { engine: 're2js' }).strategy, 're2js');
  }
  assert.equal(Re2Regex.compile('(.*)').isDotStarCapture(), true);
  assert.equal(Re2Regex.compile('(.+)').isDotStarCapture(), false);
  assert.equal(Re2Regex.compile('(?s)(.*)').isDotStarCapture(), false);
});

test('long inputs: no exponential or polynomial blow-up', () => {
  const t0 = Date.now();
  const nested = Re2Regex.compile('(a+)+b');
  assert.equal(nested.test('a'.repeat(50000) + 'c'), false);
  const poly = Re2Regex.compile('(.*)(.*)(.*)(.*),x');
  assert.equal(poly.strategy, 'native');
  assert.equal(poly.test(','.repeat(20000)), false);
  assert.deepEqual(execNull(poly, 'a,b,x'), ['a,b,x', 'a,b', '', '', '']);
  const big = Re2Regex.compile('([a-z]+)=(.*)');
  const long = 'k=' + 'v'.repeat(1_000_000);
  assert.equal(big.exec(long)?.[2]?.length, 1_000_000);
  assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
});

test('a ) that closes the wrapper: Go searches, and ReplaceAllString replaces every match', () => {
  for (const engine of ENGINES) {
    const re = Re2Regex.compile('a)|(b', { engine });
    assert.equal(re.wrapped, false);
    assert.deepEqual(execNull(re, 'xab'), ['b', 'b']);
    assert.equal(re.test('zz'), false);
    assert.equal(re.replaceAll('a_b_a', parseTemplate('[$1]', re.subexpNames)), '[]_b_a');
    const star = Re2Regex.compile('x*)|(', { engine });
    assert.equal(star.replaceAll('axxb', parseTemplate('-', star.subexpNames)), '-axxb-');
  }
  const w = Re2Regex.compile('(b)');
  assert.equal(w.wrapped, true);
  assert.equal(w.replaceAll('b', parseTemplate('<$1>', w.subexpNames)), '<b>');
  assert.equal(w.replaceAll('bb', parseTemplate('<$1>', w.subexpNames)), 'bb');
});

// ---------------------------------------------------------------------------------------------------------
// Property: the fast path (literal, set, star, native RegExp) agrees with re2js on everything.
// ---------------------------------------------------------------------------------------------------------

const atom = fc.constantFrom(
  'a', 'b', 'k', 's', 'é', '😀', '.', '\\.', '-', '[ab]', '[^a]', '[a-c]', '[k-s]', '[😀-😂]', '\\d', '\\w', '\\s', '\\W', '\\S',
  '\\b', '\\B', '^', '$', '\\A', '\\z', '\\pL', '\\p{Greek}', '\\PN', '[[:alpha:]]', '[[:^punct:]]', '\\x{1F600}', '\\n', '(?s:.)',
  '(?i:k)', '(?m:^)', '(?m:$)', '\\Q*\\E', '{', 'x{2}',
);
const quant = fc.constantFrom('*', '+', '?', '*?', '+?', '??', '{2}', '{1,3}', '{0,2}', '{2,}', '{1,3}?');

const pattern: fc.Arbitrary<string> = fc.letrec<{ re: string }>((tie) => ({
  re: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    atom,
    fc.tuple(tie('re'), tie('re')).map(([x, y]) => x + y),
    fc.tuple(tie('re'), tie('re')).map(([x, y]) => x + '|' + y),
    fc.tuple(fc.constantFrom('(', '(?:', '(?P<g>', '(?P<h>', '(?i:', '(?U:'), tie('re')).map(([o, x]) => o + x + ')'),
    fc.tuple(fc.constantFrom('(', '(?:', ''), atom, quant).map(([o, x, q]) => (o ? o + x + ')' : x) + q),
    fc.tuple(fc.constantFrom('(', '(?:'), tie('re'), quant).map(([o, x, q]) => o + x + ')' + q),
  ),
})).re.map((p) => p).chain((p) => fc.constantFrom(p, '(?i)' + p, '(?s)' + p, '(?U)' + p, '(?m)' + p));

const input = fc.array(fc.constantFrom('a', 'b', 'k', 'K', 's', 'S', 'ſ', '\u212a', 'é', 'É', '😀', '😁', 'α', '\n', ' ', '1', '-', '.', '_', '{'), { maxLength: 7 }).map((a) => a.join(''));
const TEMPLATES = ['$0', '<$1|${2}|$g|${h}>', '$$', '$1x', '${g}x'];

test('property: the fast path equals re2js', () => {
  let native = 0;
  fc.assert(
    fc.property(pattern, fc.array(input, { minLength: 1, maxLength: 8 }), (p, inputs) => {
      let fast: Re2Regex;
      try {
        fast = Re2Regex.compile(p);
      } catch (e) {
        assert.throws(() => Re2Regex.compile(p, { engine: 're2js' }), { message: (e as Error).message });
        return;
      }
      const slow = Re2Regex.compile(p, { engine: 're2js' });
      if (fast.strategy !== 're2js') native++;
      assert.deepEqual(fast.subexpNames, slow.subexpNames);
      for (const s of inputs) {
        const a = fast.exec(s);
        const b = slow.exec(s);
        const what = `${p} on ${JSON.stringify(s)} (${fast.strategy} ${fast.nativeSource ?? ''})`;
        assert.deepEqual(a === null ? null : [...a], b === null ? null : [...b], what);
        assert.equal(fast.test(s), slow.test(s), what);
        if (a && b) for (const t of TEMPLATES) assert.equal(fast.expand(t, a), slow.expand(t, b), what);
        for (const t of TEMPLATES) {
          assert.equal(fast.replaceAll(s, parseTemplate(t, fast.subexpNames)), slow.replaceAll(s, parseTemplate(t, slow.subexpNames)), what);
        }
      }
    }),
    { numRuns: 3000, seed: 42 },
  );
  assert.ok(native > 1000, `only ${native} patterns took a fast path`);
});

test('property: literal and dot-star fast paths equal re2js on arbitrary strings', () => {
  const lit = fc.string({ unit: 'grapheme', maxLength: 6 });
  fc.assert(
    fc.property(lit, lit, fc.constantFrom('(.*)', '(.+)', '.*', '.+', '(?s:.*)', ''), fc.array(fc.string({ unit: 'grapheme', maxLength: 12 }), { maxLength: 5 }), (pre, suf, mid, extra) => {
      const quote = (x: string): string => x.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
      const p = quote(pre) + mid + quote(suf);
      const fast = Re2Regex.compile(p);
      const slow = Re2Regex.compile(p, { engine: 're2js' });
      for (const s of [pre + suf, pre + 'x' + suf, pre + '\n' + suf, pre, suf, ...extra]) {
        const a = fast.exec(s);
        const b = slow.exec(s);
        assert.deepEqual(a === null ? null : [...a], b === null ? null : [...b], `${p} ${JSON.stringify(s)} ${fast.strategy}`);
      }
    }),
    { numRuns: 1000, seed: 7 },
  );
});
