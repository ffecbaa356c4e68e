/**
 * Series counting of scraped bodies (src/prom/exposition.ts). The first table holds facts of Prometheus 2.42:
 * the 2.42.0 binary scraped each body from a local server as job "c<row>" at 127.0.0.1:19111, with a label
 * `case` to find its series, and reported scrape_samples_scraped, scrape_samples_post_metric_relabeling, the
 * series it stored (/api/v1/series) and the target's lastError. Then the rules one by one, the chunk-boundary
 * property (any split gives the result of one push) and the exact-reference property (the fast path against a
 * slow reference that builds every label set).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse } from 'yaml';
import { isOpenMetrics, SeriesCounter, type SeriesCount, type SeriesCountOptions } from '../../src/prom/exposition.js';
import { readRelabelConfigs, relabel, type RelabelConfig } from '../../src/prom/relabel.js';
import type { Labels } from '../../src/prom/labels.js';

const OM = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export interface Fact {
  name: string;
  /** JOB and CASE stand for the row's job and case label values. */
  body: string | Buffer;
  contentType?: string;
  honorLabels?: boolean;
  /** Static labels of the target besides job, instance and case. */
  labels?: Labels;
  /** metric_relabel_configs (YAML). */
  rules?: string;
  samples: number;
  post: number;
  /** Series stored; absent where Prometheus's figure is not this counter's: after an error it stores none. */
  series?: number;
  /** Prometheus's lastError (JOB, CASE as in body); ours is `line <line>: ` and the same text. */
  error?: string;
  line?: number;
}

export const PROMETHEUS_FACTS: Fact[] = [
  // Text format 0.0.4.
  { name: 'HELP without a text', body: '# HELP a\na 1\n', samples: 1, post: 1, series: 1 },
  { name: 'TYPE without a type', body: '# TYPE a\na 1\n', samples: 0, post: 0, error: 'invalid metric type ""', line: 1 },
  { name: 'TYPE with a trailing blank', body: '# TYPE a counter \na 1\n', samples: 0, post: 0, error: 'invalid metric type "counter "', line: 1 },
  { name: 'TYPE after two blanks', body: '# TYPE  a  counter\na 1\n', samples: 0, post: 0, error: 'invalid metric type " counter"', line: 1 },
  { name: 'a raw newline in a value is \\n', body: 'a{b="x\ny"} 1\na{b="x\\ny"} 1\n', samples: 2, post: 2, series: 1 },
  { name: 'NUL where a line starts ends the data', body: 'a 1\n\0garbage\nb 1\n', samples: 1, post: 1, series: 1 },
  { name: 'NUL as the last byte', body: 'a 1\n\0', samples: 1, post: 1, series: 1 },
  { name: 'NUL in a #comment ends the data', body: '#x\0y\na 1\n', samples: 0, post: 0, series: 0 },
  { name: 'NUL in a # comment is text', body: '# x\0y\na 1\n', samples: 1, post: 1, series: 1 },
  { name: 'NUL in a label value', body: 'a{b="x\0y"} 1\n', samples: 1, post: 1, series: 1 },
  {
    name: 'blanks before a name are part of it',
    body: 'a{b="1",} 1\n a 1\n',
    samples: 2,
    post: 1,
    error: 'invalid metric name or label names: {__name__=" a", case="CASE", instance="127.0.0.1:19111", job="JOB"}',
    line: 2,
  },
  { name: 'a name with blanks before it dropped by the rules', body: '\ta 1\n', rules: '[{source_labels: [__name__], regex: "\\ta", action: drop}]', samples: 1, post: 0, series: 0 },
  { name: 'blanks between all tokens', body: 'a  {  b = "1" , c="2"  }   1   \n', samples: 1, post: 1, series: 1 },
  { name: 'a blank before the brace', body: 'a {b="2"} 1\n', samples: 1, post: 1, series: 1 },
  { name: 'no blank before the value', body: 'a{b="3"}1\n', samples: 1, post: 1, series: 1 },
  { name: 'the comma is optional', body: 'a{b="1" c="2"} 1\n', samples: 1, post: 1, series: 1 },
  { name: 'blank lines and indented comments', body: '  # HELP a x\n \t \na 1\n', samples: 1, post: 1, series: 1 },
  { name: '#HELP and #\\tHELP', body: '#\tHELP a x\n#HELP b\na 1\n', samples: 1, post: 1, series: 1 },
  { name: 'an empty body', body: '', samples: 0, post: 0, series: 0 },
  { name: 'a last line without a newline', body: 'a 1', samples: 1, post: 1, series: 1 },
  { name: 'a negative timestamp', body: 'a 1 -5\n', samples: 0, post: 0, error: 'expected timestamp or new record, got "INVALID"', line: 1 },
  { name: 'tabs, and a timestamp', body: 'a\t1\t5\n', samples: 1, post: 1 }, // stored nothing: 5 ms is too old
  { name: 'CRLF', body: 'a 1\r\n', samples: 0, post: 0, error: 'strconv.ParseFloat: parsing "1\\r": invalid syntax', line: 1 },
  { name: 'a label name twice', body: 'a{b="1",b="2"} 1\n', samples: 1, post: 0, error: 'label name "b" is not unique: invalid sample', line: 1 },
  { name: 'a label name twice, once empty', body: 'a{b="",b="2"} 1\n', samples: 1, post: 1, series: 1 },
  { name: 'a __name__ label', body: 'a{__name__="b"} 1\n', samples: 1, post: 0, error: 'label name "__name__" is not unique: invalid sample', line: 1 },
  { name: 'hex float', body: 'a 0x1\n', samples: 0, post: 0, error: 'strconv.ParseFloat: parsing "0x1": invalid syntax', line: 1 },
  { name: 'underscore in a float', body: 'a 1_000\n', samples: 0, post: 0, error: 'unsupported character in float', line: 1 },
  { name: 'special and short floats', body: 'a Inf\nb -inf\nc nan\nd infinity\ne .5\nf 5.\ng 1e-400\n', samples: 7, post: 7, series: 7 },
  { name: '+nan', body: 'a +nan\n', samples: 0, post: 0, error: 'strconv.ParseFloat: parsing "+nan": invalid syntax', line: 1 },
  { name: 'a float out of range', body: 'a 1e400\n', samples: 0, post: 0, error: 'strconv.ParseFloat: parsing "1e400": value out of range', line: 1 },
  { name: 'a timestamp out of range', body: 'a 1 99999999999999999999\n', samples: 0, post: 0, error: 'strconv.ParseInt: parsing "99999999999999999999": value out of range', line: 1 },
  { name: 'three numbers', body: 'a 1 2 3\n', samples: 0, post: 0, error: 'expected next entry after timestamp, got "TIMESTAMP"', line: 1 },
  { name: 'a brace first', body: '{b="1"} 1\n', samples: 0, post: 0, error: '"INVALID" is not a valid start token', line: 1 },
  { name: 'a digit first', body: '1a 1\n', samples: 0, post: 0, error: '"INVALID" is not a valid start token', line: 1 },
  { name: 'two label sets', body: 'a{b="1"}{c="2"} 1\n', samples: 0, post: 0, error: 'expected value after metric, got "BOPEN"', line: 1 },
  { name: 'an exemplar in the text format', body: 'a{b="1"} 1 # {t="x"} 2\n', samples: 0, post: 0, error: 'expected timestamp or new record, got "INVALID"', line: 1 },
  { name: 'a colon in a label name', body: 'a:b 1\na{b:c="1"} 1\n', samples: 1, post: 1, error: 'expected equal, got "INVALID"', line: 2 },
  { name: 'a backslash before a newline', body: 'a{b="x\\\ny"} 1\n', samples: 0, post: 0, error: 'expected label value, got "INVALID"', line: 1 },
  { name: 'invalid UTF-8 in a value', body: Buffer.from('a{b="\xff"} 1\n', 'latin1'), samples: 0, post: 0, error: 'invalid UTF-8 label value', line: 1 },
  { name: 'UTF-8 in a value', body: 'a{b="é"} 1\n', samples: 1, post: 1, series: 1 },
  { name: '\\t and \\\\t are the same value', body: 'a{b="\\t"} 1\na{b="\\\\t"} 2\n', samples: 2, post: 2, series: 1 },
  { name: '\\q and \\\\q are the same value', body: 'a{b="\\q"} 1\na{b="\\\\q"} 1\n', samples: 2, post: 2, series: 1 },
  { name: 'one series twice, labels in any order', body: 'a 1\na 2\nb{x="1",y="2"} 1\nb{y="2",x="1"} 1\n', samples: 4, post: 4, series: 2 },
  { name: 'names in byte order', body: 'a{B1_="1",a="2"} 1\n', samples: 1, post: 1, series: 1 },
  // Target labels.
  { name: 'exported_job', body: 'a{job="x"} 1\na{exported_job="x"} 1\n', samples: 2, post: 2, series: 1 },
  { name: 'exported_ again while taken', body: 'a{job="x",exported_job=""} 1\na{exported_exported_job="x"} 1\n', samples: 2, post: 2, series: 1 },
  {
    name: 'renames, shortest name first',
    body: 'a{instance="x",job="y"} 1\na{exported_instance="x",exported_job="y"} 1\na{job="y",exported_instance="x"} 1\n',
    samples: 3,
    post: 3,
    series: 1,
  },
  { name: 'the same value as the target', body: 'a{job="JOB"} 1\na 1\n', samples: 2, post: 2, series: 2 },
  { name: 'honor_labels: the scraped value wins', body: 'a{job="x"} 1\na 1\n', honorLabels: true, samples: 2, post: 2, series: 2 },
  { name: 'honor_labels: the target value makes one series', body: 'a{instance="127.0.0.1:19111"} 1\na 1\n', honorLabels: true, samples: 2, post: 2, series: 1 },
  { name: 'honor_labels: job again', body: 'a{job="JOB"} 1\na 1\n', honorLabels: true, samples: 2, post: 2, series: 1 },
  { name: 'honor_labels: an empty value keeps the target label out', body: 'a{job=""} 1\na 1\n', honorLabels: true, samples: 2, post: 2, series: 2 },
  { name: 'honor_labels: an empty value of a static label', body: 'a{b="x"} 1\na{b="x",c=""} 1\n', honorLabels: true, labels: { c: 'z' }, samples: 2, post: 2, series: 2 },
  {
    name: 'honor_labels and rules: one series',
    body: 'a{instance="127.0.0.1:19111",x="1"} 1\na{x="1"} 1\n',
    honorLabels: true,
    rules: '[{source_labels: [x], regex: "2", action: drop}]',
    samples: 2,
    post: 2,
    series: 1,
  },
  // metric_relabel_configs.
  { name: 'drop', body: 'a{b="1"} 1\na{c="1"} 1\n', rules: '[{source_labels: [b], regex: "1", action: drop}]', samples: 2, post: 1, series: 1 },
  { name: 'labeldrop __name__', body: 'a{b="1"} 1\n', rules: '[{regex: "__name__", action: labeldrop}]', samples: 1, post: 0, error: 'missing metric name (__name__ label)', line: 1 },
  { name: 'labelkeep of nothing drops', body: 'a{b="1"} 1\n', rules: '[{action: labelkeep, regex: "nothing"}]', samples: 1, post: 0, series: 0 },
  {
    name: 'rules make an invalid name',
    body: 'a{b="1"} 1\n',
    rules: '[{source_labels: [b], target_label: __name__, replacement: "1bad"}]',
    samples: 1,
    post: 0,
    error: 'invalid metric name or label names: {__name__="1bad", b="1", case="CASE", instance="127.0.0.1:19111", job="JOB"}',
    line: 1,
  },
  {
    name: 'rules read an exported_ label',
    body: 'a{b="1",c="2"} 1\n',
    labels: { b: 'z', c: 'y' },
    rules: '[{regex: "(.*)", replacement: "$1", target_label: "zz", source_labels: [exported_b]}]',
    samples: 1,
    post: 1,
    series: 1,
  },
  // OpenMetrics.
  { name: 'OM: a comment', body: '# foo\na 1\n# EOF\n', contentType: OM, samples: 0, post: 0, error: '"INVALID" "f" is not a valid start token', line: 1 },
  { name: 'OM: a blank line', body: 'a 1\n\nb 1\n# EOF\n', contentType: OM, samples: 1, post: 1, error: '"INVALID" "\\n" is not a valid start token', line: 2 },
  { name: 'OM: no # EOF', body: 'a 1\n', contentType: OM, samples: 1, post: 1, error: 'data does not end with # EOF', line: 2 },
  { name: 'OM: a line after # EOF', body: 'a 1\n# EOF\n\n', contentType: OM, samples: 1, post: 1, error: 'unexpected data after # EOF', line: 3 },
  { name: 'OM: text after # EOF', body: 'a 1\n# EOF extra\n', contentType: OM, samples: 1, post: 1, error: 'unexpected data after # EOF', line: 2 },
  { name: 'OM: # EOF without a newline', body: 'a{b="1"} 1\n# EOF', contentType: OM, samples: 1, post: 1, series: 1 },
  { name: 'OM: only a TYPE', body: '# TYPE a_total counter\n# EOF', contentType: OM, samples: 0, post: 0, series: 0 },
  { name: 'OM: #EOF', body: '#EOF\na 1\n', contentType: OM, samples: 0, post: 0, error: '"INVALID" "E" is not a valid start token', line: 1 },
  { name: 'OM: two blanks after #', body: '#  HELP a x\n# EOF\n', contentType: OM, samples: 0, post: 0, error: '"INVALID" " " is not a valid start token', line: 1 },
  { name: 'OM: NUL', body: 'a 1\n\0', contentType: OM, samples: 1, post: 1, error: '"INVALID" "\\x00" is not a valid start token', line: 2 },
  {
    name: 'OM: exemplars',
    body: 'a_total{b="1"} 1 # {t="x"} 2 3\na_total{b="2"} 1 # {} 2\na_bucket{le="1"} 1 # {t="x"} 2 1.5\n# EOF',
    contentType: OM,
    samples: 3,
    post: 3,
    series: 3,
  },
  { name: 'OM: _created is a series', body: '# TYPE a counter\na_total 1\na_created 1.7e9\n# EOF\n', contentType: OM, samples: 2, post: 2, series: 2 },
  { name: 'OM: an exemplar on a gauge', body: 'a{} 1\nb 1 # {} 2\n# EOF\n', contentType: OM, samples: 1, post: 1, error: 'metric name b does not support exemplars', line: 2 },
  { name: 'OM: an exemplar without a suffix', body: 'a 1 # {t="x"} 2\n# EOF\n', contentType: OM, samples: 0, post: 0, error: 'metric name a does not support exemplars', line: 1 },
  { name: 'OM: a NaN exemplar timestamp', body: 'a_total 1 # {t="x"} 2 NaN\n# EOF\n', contentType: OM, samples: 0, post: 0, error: 'invalid exemplar timestamp', line: 1 },
  { name: 'OM: a bad exemplar value', body: 'a_total 1 # {t="x"} abc\n# EOF\n', contentType: OM, samples: 0, post: 0, error: 'strconv.ParseFloat: parsing "abc": invalid syntax', line: 1 },
  { name: 'OM: after the exemplar timestamp', body: 'a_total 1 # {t="x"} 2 1 3\n# EOF\n', contentType: OM, samples: 0, post: 0, error: 'expected next entry after exemplar timestamp, got "TIMESTAMP"', line: 1 },
  { name: 'OM: two blanks in an exemplar', body: 'a_total 1 # {t="x"}  2\n# EOF\n', contentType: OM, samples: 0, post: 0, error: 'expected value after exemplar labels, got "INVALID"', line: 1 },
  { name: 'OM: an exemplar line, no # EOF', body: 'a_total 1 # {t="x"} 2\n', contentType: OM, samples: 1, post: 1, error: 'data does not end with # EOF', line: 2 },
  { name: 'OM: an unfinished last line', body: 'a_total 1 # {t="x"} 2', contentType: OM, samples: 0, post: 0, error: 'data does not end with # EOF', line: 1 },
  { name: 'OM: a blank in a label set', body: 'a{b="1", c="2"} 1\n# EOF\n', contentType: OM, samples: 0, post: 0, error: 'expected label name, got "INVALID"', line: 1 },
  { name: 'OM: a trailing comma', body: 'a{b="1",} 1\n# EOF\n', contentType: OM, samples: 0, post: 0, error: 'expected label name, got "BCLOSE"', line: 1 },
  { name: 'OM: no comma', body: 'a{b="1"c="2"} 1\n# EOF\n', contentType: OM, samples: 0, post: 0, error: 'expected comma, got "LNAME"', line: 1 },
  { name: 'OM: two blanks before the value', body: 'a{b="1"}  1\n# EOF\n', contentType: OM, samples: 0, post: 0, error: 'expected value after metric, got "INVALID"', line: 1 },
  { name: 'OM: HELP without a text', body: '# HELP a\na 1\n# EOF\n', contentType: OM, samples: 0, post: 0, error: 'expected text in HELP', line: 1 },
  { name: 'OM: HELP with an empty text', body: '# HELP a_total \n# EOF\n', contentType: OM, samples: 0, post: 0, series: 0 },
  { name: 'OM: untyped', body: '# TYPE a untyped\na 1\n# EOF\n', contentType: OM, samples: 0, post: 0, error: 'invalid metric type "untyped"', line: 1 },
  { name: 'OM: unknown and a unit', body: '# TYPE a unknown\n# UNIT a_seconds seconds\na 1\n# EOF\n', contentType: OM, samples: 1, post: 1, series: 1 },
  { name: 'OM: a unit that is not a suffix', body: '# UNIT a seconds\na 1\n# EOF\n', contentType: OM, samples: 0, post: 0, error: 'unit not a suffix of metric "a"', line: 1 },
  { name: 'OM: a NaN timestamp', body: 'a 1 1.5e3\nb 1 NaN\n# EOF\n', contentType: OM, samples: 1, post: 1, error: 'invalid timestamp', line: 2 },
  { name: 'OM: a value out of range', body: 'a 1e400\n# EOF\n', contentType: OM, samples: 0, post: 0, error: 'strconv.ParseFloat: parsing "1e400": value out of range', line: 1 },
  { name: 'OM: a timestamp out of range', body: 'a 1 1e400\n# EOF\n', contentType: OM, samples: 0, post: 0, error: 'strconv.ParseFloat: parsing "1e400": value out of range', line: 1 },
  { name: 'OM: a static label', body: 'a{b="1"} 1\n# EOF\n', contentType: OM, labels: { b: 'z' }, samples: 1, post: 1, series: 1 },
  // Content types.
  { name: 'OM with a trailing semicolon', body: 'a 1\n', contentType: 'application/openmetrics-text;version=1.0.0;', samples: 1, post: 1, error: 'data does not end with # EOF', line: 2 },
  { name: 'OM in capitals', body: 'a 1\n', contentType: 'Application/OpenMetrics-Text', samples: 1, post: 1, error: 'data does not end with # EOF', line: 2 },
  { name: 'a parameter twice: the text format', body: 'a 1\n', contentType: `${OM}; version=2`, samples: 1, post: 1, series: 1 },
  { name: 'text/plain with # EOF', body: 'a 1\n# EOF\n', contentType: 'text/plain', samples: 1, post: 1, series: 1 },
];

/** The target of PROMETHEUS_FACTS row i, as Prometheus had it. */
export function factTarget(i: number, fact: Fact): Labels {
  return { job: `c${i}`, instance: '127.0.0.1:19111', case: String(i), ...fact.labels };
}

function factText(i: number, s: string): string {
  return s.replaceAll('JOB', `c${i}`).replaceAll('CASE', String(i));
}

function rules(yaml: string | undefined): RelabelConfig[] {
  return yaml === undefined ? [] : readRelabelConfigs(parse(yaml), ['metric_relabel_configs'], 'metric relabeling rule');
}

function bytes(body: string | Uint8Array): Uint8Array {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

/** Counts a body pushed in pieces ending at the given offsets (one piece when none). */
function count(body: string | Uint8Array, opts: Partial<SeriesCountOptions> = {}, cuts: number[] = []): SeriesCount {
  const b = bytes(body);
  const counter = new SeriesCounter({ openMetrics: false, honorLabels: false, targetLabels: { job: 'j', instance: 'i:1' }, metricRelabelConfigs: [], ...opts });
  let from = 0;
  for (const cut of [...cuts, b.length]) {
    counter.push(b.subarray(from, Math.max(from, cut)));
    from = Math.max(from, cut);
  }
  return counter.end();
}

PROMETHEUS_FACTS.forEach((fact, i) => {
  test(`Prometheus 2.42: ${fact.name}`, () => {
    const body = typeof fact.body === 'string' ? factText(i, fact.body) : fact.body;
    const opts = {
      openMetrics: isOpenMetrics(fact.contentType),
      honorLabels: fact.honorLabels ?? false,
      targetLabels: factTarget(i, fact),
      metricRelabelConfigs: rules(fact.rules),
    };
    const got = count(body, opts);
    assert.equal(got.samples, fact.samples, 'samples');
    assert.equal(got.samplesPostRelabel, fact.post, 'samplesPostRelabel');
    if (fact.series !== undefined) assert.equal(got.series, fact.series, 'series');
    if (fact.error === undefined) {
      assert.equal(got.error, undefined);
    } else {
      // Prometheus's storage adds ": invalid sample" to the duplicate-name error; the parse is the same.
      const expected = factText(i, fact.error).replace(/: invalid sample$/, '');
      assert.equal(got.error, `line ${fact.line}: ${expected}`);
    }
  });
});

test('HELP, TYPE, comments and blank lines are not samples', () => {
  const body = '# HELP m Some help.\n# TYPE m counter\n# any comment\n\nm{a="1"} 1\n\n#\n';
  assert.deepEqual(count(body), { samples: 1, samplesPostRelabel: 1, series: 1, bytes: body.length });
});

test('a series is its name and labels: order, empty values, blanks and escapes do not matter', () => {
  const got = count(
    'x{a="1",b="2"} 1\nx{b="2",a="1"} 2\nx{ a = "1", b="2", } 3\nx{a="1",b="2",c=""} 4\n' +
      'y 1\ny{} 2\ny{a=""} 3\nz{a="q\\"\\\\\\n"} 1\nz{a="q\\"\\\\\n"} 2\n',
  );
  assert.deepEqual(got, { samples: 9, samplesPostRelabel: 9, series: 3, bytes: got.bytes });
});

test('values: floats, NaN, infinities, timestamps', () => {
  const got = count('a NaN\nb +Inf\nc -Inf\nd 1.5e-3\ne -0\nf 12 1700000000000\ng\t2\t3\n');
  assert.equal(got.error, undefined);
  assert.equal(got.series, 7);
});

test('parse errors stop counting and name the line', () => {
  const cases: Array<[string, number, string]> = [
    ['a 1\n@@@\nb 1\n', 1, 'line 2: "INVALID" is not a valid start token'],
    ['a 1\nb{c="1} 2\n', 1, 'line 2: expected label value, got "INVALID"'],
    ['a 1\nb{c="1"}\n', 1, 'line 2: expected value after metric, got "INVALID"'],
    ['a 1\nb 1.2.3\n', 1, 'line 2: strconv.ParseFloat: parsing "1.2.3": invalid syntax'],
    ['a 1\nb{c="x\ny"} 1\nd bad\n', 2, 'line 4: strconv.ParseFloat: parsing "bad": invalid syntax'],
    ['a 1\nb{c="x\ny",d="never closed} 1', 1, 'line 2: expected label value, got "INVALID"'],
  ];
  for (const [body, samples, error] of cases) {
    const got = count(body);
    assert.equal(got.error, error, body);
    assert.equal(got.samples, samples, body);
    assert.equal(got.series, samples, body);
  }
  const om = count('a 1\nb 2\n', { openMetrics: true });
  assert.deepEqual(om, { samples: 2, samplesPostRelabel: 2, series: 2, bytes: 8, error: 'line 3: data does not end with # EOF' });
});

test('OpenMetrics: exemplars are not samples, _created and _total are series', () => {
  const body = '# TYPE r counter\n# HELP r Requests.\nr_total{m="get"} 3 # {trace_id="abc"} 1 1.5\nr_created{m="get"} 1.7e9\n# EOF\n';
  assert.deepEqual(count(body, { openMetrics: true }), { samples: 2, samplesPostRelabel: 2, series: 2, bytes: body.length });
});

test('metric_relabel_configs: dropped samples are neither kept nor series; rules can merge series', () => {
  const got = count('a{x="1",y="1"} 1\na{x="1",y="2"} 1\na{x="2",y="1"} 1\n', {
    metricRelabelConfigs: rules('[{source_labels: [x], regex: "2", action: drop}, {regex: y, action: labeldrop}]'),
  });
  assert.deepEqual(got, { samples: 3, samplesPostRelabel: 2, series: 1, bytes: got.bytes });
});

test('body size limit: reached means failed, as Prometheus (which then parses nothing)', () => {
  const body = 'a 1\nb 2\nc 3\n'; // 12 bytes
  assert.equal(count(body, { bodySizeLimit: 13 }).error, undefined);
  const at = count(body, { bodySizeLimit: 12 });
  assert.equal(at.error, 'body size limit exceeded');
  const before = count(body, { bodySizeLimit: 6 }, [2, 5, 9]);
  assert.deepEqual(before, { samples: 1, samplesPostRelabel: 1, series: 1, bytes: 12, error: 'body size limit exceeded' });
  // The limit wins over a parse error, as Prometheus reads the body before parsing it.
  assert.equal(count('@\n' + body, { bodySizeLimit: 10 }).error, 'body size limit exceeded');
});

test('end() is idempotent and final; pieces may split UTF-8 characters', () => {
  const counter = new SeriesCounter({ openMetrics: false, honorLabels: false, targetLabels: {}, metricRelabelConfigs: [] });
  const body = Buffer.from('a{b="é€😀"} 1\nb 2');
  for (let i = 0; i < body.length; i++) counter.push(body.subarray(i, i + 1));
  const first = counter.end();
  assert.deepEqual(first, { samples: 2, samplesPostRelabel: 2, series: 2, bytes: body.length });
  assert.equal(counter.end(), first);
  assert.throws(() => counter.push(Buffer.from('c 1\n')), /after end/);
});

test('long lines and many labels: a line over many pieces, forty labels in any order', () => {
  const value = 'v'.repeat(200_000);
  const long = `a{b="${value}"} 1\na{b="${value}"} 2\n`;
  const cuts = Array.from({ length: 400 }, (_, i) => i * 1000);
  assert.deepEqual(count(long, {}, cuts), { samples: 2, samplesPostRelabel: 2, series: 1, bytes: long.length });
  const labels = Array.from({ length: 40 }, (_, i) => `l${String(i).padStart(2, '0')}="${i}"`);
  const body = `m{${labels.join(',')}} 1\nm{${[...labels].reverse().join(',')}} 2\nm{${labels.slice(1).join(',')}} 3\n`;
  assert.deepEqual(count(body), { samples: 3, samplesPostRelabel: 3, series: 2, bytes: body.length });
});

test('bytes counts every byte pushed, also after an error', () => {
  assert.deepEqual(count('a 1\n@\nb 2\nc 3\n', {}, [5, 9]), {
    samples: 1,
    samplesPostRelabel: 1,
    series: 1,
    bytes: 14,
    error: 'line 2: "INVALID" is not a valid start token',
  });
});

test('isOpenMetrics follows Go mime.ParseMediaType as textparse.New uses it', () => {
  assert.equal(isOpenMetrics(undefined), false);
  assert.equal(isOpenMetrics(''), false);
  assert.equal(isOpenMetrics('text/plain; version=0.0.4'), false);
  assert.equal(isOpenMetrics('application/openmetrics-text'), true);
  assert.equal(isOpenMetrics(' Application/OpenMetrics-Text ; version=1.0.0; charset=utf-8'), true);
  assert.equal(isOpenMetrics('application/openmetrics-text; version="1.0.0"'), true);
  assert.equal(isOpenMetrics('application/openmetrics-text;version=1.0.0;'), true);
  assert.equal(isOpenMetrics('application/openmetrics-text; version=1.0.0; version=2'), false);
  assert.equal(isOpenMetrics('application/openmetrics-text; version'), false);
  assert.equal(isOpenMetrics('application/openmetrics-text; v="unclosed'), false);
});

// Properties. Samples are generated as data and written out in many equivalent forms.

interface GenSample {
  name: string;
  labels: Array<[string, string]>;
  /** Writing choices: label order, blanks, trailing comma, raw newlines (text format). */
  order: number[];
  blanks: boolean;
  trailingComma: boolean;
  rawNewlines: boolean;
}

const NAMES = ['m', 'm_total', 'a:b', 'up2'];
const LABEL_NAMES = ['a', 'b', 'job', 'instance', 'exported_job', 'le', '__proto__', 'constructor'];
const VALUES = ['', 'x', 'y', 'é', '😀', 'a"b', 'a\\b', 'a\nb', '\\t', '0.5'];

const genSample: fc.Arbitrary<GenSample> = fc
  .record({
    name: fc.constantFrom(...NAMES),
    labels: fc.uniqueArray(fc.tuple(fc.constantFrom(...LABEL_NAMES), fc.constantFrom(...VALUES)), { maxLength: 4, selector: (l) => l[0] }),
    seed: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
    blanks: fc.boolean(),
    trailingComma: fc.boolean(),
    rawNewlines: fc.boolean(),
  })
  .map(({ name, labels, seed, blanks, trailingComma, rawNewlines }) => {
    const order = labels.map((_, i) => i).sort((x, y) => (seed[x % 4]! % 7) - (seed[y % 4]! % 7) || x - y);
    return { name, labels, order, blanks, trailingComma, rawNewlines };
  });

function escapeValue(v: string, rawNewlines: boolean): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? (rawNewlines ? '\n' : '\\n') : '\\' + c));
}

function writeSample(s: GenSample, openMetrics: boolean): string {
  const blank = s.blanks && !openMetrics ? ' ' : '';
  let out = s.name;
  if (s.labels.length > 0 || s.trailingComma) {
    const parts = s.order.map((i) => `${blank}${s.labels[i]![0]}${blank}=${blank}"${escapeValue(s.labels[i]![1], s.rawNewlines && !openMetrics)}"`);
    out += `{${parts.join(',')}${s.trailingComma && !openMetrics && parts.length > 0 ? ',' : ''}${blank}}`;
  }
  return out + ' 1\n';
}

function writeBody(samples: GenSample[], openMetrics: boolean): string {
  let out = '';
  samples.forEach((s, i) => {
    if (i % 3 === 0) out += `# HELP ${s.name} Help é.\n# TYPE ${s.name} gauge\n`;
    out += writeSample(s, openMetrics);
  });
  return openMetrics ? out + '# EOF\n' : out;
}

/** The slow reference: every label set built in full, as scrape.go builds it, then relabel(). */
function reference(samples: GenSample[], target: Labels, honor: boolean, cfgs: readonly RelabelConfig[]): { kept: number; series: number } {
  const keys = new Set<string>();
  let kept = 0;
  const targetNames = Object.keys(target).sort();
  for (const s of samples) {
    const scraped = new Map<string, string>([['__name__', s.name], ...s.labels]);
    const final = new Map(scraped);
    if (honor) {
      for (const n of targetNames) if (!scraped.has(n)) final.set(n, target[n]!);
    } else {
      const conflicts: Array<[string, string]> = [];
      for (const n of targetNames) {
        const v = scraped.get(n) ?? '';
        if (v !== '') conflicts.push([n, v]);
        final.set(n, target[n]!);
      }
      conflicts.sort((x, y) => x[0].length - y[0].length);
      const taken = new Set([...scraped.keys(), ...targetNames]);
      for (const [n, v] of conflicts) {
        let renamed = n;
        do renamed = 'exported_' + renamed;
        while (taken.has(renamed));
        taken.add(renamed);
        final.set(renamed, v);
      }
    }
    const asObject: Labels = {};
    for (const [k, v] of final) Object.defineProperty(asObject, k, { value: v, enumerable: true, writable: true, configurable: true });
    const out = cfgs.length > 0 ? relabel(asObject, cfgs) : asObject;
    if (out === null || Object.keys(out).length === 0) continue;
    kept++;
    keys.add(JSON.stringify(Object.entries(out).filter(([, v]) => v !== '').sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))));
  }
  return { kept, series: keys.size };
}

const TARGETS: Labels[] = [{}, { job: 'j', instance: 'i:1' }, { job: 'x', a: 'y' }, { instance: 'x', exported_job: 'y' }];
const RULE_SETS = [
  '',
  '[{regex: "a", action: labeldrop}]',
  '[{source_labels: [b], regex: "x|y", action: drop}]',
  '[{source_labels: [a, b], separator: "", target_label: a}, {regex: "(exported_)?job", action: labeldrop}]',
];

test('property: the fast path counts what a full reference counts', () => {
  fc.assert(
    fc.property(
      fc.array(genSample, { maxLength: 30 }),
      fc.constantFrom(...TARGETS),
      fc.boolean(),
      fc.boolean(),
      fc.constantFrom(...RULE_SETS),
      (samples, target, honor, openMetrics, ruleText) => {
        const cfgs = rules(ruleText === '' ? undefined : ruleText);
        const got = count(writeBody(samples, openMetrics), { openMetrics, honorLabels: honor, targetLabels: target, metricRelabelConfigs: cfgs });
        const want = reference(samples, target, honor, cfgs);
        assert.equal(got.error, undefined);
        assert.deepEqual([got.samples, got.samplesPostRelabel, got.series], [samples.length, want.kept, want.series]);
      },
    ),
    { numRuns: 400 },
  );
});

test('property: any split of a body counts as one push', () => {
  // Bodies, valid or broken by bytes put anywhere (also inside a UTF-8 character), cut anywhere.
  const noise = fc.constantFrom(
    ...['@', '{', '"', '\\', '\n', ' ', '# EOF\n', 'x{a="', '\0', '1e999'].map((s) => Buffer.from(s)),
    Buffer.from([0xff]),
    Buffer.from([0xc3]),
  );
  const body = fc
    .tuple(fc.array(genSample, { maxLength: 12 }), fc.boolean(), fc.array(fc.tuple(fc.nat(), noise), { maxLength: 2 }))
    .map(([samples, openMetrics, edits]) => {
      let b = Buffer.from(writeBody(samples, openMetrics));
      for (const [at, piece] of edits) {
        const i = at % (b.length + 1);
        b = Buffer.concat([b.subarray(0, i), piece, b.subarray(i)]);
      }
      return { bytes: b, openMetrics };
    });
  fc.assert(
    fc.property(body, fc.array(fc.nat(), { maxLength: 8 }), fc.boolean(), ({ bytes: b, openMetrics }, rawCuts, honor) => {
      const cuts = rawCuts.map((c) => c % (b.length + 1)).sort((x, y) => x - y);
      const opts = { openMetrics, honorLabels: honor, targetLabels: { job: 'j', a: 'x' } };
      assert.deepEqual(count(b, opts, cuts), count(b, opts));
    }),
    { numRuns: 500 },
  );
});
