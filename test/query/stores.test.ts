/**
 * The global view's remote stores (src/query/stores.ts, stores-file.ts): the stores file and URL grammar (pure), and
 * the live StoreSet against small real HTTP(S) servers answering /api/v1/status/config and /api/v1/status/tsdb, with
 * a fake Resolver for DNS. Changes are awaited by polling for the condition with a deadline, never by sleeping.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import YAML from 'yaml';
import { ApiClient } from '../../src/http/client.js';
import type { Logger } from '../../src/logger.js';
import { silentLogger } from '../../src/logger.js';
import {
  MAX_STORES, StoreSet, externalLabelsOf, headTimesOf, loadStoresFile, parseStoreUrl, parseStoresFile, resolveStore, storeClientConfig, storesFromFlags,
  type Resolver, type StoreSpec,
} from '../../src/query/stores.js';
import { makeTestCerts } from '../helpers/certs.js';
import { tempDirSync } from '../helpers/tmp.js';

// ---- helpers

interface FakeStore {
  url: string;
  port: number;
  /** The Authorization header of every request (undefined: none). */
  auths: Array<string | undefined>;
  /** Answer 503 to everything. */
  failing: boolean;
  labels: Record<string, string>;
  /** Answer /api/v1/status/tsdb with 404 (a store without it). */
  noTsdb: boolean;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function handler(s: FakeStore, token: string | undefined) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    s.auths.push(req.headers.authorization);
    if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) return send(res, 401, { status: 'error', errorType: 'unauthorized', error: 'bad credential' });
    if (s.failing) return send(res, 503, { status: 'error', errorType: 'unavailable', error: 'store is failing' });
    if (req.url === '/api/v1/status/config') return send(res, 200, { status: 'success', data: { yaml: YAML.stringify({ global: { scrape_interval: '15s', external_labels: s.labels } }) } });
    if (req.url === '/api/v1/status/tsdb' && !s.noTsdb) return send(res, 200, { status: 'success', data: { headStats: { numSeries: 3, chunkCount: 3, minTime: 1000, maxTime: 61000 } } });
    send(res, 404, { status: 'error', errorType: 'not_found', error: 'no such path' });
  };
}

async function listen(server: Server, s: FakeStore, scheme: string): Promise<FakeStore> {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  s.port = (server.address() as AddressInfo).port;
  s.url = `${scheme}://127.0.0.1:${s.port}`;
  s.close = () => new Promise((ok) => {
    server.closeAllConnections();
    server.close(() => ok());
  });
  return s;
}

function blank(labels: Record<string, string>): FakeStore {
  return { url: '', port: 0, auths: [], failing: false, labels, noTsdb: false, close: async () => undefined };
}

async function fakeStore(o: { labels?: Record<string, string>; token?: string } = {}): Promise<FakeStore> {
  const s = blank(o.labels ?? {});
  return listen(createServer(handler(s, o.token)), s, 'http');
}

/** An https store requiring a client certificate signed by the CA. */
async function fakeTlsStore(certs: ReturnType<typeof makeTestCerts>, labels: Record<string, string>): Promise<FakeStore> {
  const s = blank(labels);
  const server = createHttpsServer({
    key: readFileSync(certs.serverKey), cert: readFileSync(certs.serverCert), ca: readFileSync(certs.caCert),
    requestCert: true, rejectUnauthorized: true,
  }, handler(s, undefined));
  return listen(server as unknown as Server, s, 'https');
}

interface LogLine { level: number; msg: string; [k: string]: unknown }

function capturedLog(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { log, lines };
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function tempDir(): string {
  return tempDirSync('kvass-stores-');
}

/** A resolver with a fixed table; a name mapped to an Error fails. */
function fakeResolver(a: Record<string, string[] | Error>, srv: Record<string, Array<{ name: string; port: number }> | Error> = {}): Resolver & { a: typeof a; srv: typeof srv } {
  const r = {
    a, srv,
    lookup: async (host: string) => {
      const v = r.a[host];
      if (v === undefined) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
      if (v instanceof Error) throw v;
      return v;
    },
    resolveSrv: async (name: string) => {
      const v = r.srv[name];
      if (v === undefined) throw new Error(`querySrv ENOTFOUND ${name}`);
      if (v instanceof Error) throw v;
      return v;
    },
  };
  return r;
}

const byName = <T extends { name: string }>(rows: T[], name: string): T => {
  const row = rows.find((r) => r.name === name);
  assert.ok(row, `no row named ${name} in ${JSON.stringify(rows.map((r) => r.name))}`);
  return row;
};

// ---- the URL grammar

test('store URLs: plain, dns+ and dnssrv+ in every Thanos spelling', () => {
  const dns = { lookup: 'dns', scheme: 'http', host: 'prom.example', port: 9090, path: '' };
  assert.deepEqual(parseStoreUrl('http://dns+prom.example:9090'), dns);
  assert.deepEqual(parseStoreUrl('dns+http://prom.example:9090'), dns);
  assert.deepEqual(parseStoreUrl('dns+prom.example:9090'), dns, 'bare Thanos spelling: http');
  assert.deepEqual(parseStoreUrl('dns+https://prom.example'), { ...dns, scheme: 'https', port: 443 });
  const srv = { lookup: 'dnssrv', scheme: 'http', host: '_grpc._tcp.name', path: '' };
  assert.deepEqual(parseStoreUrl('dnssrv+_grpc._tcp.name'), srv);
  assert.deepEqual(parseStoreUrl('http://dnssrv+_grpc._tcp.name/'), srv);
  assert.deepEqual(parseStoreUrl('dnssrv+https://_web._tcp.prom.example/prefix/'), { ...srv, scheme: 'https', host: '_web._tcp.prom.example', path: '/prefix' });
  assert.deepEqual(parseStoreUrl('https://dnssrv+_web._tcp.prom.example/a/b'), { ...srv, scheme: 'https', host: '_web._tcp.prom.example', path: '/a/b' });
  assert.deepEqual(parseStoreUrl('HTTP://Prom.Example:9090/prefix//'), { lookup: 'none', scheme: 'http', host: 'prom.example', port: 9090, path: '/prefix' });
  assert.deepEqual(parseStoreUrl('http://[::1]:9090/'), { lookup: 'none', scheme: 'http', host: '[::1]', port: 9090, path: '' });
  assert.deepEqual(parseStoreUrl('https://prom.example'), { lookup: 'none', scheme: 'https', host: 'prom.example', port: 443, path: '' });
  const bad: Array<[string, RegExp]> = [
    ['prom.example:9090', /no scheme: expected http:\/\/host:port/],
    ['ftp://prom.example', /unsupported scheme "ftp": expected http or https/],
    ['dns+prom.example', /missing port: dns\+host:port/],
    ['dnssrv+http://_web._tcp.x:80', /dnssrv\+ takes the ports from the SRV records: no port/],
    ['dns+http://dns+x:1', /given twice/],
    ['http://dns+10.0.0.1:9090', /needs a host name to look up, not an IP address/],
    ['http://dns+[::1]:9090', /needs a host name to look up/],
    ['http://user:pw@prom.example', /credentials in the url: use basic_auth or authorization/],
    ['http://prom.example/?x=1', /a query or fragment is not allowed/],
    ['http://prom.example:0', /port 0 is not a port/],
    ['http://prom.example:99999', /not a valid URL/],
    ['http://', /not a valid URL/],
  ];
  for (const [url, want] of bad) assert.throws(() => parseStoreUrl(url), want, url);
});

test('--query.store flags: named by their url; a bad or repeated url names the flag', () => {
  const specs = storesFromFlags(['http://a.example:9090', 'dns+b.example:9090']);
  assert.deepEqual(specs.map((s) => [s.name, s.url, s.target.lookup, s.http]), [['http://a.example:9090', 'http://a.example:9090', 'none', undefined], ['dns+b.example:9090', 'dns+b.example:9090', 'dns', undefined]]);
  assert.throws(() => storesFromFlags(['ftp://x']), /^Error: --query\.store=ftp:\/\/x: unsupported scheme "ftp": expected http or https$/);
  assert.throws(() => storesFromFlags(['http://x:1', 'http://x:1']), /--query\.store=http:\/\/x:1: given twice/);
});

// ---- the stores file

test('stores file: a full example with every field', () => {
  const text = `# remote stores
- url: https://dns+prom.eu.example:9091/prefix/
  name: eu
  external_labels: { region: eu, tier: 1 }
  tls_config:
    ca_file: certs/ca.crt
    cert_file: /abs/client.crt
    key_file: client.key
    server_name: prom.example
    insecure_skip_verify: false
    min_version: TLS12
  bearer_token_file: eu.token
  proxy_url: http://proxy.example:3128
  follow_redirects: false
  enable_http2: false
- url: http://[::1]:9090
- url: http://us.example:9090
  basic_auth: { username: u, password_file: pw }
- url: dnssrv+_web._tcp.prom.example
  name: srv
  external_labels: {}
  authorization: { type: Token, credentials: s3cret }
`;
  const [eu, v6, us, srv] = parseStoresFile(text, '/etc/kvass/stores.yaml');
  assert.equal(eu!.name, 'eu');
  assert.equal(eu!.url, 'https://dns+prom.eu.example:9091/prefix/');
  assert.deepEqual(eu!.target, { lookup: 'dns', scheme: 'https', host: 'prom.eu.example', port: 9091, path: '/prefix' });
  assert.deepEqual(eu!.externalLabels, { region: 'eu', tier: '1' });
  assert.deepEqual(eu!.http!.tls, {
    caFile: '/etc/kvass/certs/ca.crt', ca: undefined, certFile: '/abs/client.crt', cert: undefined, keyFile: '/etc/kvass/client.key', key: undefined,
    serverName: 'prom.example', insecureSkipVerify: false, minVersion: 'TLS12', maxVersion: undefined,
  });
  assert.deepEqual(eu!.http!.authorization, { type: 'Bearer', credentials: undefined, credentialsFile: '/etc/kvass/eu.token' });
  assert.equal(eu!.http!.proxyUrl, 'http://proxy.example:3128');
  assert.equal(eu!.http!.followRedirects, false);
  assert.equal(eu!.http!.enableHttp2, false);
  assert.equal(v6!.name, 'http://[::1]:9090', 'name defaults to the url');
  assert.equal(v6!.externalLabels, undefined, 'no external_labels: learned from the store');
  assert.deepEqual(v6!.target, { lookup: 'none', scheme: 'http', host: '[::1]', port: 9090, path: '' });
  assert.deepEqual(us!.http!.basicAuth, { username: 'u', password: undefined, passwordFile: '/etc/kvass/pw' });
  assert.deepEqual(srv!.externalLabels, {}, 'explicitly none: not asked of the store');
  assert.deepEqual(srv!.http!.authorization, { type: 'Token', credentials: 's3cret', credentialsFile: undefined });
  assert.equal(srv!.target.port, undefined);
  assert.deepEqual(parseStoresFile('[]\n', 'f.yaml'), [], 'an explicit empty list: no stores');
});

test('stores file: every error names the file, line, entry and field', () => {
  const f = '/etc/kvass/stores.yaml';
  const cases: Array<[string, string, RegExp | string]> = [
    ['unknown field', '- url: http://a:1\n  nmae: x\n', '/etc/kvass/stores.yaml:2:3: store 0 ("http://a:1"): field nmae not found in store'],
    ['unknown tls field', '- url: http://a:1\n  name: a\n  tls_config:\n    ca: x\n', '/etc/kvass/stores.yaml:4:5: store 0 ("a"): tls_config: field ca not found in tls_config'],
    ['missing url', '- url: http://a:1\n- name: b\n  bearer_token: x\n', '/etc/kvass/stores.yaml:2:3: store 1 ("b"): url is missing'],
    ['bad scheme', '- url: ftp://a:1\n', '/etc/kvass/stores.yaml:1:8: store 0 ("ftp://a:1"): url: unsupported scheme "ftp": expected http or https'],
    ['bad label name', '- url: http://a:1\n  external_labels:\n    region: eu\n    1x: y\n', '/etc/kvass/stores.yaml:4:5: store 0 ("http://a:1"): external_labels: "1x" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)'],
    ['reserved label name', '- url: http://a:1\n  external_labels: { __name__: y }\n', /stores\.yaml:2:22: store 0 \("http:\/\/a:1"\): external_labels: "__name__": names starting with "__" are reserved/],
    ['empty label value', '- url: http://a:1\n  external_labels: { a: "" }\n', /:2:25: .*external_labels\.a: label a: empty value/],
    ['labels not a map', '- url: http://a:1\n  external_labels: [a]\n', /:2:20: .*external_labels: expected a mapping of label names to values/],
    ['duplicate name', '- url: http://a:1\n  name: a\n- url: http://b:1\n  name: a\n', '/etc/kvass/stores.yaml:4:9: store 1 ("a"): name: name "a" is already used by store 0'],
    ['duplicate url as name', '- url: http://a:1\n- url: http://a:1\n', '/etc/kvass/stores.yaml:2:8: store 1 ("http://a:1"): url: name "http://a:1" is already used by store 0'],
    ['empty name', '- url: http://a:1\n  name: ""\n', /:2:9: store 0 \(""\): name: empty name/],
    ['cert without key', '- url: https://a:1\n  name: a\n  tls_config: { cert_file: c.crt }\n', /:3:15: store 0 \("a"\): tls_config: exactly one of key or key_file must be configured/],
    ['two auth methods', '- url: https://a:1\n  bearer_token: x\n  basic_auth: { username: u }\n', /:1:3: store 0 .*at most one of basic_auth, oauth2, bearer_token & bearer_token_file/],
    ['credentials in url', '- url: http://u:p@a:1\n', /:1:8: store 0 .*url: .*credentials in the url/],
    ['null entry', '- url: http://a:1\n-\n', /stores\.yaml:\d+:\d+: store 1: empty entry/],
    ['not a list', 'url: http://a:1\n', /stores\.yaml:1:1: stores file: expected a list, got a mapping/],
    ['empty file', '# nothing yet\n', /stores\.yaml: the file is empty: expected a list of stores \("\[\]" for none\)/],
    ['invalid YAML', '- url: http://a:1\n  name: [\n', /stores\.yaml:\d+:\d+: invalid YAML: /],
    ['duplicate key', '- url: http://a:1\n  url: http://b:1\n', /stores\.yaml:\d+:\d+: invalid YAML: Map keys must be unique/],
    ['alias bomb', `a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n`, /invalid YAML: document contains excessive aliasing/],
    ['too large', `# ${'x'.repeat(1 << 20)}\n[]\n`, /stores\.yaml: 1048582 bytes is over the limit of 1048576 \(1 MiB\)/],
    ['too many', `${'- url: http://a:1\n'.repeat(MAX_STORES + 1)}`, /stores\.yaml:1:1: 1001 stores: at most 1000 are allowed/],
  ];
  for (const [what, text, want] of cases) {
    assert.throws(() => parseStoresFile(text, f), (e: Error) => {
      if (typeof want === 'string') assert.equal(e.message, want, what);
      else assert.match(e.message, want, what);
      assert.equal(e.name, 'StoresFileError', what);
      return true;
    }, what);
  }
  assert.throws(() => parseStoresFile('- url: http://a:1\n', f, { reservedNames: new Set(['http://a:1']) }), { message: '/etc/kvass/stores.yaml:1:8: store 0 ("http://a:1"): url: name "http://a:1" is already used by a --query.store flag' });
});

test('stores file: TLS files are resolved against the file\'s folder and must be readable', async () => {
  const dir = tempDir();
  try {
    mkdirSync(join(dir, 'certs'));
    writeFileSync(join(dir, 'certs', 'ca.crt'), 'not really a CA');
    const file = join(dir, 'stores.yaml');
    writeFileSync(file, '- url: https://a.example:9090\n  tls_config:\n    ca_file: certs/ca.crt\n');
    const [spec] = await loadStoresFile(file);
    assert.equal(spec!.http!.tls.caFile, join(dir, 'certs', 'ca.crt'));
    writeFileSync(file, '- url: https://a.example:9090\n  name: a\n  tls_config:\n    ca_file: ca.crt\n');
    await assert.rejects(loadStoresFile(file), { name: 'StoresFileError', message: `${file}:4:14: store 0 ("a"): tls_config.ca_file: cannot read ${join(dir, 'ca.crt')}: ENOENT` });
    writeFileSync(file, `# ${'x'.repeat(1 << 20)}\n[]\n`);
    await assert.rejects(loadStoresFile(file), { message: `${file}: 1048582 bytes is over the limit of 1048576 (1 MiB)` });
    await assert.rejects(loadStoresFile(join(dir, 'missing.yaml')), /missing\.yaml: ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- resolution and the pure helpers

test('resolveStore: one endpoint per address or SRV target, sorted, bounded, IPv6 bracketed', async () => {
  const r = fakeResolver(
    { 'prom.example': ['10.0.0.2', 'fd00::1', '10.0.0.1', '10.0.0.2'], many: Array.from({ length: 300 }, (_, i) => `10.1.${i >> 8}.${i & 255}`), none: [] },
    { '_web._tcp.prom.example': [{ name: 'prom-1.prom.example.', port: 9091 }, { name: 'prom-0.prom.example', port: 9090 }] },
  );
  const dns = await resolveStore(parseStoreUrl('http://dns+prom.example:9090/p/'), r);
  assert.deepEqual(dns.endpoints, [
    { url: 'http://10.0.0.1:9090/p', hostPort: '10.0.0.1:9090' },
    { url: 'http://10.0.0.2:9090/p', hostPort: '10.0.0.2:9090' },
    { url: 'http://[fd00::1]:9090/p', hostPort: '[fd00::1]:9090' },
  ]);
  const srv = await resolveStore(parseStoreUrl('dnssrv+https://_web._tcp.prom.example'), r);
  assert.deepEqual(srv.endpoints.map((e) => e.url), ['https://prom-0.prom.example:9090', 'https://prom-1.prom.example:9091']);
  const many = await resolveStore(parseStoreUrl('dns+many:80'), r);
  assert.equal(many.endpoints.length, 256);
  assert.equal(many.dropped, 44);
  await assert.rejects(resolveStore(parseStoreUrl('dns+none:80'), r), /lookup none: no address/);
  await assert.rejects(resolveStore(parseStoreUrl('dns+gone:80'), r), /ENOTFOUND gone/);
  assert.deepEqual((await resolveStore(parseStoreUrl('https://[::1]:443/x'), r)).endpoints, [{ url: 'https://[::1]/x', hostPort: '[::1]:443' }]);
});

test('storeClientConfig: an https dns+ store verifies its certificate against the looked-up name', () => {
  const [byDns, named, plain] = parseStoresFile('- url: https://dns+prom.example:9090\n- url: https://dns+other.example:9090\n  tls_config: { server_name: cert.example }\n- url: http://dns+prom.example:9090\n  name: p\n', 'f.yaml');
  assert.equal(storeClientConfig(byDns!)!.tls.serverName, 'prom.example');
  assert.equal(storeClientConfig(named!)!.tls.serverName, 'cert.example');
  assert.equal(storeClientConfig(plain!)!.tls.serverName, undefined);
  assert.equal(storeClientConfig(storesFromFlags(['https://dns+flag.example:1'])[0]!)!.tls.serverName, 'flag.example');
});

test('externalLabelsOf: global.external_labels of a status/config answer, in any layout', () => {
  const prom = 'global:\n  scrape_interval: 15s\n  external_labels:\n    region: eu\n    tier: "1"\n\n  # a comment\n  evaluation_interval: 1m\nscrape_configs:\n- job_name: x\n  static_configs: [{ targets: [\'a:1\'] }]\n';
  assert.deepEqual(externalLabelsOf({ yaml: prom }), { region: 'eu', tier: '1' });
  // Only the global section is read when it comes first: what follows it may be anything.
  assert.deepEqual(externalLabelsOf({ yaml: `${prom}rule_files: [\n` }), { region: 'eu', tier: '1' });
  assert.deepEqual(externalLabelsOf({ yaml: 'scrape_configs: []\nglobal: { external_labels: { a: b } }\n' }), { a: 'b' }, 'parsed whole');
  assert.deepEqual(externalLabelsOf({ yaml: 'global:\n  scrape_interval: 15s\n' }), {});
  assert.deepEqual(externalLabelsOf({ yaml: '' }), {});
  assert.throws(() => externalLabelsOf({}), /no "yaml" in the answer/);
  assert.throws(() => externalLabelsOf({ yaml: 'global:\n  external_labels: [a]\n' }), /global\.external_labels is not a mapping/);
  assert.throws(() => externalLabelsOf({ yaml: 'global:\n  external_labels: { 1a: b }\n' }), /bad label "1a"/);
});

test('headTimesOf: the head\'s range; an empty head or a missing field has none', () => {
  assert.deepEqual(headTimesOf({ headStats: { minTime: 1000, maxTime: 2000 } }), { minTime: 1000, maxTime: 2000 });
  assert.deepEqual(headTimesOf(JSON.parse('{"headStats":{"minTime":9223372036854775807,"maxTime":-9223372036854775808}}')), { minTime: null, maxTime: null });
  assert.deepEqual(headTimesOf({}), { minTime: null, maxTime: null });
  assert.deepEqual(headTimesOf(null), { minTime: null, maxTime: null });
});

// ---- the live set

test('StoreSet: external labels learned from the store, file labels win, head times and status rows', async () => {
  const a = await fakeStore({ labels: { region: 'eu', replica: 'r0' } });
  const b = await fakeStore({ labels: { region: 'store-says' } });
  const c = await fakeStore({ labels: { cluster: 'c1' } });
  c.noTsdb = true;
  const dir = tempDir();
  const file = join(dir, 'stores.yaml');
  writeFileSync(file, `- url: ${a.url}\n  name: a\n- url: ${b.url}/\n  name: b\n  external_labels: { region: file-says }\n`);
  const times = [Date.UTC(2024, 0, 2, 3, 4, 5)];
  const registry = new Registry();
  const set = new StoreSet({ flagStores: storesFromFlags([c.url]), file, checkIntervalMs: 20, timeoutMs: 2000, log: silentLogger(), now: () => times[0]!, registry });
  try {
    await set.start();
    const cur = set.current();
    assert.deepEqual(cur.map((e) => [e.store, e.name, e.url, e.externalLabels, e.healthy]), [
      [c.url, c.url, c.url, { cluster: 'c1' }, true],
      ['a', 'a', a.url, { region: 'eu', replica: 'r0' }, true],
      ['b', 'b', b.url, { region: 'file-says' }, true],
    ]);
    assert.ok(cur.every((e) => e.client instanceof ApiClient));
    assert.notEqual(cur[1]!.client, cur[2]!.client, 'each store its own client');
    const rows = set.status();
    assert.deepEqual(byName(rows, 'a'), {
      name: 'a', store: 'a', url: a.url, externalLabels: { region: 'eu', replica: 'r0' }, health: 'up', lastError: null,
      lastCheck: '2024-01-02T03:04:05.000Z', minTime: 1000, maxTime: 61000, labelsFrom: 'store',
    });
    assert.equal(byName(rows, 'b').labelsFrom, 'file');
    assert.deepEqual(byName(rows, c.url).minTime, null, 'no /api/v1/status/tsdb: no time range, still up');
    assert.equal(byName(rows, c.url).health, 'up');
    // The labels learned are followed at every check.
    times[0]! += 1000;
    a.labels = { region: 'eu', replica: 'r1' };
    await until(() => byName(set.current(), 'a').externalLabels.replica === 'r1', 'the new labels learned');
    assert.deepEqual(byName(set.current(), 'a').externalLabels, { region: 'eu', replica: 'r1' });
    assert.equal(byName(set.status(), 'a').lastCheck, '2024-01-02T03:04:06.000Z');
    const metrics = await registry.metrics();
    assert.match(metrics, /kvass_query_store_endpoints\{store="a",health="up"\} 1/);
    assert.match(metrics, /kvass_query_store_file_last_reload_successful 1/);
  } finally {
    await set.stop();
    await Promise.all([a.close(), b.close(), c.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('StoreSet: a failing store is down with its error, and up again when it recovers', async () => {
  const a = await fakeStore({ labels: { region: 'eu' } });
  const { log, lines } = capturedLog();
  const set = new StoreSet({ flagStores: storesFromFlags([a.url]), checkIntervalMs: 20, timeoutMs: 2000, log });
  try {
    await set.start();
    assert.equal(set.status()[0]!.health, 'up');
    a.failing = true;
    await until(() => set.status()[0]!.health === 'down', 'the store down');
    const row = set.status()[0]!;
    assert.equal(row.lastError, `GET ${a.url}/api/v1/status/config: HTTP 503: store is failing`);
    assert.deepEqual(row.externalLabels, { region: 'eu' }, 'the last labels learned stay');
    assert.equal(set.current()[0]!.healthy, false, 'a down endpoint is still listed');
    assert.ok(lines.some((l) => l.msg === 'store down' && l.store === a.url));
    a.failing = false;
    await until(() => set.status()[0]!.health === 'up', 'the store up again');
    assert.equal(set.status()[0]!.lastError, null);
    assert.ok(lines.some((l) => l.msg === 'store up again'));
    await a.close();
    await until(() => set.status()[0]!.health === 'down', 'the store down when nothing listens');
    assert.match(set.status()[0]!.lastError!, /^GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/status\/config: .*ECONNREFUSED/);
  } finally {
    await set.stop();
    await a.close();
  }
});

test('StoreSet: DNS gives the endpoints (SRV: two servers), a failed lookup keeps them and is reported', async () => {
  const a = await fakeStore({ labels: { shard: 'a' } });
  const b = await fakeStore({ labels: { shard: 'b' } });
  const r = fakeResolver({ 'one.test': ['127.0.0.1'] }, { '_web._tcp.two.test': [{ name: '127.0.0.1', port: a.port }, { name: '127.0.0.1', port: b.port }] });
  const dir = tempDir();
  const file = join(dir, 'stores.yaml');
  writeFileSync(file, `- url: dnssrv+_web._tcp.two.test\n  name: two\n- url: http://dns+one.test:${a.port}\n  name: one\n- url: dns+nowhere.test:9090\n  name: nowhere\n`);
  const set = new StoreSet({ flagStores: [], file, checkIntervalMs: 20, timeoutMs: 2000, resolver: r, log: silentLogger() });
  try {
    await set.start();
    const [lo, hi] = [a, b].sort((x, y) => (x.url < y.url ? -1 : 1));
    assert.deepEqual(set.current().map((e) => [e.store, e.name, e.url, e.externalLabels, e.healthy]), [
      ['two', `two/127.0.0.1:${lo!.port}`, lo!.url, lo!.labels, true],
      ['two', `two/127.0.0.1:${hi!.port}`, hi!.url, hi!.labels, true],
      ['one', 'one', a.url, { shard: 'a' }, true],
    ], 'one address: named as the store');
    const nowhere = byName(set.status(), 'nowhere');
    assert.deepEqual({ ...nowhere, lastCheck: null }, {
      name: 'nowhere', store: 'nowhere', url: 'dns+nowhere.test:9090', externalLabels: {}, health: 'down',
      lastError: 'getaddrinfo ENOTFOUND nowhere.test', lastCheck: null, minTime: null, maxTime: null, labelsFrom: 'store',
    });
    assert.ok(nowhere.lastCheck !== null);
    // The SRV lookup fails: the endpoints stay (and answer), the error is reported on them.
    r.srv['_web._tcp.two.test'] = new Error('querySrv ETIMEOUT _web._tcp.two.test');
    await until(() => set.status().some((s) => s.store === 'two' && s.lastError !== null), 'the lookup error reported');
    assert.deepEqual(set.status().filter((s) => s.store === 'two').map((s) => [s.health, s.lastError]), [['up', 'querySrv ETIMEOUT _web._tcp.two.test'], ['up', 'querySrv ETIMEOUT _web._tcp.two.test']]);
    assert.equal(set.current().filter((e) => e.store === 'two').length, 2);
    // DNS answers again, with one target: the set follows.
    r.srv['_web._tcp.two.test'] = [{ name: '127.0.0.1', port: b.port }];
    await until(() => set.current().filter((e) => e.store === 'two').length === 1, 'one endpoint left');
    assert.deepEqual(set.current().filter((e) => e.store === 'two').map((e) => [e.name, e.url, e.externalLabels]), [['two', b.url, { shard: 'b' }]]);
    assert.equal(byName(set.status(), 'two').lastError, null);
    r.a['nowhere.test'] = ['127.0.0.1'];
    await until(() => set.status().some((s) => s.store === 'nowhere' && s.url === 'http://127.0.0.1:9090'), 'nowhere resolved');
  } finally {
    await set.stop();
    await Promise.all([a.close(), b.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('StoreSet: the file is reloaded when it changes; an invalid version is refused and the last good set stays', async () => {
  const a = await fakeStore({ labels: { s: 'a' } });
  const b = await fakeStore({ labels: { s: 'b' } });
  const dir = tempDir();
  const file = join(dir, 'stores.yaml');
  writeFileSync(file, `- url: ${a.url}\n  name: a\n`);
  const { log, lines } = capturedLog();
  const closed: string[] = [];
  const clientFor = (spec: StoreSpec): ApiClient => {
    const c = new ApiClient({ http: storeClientConfig(spec), timeoutMs: 2000, maxResponseBytes: 1 << 20 });
    const close = c.close.bind(c);
    c.close = async () => { closed.push(spec.name); await close(); };
    return c;
  };
  const registry = new Registry();
  // A long check interval: the change must be seen by watching the file (the poll is its fallback).
  const set = new StoreSet({ flagStores: [], file, checkIntervalMs: 60_000, timeoutMs: 2000, log, clientFor, registry });
  try {
    await set.start();
    const clientA = set.current()[0]!.client;
    writeFileSync(file, `# two stores now\n- url: ${a.url}\n  name: a\n- url: ${b.url}\n  name: b\n`);
    await until(() => set.current().length === 2, 'store b added');
    assert.deepEqual(set.current().map((e) => [e.name, e.externalLabels, e.healthy]), [['a', { s: 'a' }, true], ['b', { s: 'b' }, true]]);
    assert.equal(set.current()[0]!.client, clientA, 'an unchanged store keeps its client');
    assert.ok(lines.some((l) => l.msg === 'stores file reloaded'));
    writeFileSync(file, `- url: ${a.url}\n  name: a\n  bogus: field\n`);
    await until(() => lines.some((l) => l.msg === 'stores file refused; the last good stores stay' && String(l.err).includes('field bogus not found in store')), 'the refusal logged');
    const refusal = lines.find((l) => String(l.err).includes('bogus'))!;
    assert.equal(refusal.err, `${file}:3:3: store 0 ("a"): field bogus not found in store`);
    assert.equal(refusal.level, 50, 'logged as an error');
    assert.deepEqual(set.current().map((e) => e.name), ['a', 'b'], 'the last good set stays');
    assert.match(await registry.metrics(), /kvass_query_store_file_last_reload_successful 0/);
    writeFileSync(file, `- url: ${b.url}\n  name: b\n  external_labels: { s: from-file }\n`);
    await until(() => set.current().length === 1, 'store a removed');
    assert.deepEqual(set.current().map((e) => [e.name, e.externalLabels]), [['b', { s: 'from-file' }]], 'a changed entry is a new store');
    assert.deepEqual(closed.sort(), ['a', 'b'], 'the clients of the removed and the replaced store are closed');
    assert.match(await registry.metrics(), /kvass_query_store_file_reloads_total\{result="success"\} 2/);
  } finally {
    await set.stop();
    await Promise.all([a.close(), b.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('StoreSet: a file that changes unseen by fs.watch is found by the poll at each check', async () => {
  const a = await fakeStore();
  const dir = tempDir();
  const file = join(dir, 'stores.yaml');
  writeFileSync(file, `- url: ${a.url}\n  name: a\n`);
  const set = new StoreSet({ flagStores: [], file, checkIntervalMs: 20, timeoutMs: 2000, log: silentLogger() });
  try {
    await set.start();
    // As if the watcher had failed (network file systems, some containers).
    (set as unknown as { watcher?: { close(): void } }).watcher?.close();
    writeFileSync(file, `- url: ${a.url}\n  name: renamed\n`);
    await until(() => set.current()[0]?.name === 'renamed', 'the renamed store');
  } finally {
    await set.stop();
    await a.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('StoreSet: an invalid file at start is a startup error', async () => {
  const dir = tempDir();
  const file = join(dir, 'stores.yaml');
  writeFileSync(file, '- url: ftp://a:1\n');
  try {
    const set = new StoreSet({ flagStores: [], file, checkIntervalMs: 1000, timeoutMs: 1000, log: silentLogger() });
    await assert.rejects(set.start(), { message: `${file}:1:8: store 0 ("ftp://a:1"): url: unsupported scheme "ftp": expected http or https` });
    await set.stop();
    writeFileSync(file, '- url: http://a:1\n');
    const clash = new StoreSet({ flagStores: storesFromFlags(['http://a:1']), file, checkIntervalMs: 1000, timeoutMs: 1000, log: silentLogger() });
    await assert.rejects(clash.start(), /already used by a --query\.store flag/);
    await clash.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('StoreSet: each store\'s credential reaches that store only', async () => {
  const dir = tempDir();
  const a = await fakeStore({ token: 'token-for-a' });
  const b = await fakeStore();
  const file = join(dir, 'stores.yaml');
  writeFileSync(join(dir, 'wrong.token'), 'not-the-token\n');
  writeFileSync(file, `- url: ${a.url}\n  name: a\n  bearer_token: token-for-a\n- url: ${b.url}\n  name: b\n- url: ${a.url}\n  name: a-wrong\n  bearer_token_file: wrong.token\n- url: ${b.url}\n  name: b-basic\n  basic_auth: { username: u, password: p }\n`);
  const set = new StoreSet({ flagStores: [], file, checkIntervalMs: 60_000, timeoutMs: 2000, log: silentLogger() });
  try {
    await set.start();
    const rows = set.status();
    assert.equal(byName(rows, 'a').health, 'up');
    assert.equal(byName(rows, 'b').health, 'up');
    assert.equal(byName(rows, 'b-basic').health, 'up');
    assert.equal(byName(rows, 'a-wrong').health, 'down');
    assert.equal(byName(rows, 'a-wrong').lastError, `GET ${a.url}/api/v1/status/config: HTTP 401: bad credential`);
    assert.deepEqual(new Set(a.auths), new Set(['Bearer token-for-a', 'Bearer not-the-token']));
    assert.deepEqual(new Set(b.auths), new Set([undefined, `Basic ${Buffer.from('u:p').toString('base64')}`]), 'b never sees a\'s token');
    assert.ok(!rows.some((r) => JSON.stringify(r).includes('token-for-a') || JSON.stringify(r).includes('not-the-token')), 'no secret in the listing');
  } finally {
    await set.stop();
    await Promise.all([a.close(), b.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('StoreSet over TLS: client certificates, and a dns+ store verified against its looked-up name', async () => {
  const certs = makeTestCerts();
  const s = await fakeTlsStore(certs, { dc: 'tls' });
  // The stores file sits beside the certificates: relative paths resolve against its folder.
  const file = join(certs.dir, 'stores.yaml');
  const mtls = '  tls_config: { ca_file: ca.crt, cert_file: client.crt, key_file: client.key }\n';
  writeFileSync(file, [
    `- url: ${s.url}\n  name: mtls\n${mtls}`,
    `- url: ${s.url}\n  name: no-client-cert\n  tls_config: { ca_file: ca.crt }\n`,
    `- url: ${s.url}\n  name: rogue-cert\n  tls_config: { ca_file: ca.crt, cert_file: self.crt, key_file: self.key }\n`,
    `- url: https://dns+localhost:${s.port}\n  name: by-name\n${mtls}`,
    `- url: https://dns+wrong.test:${s.port}\n  name: wrong-name\n${mtls}`,
    `- url: https://dns+wrong.test:${s.port}\n  name: wrong-name-fixed\n  tls_config: { ca_file: ca.crt, cert_file: client.crt, key_file: client.key, server_name: localhost }\n`,
  ].join(''));
  const r = fakeResolver({ localhost: ['127.0.0.1'], 'wrong.test': ['127.0.0.1'] });
  const set = new StoreSet({ flagStores: [], file, checkIntervalMs: 60_000, timeoutMs: 3000, resolver: r, log: silentLogger() });
  try {
    await set.start();
    const rows = set.status();
    const health = Object.fromEntries(rows.map((x) => [x.name, x.health]));
    assert.deepEqual(health, { mtls: 'up', 'no-client-cert': 'down', 'rogue-cert': 'down', 'by-name': 'up', 'wrong-name': 'down', 'wrong-name-fixed': 'up' });
    assert.deepEqual(byName(rows, 'mtls').externalLabels, { dc: 'tls' });
    assert.equal(byName(rows, 'by-name').url, `https://127.0.0.1:${s.port}`, 'the endpoint is the address');
    for (const name of ['no-client-cert', 'rogue-cert', 'wrong-name']) assert.match(byName(rows, name).lastError!, new RegExp(`^GET https://127\\.0\\.0\\.1:${s.port}/api/v1/status/config: .+`), name);
    assert.match(byName(rows, 'wrong-name').lastError!, /wrong\.test/, 'the name checked against the certificate is the looked-up one');
  } finally {
    await set.stop();
    await s.close();
    certs.remove();
  }
});
