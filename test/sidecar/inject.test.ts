/**
 * The injected config: what the shard's Prometheus loads. Checked two ways: the real `promtool check config`
 * accepts it, and kvass's own PopulateLabels (proven against Prometheus 2.42 by the golden corpus) turns each
 * injected static target back into exactly the target's final labels (plus `__param_kvass_target`, with
 * `__scheme__` http). Sections kvass does not own are compared value by value, as yaml.v2 would read them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { loadConfigFile, parseConfig, type PromConfig } from '../../src/config/config.js';
import { sortedLabels, type Labels } from '../../src/prom/labels.js';
import { toPlain } from '../../src/prom/yaml-plain.js';
import { discoverOnce } from '../../src/cli/targets.js';
import { jobDefaults, jobTargets } from '../../src/target/populate.js';
import type { StaticConfig } from '../../src/discovery/static.js';
import { injectConfig, TARGET_PARAM, type AssignedTarget, type InjectOptions } from '../../src/sidecar/inject.js';
import { tempDirSync } from '../helpers/tmp.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}
const CORPUS = join(repoRoot(), 'test', 'corpus');
const PROXY = 'http://127.0.0.1:8008';

function tempDir(): string {
  return tempDirSync('kvass-inject-');
}

/** A config file in its own folder, with extra files (relative names) beside it. */
async function configIn(text: string, files: Record<string, string> = {}): Promise<PromConfig> {
  const dir = tempDir();
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), body);
  }
  writeFileSync(join(dir, 'prometheus.yml'), text);
  return loadConfigFile(join(dir, 'prometheus.yml'));
}

/** The active targets kvass discovers for a config, as the coordinator would assign them. */
async function activeTargets(cfg: PromConfig): Promise<AssignedTarget[]> {
  const { jobs, pending, errors } = await discoverOnce(cfg, 10_000);
  assert.deepEqual([pending, errors], [[], []]);
  return jobs.flatMap((j) => j.targets.active.map((t) => ({ hash: t.hash, job: t.job, labels: t.labels })));
}

function promtool(file: string): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile('promtool', ['check', 'config', file], { timeout: 30_000 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: stdout + stderr });
    });
  });
}

/** Injects, writes the result to a new folder (so relative paths must be rewritten) and runs promtool on it. */
async function injectAndCheck(cfg: PromConfig, targets: readonly AssignedTarget[], opts: Partial<InjectOptions> = {}): Promise<{ text: string; file: string }> {
  const outputDir = opts.outputDir ?? tempDir();
  const text = injectConfig(cfg, targets, { proxyUrl: PROXY, ...opts, outputDir });
  const file = join(outputDir, 'injected.yml');
  writeFileSync(file, text);
  const r = await promtool(file);
  assert.equal(r.code, 0, `promtool check config failed:\n${r.output}\n--- injected config:\n${text}`);
  return { text, file };
}

/** Rule 4: PopulateLabels on each injected static target gives back the target's final labels. */
function assertLabelsRoundTrip(cfg: PromConfig, targets: readonly AssignedTarget[], text: string, file: string): void {
  const injected = parseConfig(text, file);
  assert.deepEqual(injected.scrapeConfigs.map((sc) => sc.jobName), cfg.scrapeConfigs.map((sc) => sc.jobName));
  const got = new Map<string, { job: string; labels: Labels; scrapeUrl: string }>();
  for (const sc of injected.scrapeConfigs) {
    assert.deepEqual(sc.serviceDiscovery.map((e) => e.key).filter((k) => k !== 'static_configs'), [], `job ${sc.jobName} still has discovery`);
    const groups = sc.serviceDiscovery.map((e, i) => {
      const g = e.config as StaticConfig;
      return { source: String(i), targets: g.targets, labels: g.labels };
    });
    const result = jobTargets(groups, jobDefaults(sc));
    assert.deepEqual([result.dropped.length, result.failed.map((f) => f.error)], [0, []], `job ${sc.jobName}`);
    for (const t of result.active) got.set(t.labels[`__param_${TARGET_PARAM}`]!, { job: t.job, labels: t.labels, scrapeUrl: t.scrapeUrl });
  }
  assert.equal(got.size, targets.length);
  for (const t of targets) {
    const g = got.get(t.hash);
    assert.ok(g, `target ${t.hash} of job ${t.job} missing from the injected config`);
    assert.equal(g.job, t.job);
    assert.deepEqual(sortedLabels(g.labels), sortedLabels({ ...t.labels, __scheme__: 'http', [`__param_${TARGET_PARAM}`]: t.hash }));
    assert.ok(g.scrapeUrl.startsWith('http://') && g.scrapeUrl.includes(`${TARGET_PARAM}=${t.hash}`), g.scrapeUrl);
  }
}

/** A section as yaml.v2 hands it to Prometheus (scalars as their source text). */
function section(text: string, ...path: Array<string | number>): unknown {
  const doc = YAML.parseDocument(text, { version: '1.1' });
  let v: unknown = toPlain(doc.contents, doc);
  for (const k of path) v = (v as Record<string | number, unknown> | undefined)?.[k];
  return JSON.parse(JSON.stringify(v ?? null));
}

function corpusCases(): string[] {
  return readdirSync(CORPUS, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(CORPUS, e.name, 'prometheus.yml')))
    .map((e) => e.name)
    .sort();
}

test('every corpus config: promtool accepts the injected config and every target keeps its final labels', async (t) => {
  const names = corpusCases();
  assert.ok(names.length >= 18, `corpus not found under ${CORPUS}`);
  for (const name of names) {
    await t.test(name, async () => {
      const cfg = await loadConfigFile(join(CORPUS, name, 'prometheus.yml'));
      const targets = await activeTargets(cfg);
      const { text, file } = await injectAndCheck(cfg, targets);
      assertLabelsRoundTrip(cfg, targets, text, file);
      const out = section(text) as Record<string, unknown>;
      assert.deepEqual(out.global, section(cfg.text, 'global'));
    });
  }
});

const SECRETS = `
global:
  scrape_interval: 1m
  external_labels: {cluster: c1, version: 1.10, count: 1_000, exp: 1e3, octal: 010}
rule_files: ['rules/*.yml']
alerting:
  alertmanagers:
    - basic_auth: {username: am, password: am-secret}
      static_configs: [{targets: ['127.0.0.1:9093']}]
    - oauth2: {client_id: am2, client_secret: am-oauth-secret, token_url: 'https://auth.example/token'}
      static_configs: [{targets: ['127.0.0.1:9094']}]
remote_write:
  - url: https://rw.example/api/v1/write
    basic_auth: {username: rw, password: "rw-secret"}
    headers: {X-Scope-OrgID: tenant-1, X-Number: 1_000}
    write_relabel_configs: [{source_labels: [__name__], regex: 'go_.*', action: drop}]
  - url: https://rw2.example/write
    authorization: {type: Bearer, credentials: 'rw-token'}
  - url: https://rw3.example/write
    oauth2: {client_id: rw3, client_secret: rw-oauth-secret, token_url: 'https://auth.example/token', scopes: [write]}
  - url: https://rw4.example/write
    bearer_token: rw-bearer
remote_read:
  - url: https://rr.example/read
    basic_auth: {username: rr, password: rr-secret}
    read_recent: true
storage:
  tsdb: {out_of_order_time_window: 10m}
tracing:
  endpoint: 'otel.example:4317'
  headers: {x-tracing-token: tracing-secret}
scrape_configs:
  - job_name: basic   # a comment that may stay
    scheme: https
    basic_auth: {username: u, password: 'job-basic-secret'}
    params: {module: [m1]}
    honor_labels: true
    honor_timestamps: false
    scrape_interval: 30s
    scrape_timeout: 5s
    metrics_path: /custom
    sample_limit: 1000
    label_limit: 30
    label_name_length_limit: 100
    label_value_length_limit: 200
    body_size_limit: 10MB
    target_limit: 50
    follow_redirects: false
    enable_http2: false
    proxy_url: 'http://user:proxy-pass@proxy.example:3128'
    proxy_connect_header: {Proxy-Authorization: [proxy-secret]}
    metric_relabel_configs: [{source_labels: [__name__], regex: 'x_.*', action: drop}]
    file_sd_configs: [{files: [sd.json]}]
    static_configs: [{targets: ['127.0.0.1:1']}]
    relabel_configs: [{target_label: team, replacement: core}]
  - job_name: bearer
    bearer_token: job-bearer-secret
    static_configs: [{targets: ['127.0.0.1:2']}]
  - job_name: authz
    authorization: {type: Token, credentials: job-authz-secret}
    static_configs: [{targets: ['127.0.0.1:3']}]
  - job_name: oauth
    oauth2: {client_id: o, client_secret: job-oauth-secret, token_url: 'https://auth.example/token'}
    static_configs: [{targets: ['127.0.0.1:4']}]
`;

const REPLACED_JOB_FIELDS = ['static_configs', 'file_sd_configs', 'relabel_configs', 'scheme', 'proxy_url', 'proxy_connect_header'];

test('sections kvass does not own stay as written, secrets included; rules and alerting go unless kept', async () => {
  const cfg = await configIn(SECRETS, { 'sd.json': JSON.stringify([{ targets: ['127.0.0.1:5'] }]), 'rules/a.yml': 'groups: []\n' });
  const targets = await activeTargets(cfg);
  for (const keep of [false, true]) {
    const { text, file } = await injectAndCheck(cfg, targets, { keepRulesAndAlerting: keep, extraExternalLabels: { replica: 'r-1', cluster: 'c2' } });
    assertLabelsRoundTrip(cfg, targets, text, file);
    for (const key of ['remote_write', 'remote_read', 'storage', 'tracing']) assert.deepEqual(section(text, key), section(cfg.text, key), key);
    assert.deepEqual(section(text, 'global'), {
      scrape_interval: '1m',
      external_labels: { cluster: 'c2', version: '1.10', count: '1_000', exp: '1e3', octal: '010', replica: 'r-1' },
    });
    const secrets: Array<[Array<string | number>, string]> = [
      [['remote_write', 0, 'basic_auth', 'password'], 'rw-secret'],
      [['remote_write', 1, 'authorization', 'credentials'], 'rw-token'],
      [['remote_write', 2, 'oauth2', 'client_secret'], 'rw-oauth-secret'],
      [['remote_write', 3, 'bearer_token'], 'rw-bearer'],
      [['remote_read', 0, 'basic_auth', 'password'], 'rr-secret'],
      [['tracing', 'headers', 'x-tracing-token'], 'tracing-secret'],
      [['scrape_configs', 0, 'basic_auth', 'password'], 'job-basic-secret'],
      [['scrape_configs', 1, 'bearer_token'], 'job-bearer-secret'],
      [['scrape_configs', 2, 'authorization', 'credentials'], 'job-authz-secret'],
      [['scrape_configs', 3, 'oauth2', 'client_secret'], 'job-oauth-secret'],
    ];
    if (keep) {
      secrets.push([['alerting', 'alertmanagers', 0, 'basic_auth', 'password'], 'am-secret']);
      secrets.push([['alerting', 'alertmanagers', 1, 'oauth2', 'client_secret'], 'am-oauth-secret']);
    }
    for (const [path, value] of secrets) assert.equal(section(text, ...path), value, path.join('.'));
    const top = section(text) as Record<string, unknown>;
    if (keep) {
      assert.deepEqual(section(text, 'alerting'), section(cfg.text, 'alerting'));
      assert.deepEqual(top.rule_files, [join(cfg.dir, 'rules/*.yml')]);
    } else {
      assert.deepEqual(['rule_files' in top, 'alerting' in top], [false, false]);
    }
    // Every job keeps every other field, in place; discovery, relabeling, scheme and proxy are kvass's.
    const jobs = top.scrape_configs as Array<Record<string, unknown>>;
    const original = section(cfg.text, 'scrape_configs') as Array<Record<string, unknown>>;
    jobs.forEach((job, i) => {
      const strip = (j: Record<string, unknown>) => Object.fromEntries(Object.entries(j).filter(([k]) => !REPLACED_JOB_FIELDS.includes(k)));
      assert.deepEqual(strip(job), strip(original[i]!));
      assert.deepEqual([job.scheme, job.proxy_url, 'proxy_connect_header' in job, 'file_sd_configs' in job], ['http', PROXY, false, false]);
    });
    assert.deepEqual(Object.keys(jobs[0]!).slice(0, 3), ['job_name', 'scheme', 'basic_auth']);
    assert.match(text, /job_name: basic +# a comment that may stay/);
  }
});

const PATHS = `
global:
  query_log_file: logs/query.log
rule_files: ['rules/*.yml', 'ABS/abs-rules.yml']
alerting:
  alertmanagers:
    - tls_config: {ca_file: ca.pem}
      oauth2: {client_id: a, client_secret_file: secret.txt, token_url: 'https://auth.example/token', tls_config: {cert_file: tls/cert.pem, key_file: ./tls/key.pem}}
      file_sd_configs: [{files: ['am/*.json']}]
remote_write:
  - url: https://rw.example/write
    tls_config: {ca_file: ca.pem, cert_file: ABS/abs-cert.pem, key_file: ABS/abs-key.pem}
    basic_auth: {username: u, password_file: pass.txt}
    headers: {ca_file: not-a-path}
remote_read:
  - url: https://rr.example/read
    authorization: {credentials_file: cred.txt}
tracing:
  endpoint: 'otel.example:4317'
  tls_config: {ca_file: sub/../ca.pem}
scrape_configs:
  - job_name: tls
    scheme: https
    tls_config: {ca_file: ca.pem, cert_file: tls/cert.pem, key_file: ./tls/key.pem}
    basic_auth: {username: u, password_file: pass.txt}
    static_configs: [{targets: ['127.0.0.1:1'], labels: {ca_file: not-a-path}}]
  - job_name: bearer
    bearer_token_file: token.txt
    static_configs: [{targets: ['127.0.0.1:2']}]
  - job_name: authz
    authorization: {credentials_file: cred.txt}
    static_configs: [{targets: ['127.0.0.1:3']}]
  - job_name: oauth
    oauth2: {client_id: o, client_secret_file: secret.txt, token_url: 'https://auth.example/token', tls_config: {ca_file: ca.pem}}
    static_configs: [{targets: ['127.0.0.1:4']}]
`;

test('relative paths become absolute when the output folder differs, and stay as written when it does not', async () => {
  const files = ['ca.pem', 'tls/cert.pem', 'tls/key.pem', 'pass.txt', 'token.txt', 'cred.txt', 'secret.txt', 'am/a.json'];
  const abs = tempDir();
  for (const f of ['abs-cert.pem', 'abs-key.pem']) writeFileSync(join(abs, f), '');
  writeFileSync(join(abs, 'abs-rules.yml'), 'groups: []\n');
  const cfg = await configIn(PATHS.replaceAll('ABS', abs), { ...Object.fromEntries(files.map((f) => [f, f.endsWith('.json') ? '[]' : ''])), 'rules/a.yml': 'groups: []\n' });
  const targets = await activeTargets(cfg);
  const at = (p: string) => resolve(cfg.dir, p);
  const expected: Array<[Array<string | number>, string]> = [
    [['global', 'query_log_file'], 'logs/query.log'],
    [['rule_files', 0], 'rules/*.yml'],
    [['alerting', 'alertmanagers', 0, 'tls_config', 'ca_file'], 'ca.pem'],
    [['alerting', 'alertmanagers', 0, 'oauth2', 'client_secret_file'], 'secret.txt'],
    [['alerting', 'alertmanagers', 0, 'oauth2', 'tls_config', 'cert_file'], 'tls/cert.pem'],
    [['alerting', 'alertmanagers', 0, 'oauth2', 'tls_config', 'key_file'], './tls/key.pem'],
    [['alerting', 'alertmanagers', 0, 'file_sd_configs', 0, 'files', 0], 'am/*.json'],
    [['remote_write', 0, 'tls_config', 'ca_file'], 'ca.pem'],
    [['remote_write', 0, 'basic_auth', 'password_file'], 'pass.txt'],
    [['remote_read', 0, 'authorization', 'credentials_file'], 'cred.txt'],
    [['tracing', 'tls_config', 'ca_file'], 'sub/../ca.pem'],
    [['scrape_configs', 0, 'tls_config', 'ca_file'], 'ca.pem'],
    [['scrape_configs', 0, 'tls_config', 'cert_file'], 'tls/cert.pem'],
    [['scrape_configs', 0, 'tls_config', 'key_file'], './tls/key.pem'],
    [['scrape_configs', 0, 'basic_auth', 'password_file'], 'pass.txt'],
    [['scrape_configs', 1, 'bearer_token_file'], 'token.txt'],
    [['scrape_configs', 2, 'authorization', 'credentials_file'], 'cred.txt'],
    [['scrape_configs', 3, 'oauth2', 'client_secret_file'], 'secret.txt'],
    [['scrape_configs', 3, 'oauth2', 'tls_config', 'ca_file'], 'ca.pem'],
  ];
  const untouched: Array<[Array<string | number>, string]> = [
    [['rule_files', 1], join(abs, 'abs-rules.yml')],
    [['remote_write', 0, 'tls_config', 'cert_file'], join(abs, 'abs-cert.pem')],
    [['remote_write', 0, 'headers', 'ca_file'], 'not-a-path'],
  ];
  const elsewhere = await injectAndCheck(cfg, targets, { keepRulesAndAlerting: true });
  for (const [path, rel] of expected) assert.equal(section(elsewhere.text, ...path), at(rel), path.join('.'));
  for (const [path, value] of untouched) assert.equal(section(elsewhere.text, ...path), value, path.join('.'));
  assert.match(elsewhere.text, /ca_file: "not-a-path"/); // the static label of the job, carried as __kvass_l_ca_file
  assertLabelsRoundTrip(cfg, targets, elsewhere.text, elsewhere.file);

  const beside = await injectAndCheck(cfg, targets, { keepRulesAndAlerting: true, outputDir: cfg.dir });
  for (const [path, rel] of expected) assert.equal(section(beside.text, ...path), rel, path.join('.'));
  for (const [path, value] of untouched) assert.equal(section(beside.text, ...path), value, path.join('.'));
});

const ODD_NAMES = `
scrape_configs:
  - job_name: odd
    params:
      'foo-bar': [x]
      'ü': [y]
      'a$b': ['$1 dollars']
      'dollar$1': [w]
      plain: [p]
    static_configs:
      - targets: ['127.0.0.1:1']
        labels: {l_1st: one, keep: k1}
      - targets: ['127.0.0.1:2']
        labels: {l_1st: two, l_9: nine}
    relabel_configs:
      - {action: labelmap, regex: '__param_(.+)', replacement: '$1'}
      - {action: labelmap, regex: 'l_(.+)', replacement: '$1'}
      - {action: labeldrop, regex: '__param_plain|l_9'}
      - {source_labels: [keep], regex: 'k1', target_label: job, replacement: ''}
`;

test('label names Prometheus cannot take in static_configs, and $ in names, round-trip', async () => {
  const cfg = await configIn(ODD_NAMES);
  const targets = await activeTargets(cfg);
  const first = targets.find((t) => t.labels.__address__ === '127.0.0.1:1')!;
  // What 2.42 computes for the first target (a labelmap writes names no static label may have).
  assert.deepEqual(
    Object.fromEntries(['foo-bar', 'ü', 'a$b', 'dollar$1', '1st', '__param_plain', 'job'].map((n) => [n, first.labels[n]])),
    { 'foo-bar': 'x', ü: 'y', 'a$b': '$1 dollars', 'dollar$1': 'w', '1st': 'one', __param_plain: undefined, job: undefined },
  );
  assert.equal(targets.find((t) => t !== first)!.labels['9'], 'nine');
  const { text, file } = await injectAndCheck(cfg, targets);
  assertLabelsRoundTrip(cfg, targets, text, file);

  // A name with characters no params label of the job has cannot be spelled by any rule 2.42 accepts.
  const forged = [{ ...first, labels: { ...first.labels, 'no-source': 'v' } }];
  assert.throws(() => injectConfig(cfg, forged, { proxyUrl: PROXY, outputDir: cfg.dir }), /"no-source"="v" cannot be reproduced/);
});

test('label values survive quoting (YAML 1.1 look-alikes, comments, newlines, control characters, Unicode)', async () => {
  const cfg = await configIn("scrape_configs:\n  - job_name: q\n    static_configs: [{targets: ['127.0.0.1:1']}]\n");
  const [base] = await activeTargets(cfg);
  const values = ['1.10', 'true', 'yes', 'null', '~', '#x', 'a # b', 'a\nb', 'x: y', '- z', "'", '"', '\\', ' lead', 'trail ',
    '\t', '%', '@', '`', '{a}', '[b]', '*a', '&a', '!x', '|', '>', 'ü😀👨‍👩‍👧', '\u0085', '\u2028', '\u007f', '\u0000', '\ufeff', '0x1F', '1_000', '010'];
  const targets = values.map((v, i) => ({ hash: `h${i}`, job: 'q', labels: { ...base!.labels, __address__: `127.0.0.1:${i + 1}`, v } }));
  const { text, file } = await injectAndCheck(cfg, targets);
  assertLabelsRoundTrip(cfg, targets, text, file);
  // yaml.v2 refuses DEL, C1 controls and U+FFFE/F written raw, and reads NEL, U+2028/9 as line breaks: escaped only.
  assert.doesNotMatch(text, /[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]/);
  assert.ok(text.includes('"\\x85"') && text.includes('"\\u2028"'), 'NEL and U+2028 are written as escapes');
});

test('a job with no assigned target stays, with no targets; anchors and merge keys are resolved', async () => {
  const cfg = await configIn(`
scrape_configs:
  - &base
    job_name: a
    scheme: https
    scrape_interval: 17s
    tls_config: &tls {insecure_skip_verify: true}
    static_configs: &sc [{targets: ['127.0.0.1:1'], labels: {from: base}}]
    file_sd_configs: [{files: [sd.json]}]
  - <<: *base
    job_name: b
  - job_name: c
    static_configs: *sc
    tls_config: *tls
  - job_name: empty
    metrics_path: /m
    static_configs: [{targets: ['127.0.0.1:9']}]
remote_write:
  - url: http://rw.example/write
    tls_config: *tls
`, { 'sd.json': JSON.stringify([{ targets: ['127.0.0.1:7'] }]) });
  const targets = (await activeTargets(cfg)).filter((t) => t.job !== 'empty');
  assert.equal(targets.length, 5);
  const { text, file } = await injectAndCheck(cfg, targets);
  assertLabelsRoundTrip(cfg, targets, text, file);
  const jobs = section(text, 'scrape_configs') as Array<Record<string, unknown>>;
  // A merged discovery section must not survive under `<<` (yaml.v2 would merge it back in).
  assert.doesNotMatch(text, /<<|file_sd_configs/);
  assert.deepEqual(jobs.map((j) => [j.job_name, j.scheme, j.scrape_interval ?? null]), [['a', 'http', '17s'], ['b', 'http', '17s'], ['c', 'http', null], ['empty', 'http', null]]);
  assert.deepEqual([jobs[3]!.static_configs, jobs[3]!.metrics_path], [[], '/m']);
  assert.deepEqual(section(text, 'remote_write'), [{ url: 'http://rw.example/write', tls_config: { insecure_skip_verify: 'true' } }]);
  assert.match(text, /static_configs: \[\]/);
});

test('targets of a job the config does not have are refused', async () => {
  const cfg = await configIn("scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['127.0.0.1:1']}]\n");
  const [t] = await activeTargets(cfg);
  assert.throws(() => injectConfig(cfg, [{ ...t!, job: 'gone' }], { proxyUrl: PROXY, outputDir: cfg.dir }), /job "gone", which the configuration does not have/);
});
