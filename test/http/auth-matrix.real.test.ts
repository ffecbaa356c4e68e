/**
 * The auth matrix of docs/security.md against the real servers: the table under "## Every endpoint" is read at test
 * time, and every row is sent to a running `kvass sidecar`, `kvass coordinator` and `kvass up` (front door) under
 * every kind of credential:
 *   setup A, plain HTTP with --web.api-token-file: no credential, a wrong token, the right token;
 *   setup B, --web.config.file (TLS, VerifyClientCertIfGiven, the test CA as client CA) plus the same token: TLS
 *   without client certificate, with the CA-signed client certificate, with the right token, and with a self-signed
 *   client certificate (the handshake is refused, or control answers 401).
 * "open" and "read" rows (no basic_auth_users) never answer 401; "control" rows answer 401 without a valid
 * credential and something else with one. No row answers 404 (the endpoint exists) or a 5xx other than 502/503/504.
 *
 * Then the coordinator–sidecar path, with real Prometheus shards: a static coordinator pushes to a sidecar that
 * wants a token (--shard.api-token-file), and to a sidecar that wants a client certificate
 * (RequireAndVerifyClientCert; --shard.client-config-file with tls_config); the target ends up on the shard and
 * scraped. A coordinator with the CA but without a client certificate cannot use that sidecar.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { repoRoot, runKvass, type RunningKvass } from '../helpers/kvass.js';
import { freePort, startPrometheus, waitFor, type RunningPrometheus } from '../helpers/prometheus.js';
import { metricsBody, startTarget, type TestTarget } from '../helpers/targets.js';
import { tempDir } from '../helpers/tmp.js';

/* ---------------------------------------------------------------------------------------------------------- */
/* The table of docs/security.md                                                                             */

type Access = 'open' | 'read' | 'control';
const SERVERS = ['sidecar API', 'coordinator API', 'front door'] as const;
type ServerKind = (typeof SERVERS)[number];

interface Row {
  server: ServerKind;
  method: string;
  path: string;
  state: string;
  access: Access;
  /** Line in docs/security.md, for messages. */
  line: number;
}

const SECURITY_MD = join(repoRoot(), 'docs', 'security.md');

function endpointTable(): Row[] {
  const lines = readFileSync(SECURITY_MD, 'utf8').split('\n');
  const start = lines.findIndex((l) => /^##\s+Every endpoint\s*$/.test(l));
  assert.ok(start >= 0, `${SECURITY_MD}: no "## Every endpoint" section`);
  const rows: Row[] = [];
  let inTable = false;
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (/^#{1,2}\s/.test(l)) break;
    if (!l.startsWith('|')) {
      if (inTable) break; // the first table of the section ends here
      continue;
    }
    inTable = true;
    const cells = l.replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
    if (cells[0] === 'server' || cells.every((c) => /^:?-+:?$/.test(c))) continue;
    assert.equal(cells.length, 5, `${SECURITY_MD}:${i + 1}: expected | server | method | path | state | access |, got ${l}`);
    const [server, method, path, state, access] = cells as [string, string, string, string, string];
    assert.ok((SERVERS as readonly string[]).includes(server), `${SECURITY_MD}:${i + 1}: unknown server ${JSON.stringify(server)} (this test knows ${SERVERS.join(', ')})`);
    assert.ok(['open', 'read', 'control'].includes(access), `${SECURITY_MD}:${i + 1}: unknown access ${JSON.stringify(access)}`);
    assert.match(method, /^[A-Z]+$/, `${SECURITY_MD}:${i + 1}: method`);
    assert.match(path, /^\//, `${SECURITY_MD}:${i + 1}: path`);
    rows.push({ server: server as ServerKind, method, path, state, access: access as Access, line: i + 1 });
  }
  return rows;
}

const ROWS = endpointTable();

/* ---------------------------------------------------------------------------------------------------------- */
/* Requests                                                                                                  */

interface Endpoint {
  /** http://… or https://… */
  base: string;
  /** PEM of the CA that signed the server certificate (https). */
  ca?: string;
}

interface Credential {
  token?: string;
  /** PEM client certificate and key. */
  cert?: string;
  key?: string;
}

type Answer = { status: number; text: string } | { error: string };

function send(ep: Endpoint, method: string, path: string, cred: Credential = {}, body?: { data: string | Buffer; type: string }, timeoutMs = 20_000): Promise<Answer> {
  return new Promise((resolve) => {
    const url = new URL(path, ep.base);
    const headers: Record<string, string> = {};
    if (cred.token !== undefined) headers.authorization = `Bearer ${cred.token}`;
    if (body) {
      headers['content-type'] = body.type;
      headers['content-length'] = String(Buffer.byteLength(body.data));
    } else if (method === 'POST' || method === 'PUT') headers['content-length'] = '0';
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e) => resolve({ error: `response: ${e.message}` }));
    };
    // agent: false: a fresh connection (and TLS handshake) per request, so no credential rides on a reused socket.
    const common = { method, headers, agent: false as const, timeout: timeoutMs };
    const req = url.protocol === 'https:'
      ? httpsRequest(url, { ...common, ca: ep.ca, cert: cred.cert, key: cred.key, servername: 'localhost' }, onResponse)
      : httpRequest(url, common, onResponse);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: `${e.code ?? ''} ${e.message}`.trim() }));
    req.end(body?.data);
  });
}

/* ---------------------------------------------------------------------------------------------------------- */
/* The running servers                                                                                       */

const TOKEN = randomBytes(16).toString('hex');

let dir: string;
let certs: TestCerts;
let pem: { ca: string; clientCert: string; clientKey: string; selfCert: string; selfKey: string };
let target: TestTarget;
let configFile: string;
let configText: string;
let tokenFile: string;
const procs: Array<{ name: string; run: RunningKvass }> = [];
const proms: RunningPrometheus[] = [];

function kvass(name: string, args: string[]): RunningKvass {
  const run = runKvass(args, 200_000);
  procs.push({ name, run });
  return run;
}

/** Output of every kvass process, for a failure message. */
function logsOf(run: RunningKvass, chars = 3000): string {
  return run.output().slice(-chars);
}

interface Server {
  kind: ServerKind;
  setup: 'A' | 'B';
  ep: Endpoint;
  run: RunningKvass;
}

const servers: Server[] = [];

/** Waits until the server answers /-/healthy (exits early when the process died). */
async function waitHealthy(name: string, run: RunningKvass, ep: Endpoint, cred: Credential = {}, timeoutMs = 30_000): Promise<void> {
  await waitFor(`${name} to answer /-/healthy`, async () => {
    if (run.proc.exitCode !== null || run.proc.signalCode !== null) throw new Error(`${name} exited (${run.proc.exitCode ?? run.proc.signalCode}): ${logsOf(run)}`);
    const a = await send(ep, 'GET', '/-/healthy', cred, undefined, 2000);
    return 'status' in a && a.status === 200;
  }, timeoutMs, 100).catch((e: Error) => {
    throw new Error(`${e.message}\n--- ${name} output ---\n${logsOf(run)}`);
  });
}

/** A static shards file with the given shards (none: a coordinator with nothing to push to). */
async function staticFile(name: string, shards: Array<{ id: string; url: string }>): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, shards.length === 0 ? 'replicas:\n- shards: []\n' : `replicas:\n- shards:\n${shards.map((s) => `  - id: ${s.id}\n    url: ${s.url}\n`).join('')}`);
  return file;
}

async function webConfig(name: string, clientAuthType: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, `tls_server_config:
  cert_file: ${certs.serverCert}
  key_file: ${certs.serverKey}
  client_auth_type: ${clientAuthType}
  client_ca_file: ${certs.caCert}
`);
  return file;
}

async function startMatrixSidecar(setup: 'A' | 'B', web?: string): Promise<Server> {
  const d = join(dir, `sidecar-${setup}`);
  await mkdir(d, { recursive: true });
  const [api, proxy, unused] = [await freePort(), await freePort(), await freePort()];
  const run = kvass(`sidecar ${setup}`, [
    'sidecar', `--config.file=${configFile}`, `--config.output-file=${join(d, 'out.yml')}`, `--store.path=${join(d, 'store')}`,
    `--web.api-addr=127.0.0.1:${api}`, `--web.proxy-addr=127.0.0.1:${proxy}`,
    // No Prometheus behind this one: the pass-through answers 502, which the matrix accepts.
    `--prometheus.url=http://127.0.0.1:${unused}`, '--prometheus.reload-debounce=300ms', '--log.level=info',
    `--web.api-token-file=${tokenFile}`, ...(web ? [`--web.config.file=${web}`] : []),
  ]);
  const ep: Endpoint = web ? { base: `https://127.0.0.1:${api}`, ca: pem.ca } : { base: `http://127.0.0.1:${api}` };
  await waitHealthy(`sidecar ${setup}`, run, ep);
  return { kind: 'sidecar API', setup, ep, run };
}

async function startMatrixCoordinator(setup: 'A' | 'B', web?: string): Promise<Server> {
  const port = await freePort();
  const run = kvass(`coordinator ${setup}`, [
    'coordinator', '--shard.type=static', `--shard.static-file=${await staticFile(`coordinator-${setup}-shards.yml`, [])}`,
    `--config.file=${configFile}`, `--web.address=127.0.0.1:${port}`, '--coordinator.interval=1s', '--log.level=info',
    `--web.api-token-file=${tokenFile}`, ...(web ? [`--web.config.file=${web}`] : []),
  ]);
  const ep: Endpoint = web ? { base: `https://127.0.0.1:${port}`, ca: pem.ca } : { base: `http://127.0.0.1:${port}` };
  await waitHealthy(`coordinator ${setup}`, run, ep);
  return { kind: 'coordinator API', setup, ep, run };
}

async function startFrontDoor(setup: 'A' | 'B', web?: string): Promise<Server> {
  const port = await freePort();
  const run = kvass(`kvass up ${setup}`, [
    'up', `--config.file=${configFile}`, `--data-dir=${join(dir, `up-${setup}`)}`, `--web.listen-address=127.0.0.1:${port}`,
    '--coordinator.interval=1s', '--log.level=info',
    `--web.api-token-file=${tokenFile}`, ...(web ? [`--web.config.file=${web}`] : []),
  ]);
  const ep: Endpoint = web ? { base: `https://127.0.0.1:${port}`, ca: pem.ca } : { base: `http://127.0.0.1:${port}` };
  // "kvass is up" is printed once the coordinator and the global querier run.
  await waitFor(`kvass up ${setup} to be up`, async () => {
    if (run.proc.exitCode !== null || run.proc.signalCode !== null) throw new Error(`kvass up ${setup} exited (${run.proc.exitCode ?? run.proc.signalCode}): ${logsOf(run)}`);
    return run.output().includes('kvass is up');
  }, 60_000, 100).catch((e: Error) => {
    throw new Error(`${e.message}\n--- kvass up ${setup} output ---\n${logsOf(run)}`);
  });
  await waitHealthy(`kvass up ${setup}`, run, ep);
  return { kind: 'front door', setup, ep, run };
}

/* The coordinator–sidecar path. */

interface PathSetup {
  name: string;
  sidecar: { run: RunningKvass; ep: Endpoint; cred: Credential };
  prometheus: RunningPrometheus;
  coordinator: { run: RunningKvass; ep: Endpoint };
}

let tokenPath: PathSetup;
let mtlsPath: PathSetup;
let noCertCoordinator: { run: RunningKvass; ep: Endpoint };

async function startPathSidecar(name: string, security: string[], tls: boolean, cred: Credential): Promise<PathSetup['sidecar'] & { prometheus: RunningPrometheus }> {
  const d = join(dir, name);
  await mkdir(d, { recursive: true });
  const [api, proxy, promPort] = [await freePort(), await freePort(), await freePort()];
  const out = join(d, 'out.yml');
  const run = kvass(`sidecar ${name}`, [
    'sidecar', `--config.file=${configFile}`, `--config.output-file=${out}`, `--store.path=${join(d, 'store')}`,
    `--web.api-addr=127.0.0.1:${api}`, `--web.proxy-addr=127.0.0.1:${proxy}`, `--prometheus.url=http://127.0.0.1:${promPort}`,
    '--prometheus.reload-debounce=300ms', '--log.level=info', ...security,
  ]);
  const ep: Endpoint = tls ? { base: `https://127.0.0.1:${api}`, ca: pem.ca } : { base: `http://127.0.0.1:${api}` };
  await waitHealthy(`sidecar ${name}`, run, ep, cred);
  // The sidecar writes the file its Prometheus loads.
  await waitFor(`the injected config of sidecar ${name}`, async () => existsSync(out), 20_000, 100);
  const prometheus = await startPrometheus(out, { port: promPort });
  proms.push(prometheus);
  return { run, ep, cred, prometheus };
}

async function startPathCoordinator(name: string, shardsFile: string, client: string[]): Promise<{ run: RunningKvass; ep: Endpoint }> {
  const port = await freePort();
  const run = kvass(`coordinator ${name}`, [
    'coordinator', '--shard.type=static', `--shard.static-file=${shardsFile}`, `--config.file=${configFile}`,
    `--web.address=127.0.0.1:${port}`, '--coordinator.interval=1s', '--sd.init-timeout=10s', '--log.level=info', ...client,
  ]);
  const ep: Endpoint = { base: `http://127.0.0.1:${port}` };
  await waitHealthy(`coordinator ${name}`, run, ep);
  return { run, ep };
}

async function startPaths(): Promise<void> {
  // (1) token: the sidecar wants the token, the coordinator sends it.
  const s1 = await startPathSidecar('token', [`--web.api-token-file=${tokenFile}`], false, { token: TOKEN });
  const c1 = await startPathCoordinator('token', await staticFile('token-shards.yml', [{ id: 'shard-0', url: s1.ep.base }]), [`--shard.api-token-file=${tokenFile}`]);
  tokenPath = { name: 'token', sidecar: s1, prometheus: s1.prometheus, coordinator: c1 };
  // (2) mTLS only: the sidecar wants a client certificate signed by the CA, and has no token.
  const mtlsWeb = await webConfig('web-mtls.yml', 'RequireAndVerifyClientCert');
  const s2 = await startPathSidecar('mtls', [`--web.config.file=${mtlsWeb}`], true, { cert: pem.clientCert, key: pem.clientKey });
  const shards2 = await staticFile('mtls-shards.yml', [{ id: 'shard-0', url: s2.ep.base }]);
  const clientCfg = join(dir, 'client-mtls.yml');
  await writeFile(clientCfg, `tls_config:\n  ca_file: ${certs.caCert}\n  cert_file: ${certs.clientCert}\n  key_file: ${certs.clientKey}\n`);
  const caOnly = join(dir, 'client-ca-only.yml');
  await writeFile(caOnly, `tls_config:\n  ca_file: ${certs.caCert}\n`);
  const [c2, c3] = await Promise.all([
    startPathCoordinator('mtls', shards2, [`--shard.client-config-file=${clientCfg}`]),
    startPathCoordinator('mtls-without-cert', shards2, [`--shard.client-config-file=${caOnly}`]),
  ]);
  mtlsPath = { name: 'mtls', sidecar: s2, prometheus: s2.prometheus, coordinator: c2 };
  noCertCoordinator = c3;
}

before(async () => {
  dir = await tempDir('kvass-auth-matrix-');
  await mkdir(join(dir, 'certs'));
  certs = makeTestCerts(join(dir, 'certs'));
  pem = {
    ca: await readFile(certs.caCert, 'utf8'),
    clientCert: await readFile(certs.clientCert, 'utf8'),
    clientKey: await readFile(certs.clientKey, 'utf8'),
    selfCert: await readFile(certs.selfCert, 'utf8'),
    selfKey: await readFile(certs.selfKey, 'utf8'),
  };
  target = await startTarget(metricsBody(20, 'auth_matrix_metric'));
  configFile = join(dir, 'prometheus.yml');
  configText = `global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: auth
    static_configs:
      - targets: ['${target.address}']
`;
  await writeFile(configFile, configText);
  tokenFile = join(dir, 'api-token');
  await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  const webB = await webConfig('web-B.yml', 'VerifyClientCertIfGiven');
  const started = await Promise.all([
    startMatrixSidecar('A'),
    startMatrixSidecar('B', webB),
    startMatrixCoordinator('A'),
    startMatrixCoordinator('B', webB),
    startFrontDoor('A'),
    startFrontDoor('B', webB),
    startPaths().then(() => null),
  ]);
  for (const s of started) if (s) servers.push(s);
}, { timeout: 90_000 });

after(async () => {
  // Every process, even when before() failed half-way; kvass up stops its own shards on SIGINT.
  await Promise.all(procs.map(async ({ run }) => {
    const killer = setTimeout(() => run.proc.kill('SIGKILL'), 15_000);
    await run.stop().catch(() => undefined);
    clearTimeout(killer);
  }));
  await Promise.all(proms.map((p) => p.stop().catch(() => undefined)));
  await target?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/* ---------------------------------------------------------------------------------------------------------- */
/* The matrix                                                                                                */

interface Case {
  name: string;
  setup: 'A' | 'B';
  /** Whether the request carries a credential that the server must accept. */
  authorized: boolean;
  cred: () => Credential;
  /** A refused TLS handshake is an acceptable answer. */
  handshakeMayFail?: boolean;
}

const CASES: Case[] = [
  { name: 'no credentials', setup: 'A', authorized: false, cred: () => ({}) },
  { name: 'wrong token', setup: 'A', authorized: false, cred: () => ({ token: 'wrong' }) },
  { name: 'right token', setup: 'A', authorized: true, cred: () => ({ token: TOKEN }) },
  { name: 'TLS, no client certificate', setup: 'B', authorized: false, cred: () => ({}) },
  { name: 'TLS, CA-signed client certificate', setup: 'B', authorized: true, cred: () => ({ cert: pem.clientCert, key: pem.clientKey }) },
  { name: 'TLS, right token', setup: 'B', authorized: true, cred: () => ({ token: TOKEN }) },
  { name: 'TLS, self-signed client certificate', setup: 'B', authorized: false, cred: () => ({ cert: pem.selfCert, key: pem.selfKey }), handshakeMayFail: true },
];

/** Query strings that make read requests meaningful (the path is the table's). */
const SAMPLE_QUERY: Record<string, string> = {
  '/api/v1/query': 'query=up',
  '/api/v1/query_range': 'query=up&start=0&end=60&step=15',
  '/api/v1/series': 'match[]=up',
  '/federate': 'match[]=up',
};

/** A harmless body for the rows that take one. */
function bodyFor(row: Row): { data: string; type: string } | undefined {
  if (row.path === '/api/v1/shard/targets' && (row.method === 'POST' || row.method === 'PUT')) return { data: '{"targets":[]}', type: 'application/json' };
  if (row.path === '/api/v1/shard/config') return { data: configText, type: 'application/yaml' };
  if (row.method === 'POST' && SAMPLE_QUERY[row.path]) return { data: SAMPLE_QUERY[row.path]!, type: 'application/x-www-form-urlencoded' };
  if (row.path === '/api/v1/read') return { data: '', type: 'application/x-protobuf' };
  return undefined;
}

function pathFor(row: Row): string {
  const q = row.method === 'GET' ? SAMPLE_QUERY[row.path] : undefined;
  return q ? `${row.path}?${q}` : row.path;
}

/** What is wrong with an answer, or undefined. */
function judge(row: Row, c: Case, a: Answer): string | undefined {
  // A refused handshake resets the connection; a server that is down or hangs is no such refusal.
  if ('error' in a) return c.handshakeMayFail && !/ECONNREFUSED|no answer within/.test(a.error) ? undefined : `no answer: ${a.error}`;
  const expect401 = row.access === 'control' && !c.authorized;
  if (a.status === 404) return `404: the endpoint does not exist (${excerpt(a)})`;
  if (a.status >= 500 && ![502, 503, 504].includes(a.status)) return `${a.status} (${excerpt(a)})`;
  if (expect401 && a.status !== 401) return `${a.status}, expected 401 (${excerpt(a)})`;
  if (!expect401 && a.status === 401) return `401, expected anything else (${excerpt(a)})`;
  return undefined;
}

/** The start of an answer's body, for messages. */
function excerpt(a: { text: string }): string {
  return a.text.trim().slice(0, 300);
}

function shortAnswer(a: Answer): string {
  return 'error' in a ? `refused (${a.error})` : String(a.status);
}

test('docs/security.md lists endpoints of every server kind', () => {
  for (const s of SERVERS) assert.ok(ROWS.some((r) => r.server === s), `no row for ${s}`);
  assert.ok(ROWS.some((r) => r.access === 'control'), 'no control row');
});

for (const kind of SERVERS) {
  for (const setup of ['A', 'B'] as const) {
    const rows = ROWS.filter((r) => r.server === kind);
    const cases = CASES.filter((c) => c.setup === setup);
    test(`${kind}, setup ${setup} (${setup === 'A' ? 'HTTP + token' : 'TLS VerifyClientCertIfGiven + token'}): ${rows.length} rows × ${cases.length} cases as docs/security.md says`, async (t) => {
      const server = servers.find((s) => s.kind === kind && s.setup === setup);
      assert.ok(server, `${kind} ${setup} did not start`);
      const problems: string[] = [];
      const table: string[] = [];
      for (const row of rows) {
        const cells: string[] = [];
        // The cases of one row in parallel, rows one after the other.
        const answers = await Promise.all(cases.map((c) => send(server.ep, row.method, pathFor(row), c.cred(), bodyFor(row))));
        cases.forEach((c, i) => {
          const a = answers[i]!;
          cells.push(shortAnswer(a).split(' ')[0]!);
          const why = judge(row, c, a);
          if (why) problems.push(`docs/security.md:${row.line} ${row.method} ${row.path} (${row.access}) with ${c.name}: ${why}`);
        });
        table.push(`${row.method.padEnd(4)} ${row.path.padEnd(28)} ${row.access.padEnd(7)} ${cells.join(' / ')}`);
      }
      t.diagnostic(`${kind} ${setup}: ${cases.map((c) => c.name).join(' / ')}\n${table.join('\n')}`);
      assert.deepEqual(problems, [], `${problems.length} mismatch(es) with docs/security.md:\n${problems.join('\n')}\n--- server output ---\n${logsOf(server.run)}`);
    });
  }
}

/* ---------------------------------------------------------------------------------------------------------- */
/* The coordinator–sidecar path                                                                              */

interface CoordinatorTarget { labels: Record<string, string>; health: string; shards: string[]; lastScrape: string | null; lastError: string }

/** A JSON answer of 200; throws otherwise. */
async function getJson<T>(ep: Endpoint, path: string, cred: Credential): Promise<T> {
  const a = await send(ep, 'GET', path, cred, undefined, 10_000);
  if ('error' in a) throw new Error(`${path}: ${a.error}`);
  if (a.status !== 200) throw new Error(`${path}: ${a.status} ${a.text.slice(0, 300)}`);
  return JSON.parse(a.text) as T;
}

async function coordinatorView(ep: Endpoint): Promise<{ targets: CoordinatorTarget[]; shards: Array<{ id: string; ready: boolean; targets: number }> }> {
  const t = await getJson<{ data: { activeTargets: CoordinatorTarget[] } }>(ep, '/api/v1/targets', {});
  const s = await getJson<{ data: { replicas: Array<{ shards: Array<{ id: string; ready: boolean; targets: number }> }> } }>(ep, '/api/v1/shards', {});
  return { targets: t.data.activeTargets, shards: s.data.replicas.flatMap((r) => r.shards) };
}

async function assertPathWorks(p: PathSetup): Promise<void> {
  let last = '';
  const placed = await waitFor(`the ${p.name} coordinator to place the target on its shard and see it scraped`, async () => {
    const v = await coordinatorView(p.coordinator.ep);
    last = JSON.stringify(v);
    const t = v.targets.find((x) => x.labels.instance === target.address);
    const shardIds = v.shards.filter((s) => s.ready).map((s) => s.id);
    if (!t || shardIds.length !== 1 || t.shards.length !== 1 || t.shards[0] !== shardIds[0]) return undefined;
    if (t.health !== 'up' || !t.lastScrape || t.lastScrape.startsWith('0001-')) return undefined;
    return { target: t, shard: shardIds[0]! };
  }, 45_000, 250).catch((e: Error) => {
    throw new Error(`${e.message}\n--- last view of the coordinator ---\n${last}\n--- coordinator output ---\n${logsOf(p.coordinator.run)}\n--- sidecar output ---\n${logsOf(p.sidecar.run)}`);
  });
  assert.deepEqual(placed.target.shards, [placed.shard]);
  // The sidecar holds the assignment and its Prometheus scraped the target through the proxy.
  const st = await getJson<{ data: { targets: Array<{ health: string; scrapesSinceAssigned: number }> } }>(p.sidecar.ep, '/api/v1/shard/targets', p.sidecar.cred);
  assert.equal(st.data.targets.length, 1, JSON.stringify(st));
  assert.equal(st.data.targets[0]!.health, 'up');
  const up = await waitFor('up of the target in the shard\'s Prometheus', async () => {
    const r = await p.prometheus.query(`up{job="auth",instance="${target.address}"}`);
    return r.length > 0 ? r : undefined;
  }, 15_000);
  assert.equal(up[0]!.value[1], '1');
}

test('coordinator → sidecar with a bearer token: the assignment is pushed and the target scraped', async () => {
  assert.ok(tokenPath, 'the token path did not start');
  await assertPathWorks(tokenPath);
  // The coordinator really needed its token: without it the sidecar refuses the push.
  const a = await send(tokenPath.sidecar.ep, 'POST', '/api/v1/shard/targets', {}, { data: '{"targets":[]}', type: 'application/json' });
  assert.ok('status' in a && a.status === 401, shortAnswer(a));
});

test('coordinator → sidecar with mTLS only (RequireAndVerifyClientCert, no token): the assignment is pushed and the target scraped', async () => {
  assert.ok(mtlsPath, 'the mTLS path did not start');
  await assertPathWorks(mtlsPath);
  // Without a client certificate the sidecar refuses the handshake.
  const a = await send(mtlsPath.sidecar.ep, 'GET', '/-/healthy', {});
  assert.ok('error' in a || a.status === 401, `a client without certificate got ${shortAnswer(a)}`);
});

test('a coordinator without the client certificate cannot use the mTLS sidecar', async () => {
  assert.ok(noCertCoordinator && mtlsPath, 'the mTLS path did not start');
  // It ran beside the mTLS coordinator for the whole time that one needed to place and scrape the target.
  await new Promise((r) => setTimeout(r, 3000));
  const v = await coordinatorView(noCertCoordinator.ep);
  assert.equal(v.shards.length, 1, JSON.stringify(v));
  assert.equal(v.shards[0]!.ready, false, `the shard is ready for a coordinator without client certificate: ${JSON.stringify(v)}`);
  const t = v.targets.find((x) => x.labels.instance === target.address);
  assert.ok(t, JSON.stringify(v));
  assert.deepEqual(t.shards, [], `the target was placed by a coordinator without client certificate: ${JSON.stringify(t)}`);
});
