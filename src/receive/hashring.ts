/**
 * Series placement for the remote-write router (issue 11), ported from Thanos Receive so that kvass routers and
 * Thanos receivers put a series on the same endpoint: a ring can mix them, or move from one to the other, without
 * reshuffling. This is a port, not a design. It follows thanos-io/thanos e103a81 (2026): pkg/receive/hashring.go
 * (simpleHashring, multiHashring), pkg/store/labelpb/label.go (HashWithPrefix) and pkg/receive/config.go (the file).
 *
 * The key (HashWithPrefix, the same from v0.22 to e103a81) is XXH64 with seed 0 (cespare/xxhash Sum64) of the bytes
 *     utf8(tenant) FF  utf8(name_1) FF utf8(value_1) FF  ...  utf8(name_k) FF utf8(value_k) FF
 * with the labels in the order given. FF never occurs in UTF-8, so the bytes identify the series. Thanos >= 0.26
 * hashes the labels in the order they arrive and relies on remote write sending them sorted by name; <= 0.25 sorted
 * them first. For sorted input, which is what Prometheus sends and kvass passes, every version gives the same key.
 * The labels are the series' own. Thanos's tenant label (tenant_id) is not among them, because Thanos adds it on
 * the ingestor as an external label of the tenant's TSDB. So hash a series before adding the tenant label.
 * Replica n (0 <= n < rf) goes to endpoints[((hash + n) mod 2^64) mod len], like Go's wrapping uint64 sum. The
 * endpoints are the ring's addresses sorted by bytes, as Thanos >= 0.34 sorts them (older versions used file order,
 * so list them sorted and every version agrees). n >= len is Thanos's "insufficient nodes" error.
 *
 * The file is Thanos's JSON, read as Go's encoding/json reads it: keys match case-insensitively, the last one wins,
 * unknown fields are ignored (returned as warnings). kvass is stricter where Thanos would accept a file that cannot
 * work as meant: an empty ring, a duplicate endpoint, a tenant in two rings, a soft ring (one with no tenants) that
 * is not last, "ketama", AZs, shuffle sharding, external_labels, an unknown tenant_matcher_type, a bad glob.
 */
import { xxh64 } from '@node-rs/xxhash';

export type Labels = ReadonlyArray<readonly [string, string]>;

const SEP = 0xff;
const MAX_U64 = (1n << 64n) - 1n;
let scratch = Buffer.allocUnsafe(16 * 1024);

/** Thanos's hashmod key of a series (labels sorted by name, without the tenant label): see the header. */
export function hashSeries(tenant: string, labels: Labels): bigint {
  // One UTF-8 write of the whole key with NUL for the separators. When all of it is ASCII (as many bytes as
  // characters: the usual case) the separators' offsets are known and become FF; otherwise write part by part.
  let key = tenant + '\0';
  for (const [n, v] of labels) key += n + '\0' + v + '\0';
  let buf = scratch;
  if (3 * key.length > buf.length) { // UTF-8 needs at most 3 bytes per UTF-16 unit
    buf = Buffer.allocUnsafe(3 * key.length);
    if (buf.length <= 1 << 20) scratch = buf; // keep a grown buffer, but not a huge one
  }
  let o = buf.write(key, 0);
  if (o === key.length) {
    let p = tenant.length;
    buf[p] = SEP;
    for (const [n, v] of labels) { buf[(p += n.length + 1)] = SEP; buf[(p += v.length + 1)] = SEP; }
  } else {
    o = buf.write(tenant, 0);
    buf[o++] = SEP;
    for (const [n, v] of labels) { o += buf.write(n, o); buf[o++] = SEP; o += buf.write(v, o); buf[o++] = SEP; }
  }
  return xxh64(buf.subarray(0, o));
}

/** Thanos's insufficientNodesError, with its message. */
export class InsufficientNodesError extends Error {
  constructor(readonly have: number, readonly want: number) {
    super(`insufficient nodes; have ${have}, want ${want}`);
    this.name = 'InsufficientNodesError';
  }
}

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** One ring placed by Thanos's hashmod (simpleHashring). */
export class Hashring {
  /** The endpoints in placement order: sorted by address bytes as Thanos >= 0.34 does, or as given if `keepOrder`. */
  readonly endpoints: readonly string[];
  private readonly len: bigint;

  constructor(endpoints: readonly string[], opts: { keepOrder?: boolean } = {}) {
    if (endpoints.length === 0) throw new RangeError('a hashring needs at least one endpoint');
    const dup = endpoints.find((e, i) => endpoints.indexOf(e) !== i);
    if (dup !== undefined) throw new RangeError(`endpoint ${JSON.stringify(dup)} is listed twice`);
    this.endpoints = Object.freeze(opts.keepOrder ? [...endpoints] : [...endpoints].sort(byBytes));
    this.len = BigInt(endpoints.length);
  }

  /** Thanos's GetN: the endpoint of replica n of a series. */
  get(tenant: string, labels: Labels, n = 0): string {
    return this.getHashed(hashSeries(tenant, labels), n);
  }

  /** GetN from a key already computed by hashSeries. */
  getHashed(hash: bigint, n: number): string {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`replica ${n} is not a whole number >= 0`);
    if (n >= this.endpoints.length) throw new InsufficientNodesError(this.endpoints.length, n + 1);
    return this.endpoints[Number(BigInt.asUintN(64, hash + BigInt(n)) % this.len)]!;
  }

  /** The rf endpoints of a series, replica 0 first, as Thanos's router picks them (GetN for n = 0..rf-1): distinct. */
  replicas(tenant: string, labels: Labels, rf: number): string[] {
    if (!Number.isSafeInteger(rf) || rf < 1) throw new RangeError(`replication factor ${rf} is not a whole number >= 1`);
    const len = this.endpoints.length;
    if (rf > len) throw new InsufficientNodesError(len, len + 1); // where Thanos's loop stops: GetN(len)
    const hash = hashSeries(tenant, labels);
    if (hash > MAX_U64 - BigInt(rf)) return Array.from({ length: rf }, (_, n) => this.getHashed(hash, n)); // it wraps
    const base = Number(hash % this.len);
    return Array.from({ length: rf }, (_, n) => this.endpoints[(base + n) % len]!);
  }
}

/** Go's path/filepath.Match (Unix) as an anchored RegExp; throws where Go returns ErrBadPattern. */
export function globRegExp(pattern: string): RegExp {
  const cp = [...pattern];
  const lit = (c: string) => `\\u{${c.codePointAt(0)!.toString(16)}}`;
  const bad = (why: string): never => { throw new Error(`syntax error in pattern: ${why}`); };
  let re = '';
  for (let i = 0; i < cp.length; i++) {
    const c = cp[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') re += lit(cp[++i] ?? bad('it ends with \\'));
    else if (c !== '[') re += lit(c);
    else {
      const negated = cp[i + 1] === '^';
      i += negated ? 2 : 1;
      const esc = (): string => { // Go's getEsc
        let ch = cp[i];
        if (ch === undefined || ch === '-' || ch === ']') return bad(`bad character class at ${JSON.stringify(cp.slice(i).join(''))}`);
        if (ch === '\\') ch = cp[++i] ?? bad('it ends with \\');
        if (++i >= cp.length) bad('unclosed [');
        return ch;
      };
      const ranges: string[] = [];
      for (let n = 0; !(cp[i] === ']' && n > 0); n++) {
        const lo = esc();
        let hi = lo;
        if (cp[i] === '-') { i++; hi = esc(); }
        if (lo.codePointAt(0)! <= hi.codePointAt(0)!) ranges.push(lo === hi ? lit(lo) : `${lit(lo)}-${lit(hi)}`);
      }
      re += negated ? `[^${ranges.join('')}]` : ranges.length > 0 ? `[${ranges.join('')}]` : '(?!)';
    }
  }
  return new RegExp(`^(?:${re})$`, 'u');
}

/** A hashrings file that cannot be used; the message names the file and the ring. */
export class HashringsError extends Error {
  override name = 'HashringsError';
}

export interface HashringConfig {
  /** The ring's name ("hashring"), '' when the file gives none. */
  readonly hashring: string;
  /** Tenant names, or glob patterns with tenantMatcherType 'glob'; empty for the soft ring, which takes everyone. */
  readonly tenants: readonly string[];
  readonly tenantMatcherType: 'exact' | 'glob';
  /** The endpoints' addresses as the file lists them (Hashring sorts them). */
  readonly endpoints: readonly string[];
  /** What Thanos accepts and kvass ignores (unknown fields, an unknown algorithm): for the log. */
  readonly warnings: readonly string[];
}

const RING_FIELDS = new Set(['hashring', 'tenants', 'tenant_matcher_type', 'endpoints', 'algorithm', 'external_labels', 'shuffle_sharding_config']);
const ENDPOINT_FIELDS = new Set(['address', 'capnproto_address', 'az']);
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);
const ringName = (i: number, name: string) => `hashring ${i}${name ? ` (${JSON.stringify(name)})` : ''}`;

/** An object's fields as Go's encoding/json reads them (keys matched case-insensitively, the last one wins), and
 * the keys that match no field. */
function fields(o: Obj, known: Set<string>): [Obj, string[]] {
  const f: Obj = Object.create(null);
  for (const [k, v] of Object.entries(o)) f[k.toLowerCase()] = v;
  return [f, Object.keys(o).filter((k) => !known.has(k.toLowerCase()))];
}
const ignored = (where: string, keys: string[]) => keys.map((k) => `${where}: unknown field ${JSON.stringify(k)} ignored, as Thanos ignores it`);

function parseRing(raw: unknown, i: number, fail: (m: string) => never): HashringConfig {
  if (!isObj(raw)) return fail(`${ringName(i, '')}: expected an object {"hashring": ..., "endpoints": [...]}, got ${kind(raw)}`);
  const [f, unknown] = fields(raw, RING_FIELDS);
  let at = ringName(i, '');
  const str = (v: unknown, what: string): string => (v == null ? '' : typeof v === 'string' ? v : fail(`${at}: ${what} must be a string, got ${kind(v)}`));
  const name = str(f.hashring, '"hashring"');
  at = ringName(i, name);
  const warnings = ignored(at, unknown);

  if (f.tenants != null && !Array.isArray(f.tenants)) fail(`${at}: "tenants" must be an array of strings, got ${kind(f.tenants)}`);
  const tenants = ((f.tenants ?? []) as unknown[]).map((t) => str(t, '"tenants" entry') || fail(`${at}: a tenant is empty`));
  const matcher = str(f.tenant_matcher_type, '"tenant_matcher_type"') || 'exact';
  if (matcher !== 'exact' && matcher !== 'glob') fail(`${at}: "tenant_matcher_type" ${JSON.stringify(matcher)} is not "exact" (the default) or "glob"`);
  for (const t of matcher === 'glob' ? tenants : []) {
    try { globRegExp(t); } catch (e) { fail(`${at}: tenant pattern ${JSON.stringify(t)}: ${(e as Error).message}`); }
  }

  const algorithm = str(f.algorithm, '"algorithm"');
  if (algorithm === 'ketama') fail(`${at}: "algorithm": "ketama" is not supported: kvass places series by Thanos's hashmod only (remove "algorithm" or set it to "hashmod")`);
  if (algorithm !== '' && algorithm !== 'hashmod') warnings.push(`${at}: unknown "algorithm" ${JSON.stringify(algorithm)}: hashmod is used, as Thanos falls back to it`);
  const ss = f.shuffle_sharding_config;
  if (isObj(ss) && Object.entries(ss).some(([k, v]) => k.toLowerCase() === 'shard_size' && v !== 0 && v != null)) {
    fail(`${at}: "shuffle_sharding_config" needs "ketama", which kvass does not support (Thanos's hashmod refuses it too)`);
  }
  const el = f.external_labels;
  if (el != null && !(isObj(el) && Object.keys(el).length === 0)) fail(`${at}: "external_labels" are not supported by kvass: remove them`);

  if (f.endpoints != null && !Array.isArray(f.endpoints)) fail(`${at}: "endpoints" must be an array, got ${kind(f.endpoints)}`);
  const eps = (f.endpoints ?? []) as unknown[];
  if (eps.length === 0) fail(`${at}: no endpoints: a hashring needs at least one`);
  const endpoints = eps.map((e, j) => {
    if (typeof e === 'string') return e || fail(`${at}: endpoint ${j} is empty`);
    if (!isObj(e)) return fail(`${at}: endpoint ${j} must be "host:port" or {"address": "host:port"}, got ${kind(e)}`);
    const [ef, unknownEp] = fields(e, ENDPOINT_FIELDS);
    warnings.push(...ignored(`${at}: endpoint ${j}`, unknownEp));
    const address = str(ef.address, `endpoint ${j}'s "address"`) || fail(`${at}: endpoint ${j} has no "address"`);
    str(ef.capnproto_address, `endpoint ${j}'s "capnproto_address"`);
    if (str(ef.az, `endpoint ${j}'s "az"`)) fail(`${at}: endpoint ${j} (${address}) has an "az": AZ-aware rings need "ketama", which kvass does not support (Thanos's hashmod refuses them too)`);
    return address;
  });
  const dup = endpoints.find((e, j) => endpoints.indexOf(e) !== j);
  if (dup !== undefined) fail(`${at}: endpoint ${JSON.stringify(dup)} is listed twice`);
  return { hashring: name, tenants, tenantMatcherType: matcher, endpoints, warnings };
}

/** Reads a hashrings file (Thanos's JSON); throws HashringsError naming `file` and the ring. */
export function parseHashrings(text: string, file: string): HashringConfig[] {
  const fail = (m: string): never => { throw new HashringsError(`${file}: ${m}`); };
  if (text.trim() === '') fail('the file is empty: it must list at least one hashring');
  let doc: unknown;
  try { doc = JSON.parse(text); } catch (e) { fail(`not valid JSON: ${(e as Error).message}`); }
  if (doc === null || (Array.isArray(doc) && doc.length === 0)) fail('no hashrings: the file must list at least one');
  if (!Array.isArray(doc)) return fail(`expected a JSON array of hashrings [{"hashring": ..., "tenants": [...], "endpoints": [...]}], got ${kind(doc)}`);
  const configs = doc.map((raw, i) => parseRing(raw, i, fail));
  const owner = new Map<string, string>();
  let soft: string | undefined;
  configs.forEach((c, i) => {
    const at = ringName(i, c.hashring);
    if (soft !== undefined) {
      fail(c.tenants.length === 0
        ? `${at}: a second soft ring (no tenants) after ${soft}: there can be only one, and it must be last`
        : `${at}: a ring with tenants after the soft ring ${soft}: the soft ring takes every tenant, so it must be last`);
    }
    if (c.tenants.length === 0) soft = at;
    for (const t of c.tenants) {
      const prev = owner.get(t);
      if (prev !== undefined) fail(`${at}: tenant ${JSON.stringify(t)} is already listed in ${prev === at ? 'this ring' : prev}`);
      owner.set(t, at);
    }
  });
  return configs;
}

/** The rings of a hashrings file: Thanos's multiHashring. */
export class Rings {
  readonly hashrings: readonly Hashring[];
  private readonly match: ReadonlyArray<((tenant: string) => boolean) | undefined>;

  constructor(readonly configs: readonly HashringConfig[]) {
    this.hashrings = configs.map((c) => new Hashring(c.endpoints));
    this.match = configs.map((c) => {
      if (c.tenants.length === 0) return undefined;
      if (c.tenantMatcherType === 'exact') { const s = new Set(c.tenants); return (t: string) => s.has(t); }
      const res = c.tenants.map(globRegExp);
      return (t: string) => res.some((r) => r.test(t));
    });
  }

  /** The first ring, in file order, that names the tenant or is the soft ring; undefined when none does. */
  ringFor(tenant: string): Hashring | undefined {
    const i = this.match.findIndex((m) => m === undefined || m(tenant));
    return i < 0 ? undefined : this.hashrings[i];
  }
}
