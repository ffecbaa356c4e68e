/**
 * Placement conformance with Thanos Receive's hashmod (src/receive/hashring.ts), the hashrings file, and ring matching.
 *
 * How the expected values are known, independently of the module:
 * 1. A from-the-spec XXH64 (below, on BigInt) must reproduce published test vectors: the xxHash reference's sanity
 *    check (Cyan4973/xxHash cli/xsum_sanity_check.c, XSUM_XXH64_testdata, on XSUM_fillTestBuffer's bytes) and
 *    cespare/xxhash's xxhash_test.go (the Go library Thanos hashes with). The @node-rs/xxhash binding must too.
 * 2. The bytes Thanos hashes are written out here by hand for a few series (HashWithPrefix's layout), and
 *    hashSeries must equal XXH64 of those bytes.
 * 3. The conformance table's keys and endpoints were printed by Thanos's own code (HashWithPrefix and
 *    simpleHashring.GetN copied from thanos-io/thanos e103a81, built with cespare/xxhash); the test recomputes every
 *    row from the spec XXH64 and the rule endpoints_sorted[(hash + n) mod 2^64 mod len] as well.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { xxh64 } from '@node-rs/xxhash';
import {
  Hashring, HashringsError, InsufficientNodesError, Rings, globRegExp, hashSeries, parseHashrings, type Labels,
} from '../../src/receive/hashring.js';

// ---- 1. XXH64 from the specification (xxHash doc/xxhash_spec.md), little-endian lanes, all arithmetic mod 2^64.
const M = (1n << 64n) - 1n;
const P1 = 0x9e3779b185ebca87n, P2 = 0xc2b2ae3d27d4eb4fn, P3 = 0x165667b19e3779f9n, P4 = 0x85ebca77c2b2ae63n, P5 = 0x27d4eb2f165667c5n;
const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M;
const round = (acc: bigint, lane: bigint) => (rotl((acc + lane * P2) & M, 31n) * P1) & M;
const merge = (acc: bigint, v: bigint) => (((acc ^ round(0n, v)) * P1) + P4) & M;
function specXXH64(b: Uint8Array, seed = 0n): bigint {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let i = 0;
  let acc: bigint;
  if (b.length >= 32) {
    let v1 = (seed + P1 + P2) & M, v2 = (seed + P2) & M, v3 = seed, v4 = (seed - P1) & M;
    for (; i + 32 <= b.length; i += 32) {
      v1 = round(v1, dv.getBigUint64(i, true)); v2 = round(v2, dv.getBigUint64(i + 8, true));
      v3 = round(v3, dv.getBigUint64(i + 16, true)); v4 = round(v4, dv.getBigUint64(i + 24, true));
    }
    acc = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    acc = merge(merge(merge(merge(acc, v1), v2), v3), v4);
  } else acc = (seed + P5) & M;
  acc = (acc + BigInt(b.length)) & M;
  for (; i + 8 <= b.length; i += 8) acc = ((rotl(acc ^ round(0n, dv.getBigUint64(i, true)), 27n) * P1) + P4) & M;
  if (i + 4 <= b.length) { acc = ((rotl(acc ^ ((BigInt(dv.getUint32(i, true)) * P1) & M), 23n) * P2) + P3) & M; i += 4; }
  for (; i < b.length; i++) acc = (rotl(acc ^ ((BigInt(b[i]!) * P5) & M), 11n) * P1) & M;
  acc = ((acc ^ (acc >> 33n)) * P2) & M;
  acc = ((acc ^ (acc >> 29n)) * P3) & M;
  return acc ^ (acc >> 32n);
}

/** xsum_sanity_check.c XSUM_fillTestBuffer: byteGen = PRIME32; buffer[i] = byteGen >> 56; byteGen *= PRIME64. */
const XSUM_PRIME32 = 2654435761n, XSUM_PRIME64 = 11400714785074694797n;
function sanityBuffer(len: number): Uint8Array {
  const b = new Uint8Array(len);
  let g = XSUM_PRIME32;
  for (let i = 0; i < len; i++) { b[i] = Number(g >> 56n); g = (g * XSUM_PRIME64) & M; }
  return b;
}

test('XXH64: the spec implementation and the binding give the published test vectors', () => {
  // Cyan4973/xxHash cli/xsum_sanity_check.c, XSUM_XXH64_testdata: { len, seed, result }.
  const reference: Array<[number, bigint, bigint]> = [
    [0, 0n, 0xef46db3751d8e999n], [0, XSUM_PRIME32, 0xac75fda2929b17efn],
    [1, 0n, 0xe934a84adb052768n], [1, XSUM_PRIME32, 0x5014607643a9b4c3n],
    [4, 0n, 0x9136a0dca57457een], [14, 0n, 0x8282dcc4994e35c8n], [14, XSUM_PRIME32, 0xc3bd6bf63deb6df0n],
    [222, 0n, 0xb641ae8cb691c174n], [222, XSUM_PRIME32, 0x20cb8ab7ae10c14an],
  ];
  for (const [len, seed, want] of reference) {
    const b = sanityBuffer(len);
    assert.equal(specXXH64(b, seed), want, `spec, len ${len} seed ${seed}`);
    assert.equal(xxh64(b, seed), want, `binding, len ${len} seed ${seed}`);
  }
  // cespare/xxhash xxhash_test.go TestAll (Sum64 is seed 0), plus "abc", a value quoted by many ports.
  const s63 = 'Call me Ishmael. Some years ago--never mind how long precisely-';
  const cespare: Array<[string, bigint, bigint]> = [
    ['', 0n, 0xef46db3751d8e999n], ['a', 0n, 0xd24ec4f1a98c6e5bn], ['as', 0n, 0x1c330fb2d66be179n],
    ['asd', 0n, 0x631c37ce72a97393n], ['asdf', 0n, 0x415872f599cea71en], [s63, 0n, 0x02a2e85470d6fd96n],
    ['', 123n, 0xe0db84de91f3e198n], ['asdf', M, 0x9a2fd8473be539b6n], [s63, 54321n, 0x1736d186daf5d1cdn],
    ['abc', 0n, 0x44bc2cf5ad770999n],
  ];
  for (const [s, seed, want] of cespare) {
    assert.equal(specXXH64(Buffer.from(s), seed), want, `spec, ${JSON.stringify(s)}`);
    assert.equal(xxh64(Buffer.from(s), seed), want, `binding, ${JSON.stringify(s)}`);
  }
});

test('XXH64: the binding agrees with the spec implementation on random bytes of every length class', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => xxh64(b) === specXXH64(b)), { seed: 11, numRuns: 500 });
});

// ---- 2. The bytes Thanos hashes (HashWithPrefix): tenant FF, then name FF value FF per label, in the given order.
const hex = (s: string) => Uint8Array.from(s.trim().split(/\s+/), (h) => parseInt(h, 16));

test('hashSeries is XXH64 of the hand-assembled HashWithPrefix bytes', () => {
  const cases: Array<[string, Labels, Uint8Array]> = [
    // "default-tenant" FF
    ['default-tenant', [], hex('64 65 66 61 75 6c 74 2d 74 65 6e 61 6e 74 ff')],
    // "team-a" FF "__name__" FF "up" FF "job" FF "node" FF
    ['team-a', [['__name__', 'up'], ['job', 'node']],
      hex('74 65 61 6d 2d 61 ff  5f 5f 6e 61 6d 65 5f 5f ff 75 70 ff  6a 6f 62 ff 6e 6f 64 65 ff')],
    // "" FF "a" FF "" FF: an empty tenant and an empty value still leave their separators
    ['', [['a', '']], hex('ff 61 ff ff')],
    // "tenant-ü" FF "city" FF "Zürich" FF, with ü as UTF-8 C3 BC
    ['tenant-ü', [['city', 'Zürich']], hex('74 65 6e 61 6e 74 2d c3 bc ff  63 69 74 79 ff 5a c3 bc 72 69 63 68 ff')],
    // "t" FF "a" FF "x" NUL "y" FF: a NUL in a value stays a 00 byte
    ['t', [['a', 'x\0y']], hex('74 ff 61 ff 78 00 79 ff')],
    // "t" FF "a" FF "ÿ" FF: U+00FF is C3 BF in UTF-8, never a separator
    ['t', [['a', 'ÿ']], hex('74 ff 61 ff c3 bf ff')],
  ];
  for (const [tenant, labels, bytes] of cases) {
    assert.equal(hashSeries(tenant, labels), specXXH64(bytes), `${tenant} ${JSON.stringify(labels)}`);
  }
  // Past 1 KiB Thanos streams the same bytes into a digest: the key does not change.
  const big: Labels = [['__name__', 'big'], ['v', 'x'.repeat(1100)]];
  const bytes = Buffer.concat([Buffer.from('t\xff__name__\xffbig\xffv\xff', 'latin1'), Buffer.from('x'.repeat(1100)), Buffer.from([0xff])]);
  assert.equal(hashSeries('t', big), specXXH64(bytes));
  // Labels longer than the module's kept buffer (1 MiB) take a one-off buffer.
  const huge: Labels = [['v', 'é'.repeat(400_000)]];
  assert.equal(hashSeries('t', huge), xxh64(keyBytes('t', huge)));
  assert.equal(hashSeries('t', [['__name__', 'big']]), specXXH64(Buffer.from('t\xff__name__\xffbig\xff', 'latin1')), 'the kept buffer is reused correctly');
});

test('hashSeries: facts of Thanos TestHashWithPrefix (pkg/store/labelpb/label_zlabel_test.go)', () => {
  const lbls: Labels = [['foo', 'bar'], ['baz', 'qux']];
  assert.equal(hashSeries('a', lbls), hashSeries('a', lbls));
  assert.notEqual(hashSeries('a', lbls), hashSeries('a', [lbls[0]!]));
  assert.notEqual(hashSeries('a', lbls), hashSeries('a', [lbls[1]!, lbls[0]!]), 'order matters: labels are not sorted');
  assert.notEqual(hashSeries('a', lbls), hashSeries('b', lbls));
});

// ---- 3. Conformance table: printed by Thanos's HashWithPrefix + simpleHashring.GetN, recomputed here from the spec.
const THREE = ['ingestor-2.receive:19291', 'ingestor-0.receive:19291', 'ingestor-1.receive:19291'];
const UP: Labels = [['__name__', 'up'], ['instance', 'localhost:9090'], ['job', 'prometheus']];
const TABLE: Array<{ tenant: string; labels: Labels; endpoints: string[]; hash: bigint; byReplica: string[] }> = [
  { tenant: 'default-tenant', labels: [], endpoints: THREE, hash: 0x865efb37a9c51d23n,
    byReplica: ['ingestor-1.receive:19291', 'ingestor-2.receive:19291', 'ingestor-0.receive:19291'] },
  { tenant: 'default-tenant', labels: UP, endpoints: THREE, hash: 0xcb7a3eb434a9984cn,
    byReplica: ['ingestor-2.receive:19291', 'ingestor-0.receive:19291', 'ingestor-1.receive:19291'] },
  { tenant: 'team-a', labels: UP, endpoints: ['e:19291', 'a:19291', 'd:19291', 'b:19291', 'c:19291'], hash: 0x52b49a1bac86ad89n,
    byReplica: ['e:19291', 'a:19291', 'b:19291', 'c:19291', 'd:19291'] },
  { tenant: 'team-a', labels: [['__name__', 'node_cpu_seconds_total'], ['cpu', '0'], ['instance', '10.0.0.1:9100'], ['job', 'node'], ['mode', 'idle']],
    endpoints: THREE, hash: 0xf65c9efabd721c1cn, byReplica: ['ingestor-1.receive:19291', 'ingestor-2.receive:19291', 'ingestor-0.receive:19291'] },
  { tenant: '', labels: [['a', '']], endpoints: ['y:1', 'x:1'], hash: 0x3e15337eacf3e9e9n, byReplica: ['y:1', 'x:1'] },
  { tenant: 'tenant-ü', labels: [['city', 'Zürich']], endpoints: ['d:1', 'c:1', 'b:1', 'a:1'], hash: 0x396a2616d0ff769en,
    byReplica: ['c:1', 'd:1', 'a:1', 'b:1'] },
  { tenant: 't', labels: [['__name__', 'big'], ['v', 'x'.repeat(1100)]], endpoints: THREE, hash: 0x7821180ecb1f1609n,
    byReplica: ['ingestor-0.receive:19291', 'ingestor-1.receive:19291', 'ingestor-2.receive:19291'] },
  { tenant: 'default-tenant', labels: [['__name__', 'up'], ['job', 'prometheus']], endpoints: ['only:19291'], hash: 0x5593cfae80357c27n,
    byReplica: ['only:19291'] },
];

/** The key's bytes assembled again, independently of the module. */
const keyBytes = (tenant: string, labels: Labels) =>
  Buffer.concat([Buffer.from(tenant), Buffer.from([0xff]), ...labels.flatMap(([n, v]) => [Buffer.from(n), Buffer.from([0xff]), Buffer.from(v), Buffer.from([0xff])])]);

test('conformance: the endpoint of every replica equals what Thanos hashmod gives', () => {
  for (const row of TABLE) {
    const what = `${JSON.stringify(row.tenant)} ${JSON.stringify(row.labels).slice(0, 80)} on ${row.endpoints.length}`;
    assert.equal(specXXH64(keyBytes(row.tenant, row.labels)), row.hash, `spec key, ${what}`);
    assert.equal(hashSeries(row.tenant, row.labels), row.hash, `hashSeries, ${what}`);
    const sorted = [...row.endpoints].sort();
    const ring = new Hashring(row.endpoints);
    assert.deepEqual(ring.endpoints, sorted);
    for (let n = 0; n < row.endpoints.length; n++) {
      assert.equal(sorted[Number((row.hash + BigInt(n)) % BigInt(sorted.length))], row.byReplica[n], `rule, ${what} n=${n}`);
      assert.equal(ring.get(row.tenant, row.labels, n), row.byReplica[n], `get, ${what} n=${n}`);
    }
    assert.deepEqual(ring.replicas(row.tenant, row.labels, row.endpoints.length), row.byReplica);
    assert.throws(() => ring.get(row.tenant, row.labels, row.endpoints.length),
      (e: unknown) => e instanceof InsufficientNodesError && e.message === `insufficient nodes; have ${row.endpoints.length}, want ${row.endpoints.length + 1}`);
  }
});

test('hash + n wraps at 2^64 as Go\'s uint64 does', () => {
  const ring = new Hashring(['a', 'b', 'c', 'd', 'e']);
  // (2^64 - 1 + 1) mod 2^64 = 0 -> a; without the wrap 2^64 mod 5 = 1 would give b.
  assert.equal(ring.getHashed(M, 1), 'a');
  assert.equal(ring.getHashed(M, 0), ring.endpoints[Number(M % 5n)]);
});

test('endpoints: sorted by bytes like Thanos >= 0.34, file order on request; bad rings and replicas refused', () => {
  assert.deepEqual(new Hashring(['b:1', 'B:1', 'a:10', 'a:9']).endpoints, ['B:1', 'a:10', 'a:9', 'b:1']);
  assert.deepEqual(new Hashring(['b', 'a'], { keepOrder: true }).endpoints, ['b', 'a']);
  assert.throws(() => new Hashring([]), /at least one endpoint/);
  assert.throws(() => new Hashring(['a', 'b', 'a']), /"a" is listed twice/);
  const ring = new Hashring(['a', 'b', 'c']);
  assert.throws(() => ring.replicas('t', UP, 4), /insufficient nodes; have 3, want 4/);
  assert.throws(() => ring.replicas('t', UP, 0), RangeError);
  assert.throws(() => ring.get('t', UP, -1), RangeError);
  assert.throws(() => ring.get('t', UP, 1.5), RangeError);
});

test('property: placement is deterministic, replicas are distinct and consecutive on the ring', () => {
  const labels = fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 20 })), { selector: ([n]) => n, maxLength: 6 })
    .map((ls) => ls.sort(([a], [b]) => (a < b ? -1 : 1)) as Labels);
  fc.assert(fc.property(fc.string({ maxLength: 10 }), labels, fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), (tenant, ls, len, rfRaw) => {
    const ring = new Hashring(Array.from({ length: len }, (_, i) => `ingestor-${i}:19291`));
    const rf = Math.min(rfRaw, len);
    const reps = ring.replicas(tenant, ls, rf);
    assert.deepEqual(ring.replicas(tenant, ls, rf), reps);
    assert.equal(new Set(reps).size, rf);
    assert.equal(reps[0], ring.get(tenant, ls));
    const first = ring.endpoints.indexOf(reps[0]!);
    reps.forEach((e, n) => assert.equal(e, ring.endpoints[(first + n) % len]));
    assert.equal(hashSeries(tenant, ls), specXXH64(keyBytes(tenant, ls)));
  }), { seed: 7, numRuns: 300 });
});

test('uniform enough: 10k random series over 3 endpoints pass a chi-square test (2 df, p = 0.001)', () => {
  const ring = new Hashring(['a', 'b', 'c']);
  const series = fc.sample(fc.tuple(fc.constantFrom('default-tenant', 'team-a'), fc.stringMatching(/^[a-z_]{1,20}$/), fc.ipV4(), fc.nat(1000)), { seed: 42, numRuns: 10_000 });
  for (const n of [0, 1]) {
    const counts = new Map<string, number>();
    for (const [tenant, name, ip, cpu] of series) {
      const e = ring.get(tenant, [['__name__', name], ['cpu', String(cpu)], ['instance', `${ip}:9100`]], n);
      counts.set(e, (counts.get(e) ?? 0) + 1);
    }
    const expected = series.length / 3;
    const chi2 = [...counts.values()].reduce((a, c) => a + (c - expected) ** 2 / expected, 0);
    assert.equal(counts.size, 3);
    assert.ok(chi2 < 13.82, `chi-square ${chi2.toFixed(2)} for replica ${n}: ${JSON.stringify([...counts])}`);
  }
});

// ---- The hashrings file.
const parseOk = (v: unknown) => parseHashrings(JSON.stringify(v), 'rings.json');
const refused = (text: string, re: RegExp) =>
  assert.throws(() => parseHashrings(text, 'rings.json'), (e: unknown) => e instanceof HashringsError && /^rings\.json: /.test(e.message) && re.test(e.message),
    `${text} should be refused with ${re}`);

test('hashrings file: Thanos\'s format, with endpoint objects, case-insensitive keys and warnings for what is ignored', () => {
  const c = parseOk([
    { hashring: 'hard', tenants: ['a', 'b'], endpoints: ['h1:19291', { address: 'h2:19291', capnproto_address: 'h2:19391' }], algorithm: 'hashmod' },
    { Hashring: 'soft', Endpoints: [{ Address: 's1:19291', az: '' }], tenants: null, Typo: 1, external_labels: {}, shuffle_sharding_config: { shard_size: 0 } },
  ]);
  assert.deepEqual(c.map(({ hashring, tenants, tenantMatcherType, endpoints }) => ({ hashring, tenants, tenantMatcherType, endpoints })), [
    { hashring: 'hard', tenants: ['a', 'b'], tenantMatcherType: 'exact', endpoints: ['h1:19291', 'h2:19291'] },
    { hashring: 'soft', tenants: [], tenantMatcherType: 'exact', endpoints: ['s1:19291'] },
  ]);
  assert.deepEqual(c[0]!.warnings, []);
  assert.deepEqual(c[1]!.warnings, ['hashring 1 ("soft"): unknown field "Typo" ignored, as Thanos ignores it']);
  const w = parseOk([{ endpoints: [{ address: 'x', weight: 2 }], algorithm: 'Hashmod' }])[0]!.warnings;
  assert.match(w[0]!, /unknown "algorithm" "Hashmod": hashmod is used, as Thanos falls back to it/);
  assert.match(w[1]!, /hashring 0: endpoint 0: unknown field "weight" ignored/);
});

test('hashrings file: each refusal names the file, the ring and the reason', () => {
  refused('', /the file is empty/);
  refused('  \n', /the file is empty/);
  refused('[]', /no hashrings/);
  refused('null', /no hashrings/);
  refused('[{"endpoints": ["a"]}', /not valid JSON/);
  refused('{"hashring": "x", "endpoints": ["a"]}', /expected a JSON array of hashrings .*got object/);
  refused('[42]', /hashring 0: expected an object/);
  refused('[{"hashring": "x"}]', /hashring 0 \("x"\): no endpoints/);
  refused('[{"hashring": "x", "endpoints": []}]', /hashring 0 \("x"\): no endpoints/);
  refused('[{"hashring": "x", "endpoints": "a:1"}]', /hashring 0 \("x"\): "endpoints" must be an array, got string/);
  refused('[{"endpoints": ["a:1", ""]}]', /hashring 0: endpoint 1 is empty/);
  refused('[{"endpoints": [{"az": "z1"}]}]', /hashring 0: endpoint 0 has no "address"/);
  refused('[{"endpoints": [7]}]', /endpoint 0 must be "host:port" or \{"address": "host:port"\}, got number/);
  refused('[{"hashring": "x", "endpoints": ["a:1", {"address": "a:1"}]}]', /hashring 0 \("x"\): endpoint "a:1" is listed twice/);
  refused('[{"hashring": "x", "endpoints": [{"address": "a:1", "az": "eu-1a"}]}]', /hashring 0 \("x"\): endpoint 0 \(a:1\) has an "az"/);
  refused('[{"hashring": "k", "algorithm": "ketama", "endpoints": ["a"]}]', /hashring 0 \("k"\): "algorithm": "ketama" is not supported/);
  refused('[{"endpoints": ["a"], "shuffle_sharding_config": {"shard_size": 2}}]', /"shuffle_sharding_config" needs "ketama"/);
  refused('[{"endpoints": ["a"], "external_labels": {"region": "eu"}}]', /"external_labels" are not supported/);
  refused('[{"hashring": 5, "endpoints": ["a"]}]', /hashring 0: "hashring" must be a string, got number/);
  refused('[{"tenants": "a", "endpoints": ["a"]}]', /"tenants" must be an array of strings, got string/);
  refused('[{"tenants": ["a", ""], "endpoints": ["a"]}]', /hashring 0: a tenant is empty/);
  refused('[{"tenants": ["a"], "tenant_matcher_type": "regex", "endpoints": ["a"]}]', /"tenant_matcher_type" "regex" is not "exact" \(the default\) or "glob"/);
  refused('[{"tenants": ["team-["], "tenant_matcher_type": "glob", "endpoints": ["a"]}]', /tenant pattern "team-\[": syntax error in pattern/);
  refused('[{"hashring": "soft", "endpoints": ["a"]}, {"hashring": "hard", "tenants": ["t"], "endpoints": ["b"]}]',
    /hashring 1 \("hard"\): a ring with tenants after the soft ring hashring 0 \("soft"\)/);
  refused('[{"hashring": "s1", "endpoints": ["a"]}, {"hashring": "s2", "endpoints": ["b"]}]', /hashring 1 \("s2"\): a second soft ring/);
  refused('[{"hashring": "x", "tenants": ["t"], "endpoints": ["a"]}, {"hashring": "y", "tenants": ["u", "t"], "endpoints": ["b"]}]',
    /hashring 1 \("y"\): tenant "t" is already listed in hashring 0 \("x"\)/);
  refused('[{"tenants": ["t", "t"], "endpoints": ["a"]}]', /tenant "t" is already listed in this ring/);
});

test('rings: the facts of Thanos TestHashringGet (pkg/receive/hashring_test.go), matched in file order', () => {
  const rings = (cfg: unknown[]) => new Rings(parseOk(cfg));
  const at = (r: Rings, tenant: string) => r.ringFor(tenant)?.endpoints;
  assert.deepEqual(at(rings([{ endpoints: ['node1'] }]), 'tenant1'), ['node1'], 'simple');
  assert.deepEqual(at(rings([{ endpoints: ['node2'], tenants: ['tenant2'] }, { endpoints: ['node1'] }]), 'tenant2'), ['node2'], 'specific');
  const many = rings([{ endpoints: ['node1'], tenants: ['tenant1'] }, { endpoints: ['node2'], tenants: ['tenant2'] }, { endpoints: ['node3'], tenants: ['tenant3'] }]);
  assert.deepEqual(at(many, 'tenant1'), ['node1'], 'many tenants');
  assert.equal(many.ringFor('tenant4'), undefined, 'many tenants error: no ring, no soft ring');
  const nodes = rings([{ endpoints: ['node1', 'node2', 'node3'], tenants: ['tenant1'] }, { endpoints: ['node4', 'node5', 'node6'] }]);
  assert.deepEqual(at(nodes, 'tenant1'), ['node1', 'node2', 'node3'], 'many nodes');
  assert.deepEqual(at(nodes, ''), ['node4', 'node5', 'node6'], 'many nodes default');
  const glob = (tenants: string[]) => rings([{ endpoints: ['node1', 'node2', 'node3'], tenants, tenant_matcher_type: 'glob' }, { endpoints: ['node4', 'node5', 'node6'] }]);
  assert.deepEqual(at(glob(['prefix*']), 'prefix-1'), ['node1', 'node2', 'node3'], 'glob hashring match');
  assert.deepEqual(at(glob(['prefix*']), 'suffix-1'), ['node4', 'node5', 'node6'], 'glob hashring not match');
  assert.deepEqual(at(glob(['t1-*', 't2', 't3-*']), 't2'), ['node1', 'node2', 'node3'], 'glob hashring multiple matches');
  // File order decides between a glob ring and a later exact ring.
  const order = rings([{ endpoints: ['g'], tenants: ['team-*'], tenant_matcher_type: 'glob' }, { endpoints: ['e'], tenants: ['team-a'] }]);
  assert.deepEqual(at(order, 'team-a'), ['g']);
  assert.equal(order.ringFor('other'), undefined);
  assert.equal(many.hashrings.length, 3);
  assert.equal(many.configs[1]!.tenants[0], 'tenant2');
});

test('glob: Go\'s path/filepath.Match table (src/path/filepath/match_test.go)', () => {
  const table: Array<[string, string, boolean | 'bad']> = [
    ['abc', 'abc', true], ['*', 'abc', true], ['*c', 'abc', true], ['a*', 'a', true], ['a*', 'abc', true], ['a*', 'ab/c', false],
    ['a*/b', 'abc/b', true], ['a*/b', 'a/c/b', false], ['a*b*c*d*e*/f', 'axbxcxdxe/f', true], ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
    ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false], ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false], ['a*b?c*x', 'abxbbxdbxebxczzx', true],
    ['a*b?c*x', 'abxbbxdbxebxczzy', false], ['ab[c]', 'abc', true], ['ab[b-d]', 'abc', true], ['ab[e-g]', 'abc', false],
    ['ab[^c]', 'abc', false], ['ab[^b-d]', 'abc', false], ['ab[^e-g]', 'abc', true], ['a\\*b', 'a*b', true], ['a\\*b', 'ab', false],
    ['a?b', 'a☺b', true], ['a[^a]b', 'a☺b', true], ['a???b', 'a☺b', false], ['a[^a][^a][^a]b', 'a☺b', false], ['[a-ζ]*', 'α', true],
    ['*[a-ζ]', 'A', false], ['a?b', 'a/b', false], ['a*b', 'a/b', false], ['[\\]a]', ']', true], ['[\\-]', '-', true],
    ['[x\\-]', 'x', true], ['[x\\-]', '-', true], ['[x\\-]', 'z', false], ['[\\-x]', 'x', true], ['[\\-x]', '-', true], ['[\\-x]', 'a', false],
    ['[]a]', ']', 'bad'], ['[-]', '-', 'bad'], ['[x-]', 'x', 'bad'], ['[-x]', 'x', 'bad'], ['\\', 'a', 'bad'], ['[a-b-c]', 'a', 'bad'],
    ['[', 'a', 'bad'], ['[^', 'a', 'bad'], ['[^bc', 'a', 'bad'], ['a[', 'a', 'bad'], ['a/b[', 'x', 'bad'], ['*x', 'xxx', true],
  ];
  for (const [pattern, s, want] of table) {
    if (want === 'bad') assert.throws(() => globRegExp(pattern), /syntax error in pattern/, pattern);
    else assert.equal(globRegExp(pattern).test(s), want, `${pattern} ~ ${s}`);
  }
});
