/**
 * Relabeling as Prometheus 2.42 does it. The first table holds the cases of Prometheus's
 * model/relabel/relabel_test.go (TestRelabel), written here as YAML rules; the second adds behaviours of
 * 2.42 found by running the same rules through the 2.42.0 binary (`promtool check service-discovery`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import {
  goToLower,
  goToUpper,
  isValidRelabelTarget,
  readRelabelConfig,
  readRelabelConfigs,
  relabel,
  relabelLayered,
  RELABEL_FIELDS,
  targetLayoutNames,
  type RelabelConfig,
} from '../../src/prom/relabel.js';
import { MAX_EXTRA_NAMES, MAX_OUTPUT_SHAPES } from '../../src/prom/relabel-layout.js';
import { ConfigError } from '../../src/prom/errors.js';
import fc from 'fast-check';
import type { Labels } from '../../src/prom/labels.js';

export interface Case {
  name: string;
  input: Labels;
  rules: string;
  output?: Labels;
  drop?: true;
}

function rules(yaml: string): RelabelConfig[] {
  return readRelabelConfigs(parse(yaml), ['relabel_configs'], 'target relabeling rule');
}

function run(c: Case): void {
  const input = { ...c.input };
  const got = relabel(input, rules(c.rules));
  assert.deepEqual(input, c.input, 'input must not change');
  if (c.drop) assert.equal(got, null);
  else assert.deepEqual(got, c.output);
}

/** TestRelabel of prometheus/model/relabel/relabel_test.go. */
export const PROMETHEUS_CASES: Case[] = [
  {
    name: 'replace with ${1} twice',
    input: { a: 'foo', b: 'bar', c: 'baz' },
    rules: `[{source_labels: [a], regex: "f(.*)", target_label: d, separator: ";", replacement: "ch\${1}-ch\${1}", action: replace}]`,
    output: { a: 'foo', b: 'bar', c: 'baz', d: 'choo-choo' },
  },
  {
    name: 'two replaces, the second reads the first',
    input: { a: 'foo', b: 'bar', c: 'baz' },
    rules: `
- {source_labels: [a, b], regex: "f(.*);(.*)r", target_label: a, separator: ";", replacement: "b\${1}\${2}m", action: replace}
- {source_labels: [c, a], regex: "(b).*b(.*)ba(.*)", target_label: d, separator: ";", replacement: "$1$2$2$3", action: replace}`,
    output: { a: 'boobam', b: 'bar', c: 'baz', d: 'boooom' },
  },
  {
    name: 'drop stops before the next rule',
    input: { a: 'foo' },
    rules: `
- {source_labels: [a], regex: ".*o.*", action: drop}
- {source_labels: [a], regex: "f(.*)", target_label: d, separator: ";", replacement: "ch$1-ch$1", action: replace}`,
    drop: true,
  },
  {
    name: 'drop on match',
    input: { a: 'foo', b: 'bar' },
    rules: `[{source_labels: [a], regex: ".*o.*", action: drop}]`,
    drop: true,
  },
  {
    name: 'group inside .*',
    input: { a: 'abc' },
    rules: `[{source_labels: [a], regex: ".*(b).*", target_label: d, separator: ";", replacement: "$1", action: replace}]`,
    output: { a: 'abc', d: 'b' },
  },
  {
    name: 'drop without match keeps',
    input: { a: 'foo' },
    rules: `[{source_labels: [a], regex: "no-match", action: drop}]`,
    output: { a: 'foo' },
  },
  {
    name: 'the regex is anchored: f|o does not match foo',
    input: { a: 'foo' },
    rules: `[{source_labels: [a], regex: "f|o", action: drop}]`,
    output: { a: 'foo' },
  },
  {
    name: 'keep without match drops',
    input: { a: 'foo' },
    rules: `[{source_labels: [a], regex: "no-match", action: keep}]`,
    drop: true,
  },
  {
    name: 'keep on match',
    input: { a: 'foo' },
    rules: `[{source_labels: [a], regex: "f.*", action: keep}]`,
    output: { a: 'foo' },
  },
  {
    name: 'no replacement without a match',
    input: { a: 'boo' },
    rules: `[{source_labels: [a], regex: "f", target_label: b, replacement: bar, action: replace}]`,
    output: { a: 'boo' },
  },
  {
    name: 'hashmod',
    input: { a: 'foo', b: 'bar', c: 'baz' },
    rules: `[{source_labels: [c], target_label: d, separator: ";", action: hashmod, modulus: 1000}]`,
    output: { a: 'foo', b: 'bar', c: 'baz', d: '976' },
  },
  {
    name: 'hashmod of a value with a newline',
    input: { a: 'foo\nbar' },
    rules: `[{source_labels: [a], target_label: b, separator: ";", action: hashmod, modulus: 1000}]`,
    output: { a: 'foo\nbar', b: '734' },
  },
  {
    name: 'labelmap',
    input: { a: 'foo', b1: 'bar', b2: 'baz' },
    rules: `[{regex: "(b.*)", replacement: "bar_\${1}", action: labelmap}]`,
    output: { a: 'foo', b1: 'bar', b2: 'baz', bar_b1: 'bar', bar_b2: 'baz' },
  },
  {
    name: 'labelmap of meta labels',
    input: { a: 'foo', __meta_my_bar: 'aaa', __meta_my_baz: 'bbb', __meta_other: 'ccc' },
    rules: `[{regex: "__meta_(my.*)", replacement: "\${1}", action: labelmap}]`,
    output: { a: 'foo', __meta_my_bar: 'aaa', __meta_my_baz: 'bbb', __meta_other: 'ccc', my_bar: 'aaa', my_baz: 'bbb' },
  },
  {
    name: 'target label from a group',
    input: { a: 'some-name-value' },
    rules: `[{source_labels: [a], regex: "some-([^-]+)-([^,]+)", action: replace, replacement: "\${2}", target_label: "\${1}"}]`,
    output: { a: 'some-name-value', name: 'value' },
  },
  {
    name: 'empty replacement from a missing group',
    input: { a: 'some-name-value' },
    rules: `[{source_labels: [a], regex: "some-([^-]+)-([^,]+)", action: replace, replacement: "\${3}", target_label: "\${1}"}]`,
    output: { a: 'some-name-value' },
  },
  {
    name: 'target label expanding to nothing',
    input: { a: 'some-name-0' },
    rules: `
- {source_labels: [a], regex: "some-([^-]+)-([^,]+)", action: replace, replacement: "\${1}", target_label: "\${3}"}
- {source_labels: [a], regex: "some-([^-]+)-([^,]+)", action: replace, replacement: "\${1}", target_label: "\${3}"}
- {source_labels: [a], regex: "some-([^-]+)(-[^,]+)", action: replace, replacement: "\${1}", target_label: "\${3}"}`,
    output: { a: 'some-name-0' },
  },
  {
    name: 'real-life tags',
    input: { __meta_sd_tags: 'path:/secret,job:some-job,label:foo=bar' },
    rules: `
- {source_labels: [__meta_sd_tags], regex: "(?:.+,|^)path:(/[^,]+).*", action: replace, replacement: "\${1}", target_label: __metrics_path__}
- {source_labels: [__meta_sd_tags], regex: "(?:.+,|^)job:([^,]+).*", action: replace, replacement: "\${1}", target_label: job}
- {source_labels: [__meta_sd_tags], regex: "(?:.+,|^)label:([^=]+)=([^,]+).*", action: replace, replacement: "\${2}", target_label: "\${1}"}`,
    output: { __meta_sd_tags: 'path:/secret,job:some-job,label:foo=bar', __metrics_path__: '/secret', job: 'some-job', foo: 'bar' },
  },
  {
    name: 'labeldrop then set the same label again (prometheus#12283)',
    input: { __meta_kubernetes_pod_container_port_name: 'foo', __meta_kubernetes_pod_annotation_XXX_metrics_port: '9091' },
    rules: `
- {regex: "^__meta_kubernetes_pod_container_port_name$", action: labeldrop}
- {source_labels: [__meta_kubernetes_pod_annotation_XXX_metrics_port], regex: "(.+)", action: replace, replacement: metrics, target_label: __meta_kubernetes_pod_container_port_name}
- {source_labels: [__meta_kubernetes_pod_container_port_name], regex: "^metrics$", action: keep}`,
    output: { __meta_kubernetes_pod_annotation_XXX_metrics_port: '9091', __meta_kubernetes_pod_container_port_name: 'metrics' },
  },
  {
    name: 'labelkeep',
    input: { a: 'foo', b1: 'bar', b2: 'baz' },
    rules: `[{regex: "(b.*)", action: labelkeep}]`,
    output: { b1: 'bar', b2: 'baz' },
  },
  {
    name: 'labeldrop',
    input: { a: 'foo', b1: 'bar', b2: 'baz' },
    rules: `[{regex: "(b.*)", action: labeldrop}]`,
    output: { a: 'foo' },
  },
  {
    name: 'uppercase and lowercase',
    input: { foo: 'bAr123Foo' },
    rules: `
- {source_labels: [foo], action: uppercase, target_label: foo_uppercase}
- {source_labels: [foo], action: lowercase, target_label: foo_lowercase}`,
    output: { foo: 'bAr123Foo', foo_lowercase: 'bar123foo', foo_uppercase: 'BAR123FOO' },
  },
  {
    name: 'keepequal with an equal label',
    input: { __tmp_port: '1234', __port1: '1234', __port2: '5678' },
    rules: `[{source_labels: [__tmp_port], action: keepequal, target_label: __port1}]`,
    output: { __tmp_port: '1234', __port1: '1234', __port2: '5678' },
  },
  {
    name: 'dropequal with an equal label',
    input: { __tmp_port: '1234', __port1: '1234', __port2: '5678' },
    rules: `[{source_labels: [__tmp_port], action: dropequal, target_label: __port1}]`,
    drop: true,
  },
  {
    name: 'dropequal with a different label',
    input: { __tmp_port: '1234', __port1: '1234', __port2: '5678' },
    rules: `[{source_labels: [__tmp_port], action: dropequal, target_label: __port2}]`,
    output: { __tmp_port: '1234', __port1: '1234', __port2: '5678' },
  },
  {
    name: 'keepequal with a different label',
    input: { __tmp_port: '1234', __port1: '1234', __port2: '5678' },
    rules: `[{source_labels: [__tmp_port], action: keepequal, target_label: __port2}]`,
    drop: true,
  },
];

/** Behaviours of the 2.42.0 binary beyond relabel_test.go (each checked with promtool). */
export const MORE_CASES: Case[] = [
  {
    name: 'defaults: (.*) → $1 copies the joined value',
    input: { a: 'x', b: 'y' },
    rules: `[{source_labels: [a, b], target_label: t}]`,
    output: { a: 'x', b: 'y', t: 'x;y' },
  },
  {
    name: 'missing source labels join as empty strings',
    input: { a: 'x' },
    rules: `[{source_labels: [zz, a, yy], separator: "-", target_label: t}]`,
    output: { a: 'x', t: '-x-' },
  },
  {
    name: 'no source labels: the value is empty and (.*) matches it',
    input: { a: 'x' },
    rules: `[{target_label: t, replacement: fixed}]`,
    output: { a: 'x', t: 'fixed' },
  },
  {
    name: 'an empty result deletes the target',
    input: { a: 'x', t: 'old' },
    rules: `[{source_labels: [zz], target_label: t}]`,
    output: { a: 'x' },
  },
  {
    name: '. does not match a newline in 2.42: (.*) does not match, nothing happens',
    input: { a: 'x\ny', t: 'old' },
    rules: `[{source_labels: [a], target_label: t}, {source_labels: [a], regex: "(?s)(.*)", target_label: u}]`,
    output: { a: 'x\ny', t: 'old', u: 'x\ny' },
  },
  {
    // Not observable with real label names: 2.42 deletes the label literally named "${1}".
    name: 'an invalid expanded target deletes the unexpanded target_label (2.42)',
    input: { a: 'x-y', '${1}': 'weird', x: 'z' },
    rules: `[{source_labels: [a], regex: "(.*)", target_label: "\${1}"}]`,
    output: { a: 'x-y', x: 'z' },
  },
  {
    name: 'an empty replacement deletes the unexpanded target_label, not the expanded one (2.42)',
    input: { a: 'x', x: 'keep me' },
    rules: `[{source_labels: [a], regex: "(x)", target_label: "\${1}", replacement: ""}]`,
    output: { a: 'x', x: 'keep me' },
  },
  {
    name: 'an empty replacement with a plain target deletes it',
    input: { a: 'x', t: 'old' },
    rules: `[{source_labels: [a], regex: "(x)", target_label: t, replacement: "$2"}]`,
    output: { a: 'x' },
  },
  {
    name: '$1x is the group named "1x": empty, so the target is deleted',
    input: { a: 'x', t: 'old' },
    rules: `[{source_labels: [a], regex: "(x)", target_label: t, replacement: "$1x"}]`,
    output: { a: 'x' },
  },
  {
    name: 'named groups, $$, and a lone $',
    input: { a: 'host:80' },
    rules: `[{source_labels: [a], regex: "(?P<host>[^:]+):(?P<port>\\\\d+)", target_label: t, replacement: "\${port}/$host/$$/$"}]`,
    output: { a: 'host:80', t: '80/host/$/$' },
  },
  {
    name: 'Kubernetes address rewrite',
    input: { __address__: '10.0.0.1:8080', __meta_kubernetes_pod_annotation_prometheus_io_port: '9100' },
    rules: `[{source_labels: [__address__, __meta_kubernetes_pod_annotation_prometheus_io_port], action: replace, regex: "([^:]+)(?::\\\\d+)?;(\\\\d+)", replacement: "$1:$2", target_label: __address__}]`,
    output: { __address__: '10.0.0.1:9100', __meta_kubernetes_pod_annotation_prometheus_io_port: '9100' },
  },
  {
    name: 'action is case-insensitive',
    input: { a: 'x' },
    rules: `[{source_labels: [a], regex: "x", action: DROP}]`,
    drop: true,
  },
  {
    name: 'regex "" matches only the empty value',
    input: { a: 'x' },
    rules: `[{source_labels: [b], regex: "", target_label: empty, replacement: yes}, {source_labels: [a], regex: "", target_label: nonempty, replacement: yes}]`,
    output: { a: 'x', empty: 'yes' },
  },
  {
    name: 'regex: null is the empty regex, separator: null is ""',
    input: { a: 'x', b: 'y' },
    rules: `[{source_labels: [c], regex: , target_label: r, replacement: m}, {source_labels: [a, b], separator: , target_label: s}]`,
    output: { a: 'x', b: 'y', r: 'm', s: 'xy' },
  },
  {
    name: 'uppercase and lowercase follow Go (simple per-rune mapping)',
    input: { v: 'straße İstanbul ᾳ ΣΑΣ ǅ ﬀ' },
    rules: `
- {source_labels: [v], action: uppercase, target_label: up}
- {source_labels: [v], action: lowercase, target_label: low}`,
    output: { v: 'straße İstanbul ᾳ ΣΑΣ ǅ ﬀ', up: 'STRAßE İSTANBUL ᾼ ΣΑΣ Ǆ ﬀ', low: 'straße istanbul ᾳ σασ ǆ ﬀ' },
  },
  {
    name: 'lowercase of a missing label deletes the target',
    input: { t: 'old' },
    rules: `[{source_labels: [nope], action: lowercase, target_label: t}]`,
    output: {},
  },
  {
    name: 'keepequal against a missing target label compares with ""',
    input: { a: 'x' },
    rules: `[{source_labels: [zz], action: keepequal, target_label: missing}]`,
    output: { a: 'x' },
  },
  {
    name: 'hashmod values',
    input: { a: 'foo', b: '10.0.0.1:9100', c: 'ünïcödé' },
    rules: `
- {source_labels: [a], action: hashmod, target_label: h1, modulus: 1}
- {source_labels: [b], action: hashmod, target_label: h2, modulus: 3}
- {source_labels: [c], action: hashmod, target_label: h3, modulus: 1000000007}
- {source_labels: [a, b], action: hashmod, target_label: h4, modulus: 4503599627370449}
- {source_labels: [zz], action: hashmod, target_label: h5, modulus: 16}`,
    output: { a: 'foo', b: '10.0.0.1:9100', c: 'ünïcödé', h1: '0', h2: '2', h3: '670447776', h4: '1561850003677184', h5: '14' },
  },
  {
    name: 'labelmap: two names mapping to one target, the later name (in label order) wins',
    input: { x_a: '1', y_a: '2', a: '0' },
    rules: `[{regex: "[xy]_(.*)", action: labelmap}]`,
    output: { x_a: '1', y_a: '2', a: '2' },
  },
  {
    name: 'labelmap reads values from before the rule',
    input: { a: '1', b: '2', c: '3' },
    rules: `[{regex: "([abc])", replacement: "\${1}_", action: labelmap}, {regex: "(a|b)", replacement: "\${1}", action: labelmap}]`,
    output: { a: '1', b: '2', c: '3', a_: '1', b_: '2', c_: '3' },
  },
  {
    name: 'labelmap onto existing names swaps values read before the rule',
    input: { a: '1', b: '2' },
    rules: `[{regex: "a", replacement: "b", action: labelmap}, {regex: "b", replacement: "a", action: labelmap}]`,
    output: { a: '1', b: '1' },
  },
  {
    name: 'labelmap with a constant replacement',
    input: { foo_1: 'x', foo_2: 'y', bar: 'z' },
    rules: `[{regex: "foo_.*", replacement: "foo", action: labelmap}]`,
    output: { foo_1: 'x', foo_2: 'y', bar: 'z', foo: 'y' },
  },
  {
    name: 'labeldrop and labelkeep use whole-name matches',
    input: { abc: '1', ab: '2', b: '3' },
    rules: `[{regex: "ab", action: labeldrop}, {regex: "a.*|b", action: labelkeep}]`,
    output: { abc: '1', b: '3' },
  },
  {
    name: 'labels named like Object.prototype members',
    input: { constructor: 'c', __proto__x: 'p' },
    rules: `
- {source_labels: [toString], target_label: t1, replacement: "[$1]"}
- {source_labels: [constructor], target_label: t2}
- {source_labels: [constructor], target_label: hasOwnProperty}
- {regex: "__proto__x", replacement: "__proto__", action: labelmap}`,
    output: { constructor: 'c', __proto__x: 'p', t1: '[]', t2: 'c', hasOwnProperty: 'c', ['__proto__']: 'p' },
  },
];

for (const c of PROMETHEUS_CASES) test(`relabel_test.go: ${c.name}`, () => run(c));
for (const c of MORE_CASES) test(`2.42: ${c.name}`, () => run(c));

test('relabel returns a new object and never mutates its input', () => {
  const input = { a: 'x' };
  const out = relabel(input, []);
  assert.deepEqual(out, { a: 'x' });
  assert.notEqual(out, input);
  const out2 = relabel(input, rules(`[{regex: "a", action: labeldrop}]`));
  assert.deepEqual(out2, {});
  assert.deepEqual(input, { a: 'x' });
});

test('the same rules can be applied to many label sets', () => {
  const cfgs = rules(`
- {source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape], action: keep, regex: "true"}
- {action: labelmap, regex: "__meta_kubernetes_pod_label_(.+)"}
- {source_labels: [__meta_kubernetes_namespace], action: replace, target_label: namespace}`);
  for (let i = 0; i < 50; i++) {
    const out = relabel(
      { __meta_kubernetes_pod_annotation_prometheus_io_scrape: i % 2 ? 'true' : 'false', __meta_kubernetes_pod_label_app: `a${i}`, __meta_kubernetes_namespace: 'ns' },
      cfgs,
    );
    if (i % 2) assert.deepEqual(out, { __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true', __meta_kubernetes_pod_label_app: `a${i}`, app: `a${i}`, __meta_kubernetes_namespace: 'ns', namespace: 'ns' });
    else assert.equal(out, null);
  }
});

test('Go case mapping per code point', () => {
  assert.equal(goToUpper('ß'), 'ß'); // JS gives 'SS'
  assert.equal(goToLower('İ'), 'i'); // JS gives 'i̇'
  assert.equal(goToUpper('ﬀ'), 'ﬀ');
  assert.equal(goToUpper('ᾳ'), 'ᾼ'); // JS gives 'ΑΙ'
  assert.equal(goToLower('ΟΔΟΣ'), 'οδοσ'); // no final sigma
  assert.equal(goToUpper('ǆ'), 'Ǆ');
  assert.equal(goToLower('Ǆ'), 'ǆ');
  assert.equal(goToUpper('😀a'), '😀A');
  assert.equal(goToUpper('\u2c5f'), '\u2c5f'); // Unicode 14: no mapping in Go 1.19
  assert.equal(goToLower('K'), 'k'); // KELVIN SIGN
  assert.equal(goToUpper('ſ'), 'S');
});

test('target_label validity (TestTargetLabelValidity)', () => {
  const cases: [string, boolean][] = [
    ['-label', false], ['label', true], ['label${1}', true], ['${1}label', true], ['${1}', true], ['${', false], ['$', false],
    ['${}', false], ['foo${', false], ['$1', true], ['asd$2asd', true], ['-foo${1}bar-', false], ['_${1}_', true], ['foo${bar}foo', true],
  ];
  for (const [s, valid] of cases) assert.equal(isValidRelabelTarget(s), valid, s);
  // Linear time on long near-misses (the Go expression has nested repetitions).
  assert.equal(isValidRelabelTarget('a'.repeat(100000) + '-'), false);
});

// ---------------------------------------------------------------------------------------------------------
// Reading and validation.
// ---------------------------------------------------------------------------------------------------------

test('defaults of a relabel config', () => {
  assert.deepEqual(RELABEL_FIELDS, ['source_labels', 'separator', 'regex', 'modulus', 'target_label', 'replacement', 'action']);
  const c = readRelabelConfig(parse('{target_label: t}'), ['r', 0]);
  assert.deepEqual(c.sourceLabels, []);
  assert.equal(c.separator, ';');
  assert.equal(c.regex.source, '(.*)');
  assert.equal(c.replacement, '$1');
  assert.equal(c.action, 'replace');
  assert.equal(c.modulus, 0);
  assert.equal(c.targetLabel, 't');
  const k = readRelabelConfig(parse('{action: KeepEqual, source_labels: [a], target_label: b, separator: ";", replacement: "$1"}'), []);
  assert.equal(k.action, 'keepequal');
  const n = readRelabelConfig(parse('{target_label: t, replacement: 1.10, separator: 1, modulus: 2.9}'), []);
  assert.equal(n.replacement, '1.1'); // yaml's parse loses the text; the loader keeps "1.10" (yaml-plain.ts)
  assert.equal(n.separator, '1');
  assert.equal(n.modulus, 2); // yaml.v2 truncates a float into a uint64
  const r = readRelabelConfig(parse('{target_label: t, regex: }'), []);
  assert.equal(r.regex.source, '');
  assert.equal(readRelabelConfig(parse('{target_label: t, replacement: }'), []).replacement, '');
});

interface Bad {
  yaml: string;
  message: string;
  path: (string | number)[];
}

const BAD: Bad[] = [
  { yaml: '{action: foo}', message: 'unknown relabel action "foo"', path: ['action'] },
  { yaml: '{action: "", target_label: x}', message: 'unknown relabel action ""', path: ['action'] },
  { yaml: '{action: , target_label: x}', message: 'relabel action cannot be empty', path: ['action'] },
  { yaml: '{source_labels: [a]}', message: "relabel configuration for replace action requires 'target_label' value", path: [] },
  { yaml: '{}', message: "relabel configuration for replace action requires 'target_label' value", path: [] },
  { yaml: '{target_label: ""}', message: "relabel configuration for replace action requires 'target_label' value", path: [] },
  { yaml: '{action: hashmod, target_label: x}', message: 'relabel configuration for hashmod requires non-zero modulus', path: [] },
  { yaml: '{action: hashmod, target_label: x, modulus: 0}', message: 'relabel configuration for hashmod requires non-zero modulus', path: ['modulus'] },
  { yaml: '{action: hashmod, modulus: 2}', message: "relabel configuration for hashmod action requires 'target_label' value", path: [] },
  { yaml: '{action: hashmod, target_label: "${1}", modulus: 2}', message: `"\${1}" is invalid 'target_label' for hashmod action`, path: ['target_label'] },
  { yaml: '{action: lowercase}', message: "relabel configuration for lowercase action requires 'target_label' value", path: [] },
  { yaml: '{action: lowercase, target_label: "1x"}', message: `"1x" is invalid 'target_label' for lowercase action`, path: ['target_label'] },
  { yaml: '{action: lowercase, replacement: "$1", target_label: "${3}"}', message: `"\${3}" is invalid 'target_label' for lowercase action`, path: ['target_label'] },
  { yaml: '{action: uppercase, target_label: x, replacement: x}', message: "'replacement' can not be set for uppercase action", path: ['replacement'] },
  { yaml: '{action: lowercase, target_label: x, replacement: }', message: "'replacement' can not be set for lowercase action", path: ['replacement'] },
  { yaml: '{target_label: "1bad"}', message: `"1bad" is invalid 'target_label' for replace action`, path: ['target_label'] },
  { yaml: '{target_label: "0${3}"}', message: `"0\${3}" is invalid 'target_label' for replace action`, path: ['target_label'] },
  { yaml: '{target_label: "-${3}"}', message: `"-\${3}" is invalid 'target_label' for replace action`, path: ['target_label'] },
  { yaml: '{target_label: "$"}', message: `"$" is invalid 'target_label' for replace action`, path: ['target_label'] },
  { yaml: '{target_label: "a-${1}"}', message: `"a-\${1}" is invalid 'target_label' for replace action`, path: ['target_label'] },
  { yaml: '{target_label: "tab\\there"}', message: `"tab\\there" is invalid 'target_label' for replace action`, path: ['target_label'] },
  { yaml: '{action: labelmap, replacement: "-bad"}', message: `"-bad" is invalid 'replacement' for labelmap action`, path: ['replacement'] },
  { yaml: '{action: labelmap, replacement: ""}', message: `"" is invalid 'replacement' for labelmap action`, path: ['replacement'] },
  { yaml: '{action: keepequal, source_labels: [a]}', message: "relabel configuration for keepequal action requires 'target_label' value", path: [] },
  { yaml: '{action: keepequal, target_label: x, regex: "(.*)"}', message: "keepequal action requires only 'source_labels' and `target_label`, and no other fields", path: [] },
  { yaml: '{action: dropequal, target_label: x, regex: }', message: "dropequal action requires only 'source_labels' and `target_label`, and no other fields", path: [] },
  { yaml: '{action: keepequal, target_label: x, modulus: 2}', message: "keepequal action requires only 'source_labels' and `target_label`, and no other fields", path: [] },
  { yaml: '{action: keepequal, target_label: x, separator: ","}', message: "keepequal action requires only 'source_labels' and `target_label`, and no other fields", path: [] },
  { yaml: '{action: keepequal, target_label: x, separator: }', message: "keepequal action requires only 'source_labels' and `target_label`, and no other fields", path: [] },
  { yaml: '{action: labeldrop, source_labels: []}', message: "labeldrop action requires only 'regex', and no other fields", path: [] },
  { yaml: '{action: labelkeep, target_label: x}', message: "labelkeep action requires only 'regex', and no other fields", path: [] },
  { yaml: '{action: labeldrop, modulus: 1}', message: "labeldrop action requires only 'regex', and no other fields", path: [] },
  { yaml: '{action: labeldrop, separator: ","}', message: "labeldrop action requires only 'regex', and no other fields", path: [] },
  { yaml: '{action: labeldrop, replacement: }', message: "labeldrop action requires only 'regex', and no other fields", path: [] },
  { yaml: '{source_labels: ["1bad"], target_label: x}', message: '"1bad" is not a valid label name', path: ['source_labels', 0] },
  { yaml: '{source_labels: [a, ""], target_label: x}', message: '"" is not a valid label name', path: ['source_labels', 1] },
  { yaml: '{source_labels: [a, 1], target_label: x}', message: '"1" is not a valid label name', path: ['source_labels', 1] },
  { yaml: '{modulus: -1, action: hashmod, target_label: x}', message: 'cannot unmarshal !!int `-1` into uint64', path: ['modulus'] },
  { yaml: '{modulus: abc, action: hashmod, target_label: x}', message: 'cannot unmarshal !!str `abc` into uint64', path: ['modulus'] },
  { yaml: '{modulus: "5", action: hashmod, target_label: x}', message: 'cannot unmarshal !!str `5` into uint64', path: ['modulus'] },
  { yaml: '{foo: 1, target_label: x}', message: 'field foo not found in relabel config', path: ['foo'] },
  { yaml: '{regex: "(a", target_label: x}', message: 'error parsing regexp: missing closing ): `^(?:(a)$`', path: ['regex'] },
  { yaml: '{regex: "(?<n>a)", target_label: x}', message: 'error parsing regexp: invalid or unsupported Perl syntax: `(?<`', path: ['regex'] },
  { yaml: '{regex: "\\\\p{Kawi}", target_label: x}', message: 'error parsing regexp: invalid character class range: `\\p{Kawi}`', path: ['regex'] },
  { yaml: '{regex: "a{1001}", target_label: x}', message: 'error parsing regexp: invalid repeat count: `{1001}`', path: ['regex'] },
];

for (const b of BAD) {
  test(`invalid relabel config ${b.yaml}`, () => {
    assert.throws(
      () => readRelabelConfig(parse(b.yaml), ['scrape_configs', 0, 'relabel_configs', 3]),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.equal(e.message, b.message);
        assert.deepEqual(e.path, ['scrape_configs', 0, 'relabel_configs', 3, ...b.path]);
        return true;
      },
    );
  });
}

test('valid configs that look odd', () => {
  for (const y of [
    '{action: labeldrop, separator: ";", replacement: "$1", modulus: 0, target_label: "", source_labels: }',
    '{action: keepequal, target_label: x, replacement: "$1", separator: ";"}',
    '{action: labelmap}',
    '{action: labelmap, replacement: "$1", target_label: "1"}',
    '{action: drop, target_label: "1bad"}',
    '{target_label: "${1}x"}',
    '{regex: "(?P<n>a)(?P<n>b)", target_label: "$n"}',
    '{regex: "[[:]", target_label: x}',
    '{action: labelkeep, regex: ""}',
    '{action: hashmod, target_label: x, modulus: 1e3}',
  ]) {
    assert.doesNotThrow(() => readRelabelConfig(parse(y), []), y);
  }
});

test('a list of relabel configs', () => {
  assert.deepEqual(rules('[]'), []);
  assert.deepEqual(readRelabelConfigs(null, ['x'], 'target relabeling rule'), []);
  assert.throws(
    () => readRelabelConfigs(parse('[{target_label: a}, null, {target_label: b}]'), ['scrape_configs', 0, 'relabel_configs'], 'target relabeling rule'),
    (e: unknown) => e instanceof ConfigError && e.message === 'empty or null target relabeling rule in scrape config' && e.path.join('.') === 'scrape_configs.0.relabel_configs.1',
  );
  // Go decodes every entry before it looks for null ones.
  assert.throws(
    () => readRelabelConfigs(parse('[null, {action: nope}]'), ['m'], 'metric relabeling rule'),
    (e: unknown) => e instanceof ConfigError && e.message === 'unknown relabel action "nope"' && e.path.join('.') === 'm.1.action',
  );
  assert.throws(
    () => readRelabelConfigs(parse('[null]'), ['m'], 'metric relabeling rule'),
    (e: unknown) => e instanceof ConfigError && e.message === 'empty or null metric relabeling rule in scrape config',
  );
  assert.throws(() => readRelabelConfigs(parse('{a: 1}'), ['m'], 'metric relabeling rule'), ConfigError);
});

// ---------------------------------------------------------------------------------------------------------
// Property: relabel (an overlay over the input, built once at the end) equals a plain reference that copies
// the label set for every rule, as Prometheus 2.42's relabel() builds a new label set per rule.
// ---------------------------------------------------------------------------------------------------------

function reference(labels: Labels, cfgs: RelabelConfig[]): Labels | null {
  let cur = new Map(Object.entries(labels));
  for (const c of cfgs) {
    // Each rule starts from labels.Builder.Reset, which deletes empty values; the rule itself reads its input.
    const next = new Map([...cur].filter(([, v]) => v !== ''));
    const set = (n: string, v: string): void => {
      if (v === '') next.delete(n);
      else next.set(n, v);
    };
    const val = c.sourceLabels.map((n) => cur.get(n) ?? '').join(c.separator);
    const sorted = [...cur.keys()].sort(compareNames);
    switch (c.action) {
      case 'drop':
        if (c.regex.test(val)) return null;
        break;
      case 'keep':
        if (!c.regex.test(val)) return null;
        break;
      case 'dropequal':
        if ((cur.get(c.targetLabel) ?? '') === val) return null;
        break;
      case 'keepequal':
        if ((cur.get(c.targetLabel) ?? '') !== val) return null;
        break;
      case 'replace': {
        const m = c.regex.exec(val);
        if (!m) break;
        const t = c.regex.expand(c.targetLabel, m);
        if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(t)) {
          next.delete(c.targetLabel);
          break;
        }
        const r = c.regex.expand(c.replacement, m);
        if (r === '') next.delete(c.targetLabel);
        else next.set(t, r);
        break;
      }
      case 'lowercase':
        set(c.targetLabel, goToLower(val));
        break;
      case 'uppercase':
        set(c.targetLabel, goToUpper(val));
        break;
      case 'labelmap':
        for (const n of sorted) {
          if (c.regex.test(n)) set(c.regex.replaceAll(n, c.regex.template(c.replacement)), cur.get(n)!);
        }
        break;
      case 'labeldrop':
        for (const n of sorted) if (c.regex.test(n)) next.delete(n);
        break;
      case 'labelkeep':
        for (const n of sorted) if (!c.regex.test(n)) next.delete(n);
        break;
      case 'hashmod':
        throw new Error('not generated');
    }
    cur = next;
  }
  return Object.fromEntries(cur);
}

function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

const ruleArbitraries = (): { name: fc.Arbitrary<string>; value: fc.Arbitrary<string>; rule: fc.Arbitrary<Record<string, unknown>> } => {
  const name = fc.constantFrom('a', 'b', 'c', 'ab', 'a_b', 'x_a', 'y_a', '__meta_a', '__meta_b', 'constructor');
  const value = fc.constantFrom('', 'a', 'b', 'x', 'a;b', 'ab', 'A', 'ß', 'x\ny');
  const regex = fc.constantFrom('(.*)', '(.+)', 'a', 'a|b', '(a)(b)?', '__meta_(.*)', '[xy]_(.*)', '(.*)_(.*)', '', '.*b', '(?i)A');
  const tmpl = fc.constantFrom('$1', '${1}', 'v_$1', '$2', '', 'x', '$1$2', '$0', '${1}_n');
  const label = fc.constantFrom('a', 'b', 'c', 'ab', 'new', 'x_a');
  const rule = fc.oneof(
    fc.record({ action: fc.constant('replace'), source_labels: fc.array(name, { maxLength: 2 }), regex, target_label: fc.oneof(label, fc.constantFrom('${1}', 'n_$1', '$2')), replacement: tmpl }),
    fc.record({ action: fc.constantFrom('keep', 'drop'), source_labels: fc.array(name, { maxLength: 2 }), regex }),
    fc.record({ action: fc.constantFrom('keepequal', 'dropequal'), source_labels: fc.array(name, { maxLength: 2 }), target_label: label }),
    fc.record({ action: fc.constantFrom('lowercase', 'uppercase'), source_labels: fc.array(name, { maxLength: 2 }), target_label: label }),
    fc.record({ action: fc.constant('labelmap'), regex, replacement: fc.constantFrom('$1', '${1}', 'v_$1', 'x', '$1_$2') }),
    fc.record({ action: fc.constantFrom('labeldrop', 'labelkeep'), regex }),
  );
  return { name, value, rule };
};

test('property: relabel equals a copy-per-rule reference', () => {
  const { name, value, rule } = ruleArbitraries();
  fc.assert(
    fc.property(fc.dictionary(name, value, { maxKeys: 6 }), fc.array(rule, { maxLength: 6 }), (labels, raw) => {
      let cfgs: RelabelConfig[];
      try {
        cfgs = readRelabelConfigs(raw, [], 'rule');
      } catch {
        return;
      }
      const before = JSON.stringify(labels);
      const got = relabel(labels, cfgs);
      assert.equal(JSON.stringify(labels), before);
      assert.deepEqual(got, reference(labels, cfgs), JSON.stringify(raw));
    }),
    { numRuns: 3000, seed: 3 },
  );
});

/**
 * relabelLayered as PopulateLabels relabels a discovered target: the target's labels over its group's, without
 * empty values (labels.Builder drops them before relabel.Process), defaults where absent, params forced. Many
 * targets share the names of their label sets (relabel-layout.ts): each run relabels a sequence of targets over two
 * name layouts, with other values (empty ones among them) each time, so that what a layout keeps per rule is used
 * with values, deletes and overlays it was not found with.
 */
test('property: relabelLayered over targets sharing name layouts equals the reference on their merged labels', () => {
  const { name, value, rule } = ruleArbitraries();
  const names = fc.uniqueArray(name, { maxLength: 5 });
  const layout = fc.record({ own: names, lower: names });
  const preset = fc.uniqueArray(fc.tuple(fc.constantFrom('a', 'c', 'job', '__meta_b'), value), { maxLength: 2, selector: ([n]) => n });
  let layered = 0;
  let roomy = 0;
  fc.assert(
    fc.property(
      fc.array(rule, { minLength: 1, maxLength: 6 }),
      fc.tuple(layout, layout),
      fc.array(fc.tuple(fc.nat(1), fc.array(value, { minLength: 10, maxLength: 10 })), { minLength: 1, maxLength: 6 }),
      preset,
      preset,
      fc.constantFrom(null, '__meta_', 'a'),
      fc.constantFrom(null, 'instance', 'c', '__meta_b'),
      (raw, layouts, targets, defaults, forced, omit, room) => {
        let cfgs: RelabelConfig[];
        try {
          cfgs = readRelabelConfigs(raw, [], 'rule');
        } catch {
          return;
        }
        for (const [which, values] of targets) {
          const { own: ownNames, lower: lowerNames } = layouts[which]!;
          const own: Labels = {};
          const lower: Labels = {};
          ownNames.forEach((n, i) => (own[n] = values[i]!));
          lowerNames.forEach((n, i) => (lower[n] = values[5 + i]!));
          const merged: Labels = {};
          for (const [n, v] of Object.entries(lower)) if (v !== '' && !Object.hasOwn(own, n)) merged[n] = v;
          for (const [n, v] of Object.entries(own)) if (v !== '') merged[n] = v;
          for (const [n, v] of defaults) if (!merged[n] && v !== '') merged[n] = v; // Builder.Set of "" deletes
          for (const [n, v] of forced) {
            if (v === '') delete merged[n];
            else merged[n] = v;
          }
          const before = JSON.stringify([own, lower]);
          const got = relabelLayered(own, lowerNames.length > 0 ? lower : null, defaults, forced, cfgs, omit, true, room);
          assert.equal(JSON.stringify([own, lower]), before);
          const want = reference(merged, cfgs);
          if (want !== null && omit !== null) for (const n of Object.keys(want)) if (n.startsWith(omit)) delete want[n];
          // The room a caller asked for: held with an empty value where the rules left none (or not at all).
          if (got !== null && room !== null && want !== null && !Object.hasOwn(want, room) && Object.hasOwn(got, room)) {
            assert.equal(got[room], '', `${room} is room, empty`);
            delete got[room];
            roomy++;
          }
          assert.deepEqual(got, want, JSON.stringify({ raw, own, lower, defaults, forced, omit, room }));
          layered++;
        }
      },
    ),
    { numRuns: 3000, seed: 5 },
  );
  assert.ok(layered > 5000, `${layered} targets relabeled`);
  assert.ok(roomy > 500, `${roomy} results built with room for a name the rules left out`);
});

test('a layout full of the names rules set: the names past its bound are relabeled as the others, labelmap, labeldrop and omit included', () => {
  // Each target sets a label named from its own value (a target_label template), so its layout's extra names run out
  // (MAX_EXTRA_NAMES) and later names are kept apart: every target must still equal the reference.
  const cfgs = readRelabelConfigs(parse(`
- {source_labels: [id], regex: "(.+)", target_label: "t_\${1}", replacement: "v\${1}"}
- {source_labels: [id], regex: "(.+)", target_label: "__meta_t_\${1}", replacement: "m\${1}"}
- {action: labelmap, regex: "t_(.*)", replacement: "mapped_\${1}"}
- {action: labeldrop, regex: "t_a1.*"}
- {source_labels: [t_a2], regex: "(.+)", target_label: late, replacement: "\${1}"}
`), [], 'rule');
  const defaults: Array<[string, string]> = [['job', 'j']];
  for (let i = 0; i < MAX_EXTRA_NAMES + 40; i++) {
    const own = { __address__: `h${i}:80` };
    const lower = { overflow_layout_test_id: 'x', id: `a${i}` };
    const got = relabelLayered(own, lower, defaults, [], cfgs, '__meta_');
    const want = reference({ ...lower, ...own, job: 'j' }, cfgs);
    if (want !== null) for (const n of Object.keys(want)) if (n.startsWith('__meta_')) delete want[n];
    assert.deepEqual(got, want, `target ${i}`);
  }
});

test('results built from templates: every set of present labels of one layout, past the bound of its shapes, equals the reference, with room for instance', () => {
  // 13 labels each present or empty (absent): 8,192 sets of names over one layout, more than its shapes' bound.
  const names = Array.from({ length: 13 }, (_, k) => `shape_bound_test_${k}`);
  assert.ok(2 ** names.length >= 2 * MAX_OUTPUT_SHAPES, 'more sets than shapes');
  const cfgs = readRelabelConfigs(parse('- {source_labels: [shape_bound_test_0], target_label: copied}\n- {action: labeldrop, regex: shape_bound_test_12}'), [], 'rule');
  for (let k = 0; k < 2 ** names.length; k++) {
    const own: Labels = { __address__: `h${k}:80` };
    names.forEach((n, b) => (own[n] = (k >> b) & 1 ? `v${k}` : ''));
    const got = relabelLayered(own, null, [['job', 'j']], [], cfgs, null, true, 'instance');
    const want = reference(Object.fromEntries([...Object.entries(own).filter(([, v]) => v !== ''), ['job', 'j']]), cfgs)!;
    if (got !== null && Object.hasOwn(got, 'instance')) {
      assert.equal(got.instance, '', 'room for instance, empty');
      delete got.instance;
    }
    assert.deepEqual(got, want, `set ${k}`);
  }
});

test('a label named __proto__ set by the rules is a label of the result, not its prototype, with room asked for', () => {
  const cfgs = readRelabelConfigs(parse('- {regex: "__proto__x", replacement: "__proto__", action: labelmap}'), [], 'rule');
  for (let i = 0; i < 3; i++) {
    const got = relabelLayered({ __address__: `a${i}:1`, __proto__x: 'p' }, null, [], [], cfgs, null, true, 'instance')!;
    assert.equal(Object.getPrototypeOf(got), Object.prototype);
    assert.ok(Object.hasOwn(got, '__proto__'));
    assert.equal(Object.getOwnPropertyDescriptor(got, '__proto__')!.value, 'p');
    assert.deepEqual(Object.keys(got).filter((n) => n !== 'instance').sort(), ['__address__', '__proto__', '__proto__x']);
  }
});

test('name layouts are for discovered targets only: relabeling samples (relabel) leaves the bounded trie alone', () => {
  const cfgs = readRelabelConfigs(parse('- {action: labeldrop, regex: "tmp_.*"}\n- {action: labelmap, regex: "m_(.*)"}'), [], 'rule');
  const before = targetLayoutNames();
  for (let i = 0; i < 200; i++) relabel({ __name__: 'x', [`m_l${i}`]: 'v', tmp_a: 'b' }, cfgs);
  assert.equal(targetLayoutNames(), before);
  for (let i = 0; i < 3; i++) relabelLayered({ __address__: 'a:1' }, { [`m_layout_test_${i}`]: 'v' }, [], [], cfgs, null);
  assert.ok(targetLayoutNames() > before, 'a target with new names gets a layout');
});
