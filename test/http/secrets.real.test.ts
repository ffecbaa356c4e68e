/**
 * Secrets never leave, with real processes: `kvass up --log.level=debug` on a configuration with a basic_auth
 * password, a bearer token, an oauth2 client_secret, and remote_write and Alertmanager credentials (every job
 * really scraped with its credential). No secret string appears in any API answer of the front door or of a
 * sidecar, in any log line, or in any world-readable file under the data dir; and a sidecar's status/config is
 * exactly what the real Prometheus 2.42 serves for the same file, secrets masked as `<secret>`.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fetchShards, runKvass, type RunningKvass } from '../helpers/kvass.js';
import { freePort, startPrometheus, waitFor, type RunningPrometheus } from '../helpers/prometheus.js';
import { metricsBody, startTarget, type TestTarget } from '../helpers/targets.js';
import { tempDir } from '../helpers/tmp.js';

const SECRETS = {
  basic: 'basic-PASSWORD-7f3a9',
  bearer: 'bearer-TOKEN-19c2e',
  oauthSecret: 'oauth-CLIENT-SECRET-44d1',
  oauthAccess: 'oauth-ACCESS-TOKEN-8b6f',
  remoteWrite: 'remote-write-PASSWORD-2e90',
  alertmanager: 'alertmanager-PASSWORD-c71b',
};

let up: RunningKvass | undefined;
let reference: RunningPrometheus | undefined;
const targets: TestTarget[] = [];
const servers: Server[] = [];

after(async () => {
  await up?.stop();
  await reference?.stop();
  for (const t of targets) await t.close();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

/** A target answering only with the expected Authorization header. */
function guarded(expected: string) {
  const body = metricsBody(50);
  return startTarget((req, res) => {
    if (req.headers.authorization !== expected) return void res.writeHead(401).end('unauthorized\n');
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body);
  });
}

async function listen(s: Server): Promise<string> {
  servers.push(s);
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return `http://127.0.0.1:${(s.address() as { port: number }).port}`;
}

/** Every file below `dir` (symlinks not followed). */
async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

const leaks = (text: string): string[] => Object.values(SECRETS).filter((s) => text.includes(s));

test('no secret in any API answer, log line or world-readable file; status/config as real Prometheus masks it', { timeout: 240_000 }, async () => {
  const basic = `Basic ${Buffer.from(`scraper:${SECRETS.basic}`).toString('base64')}`;
  targets.push(await guarded(basic), await guarded(`Bearer ${SECRETS.bearer}`), await guarded(`Bearer ${SECRETS.oauthAccess}`));
  const tokenUrl = await listen(createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const ok = req.headers.authorization === `Basic ${Buffer.from(`kvass:${SECRETS.oauthSecret}`).toString('base64')}` && body.includes('grant_type=client_credentials');
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(ok ? JSON.stringify({ access_token: SECRETS.oauthAccess, token_type: 'Bearer', expires_in: 3600 }) : '{}');
    });
  }));
  const sink = await listen(createServer((req, res) => {
    req.resume();
    res.writeHead(204).end();
  }));
  const dir = await tempDir('kvass-secrets-');
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, `global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
alerting:
  alertmanagers:
    - static_configs: [{targets: ['${new URL(sink).host}']}]
      basic_auth: {username: am, password: ${SECRETS.alertmanager}}
remote_write:
  - url: ${sink}/api/v1/write
    basic_auth: {username: rw, password: ${SECRETS.remoteWrite}}
scrape_configs:
  - job_name: basic
    basic_auth: {username: scraper, password: ${SECRETS.basic}}
    static_configs: [{targets: ['${targets[0]!.address}']}]
  - job_name: bearer
    bearer_token: ${SECRETS.bearer}
    static_configs: [{targets: ['${targets[1]!.address}']}]
  - job_name: oauth
    oauth2: {client_id: kvass, client_secret: ${SECRETS.oauthSecret}, token_url: '${tokenUrl}/token'}
    static_configs: [{targets: ['${targets[2]!.address}']}]
`);
  const dataDir = join(dir, 'data');
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  up = runKvass(['up', `--config.file=${configFile}`, `--data-dir=${dataDir}`, `--web.listen-address=127.0.0.1:${port}`, '--shard.max-series=100000', '--coordinator.interval=1s', '--log.level=debug'], 5_000_000);
  await waitFor('every job scraped with its credential', async () => {
    if (up!.proc.exitCode !== null) throw new Error(`kvass up exited: ${up!.output().slice(-3000)}`);
    const body = (await (await fetch(`${api}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ health: string; shards: string[] }> } };
    const t = body.data.activeTargets;
    return t.length === 3 && t.every((x) => x.health === 'up' && x.shards.length === 1);
  }, 120_000, 500);
  await waitFor('up through the front door', async () => ((await (await fetch(`${api}/api/v1/query?query=up`)).json()) as { data: { result: unknown[] } }).data.result.length === 3, 30_000, 500);

  // Every API answer.
  const shard = (await fetchShards(api))[0]!.shards[0]!;
  const answers = new Map<string, string>();
  for (const url of [
    `${api}/api/v1/targets`, `${api}/api/v1/shards`, `${api}/api/v1/status/config`, `${api}/api/v1/status/flags`, `${api}/api/v1/status/runtimeinfo`,
    `${api}/api/v1/query?query=up`, `${api}/api/v1/metadata`, `${api}/api/v1/labels`, `${api}/api/v1/alertmanagers`, `${api}/api/v1/rules`, `${api}/metrics`,
    `${shard.url}/api/v1/shard/targets`, `${shard.url}/api/v1/shard/runtimeinfo`, `${shard.url}/api/v1/status/config`, `${shard.url}/api/v1/targets`,
    `${shard.url}/api/v1/status/flags`, `${shard.url}/metrics`,
  ]) answers.set(url, await (await fetch(url)).text());
  for (const [url, text] of answers) assert.deepEqual(leaks(text), [], `a secret in the answer of ${url}`);

  // Every log line (kvass up at debug level, and the logs of every process under the data dir).
  assert.match(up.output(), /"level":20/, 'debug lines were written');
  assert.deepEqual(leaks(up.output()), [], 'a secret in kvass up\'s log');
  const files = await walk(dataDir);
  for (const f of files.filter((x) => x.endsWith('.log'))) assert.deepEqual(leaks(await readFile(f, 'utf8')), [], `a secret in ${f}`);

  // Every world-readable file; those holding a secret are private.
  let holding = 0;
  for (const f of files) {
    const mode = (await stat(f)).mode;
    const text = (await readFile(f)).toString('latin1');
    const found = leaks(text);
    if (found.length > 0) {
      holding++;
      assert.equal(mode & 0o077, 0, `${f} holds a secret and is readable by others (mode ${(mode & 0o777).toString(8)})`);
    }
    if (mode & 0o004) assert.deepEqual(found, [], `${f} is world-readable and holds a secret`);
  }
  assert.ok(holding >= 2, 'the injected config and the querier\'s config hold the credentials (and are private)');
  for (const f of files) assert.doesNotMatch(f, /\.tmp-|\.new$/, `a temporary file left behind: ${f}`);

  // status/config: what the real Prometheus 2.42 serves for the same file.
  reference = await startPrometheus(configFile);
  const want = ((await (await fetch(`${reference.url}/api/v1/status/config`)).json()) as { data: { yaml: string } }).data.yaml;
  const got = (JSON.parse(answers.get(`${shard.url}/api/v1/status/config`)!) as { data: { yaml: string } }).data.yaml;
  assert.deepEqual(leaks(want), [], 'the reference masks them');
  assert.equal(got, want);
  assert.match(got, /password: <secret>/);
  assert.match(got, /client_secret: <secret>/);
});
