/**
 * /federate bodies as Prometheus 2.42 writes them: Go's float layout and sort, the text and protobuf encodings,
 * Accept negotiation, and the same bodies byte for byte as the real binary's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import {
  FEDERATION_CONTENT_TYPES, federationProto, formatGoFloat, formatTextValue, negotiateFormat, parseFederationText,
  parseGoFloat, renderFederation, type FederatedSample, type FederationFormat,
} from '../../src/query/federate.js';
import { goSort } from '../../src/query/go-sort.js';
import { startPrometheus, waitFor } from '../helpers/prometheus.js';
import { startTarget } from '../helpers/targets.js';
import { tempDir } from '../helpers/tmp.js';

const MetricFamily = federationProto.lookupType('io.prometheus.client.MetricFamily');
const DELIMITED = FEDERATION_CONTENT_TYPES['protobuf-delimited'];

test('formatGoFloat is strconv.FormatFloat(f, \'g\', -1, 64): %e when the exponent is < -4 or >= 6', () => {
  // Go 1.19's strconv/ftoa.go formatDigits: for the shortest digits `eprec = 6`, and %e is used when
  // exp < -4 || exp >= eprec; %e writes a sign and at least two exponent digits. Outputs below are Go's (go1.19.8,
  // the toolchain of the Debian binary); the same program agreed on 2 million random doubles.
  const table: Array<[number, string]> = [
    [0, '0'], [-0, '-0'], [1, '1'], [-1, '-1'], [0.5, '0.5'], [-0.5, '-0.5'],
    [1e20, '1e+20'], [1e21, '1e+21'], [1e23, '1e+23'], [8.41e21, '8.41e+21'], [1e100, '1e+100'],
    [123456, '123456'], [999999, '999999'], [1e6, '1e+06'], [1234567, '1.234567e+06'], [100000, '100000'],
    [123456789, '1.23456789e+08'], [123456789.123, '1.23456789123e+08'], [9007199254740993, '9.007199254740992e+15'],
    [0.0001, '0.0001'], [0.00001, '1e-05'], [2.5e-5, '2.5e-05'], [1.5e-7, '1.5e-07'],
    [0.1, '0.1'], [0.1 + 0.2, '0.30000000000000004'], [4.35, '4.35'], [1365.43856411, '1365.43856411'],
    [5e-324, '5e-324'], [5e-310, '5e-310'], [2.2250738585072014e-308, '2.2250738585072014e-308'],
    [1.7976931348623157e308, '1.7976931348623157e+308'], [-1.0590551977833753e-78, '-1.0590551977833753e-78'],
  ];
  for (const [f, go] of table) assert.equal(formatGoFloat(f), go, `${f}`);
});

test('formatTextValue is expfmt\'s writeFloat: 1, 0, -1 and the non-finite values by hand', () => {
  assert.equal(formatTextValue(1), '1');
  assert.equal(formatTextValue(0), '0');
  assert.equal(formatTextValue(-0), '0', 'f == 0 holds for -0');
  assert.equal(formatTextValue(-1), '-1');
  assert.equal(formatTextValue(NaN), 'NaN');
  assert.equal(formatTextValue(Infinity), '+Inf');
  assert.equal(formatTextValue(-Infinity), '-Inf');
  assert.equal(formatTextValue(1e21), '1e+21');
  assert.equal(formatTextValue(-2), '-2');
});

test('parseGoFloat accepts what Go\'s ParseFloat accepts', () => {
  const ok: Array<[string, number]> = [
    ['1', 1], ['-0.5', -0.5], ['.5', 0.5], ['5.', 5], ['1e5', 1e5], ['1E-5', 1e-5], ['+Inf', Infinity], ['-inf', -Infinity],
    ['Infinity', Infinity], ['nan', NaN], ['NaN', NaN], ['1_000', 1000], ['0x1p-1', 0.5], ['0x1.8p1', 3], ['-0X_1P0', -1], ['0x0p9999', 0],
  ];
  for (const [s, v] of ok) assert.ok(Object.is(parseGoFloat(s), v), s);
  for (const s of ['', ' 1', '1 ', '-nan', 'infin', '1e', '_1', '1_', '1__0', '0x1', '0x', '.', 'e5', '1.2.3', '0x1.p']) {
    assert.equal(parseGoFloat(s), undefined, JSON.stringify(s));
  }
});

/** The inputs of the Go program that produced the hashes below, xorshift32 as in Go's uint32 arithmetic. */
function sortInput(kind: string, n: number, m: number): number[] {
  let s = (n * 31 + m + 7) >>> 0;
  const next = (): number => {
    s = (s ^ (s << 13)) >>> 0;
    s = (s ^ (s >>> 17)) >>> 0;
    s = (s ^ (s << 5)) >>> 0;
    return s;
  };
  const k = Array.from({ length: n }, (_, i) =>
    kind === 'random' ? next() % m :
    kind === 'reversed' ? Math.trunc((n - i) / m) :
    kind === 'organ' ? Math.trunc(Math.min(i, n - i) / m) :
    kind === 'sawtooth' ? i % m :
    Math.trunc(i / m));
  if (kind === 'nearly') {
    for (let t = 0; t < 3; t++) {
      const a = next() % n;
      const b = next() % n;
      [k[a], k[b]] = [k[b]!, k[a]!];
    }
  }
  return k;
}

test('goSort makes the permutation Go 1.19\'s sort.Sort makes (pdqsort: unstable, every comparison in Go\'s order)', () => {
  // sha256 of the element ids, comma-joined, after sort.Sort in go1.19.8. Keys have many duplicates, so
  // stability would show; "chaos" answers Less from a xorshift stream (every 3rd or 10th answer false, or always
  // true, which exhausts the bad-pivot limit and ends in heapsort), so any comparison made out of Go's order shows.
  const go: Array<[string, number, number, string]> = [
    ['random', 51, 3, '2654a7ba9273ad4a8998408acaf24e6c1ea40baa0e08fd31bee08abf50af74ee'],
    ['random', 1000, 3, 'c1fb7c56bf66b1dbfe01d6cb4fd265d6e49d9059421897f24c9e4eebbabc3df1'],
    ['reversed', 100, 3, '9f8c4c37edd76ef89bf7d7957d1004a21af7ccfa62533ab5d13247ccf98e2300'],
    ['organ', 1000, 3, '2d7461b673c442298ae7c9ff7f9651a68c951196d1f5678580aedb87d50c4c3c'],
    ['sawtooth', 10000, 3, 'c620be69061109af63b6ec22d459d483531f1bf980480c411317ddd8da2dffa9'],
    ['nearly', 1000, 1, 'e1a2d57da9801140d3083baaf772c139ddc6ee3d7e70efa9e1958f209e7a12d7'],
    ['chaos', 13, 3, 'cff4a5c4f13663835964f0cdf29a01a7ce9e8abd51203e210bd21d97fc93010c'],
    ['chaos', 100, 0, 'eb54b41d673b52cd57beeb3ed7e14fbd91051a86945cb7c7057bc5c0307fab61'],
    ['chaos', 1000, 0, 'a91dd36935f0f8af8b83c4ebf1032e85963b6818d7ce347d562baa6cec095d49'],
    ['chaos', 100, 3, 'b22eee9e0b82d09d4509f100dc5e822ff575ee95ad472960f0fcc1e54ec42882'],
    ['chaos', 1000, 3, 'a0f7ac2458234c0a2faec95ed69826550288eadd4d7ad617dd3d68469a625748'],
    ['chaos', 100, 10, '08540d8ebfa35e7682ed5928b08bbb5785298038b29b04b0ec9cd40c7701f28c'],
    ['chaos', 1000, 10, '41e672380e2790e1f64f477dd6222c69e5d0da0db65c16181dbc34d0079bac7a'],
  ];
  for (const [kind, n, m, hash] of go) {
    const ids = Array.from({ length: n }, (_, i) => i);
    const swapIds = (i: number, j: number): void => {
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    };
    if (kind === 'chaos') {
      let s = (n + 1) >>> 0;
      goSort(n, {
        less: () => {
          s = (s ^ (s << 13)) >>> 0;
          s = (s ^ (s >>> 17)) >>> 0;
          s = (s ^ (s << 5)) >>> 0;
          return m === 0 || s % m !== 0;
        },
        swap: swapIds,
      });
    } else {
      const k = sortInput(kind, n, m);
      goSort(n, {
        less: (i, j) => k[i]! < k[j]!,
        swap: (i, j) => {
          [k[i], k[j]] = [k[j]!, k[i]!];
          swapIds(i, j);
        },
      });
    }
    assert.equal(createHash('sha256').update(ids.join(',')).digest('hex'), hash, `${kind} n=${n} m=${m}`);
  }
});

const s = (labels: Record<string, string>, t: number, v: number): FederatedSample => ({
  labels: Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  t,
  v,
});

test('text: a family per name, empty values and nameless series skipped, external labels and instance="" appended', () => {
  const series = [
    s({ __name__: 'b', job: 'j' }, 1000, 2),
    s({ job: 'nameless' }, 1000, 3),
    s({ __name__: 'a', empty: '', path: 'x\\y"z\nw\tv' }, 2000, 0.5),
    s({ __name__: 'b', job: 'k', region: 'own' }, 1000, NaN),
    s({ __name__: 'a', instance: 'i:1' }, 2000, -Infinity),
  ];
  const { contentType, body } = renderFederation(series, { zone: 'z"1', region: 'eu' }, 'text');
  assert.equal(contentType, 'text/plain; version=0.0.4; charset=utf-8');
  assert.equal(body.toString(), [
    '# TYPE a untyped',
    'a{path="x\\\\y\\"z\\nw\tv",instance="",region="eu",zone="z\\"1"} 0.5 2000',
    'a{instance="i:1",region="eu",zone="z\\"1"} -Inf 2000',
    '# TYPE b untyped',
    'b{job="j",instance="",region="eu",zone="z\\"1"} 2 1000',
    'b{job="k",region="own",instance="",zone="z\\"1"} NaN 1000',
    '',
  ].join('\n'));
  assert.deepEqual(renderFederation([], {}, 'text').body, Buffer.alloc(0));
  // An instance among the external labels is used as it is; so a line always has labels.
  assert.equal(renderFederation([s({ __name__: 'up' }, 5, 1)], { instance: 'global' }, 'text').body.toString(), '# TYPE up untyped\nup{instance="global"} 1 5\n');
});

test('text: series of one name stay together even when storage order interleaves them (upper-case label names)', () => {
  const series: FederatedSample[] = [];
  for (let i = 0; i < 40; i++) {
    for (const name of ['y', 'x']) series.push({ labels: [['Shard', String(i).padStart(2, '0')], ['__name__', name]], t: i, v: i });
  }
  const lines = renderFederation(series, {}, 'text').body.toString().trim().split('\n');
  assert.equal(lines[0], '# TYPE x untyped');
  assert.equal(lines[41], '# TYPE y untyped');
  assert.equal(lines.filter((l) => l.startsWith('#')).length, 2);
  const shards = (name: string): string[] => lines.filter((l) => l.startsWith(`${name}{`)).map((l) => l.slice(9, 11)).sort();
  assert.deepEqual(shards('x'), series.filter((_, i) => i % 2 === 1).map((x) => x.labels[0]![1]));
  assert.deepEqual(shards('y'), series.filter((_, i) => i % 2 === 0).map((x) => x.labels[0]![1]));
});

/** The messages of a delimited protobuf body, as plain objects. */
function decodeDelimited(body: Uint8Array): Array<{ name: string; type: number; metric: Array<{ label: Array<{ name: string; value: string }>; untyped: { value: number }; timestamp_ms: number }> }> {
  const r = protobuf.Reader.create(body);
  const out = [];
  while (r.pos < r.len) {
    out.push(MetricFamily.toObject(MetricFamily.decodeDelimited(r), { longs: Number, enums: Number, defaults: true, arrays: true }) as ReturnType<typeof decodeDelimited>[number]);
  }
  return out;
}

test('protobuf: delimited MetricFamily messages, UNTYPED, labels then the external ones, NaN as Go\'s math.NaN()', () => {
  const { contentType, body } = renderFederation([s({ __name__: 'm', a: '1', b: '' }, -5, NaN), s({ __name__: 'm', a: '2' }, 7, -0)], { c: 'x' }, 'protobuf-delimited');
  assert.equal(contentType, 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited');
  const families = decodeDelimited(body);
  assert.equal(families.length, 1);
  assert.equal(families[0]!.name, 'm');
  assert.equal(families[0]!.type, 3);
  assert.deepEqual(families[0]!.metric.map((m) => m.label.map((l) => `${l.name}=${l.value}`)), [['a=1', 'c=x', 'instance='], ['a=2', 'c=x', 'instance=']]);
  assert.deepEqual(families[0]!.metric.map((m) => m.timestamp_ms), [-5, 7]);
  // Go's math.NaN() is 0x7ff8000000000001 (little-endian on the wire), what Prometheus stores for a parsed "NaN";
  // -0 keeps its sign bit.
  assert.ok(body.includes(Buffer.from('09010000000000f87f', 'hex')), 'NaN bits');
  assert.ok(body.includes(Buffer.from('090000000000000080', 'hex')), '-0 bits');
  assert.deepEqual(renderFederation([], {}, 'protobuf-delimited').body, Buffer.alloc(0));
});

test('protobuf text and compact text as golang/protobuf writes them', () => {
  const series = [s({ __name__: 'a', job: 'é"\n' }, 1000, 1.5), s({ __name__: 'b' }, 2, Infinity)];
  assert.equal(renderFederation(series, {}, 'protobuf-text').body.toString(), [
    'name: "a"', 'type: UNTYPED', 'metric: <',
    '  label: <', '    name: "job"', '    value: "\\303\\251\\"\\n"', '  >',
    '  label: <', '    name: "instance"', '    value: ""', '  >',
    '  untyped: <', '    value: 1.5', '  >', '  timestamp_ms: 1000', '>', '',
    'name: "b"', 'type: UNTYPED', 'metric: <', '  label: <', '    name: "instance"', '    value: ""', '  >',
    '  untyped: <', '    value: inf', '  >', '  timestamp_ms: 2', '>', '', '',
  ].join('\n'));
  assert.equal(renderFederation(series, {}, 'protobuf-compact').body.toString(),
    'name:"a" type:UNTYPED metric:<label:<name:"job" value:"\\303\\251\\"\\n" > label:<name:"instance" value:"" > untyped:<value:1.5 > timestamp_ms:1000 > \n' +
    'name:"b" type:UNTYPED metric:<label:<name:"instance" value:"" > untyped:<value:inf > timestamp_ms:2 > \n');
});

test('parseFederationText reads a text body: labels sorted with __name__, escapes, NaN and ±Inf, empty values dropped', () => {
  const text = [
    '# TYPE a untyped',
    'a{z="1",path="x\\\\y\\"z\\nw",instance=""} NaN 1000',
    'a{b="é"} +Inf 2000',
    '# HELP b something',
    'b -Inf 3',
    'c{A="1"} 1e+21 4',
  ].join('\n');
  const got = parseFederationText(text);
  assert.deepEqual(got.map((x) => x.labels), [
    [['__name__', 'a'], ['path', 'x\\y"z\nw'], ['z', '1']],
    [['__name__', 'a'], ['b', 'é']],
    [['__name__', 'b']],
    [['A', '1'], ['__name__', 'c']],
  ]);
  assert.deepEqual(got.map((x) => x.t), [1000, 2000, 3, 4]);
  assert.ok(Number.isNaN(got[0]!.v));
  assert.deepEqual(got.slice(1).map((x) => x.v), [Infinity, -Infinity, 1e21]);
  assert.throws(() => parseFederationText('a 1\n'), /line 1: sample without a timestamp/);
  assert.throws(() => parseFederationText('# TYPE a untyped\na{b="1",b="2"} 1 2\n'), /line 2: label name "b" is not unique/);
  assert.throws(() => parseFederationText('a{b="1} 1 2'), /not closed/);
  assert.throws(() => parseFederationText('a{b="1"} x 2'), /line 1/);
});

test('a rendered text body reads back as the same series', () => {
  const series = [s({ __name__: 'a', path: 'x\\y"z\nw', q: '😀' }, 1000, 1.5e-7), s({ __name__: 'b', instance: 'i' }, 3, -0.5)];
  const back = parseFederationText(renderFederation(series, { region: 'eu' }, 'text').body.toString());
  assert.deepEqual(back, [
    { labels: [['__name__', 'a'], ['path', 'x\\y"z\nw'], ['q', '😀'], ['region', 'eu']], t: 1000, v: 1.5e-7 }, // instance="" dropped
    { labels: [['__name__', 'b'], ['instance', 'i'], ['region', 'eu']], t: 3, v: -0.5 },
  ]);
});

const P = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily';
/** Accept headers and the format expfmt.Negotiate picks (each also checked against the real binary below). */
const NEGOTIATION: Array<[string | undefined, FederationFormat]> = [
  [undefined, 'text'],
  ['', 'text'],
  ['*/*', 'text'],
  ['text/plain', 'text'],
  ['text/plain; version=0.0.4; charset=utf-8', 'text'],
  [`${P};encoding=delimited`, 'protobuf-delimited'],
  [DELIMITED, 'protobuf-delimited'],
  [`${P};encoding=text`, 'protobuf-text'],
  [`${P};encoding=compact-text`, 'protobuf-compact'],
  [`${P};encoding=json`, 'text'],
  ['application/vnd.google.protobuf;encoding=delimited', 'text'],
  [`${P.replace('proto=', 'proto="')}";encoding=delimited`, 'text'],
  [`Application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`, 'text'],
  // Prometheus's own scrape header, and its reverse.
  [`${P};encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.1`, 'protobuf-delimited'],
  [`${P};encoding=delimited;q=0.3,text/plain;version=0.0.4;q=0.7`, 'text'],
  [`text/plain;q=0.5, ${P};encoding=delimited`, 'protobuf-delimited'],
  [`text/plain;version=0.0.5, ${P};encoding=delimited;q=0.1`, 'protobuf-delimited'],
  [`text/plain;q=0, ${P};encoding=delimited;q=0`, 'text'],
  [`${P};encoding=delimited;q= 0.9, text/plain;q=0.5`, 'text'],
  [`${P};encoding=delimited;q=0x1p-1, text/plain;q=0.4`, 'protobuf-delimited'],
  [`text/plain, ${P};encoding=delimited;q=1_0`, 'protobuf-delimited'],
  [`*/*, text/*, ${P};encoding=delimited;q=0.1`, 'protobuf-delimited'],
  [`${P};encoding=delimited; q=0.2 ,text/plain ; q=0.1`, 'protobuf-delimited'],
  // More than 12 clauses: pdqsort, not insertion sort, orders them.
  [[...Array<string>(7).fill('*/*'), `${P};encoding=compact-text`, ...Array<string>(6).fill('*/*'), 'text/plain'].join(','), 'protobuf-compact'],
  [[...Array<string>(12).fill('a/b;q=0.5'), 'text/plain;q=0.5', `${P};encoding=text;q=0.5`, '*/*'].join(','), 'text'],
];

test('negotiateFormat is expfmt.Negotiate', () => {
  for (const [accept, format] of NEGOTIATION) assert.equal(negotiateFormat(accept), format, `Accept: ${accept}`);
});

// ---------------------------------------------------------------------------------------------------------------
// Against the real binary

/** A GET with exactly the headers given (fetch would add Accept and Accept-Encoding). */
function get(url: string, accept?: string): Promise<{ status: number; contentType: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: accept === undefined ? {} : { accept } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, contentType: String(res.headers['content-type']), body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const EXTERNAL = { region: 'eu', zone: 'a"b\\c', Alpha: 'first' };

/** Series as Prometheus stores them: the external labels federate.go appended taken off (no series here has its own value equal to one). */
function stored(series: FederatedSample[]): FederatedSample[] {
  const out = series.map((x) => ({ ...x, labels: x.labels.filter(([n, v]) => (EXTERNAL as Record<string, string>)[n] !== v) }));
  const bytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
  // Prometheus's label-set order: label by label, name then value (bytes); a prefix first.
  return out.sort((a, b) => {
    for (let i = 0; i < Math.min(a.labels.length, b.labels.length); i++) {
      const c = bytes(a.labels[i]![0], b.labels[i]![0]) || bytes(a.labels[i]![1], b.labels[i]![1]);
      if (c !== 0) return c;
    }
    return a.labels.length - b.labels.length;
  });
}

function fromDelimited(body: Buffer): FederatedSample[] {
  return decodeDelimited(body).flatMap((f) => f.metric.map((m) => ({
    labels: [['__name__', f.name] as [string, string], ...m.label.filter((l) => l.value !== '').map((l): [string, string] => [l.name, l.value])]
      .sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    t: m.timestamp_ms,
    v: m.untyped.value,
  })));
}

const TARGET_BODY = [
  '# TYPE awkward gauge',
  ...Object.entries({
    big: '1e21', small: '1e-5', mixed: '123456789.123', neg_half: '-0.5', nan: 'NaN', inf: '+Inf', neg_inf: '-Inf',
    neg_zero: '-0', tiny: '5e-324', max: '1.7976931348623157e308', e20: '1e20', million: '1234567', ten_thousandth: '0.0001',
    one: '1', minus_one: '-1', zero: '0', third: '0.3333333333333333', sum: '0.30000000000000004', e_minus7: '1.5e-7',
  }).map(([k, v]) => `awkward{case="${k}"} ${v}`),
  'awkward_labels{text="back\\\\slash"} 1',
  'awkward_labels{text="quote\\"d"} 2',
  'awkward_labels{text="new\\nline"} 3',
  'awkward_labels{text="unicode é 😀 \uffee"} 4',
  'awkward_labels{text="",other="empty text"} 5',
  'awkward_labels{text="tab\there"} 6',
  'awkward_labels{region="own"} 7',
  'Upper_metric 8',
  'colon:metric{a="b"} 9',
  // Shard sorts before __name__, so storage order interleaves the names and pdqsort reorders within a name.
  ...Array.from({ length: 30 }, (_, i) => [`shard_b{Shard="${String(i).padStart(2, '0')}"} ${i}`, `shard_a{Shard="${String(i).padStart(2, '0')}"} ${-i}`]).flat(),
  '',
].join('\n');

test('byte for byte the real Prometheus 2.42\'s /federate, in text and the three protobuf forms, and its negotiation', { timeout: 60_000 }, async () => {
  const target = await startTarget(TARGET_BODY);
  const dir = await tempDir('kvass-federate-');
  await writeFile(join(dir, 'rules.yml'), [
    'groups:',
    '  - name: r',
    '    rules:',
    '      - record: awkward:count',
    '        expr: count(awkward)',
    '      - record: job:awkward_labels:sum',
    '        expr: sum by (job) (awkward_labels)',
  ].join('\n'));
  await writeFile(join(dir, 'prometheus.yml'), [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    '  external_labels:',
    '    region: eu',
    `    zone: 'a"b\\c'`,
    '    Alpha: first',
    `rule_files: ['${join(dir, 'rules.yml')}']`,
    'scrape_configs:',
    '  - job_name: awkward',
    `    static_configs: [{ targets: ['${target.address}'] }]`,
  ].join('\n'));
  const prom = await startPrometheus(join(dir, 'prometheus.yml'));
  try {
    const federate = `${prom.url}/federate?match[]=${encodeURIComponent('{__name__=~".+"}')}`;
    await waitFor('the scrape and both rules in /federate', async () => {
      const t = (await get(federate)).body.toString();
      return t.includes('shard_b{') && t.includes('awkward:count{') && t.includes('job:awkward_labels:sum{');
    }, 20_000);

    // One state in every format: text before and after the others, retried until no scrape or rule ran between.
    let snapshot: { text: Buffer; delimited: Buffer; protoText: Buffer; compact: Buffer } | undefined;
    for (let attempt = 0; attempt < 30 && !snapshot; attempt++) {
      const before = await get(federate, 'text/plain');
      const [delimited, protoText, compact] = [await get(federate, DELIMITED), await get(federate, FEDERATION_CONTENT_TYPES['protobuf-text']), await get(federate, FEDERATION_CONTENT_TYPES['protobuf-compact'])];
      const after = await get(federate, 'text/plain');
      if (before.body.equals(after.body)) snapshot = { text: before.body, delimited: delimited.body, protoText: protoText.body, compact: compact.body };
    }
    assert.ok(snapshot, 'a quiet moment between scrapes');

    const text = snapshot.text.toString();
    assert.ok(text.includes('awkward:count{Alpha="first",instance="",region="eu",zone="a\\"b\\\\c"}'), 'instance="" and the external labels in name order');
    assert.ok(text.includes('awkward_labels{instance="127.0.0.1:'), 'a label with an empty value is not stored');
    assert.ok(text.includes('region="own",Alpha="first",zone='), 'the series\' own value wins');
    for (const go of [' 1e+21 ', ' 1e-05 ', ' 1.23456789123e+08 ', ' -0.5 ', ' NaN ', ' +Inf ', ' -Inf ', ' 5e-324 ', ' 1.7976931348623157e+308 ', ' 1.234567e+06 ', ' 0.0001 ', ' 1.5e-07 ']) {
      assert.ok(text.includes(go), `value${go}`);
    }

    // Text: the series read back from Prometheus's own text, in storage order, rendered again.
    const fromText = stored(parseFederationText(text));
    assert.equal(fromText.length, 19 + 7 + 2 + 60 + 5 + 2, 'every series');
    assert.equal(renderFederation(fromText, EXTERNAL, 'text').body.toString(), text);
    // pdqsort did reorder: within shard_a the Shard values are not ascending, and the output still matches.
    const shardA = text.split('\n').filter((l) => l.startsWith('shard_a{')).map((l) => l.slice(15, 17));
    assert.notDeepEqual(shardA, [...shardA].sort(), 'Prometheus\'s order is not the stable one here');

    // Protobuf: the series decoded from Prometheus's protobuf (exact doubles: -0, NaN's bits), rendered again.
    const fromProto = stored(fromDelimited(snapshot.delimited));
    assert.deepEqual(fromProto.map((x) => [x.labels, x.t]), fromText.map((x) => [x.labels, x.t]));
    assert.ok(snapshot.delimited.includes(Buffer.from('09010000000000f87f', 'hex')), 'Prometheus writes Go\'s math.NaN()');
    assert.deepEqual(renderFederation(fromProto, EXTERNAL, 'protobuf-delimited').body, snapshot.delimited);
    assert.equal(renderFederation(fromProto, EXTERNAL, 'protobuf-text').body.toString(), snapshot.protoText.toString());
    assert.equal(renderFederation(fromProto, EXTERNAL, 'protobuf-compact').body.toString(), snapshot.compact.toString());

    // Negotiation: the Content-Type Prometheus answers each Accept with.
    const up = `${prom.url}/federate?match[]=up`;
    for (const [accept] of NEGOTIATION) {
      const res = await get(up, accept);
      assert.equal(res.status, 200);
      assert.equal(FEDERATION_CONTENT_TYPES[negotiateFormat(accept)], res.contentType, `Accept: ${accept}`);
    }
  } finally {
    await prom.stop();
    await target.close();
    await rm(dir, { recursive: true, force: true });
  }
});
